//! The distributor as a service of the process: it joins the distributor ring (whose size
//! divides global rate limits), keeps heartbeating, and runs the HA tracker's KV watch.

use std::sync::Arc;

use async_trait::async_trait;
use norn_common::service::{Service, ServiceError};
use norn_ring::desc::InstanceState;
use norn_ring::lifecycler::Lifecycler;
use tokio_util::sync::CancellationToken;

use crate::distributor::Distributor;

/// The distributor's service.
#[derive(Debug)]
pub struct DistributorService {
    distributor: Arc<Distributor>,
    lifecycler: Arc<Lifecycler>,
}

impl DistributorService {
    /// Returns the service running `distributor`, registered in the distributor ring by
    /// `lifecycler`.
    pub fn new(distributor: Arc<Distributor>, lifecycler: Arc<Lifecycler>) -> Self {
        Self {
            distributor,
            lifecycler,
        }
    }

    /// Returns the distributor.
    pub fn distributor(&self) -> &Arc<Distributor> {
        &self.distributor
    }
}

#[async_trait]
impl Service for DistributorService {
    async fn starting(&self, stop: CancellationToken) -> Result<(), ServiceError> {
        if let Some(tracker) = self.distributor.ha_tracker() {
            tracker.start(stop.clone()).await.map_err(|error| {
                ServiceError::msg(format!("cannot start the HA tracker: {error}"))
            })?;
        }
        self.lifecycler
            .register(InstanceState::Active)
            .await
            .map_err(|error| {
                ServiceError::msg(format!("cannot join the distributor ring: {error}"))
            })
    }

    async fn running(&self, stop: CancellationToken) -> Result<(), ServiceError> {
        self.lifecycler.run_heartbeats(stop).await;
        Ok(())
    }

    async fn stopping(&self) -> Result<(), ServiceError> {
        if let Err(error) = self.lifecycler.unregister().await {
            tracing::warn!(%error, "could not leave the distributor ring");
        }
        Ok(())
    }
}
