//! Service lifecycle and the manager that runs services in dependency order.
//!
//! Every long-lived part of Norn (the HTTP server, the runtime-config poller, each role) is a
//! [`Service`]. A service moves through the states of dskit's services package:
//! `New → Starting → Running → Stopping → Terminated`, or `Failed` from any of the middle three.
//!
//! The [`ServiceManager`] owns a set of named services and their dependencies. It starts a
//! service only once every dependency is `Running`, so a role never sees a half-started
//! dependency. On shutdown (a stop request or any failure) it stops services in reverse: a
//! service is asked to stop only after everything that depends on it has stopped, so data-owning
//! work finishes before the HTTP server closes. The whole shutdown runs under one deadline.
//! [`ServiceStatus`] is the read-only view behind `/ready` and `/services`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// The lifecycle state of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Created, not started yet (possibly waiting for dependencies).
    New,
    /// Running its start-up work (binding a port, replaying a WAL...).
    Starting,
    /// Doing its job.
    Running,
    /// Running its shut-down work.
    Stopping,
    /// Stopped cleanly.
    Terminated,
    /// Stopped because of an error.
    Failed,
}

impl State {
    /// Returns every state, in lifecycle order.
    pub const ALL: [State; 6] = [
        State::New,
        State::Starting,
        State::Running,
        State::Stopping,
        State::Terminated,
        State::Failed,
    ];

    /// Returns true once the service can no longer change state.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Terminated | State::Failed)
    }

    /// Returns the state's name as dskit spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "New",
            State::Starting => "Starting",
            State::Running => "Running",
            State::Stopping => "Stopping",
            State::Terminated => "Terminated",
            State::Failed => "Failed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a service failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A failure described by a message.
    #[error("{0}")]
    Message(String),
    /// A failure caused by another error.
    #[error(transparent)]
    Source(#[from] Box<dyn std::error::Error + Send + Sync>),
}

impl ServiceError {
    /// Returns an error carrying `message`.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::Message(message.into())
    }
}

/// A long-lived component with a start-up, a main loop and a shut-down phase.
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// Runs the start-up work. `stop` is cancelled if shutdown is requested meanwhile.
    async fn starting(&self, stop: CancellationToken) -> Result<(), ServiceError> {
        let _ = stop;
        Ok(())
    }

    /// Does the service's work until `stop` is cancelled. Returning early without an error ends
    /// the service (it goes to `Terminated`) without stopping the others.
    async fn running(&self, stop: CancellationToken) -> Result<(), ServiceError> {
        stop.cancelled().await;
        Ok(())
    }

    /// Runs the shut-down work after `running` returned.
    async fn stopping(&self) -> Result<(), ServiceError> {
        Ok(())
    }
}

/// A service with its name and the names of the services it depends on.
pub struct ServiceSpec {
    name: String,
    dependencies: Vec<String>,
    service: Arc<dyn Service>,
}

impl fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("name", &self.name)
            .field("dependencies", &self.dependencies)
            .finish_non_exhaustive()
    }
}

impl ServiceSpec {
    /// Returns a spec for `service`, started after `dependencies` and stopped before them.
    pub fn new(name: impl Into<String>, dependencies: &[&str], service: Arc<dyn Service>) -> Self {
        Self {
            name: name.into(),
            dependencies: dependencies.iter().map(|name| (*name).to_owned()).collect(),
            service,
        }
    }
}

/// Why the manager could not run its services, or how a run ended badly.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// Two services share a name.
    #[error("service {0} is registered twice")]
    DuplicateService(String),
    /// A dependency names no registered service.
    #[error("service {service} depends on unknown service {dependency}")]
    UnknownDependency {
        /// The service declaring the dependency.
        service: String,
        /// The missing dependency.
        dependency: String,
    },
    /// The dependencies form a cycle.
    #[error("services {0:?} depend on each other in a cycle")]
    DependencyCycle(Vec<String>),
    /// A service failed; every other service was stopped.
    #[error("service {service} failed: {error}")]
    ServiceFailed {
        /// The failed service.
        service: String,
        /// What it reported.
        error: String,
    },
    /// Shutdown did not finish before the deadline.
    #[error("shutdown deadline of {deadline:?} passed; still stopping: {pending:?}")]
    ShutdownTimeout {
        /// The deadline.
        deadline: std::time::Duration,
        /// The services that had not terminated.
        pending: Vec<String>,
    },
}

/// A read-only, cheap-to-clone view of every service's state.
#[derive(Clone, Debug)]
pub struct ServiceStatus {
    services: Arc<Vec<(String, watch::Receiver<State>)>>,
}

impl ServiceStatus {
    /// Returns each service's name and current state, in start order.
    pub fn states(&self) -> Vec<(String, State)> {
        self.services
            .iter()
            .map(|(name, state)| (name.clone(), *state.borrow()))
            .collect()
    }

