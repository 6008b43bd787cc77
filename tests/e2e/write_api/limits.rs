//! Per-tenant limits enforced on the write path: series and metadata limits in the ingester,
//! out-of-order and duplicate samples, and the ingestion and request rate limits with their
//! runtime overrides.

use std::time::Duration;

use norn_e2e::remote::{Series, push_series, push_v1, snappy, with_metadata_v1, write_request_v1};
use norn_e2e::{Response, metric_value, request, wait_for};
use norn_proto::prometheus::metric_metadata::MetricType;

use super::{HOUR_MS, MINUTE_MS, Node, assert_refused, header_number, normalized, valid_pair};

#[test]
fn series_limits_refuse_new_series_but_not_existing_ones() {
    let node = Node::start(|config, dir| {
        config.limits.max_global_series_per_user = 3;
        let runtime = dir.join("runtime.yaml");
        std::fs::write(
            &runtime,
            "overrides:\n  per-metric:\n    max_global_series_per_user: 0\n    max_global_series_per_metric: 2\n",
        )
        .unwrap();
        config.runtime_config.file = runtime.display().to_string();
    });
    let now = norn_e2e::remote::now_ms();
    let (t0, t1, t2) = (now - 3 * MINUTE_MS, now - 2 * MINUTE_MS, now - MINUTE_MS);
    let metric = |name: &str, samples: &[(i64, f64)]| {
        Series::new(&[("__name__", name), ("job", "limits")], samples)
    };

    // Per user: three series fit, a fourth does not; the first three keep taking samples.
    let first = [
        metric("m1", &[(t0, 1.0)]),
        metric("m2", &[(t0, 2.0)]),
        metric("m3", &[(t0, 3.0)]),
    ];
    let response = push_series(node.address, Some("per-user"), &first);
    assert_eq!(response.status, 200, "{}", response.body);
    let response = push_series(
        node.address,
        Some("per-user"),
        &[metric("m1", &[(t1, 11.0)]), metric("m4", &[(t1, 4.0)])],
    );
    assert_refused(
        &response,
        400,
        "max-series-per-user",
        Some("ingester.max-global-series-per-user"),
    );
    let response = push_series(
        node.address,
        Some("per-user"),
        &[metric("m2", &[(t2, 22.0)])],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        node.stored("per-user"),
        normalized(vec![
            metric("m1", &[(t0, 1.0), (t1, 11.0)]),
            metric("m2", &[(t0, 2.0), (t2, 22.0)]),
            metric("m3", &[(t0, 3.0)]),
        ])
    );

    // Per metric: two series of `requests`, a third is refused, other metrics still grow.
    let requests = |path: &str, samples: &[(i64, f64)]| {
        Series::new(
            &[("__name__", "requests"), ("job", "limits"), ("path", path)],
            samples,
        )
    };
    let response = push_series(
        node.address,
        Some("per-metric"),
        &[requests("/a", &[(t0, 1.0)]), requests("/b", &[(t0, 2.0)])],
    );
    assert_eq!(response.status, 200, "{}", response.body);
    let response = push_series(
        node.address,
        Some("per-metric"),
        &[
            requests("/a", &[(t1, 10.0)]),
            requests("/c", &[(t1, 3.0)]),
            metric("errors", &[(t1, 4.0)]),
        ],
    );
    assert_refused(
        &response,
        400,
        "max-series-per-metric",
        Some("ingester.max-global-series-per-metric"),
    );
    assert_eq!(
        node.stored("per-metric"),
        normalized(vec![
            requests("/a", &[(t0, 1.0), (t1, 10.0)]),
            requests("/b", &[(t0, 2.0)]),
            metric("errors", &[(t1, 4.0)]),
        ])
    );
    let metrics = node.metrics();
    for (tenant, reason) in [
        ("per-user", "per_user_series_limit"),
        ("per-metric", "per_metric_series_limit"),
    ] {
        assert_eq!(
            metric_value(
                &metrics,
                "cortex_discarded_samples_total",
                &[("reason", reason), ("user", tenant)]
            ),
            Some(1.0),
            "{tenant}"
        );
    }
}

