//! The endpoints every Norn process serves, whatever its target.
//!
//! | path | answer |
//! | --- | --- |
//! | `/` | an HTML index of these endpoints |
//! | `/ready` | `200 ready` once every service is Running, else `503` naming those that are not |
//! | `/services` | each service and its state, one per line |
//! | `/metrics` | the process's metrics in the Prometheus/OpenMetrics text format |
//! | `/config` | the effective configuration as YAML, secrets redacted; `?mode=diff` shows only what differs from the defaults, `?mode=defaults` the defaults |
//! | `/runtime_config` | the runtime configuration in force (per-tenant effective limits); `?mode=diff` shows only overridden keys |
//! | `/api/v1/user_limits` | the calling tenant's effective limits as JSON (needs `X-Scope-OrgID`) |

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use norn_common::config::{self, ConfigSection};
use norn_common::service::ServiceStatus;
use norn_http::{HttpError, Tenant};
use norn_limits::Overrides;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

use crate::config::RootConfig;

/// What the admin endpoints read.
#[derive(Clone, Debug)]
pub struct AdminState {
    /// The effective configuration.
    pub config: Arc<RootConfig>,
    /// The services' states.
    pub status: ServiceStatus,
    /// The metrics registry, complete before the server starts.
    pub registry: Arc<Registry>,
    /// The per-tenant limits and runtime overrides.
    pub overrides: Overrides,
}

/// Returns the router of the admin endpoints.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/ready", get(ready))
        .route("/services", get(services))
        .route("/metrics", get(metrics))
        .route("/config", get(effective_config))
        .route("/runtime_config", get(runtime_config))
        .route("/api/v1/user_limits", get(user_limits))
        .with_state(state)
}

/// The calling tenant's effective limits, with the same keys as the `limits:` block.
async fn user_limits(State(state): State<AdminState>, Tenant(tenant): Tenant) -> Response {
    axum::Json(state.overrides.limits(tenant.as_str()).as_ref().clone()).into_response()
}

async fn index() -> Html<&'static str> {
    Html(concat!(
        "<!DOCTYPE html><html><head><title>Norn</title></head><body><h1>Norn</h1><ul>",
        "<li><a href=\"/ready\">Readiness</a></li>",
        "<li><a href=\"/services\">Service states</a></li>",
        "<li><a href=\"/config\">Current configuration</a> ",
        "(<a href=\"/config?mode=diff\">diff from defaults</a>, ",
        "<a href=\"/config?mode=defaults\">defaults</a>)</li>",
        "<li><a href=\"/runtime_config\">Runtime configuration</a> ",
        "(<a href=\"/runtime_config?mode=diff\">diff from defaults</a>)</li>",
        "<li><a href=\"/metrics\">Metrics</a></li>",
        "<li><a href=\"/ingester/ring\">Ingester ring</a>, ",
        "<a href=\"/distributor/ring\">distributor ring</a>, ",
        "<a href=\"/distributor/ha_tracker\">HA tracker</a>, ",
        "<a href=\"/distributor/all_user_stats\">user statistics</a>, ",
        "<a href=\"/ingester/tenants\">ingester tenants</a></li>",
        "<li>Dangerous: <a href=\"/ingester/flush\">flush ingester</a>, ",
        "<a href=\"/ingester/prepare-shutdown\">prepare ingester shutdown</a></li>",
        "</ul></body></html>"
    ))
}

async fn ready(State(state): State<AdminState>) -> Response {
    match state.status.readiness() {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response(),
    }
}

async fn services(State(state): State<AdminState>) -> String {
    state
        .status
        .states()
        .into_iter()
        .map(|(name, service_state)| format!("{name} {service_state}\n"))
        .collect()
}

async fn metrics(State(state): State<AdminState>) -> Response {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &state.registry) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(error) => {
            HttpError::internal(format!("failed to encode metrics: {error}")).into_response()
        }
    }
}

/// The `?mode=` parameter of `/config` and `/runtime_config`.
#[derive(Debug, Deserialize)]
struct ModeParams {
    mode: Option<String>,
}

fn yaml_response(value: &Value) -> Response {
    match serde_yaml_ng::to_string(value) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response(),
        Err(error) => {
            HttpError::internal(format!("failed to render YAML: {error}")).into_response()
        }
    }
}

fn unknown_mode(mode: &str, valid: &str) -> Response {
    HttpError::bad_request(format!("unknown mode {mode:?}; use {valid}")).into_response()
}

async fn effective_config(
    State(state): State<AdminState>,
    Query(params): Query<ModeParams>,
) -> Response {
    let mode = params.mode.as_deref().unwrap_or("");
    if !["", "diff", "defaults"].contains(&mode) {
        return unknown_mode(mode, "diff or defaults");
    }
    let specs = RootConfig::specs();
    let redacted = |config: &RootConfig| {
        config::to_value(config).map(|mut tree| {
            config::redact_secrets(&mut tree, &specs);
            tree
        })
    };
    let rendered = redacted(&RootConfig::default()).and_then(|defaults| {
        Ok(match mode {
            "defaults" => defaults,
            "diff" => config::diff_values(&redacted(&state.config)?, &defaults)
                .unwrap_or(Value::Mapping(Mapping::new())),
            _ => redacted(&state.config)?,
        })
    });
    match rendered {
        Ok(value) => yaml_response(&value),
        Err(error) => HttpError::internal(error.to_string()).into_response(),
    }
}

async fn runtime_config(
    State(state): State<AdminState>,
    Query(params): Query<ModeParams>,
) -> Response {
    let current = state.overrides.current();
    let rendered = match params.mode.as_deref() {
        None | Some("") => config::to_value(current.as_ref()),
        Some("diff") => (|| {
            let defaults = config::to_value(state.overrides.defaults())?;
            let mut tenants = Mapping::new();
            for (tenant, limits) in &current.overrides {
                let limits = config::to_value(limits.as_ref())?;
                let changed = config::diff_values(&limits, &defaults)
                    .unwrap_or(Value::Mapping(Mapping::new()));
                tenants.insert(Value::String(tenant.clone()), changed);
            }
            let mut top = Mapping::new();
            top.insert(Value::String("overrides".into()), Value::Mapping(tenants));
            Ok(Value::Mapping(top))
        })(),
        Some(mode) => return unknown_mode(mode, "diff"),
    };
    match rendered {
        Ok(value) => yaml_response(&value),
        Err(error) => HttpError::internal(error.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests;
