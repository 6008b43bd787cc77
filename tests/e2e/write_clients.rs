//! The write path with real clients: Prometheus and vmagent scrape a test target and
//! remote-write to a `norn` child process, and what Norn stores (read back through remote
//! read) must be exactly what the client scraped; an HA pair of Prometheus replicas must be
//! deduplicated to one elected replica and fail over when it dies.
//!
//! The external binaries come from Debian packages (`prometheus`, `victoria-metrics`) that
//! `scripts/test.sh` installs; a test prints `SKIPPED` and passes only when one is missing.
//!
//! Debian's Prometheus 2.42 (`2.42.0+ds`) parses `remote_write.headers` but does not send
//! them, so Prometheus cannot name its tenant in `X-Scope-OrgID`: the single-Prometheus test
//! gives it a basic-auth credential that grants exactly one tenant (Norn's `auth:` block), and
//! the HA test runs Norn with multitenancy disabled. vmagent sends its headers.

pub(crate) mod clients;
mod exposition;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use norn_e2e::remote::{now_ms, read_with};
use norn_e2e::{
    CapturedOutput, NornProcess, ScrapeTarget, get, norn_binary, request, wait_for_every,
};
use serde_json::Value;

use clients::{Prometheus, SamplesBySeries, VmAgent, by_label_set, external_binary};
use exposition::{Family, Kind, LabelSet, Sample, render, same_value, samples, service_families};

/// How long any "until it arrives" wait may take.
const ARRIVAL_LIMIT: Duration = Duration::from_secs(60);
/// How often those waits look.
const POLL: Duration = Duration::from_millis(500);

/// Series Prometheus writes itself for every scrape (besides the target's own).
const SCRAPE_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Starts `norn` with `args`; `config` (YAML), when not empty, is its `-config.file`.
fn start_norn(args: &[&str], config: &str) -> (NornProcess, CapturedOutput) {
    let binary = norn_binary();
    let mut args = args.to_vec();
    if !config.is_empty() {
        args.push("-config.file=norn.yaml");
    }
    let mut norn = NornProcess::start(binary.to_str().unwrap(), &args, |dir| {
        std::fs::write(dir.join("norn.yaml"), config).unwrap();
    });
    let output = norn.capture_output();
    assert!(
        norn.wait_ready(),
        "norn never became ready\n{}",
        output.text()
    );
    (norn, output)
}

/// Reads every series matching `job` from Norn over the last 10 minutes, sending `headers`
/// (tenant, credentials).
fn read_job(norn: &NornProcess, headers: &[(&str, &str)], job: &str) -> Option<SamplesBySeries> {
    let now = now_ms();
    read_with(
        norn.address,
        headers,
        &[("=", "job", job)],
        now - 600_000,
        now + 60_000,
    )
    .ok()
    .map(by_label_set)
}

fn name_of(labels: &LabelSet) -> &str {
    labels
        .get("__name__")
        .map(String::as_str)
        .unwrap_or_default()
}

/// A Prometheus config scraping `target` every second as `job` and remote-writing to `norn`
/// as `tenant`; `extra_global`, `extra_scrape` and `extra_remote_write` are indented YAML
/// lines added to those sections.
fn prometheus_config(
    job: &str,
    target: &ScrapeTarget,
    norn: &NornProcess,
    tenant: &str,
    extra: [&str; 3],
) -> String {
    let [extra_global, extra_scrape, extra_remote_write] = extra;
    format!(
        "global:
  scrape_interval: 1s
  scrape_timeout: 1s
{extra_global}scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: ['{target}']
{extra_scrape}remote_write:
  - url: http://{norn}/api/v1/push
    headers:
      X-Scope-OrgID: {tenant}
{extra_remote_write}    queue_config:
      batch_send_deadline: 1s
      min_backoff: 50ms
      max_backoff: 1s
",
        target = target.address(),
        norn = norn.address,
    )
}

