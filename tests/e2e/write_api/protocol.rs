//! Protocol details: remote write 2.0's written-count headers and `drop_labels`.

use norn_e2e::Response;
use norn_e2e::remote::{Series, push_raw, push_series, push_series_v2, snappy, write_request_v2};

use super::{MINUTE_MS, Node, assert_refused, header_number, normalized};

#[test]
fn remote_write_2_reports_what_was_written() {
    let node = Node::start(|_, _| {});
    let now = norn_e2e::remote::now_ms();
    let (t0, t1) = (now - 2 * MINUTE_MS, now - MINUTE_MS);
    let series = |job: &str, samples: &[(i64, f64)]| {
        Series::new(&[("__name__", "up"), ("job", job)], samples)
    };
    let written = [
        series("a", &[(t0, 1.0), (t1, 2.0)]),
        series("b", &[(t0, 3.0), (t1, 4.0)]),
        series("c", &[(t1, 5.0)]),
    ];
    let response = push_series_v2(node.address, Some("v2"), &written);
    assert_eq!(response.status, 204, "{}", response.body);
    let counts = |response: &Response| {
        [
            "x-prometheus-remote-write-samples-written",
            "x-prometheus-remote-write-histograms-written",
            "x-prometheus-remote-write-exemplars-written",
        ]
        .map(|name| header_number(response, name))
    };
    assert_eq!(counts(&response), [Some(5), Some(0), Some(0)]);
    assert_eq!(node.stored("v2"), normalized(written.to_vec()));

    // One invalid series: 400, and the count covers only what was stored.
    let valid = [
        series("d", &[(t0, 6.0), (t1, 7.0)]),
        series("e", &[(t1, 8.0)]),
    ];
    let invalid = Series::new(&[("job", "no-name")], &[(t0, 9.0), (t1, 9.0)]);
    let response = push_series_v2(
        node.address,
        Some("v2-invalid"),
        &[valid[0].clone(), invalid, valid[1].clone()],
    );
    assert_refused(&response, 400, "missing-metric-name", None);
    assert_eq!(counts(&response), [Some(3), Some(0), Some(0)]);
    assert_eq!(node.stored("v2-invalid"), normalized(valid.to_vec()));

    // A sample the ingester refuses is not counted either.
    let response = push_series_v2(
        node.address,
        Some("v2"),
        &[series("a", &[(t0 - 1000, 0.0)]), series("f", &[(t1, 10.0)])],
    );
    assert_refused(&response, 400, "sample-out-of-order", None);
    assert_eq!(counts(&response), [Some(1), Some(0), Some(0)]);

    // The content type alone selects 2.0; the version header is informative only.
    let body = snappy(&write_request_v2(&[series("g", &[(t1, 1.0)])]));
    let response = push_raw(
        node.address,
        &[
            (
                "Content-Type",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            ),
            ("Content-Encoding", "snappy"),
            ("X-Scope-OrgID", "v2-raw"),
        ],
        &body,
    );
    assert_eq!(response.status, 204, "{}", response.body);
    assert_eq!(node.stored("v2-raw"), vec![series("g", &[(t1, 1.0)])]);
}

#[test]
fn dropped_labels_are_removed_before_validation_and_storage() {
    let node = Node::start(|config, _| {
        config.limits.drop_labels = vec!["pod_uid".into(), "scrape_shard".into()];
        config.limits.max_label_names_per_series = 3;
    });
    let now = norn_e2e::remote::now_ms();
    let (t0, t1) = (now - 2 * MINUTE_MS, now - MINUTE_MS);
    let with_pod = |pod: &str, sample: (i64, f64)| {
        Series::new(
            &[
                ("__name__", "up"),
                ("job", "drop"),
                ("instance", "host:9100"),
                ("pod_uid", pod),
                ("scrape_shard", "1"),
            ],
            &[sample],
        )
    };
    // Five labels, two dropped: within the limit of three.
    let response = push_series(node.address, Some("drop"), &[with_pod("1234", (t0, 1.0))]);
    assert_eq!(response.status, 200, "{}", response.body);
    // Another pod UID is the same series once the label is gone.
    let response = push_series(node.address, Some("drop"), &[with_pod("5678", (t1, 2.0))]);
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        node.stored("drop"),
        normalized(vec![Series::new(
            &[
                ("__name__", "up"),
                ("job", "drop"),
                ("instance", "host:9100")
            ],
            &[(t0, 1.0), (t1, 2.0)],
        )])
    );
}
