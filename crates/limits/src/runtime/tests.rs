use std::time::Duration as StdDuration;

use prometheus_client::encoding::text::encode;

use super::*;

fn parse(text: &str) -> Result<RuntimeConfig, RuntimeConfigError> {
    parse_runtime_config(
        &[("rt.yaml".to_owned(), text.to_owned())],
        &Limits::default(),
    )
}

#[test]
fn override_replaces_only_the_keys_it_names() {
    let defaults = Limits {
        max_label_names_per_series: 40,
        ..Limits::default()
    };
    let runtime = parse_runtime_config(
        &[(
            "rt.yaml".into(),
            "overrides:\n  tenant-a:\n    ingestion_rate: 50000\n".into(),
        )],
        &defaults,
    )
    .unwrap();
    let limits = &runtime.overrides["tenant-a"];
    assert_eq!(limits.ingestion_rate, 50000.0);
    assert_eq!(
        limits.max_label_names_per_series, 40,
        "default from the config's limits block"
    );
}

#[test]
fn empty_and_null_files_mean_no_overrides() {
    assert!(parse("").unwrap().overrides.is_empty());
    assert!(parse("overrides:\n").unwrap().overrides.is_empty());
}

#[test]
fn errors_name_tenant_and_key() {
    let error = parse("overrides:\n  t1:\n    ingestion_rat: 5\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("overrides.t1") && error.contains("ingestion_rat"),
        "{error}"
    );
    let error = parse("overrides:\n  t1:\n    creation_grace_period: soon\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("creation_grace_period"), "{error}");
    let error = parse("overides: {}\n").unwrap_err().to_string();
    assert!(error.contains("overides"), "{error}");
    let error = parse("overrides: [\n").unwrap_err().to_string();
    assert!(error.contains("rt.yaml"), "{error}");
    let error = parse("overrides:\n  t1:\n    ingestion_rate: -1\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("non-negative"), "{error}");
}

#[test]
fn files_merge_left_to_right() {
    let runtime = parse_runtime_config(
        &[
            (
                "a.yaml".into(),
                "overrides:\n  t1: {ingestion_rate: 1}\n  t2: {ingestion_rate: 2}\n".into(),
            ),
            (
                "b.yaml".into(),
                "overrides:\n  t1: {ingestion_rate: 10}\n".into(),
            ),
        ],
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(runtime.overrides["t1"].ingestion_rate, 10.0);
    assert_eq!(runtime.overrides["t2"].ingestion_rate, 2.0);
}

fn metrics_text(registry: &Registry) -> String {
    let mut text = String::new();
    encode(&mut text, registry).unwrap();
    text
}

/// Polls `condition` every 10ms, at most 500 times.
async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if condition() {
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn polls_reloads_and_keeps_the_last_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runtime.yaml");
    std::fs::write(&path, "overrides:\n  t1:\n    ingestion_rate: 100\n").unwrap();
    let mut registry = Registry::default();
    let metrics = RuntimeConfigMetrics::new(&mut registry);
    let overrides = Overrides::new(Limits::default());
    let service = Arc::new(RuntimeConfigService::new(
        RuntimeConfigConfig {
            file: path.display().to_string(),
            period: Duration::from_millis(20),
        },
        overrides.clone(),
        metrics,
    ));
    service.starting(CancellationToken::new()).await.unwrap();
    assert_eq!(overrides.limits("t1").ingestion_rate, 100.0);
    assert_eq!(overrides.limits("other").ingestion_rate, 10_000.0);

    let stop = CancellationToken::new();
    let running = tokio::spawn({
        let service = Arc::clone(&service);
        let stop = stop.clone();
        async move { service.running(stop).await }
    });

    std::fs::write(&path, "overrides:\n  t1:\n    ingestion_rate: 200\n").unwrap();
    assert!(eventually(|| overrides.limits("t1").ingestion_rate == 200.0).await);
    assert!(metrics_text(&registry).contains("cortex_runtime_config_last_reload_successful 1"));

    std::fs::write(&path, "overrides:\n  t1:\n    ingestion_rate: [broken\n").unwrap();
    assert!(
        eventually(
            || metrics_text(&registry).contains("cortex_runtime_config_last_reload_successful 0")
        )
        .await,
        "{}",
        metrics_text(&registry)
    );
    assert_eq!(
        overrides.limits("t1").ingestion_rate,
        200.0,
        "last good config kept"
    );
    assert!(!metrics_text(&registry).contains("norn_runtime_config_reload_failures_total 0"));

    std::fs::write(&path, "overrides:\n  t1:\n    ingestion_rate: 300\n").unwrap();
    assert!(eventually(|| overrides.limits("t1").ingestion_rate == 300.0).await);

    stop.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_broken_file_fails_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runtime.yaml");
    std::fs::write(&path, "overrides:\n  t1:\n    nope: 1\n").unwrap();
    let mut registry = Registry::default();
    let service = RuntimeConfigService::new(
        RuntimeConfigConfig {
            file: path.display().to_string(),
            period: Duration::from_secs(10),
        },
        Overrides::new(Limits::default()),
        RuntimeConfigMetrics::new(&mut registry),
    );
    let error = service
        .starting(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("nope"), "{error}");
    let missing = RuntimeConfigService::new(
        RuntimeConfigConfig {
            file: dir.path().join("missing.yaml").display().to_string(),
            period: Duration::from_secs(10),
        },
        Overrides::new(Limits::default()),
        RuntimeConfigMetrics::new(&mut registry),
    );
    let error = missing
        .starting(CancellationToken::new())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("missing.yaml"), "{error}");
}