    /// Returns `Ok` when every service is `Running`, else a message naming those that are not.
    pub fn readiness(&self) -> Result<(), String> {
        let not_running: Vec<String> = self
            .states()
            .into_iter()
            .filter(|(_, state)| *state != State::Running)
            .map(|(name, state)| format!("{name} is {state}"))
            .collect();
        if not_running.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "some services are not Running: {}",
                not_running.join(", ")
            ))
        }
    }

    /// Waits until every service is `Running`; returns false if one ends up terminal first.
    pub async fn wait_until_running(&self) -> bool {
        for (_, state) in self.services.iter() {
            let mut state = state.clone();
            match state
                .wait_for(|state| *state == State::Running || state.is_terminal())
                .await
            {
                Ok(state) if *state == State::Running => {}
                _ => return false,
            }
        }
        true
    }
}

struct Entry {
    name: String,
    dependencies: Vec<usize>,
    dependents: Vec<usize>,
    service: Arc<dyn Service>,
    state: watch::Sender<State>,
    stop: CancellationToken,
}

/// Starts services in dependency order and stops them in reverse order.
pub struct ServiceManager {
    entries: Vec<Arc<Entry>>,
    status: ServiceStatus,
}

impl fmt::Debug for ServiceManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceManager")
            .field("status", &self.status.states())
            .finish()
    }
}

impl ServiceManager {
    /// Checks the dependency graph (names unique, dependencies known, no cycle) and returns a
    /// manager whose services are all `New`.
    pub fn new(specs: Vec<ServiceSpec>) -> Result<Self, ManagerError> {
        let mut index_of = HashMap::new();
        for (index, spec) in specs.iter().enumerate() {
            if index_of.insert(spec.name.clone(), index).is_some() {
                return Err(ManagerError::DuplicateService(spec.name.clone()));
            }
        }
        let mut dependencies = Vec::with_capacity(specs.len());
        for spec in &specs {
            let mut resolved = Vec::new();
            for dependency in &spec.dependencies {
                let index =
                    *index_of
                        .get(dependency)
                        .ok_or_else(|| ManagerError::UnknownDependency {
                            service: spec.name.clone(),
                            dependency: dependency.clone(),
                        })?;
                resolved.push(index);
            }
            dependencies.push(resolved);
        }
        let order = topological_order(&dependencies).map_err(|cycle| {
            ManagerError::DependencyCycle(
                cycle
                    .into_iter()
                    .map(|index| specs[index].name.clone())
                    .collect(),
            )
        })?;
        let mut dependents = vec![Vec::new(); specs.len()];
        for (index, deps) in dependencies.iter().enumerate() {
            for &dependency in deps {
                dependents[dependency].push(index);
            }
        }
        // Entries are stored in start order; indices are remapped accordingly.
        let mut position = vec![0; specs.len()];
        for (new_index, &old_index) in order.iter().enumerate() {
            position[old_index] = new_index;
        }
        let mut specs: Vec<Option<ServiceSpec>> = specs.into_iter().map(Some).collect();
        let mut entries = Vec::with_capacity(specs.len());
        for &old_index in &order {
            let Some(spec) = specs[old_index].take() else {
                continue;
            };
            let (state, _) = watch::channel(State::New);
            entries.push(Arc::new(Entry {
                name: spec.name,
                dependencies: dependencies[old_index]
                    .iter()
                    .map(|&index| position[index])
                    .collect(),
                dependents: dependents[old_index]
                    .iter()
                    .map(|&index| position[index])
                    .collect(),
                service: spec.service,
                state,
                stop: CancellationToken::new(),
            }));
        }
        let status = ServiceStatus {
            services: Arc::new(
                entries
                    .iter()
                    .map(|entry| (entry.name.clone(), entry.state.subscribe()))
                    .collect(),
            ),
        };
        Ok(Self { entries, status })
    }

    /// Returns the status view, usable before and while the manager runs.
    pub fn status(&self) -> ServiceStatus {
        self.status.clone()
    }