/// Mimir's ingester takes metadata on a best-effort basis (`pkg/ingester/ingester.go`,
/// `pushMetadata`: "If we have any error with regard to metadata we just log and no-op"): an
/// entry over `max_global_metadata_per_user` / `_per_metric` is dropped and counted in
/// `cortex_discarded_metadata_total`, and the push still succeeds. A 400 would make
/// Prometheus count the whole batch as failed although its samples were stored.
#[test]
fn metadata_limits_drop_entries_without_failing_the_push() {
    let node = Node::start(|config, dir| {
        config.limits.max_global_metadata_per_user = 1;
        let runtime = dir.join("runtime.yaml");
        std::fs::write(
            &runtime,
            "overrides:\n  metadata-per-metric:\n    max_global_metadata_per_user: 0\n    max_global_metadata_per_metric: 1\n",
        )
        .unwrap();
        config.runtime_config.file = runtime.display().to_string();
    });
    let now = norn_e2e::remote::now_ms();
    let series = valid_pair(now - MINUTE_MS);
    let cases = [
        (
            "metadata-per-user",
            [
                ("up", MetricType::Gauge, "whether the target is up", ""),
                ("requests", MetricType::Counter, "requests served", ""),
            ],
            "per_user_metadata_limit",
        ),
        (
            "metadata-per-metric",
            [
                ("up", MetricType::Gauge, "whether the target is up", ""),
                ("up", MetricType::Gauge, "a second help text for up", ""),
            ],
            "per_metric_metadata_limit",
        ),
    ];
    let mut failures = Vec::new();
    for (tenant, metadata, _) in &cases {
        let body = with_metadata_v1(&write_request_v1(&series), metadata);
        let response = push_v1(node.address, Some(tenant), &snappy(&body));
        if response.status != 200 {
            failures.push(format!(
                "{tenant}: {} {} (expected 200: metadata limits are best-effort)",
                response.status,
                response.body.trim()
            ));
        }
        let stored = node.stored(tenant);
        if stored != normalized(series.to_vec()) {
            failures.push(format!("{tenant}: stored {stored:?}"));
        }
    }
    let metrics = node.metrics();
    for (tenant, _, reason) in &cases {
        let discarded = metric_value(
            &metrics,
            "cortex_discarded_metadata_total",
            &[("reason", reason), ("user", tenant)],
        );
        if discarded != Some(1.0) {
            failures.push(format!(
                "{tenant}: cortex_discarded_metadata_total{{reason={reason:?}}} is {discarded:?}, expected 1"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn out_of_order_and_duplicate_samples_are_refused_alone() {
    let node = Node::start(|_, _| {});
    let now = norn_e2e::remote::now_ms();
    let (t0, t1) = (now - 2 * MINUTE_MS, now - MINUTE_MS);
    let series = |job: &str, samples: &[(i64, f64)]| {
        Series::new(&[("__name__", "up"), ("job", job)], samples)
    };
    let response = push_series(node.address, Some("order"), &[series("s1", &[(t1, 1.0)])]);
    assert_eq!(response.status, 200, "{}", response.body);

    let response = push_series(
        node.address,
        Some("order"),
        &[series("s1", &[(t0, 0.5)]), series("s2", &[(t0, 2.0)])],
    );
    assert_refused(&response, 400, "sample-out-of-order", None);

    let response = push_series(
        node.address,
        Some("order"),
        &[series("s1", &[(t1, 99.0)]), series("s3", &[(t1, 3.0)])],
    );
    assert_refused(&response, 400, "sample-duplicate-timestamp", None);

    // The same sample again (same timestamp, same value) is not an error.
    let response = push_series(node.address, Some("order"), &[series("s1", &[(t1, 1.0)])]);
    assert_eq!(response.status, 200, "{}", response.body);

    // Older than the head accepts (no past grace period configured): the TSDB refuses it.
    let response = push_series(
        node.address,
        Some("order"),
        &[series("s4", &[(now - 3 * HOUR_MS + MINUTE_MS, 4.0)])],
    );
    assert_refused(&response, 400, "sample-timestamp-too-old", None);

    assert_eq!(
        node.stored("order"),
        normalized(vec![
            series("s1", &[(t1, 1.0)]),
            series("s2", &[(t0, 2.0)]),
            series("s3", &[(t1, 3.0)]),
        ])
    );
    let metrics = node.metrics();
    for reason in [
        "sample-out-of-order",
        "new-value-for-timestamp",
        "sample-out-of-bounds",
    ] {
        assert_eq!(
            metric_value(
                &metrics,
                "cortex_discarded_samples_total",
                &[("reason", reason), ("user", "order")]
            ),
            Some(1.0),
            "{reason}"
        );
    }
}

/// `count` samples spread over four series of job `job`, all within the last minutes.
fn batch(job: &str, count: usize, now: i64) -> Vec<Series> {
    let per_series = count / 4;
    (0..4)
        .map(|index| {
            let samples: Vec<(i64, f64)> = (0..per_series)
                .map(|sample| (now - 5 * MINUTE_MS + sample as i64 * 1000, sample as f64))
                .collect();
            Series::new(
                &[
                    ("__name__", "batch"),
                    ("job", job),
                    ("part", &index.to_string()),
                ],
                &samples,
            )
        })
        .collect()
}

const RATE_OVERRIDES: &str = "overrides:
  slow:
    ingestion_rate: 0.01
    ingestion_burst_size: 10
  slow-2:
    ingestion_rate: 0.01
    ingestion_burst_size: 10
  few-requests:
    request_rate: 0.01
    request_burst_size: 2
";

#[track_caller]
fn assert_retry_after(response: &Response) {
    let seconds = header_number(response, "retry-after");
    assert!(
        seconds.is_some_and(|seconds| (6..=96).contains(&seconds)),
        "Retry-After {:?} not between 6 and 96",
        response.header("retry-after")
    );
}

#[test]
fn rate_limits_refuse_whole_requests_and_follow_runtime_overrides() {
    let mut runtime_file = None;
    let node = Node::start(|config, dir| {
        let path = dir.join("runtime.yaml");
        std::fs::write(&path, RATE_OVERRIDES).unwrap();
        config.runtime_config.file = path.display().to_string();
        config.runtime_config.period = norn_common::Duration::from_millis(50);
        runtime_file = Some(path);
    });
    let runtime_file = runtime_file.unwrap();
    let now = norn_e2e::remote::now_ms();

    // Ingestion rate: 20 samples are more than the burst of 10; nothing of them is stored.
    let twenty = batch("twenty", 20, now);
    let refused = push_series(node.address, Some("slow"), &twenty);
    assert_refused(
        &refused,
        429,
        "tenant-max-ingestion-rate",
        Some("distributor.ingestion-rate-limit"),
    );
    assert!(
        refused.body.contains("-distributor.ingestion-burst-size"),
        "{}",
        refused.body
    );
    assert_retry_after(&refused);
    let retried = request(
        node.address,
        "POST",
        "/api/v1/push",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Scope-OrgID", "slow"),
            ("Retry-Attempt", "5"),
        ],
        &snappy(&write_request_v1(&twenty)),
    )
    .unwrap();
    assert_eq!(retried.status, 429, "{}", retried.body);
    assert_retry_after(&retried);
    assert_eq!(node.stored("slow"), Vec::<Series>::new());
    // Within the burst it passes.
    let eight = batch("eight", 8, now);
    let accepted = push_series(node.address, Some("slow"), &eight);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(node.stored("slow"), normalized(eight.clone()));
    // Other tenants have the default limits.
    let accepted = push_series(node.address, Some("fast"), &twenty);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let refused = push_series(node.address, Some("slow-2"), &twenty);
    assert_refused(&refused, 429, "tenant-max-ingestion-rate", None);

    // Request rate: a burst of two requests, the third is refused whatever its size.
    for index in 0..2 {
        let one = batch(&format!("request-{index}"), 4, now);
        let accepted = push_series(node.address, Some("few-requests"), &one);
        assert_eq!(accepted.status, 200, "request {index}: {}", accepted.body);
    }
    let refused = push_series(
        node.address,
        Some("few-requests"),
        &batch("request-2", 4, now),
    );
    assert_refused(
        &refused,
        429,
        "tenant-max-request-rate",
        Some("distributor.request-rate-limit"),
    );
    assert_retry_after(&refused);
    let jobs: Vec<String> = node
        .stored("few-requests")
        .iter()
        .filter_map(|series| series.label("job").map(str::to_owned))
        .collect();
    assert!(!jobs.iter().any(|job| job == "request-2"), "{jobs:?}");

    // Raise one tenant's limits at runtime; the other keeps its own.
    assert!(
        node.user_limits("slow")
            .contains("\"ingestion_burst_size\":10,")
    );
    std::fs::write(
        &runtime_file,
        RATE_OVERRIDES.replacen(
            "ingestion_rate: 0.01\n    ingestion_burst_size: 10\n",
            "ingestion_rate: 10000\n    ingestion_burst_size: 1000\n",
            1,
        ),
    )
    .unwrap();
    let reloaded = wait_for(Duration::from_secs(10), || {
        node.user_limits("slow")
            .contains("\"ingestion_burst_size\":1000,")
            .then_some(())
    });
    assert!(
        reloaded.is_some(),
        "override not reloaded: {}",
        node.user_limits("slow")
    );
    assert!(
        node.user_limits("slow-2")
            .contains("\"ingestion_burst_size\":10,")
    );
    // The bucket refills at the new rate; refused pushes store nothing, so retrying is safe.
    let passed = wait_for(Duration::from_secs(10), || {
        let response = push_series(node.address, Some("slow"), &twenty);
        (response.status == 200).then_some(response)
    });
    assert!(
        passed.is_some(),
        "the raised limit never let the push through"
    );
    let mut expected = eight;
    expected.extend(twenty.iter().cloned());
    assert_eq!(node.stored("slow"), normalized(expected));
    let refused = push_series(node.address, Some("slow-2"), &twenty);
    assert_refused(&refused, 429, "tenant-max-ingestion-rate", None);
    assert_eq!(node.stored("slow-2"), Vec::<Series>::new());

    // Refused samples are counted as discarded, per tenant, and never as received.
    let metrics = node.metrics();
    for (tenant, discarded) in [("slow-2", 40.0), ("few-requests", 4.0)] {
        assert_eq!(
            metric_value(
                &metrics,
                "cortex_discarded_samples_total",
                &[("reason", "rate_limited"), ("user", tenant)]
            ),
            Some(discarded),
            "{tenant}"
        );
    }
    let received = metric_value(
        &metrics,
        "cortex_distributor_received_samples_total",
        &[("user", "slow-2")],
    );
    assert_eq!(received.unwrap_or(0.0), 0.0, "slow-2 received samples");
}
