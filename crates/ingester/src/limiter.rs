//! Per-tenant series limits, enforced where a series is created.
//!
//! [`SeriesLimiter`] is the TSDB head's [`SeriesLifecycle`] hook for one tenant. Before a new
//! series is created it checks the tenant's `max_global_series_per_user` and
//! `max_global_series_per_metric`, turned into this ingester's share by
//! [`local_limit`] exactly as Mimir does; it counts series per metric as they come and go,
//! including series restored from the WAL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use norn_limits::error_id::limit_error_message;
use norn_limits::{ErrorId, Overrides};
use norn_model::Labels;
use norn_tsdb::head::{SeriesLifecycle, SeriesRejection};

/// Returns the number of healthy ingesters and the replication factor, for turning global
/// limits into local ones.
pub type RingShape = Arc<dyn Fn() -> (usize, usize) + Send + Sync>;

/// Converts a cluster-wide limit into this ingester's share: each series lives on RF of the
/// N ingesters, so one ingester holds about `global * RF / N` of a tenant's series. 0 stays
/// 0 (unlimited).
pub fn local_limit(global: u64, ingesters: usize, replication_factor: usize) -> u64 {
    if global == 0 {
        return 0;
    }
    let ingesters = ingesters.max(1) as f64;
    let replication = replication_factor.clamp(1, ingesters as usize) as f64;
    ((global as f64 / ingesters) * replication).max(1.0) as u64
}

/// Counts of series held across every tenant of this ingester.
#[derive(Debug, Default)]
pub struct SeriesCounts {
    /// Series in memory.
    pub series: AtomicU64,
    /// Series created since start.
    pub created: AtomicU64,
    /// Series removed since start.
    pub removed: AtomicU64,
}

/// One tenant's series-limit hook and counters.
pub struct SeriesLimiter {
    tenant: String,
    overrides: Overrides,
    ring_shape: RingShape,
    series: AtomicU64,
    per_metric: Mutex<HashMap<String, u64>>,
    instance: Arc<SeriesCounts>,
}

impl std::fmt::Debug for SeriesLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesLimiter")
            .field("tenant", &self.tenant)
            .field("series", &self.series)
            .finish_non_exhaustive()
    }
}

impl SeriesLimiter {
    /// Returns the hook for `tenant`.
    pub fn new(
        tenant: &str,
        overrides: Overrides,
        ring_shape: RingShape,
        instance: Arc<SeriesCounts>,
    ) -> Self {
        Self {
            tenant: tenant.to_owned(),
            overrides,
            ring_shape,
            series: AtomicU64::new(0),
            per_metric: Mutex::new(HashMap::new()),
            instance,
        }
    }

    /// Returns the tenant's series in this ingester's memory.
    pub fn series(&self) -> u64 {
        self.series.load(Ordering::Relaxed)
    }

    /// Returns the tenant's current local limits (per user, per metric).
    pub fn local_limits(&self) -> (u64, u64) {
        let limits = self.overrides.limits(&self.tenant);
        let (ingesters, replication) = (self.ring_shape)();
        (
            local_limit(limits.max_global_series_per_user, ingesters, replication),
            local_limit(limits.max_global_series_per_metric, ingesters, replication),
        )
    }
}

impl SeriesLifecycle for SeriesLimiter {
    fn pre_creation(&self, labels: &Labels) -> Result<(), SeriesRejection> {
        let (per_user, per_metric) = self.local_limits();
        if per_user > 0 && self.series() >= per_user {
            return Err(SeriesRejection {
                reason: ErrorId::MaxSeriesPerUser.as_str(),
                message: limit_error_message(
                    &format!("per-user series limit of {per_user} exceeded"),
                    ErrorId::MaxSeriesPerUser,
                ),
            });
        }
        if per_metric > 0 {
            let counts = self
                .per_metric
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if counts.get(labels.metric_name()).copied().unwrap_or(0) >= per_metric {
                return Err(SeriesRejection {
                    reason: ErrorId::MaxSeriesPerMetric.as_str(),
                    message: limit_error_message(
                        &format!("per-metric series limit of {per_metric} exceeded"),
                        ErrorId::MaxSeriesPerMetric,
                    ),
                });
            }
        }
        Ok(())
    }

    fn post_creation(&self, labels: &Labels) {
        self.series.fetch_add(1, Ordering::Relaxed);
        self.instance.series.fetch_add(1, Ordering::Relaxed);
        self.instance.created.fetch_add(1, Ordering::Relaxed);
        let mut counts = self
            .per_metric
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match counts.get_mut(labels.metric_name()) {
            Some(count) => *count += 1,
            None => {
                counts.insert(labels.metric_name().to_owned(), 1);
            }
        }
    }

    fn post_deletion(&self, labels: &Labels) {
        self.series.fetch_sub(1, Ordering::Relaxed);
        self.instance.series.fetch_sub(1, Ordering::Relaxed);
        self.instance.removed.fetch_add(1, Ordering::Relaxed);
        let mut counts = self
            .per_metric
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(labels.metric_name()) {
            *count -= 1;
            if *count == 0 {
                counts.remove(labels.metric_name());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_limits_become_local_shares() {
        assert_eq!(local_limit(0, 3, 3), 0, "0 stays unlimited");
        assert_eq!(local_limit(150_000, 1, 1), 150_000);
        // Three ingesters, RF 3: every ingester holds every series.
        assert_eq!(local_limit(150_000, 3, 3), 150_000);
        // Six ingesters, RF 3: each holds half.
        assert_eq!(local_limit(150_000, 6, 3), 75_000);
        // RF larger than the ring is capped by the ring.
        assert_eq!(local_limit(100, 1, 3), 100);
        assert_eq!(local_limit(1, 10, 1), 1, "never rounds down to unlimited");
    }
}
