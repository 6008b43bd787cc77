//! The ingester as a service of the process: ring membership, WAL replay before ready, the
//! periodic work (head compaction, active series, rates) and the shutdown endpoints.
//!
//! Start-up: register in the ring as JOINING, replay every tenant's WAL, then turn ACTIVE and
//! start accepting pushes, so `/ready` answers 200 only once replay is done. Shutdown: turn
//! LEAVING, close the TSDBs (cutting blocks first when asked to), then leave the ring if
//! `unregister_on_shutdown` says so. `/ingester/shutdown` does the same while the process
//! keeps running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use norn_common::fs::ensure_writable_dir;
use norn_common::service::{Service, ServiceError};
use norn_common::time::now_ms;
use norn_ring::desc::InstanceState;
use norn_ring::lifecycler::Lifecycler;
use tokio_util::sync::CancellationToken;

use crate::ingester::Ingester;
use crate::rate;

/// The ingester's service.
#[derive(Debug)]
pub struct IngesterService {
    ingester: Ingester,
    lifecycler: Arc<Lifecycler>,
    shutdown_requested: CancellationToken,
    flush_on_shutdown: AtomicBool,
}

impl IngesterService {
    /// Returns the service running `ingester`, registered in the ring by `lifecycler`.
    pub fn new(ingester: Ingester, lifecycler: Arc<Lifecycler>) -> Self {
        Self {
            ingester,
            lifecycler,
            shutdown_requested: CancellationToken::new(),
            flush_on_shutdown: AtomicBool::new(false),
        }
    }

    /// Returns the ingester.
    pub fn ingester(&self) -> &Ingester {
        &self.ingester
    }

    /// Returns the ring lifecycler.
    pub fn lifecycler(&self) -> &Arc<Lifecycler> {
        &self.lifecycler
    }

    /// Arms or disarms "cut blocks and leave the ring on the next stop"
    /// (`/ingester/prepare-shutdown`).
    pub fn prepare_shutdown(&self, armed: bool) {
        self.flush_on_shutdown.store(armed, Ordering::Release);
        self.lifecycler.set_unregister_on_shutdown(armed);
    }

    /// Returns whether prepare-shutdown is armed.
    pub fn shutdown_prepared(&self) -> bool {
        self.flush_on_shutdown.load(Ordering::Acquire)
    }

    /// Stops the ingester now, cutting blocks and leaving the ring, while the process keeps
    /// running (`/ingester/shutdown`). `/ready` fails afterwards.
    pub fn request_shutdown(&self) {
        self.prepare_shutdown(true);
        self.shutdown_requested.cancel();
    }
}

#[async_trait]
impl Service for IngesterService {
    async fn starting(&self, _stop: CancellationToken) -> Result<(), ServiceError> {
        ensure_writable_dir(
            self.ingester.dir(),
            "blocks_storage.tsdb.dir (-blocks-storage.tsdb.dir)",
        )?;
        self.lifecycler
            .register(InstanceState::Joining)
            .await
            .map_err(|error| {
                ServiceError::msg(format!("cannot join the ingester ring: {error}"))
            })?;
        let started = std::time::Instant::now();
        let tenants = self
            .ingester
            .open_existing()
            .await
            .map_err(|error| ServiceError::msg(format!("WAL replay failed: {error}")))?;
        tracing::info!(
            tenants = tenants.len(),
            series = self.ingester.series_in_memory(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "replayed the WAL of every tenant"
        );
        self.lifecycler
            .set_state(InstanceState::Active)
            .await
            .map_err(|error| {
                ServiceError::msg(format!("cannot turn ACTIVE in the ring: {error}"))
            })?;
        Ok(())
    }

    async fn running(&self, stop: CancellationToken) -> Result<(), ServiceError> {
        let until = CancellationToken::new();
        let heartbeats = {
            let lifecycler = Arc::clone(&self.lifecycler);
            let until = until.clone();
            tokio::spawn(async move { lifecycler.run_heartbeats(until).await })
        };
        let config = self.ingester.config();
        let tsdb = self.ingester.tsdb_config();
        let mut compaction = tokio::time::interval(tsdb.head_compaction_interval.get());
        let mut active = tokio::time::interval(config.active_series_metrics_update_period.get());
        let mut rates = tokio::time::interval(rate::TICK);
        for timer in [&mut compaction, &mut active, &mut rates] {
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick of an interval fires at once; skip it.
            timer.tick().await;
        }
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.shutdown_requested.cancelled() => {
                    tracing::info!("ingester shutdown requested through the API");
                    break;
                }
                _ = compaction.tick() => self.ingester.compact_heads(now_ms()).await,
                _ = active.tick() => self.ingester.update_active_series(now_ms()),
                _ = rates.tick() => self.ingester.tick_rates(),
            }
        }
        until.cancel();
        let _ = heartbeats.await;
        Ok(())
    }

    async fn stopping(&self) -> Result<(), ServiceError> {
        if let Err(error) = self.lifecycler.set_state(InstanceState::Leaving).await {
            tracing::warn!(%error, "could not mark the ingester LEAVING in the ring");
        }
        let flush =
            self.shutdown_prepared() || self.ingester.tsdb_config().flush_blocks_on_shutdown;
        self.ingester.close_all(flush).await;
        if self.lifecycler.unregister_on_shutdown()
            && let Err(error) = self.lifecycler.unregister().await
        {
            tracing::warn!(%error, "could not leave the ingester ring");
        }
        Ok(())
    }
}
