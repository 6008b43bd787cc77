use std::sync::Mutex;
use std::time::Duration;

use super::*;

/// Records lifecycle events of every test service into one shared log.
#[derive(Default)]
struct Journal(Mutex<Vec<String>>);

impl Journal {
    fn push(&self, event: String) {
        self.0.lock().unwrap().push(event);
    }
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    fn position(&self, event: &str) -> usize {
        self.events()
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("{event} missing from {:?}", self.events()))
    }
}

struct Recorder {
    name: &'static str,
    journal: Arc<Journal>,
    fail_starting: bool,
    fail_running_after: Option<Duration>,
    gate: Option<Arc<tokio::sync::Notify>>,
    hang_on_stop: bool,
}

impl Recorder {
    fn new(name: &'static str, journal: &Arc<Journal>) -> Self {
        Self {
            name,
            journal: Arc::clone(journal),
            fail_starting: false,
            fail_running_after: None,
            gate: None,
            hang_on_stop: false,
        }
    }
}

#[async_trait]
impl Service for Recorder {
    async fn starting(&self, _stop: CancellationToken) -> Result<(), ServiceError> {
        self.journal.push(format!("start {}", self.name));
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        if self.fail_starting {
            return Err(ServiceError::msg("cannot start"));
        }
        Ok(())
    }
    async fn running(&self, stop: CancellationToken) -> Result<(), ServiceError> {
        if let Some(after) = self.fail_running_after {
            tokio::time::sleep(after).await;
            return Err(ServiceError::msg("crashed"));
        }
        stop.cancelled().await;
        Ok(())
    }
    async fn stopping(&self) -> Result<(), ServiceError> {
        if self.hang_on_stop {
            std::future::pending::<()>().await;
        }
        self.journal.push(format!("stop {}", self.name));
        Ok(())
    }
}

fn spec(service: Recorder, deps: &[&str]) -> ServiceSpec {
    ServiceSpec::new(service.name, deps, Arc::new(service))
}

#[tokio::test]
async fn starts_in_dependency_order_and_stops_in_reverse() {
    let journal = Arc::new(Journal::default());
    // Registered in an order that differs from the dependency order on purpose.
    let manager = ServiceManager::new(vec![
        spec(Recorder::new("ingester", &journal), &["ring", "server"]),
        spec(Recorder::new("distributor", &journal), &["ring", "server"]),
        spec(Recorder::new("ring", &journal), &["server"]),
        spec(Recorder::new("server", &journal), &[]),
    ])
    .unwrap();
    let status = manager.status();
    let stop = CancellationToken::new();
    let run = tokio::spawn(manager.run(stop.clone(), Duration::from_secs(10)));
    assert!(status.wait_until_running().await);
    assert!(status.readiness().is_ok());
    stop.cancel();
    run.await.unwrap().unwrap();

    assert!(journal.position("start server") < journal.position("start ring"));
    assert!(journal.position("start ring") < journal.position("start ingester"));
    assert!(journal.position("start ring") < journal.position("start distributor"));
    assert!(journal.position("stop ingester") < journal.position("stop ring"));
    assert!(journal.position("stop distributor") < journal.position("stop ring"));
    assert!(journal.position("stop ring") < journal.position("stop server"));
    for (name, state) in status.states() {
        assert_eq!(state, State::Terminated, "{name}");
    }
}

