use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use norn_common::service::{Service, ServiceManager, ServiceSpec};
use norn_limits::Limits;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::*;

struct Idle;

#[async_trait::async_trait]
impl Service for Idle {}

fn state_with(manager: &ServiceManager, config: RootConfig) -> AdminState {
    AdminState {
        config: Arc::new(config),
        status: manager.status(),
        registry: Arc::new(Registry::default()),
        overrides: Overrides::new(Limits::default()),
    }
}

async fn get(router: &Router, uri: &str) -> (StatusCode, String) {
    let response = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn ready_is_503_with_a_reason_until_every_service_runs() {
    let manager = ServiceManager::new(vec![
        ServiceSpec::new("server", &[], Arc::new(Idle)),
        ServiceSpec::new("ingester", &["server"], Arc::new(Idle)),
    ])
    .unwrap();
    let router = router(state_with(&manager, RootConfig::default()));
    let (status, body) = get(&router, "/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("server is New") && body.contains("ingester is New"),
        "{body}"
    );
    let (_, services) = get(&router, "/services").await;
    assert_eq!(services, "server New\ningester New\n");

    let status_view = manager.status();
    let stop = CancellationToken::new();
    let run = tokio::spawn(manager.run(stop.clone(), Duration::from_secs(5)));
    assert!(status_view.wait_until_running().await);
    assert_eq!(
        get(&router, "/ready").await,
        (StatusCode::OK, "ready\n".into())
    );
    stop.cancel();
    run.await.unwrap().unwrap();
    let (status, body) = get(&router, "/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("Terminated"), "{body}");
}

#[tokio::test]
async fn config_endpoint_shows_effective_diff_and_defaults() {
    let manager = ServiceManager::new(vec![]).unwrap();
    let mut config = RootConfig::default();
    config.server.http_listen_port = 9009;
    config.limits.ingestion_rate = 1.0;
    let router = router(state_with(&manager, config));

    let (status, full) = get(&router, "/config").await;
    assert_eq!(status, StatusCode::OK);
    let full: Value = serde_yaml_ng::from_str(&full).unwrap();
    assert_eq!(
        config::get_path(&full, "server.http_listen_port")
            .unwrap()
            .as_u64(),
        Some(9009)
    );
    assert_eq!(
        config::get_path(&full, "target").unwrap().as_str(),
        Some("all")
    );

    let (_, diff) = get(&router, "/config?mode=diff").await;
    let diff: Value = serde_yaml_ng::from_str(&diff).unwrap();
    let expected: Value = serde_yaml_ng::from_str(
        "server:\n  http_listen_port: 9009\nlimits:\n  ingestion_rate: 1.0\n",
    )
    .unwrap();
    assert_eq!(diff, expected);

    let (_, defaults) = get(&router, "/config?mode=defaults").await;
    let defaults: Value = serde_yaml_ng::from_str(&defaults).unwrap();
    assert_eq!(
        config::get_path(&defaults, "server.http_listen_port")
            .unwrap()
            .as_u64(),
        Some(8080)
    );

    let (status, body) = get(&router, "/config?mode=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("diff or defaults"), "{body}");
}

#[tokio::test]
async fn runtime_config_endpoint_shows_overrides() {
    let manager = ServiceManager::new(vec![]).unwrap();
    let state = state_with(&manager, RootConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rt.yaml");
    std::fs::write(&file, "overrides:\n  team-a:\n    ingestion_rate: 42\n").unwrap();
    let mut registry = Registry::default();
    let service = norn_limits::RuntimeConfigService::new(
        norn_limits::RuntimeConfigConfig {
            file: file.display().to_string(),
            period: norn_common::Duration::from_secs(10),
        },
        state.overrides.clone(),
        norn_limits::RuntimeConfigMetrics::new(&mut registry),
    );
    service.reload().await.unwrap();
    let router = router(state);
    let (status, body) = get(&router, "/runtime_config").await;
    assert_eq!(status, StatusCode::OK);
    let full: Value = serde_yaml_ng::from_str(&body).unwrap();
    assert_eq!(
        config::get_path(&full, "overrides.team-a.ingestion_rate")
            .unwrap()
            .as_f64(),
        Some(42.0)
    );
    assert_eq!(
        config::get_path(&full, "overrides.team-a.max_label_names_per_series")
            .unwrap()
            .as_u64(),
        Some(30)
    );
    let (_, diff) = get(&router, "/runtime_config?mode=diff").await;
    let diff: Value = serde_yaml_ng::from_str(&diff).unwrap();
    let expected: Value =
        serde_yaml_ng::from_str("overrides:\n  team-a:\n    ingestion_rate: 42.0\n").unwrap();
    assert_eq!(diff, expected);
}