#[test]
fn write_clients_prometheus_remote_write_stores_what_prometheus_scraped() {
    const JOB: &str = "e2e-prometheus";
    const TENANT: &str = "team-a";
    // base64("prom:s3cret"), the credential below.
    const AUTHORIZATION: &str = "Basic cHJvbTpzM2NyZXQ=";
    let Some(binary) = external_binary("prometheus", "prometheus") else {
        return;
    };
    let (norn, norn_log) = start_norn(
        &[],
        "auth:\n  credentials:\n    - tenants: [team-a]\n      username: prom\n      password: s3cret\n",
    );
    let target = ScrapeTarget::serve(|scrape| render(&service_families(scrape)));
    let basic_auth = "    basic_auth:\n      username: prom\n      password: s3cret\n";
    let config = prometheus_config(JOB, &target, &norn, TENANT, ["", "", basic_auth]);
    let credentials = [("Authorization", AUTHORIZATION), ("X-Scope-OrgID", TENANT)];
    let prometheus = Prometheus::start(&binary, "prometheus", &config);
    let selector = format!("{{job=\"{JOB}\"}}");
    let instance = target.address().to_string();
    let target_series: BTreeSet<LabelSet> = samples(&service_families(0))
        .iter()
        .map(|sample| sample.label_set(&[("job", JOB), ("instance", &instance)]))
        .collect();
    assert_eq!(target_series.len(), 30);

    // Norn may lag behind Prometheus: wait until it holds every series Prometheus holds for the
    // job (the target's and Prometheus's own scrape series), each with 3 samples or more.
    let mut last_seen = String::new();
    let stored = wait_for_every(ARRIVAL_LIMIT, POLL, || {
        let in_prometheus: BTreeSet<LabelSet> = prometheus.series(&selector).into_iter().collect();
        let in_norn = read_job(&norn, &credentials, JOB)?;
        let names: BTreeSet<LabelSet> = in_norn.keys().cloned().collect();
        let enough = in_norn.values().all(|samples| samples.len() >= 3);
        last_seen = format!(
            "prometheus has {} series, norn has {} series (sample counts {:?})",
            in_prometheus.len(),
            names.len(),
            in_norn.values().map(Vec::len).collect::<Vec<_>>()
        );
        (target_series.is_subset(&in_prometheus) && names == in_prometheus && enough)
            .then_some(in_norn)
    })
    .unwrap_or_else(|| {
        panic!(
            "norn never caught up with prometheus: {last_seen}\n{}\n--- norn ---\n{}",
            prometheus.output(),
            norn_log.text()
        )
    });

    // Exactly the target's 30 series plus the 5 Prometheus writes for every scrape.
    let stored_names: BTreeSet<&str> = stored.keys().map(name_of).collect();
    for name in SCRAPE_SERIES {
        assert!(
            stored_names.contains(name),
            "{name} missing: {stored_names:?}"
        );
    }
    assert_eq!(stored.len(), target_series.len() + SCRAPE_SERIES.len());
    assert!(
        target_series
            .iter()
            .all(|labels| stored.contains_key(labels))
    );

    // Every sample Norn stored is Prometheus's sample at that timestamp.
    let in_prometheus = prometheus.raw_samples(&selector, "10m", now_ms());
    for (labels, norn_samples) in &stored {
        let theirs: BTreeMap<i64, f64> = in_prometheus
            .get(labels)
            .unwrap_or_else(|| panic!("prometheus has no {labels:?}"))
            .iter()
            .copied()
            .collect();
        for &(timestamp, value) in norn_samples {
            let expected = theirs.get(&timestamp).unwrap_or_else(|| {
                panic!("norn has {labels:?} at {timestamp}, prometheus does not: {theirs:?}")
            });
            assert!(
                same_value(value, *expected),
                "{labels:?} at {timestamp}: norn {value}, prometheus {expected}"
            );
        }
    }

    // Prometheus's own scrape series say every scrape worked and saw the 30 samples.
    for (labels, norn_samples) in &stored {
        let expected = match name_of(labels) {
            "up" => 1.0,
            "scrape_samples_scraped" | "scrape_samples_post_metric_relabeling" => 30.0,
            _ => continue,
        };
        assert!(
            norn_samples.iter().all(|&(_, value)| value == expected),
            "{labels:?}: {norn_samples:?}"
        );
    }
}

