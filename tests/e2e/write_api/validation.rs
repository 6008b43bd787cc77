//! Series, sample and metadata validation: each rule refuses only what breaks it (400 with
//! its error ID and, for limits, the flag), and the valid rest of the request is stored.

use norn_e2e::metric_value;
use norn_e2e::remote::{Series, push_series, push_v1, snappy, with_metadata_v1, write_request_v1};
use norn_proto::prometheus::metric_metadata::MetricType;

use super::{HOUR_MS, MINUTE_MS, Node, assert_refused, normalized, refusal_problem, valid_pair};

/// The rule cases of the validation test: tenant, invalid series, error ID, flag, discard
/// reason.
struct RuleCase {
    tenant: &'static str,
    invalid: Series,
    id: &'static str,
    flag: Option<&'static str>,
    reason: &'static str,
}

fn rule_cases(now: i64) -> Vec<RuleCase> {
    let t0 = now - MINUTE_MS;
    let long_name = "a_label_name_of_31_bytes_length";
    let long_value = "v".repeat(31);
    vec![
        RuleCase {
            tenant: "missing-name",
            invalid: Series::new(&[("job", "bad")], &[(t0, 9.0)]),
            id: "missing-metric-name",
            flag: None,
            reason: "missing_metric_name",
        },
        RuleCase {
            tenant: "legacy-metric",
            invalid: Series::new(
                &[("__name__", "http.requests"), ("job", "bad")],
                &[(t0, 9.0)],
            ),
            id: "metric-name-invalid",
            flag: None,
            reason: "metric_name_invalid",
        },
        RuleCase {
            tenant: "legacy-label",
            invalid: Series::new(
                &[("__name__", "up"), ("job", "bad"), ("service.name", "api")],
                &[(t0, 9.0)],
            ),
            id: "label-invalid",
            flag: None,
            reason: "label_invalid",
        },
        RuleCase {
            tenant: "many-labels",
            invalid: Series::new(
                &[
                    ("__name__", "up"),
                    ("job", "bad"),
                    ("a", "1"),
                    ("b", "2"),
                    ("c", "3"),
                    ("d", "4"),
                ],
                &[(t0, 9.0)],
            ),
            id: "max-label-names-per-series",
            flag: Some("validation.max-label-names-per-series"),
            reason: "max_label_names_per_series",
        },
        RuleCase {
            tenant: "long-name",
            invalid: Series::new(
                &[("__name__", "up"), ("job", "bad"), (long_name, "x")],
                &[(t0, 9.0)],
            ),
            id: "label-name-too-long",
            flag: Some("validation.max-length-label-name"),
            reason: "label_name_too_long",
        },
        RuleCase {
            tenant: "long-value",
            invalid: Series::new(
                &[("__name__", "up"), ("job", "bad"), ("path", &long_value)],
                &[(t0, 9.0)],
            ),
            id: "label-value-too-long",
            flag: Some("validation.max-length-label-value"),
            reason: "label_value_too_long",
        },
        RuleCase {
            tenant: "duplicate-label",
            invalid: Series::new(
                &[("__name__", "up"), ("job", "bad"), ("job", "bad-again")],
                &[(t0, 9.0)],
            ),
            id: "duplicate-label-names",
            flag: None,
            reason: "duplicate_label_names",
        },
        RuleCase {
            tenant: "duplicate-unsorted",
            invalid: Series::new(
                &[
                    ("job", "bad"),
                    ("__name__", "up"),
                    ("zone", "z"),
                    ("job", "bad-again"),
                ],
                &[(t0, 9.0)],
            ),
            id: "duplicate-label-names",
            flag: None,
            reason: "duplicate_label_names",
        },
        RuleCase {
            tenant: "future",
            invalid: Series::new(
                &[("__name__", "up"), ("job", "bad")],
                &[(now + HOUR_MS, 9.0)],
            ),
            id: "too-far-in-future",
            flag: Some("validation.create-grace-period"),
            reason: "too_far_in_future",
        },
        RuleCase {
            tenant: "past",
            invalid: Series::new(
                &[("__name__", "up"), ("job", "bad")],
                &[(now - 2 * HOUR_MS, 9.0)],
            ),
            id: "too-far-in-past",
            flag: Some("validation.past-grace-period"),
            reason: "too_far_in_past",
        },
    ]
}

