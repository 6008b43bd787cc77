//! The HTTP listener as a service.
//!
//! Binding happens in `starting`, so a port already in use fails start-up with a clear error
//! before any role starts. Serving happens in `running` until shutdown, when the server stops
//! accepting connections and lets in-flight requests finish. Because every role depends on the
//! server, it is the first module up and the last one down.

use std::net::SocketAddr;
use std::sync::Mutex;

use async_trait::async_trait;
use axum::Router;
use norn_common::service::{Service, ServiceError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serves a router on one address.
#[derive(Debug)]
pub struct HttpServerService {
    address: SocketAddr,
    router: Mutex<Option<Router>>,
    listener: Mutex<Option<TcpListener>>,
    bound: std::sync::OnceLock<SocketAddr>,
}

impl HttpServerService {
    /// Returns a server for `address`; its router is set with [`Self::set_router`].
    pub fn new(address: SocketAddr) -> Self {
        Self {
            address,
            router: Mutex::new(None),
            listener: Mutex::new(None),
            bound: std::sync::OnceLock::new(),
        }
    }

    /// Sets the router to serve. Must be called before the service starts.
    pub fn set_router(&self, router: Router) {
        if let Ok(mut slot) = self.router.lock() {
            *slot = Some(router);
        }
    }

    /// Returns the bound address once started (useful with port 0).
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.bound.get().copied()
    }
}

#[async_trait]
impl Service for HttpServerService {
    async fn starting(&self, _stop: CancellationToken) -> Result<(), ServiceError> {
        let listener = TcpListener::bind(self.address).await.map_err(|error| {
            ServiceError::msg(format!(
                "cannot listen on {} (-server.http-listen-address / -server.http-listen-port): {error}",
                self.address
            ))
        })?;
        let bound = listener.local_addr().unwrap_or(self.address);
        tracing::info!(address = %bound, "http server listening");
        let _ = self.bound.set(bound);
        if let Ok(mut slot) = self.listener.lock() {
            *slot = Some(listener);
        }
        Ok(())
    }

    async fn running(&self, stop: CancellationToken) -> Result<(), ServiceError> {
        let listener = self.listener.lock().ok().and_then(|mut slot| slot.take());
        let router = self.router.lock().ok().and_then(|mut slot| slot.take());
        let (Some(listener), Some(router)) = (listener, router) else {
            return Err(ServiceError::msg(
                "http server started without a listener or router",
            ));
        };
        axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
            .map_err(|error| ServiceError::msg(format!("http server failed: {error}")))
    }
}
