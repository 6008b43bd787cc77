//! Request logging and request metrics for every route.
//!
//! [`observe`] wraps the whole router: it times each request, records it in
//! `cortex_request_duration_seconds{method, route, status_code}` (Mimir's name, so its
//! dashboards work against Norn), tracks `cortex_inflight_requests`, and logs one line per
//! request with method, path, tenant, status and duration: at debug level for successes, info
//! for client errors and warn for server errors, so a busy write path does not flood the log.
//! The route label is the matched route pattern with punctuation turned into `_`
//! (`/api/v1/push` → `api_v1_push`), which keeps its cardinality bounded.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::tenant::ORG_ID_HEADER;

/// Labels of the request duration histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// The route name (matched pattern, sanitised) or `other`.
    pub route: String,
    /// The response status code.
    pub status_code: String,
}

/// Labels of the in-flight gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InflightLabels {
    /// HTTP method.
    pub method: String,
    /// The route name.
    pub route: String,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The HTTP server's own metrics.
#[derive(Clone, Debug)]
pub struct HttpMetrics {
    duration: HistogramFamily,
    inflight: Family<InflightLabels, Gauge>,
}

fn request_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0,
    ])
}

impl HttpMetrics {
    /// Registers the metrics in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            duration: HistogramFamily::new_with_constructor(request_histogram),
            inflight: Family::default(),
        };
        registry.register(
            "cortex_request_duration_seconds",
            "Time (in seconds) spent serving HTTP requests",
            metrics.duration.clone(),
        );
        registry.register(
            "cortex_inflight_requests",
            "Current number of inflight requests",
            metrics.inflight.clone(),
        );
        metrics
    }
}

/// Turns a route pattern into a metric label: `/api/v1/push` → `api_v1_push`.
pub fn route_name(pattern: &str) -> String {
    let name: String = pattern
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.is_empty() {
        "root".to_owned()
    } else {
        name
    }
}

/// Times, counts and logs one request (an axum `from_fn_with_state` middleware).
pub async fn observe(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|matched| route_name(matched.as_str()))
        .unwrap_or_else(|| "other".to_owned());
    let tenant = request
        .headers()
        .get(ORG_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let inflight_labels = InflightLabels {
        method: method.clone(),
        route: route.clone(),
    };
    metrics.inflight.get_or_create(&inflight_labels).inc();
    let response = next.run(request).await;
    metrics.inflight.get_or_create(&inflight_labels).dec();
    let elapsed = started.elapsed();
    let status = response.status();
    metrics
        .duration
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route,
            status_code: status.as_str().to_owned(),
        })
        .observe(elapsed.as_secs_f64());
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        tracing::warn!(method = %method, path = %path, tenant = %tenant, status = status.as_u16(), duration_ms, "http request");
    } else if status.is_client_error() {
        tracing::info!(method = %method, path = %path, tenant = %tenant, status = status.as_u16(), duration_ms, "http request");
    } else {
        tracing::debug!(method = %method, path = %path, tenant = %tenant, status = status.as_u16(), duration_ms, "http request");
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use prometheus_client::encoding::text::encode;
    use tower::ServiceExt;

    use super::*;

    #[test]
    fn route_names_are_sanitised() {
        assert_eq!(route_name("/api/v1/push"), "api_v1_push");
        assert_eq!(
            route_name("/prometheus/api/v1/label/{name}/values"),
            "prometheus_api_v1_label__name__values"
        );
        assert_eq!(route_name("/"), "root");
    }

    #[tokio::test]
    async fn requests_are_counted_by_route_and_status() {
        let mut registry = Registry::default();
        let metrics = HttpMetrics::new(&mut registry);
        let router = Router::new()
            .route("/ready", get(|| async { "ready" }))
            .route("/fail", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .layer(axum::middleware::from_fn_with_state(metrics, observe));
        for path in ["/ready", "/ready", "/fail", "/missing"] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            router.clone().oneshot(request).await.unwrap();
        }
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(r#"cortex_request_duration_seconds_count{method="GET",route="ready",status_code="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"cortex_request_duration_seconds_count{method="GET",route="fail",status_code="503"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"cortex_request_duration_seconds_count{method="GET",route="other",status_code="404"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"cortex_inflight_requests{method="GET",route="ready"} 0"#),
            "{text}"
        );
    }
}
