//! Prometheus remote read: `POST <prefix>/api/v1/read` over the ingesters.
//!
//! The body is a `prometheus.ReadRequest` in the snappy block format (at most
//! [`MAX_READ_REQUEST_BYTES`], compressed and decompressed; Mimir's
//! `maxRemoteReadQuerySize`). Each query's matchers select series over
//! `[start_timestamp_ms, end_timestamp_ms]` for the request's tenants (several with
//! federation: see [`crate::federation`]); queries run concurrently and the answer is a
//! `prometheus.ReadResponse` with one result per query, in request order.
//!
//! Only the SAMPLES response type is served (`Content-Type: application/x-protobuf`,
//! `Content-Encoding: snappy`). Prometheus asks for STREAMED_XOR_CHUNKS first and falls back
//! to SAMPLES, so it works unchanged; STREAMED_XOR_CHUNKS is not offered yet (it needs the
//! ingesters to hand out chunks rather than samples). Read hints are ignored, as Mimir does.
//!
//! Errors: a malformed request is `400`, a missing tenant `401`, a query selecting more series
//! than the querier's `max_series_per_query` `422`, and ingesters unable to answer `503`.

mod codec;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use norn_http::{HttpError, Tenants, body::read_limited};
use norn_proto::prometheus::ReadResponse;

use crate::error::QueryError;
use crate::fetch_limiter::FetchLimiter;
use crate::ingesters::IngesterQuerier;

/// The largest remote read request accepted, compressed or not (Mimir's 1 MiB: a request is
/// a few matchers and time ranges).
pub const MAX_READ_REQUEST_BYTES: usize = 1 << 20;

/// The path of the endpoint below the Prometheus HTTP prefix.
pub const READ_PATH: &str = "/api/v1/read";

/// Returns the router serving `POST {prefix}/api/v1/read` (`prefix` is Mimir's
/// `-http.prometheus-http-prefix`, `/prometheus` by default; a trailing `/` is ignored).
///
/// The [`Tenants`] extractor needs the server's `norn_http::TenantResolver` installed as an
/// `axum::Extension` layer around this router.
pub fn routes(querier: Arc<IngesterQuerier>, prefix: &str) -> Router {
    let path = format!("{}{READ_PATH}", prefix.trim_end_matches('/'));
    Router::new().route(&path, post(read)).with_state(querier)
}

async fn read(
    State(querier): State<Arc<IngesterQuerier>>,
    Tenants(tenants): Tenants,
    body: Body,
) -> Result<Response, HttpError> {
    let compressed = read_limited(body, MAX_READ_REQUEST_BYTES).await?;
    let request = codec::decode_request(&compressed, MAX_READ_REQUEST_BYTES)?;
    codec::negotiate_response_type(&request.accepted_response_types)?;
    // Every query is checked before any is run.
    let queries = request
        .queries
        .iter()
        .enumerate()
        .map(|(index, query)| Ok((query, codec::matchers(index, query)?)))
        .collect::<Result<Vec<_>, HttpError>>()?;

    let tenants = &tenants;
    let querier = &querier;
    let results = futures::future::try_join_all(queries.iter().enumerate().map(
        |(index, (query, matchers))| async move {
            let (mint, maxt) = (query.start_timestamp_ms, query.end_timestamp_ms);
            let limiter = Arc::new(FetchLimiter::unlimited());
            querier
                .select_tenants(tenants, matchers, mint, maxt, &limiter)
                .await
                .and_then(|series| codec::query_result(series, mint, maxt))
                .map_err(|error| query_failed(index, &error))
        },
    ))
    .await?;

    let body = codec::encode_response(&ReadResponse { results })?;
    Ok((
        [
            (CONTENT_TYPE, "application/x-protobuf"),
            (CONTENT_ENCODING, "snappy"),
        ],
        body,
    )
        .into_response())
}

/// Turns a failed query into the response, logging server-side failures.
fn query_failed(index: usize, error: &QueryError) -> HttpError {
    let status = error.status_code();
    if status.is_server_error() {
        tracing::warn!(query = index, %error, "remote read query failed");
    }
    HttpError::new(status, format!("query {index}: {error}"))
}

#[cfg(test)]
mod tests {
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use norn_http::TenantResolver;
    use norn_http::tenant::ORG_ID_HEADER;
    use norn_model::TenantId;
    use norn_proto::prometheus::{LabelMatcher, Query, ReadRequest, TimeSeries};
    use prost::Message;
    use tower::ServiceExt;

    use super::*;
    use crate::federation::TENANT_LABEL;
    use crate::testing::{FakeIngester, TestRing, series};

