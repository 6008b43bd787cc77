//! Handler tests of every API route, through the router with the tenant resolver installed,
//! over fake ingesters.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use norn_http::TenantResolver;
use norn_http::tenant::ORG_ID_HEADER;
use norn_limits::{Limits, Overrides};
use norn_model::TenantId;
use serde_json::{Value as Json, json};
use tower::ServiceExt;

use super::*;
use crate::testing::{FakeIngester, TestRing, series};

/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000_000;
const T0_SECONDS: &str = "1700000000";
const T0_RFC3339: &str = "2023-11-14T22:13:20Z";
const FORM: &str = "application/x-www-form-urlencoded";

struct Harness {
    _ring: TestRing,
    router: Router,
    api: Arc<QueryApi>,
}

fn every_15s(count: i64, value: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
    (0..count)
        .map(|i| (T0 - (count - 1 - i) * 15_000, value(i)))
        .collect()
}

fn fixture() -> FakeIngester {
    FakeIngester::new()
        .with(
            "team-a",
            vec![
                series(
                    &[("__name__", "up"), ("job", "api"), ("instance", "a")],
                    &every_15s(5, |_| 1.0),
                ),
                series(
                    &[("__name__", "up"), ("job", "db"), ("instance", "b")],
                    &every_15s(5, |_| 0.0),
                ),
                series(
                    &[("__name__", "requests_total"), ("job", "api")],
                    &every_15s(41, |i| (i * 10) as f64),
                ),
                series(&[("__name__", "weird"), ("kind", "nan")], &[(T0, f64::NAN)]),
                series(
                    &[("__name__", "weird"), ("kind", "inf")],
                    &[(T0, f64::INFINITY)],
                ),
                series(
                    &[("__name__", "weird"), ("kind", "ninf")],
                    &[(T0, f64::NEG_INFINITY)],
                ),
            ],
        )
        .with(
            "team-b",
            vec![series(
                &[("__name__", "up"), ("job", "other")],
                &every_15s(5, |_| 1.0),
            )],
        )
        .with_metadata("team-a", &["requests_total", "up"])
        .with_metadata("team-b", &["up"])
}

/// Limits for fixed-time test data: the ingester window (relative to the wall clock) is off.
fn test_limits() -> Limits {
    Limits {
        query_ingesters_within: norn_common::Duration::default(),
        ..Limits::default()
    }
}

async fn harness_with(limits: Limits, config: QuerierConfig, ingester: FakeIngester) -> Harness {
    let ring = TestRing::new(1).await;
    ring.add("ing-1", ingester).await;
    let api = Arc::new(QueryApi::new(
        config,
        Arc::new(ring.querier().await),
        Overrides::new(limits),
        QuerierMetrics::default(),
        BuildInfo {
            revision: "abc123".into(),
            ..BuildInfo::default()
        },
    ));
    let router = routes(Arc::clone(&api), "/prometheus/").layer(axum::Extension(
        TenantResolver::new(true, TenantId::new("anonymous").unwrap(), true),
    ));
    Harness {
        _ring: ring,
        router,
        api,
    }
}

async fn harness() -> Harness {
    harness_with(test_limits(), QuerierConfig::default(), fixture()).await
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: String,
    text: String,
    json: Json,
}

impl Answer {
    fn data(&self) -> &Json {
        &self.json["data"]
    }

    fn assert_error(&self, status: u16, error_type: &str, contains: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.json["status"], "error", "{}", self.text);
        assert_eq!(self.json["errorType"], error_type, "{}", self.text);
        let message = self.json["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(contains),
            "{contains:?} not in {message:?}"
        );
        assert_eq!(self.content_type, "application/json");
    }

    fn assert_success(&self) {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        assert_eq!(self.json["status"], "success", "{}", self.text);
        assert_eq!(self.content_type, "application/json");
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Json::Null);
    Answer {
        status,
        content_type,
        text,
        json,
    }
}

