//! The ingester's operator endpoints, as Mimir serves them:
//!
//! | path | what it does |
//! | --- | --- |
//! | `GET,POST /ingester/flush` (`?tenant=…`, `&wait=true`) | cuts heads into blocks; the status code does not reflect the outcome, as in Mimir, unless `wait=true` |
//! | `POST /ingester/shutdown` | cuts blocks, leaves the ring and stops the ingester; the process keeps running and `/ready` fails |
//! | `GET,POST,DELETE /ingester/prepare-shutdown` | inspects, arms or disarms "cut blocks and leave the ring on the next stop" |
//! | `GET /ingester/tenants` | the tenants with an open TSDB and their series |

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::service::IngesterService;

/// Returns the ingester's routes.
pub fn routes(service: Arc<IngesterService>) -> Router {
    Router::new()
        .route("/ingester/flush", get(flush).post(flush))
        .route("/ingester/shutdown", get(shutdown).post(shutdown))
        .route(
            "/ingester/prepare-shutdown",
            get(prepare_status).post(prepare_arm).delete(prepare_disarm),
        )
        .route("/ingester/tenants", get(tenants))
        .with_state(service)
}

#[derive(Debug, Deserialize)]
struct FlushParams {
    tenant: Option<String>,
    #[serde(default)]
    wait: Option<String>,
}

async fn flush(
    State(service): State<Arc<IngesterService>>,
    Query(params): Query<FlushParams>,
) -> Response {
    let ingester = service.ingester().clone();
    let wait = params.wait.as_deref() == Some("true");
    let task = async move { ingester.flush(params.tenant).await };
    if !wait {
        tokio::spawn(async move {
            if let Err(error) = task.await {
                tracing::error!(%error, "flush failed");
            }
        });
        return (StatusCode::NO_CONTENT, "").into_response();
    }
    match task.await {
        Ok(tenants) => (
            StatusCode::OK,
            format!(
                "flushed {} tenant(s): {}\n",
                tenants.len(),
                tenants.join(", ")
            ),
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response(),
    }
}

async fn shutdown(State(service): State<Arc<IngesterService>>) -> Response {
    service.request_shutdown();
    (StatusCode::NO_CONTENT, "").into_response()
}

async fn prepare_status(State(service): State<Arc<IngesterService>>) -> Response {
    let state = if service.shutdown_prepared() {
        "set"
    } else {
        "unset"
    };
    (StatusCode::OK, format!("{state}\n")).into_response()
}

async fn prepare_arm(State(service): State<Arc<IngesterService>>) -> Response {
    service.prepare_shutdown(true);
    (StatusCode::NO_CONTENT, "").into_response()
}

async fn prepare_disarm(State(service): State<Arc<IngesterService>>) -> Response {
    service.prepare_shutdown(false);
    (StatusCode::NO_CONTENT, "").into_response()
}

async fn tenants(State(service): State<Arc<IngesterService>>) -> Response {
    let rows: Vec<serde_json::Value> = service
        .ingester()
        .tenants()
        .iter()
        .map(|tenant| {
            serde_json::json!({
                "tenant": tenant.tenant(),
                "series": tenant.series(),
                "active_series": tenant.active_series(),
                "blocks": tenant.db().blocks().len(),
            })
        })
        .collect();
    axum::Json(rows).into_response()
}