    const PATH: &str = "/prometheus/api/v1/read";

    async fn ring() -> TestRing {
        let ring = TestRing::new(2).await;
        ring.add(
            "ing-1",
            FakeIngester::new()
                .with(
                    "team-a",
                    vec![
                        series(
                            &[("__name__", "up"), ("job", "api")],
                            &[(10, 1.0), (20, 2.0)],
                        ),
                        series(&[("__name__", "up"), ("job", "db")], &[(10, 0.0)]),
                        series(&[("__name__", "cpu")], &[(10, 0.5)]),
                    ],
                )
                .with("team-b", vec![series(&[("__name__", "up")], &[(15, 7.0)])]),
        )
        .await;
        ring.add(
            "ing-2",
            FakeIngester::new().with(
                "team-a",
                vec![series(
                    &[("__name__", "up"), ("job", "api")],
                    &[(20, 2.0), (30, 3.0)],
                )],
            ),
        )
        .await;
        ring
    }

    async fn router(ring: &TestRing, max_series: usize, federation: bool) -> Router {
        let querier = ring.querier().await.with_max_series_per_query(max_series);
        routes(Arc::new(querier), "/prometheus/").layer(axum::Extension(TenantResolver::new(
            true,
            TenantId::new("anonymous").unwrap(),
            federation,
        )))
    }

    fn eq(name: &str, value: &str) -> LabelMatcher {
        LabelMatcher {
            r#type: 0,
            name: name.into(),
            value: value.into(),
        }
    }

    fn query(start: i64, end: i64, matchers: Vec<LabelMatcher>) -> Query {
        Query {
            start_timestamp_ms: start,
            end_timestamp_ms: end,
            matchers,
            hints: None,
        }
    }

    fn encode(request: &ReadRequest) -> Vec<u8> {
        snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .unwrap()
    }

    async fn post(
        router: &Router,
        org: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut request = Request::post(PATH)
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(CONTENT_ENCODING, "snappy");
        if let Some(org) = org {
            request = request.header(ORG_ID_HEADER, org);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes.to_vec())
    }

    fn decode(body: &[u8]) -> ReadResponse {
        let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
        ReadResponse::decode(raw.as_slice()).unwrap()
    }

    fn describe(series: &TimeSeries) -> (String, Vec<(i64, f64)>) {
        let labels = series
            .labels
            .iter()
            .map(|label| format!("{}={}", label.name, label.value))
            .collect::<Vec<_>>()
            .join(",");
        let samples = series
            .samples
            .iter()
            .map(|sample| (sample.timestamp, sample.value))
            .collect();
        (labels, samples)
    }

    fn text(body: &[u8]) -> String {
        String::from_utf8_lossy(body).into_owned()
    }

    #[tokio::test]
    async fn remote_read_answers_merged_series_per_query() {
        let ring = ring().await;
        let router = router(&ring, 0, false).await;
        let request = ReadRequest {
            queries: vec![
                query(0, 100, vec![eq("__name__", "up")]),
                query(15, 25, vec![eq("__name__", "up"), eq("job", "api")]),
                query(0, 100, vec![eq("__name__", "missing")]),
            ],
            // What Prometheus sends: streamed chunks preferred, samples as the fallback.
            accepted_response_types: vec![1, 0],
        };
        let (status, headers, body) = post(&router, Some("team-a"), encode(&request)).await;
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        assert_eq!(headers[CONTENT_TYPE], "application/x-protobuf");
        assert_eq!(headers[CONTENT_ENCODING], "snappy");
        let response = decode(&body);
        assert_eq!(response.results.len(), 3);

        let first: Vec<_> = response.results[0]
            .timeseries
            .iter()
            .map(describe)
            .collect();
        assert_eq!(
            first,
            [
                (
                    "__name__=up,job=api".to_owned(),
                    vec![(10, 1.0), (20, 2.0), (30, 3.0)]
                ),
                ("__name__=up,job=db".to_owned(), vec![(10, 0.0)]),
            ]
        );
        let second: Vec<_> = response.results[1]
            .timeseries
            .iter()
            .map(describe)
            .collect();
        assert_eq!(
            second,
            [("__name__=up,job=api".to_owned(), vec![(20, 2.0)])]
        );
        assert!(response.results[2].timeseries.is_empty());
    }

