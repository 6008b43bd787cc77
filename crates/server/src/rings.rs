//! The `ring` module and the ring status pages.
//!
//! One KV store holds every ring of the process (in memory on a single node). The
//! [`RingsService`] loads the ingester and distributor rings before the roles start and keeps
//! their views current from the store's watch. `/ingester/ring` and `/distributor/ring` show
//! each ring as dskit does (HTML, or JSON for `Accept: application/json`), and a `POST` with
//! `forget=<id>` removes an instance that is gone for good.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use norn_common::service::{Service, ServiceError};
use norn_common::time::now_ms;
use norn_ring::{Kv, RingClient, status};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

/// Loads and watches the rings.
#[derive(Debug)]
pub struct RingsService {
    clients: Vec<Arc<RingClient>>,
}

impl RingsService {
    /// Returns a service keeping `clients` current.
    pub fn new(clients: Vec<Arc<RingClient>>) -> Self {
        Self { clients }
    }
}

#[async_trait]
impl Service for RingsService {
    async fn starting(&self, _stop: CancellationToken) -> Result<(), ServiceError> {
        for client in &self.clients {
            client.start().await.map_err(|error| {
                ServiceError::msg(format!("cannot load ring {}: {error}", client.ring_key()))
            })?;
        }
        Ok(())
    }

    async fn running(&self, stop: CancellationToken) -> Result<(), ServiceError> {
        let watches: Vec<_> = self
            .clients
            .iter()
            .map(|client| client.spawn_watch(stop.clone()))
            .collect();
        stop.cancelled().await;
        for watch in watches {
            let _ = watch.await;
        }
        Ok(())
    }
}

/// What a ring page shows.
#[derive(Clone, Debug)]
pub struct RingPage {
    /// The page title.
    pub title: &'static str,
    /// Where the page is served (the form posts back to it).
    pub path: &'static str,
    /// The ring's client.
    pub client: Arc<RingClient>,
    /// The KV store, for `forget`.
    pub kv: Arc<dyn Kv>,
}

/// Returns a router serving `page` at its path.
pub fn page_routes(page: RingPage) -> Router {
    Router::new()
        .route(page.path, get(show).post(forget))
        .with_state(page)
}

async fn show(State(page): State<RingPage>, headers: HeaderMap) -> Response {
    let ring = page.client.ring();
    let desc = page.client.desc();
    let now = now_ms();
    let json = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"));
    if json {
        return axum::Json(status::render_json(&desc, &ring, now)).into_response();
    }
    Html(status::render_html(page.title, &desc, &ring, now)).into_response()
}

#[derive(Debug, Deserialize)]
struct ForgetForm {
    forget: String,
}

async fn forget(State(page): State<RingPage>, Form(form): Form<ForgetForm>) -> Response {
    match status::forget(page.kv.as_ref(), page.client.ring_key(), &form.forget).await {
        Ok(_) => Redirect::to(page.path).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot forget instance {}: {error}\n", form.forget),
        )
            .into_response(),
    }
}