#[test]
fn write_clients_vmagent_remote_write_stores_the_scraped_values() {
    const JOB: &str = "e2e-vmagent";
    const TENANT: &str = "team-v";
    // vmagent 1.79 (Debian bookworm) speaks only Prometheus remote write 1.0 (snappy); the
    // VictoriaMetrics protocol with fallback arrived in later versions.
    let Some(binary) = external_binary("vmagent", "victoria-metrics") else {
        return;
    };
    let (norn, norn_log) = start_norn(&[], "");
    const SCRAPE: u64 = 5;
    let target = ScrapeTarget::serve(|_| render(&service_families(SCRAPE)));
    let instance = target.address().to_string();
    let config = format!(
        "global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: {JOB}
    static_configs:
      - targets: ['{instance}']
"
    );
    let agent = VmAgent::start(
        &binary,
        &config,
        &format!("http://{}/api/v1/push", norn.address),
        &format!("X-Scope-OrgID:{TENANT}"),
    );
    let expected: BTreeMap<LabelSet, f64> = samples(&service_families(SCRAPE))
        .iter()
        .map(|sample| {
            (
                sample.label_set(&[("job", JOB), ("instance", &instance)]),
                sample.value,
            )
        })
        .collect();
    assert_eq!(expected.len(), 30);

    let mut last_seen = String::new();
    let stored = wait_for_every(ARRIVAL_LIMIT, POLL, || {
        let in_norn = read_job(&norn, &[("X-Scope-OrgID", TENANT)], JOB)?;
        let arrived = expected
            .keys()
            .filter(|labels| {
                in_norn
                    .get(*labels)
                    .is_some_and(|samples| samples.len() >= 2)
            })
            .count();
        last_seen = format!("{arrived} of {} series with 2+ samples", expected.len());
        (arrived == expected.len()).then_some(in_norn)
    })
    .unwrap_or_else(|| {
        panic!(
            "vmagent's samples never all arrived: {last_seen}\n{}\n--- norn ---\n{}",
            agent.output(),
            norn_log.text()
        )
    });

    for (labels, value) in &expected {
        for &(timestamp, stored_value) in &stored[labels] {
            assert!(
                same_value(stored_value, *value),
                "{labels:?} at {timestamp}: stored {stored_value}, exposed {value}"
            );
        }
    }
    // Besides the target's series, only vmagent's own per-scrape series, and `up` is 1.
    for (labels, stored_samples) in &stored {
        if expected.contains_key(labels) {
            continue;
        }
        let name = name_of(labels);
        assert!(
            name == "up" || name.starts_with("scrape_"),
            "unexpected series {labels:?}"
        );
        if name == "up" {
            assert!(stored_samples.iter().all(|&(_, value)| value == 1.0));
        }
    }
    let up = stored
        .keys()
        .filter(|labels| name_of(labels) == "up")
        .count();
    assert_eq!(up, 1, "{:?}", stored.keys().collect::<Vec<_>>());
}