    #[tokio::test]
    async fn federated_reads_add_the_tenant_label() {
        let ring = ring().await;
        let router = router(&ring, 0, true).await;
        let request = ReadRequest {
            queries: vec![query(0, 100, vec![eq("__name__", "up"), eq("job", "")])],
            accepted_response_types: vec![],
        };
        let (status, _, body) = post(&router, Some("team-b|team-a"), encode(&request)).await;
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        let series: Vec<_> = decode(&body).results[0]
            .timeseries
            .iter()
            .map(describe)
            .collect();
        assert_eq!(
            series,
            [(
                format!("__name__=up,{TENANT_LABEL}=team-b"),
                vec![(15, 7.0)]
            )]
        );

        // A matcher on the tenant label picks the tenants.
        let request = ReadRequest {
            queries: vec![query(
                0,
                100,
                vec![eq("__name__", "up"), eq(TENANT_LABEL, "team-a")],
            )],
            accepted_response_types: vec![],
        };
        let (status, _, body) = post(&router, Some("team-a|team-b"), encode(&request)).await;
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        let series: Vec<_> = decode(&body).results[0]
            .timeseries
            .iter()
            .map(describe)
            .collect();
        assert_eq!(series.len(), 2);
        assert!(
            series
                .iter()
                .all(|(labels, _)| labels.contains(",__tenant_id__=team-a,")),
            "{series:?}"
        );
    }

    #[tokio::test]
    async fn bad_requests_are_rejected_with_a_reason() {
        let ring = ring().await;
        let router = router(&ring, 0, false).await;

        let (status, _, body) = post(&router, Some("team-a"), b"not snappy at all".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(text(&body).contains("snappy"), "{}", text(&body));

        let garbage = snap::raw::Encoder::new()
            .compress_vec(&[0x0a, 0x50, 0x01])
            .unwrap();
        let (status, _, body) = post(&router, Some("team-a"), garbage).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            text(&body).contains("prometheus.ReadRequest"),
            "{}",
            text(&body)
        );

        let bad_regex = ReadRequest {
            queries: vec![query(
                0,
                1,
                vec![LabelMatcher {
                    r#type: 2,
                    name: "job".into(),
                    value: "(".into(),
                }],
            )],
            accepted_response_types: vec![],
        };
        let (status, _, body) = post(&router, Some("team-a"), encode(&bad_regex)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            text(&body).contains("invalid regular expression"),
            "{}",
            text(&body)
        );

        let no_matchers = ReadRequest {
            queries: vec![query(0, 1, vec![])],
            accepted_response_types: vec![],
        };
        let (status, _, body) = post(&router, Some("team-a"), encode(&no_matchers)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            text(&body).contains("at least one label matcher"),
            "{}",
            text(&body)
        );

        let streamed_only = ReadRequest {
            queries: vec![query(0, 1, vec![eq("__name__", "up")])],
            accepted_response_types: vec![1],
        };
        let (status, _, body) = post(&router, Some("team-a"), encode(&streamed_only)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            text(&body).contains("STREAMED_XOR_CHUNKS"),
            "{}",
            text(&body)
        );

        let too_large = vec![0u8; MAX_READ_REQUEST_BYTES + 1];
        let (status, _, _) = post(&router, Some("team-a"), too_large).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_missing_tenant_is_unauthorized() {
        let ring = ring().await;
        let router = router(&ring, 0, false).await;
        let request = ReadRequest {
            queries: vec![query(0, 1, vec![eq("__name__", "up")])],
            accepted_response_types: vec![],
        };
        let (status, _, body) = post(&router, None, encode(&request)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(text(&body).contains("no org id"), "{}", text(&body));
    }

    #[tokio::test]
    async fn queries_over_the_series_cap_are_422() {
        let ring = ring().await;
        let router = router(&ring, 1, false).await;
        let one = ReadRequest {
            queries: vec![query(0, 100, vec![eq("__name__", "cpu")])],
            accepted_response_types: vec![],
        };
        let (status, _, body) = post(&router, Some("team-a"), encode(&one)).await;
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        let two = ReadRequest {
            queries: vec![query(0, 100, vec![eq("__name__", "up")])],
            accepted_response_types: vec![],
        };
        let (status, _, body) = post(&router, Some("team-a"), encode(&two)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            text(&body).contains("err-norn-max-series-per-query"),
            "{}",
            text(&body)
        );
    }

    #[tokio::test]
    async fn ingesters_that_cannot_answer_are_503() {
        let ring = TestRing::new(1).await;
        ring.add("ing-1", FakeIngester::failing()).await;
        let router = router(&ring, 0, false).await;
        let request = ReadRequest {
            queries: vec![query(0, 1, vec![eq("__name__", "up")])],
            accepted_response_types: vec![],
        };
        let (status, _, body) = post(&router, Some("team-a"), encode(&request)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            text(&body).contains("fake ingester is down"),
            "{}",
            text(&body)
        );
    }
}
