//! What pushes leave behind for operators: metrics, `/distributor/all_user_stats` and the
//! ingester ring page.

use norn_e2e::remote::{Series, push_series};
use norn_e2e::{metric_value, request};

use super::{MINUTE_MS, Node, assert_refused};

#[test]
fn pushes_show_in_metrics_user_stats_and_the_ring() {
    let node = Node::start(|_, _| {});
    let now = norn_e2e::remote::now_ms();
    let (t0, t1) = (now - 2 * MINUTE_MS, now - MINUTE_MS);
    let series = |job: &str, samples: &[(i64, f64)]| {
        Series::new(&[("__name__", "up"), ("job", job)], samples)
    };
    let long_value = "v".repeat(2049);
    let response = push_series(
        node.address,
        Some("observed"),
        &[
            series("a", &[(t0, 1.0), (t1, 2.0)]),
            series("b", &[(t0, 3.0), (t1, 4.0)]),
            Series::new(
                &[("__name__", "up"), ("job", "c"), ("blob", &long_value)],
                &[(t0, 5.0), (t1, 6.0)],
            ),
            series("d", &[(t0, 7.0), (t1, 8.0)]),
        ],
    );
    assert_refused(&response, 400, "label-value-too-long", None);
    let response = push_series(
        node.address,
        Some("observed"),
        &[series("a", &[(t0 - 1, 0.0)])],
    );
    assert_refused(&response, 400, "sample-out-of-order", None);

    let metrics = node.metrics();
    let user = [("user", "observed")];
    for (name, labels, expected) in [
        ("cortex_distributor_received_samples_total", &user[..], 7.0),
        ("cortex_ingester_active_series", &user[..], 3.0),
        (
            "cortex_discarded_samples_total",
            &[("reason", "label_value_too_long"), ("user", "observed")][..],
            2.0,
        ),
        (
            "cortex_discarded_samples_total",
            &[("reason", "sample-out-of-order"), ("user", "observed")][..],
            1.0,
        ),
    ] {
        assert_eq!(
            metric_value(&metrics, name, labels),
            Some(expected),
            "{name}{labels:?}"
        );
    }

    let stats = request(
        node.address,
        "GET",
        "/distributor/all_user_stats",
        &[("Accept", "application/json")],
        b"",
    )
    .unwrap();
    assert_eq!(stats.status, 200, "{}", stats.body);
    let row = stats
        .body
        .split('}')
        .find(|row| row.contains("\"userID\":\"observed\""))
        .unwrap_or_else(|| panic!("tenant missing: {}", stats.body));
    assert!(row.contains("\"numSeries\":3"), "{}", stats.body);

    let ring = request(
        node.address,
        "GET",
        "/ingester/ring",
        &[("Accept", "application/json")],
        b"",
    )
    .unwrap();
    assert_eq!(ring.status, 200, "{}", ring.body);
    assert_eq!(ring.body.matches("\"state\":").count(), 1, "{}", ring.body);
    assert!(ring.body.contains("\"state\":\"ACTIVE\""), "{}", ring.body);
}