    /// Runs every service until `stop` is cancelled, a service fails, or all services ended;
    /// then stops the rest in reverse dependency order within `shutdown_deadline`.
    pub async fn run(
        self,
        stop: CancellationToken,
        shutdown_deadline: std::time::Duration,
    ) -> Result<(), ManagerError> {
        let shutting_down = CancellationToken::new();
        let (failure_tx, mut failure_rx) = mpsc::unbounded_channel::<(String, String)>();
        let mut tasks = tokio::task::JoinSet::new();
        for entry in &self.entries {
            let entries = self.entries.clone();
            let entry = Arc::clone(entry);
            let failures = failure_tx.clone();
            let shutting = shutting_down.clone();
            tasks.spawn(run_one(entries, entry, failures, shutting));
        }
        drop(failure_tx);
        for entry in &self.entries {
            let entries = self.entries.clone();
            let entry = Arc::clone(entry);
            let shutting = shutting_down.clone();
            tasks.spawn(stop_when_dependents_stopped(entries, entry, shutting));
        }

        let all_terminal = {
            let status = self.status.clone();
            async move {
                for (_, state) in status.services.iter() {
                    let mut state = state.clone();
                    let _ = state.wait_for(|state| state.is_terminal()).await;
                }
            }
        };
        let first_failure = tokio::select! {
            _ = stop.cancelled() => None,
            failure = failure_rx.recv() => failure,
            _ = all_terminal => None,
        };
        if let Some((service, error)) = &first_failure {
            tracing::error!(service = %service, error = %error, "service failed, stopping all services");
        } else {
            tracing::info!("stopping all services");
        }
        shutting_down.cancel();

        let drained = tokio::time::timeout(shutdown_deadline, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            let pending: Vec<String> = self
                .status
                .states()
                .into_iter()
                .filter(|(_, state)| !state.is_terminal())
                .map(|(name, _)| name)
                .collect();
            tasks.abort_all();
            return Err(ManagerError::ShutdownTimeout {
                deadline: shutdown_deadline,
                pending,
            });
        }
        let first_failure = first_failure.or_else(|| failure_rx.try_recv().ok());
        match first_failure {
            Some((service, error)) => Err(ManagerError::ServiceFailed { service, error }),
            None => Ok(()),
        }
    }
}

/// Drives one service through its lifecycle.
async fn run_one(
    entries: Vec<Arc<Entry>>,
    entry: Arc<Entry>,
    failures: mpsc::UnboundedSender<(String, String)>,
    shutting_down: CancellationToken,
) {
    let set = |state: State| {
        entry.state.send_replace(state);
        tracing::debug!(service = %entry.name, state = %state, "service state changed");
    };
    for &dependency in &entry.dependencies {
        let mut dependency_state = entries[dependency].state.subscribe();
        let ready = tokio::select! {
            result = dependency_state.wait_for(|state| *state == State::Running || state.is_terminal()) => {
                matches!(result.as_deref(), Ok(State::Running))
            }
            _ = shutting_down.cancelled() => false,
        };
        if !ready {
            set(State::Terminated);
            return;
        }
    }
    set(State::Starting);
    if let Err(error) = entry.service.starting(entry.stop.clone()).await {
        set(State::Failed);
        let _ = failures.send((entry.name.clone(), error.to_string()));
        return;
    }
    if entry.stop.is_cancelled() {
        set(State::Stopping);
        let stopped = entry.service.stopping().await;
        set(if stopped.is_ok() {
            State::Terminated
        } else {
            State::Failed
        });
        return;
    }
    set(State::Running);
    tracing::info!(service = %entry.name, "service running");
    let ran = entry.service.running(entry.stop.clone()).await;
    set(State::Stopping);
    let stopped = entry.service.stopping().await;
    match (ran, stopped) {
        (Ok(()), Ok(())) => set(State::Terminated),
        (Err(error), _) | (Ok(()), Err(error)) => {
            set(State::Failed);
            let _ = failures.send((entry.name.clone(), error.to_string()));
        }
    }
    tracing::info!(service = %entry.name, state = %*entry.state.borrow(), "service stopped");
}

/// Cancels a service once shutdown began and everything depending on it has stopped.
async fn stop_when_dependents_stopped(
    entries: Vec<Arc<Entry>>,
    entry: Arc<Entry>,
    shutting_down: CancellationToken,
) {
    shutting_down.cancelled().await;
    for &dependent in &entry.dependents {
        let mut state = entries[dependent].state.subscribe();
        let _ = state.wait_for(|state| state.is_terminal()).await;
    }
    entry.stop.cancel();
}

/// Returns indices in an order where every node comes after its dependencies, or a cycle.
fn topological_order(dependencies: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Unvisited,
        InProgress,
        Done,
    }
    fn visit(
        node: usize,
        dependencies: &[Vec<usize>],
        marks: &mut [Mark],
        order: &mut Vec<usize>,
        path: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[node] {
            Mark::Done => return Ok(()),
            Mark::InProgress => {
                let start = path.iter().position(|&n| n == node).unwrap_or(0);
                return Err(path[start..].to_vec());
            }
            Mark::Unvisited => {}
        }
        marks[node] = Mark::InProgress;
        path.push(node);
        for &dependency in &dependencies[node] {
            visit(dependency, dependencies, marks, order, path)?;
        }
        path.pop();
        marks[node] = Mark::Done;
        order.push(node);
        Ok(())
    }
    let mut marks = vec![Mark::Unvisited; dependencies.len()];
    let mut order = Vec::with_capacity(dependencies.len());
    for node in 0..dependencies.len() {
        visit(node, dependencies, &mut marks, &mut order, &mut Vec::new())?;
    }
    Ok(order)
}

#[cfg(test)]
mod tests;