async fn get_as(router: &Router, org: Option<&str>, uri: &str) -> Answer {
    let mut request = Request::get(uri);
    if let Some(org) = org {
        request = request.header(ORG_ID_HEADER, org);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

async fn get(router: &Router, uri: &str) -> Answer {
    get_as(router, Some("team-a"), uri).await
}

async fn post(router: &Router, uri: &str, form: &str) -> Answer {
    let request = Request::post(uri)
        .header(ORG_ID_HEADER, "team-a")
        .header(CONTENT_TYPE, FORM)
        .body(Body::from(form.to_owned()))
        .unwrap();
    send(router, request).await
}

/// `(labels as k=v joined, value)` of each sample of a vector answer, sorted.
fn vector_of(answer: &Answer) -> Vec<(String, Json)> {
    assert_eq!(answer.data()["resultType"], "vector", "{}", answer.text);
    let mut samples: Vec<(String, Json)> = answer.data()["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sample| {
            let labels = sample["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, value)| format!("{name}={}", value.as_str().unwrap()))
                .collect::<Vec<_>>()
                .join(",");
            (labels, sample["value"].clone())
        })
        .collect();
    samples.sort_by(|a, b| a.0.cmp(&b.0));
    samples
}

// --- buildinfo, format_query, parse_query, query_exemplars ---

#[tokio::test]
async fn buildinfo_answers_without_a_tenant_under_the_prefix_and_the_root() {
    let harness = harness().await;
    for uri in [
        "/prometheus/api/v1/status/buildinfo",
        "/api/v1/status/buildinfo",
    ] {
        let answer = get_as(&harness.router, None, uri).await;
        answer.assert_success();
        let data = answer.data();
        assert_eq!(data["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(data["revision"], "abc123");
        for field in ["branch", "buildUser", "buildDate", "goVersion"] {
            assert!(data[field].is_string(), "{field} missing: {}", answer.text);
        }
        assert_eq!(data["application"], "Norn");
        assert_eq!(data["features"]["ruler_config_api"], "false");
    }
}

#[tokio::test]
async fn format_and_parse_query_answer_text_and_a_tree() {
    let harness = harness().await;
    let answer = get(
        &harness.router,
        "/prometheus/api/v1/format_query?query=sum(rate(x%5B5m%5D))by(job)",
    )
    .await;
    answer.assert_success();
    assert_eq!(answer.data(), "sum by (job) (rate(x[5m]))");
    let answer = post(
        &harness.router,
        "/prometheus/api/v1/parse_query",
        "query=up%7Bjob%3D%22a%22%7D+offset+1m",
    )
    .await;
    answer.assert_success();
    assert_eq!(answer.data()["type"], "vectorSelector");
    assert_eq!(answer.data()["offset"], 60_000);
    for path in ["format_query", "parse_query"] {
        let answer = get(
            &harness.router,
            &format!("/prometheus/api/v1/{path}?query=sum("),
        )
        .await;
        answer.assert_error(400, "bad_data", "invalid parameter \"query\"");
    }
}

#[tokio::test]
async fn exemplars_are_an_empty_list_after_validation() {
    let harness = harness().await;
    let answer = get(
        &harness.router,
        "/prometheus/api/v1/query_exemplars?query=test&start=1&end=2",
    )
    .await;
    answer.assert_success();
    assert_eq!(answer.text, r#"{"status":"success","data":[]}"#);
    let answer = post(
        &harness.router,
        "/prometheus/api/v1/query_exemplars",
        "query=up&start=10&end=5",
    )
    .await;
    answer.assert_error(400, "bad_data", "end timestamp must not be before start");
    let answer = get(
        &harness.router,
        "/prometheus/api/v1/query_exemplars?query=up(",
    )
    .await;
    answer.assert_error(400, "bad_data", "");
    let answer = get(
        &harness.router,
        "/prometheus/api/v1/query_exemplars?query=up&start=x",
    )
    .await;
    answer.assert_error(
        400,
        "bad_data",
        "invalid parameter \"start\": invalid time value for 'start': cannot parse \"x\" to a valid timestamp",
    );
}

// --- tenants ---

#[tokio::test]
async fn every_data_route_needs_a_tenant() {
    let harness = harness().await;
    for uri in [
        "/prometheus/api/v1/query?query=up",
        "/prometheus/api/v1/query_range?query=up&start=1&end=2&step=1",
        "/prometheus/api/v1/series?match[]=up",
        "/prometheus/api/v1/labels",
        "/prometheus/api/v1/label/job/values",
        "/prometheus/api/v1/metadata",
        "/prometheus/api/v1/query_exemplars?query=up",
    ] {
        let answer = get_as(&harness.router, None, uri).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(answer.text.contains("no org id"), "{uri}: {}", answer.text);
    }
}

// --- query and query_range: parameters ---

#[tokio::test]
async fn bad_query_parameters_are_bad_data() {
    let harness = harness().await;
    let router = &harness.router;
    for (uri, expected) in [
        (
            "/prometheus/api/v1/query?query=up&time=yesterday",
            "invalid parameter \"time\": invalid time value for 'time': cannot parse \"yesterday\" to a valid timestamp",
        ),
        (
            "/prometheus/api/v1/query?query=up&timeout=soon",
            "invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration",
        ),
        (
            "/prometheus/api/v1/query?query=up&lookback_delta=x",
            "error parsing lookback delta duration: cannot parse \"x\" to a valid duration",
        ),
        (
            "/prometheus/api/v1/query?query=up&limit=-1",
            "invalid parameter \"limit\": limit must be non-negative",
        ),
        (
            "/prometheus/api/v1/query?query=sum(up",
            "invalid parameter \"query\"",
        ),
        ("/prometheus/api/v1/query", "invalid parameter \"query\""),
        (
            "/prometheus/api/v1/query_range?query=up&start=x&end=2&step=1",
            "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp",
        ),
        (
            "/prometheus/api/v1/query_range?query=up&start=1&end=2",
            "invalid parameter \"step\": cannot parse \"\" to a valid duration",
        ),
        (
            "/prometheus/api/v1/query_range?query=up&start=10&end=2&step=1",
            "invalid parameter \"end\": end timestamp must not be before start time",
        ),
        (
            "/prometheus/api/v1/query_range?query=up&start=1&end=2&step=0",
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ),
        (
            "/prometheus/api/v1/query_range?query=up&start=1&end=2&step=-5s",
            "invalid parameter \"step\": cannot parse \"-5s\" to a valid duration",
        ),
        (
            "/prometheus/api/v1/query_range?query=up&start=0&end=11001&step=1",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
        (
            "/prometheus/api/v1/query_range?query=rate(up)&start=1&end=2&step=1",
            "invalid parameter \"query\"",
        ),
    ] {
        get(router, uri)
            .await
            .assert_error(400, "bad_data", expected);
    }
    // 11,000 points exactly are allowed (the check happens before evaluation).
    let at_cap = get(
        router,
        "/prometheus/api/v1/query_range?query=sum(&start=0&end=11000&step=1",
    )
    .await;
    at_cap.assert_error(400, "bad_data", "invalid parameter \"query\"");
    // Bad form bodies are bad data too.
    post(router, "/prometheus/api/v1/query", "query=%zz")
        .await
        .assert_error(400, "bad_data", "error parsing form values");
    assert_eq!(
        harness.api.metrics().query_count("query", "bad_data"),
        6,
        "every failed query is counted"
    );
}

#[tokio::test]
async fn total_query_length_is_limited_per_tenant() {
    let limits = Limits {
        max_total_query_length: norn_common::Duration::from_secs(3600),
        ..test_limits()
    };
    let harness = harness_with(limits, QuerierConfig::default(), fixture()).await;
    let answer = get(
        &harness.router,
        "/prometheus/api/v1/query_range?query=up&start=0&end=7200&step=60",
    )
    .await;
    answer.assert_error(
        400,
        "bad_data",
        "the total query time range exceeds the limit (query length: 2h0m0s, limit: 1h0m0s) (err-norn-max-total-query-length)",
    );
}

// --- query and query_range: evaluation (needs the PromQL engine) ---

#[tokio::test]
async fn instant_queries_answer_vectors_by_get_and_post() {
    let harness = harness().await;
    let by_get = get(
        &harness.router,
        &format!("/prometheus/api/v1/query?query=up&time={T0_SECONDS}"),
    )
    .await;
    by_get.assert_success();
    assert_eq!(
        vector_of(&by_get),
        [
            (
                "__name__=up,instance=a,job=api".to_owned(),
                json!([1_700_000_000, "1"])
            ),
            (
                "__name__=up,instance=b,job=db".to_owned(),
                json!([1_700_000_000, "0"])
            ),
        ]
    );
    let by_post = post(
        &harness.router,
        "/prometheus/api/v1/query",
        &format!("query=up&time={T0_RFC3339}"),
    )
    .await;
    by_post.assert_success();
    assert_eq!(vector_of(&by_post), vector_of(&by_get));
    // A fractional time keeps its milliseconds.
    let fractional = get(
        &harness.router,
        "/prometheus/api/v1/query?query=up&time=1700000000.123",
    )
    .await;
    assert!(
        fractional.text.contains("[1700000000.123,\"1\"]"),
        "{}",
        fractional.text
    );
}

#[tokio::test]
async fn special_values_are_spelled_as_prometheus_spells_them() {
    let harness = harness().await;
    let answer = get(
        &harness.router,
        &format!("/prometheus/api/v1/query?query=weird&time={T0_SECONDS}"),
    )
    .await;
    answer.assert_success();
    let values: Vec<Json> = vector_of(&answer)
        .into_iter()
        .map(|(_, value)| value[1].clone())
        .collect();
    assert_eq!(values, [json!("+Inf"), json!("NaN"), json!("-Inf")]);
    // Grafana's health check: `1+1` at time=4.
    let scalar = get(
        &harness.router,
        "/prometheus/api/v1/query?query=1%2B1&time=4",
    )
    .await;
    scalar.assert_success();
    assert_eq!(
        scalar.text,
        r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#
    );
    let string = get(
        &harness.router,
        "/prometheus/api/v1/query?query=%22hello%22&time=1.5",
    )
    .await;
    assert_eq!(
        string.text,
        r#"{"status":"success","data":{"resultType":"string","result":[1.500,"hello"]}}"#
    );
}

#[tokio::test]
async fn range_queries_answer_matrices_with_duration_or_float_steps() {
    let harness = harness().await;
    let start = (T0 - 60_000) / 1000;
    let end = T0 / 1000;
    for step in ["15s", "15"] {
        let answer = get(
            &harness.router,
            &format!(
                "/prometheus/api/v1/query_range?query=up%7Bjob%3D%22api%22%7D&start={start}&end={end}&step={step}"
            ),
        )
        .await;
        answer.assert_success();
        assert_eq!(answer.data()["resultType"], "matrix");
        let result = answer.data()["result"].as_array().unwrap();
        assert_eq!(result.len(), 1, "{}", answer.text);
        assert_eq!(result[0]["metric"]["job"], "api");
        let values = result[0]["values"].as_array().unwrap();
        assert_eq!(values.len(), 5);
        assert_eq!(values[0], json!([start, "1"]));
        assert_eq!(values[4], json!([end, "1"]));
    }
    let posted = post(
        &harness.router,
        "/prometheus/api/v1/query_range",
        &format!("query=rate(requests_total%5B1m%5D)&start={start}&end={end}&step=30s&stats=all"),
    )
    .await;
    posted.assert_success();
    let stats = &posted.data()["stats"];
    assert!(
        stats["timings"]["evalTotalTime"].is_number(),
        "{}",
        posted.text
    );
    assert!(
        stats["samples"]["totalQueryableSamples"].as_u64().unwrap() > 0,
        "{}",
        posted.text
    );
    assert!(stats["samples"]["peakSamples"].is_number());
}

#[tokio::test]
async fn limit_truncates_results_with_a_warning() {
    let harness = harness().await;
    let answer = get(
        &harness.router,
        &format!("/prometheus/api/v1/query?query=up&time={T0_SECONDS}&limit=1"),
    )
    .await;
    answer.assert_success();
    assert_eq!(answer.data()["result"].as_array().unwrap().len(), 1);
    assert_eq!(
        answer.json["warnings"],
        json!(["results truncated due to limit"])
    );
}

#[tokio::test]
async fn federated_queries_label_each_tenant() {
    let harness = harness().await;
    let answer = get_as(
        &harness.router,
        Some("team-a|team-b"),
        &format!("/prometheus/api/v1/query?query=up&time={T0_SECONDS}"),
    )
    .await;
    answer.assert_success();
    let tenants: Vec<String> = vector_of(&answer)
        .into_iter()
        .map(|(labels, _)| labels)
        .collect();
    assert_eq!(
        tenants,
        [
            "__name__=up,__tenant_id__=team-a,instance=a,job=api",
            "__name__=up,__tenant_id__=team-a,instance=b,job=db",
            "__name__=up,__tenant_id__=team-b,job=other",
        ]
    );
}

#[tokio::test]
async fn query_limits_are_execution_errors() {
    let series_cap = Limits {
        max_fetched_series_per_query: 1,
        ..test_limits()
    };
    let harness = harness_with(series_cap, QuerierConfig::default(), fixture()).await;
    let answer = get(
        &harness.router,
        &format!("/prometheus/api/v1/query?query=up&time={T0_SECONDS}"),
    )
    .await;
    answer.assert_error(422, "execution", "err-norn-max-series-per-query");
    assert_eq!(harness.api.metrics().query_count("query", "execution"), 1);

    let chunk_cap = Limits {
        max_fetched_chunks_per_query: 1,
        ..test_limits()
    };
    let harness = harness_with(chunk_cap, QuerierConfig::default(), fixture()).await;
    let answer = get(
        &harness.router,
        &format!("/prometheus/api/v1/query?query=up&time={T0_SECONDS}"),
    )
    .await;
    answer.assert_error(422, "execution", "err-norn-max-chunks-per-query");

    let partial = Limits {
        max_partial_query_length: norn_common::Duration::from_secs(600),
        ..test_limits()
    };
    let harness = harness_with(partial, QuerierConfig::default(), fixture()).await;
    let answer = get(
        &harness.router,
        &format!("/prometheus/api/v1/query?query=up%5B1h%5D&time={T0_SECONDS}"),
    )
    .await;
    answer.assert_error(
        422,
        "execution",
        "limit: 10m0s) (err-norn-max-query-length). To adjust the related per-tenant limit, configure -querier.max-partial-query-length",
    );

    let samples = QuerierConfig {
        max_samples: 2,
        ..QuerierConfig::default()
    };
    let harness = harness_with(test_limits(), samples, fixture()).await;
    let answer = get(
        &harness.router,
        &format!(
            "/prometheus/api/v1/query_range?query=requests_total&start={}&end={T0_SECONDS}&step=15s",
            T0 / 1000 - 600
        ),
    )
    .await;
    answer.assert_error(
        422,
        "execution",
        "query processing would load too many samples",
    );
}

#[tokio::test]
async fn slow_queries_time_out_with_503() {
    let slow = fixture().with_select_delay(Duration::from_secs(5));
    let harness = harness_with(test_limits(), QuerierConfig::default(), slow).await;
    let answer = get(
        &harness.router,
        &format!("/prometheus/api/v1/query?query=up&time={T0_SECONDS}&timeout=50ms"),
    )
    .await;
    answer.assert_error(503, "timeout", "query timed out");
    assert_eq!(harness.api.metrics().query_count("query", "timeout"), 1);
    // The configured timeout caps a longer request timeout.
    let short = QuerierConfig {
        timeout: norn_common::Duration::from_millis(50),
        ..QuerierConfig::default()
    };
    let slow = fixture().with_select_delay(Duration::from_secs(5));
    let harness = harness_with(test_limits(), short, slow).await;
    let answer = get(
        &harness.router,
        &format!("/prometheus/api/v1/query?query=up&time={T0_SECONDS}&timeout=1h"),
    )
    .await;
    answer.assert_error(503, "timeout", "query timed out");
}

/// Waits (up to 10s) until `probe` holds.
async fn eventually(mut probe: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if probe() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_cancels_its_query() {
    let slow = fixture().with_select_delay(Duration::from_secs(30));
    let harness = harness_with(test_limits(), QuerierConfig::default(), slow).await;
    let router = harness.router.clone();
    let request = tokio::spawn(async move {
        get(
            &router,
            &format!("/prometheus/api/v1/query?query=up&time={T0_SECONDS}"),
        )
        .await
    });
    let metrics = harness.api.metrics().clone();
    assert!(eventually(|| metrics.inflight_count() == 1).await);
    // The client disconnects: the server drops the request's future.
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    assert!(
        eventually(|| metrics.inflight_count() == 0).await,
        "the evaluation stopped"
    );
    assert_eq!(metrics.canceled_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_beyond_max_concurrent_wait_for_a_slot() {
    let slow = fixture().with_select_delay(Duration::from_secs(1));
    let one_slot = QuerierConfig {
        max_concurrent: 1,
        ..QuerierConfig::default()
    };
    let harness = harness_with(test_limits(), one_slot, slow).await;
    let uri = format!("/prometheus/api/v1/query?query=up&time={T0_SECONDS}&stats=true");
    let requests: Vec<_> = (0..2)
        .map(|_| {
            let router = harness.router.clone();
            let uri = uri.clone();
            tokio::spawn(async move { get(&router, &uri).await })
        })
        .collect();
    let metrics = harness.api.metrics().clone();
    assert!(
        eventually(|| metrics.inflight_count() == 1 && metrics.queued_count() == 1).await,
        "one query evaluates while the other waits"
    );
    for request in requests {
        let answer = request.await.unwrap();
        answer.assert_success();
        assert!(answer.data()["stats"]["timings"]["execQueueTime"].is_number());
    }
    assert_eq!(metrics.queued_count(), 0);
    assert_eq!(metrics.query_count("query", "success"), 2);
}

// --- series, labels, label values ---

#[tokio::test]
async fn series_lists_label_sets_by_get_and_post() {
    let harness = harness().await;
    let answer = get(
        &harness.router,
        "/prometheus/api/v1/series?match[]=up&match[]=%7Bkind%3D%22nan%22%7D",
    )
    .await;
    answer.assert_success();
    assert_eq!(
        answer.data(),
        &json!([
            {"__name__": "up", "instance": "a", "job": "api"},
            {"__name__": "up", "instance": "b", "job": "db"},
            {"__name__": "weird", "kind": "nan"},
        ])
    );
    let posted = post(
        &harness.router,
        "/prometheus/api/v1/series",
        &format!("match%5B%5D=up&start={T0_RFC3339}&end={T0_SECONDS}&limit=1"),
    )
    .await;
    posted.assert_success();
    assert_eq!(posted.data().as_array().unwrap().len(), 1);
    assert_eq!(
        posted.json["warnings"],
        json!(["results truncated due to limit"])
    );
    // A range without samples finds nothing.
    let before = get(
        &harness.router,
        "/prometheus/api/v1/series?match[]=up&start=0&end=10",
    )
    .await;
    before.assert_success();
    assert_eq!(before.data(), &json!([]));
}

#[tokio::test]
async fn series_parameters_are_checked() {
    let harness = harness().await;
    let router = &harness.router;
    get(router, "/prometheus/api/v1/series").await.assert_error(
        400,
        "bad_data",
        "no match[] parameter provided",
    );
    get(router, "/prometheus/api/v1/series?match[]=up%7B")
        .await
        .assert_error(400, "bad_data", "invalid parameter \"match[]\"");
    get(
        router,
        "/prometheus/api/v1/series?match[]=%7Bjob%3D~%22.*%22%7D",
    )
    .await
    .assert_error(400, "bad_data", "at least one non-empty matcher");
    get(router, "/prometheus/api/v1/series?match[]=up&start=x")
        .await
        .assert_error(400, "bad_data", "invalid parameter \"start\"");
    get(router, "/prometheus/api/v1/series?match[]=up&limit=x")
        .await
        .assert_error(400, "bad_data", "invalid parameter \"limit\"");
    let capped = Limits {
        max_fetched_series_per_query: 1,
        ..test_limits()
    };
    let harness = harness_with(capped, QuerierConfig::default(), fixture()).await;
    get(&harness.router, "/prometheus/api/v1/series?match[]=up")
        .await
        .assert_error(422, "execution", "err-norn-max-series-per-query");
}

#[tokio::test]
async fn labels_and_label_values_follow_match_and_federation() {
    let harness = harness().await;
    let router = &harness.router;
    let names = get(router, "/prometheus/api/v1/labels").await;
    names.assert_success();
    assert_eq!(
        names.data(),
        &json!(["__name__", "instance", "job", "kind"])
    );
    let matched = post(
        router,
        "/prometheus/api/v1/labels",
        &format!("match[]=up&start={}&end={}", T0 / 1000 - 3600, T0 / 1000),
    )
    .await;
    assert_eq!(matched.data(), &json!(["__name__", "instance", "job"]));
    let limited = get(router, "/prometheus/api/v1/labels?limit=2").await;
    assert_eq!(limited.data(), &json!(["__name__", "instance"]));
    assert_eq!(
        limited.json["warnings"],
        json!(["results truncated due to limit"])
    );

    let metric_names = get(router, "/prometheus/api/v1/label/__name__/values").await;
    metric_names.assert_success();
    assert_eq!(
        metric_names.data(),
        &json!(["requests_total", "up", "weird"])
    );
    let jobs = get(
        router,
        "/prometheus/api/v1/label/job/values?match[]=up&match[]=requests_total",
    )
    .await;
    assert_eq!(jobs.data(), &json!(["api", "db"]));
    let escaped = get(router, "/prometheus/api/v1/label/U__job/values").await;
    assert_eq!(escaped.data(), &json!(["api", "db"]));
    get(router, "/prometheus/api/v1/label/U__/values")
        .await
        .assert_error(400, "bad_data", "invalid label name: \"\"");
    get(router, "/prometheus/api/v1/label/job/values?match[]=%7B")
        .await
        .assert_error(400, "bad_data", "");

    let federated = get_as(
        router,
        Some("team-a|team-b"),
        "/prometheus/api/v1/label/__tenant_id__/values",
    )
    .await;
    assert_eq!(federated.data(), &json!(["team-a", "team-b"]));
    let federated_jobs = get_as(
        router,
        Some("team-b|team-a"),
        "/prometheus/api/v1/label/job/values",
    )
    .await;
    assert_eq!(federated_jobs.data(), &json!(["api", "db", "other"]));
}

#[tokio::test]
async fn lookback_limit_cuts_metadata_reads() {
    // The fixture's samples are years old: a lookback of one day leaves nothing to read.
    let limits = Limits {
        max_query_lookback: norn_common::Duration::from_secs(86_400),
        ..test_limits()
    };
    let harness = harness_with(limits, QuerierConfig::default(), fixture()).await;
    let names = get(&harness.router, "/prometheus/api/v1/labels").await;
    names.assert_success();
    assert_eq!(names.data(), &json!([]));
    let series = get(&harness.router, "/prometheus/api/v1/series?match[]=up").await;
    assert_eq!(series.data(), &json!([]));
    // So does the default ingester window of 13h.
    let harness = harness_with(Limits::default(), QuerierConfig::default(), fixture()).await;
    let values = get(&harness.router, "/prometheus/api/v1/label/job/values").await;
    assert_eq!(values.data(), &json!([]));
}

// --- metadata ---

#[tokio::test]
async fn metadata_groups_by_metric_with_limits() {
    let harness = harness().await;
    let router = &harness.router;
    let all = get(router, "/prometheus/api/v1/metadata").await;
    all.assert_success();
    assert_eq!(
        all.data(),
        &json!({
            "requests_total": [{"type": "gauge", "help": "help of requests_total", "unit": ""}],
            "up": [{"type": "gauge", "help": "help of up", "unit": ""}],
        })
    );
    let one = get(router, "/prometheus/api/v1/metadata?limit=1").await;
    assert_eq!(one.data().as_object().unwrap().len(), 1);
    let none = post(router, "/prometheus/api/v1/metadata", "limit=0").await;
    assert_eq!(none.data(), &json!({}));
    let metric = get(
        router,
        "/prometheus/api/v1/metadata?metric=up&limit_per_metric=1",
    )
    .await;
    assert_eq!(
        metric
            .data()
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["up"]
    );
    get(router, "/prometheus/api/v1/metadata?limit=many")
        .await
        .assert_error(400, "bad_data", "limit must be a number");
    get(router, "/prometheus/api/v1/metadata?limit_per_metric=x")
        .await
        .assert_error(400, "bad_data", "limit_per_metric must be a number");
}

#[tokio::test]
async fn unavailable_ingesters_are_reported() {
    let harness = harness_with(
        test_limits(),
        QuerierConfig::default(),
        FakeIngester::failing(),
    )
    .await;
    get(&harness.router, "/prometheus/api/v1/labels")
        .await
        .assert_error(503, "unavailable", "fake ingester is down");
}
