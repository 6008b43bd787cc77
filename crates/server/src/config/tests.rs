use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use super::*;

fn load(args: &[&str]) -> Result<RootConfig, ConfigError> {
    load_env(args, &[])
}

fn load_env(args: &[&str], env: &[(&str, &str)]) -> Result<RootConfig, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    match load_from_args(args.iter().copied(), |name| {
        env.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    })? {
        Invocation::Run(config) => Ok(*config),
        other => panic!("unexpected {other:?}"),
    }
}

fn write_file(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn defaults_match_mimir() {
    let config = load(&[]).unwrap();
    assert_eq!(config.target, "all");
    assert!(config.multitenancy_enabled);
    assert_eq!(config.no_auth_tenant, "anonymous");
    assert_eq!(config.server.http_listen_port, 8080);
    assert_eq!(config.server.log_level, "info");
    assert_eq!(config.blocks_storage.backend, "filesystem");
    assert_eq!(config.blocks_storage.filesystem.dir, "blocks");
    assert_eq!(config.blocks_storage.tsdb.dir, "./tsdb/");
    assert_eq!(config.blocks_storage.bucket_store.sync_dir, "./tsdb-sync/");
    assert_eq!(config.compactor.data_dir, "./data-compactor/");
    assert_eq!(config.runtime_config.period, Duration::from_secs(10));
    assert_eq!(config.limits.ingestion_rate, 10_000.0);
    assert_eq!(config.limits.max_global_series_per_user, 150_000);
}

#[test]
fn precedence_default_then_yaml_then_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        &dir,
        "norn.yaml",
        "server:\n  http_listen_port: 9009\n  log_level: debug\nlimits:\n  ingestion_rate: 5\n",
    );
    let from_yaml = load(&["-config.file", &file]).unwrap();
    assert_eq!(from_yaml.server.http_listen_port, 9009);
    assert_eq!(from_yaml.limits.ingestion_rate, 5.0);
    assert_eq!(
        from_yaml.server.log_format, "logfmt",
        "untouched key keeps its default"
    );
    let with_flags = load(&[
        &format!("-config.file={file}"),
        "-server.http-listen-port=9010",
        "-distributor.ingestion-rate-limit",
        "7.5",
        "-auth.multitenancy-enabled=false",
    ])
    .unwrap();
    assert_eq!(with_flags.server.http_listen_port, 9010, "flag beats YAML");
    assert_eq!(with_flags.limits.ingestion_rate, 7.5);
    assert_eq!(with_flags.server.log_level, "debug", "YAML beats default");
    assert!(!with_flags.multitenancy_enabled);
}

#[test]
fn env_expansion_only_with_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        &dir,
        "norn.yaml",
        "server:\n  http_listen_port: ${PORT:9011}\nno_auth_tenant: ${TENANT}\ncompactor:\n  data_dir: ${DATA}/compactor\n",
    );
    let config = load_env(
        &["-config.file", &file, "-config.expand-env"],
        &[("TENANT", "team-x"), ("DATA", "/var/norn")],
    )
    .unwrap();
    assert_eq!(
        config.server.http_listen_port, 9011,
        "default used when unset"
    );
    assert_eq!(config.no_auth_tenant, "team-x");
    assert_eq!(config.compactor.data_dir, "/var/norn/compactor");
    let config = load_env(
        &["-config.file", &file, "-config.expand-env"],
        &[("PORT", "9100"), ("TENANT", "t")],
    )
    .unwrap();
    assert_eq!(config.server.http_listen_port, 9100);
    let error = load_env(&["-config.file", &file], &[("TENANT", "t")])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("http_listen_port"),
        "without -config.expand-env the text stays literal: {error}"
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        &dir,
        "norn.yaml",
        "target: all\nblocks_storage:\n  tsdb:\n    dirr: x\n",
    );
    let error = load(&["-config.file", &file]).unwrap_err().to_string();
    assert!(error.contains("norn.yaml"), "{error}");
    assert!(error.contains("unknown field `dirr`"), "{error}");
    assert!(error.contains("blocks_storage.tsdb"), "{error}");
    assert!(error.contains("line 4"), "{error}");
    assert!(
        !error.contains("blocks_storage.tsdb.dirr: blocks_storage"),
        "path not repeated: {error}"
    );
}