/// Limits small enough to hit with a handful of bytes, and a `legacy` name scheme for the
/// tenants whose names start with `legacy`.
fn validation_node() -> Node {
    Node::start(|config, dir| {
        config.limits.max_label_names_per_series = 5;
        config.limits.max_label_name_length = 20;
        config.limits.max_label_value_length = 30;
        config.limits.max_metadata_length = 20;
        config.limits.past_grace_period = norn_common::Duration::from_secs(3600);
        let runtime = dir.join("runtime.yaml");
        std::fs::write(
            &runtime,
            "overrides:\n  legacy-metric:\n    name_validation_scheme: legacy\n  legacy-label:\n    name_validation_scheme: legacy\n",
        )
        .unwrap();
        config.runtime_config.file = runtime.display().to_string();
    })
}

#[test]
fn each_validation_rule_refuses_only_the_invalid_series() {
    let node = validation_node();
    let now = norn_e2e::remote::now_ms();
    let cases = rule_cases(now);
    let mut failures = Vec::new();
    for case in &cases {
        let [good_a, good_b] = valid_pair(now - MINUTE_MS);
        let body = [good_a.clone(), case.invalid.clone(), good_b.clone()];
        let response = push_series(node.address, Some(case.tenant), &body);
        if let Some(problem) = refusal_problem(&response, 400, case.id, case.flag) {
            failures.push(format!("{}: {problem}", case.tenant));
        }
        let stored = node.stored(case.tenant);
        let expected = normalized(vec![good_a, good_b]);
        if stored != expected {
            failures.push(format!(
                "{}: stored {stored:?}, expected only the valid series",
                case.tenant
            ));
        }
    }
    let metrics = node.metrics();
    for case in &cases {
        let discarded = metric_value(
            &metrics,
            "cortex_discarded_samples_total",
            &[("reason", case.reason), ("user", case.tenant)],
        );
        if discarded != Some(1.0) {
            failures.push(format!(
                "{}: cortex_discarded_samples_total{{reason={:?}}} is {discarded:?}, expected 1",
                case.tenant, case.reason
            ));
        }
        let received = metric_value(
            &metrics,
            "cortex_distributor_received_samples_total",
            &[("user", case.tenant)],
        );
        if received != Some(3.0) {
            failures.push(format!(
                "{}: cortex_distributor_received_samples_total is {received:?}, expected 3",
                case.tenant
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A label value that is not UTF-8 costs its series only: Mimir decodes label strings without
/// checking them and refuses the series in validation (`pkg/distributor/validate.go`,
/// `label-value-invalid`), storing the rest of the request.
#[test]
fn a_label_value_that_is_not_utf8_refuses_only_its_series() {
    let node = validation_node();
    let now = norn_e2e::remote::now_ms();
    let [good_a, good_b] = valid_pair(now - MINUTE_MS);
    const PLACEHOLDER: &str = "value-to-corrupt";
    let invalid = Series::new(
        &[("__name__", "up"), ("job", "bad"), ("path", PLACEHOLDER)],
        &[(now - MINUTE_MS, 9.0)],
    );
    let mut body = write_request_v1(&[good_a.clone(), invalid, good_b.clone()]);
    let at = body
        .windows(PLACEHOLDER.len())
        .position(|window| window == PLACEHOLDER.as_bytes())
        .unwrap();
    body[at + 2] = 0xff;
    let response = push_v1(node.address, Some("bad-utf8"), &snappy(&body));
    assert_refused(&response, 400, "label-value-invalid", None);
    assert_eq!(node.stored("bad-utf8"), normalized(vec![good_a, good_b]));
}

#[test]
fn utf8_names_are_accepted_by_default_and_refused_under_legacy() {
    let node = validation_node();
    let now = norn_e2e::remote::now_ms();
    let dotted = Series::new(
        &[
            ("__name__", "http.requests"),
            ("job", "dotted"),
            ("service.name", "api"),
        ],
        &[(now - MINUTE_MS, 5.0)],
    );
    let [good_a, good_b] = valid_pair(now - MINUTE_MS);
    let body = [good_a.clone(), dotted.clone(), good_b.clone()];

    let accepted = push_series(node.address, Some("utf8-names"), &body);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(node.stored("utf8-names"), normalized(body.to_vec()));

    let refused = push_series(node.address, Some("legacy-metric"), &body);
    assert_refused(&refused, 400, "metric-name-invalid", None);
    assert!(refused.body.contains("http.requests"), "{}", refused.body);
    assert_eq!(
        node.stored("legacy-metric"),
        normalized(vec![good_a, good_b])
    );
}

#[test]
fn empty_label_values_are_ignored_and_labels_need_no_order() {
    let node = validation_node();
    let now = norn_e2e::remote::now_ms();
    // Five labels with a value (the limit) plus two empty ones, in no particular order.
    let sent = Series::new(
        &[
            ("zone", "eu"),
            ("env", ""),
            ("job", "loose"),
            ("__name__", "up"),
            ("team", ""),
            ("instance", "h:1"),
            ("app", "web"),
        ],
        &[(now - MINUTE_MS, 1.0)],
    );
    let response = push_series(node.address, Some("loose"), &[sent]);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        node.stored("loose"),
        normalized(vec![Series::new(
            &[
                ("__name__", "up"),
                ("app", "web"),
                ("instance", "h:1"),
                ("job", "loose"),
                ("zone", "eu"),
            ],
            &[(now - MINUTE_MS, 1.0)],
        )])
    );
}

#[test]
fn samples_outside_the_grace_periods_are_dropped_one_by_one() {
    let node = validation_node();
    let now = norn_e2e::remote::now_ms();
    let mixed = Series::new(
        &[("__name__", "up"), ("job", "mixed")],
        &[
            (now - 2 * HOUR_MS, 1.0),
            (now - MINUTE_MS, 2.0),
            (now + HOUR_MS, 3.0),
        ],
    );
    let response = push_series(node.address, Some("grace"), &[mixed]);
    // The first error in the request is reported.
    assert_refused(
        &response,
        400,
        "too-far-in-past",
        Some("validation.past-grace-period"),
    );
    assert_eq!(
        node.stored("grace"),
        vec![Series::new(
            &[("__name__", "up"), ("job", "mixed")],
            &[(now - MINUTE_MS, 2.0)]
        )]
    );
    let metrics = node.metrics();
    for reason in ["too_far_in_past", "too_far_in_future"] {
        assert_eq!(
            metric_value(
                &metrics,
                "cortex_discarded_samples_total",
                &[("reason", reason), ("user", "grace")]
            ),
            Some(1.0),
            "{reason}"
        );
    }
}

#[test]
fn invalid_metadata_is_refused_and_the_series_are_stored() {
    let node = validation_node();
    let now = norn_e2e::remote::now_ms();
    let cases = [
        (
            "metadata-no-name",
            ("", MetricType::Counter, "requests served", ""),
            "metadata-missing-metric-name",
            None,
            "missing_metric_name",
        ),
        (
            "metadata-long-unit",
            (
                "requests",
                MetricType::Counter,
                "requests served",
                "a_unit_longer_than_twenty_bytes",
            ),
            "unit-too-long",
            Some("validation.max-metadata-length"),
            "unit_too_long",
        ),
        (
            "metadata-long-name",
            (
                "a_metric_family_name_longer_than_twenty_bytes",
                MetricType::Gauge,
                "",
                "",
            ),
            "metric-name-too-long",
            Some("validation.max-metadata-length"),
            "metric_name_too_long",
        ),
    ];
    let mut failures = Vec::new();
    for (tenant, invalid, id, flag, _) in &cases {
        let series = valid_pair(now - MINUTE_MS);
        let body = with_metadata_v1(
            &write_request_v1(&series),
            &[
                ("up", MetricType::Gauge, "whether the target is up", ""),
                *invalid,
            ],
        );
        let response = push_v1(node.address, Some(tenant), &snappy(&body));
        if let Some(problem) = refusal_problem(&response, 400, id, *flag) {
            failures.push(format!("{tenant}: {problem}"));
        }
        let stored = node.stored(tenant);
        if stored != normalized(series.to_vec()) {
            failures.push(format!("{tenant}: stored {stored:?}"));
        }
    }
    let metrics = node.metrics();
    for (tenant, _, _, _, reason) in &cases {
        let received = metric_value(
            &metrics,
            "cortex_distributor_received_metadata_total",
            &[("user", tenant)],
        );
        let discarded = metric_value(
            &metrics,
            "cortex_discarded_metadata_total",
            &[("reason", reason), ("user", tenant)],
        );
        if (received, discarded) != (Some(1.0), Some(1.0)) {
            failures.push(format!(
                "{tenant}: received metadata {received:?}, discarded ({reason}) {discarded:?}; expected 1 and 1"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