/// The elected replica of (`tenant`, `cluster`) on `/distributor/ha_tracker`, if any.
fn elected_replica(norn: &NornProcess, tenant: &str, cluster: &str) -> Option<String> {
    let response = request(
        norn.address,
        "GET",
        "/distributor/ha_tracker",
        &[("Accept", "application/json")],
        b"",
    )
    .unwrap();
    assert_eq!(response.status, 200, "{}", response.body);
    let page: Value = serde_json::from_str(&response.body).unwrap();
    page["elected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["userID"] == tenant && entry["cluster"] == cluster)
        .map(|entry| entry["replica"].as_str().unwrap().to_owned())
}

/// The value of counter `name` for `tenant` and `cluster` on Norn's `/metrics` (0 if absent).
fn cluster_counter(norn: &NornProcess, name: &str, tenant: &str, cluster: &str) -> f64 {
    let metrics = get(norn.address, "/metrics").unwrap();
    let user = format!("user=\"{tenant}\"");
    let cluster = format!("cluster=\"{cluster}\"");
    metrics
        .body
        .lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .filter(|line| line.contains(&user) && line.contains(&cluster))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The stored `replica_value` samples, after checking every stored series carries
/// `cluster="c1"`, no `__replica__`, and that `replica_value` is a single series.
fn replica_values(norn: &NornProcess, job: &str) -> Option<Vec<(i64, f64)>> {
    let stored = read_job(norn, &[], job)?;
    for labels in stored.keys() {
        assert_eq!(
            labels.get("cluster").map(String::as_str),
            Some("c1"),
            "{labels:?}"
        );
        assert!(!labels.contains_key("__replica__"), "{labels:?}");
    }
    let mut replica_series = stored
        .into_iter()
        .filter(|(labels, _)| name_of(labels) == "replica_value");
    let (labels, samples) = replica_series.next()?;
    assert!(
        replica_series.next().is_none(),
        "replica_value stored as more than one series"
    );
    let expected: LabelSet = [
        ("__name__", "replica_value"),
        ("cluster", "c1"),
        ("instance", "ha-target"),
        ("job", job),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    assert_eq!(labels, expected);
    Some(samples)
}

#[test]
fn write_clients_ha_pair_is_deduplicated_and_fails_over() {
    const JOB: &str = "e2e-ha";
    // Multitenancy is off (see the module comment): every push belongs to this tenant.
    const TENANT: &str = "anonymous";
    let Some(binary) = external_binary("prometheus", "prometheus") else {
        return;
    };
    // Failover after 5s of silence: the elected replica's last-seen time is refreshed at most
    // every update timeout (1s), so with Prometheus pushing about every second, 5s leaves room
    // for a slow push on a busy machine without a spurious failover.
    let (norn, norn_log) = start_norn(
        &[
            "-auth.multitenancy-enabled=false",
            "-distributor.ha-tracker.enable=true",
            "-distributor.ha-tracker.enable-for-all-users=true",
            "-distributor.ha-tracker.update-timeout=1s",
            "-distributor.ha-tracker.update-timeout-jitter-max=0s",
            "-distributor.ha-tracker.failover-timeout=5s",
        ],
        "",
    );
    let target_of = |value: f64| {
        ScrapeTarget::serve(move |_| {
            render(&[Family {
                name: "replica_value",
                kind: Kind::Gauge,
                help: "Which replica scraped this (1 or 2).",
                samples: vec![Sample::new("replica_value", &[], value)],
            }])
        })
    };
    let targets = [target_of(1.0), target_of(2.0)];
    // Both replicas store the same series: the instance label is rewritten to one value.
    let relabel = "    relabel_configs:
      - target_label: instance
        replacement: ha-target
";
    let mut replicas: Vec<Prometheus> = ["r1", "r2"]
        .iter()
        .zip(&targets)
        .map(|(replica, target)| {
            let global =
                format!("  external_labels:\n    cluster: c1\n    __replica__: {replica}\n");
            let config = prometheus_config(JOB, target, &norn, TENANT, [&global, relabel, ""]);
            Prometheus::start(&binary, &format!("prometheus-{replica}"), &config)
        })
        .collect();
    let diagnostics = |replicas: &[Prometheus]| {
        let mut text = String::new();
        for replica in replicas {
            text.push_str(&replica.output());
            text.push('\n');
        }
        text.push_str("--- norn ---\n");
        text.push_str(&norn_log.text());
        text
    };

    // Phase 1: one replica is elected and only its samples are stored.
    let first = wait_for_every(ARRIVAL_LIMIT, POLL, || {
        replica_values(&norn, JOB).filter(|samples| samples.len() >= 3)
    })
    .unwrap_or_else(|| panic!("replica_value never arrived\n{}", diagnostics(&replicas)));
    let elected_value = first[0].1;
    assert!(elected_value == 1.0 || elected_value == 2.0, "{first:?}");
    assert!(
        first.iter().all(|&(_, value)| value == elected_value),
        "samples of both replicas stored: {first:?}"
    );
    let (elected, other, other_value) = if elected_value == 1.0 {
        ("r1", "r2", 2.0)
    } else {
        ("r2", "r1", 1.0)
    };
    assert_eq!(
        elected_replica(&norn, TENANT, "c1").as_deref(),
        Some(elected)
    );
    // The other replica keeps pushing and is answered as a duplicate (202), counted per cluster.
    let deduped = wait_for_every(ARRIVAL_LIMIT, POLL, || {
        let deduped = cluster_counter(
            &norn,
            "cortex_distributor_deduped_samples_total",
            TENANT,
            "c1",
        );
        (deduped > 0.0).then_some(deduped)
    });
    assert!(
        deduped.is_some(),
        "no deduplicated samples counted\n{}",
        diagnostics(&replicas)
    );

    // Phase 2: the elected replica dies; the other one takes over after the failover timeout.
    replicas[if elected == "r1" { 0 } else { 1 }].kill();
    let after = wait_for_every(ARRIVAL_LIMIT, POLL, || {
        replica_values(&norn, JOB)
            .filter(|samples| samples.iter().any(|&(_, value)| value == other_value))
    })
    .unwrap_or_else(|| {
        panic!(
            "no failover to {other} after killing {elected}\n{}",
            diagnostics(&replicas)
        )
    });
    assert!(
        after
            .iter()
            .all(|&(_, value)| value == elected_value || value == other_value),
        "{after:?}"
    );
    assert_eq!(elected_replica(&norn, TENANT, "c1").as_deref(), Some(other));
    let changes = cluster_counter(
        &norn,
        "cortex_ha_tracker_elected_replica_changes_total",
        TENANT,
        "c1",
    );
    assert!(changes >= 1.0, "elected replica changes: {changes}");
}