#[test]
fn validation_errors_say_what_to_fix() {
    for (args, expected) in [
        (
            vec!["-server.http-listen-port=70000"],
            "between 0 and 65535",
        ),
        (vec!["-server.http-listen-port=-1"], "non-negative integer"),
        (vec!["-log.level=verbose"], "debug, info, warn, error"),
        (vec!["-log.format=xml"], "logfmt, json"),
        (vec!["-auth.no-auth-tenant=a/b"], "unsupported character"),
        (vec!["-target=ingester,ruler"], "unknown module \"ruler\""),
        (vec!["-blocks-storage.backend=gcs"], "supported: filesystem"),
        (
            vec!["-server.http-listen-address=localhost"],
            "must be an IP address",
        ),
        (
            vec![
                "-runtime-config.file=x.yaml",
                "-runtime-config.reload-period=0s",
            ],
            "greater than 0",
        ),
        (
            vec!["-no-such-flag"],
            "flag provided but not defined: -no-such-flag",
        ),
        (
            vec!["-config.file=/nonexistent/norn.yaml"],
            "cannot read config file /nonexistent/norn.yaml",
        ),
    ] {
        let error = load(&args).unwrap_err().to_string();
        assert!(error.contains(expected), "{args:?}: {error}");
    }
}

#[test]
fn help_and_version() {
    let help = match load_from_args(["-help"], |_| None).unwrap() {
        Invocation::Help(text) => text,
        other => panic!("unexpected {other:?}"),
    };
    for spec in RootConfig::specs() {
        if let Some(flag) = spec.flag {
            assert!(
                help.contains(&format!("-{flag}")),
                "{flag} missing from -help"
            );
        }
    }
    assert!(help.contains("-server.http-listen-port int"), "{help}");
    match load_from_args(["-version"], |_| None).unwrap() {
        Invocation::Version(text) => assert!(text.contains(crate::VERSION)),
        other => panic!("unexpected {other:?}"),
    }
}

