//! The small endpoints: `status/buildinfo` (how Grafana recognises the backend),
//! `format_query`, `parse_query` and `query_exemplars` (Norn stores no exemplars, so a valid
//! request answers an empty list, as Prometheus does with exemplar storage disabled).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use norn_http::Tenants;
use serde_json::json;

use crate::api::QueryApi;
use crate::api::ast;
use crate::api::errors::ApiError;
use crate::api::json::{self, Notes};
use crate::api::params::{MAX_TIME_MS, MIN_TIME_MS, Params};

/// What `status/buildinfo` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    /// The release (`CARGO_PKG_VERSION`).
    pub version: String,
    /// The git revision.
    pub revision: String,
    /// The git branch (empty when unknown).
    pub branch: String,
    /// Who built it (empty when unknown).
    pub build_user: String,
    /// When it was built (empty when unknown).
    pub build_date: String,
    /// The toolchain, reported in Prometheus's `goVersion` field (e.g. `rustc 1.95.0`).
    pub toolchain: String,
}

impl Default for BuildInfo {
    fn default() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            revision: String::new(),
            branch: String::new(),
            build_user: String::new(),
            build_date: String::new(),
            toolchain: "rust".to_owned(),
        }
    }
}

/// `GET <prefix>/api/v1/status/buildinfo` (no tenant needed).
///
/// Prometheus's fields plus Mimir's `application` and `features`. Grafana reads `version`
/// and treats a non-empty `features` map as Mimir; it offers rule editing only when
/// `features.ruler_config_api` is `"true"`, which Norn (without a ruler) does not claim.
pub(crate) async fn buildinfo(State(api): State<Arc<QueryApi>>) -> Response {
    let build = &api.build;
    json::success_value(
        &json!({
            "application": "Norn",
            "version": build.version,
            "revision": build.revision,
            "branch": build.branch,
            "buildUser": build.build_user,
            "buildDate": build.build_date,
            "goVersion": build.toolchain,
            "features": {
                "ruler_config_api": "false",
                "alertmanager_config_api": "false",
                "query_sharding": "false",
                "federated_rules": "false",
            },
        }),
        &Notes::default(),
    )
}

/// `GET|POST <prefix>/api/v1/format_query`: the query pretty-printed.
pub(crate) async fn format_query(
    State(api): State<Arc<QueryApi>>,
    params: Params,
) -> Result<Response, ApiError> {
    let expr = api.engine.parse(params.get("query"))?;
    Ok(json::success_value(
        &json!(expr.prettify()),
        &Notes::default(),
    ))
}

/// `GET|POST <prefix>/api/v1/parse_query`: the query's syntax tree as JSON.
pub(crate) async fn parse_query(
    State(api): State<Arc<QueryApi>>,
    params: Params,
) -> Result<Response, ApiError> {
    let expr = api.engine.parse(params.get("query"))?;
    Ok(json::success_value(
        &ast::translate(&expr),
        &Notes::default(),
    ))
}

/// `GET|POST <prefix>/api/v1/query_exemplars`: validated, then always empty.
pub(crate) async fn query_exemplars(
    State(api): State<Arc<QueryApi>>,
    Tenants(_tenants): Tenants,
    params: Params,
) -> Result<Response, ApiError> {
    let start = params.time_or("start", MIN_TIME_MS)?;
    let end = params.time_or("end", MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
        ));
    }
    api.engine
        .parse(params.get("query"))
        .map_err(|error| ApiError::bad_data(error.to_string()))?;
    Ok(json::success("[]", &Notes::default()))
}
