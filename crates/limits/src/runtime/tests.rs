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

const WITH_CREDENTIALS: &str = "
overrides:
  team-a:
    ingestion_rate: 5
credentials:
  - tenants: [team-a]
    username: alice
    password: s3cret
  - tenants: [team-b, team-c]
    token: runtime-token
";

#[test]
fn credentials_parse_next_to_overrides() {
    let runtime = parse(WITH_CREDENTIALS).unwrap();
    assert_eq!(runtime.overrides["team-a"].ingestion_rate, 5.0);
    assert_eq!(runtime.credentials.len(), 2);
    assert_eq!(runtime.credentials[0].username(), Some("alice"));
    let tenants: Vec<&str> = runtime.credentials[1]
        .tenants()
        .iter()
        .map(|id| id.as_str())
        .collect();
    assert_eq!(tenants, ["team-b", "team-c"]);
    assert!(parse("credentials:\n").unwrap().credentials.is_empty());
    assert!(parse("overrides: {}\n").unwrap().credentials.is_empty());
}

#[test]
fn an_invalid_credential_refuses_the_file() {
    for (text, expected) in [
        (
            "credentials:\n  - {tenants: [a]}\n",
            "credentials[0]: no secret",
        ),
        (
            "credentials:\n  - {tenants: [a], token: t, username: u, password: p}\n",
            "not both",
        ),
        (
            "credentials:\n  - {tenants: [bad/tenant], token: t}\n",
            "unsupported character '/'",
        ),
        (
            "credentials:\n  - {tenants: [a], token: t}\n  - {tenants: [b], token: t}\n",
            "credentials[1]: the token is already used by credentials[0]",
        ),
        ("credentials:\n  - {tenants: [a], tokn: t}\n", "tokn"),
        ("credentials: {a: b}\n", "credentials: invalid type"),
        (
            "overrides:\n  t1: {ingestion_rate: 1}\ncredentials:\n  - {tenants: [a], username: u}\n",
            "has no password",
        ),
    ] {
        let error = parse(text).unwrap_err();
        assert!(
            matches!(error, RuntimeConfigError::Invalid(_)),
            "{text}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(expected), "{text}: {message}");
    }
}

#[test]
fn the_shown_runtime_config_redacts_secrets() {
    let runtime = parse(WITH_CREDENTIALS).unwrap();
    let text = serde_yaml_ng::to_string(&runtime).unwrap();
    assert!(
        !text.contains("s3cret") && !text.contains("runtime-token"),
        "{text}"
    );
    assert!(
        text.contains("alice") && text.contains("********"),
        "{text}"
    );
    let without = serde_yaml_ng::to_string(&parse("overrides: {}\n").unwrap()).unwrap();
    assert!(!without.contains("credentials"), "{without}");
}

fn tenants_for_token(source: &CredentialSource, token: &str) -> Option<Vec<String>> {
    let header = axum::http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    source()
        .authenticate(Some(&header))
        .map(|tenants| tenants.iter().map(|id| id.to_string()).collect())
}

#[tokio::test]
async fn the_credential_source_follows_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runtime.yaml");
    std::fs::write(&path, "overrides: {}\n").unwrap();
    let overrides = Overrides::new(Limits::default());
    let mut registry = Registry::default();
    let service = RuntimeConfigService::new(
        RuntimeConfigConfig {
            file: path.display().to_string(),
            period: Duration::from_secs(10),
        },
        overrides.clone(),
        RuntimeConfigMetrics::new(&mut registry),
    );
    let static_credentials = vec![
        Credential::bearer(&["static-tenant"], "static-token").unwrap(),
        Credential::bearer(&["old-tenant"], "shared-token").unwrap(),
    ];
    let source = overrides.credential_source(static_credentials);
    service.reload().await.unwrap();
    assert_eq!(
        tenants_for_token(&source, "static-token"),
        Some(vec!["static-tenant".to_owned()])
    );
    assert!(
        Arc::ptr_eq(&source(), &source()),
        "one set per runtime configuration"
    );

    std::fs::write(
        &path,
        "credentials:\n  - {tenants: [new-tenant], token: shared-token}\n  - {tenants: [extra], token: runtime-token}\n",
    )
    .unwrap();
    service.reload().await.unwrap();
    assert_eq!(
        tenants_for_token(&source, "shared-token"),
        Some(vec!["new-tenant".to_owned()]),
        "the runtime file wins"
    );
    assert_eq!(
        tenants_for_token(&source, "runtime-token"),
        Some(vec!["extra".to_owned()])
    );
    assert_eq!(
        tenants_for_token(&source, "static-token"),
        Some(vec!["static-tenant".to_owned()])
    );

    std::fs::write(&path, "credentials:\n  - {tenants: [x]}\n").unwrap();
    let error = service.reload().await.unwrap_err();
    assert!(error.to_string().contains("no secret"), "{error}");
    assert_eq!(
        tenants_for_token(&source, "runtime-token"),
        Some(vec!["extra".to_owned()]),
        "the last good file stays in force"
    );

    std::fs::write(&path, "overrides: {}\n").unwrap();
    service.reload().await.unwrap();
    assert_eq!(tenants_for_token(&source, "runtime-token"), None);
    assert_eq!(
        tenants_for_token(&source, "shared-token"),
        Some(vec!["old-tenant".to_owned()])
    );
}