fn leaf_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Mapping(mapping) => {
            for (key, child) in mapping {
                let key = key.as_str().unwrap_or_default();
                let path = if prefix.is_empty() {
                    key.to_owned()
                } else {
                    format!("{prefix}.{key}")
                };
                leaf_paths(child, &path, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

#[test]
fn every_key_has_a_spec_and_every_flag_is_unique() {
    let defaults = config::to_value(&RootConfig::default()).unwrap();
    let mut keys = BTreeSet::new();
    leaf_paths(&defaults, "", &mut keys);
    let specs = RootConfig::specs();
    // Keys inside list items (`auth.credentials[].password`) have no leaf in the defaults,
    // where the list is empty; the list itself is the leaf.
    let documented: BTreeSet<String> = specs
        .iter()
        .filter(|spec| !spec.path.contains("[]"))
        .map(|spec| spec.path.clone())
        .collect();
    assert_eq!(keys, documented, "config keys and specs differ");
    let mut flags = BTreeSet::new();
    for spec in &specs {
        if let Some(flag) = spec.flag {
            assert!(flags.insert(flag), "flag -{flag} declared twice");
        }
    }
}

#[test]
fn configuration_reference_is_up_to_date() {
    let generated = reference_markdown().unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    if std::env::var_os("NORN_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/configuration.md is stale: run `NORN_UPDATE_DOCS=1 cargo test -p norn-server configuration_reference`"
    );
}

#[test]
fn example_configurations_in_deploy_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = root.join("deploy/single-node.yaml").display().to_string();
    let config = load(&["-config.file", &file]).unwrap();
    assert!(!config.multitenancy_enabled);
    assert_eq!(config.runtime_config.file, "./deploy/runtime.yaml");
    let runtime = std::fs::read_to_string(root.join("deploy/runtime.yaml")).unwrap();
    let parsed = norn_limits::runtime::parse_runtime_config(
        &[("deploy/runtime.yaml".into(), runtime)],
        &config.limits,
    )
    .unwrap();
    assert_eq!(parsed.overrides["anonymous"].ingestion_rate, 50_000.0);
}

#[test]
fn query_path_keys_have_mimirs_defaults_and_flags() {
    let config = load(&[]).unwrap();
    assert_eq!(config.api.prometheus_http_prefix, "/prometheus");
    assert_eq!(config.querier.max_concurrent, 20);
    assert_eq!(config.querier.timeout, Duration::from_secs(120));
    assert_eq!(config.querier.max_samples, 50_000_000);
    assert_eq!(config.querier.lookback_delta, Duration::from_secs(300));
    assert!(!config.querier.promql_experimental_functions_enabled);
    assert_eq!(config.limits.max_fetched_chunks_per_query, 2_000_000);
    assert_eq!(config.limits.max_fetched_series_per_query, 0);
    assert_eq!(
        config.limits.query_ingesters_within,
        Duration::from_secs(13 * 3600)
    );
    assert!(config.limits.max_query_lookback.is_zero());
    assert!(config.limits.max_partial_query_length.is_zero());
    assert!(config.limits.max_total_query_length.is_zero());

    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        &dir,
        "norn.yaml",
        "api:\n  prometheus_http_prefix: /api/prom\nquerier:\n  max_concurrent: 4\n  timeout: 30s\nlimits:\n  max_fetched_series_per_query: 1000\n  max_total_query_length: 31d\n",
    );
    let config = load(&[
        "-config.file",
        &file,
        "-querier.lookback-delta=1m",
        "-querier.max-samples=1000",
        "-querier.promql-experimental-functions-enabled",
        "-querier.max-fetched-chunks-per-query=5",
        "-querier.query-ingesters-within=1h",
        "-querier.max-query-lookback=7d",
        "-querier.max-partial-query-length=1d",
    ])
    .unwrap();
    assert_eq!(config.api.prometheus_prefix(), "/api/prom");
    assert_eq!(config.querier.max_concurrent, 4);
    assert_eq!(config.querier.timeout, Duration::from_secs(30));
    assert_eq!(config.querier.lookback_delta, Duration::from_secs(60));
    assert_eq!(config.querier.max_samples, 1000);
    assert!(config.querier.promql_experimental_functions_enabled);
    assert_eq!(config.limits.max_fetched_series_per_query, 1000);
    assert_eq!(
        config.limits.max_total_query_length,
        Duration::from_secs(31 * 86_400)
    );
    assert_eq!(config.limits.max_fetched_chunks_per_query, 5);
    assert_eq!(
        config.limits.query_ingesters_within,
        Duration::from_secs(3600)
    );
    assert_eq!(
        config.limits.max_query_lookback,
        Duration::from_secs(7 * 86_400)
    );
    assert_eq!(
        config.limits.max_partial_query_length,
        Duration::from_secs(86_400)
    );

    let root = load(&["-http.prometheus-http-prefix=/"]).unwrap();
    assert_eq!(root.api.prometheus_prefix(), "");
    for (args, expected) in [
        (
            vec!["-http.prometheus-http-prefix=prom"],
            "must be empty or a path",
        ),
        (vec!["-http.prometheus-http-prefix=/a//b"], "empty segments"),
        (vec!["-querier.max-concurrent=0"], "-querier.max-concurrent"),
        (vec!["-querier.timeout=0s"], "-querier.timeout"),
    ] {
        let error = load(&args).unwrap_err().to_string();
        assert!(error.contains(expected), "{args:?}: {error}");
    }
}
