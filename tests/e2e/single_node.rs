//! A single node with `-target=all`: readiness, admin endpoints, tenant handling, runtime
//! overrides reloaded and shown over HTTP, and an orderly shutdown.

use std::time::Duration;

use norn_common::service::State;
use norn_e2e::{get, wait_for};
use norn_server::RootConfig;
use norn_server::run::assemble;
use tokio_util::sync::CancellationToken;

fn config_in(dir: &std::path::Path) -> RootConfig {
    let mut config = RootConfig::default();
    config.server.http_listen_address = "127.0.0.1".into();
    config.server.http_listen_port = 0;
    config.blocks_storage.filesystem.dir = dir.join("blocks").display().to_string();
    config.blocks_storage.tsdb.dir = dir.join("tsdb").display().to_string();
    config.blocks_storage.bucket_store.sync_dir = dir.join("tsdb-sync").display().to_string();
    config.compactor.data_dir = dir.join("data-compactor").display().to_string();
    config
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_serves_admin_endpoints_and_reloads_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let runtime_file = dir.path().join("runtime.yaml");
    std::fs::write(
        &runtime_file,
        "overrides:\n  team-a:\n    ingestion_rate: 100\n",
    )
    .unwrap();
    let mut config = config_in(dir.path());
    config.runtime_config.file = runtime_file.display().to_string();
    config.runtime_config.period = norn_common::Duration::from_millis(50);

    let node = assemble(config).unwrap();
    let status = node.status();
    let http = node.http();
    let stop = CancellationToken::new();
    let running = tokio::spawn(node.run(stop.clone()));
    assert!(status.wait_until_running().await, "{:?}", status.states());
    let address = http.local_address().expect("bound once running");

    let ready = blocking(move || get(address, "/ready").unwrap()).await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    for dir_name in ["tsdb", "tsdb-sync", "data-compactor"] {
        assert!(dir.path().join(dir_name).is_dir(), "{dir_name} not created");
    }

    let services = blocking(move || get(address, "/services").unwrap()).await;
    for module in [
        "server",
        "runtime-config",
        "distributor",
        "ingester",
        "querier",
        "query-frontend",
        "store-gateway",
        "compactor",
    ] {
        assert!(
            services.body.contains(&format!("{module} Running")),
            "{}",
            services.body
        );
    }

    let runtime = blocking(move || get(address, "/runtime_config?mode=diff").unwrap()).await;
    assert!(
        runtime.body.contains("ingestion_rate: 100"),
        "{}",
        runtime.body
    );
    std::fs::write(&runtime_file, "overrides:\n  team-a:\n    ingestion_rate: 250\n  team-b:\n    max_label_names_per_series: 5\n").unwrap();
    let reloaded = blocking(move || {
        wait_for(Duration::from_secs(10), || {
            let response = get(address, "/runtime_config?mode=diff").ok()?;
            response
                .body
                .contains("ingestion_rate: 250")
                .then_some(response)
        })
    })
    .await
    .expect("runtime config reloaded");
    assert!(
        reloaded.body.contains("max_label_names_per_series: 5"),
        "{}",
        reloaded.body
    );

    std::fs::write(
        &runtime_file,
        "overrides:\n  team-a:\n    ingestion_rate: {broken\n",
    )
    .unwrap();
    let failed = blocking(move || {
        wait_for(Duration::from_secs(10), || {
            let metrics = get(address, "/metrics").ok()?;
            metrics
                .body
                .contains("cortex_runtime_config_last_reload_successful 0")
                .then_some(metrics)
        })
    })
    .await
    .expect("reload failure reported");
    assert!(
        failed
            .body
            .contains("norn_runtime_config_reload_failures_total"),
        "{}",
        failed.body
    );
    let kept = blocking(move || get(address, "/runtime_config?mode=diff").unwrap()).await;
    assert!(
        kept.body.contains("ingestion_rate: 250"),
        "broken file must not take effect: {}",
        kept.body
    );

    let metrics = blocking(move || get(address, "/metrics").unwrap()).await;
    for expected in [
        "norn_build_info{",
        r#"norn_service_state{service="ingester",state="Running"} 1"#,
        r#"norn_service_state{service="ingester",state="Starting"} 0"#,
        r#"cortex_request_duration_seconds_count{method="GET",route="ready",status_code="200"} 1"#,
        "process_resident_memory_bytes",
        "cortex_runtime_config_hash{sha256=",
    ] {
        assert!(
            metrics.body.contains(expected),
            "{expected} missing:\n{}",
            metrics.body
        );
    }

    let config = blocking(move || get(address, "/config?mode=diff").unwrap()).await;
    assert!(
        config.body.contains("http_listen_address: 127.0.0.1"),
        "{}",
        config.body
    );
    assert!(
        !config.body.contains("target:"),
        "defaults are not in the diff: {}",
        config.body
    );

    stop.cancel();
    running.await.unwrap().unwrap();
    for (name, state) in status.states() {
        assert_eq!(state, State::Terminated, "{name}");
    }
    assert!(
        blocking(move || get(address, "/ready")).await.is_err(),
        "listener closed after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_role_target_runs_only_that_role() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(dir.path());
    config.target = "compactor".into();
    let node = assemble(config).unwrap();
    let status = node.status();
    let names: Vec<String> = status.states().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["server", "runtime-config", "compactor"]);
    let stop = CancellationToken::new();
    let running = tokio::spawn(node.run(stop.clone()));
    assert!(status.wait_until_running().await);
    assert!(dir.path().join("data-compactor").is_dir());
    assert!(
        !dir.path().join("tsdb").exists(),
        "the ingester is not part of this target"
    );
    stop.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_cannot_start_stops_the_node_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"file in the way").unwrap();
    let mut config = config_in(dir.path());
    config.blocks_storage.tsdb.dir = blocker.display().to_string();
    let error = assemble(config)
        .unwrap()
        .run(CancellationToken::new())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("ingester failed") && message.contains("blocks_storage.tsdb.dir"),
        "{message}"
    );
}
