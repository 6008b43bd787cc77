//! The Prometheus HTTP API under the Prometheus prefix (Mimir's `-http.prometheus-http-prefix`,
//! `/prometheus` by default), as Prometheus 3 and Mimir answer it and Grafana's Prometheus
//! data source calls it.
//!
//! | route | methods | module |
//! | --- | --- | --- |
//! | `api/v1/query` | GET, POST | `query` |
//! | `api/v1/query_range` | GET, POST | `query` |
//! | `api/v1/series` | GET, POST | `series` |
//! | `api/v1/labels` | GET, POST | `series` |
//! | `api/v1/label/{name}/values` | GET, POST | `series` |
//! | `api/v1/metadata` | GET, POST | `series` |
//! | `api/v1/query_exemplars` | GET, POST | `status` |
//! | `api/v1/format_query` | GET, POST | `status` |
//! | `api/v1/parse_query` | GET, POST | `status` |
//! | `api/v1/status/buildinfo` | GET (also at the root, as Mimir serves it) | `status` |
//!
//! POST takes `application/x-www-form-urlencoded` bodies; parameters may also be in the URL
//! (`params`). Every route but `buildinfo`, `format_query` and `parse_query` needs the
//! tenant (`X-Scope-OrgID`, `a|b` with federation); a missing tenant is `401 no org id` as
//! on every other Norn endpoint. Answers and errors are Prometheus's JSON (`json`,
//! `errors`).
//!
//! Not served: `status/config` and `status/flags` (Grafana's data source does not call them,
//! and Grafana's alerting treats an answering `status/flags` as Thanos, so Mimir leaves it
//! out under the prefix too).

pub(crate) mod ast;
pub(crate) mod errors;
pub(crate) mod json;
pub(crate) mod params;
pub(crate) mod query;
pub(crate) mod series;
pub(crate) mod status;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use norn_limits::Overrides;
use norn_promql::Engine;
use tokio::sync::Semaphore;

use crate::config::QuerierConfig;
use crate::ingesters::IngesterQuerier;
use crate::metrics::QuerierMetrics;

pub use status::BuildInfo;

/// Everything the query API's handlers share.
#[derive(Debug)]
pub struct QueryApi {
    engine: Engine,
    ingesters: Arc<IngesterQuerier>,
    overrides: Overrides,
    config: QuerierConfig,
    slots: Arc<Semaphore>,
    metrics: QuerierMetrics,
    build: BuildInfo,
}

impl QueryApi {
    /// Returns the API over `ingesters`, reading per-tenant limits from `overrides`.
    pub fn new(
        config: QuerierConfig,
        ingesters: Arc<IngesterQuerier>,
        overrides: Overrides,
        metrics: QuerierMetrics,
        build: BuildInfo,
    ) -> Self {
        let slots = usize::try_from(config.max_concurrent.max(1)).unwrap_or(1);
        Self {
            engine: Engine::new(config.engine_options()),
            ingesters,
            overrides,
            config,
            slots: Arc::new(Semaphore::new(slots)),
            metrics,
            build,
        }
    }

    /// Returns the metrics the API updates.
    pub fn metrics(&self) -> &QuerierMetrics {
        &self.metrics
    }
}

/// The API's paths below the prefix.
pub const QUERY_PATH: &str = "/api/v1/query";
/// `query_range`'s path below the prefix.
pub const QUERY_RANGE_PATH: &str = "/api/v1/query_range";
/// `buildinfo`'s path below the prefix (and at the root).
pub const BUILDINFO_PATH: &str = "/api/v1/status/buildinfo";

/// Returns the router serving the API under `prefix` (a trailing `/` is ignored).
///
/// The routes that need a tenant use [`norn_http::Tenants`]: install the server's
/// `TenantResolver` as an `axum::Extension` around this router.
pub fn routes(api: Arc<QueryApi>, prefix: &str) -> Router {
    let prefix = prefix.trim_end_matches('/');
    let path = |suffix: &str| format!("{prefix}{suffix}");
    let mut router = Router::new()
        .route(&path(QUERY_PATH), get(query::instant).post(query::instant))
        .route(
            &path(QUERY_RANGE_PATH),
            get(query::range).post(query::range),
        )
        .route(
            &path("/api/v1/series"),
            get(series::series).post(series::series),
        )
        .route(
            &path("/api/v1/labels"),
            get(series::label_names).post(series::label_names),
        )
        .route(
            &path("/api/v1/label/{name}/values"),
            get(series::label_values).post(series::label_values),
        )
        .route(
            &path("/api/v1/metadata"),
            get(series::metadata).post(series::metadata),
        )
        .route(
            &path("/api/v1/query_exemplars"),
            get(status::query_exemplars).post(status::query_exemplars),
        )
        .route(
            &path("/api/v1/format_query"),
            get(status::format_query).post(status::format_query),
        )
        .route(
            &path("/api/v1/parse_query"),
            get(status::parse_query).post(status::parse_query),
        )
        .route(&path(BUILDINFO_PATH), get(status::buildinfo));
    if !prefix.is_empty() {
        router = router.route(BUILDINFO_PATH, get(status::buildinfo));
    }
    router.with_state(api)
}

#[cfg(test)]
mod tests;