#[tokio::test]
async fn readiness_names_services_that_are_not_running() {
    let journal = Arc::new(Journal::default());
    let gate = Arc::new(tokio::sync::Notify::new());
    let mut slow = Recorder::new("ingester", &journal);
    slow.gate = Some(Arc::clone(&gate));
    let manager = ServiceManager::new(vec![
        spec(Recorder::new("server", &journal), &[]),
        spec(slow, &["server"]),
    ])
    .unwrap();
    let status = manager.status();
    let before = status.readiness().unwrap_err();
    assert!(before.contains("server is New"), "{before}");
    let stop = CancellationToken::new();
    let run = tokio::spawn(manager.run(stop.clone(), Duration::from_secs(10)));
    // Wait (bounded) until the slow service is inside `starting`.
    let mut waited = 0;
    while !status
        .states()
        .iter()
        .any(|(name, state)| name == "ingester" && *state == State::Starting)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += 1;
        assert!(waited < 2000, "ingester never reached Starting");
    }
    let during = status.readiness().unwrap_err();
    assert!(during.contains("ingester is Starting"), "{during}");
    assert!(!during.contains("server"), "{during}");
    gate.notify_one();
    assert!(status.wait_until_running().await);
    assert!(status.readiness().is_ok());
    stop.cancel();
    run.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_failed_start_stops_everything_and_skips_dependents() {
    let journal = Arc::new(Journal::default());
    let mut broken = Recorder::new("ring", &journal);
    broken.fail_starting = true;
    let manager = ServiceManager::new(vec![
        spec(Recorder::new("server", &journal), &[]),
        spec(broken, &["server"]),
        spec(Recorder::new("ingester", &journal), &["ring"]),
    ])
    .unwrap();
    let status = manager.status();
    let error = manager
        .run(CancellationToken::new(), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ManagerError::ServiceFailed { service, .. } if service == "ring"),
        "{error}"
    );
    assert!(!journal.events().contains(&"start ingester".to_owned()));
    assert!(journal.events().contains(&"stop server".to_owned()));
    let states: HashMap<String, State> = status.states().into_iter().collect();
    assert_eq!(states["ring"], State::Failed);
    assert_eq!(states["ingester"], State::Terminated);
    assert_eq!(states["server"], State::Terminated);
}

#[tokio::test]
async fn a_service_failing_while_running_stops_the_others() {
    let journal = Arc::new(Journal::default());
    let mut crashing = Recorder::new("compactor", &journal);
    crashing.fail_running_after = Some(Duration::from_millis(20));
    let manager = ServiceManager::new(vec![
        spec(Recorder::new("server", &journal), &[]),
        spec(crashing, &["server"]),
        spec(Recorder::new("querier", &journal), &["server"]),
    ])
    .unwrap();
    let error = manager
        .run(CancellationToken::new(), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("compactor failed: crashed"),
        "{error}"
    );
    assert!(journal.position("stop querier") < journal.position("stop server"));
}

#[tokio::test]
async fn shutdown_deadline_names_the_stuck_service() {
    let journal = Arc::new(Journal::default());
    let mut stuck = Recorder::new("ingester", &journal);
    stuck.hang_on_stop = true;
    let manager = ServiceManager::new(vec![
        spec(Recorder::new("server", &journal), &[]),
        spec(stuck, &["server"]),
    ])
    .unwrap();
    let status = manager.status();
    let stop = CancellationToken::new();
    let run = tokio::spawn(manager.run(stop.clone(), Duration::from_millis(200)));
    assert!(status.wait_until_running().await);
    stop.cancel();
    let error = run.await.unwrap().unwrap_err();
    match error {
        ManagerError::ShutdownTimeout { pending, .. } => {
            assert!(pending.contains(&"ingester".to_owned()), "{pending:?}");
            // The server depends on nothing but waits for the ingester, so it is still up.
            assert!(pending.contains(&"server".to_owned()), "{pending:?}");
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn graph_errors_are_reported() {
    let journal = Arc::new(Journal::default());
    let error =
        ServiceManager::new(vec![spec(Recorder::new("a", &journal), &["missing"])]).unwrap_err();
    assert!(
        error.to_string().contains("unknown service missing"),
        "{error}"
    );
    let error = ServiceManager::new(vec![
        spec(Recorder::new("a", &journal), &["b"]),
        spec(Recorder::new("b", &journal), &["a"]),
    ])
    .unwrap_err();
    assert!(matches!(error, ManagerError::DependencyCycle(_)), "{error}");
    let error = ServiceManager::new(vec![
        spec(Recorder::new("a", &journal), &[]),
        spec(Recorder::new("a", &journal), &[]),
    ])
    .unwrap_err();
    assert!(
        matches!(error, ManagerError::DuplicateService(_)),
        "{error}"
    );
}
