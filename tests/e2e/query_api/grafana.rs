//! The requests Grafana's Prometheus data source sends (`packages/grafana-prometheus`,
//! `pkg/promlib`), in its order, each answer checked.

use norn_e2e::remote::{Series, snappy, with_metadata_v1, write_request_v1};
use norn_proto::prometheus::metric_metadata::MetricType;
use serde_json::json;

use super::{Node, encode, recent_samples, vector};

const TENANT: &str = "grafana";

#[test]
fn grafana_data_source_sequence() {
    let node = Node::start(|_| {});
    let (now, ups) = recent_samples(10, |_| 1.0);
    let (_, downs) = recent_samples(10, |_| 0.0);
    let (_, requests) = recent_samples(10, |i| (i * 15) as f64);
    let series = [
        Series::new(
            &[("__name__", "up"), ("job", "api"), ("instance", "a:9090")],
            &ups,
        ),
        Series::new(
            &[("__name__", "up"), ("job", "db"), ("instance", "b:9090")],
            &downs,
        ),
        Series::new(
            &[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("method", "GET"),
            ],
            &requests,
        ),
    ];
    let body = with_metadata_v1(
        &write_request_v1(&series),
        &[
            (
                "http_requests_total",
                MetricType::Counter,
                "Requests served.",
                "",
            ),
            ("up", MetricType::Gauge, "Whether the target is up.", ""),
        ],
    );
    let pushed = norn_e2e::remote::push_v1(node.address, Some(TENANT), &snappy(&body));
    assert_eq!(pushed.status, 200, "{}", pushed.body);
    let start = now - 600;
    let range = format!("start={start}&end={now}");

    // Save & test: `1+1` at time=4, then buildinfo (no tenant needed for the latter).
    let health = node.post_form(TENANT, "/api/v1/query", "query=1%2B1&time=4");
    assert_eq!(
        health.data(),
        &json!({"resultType": "scalar", "result": [4, "2"]})
    );
    let build = node.get(None, "/api/v1/status/buildinfo");
    let info = build.data();
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(info["features"].as_object().is_some_and(|f| !f.is_empty()));

    // On load: the exemplar probe.
    let exemplars = node.get(Some(TENANT), "/api/v1/query_exemplars?query=test");
    assert_eq!(exemplars.data(), &json!([]));

    // Metrics browser and autocomplete.
    let labels = node.get(Some(TENANT), &format!("/api/v1/labels?{range}"));
    assert_eq!(
        labels.data(),
        &json!(["__name__", "instance", "job", "method"])
    );
    let metric_names = node.get(
        Some(TENANT),
        &format!(
            "/api/v1/label/__name__/values?match[]={}&{range}",
            encode("{job=\"api\"}")
        ),
    );
    assert_eq!(metric_names.data(), &json!(["http_requests_total", "up"]));
    let jobs = node.get(
        Some(TENANT),
        &format!("/api/v1/label/job/values?match[]=up&{range}"),
    );
    assert_eq!(jobs.data(), &json!(["api", "db"]));
    let found = node.get(
        Some(TENANT),
        &format!("/api/v1/series?match[]=up&{range}&limit=40000"),
    );
    assert_eq!(
        found.data(),
        &json!([
            {"__name__": "up", "instance": "a:9090", "job": "api"},
            {"__name__": "up", "instance": "b:9090", "job": "db"},
        ])
    );

    // A panel: range query by POST form.
    let panel = node.post_form(
        TENANT,
        "/api/v1/query_range",
        &format!(
            "query={}&start={}&end={now}&step=30",
            encode("sum by (job) (rate(http_requests_total[1m]))"),
            now - 300
        ),
    );
    let data = panel.data();
    assert_eq!(data["resultType"], "matrix", "{data}");
    let result = data["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{data}");
    assert_eq!(result[0]["metric"], json!({"job": "api"}));
    let values = result[0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 11, "{data}");
    assert_eq!(values[0][0], json!(now - 300));
    for point in values {
        let rate: f64 = point[1].as_str().unwrap().parse().unwrap();
        assert!((0.9..=1.1).contains(&rate), "rate {rate} in {data}");
    }

    // Metadata (the metrics browser's help texts).
    let metadata = node.get(Some(TENANT), "/api/v1/metadata");
    assert_eq!(
        metadata.data(),
        &json!({
            "http_requests_total": [{"type": "counter", "help": "Requests served.", "unit": ""}],
            "up": [{"type": "gauge", "help": "Whether the target is up.", "unit": ""}],
        })
    );

    // An instant query (table panel), POST form with an RFC 3339 time.
    let instant = node.post_form(TENANT, "/api/v1/query", &format!("query=up&time={now}"));
    assert_eq!(
        vector(instant.data()),
        [
            (
                json!({"__name__": "up", "instance": "a:9090", "job": "api"}),
                json!([now, "1"])
            ),
            (
                json!({"__name__": "up", "instance": "b:9090", "job": "db"}),
                json!([now, "0"])
            ),
        ]
    );

    // Errors Grafana shows to the user.
    node.post_form(TENANT, "/api/v1/query", "query=sum(")
        .assert_error(400, "bad_data", "invalid parameter \"query\"");
    let missing = node.get(None, "/api/v1/query?query=up");
    assert_eq!(missing.response.status, 401);
    assert_eq!(missing.response.body.trim(), "no org id");
}
