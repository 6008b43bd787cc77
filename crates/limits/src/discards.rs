//! The discarded-samples counters both write-path roles increment.
//!
//! Mimir's distributor (validation, rate limits, HA) and ingester (out of order, series
//! limits) count refused samples in the same families, `cortex_discarded_samples_total` and
//! `cortex_discarded_metadata_total`, labelled by tenant and reason. One process registers
//! them once and hands clones to both roles, so dashboards see one series per reason.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Labels of a discard counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DiscardLabels {
    /// The tenant.
    pub user: String,
    /// Why (Mimir's reason names, such as `sample_out_of_order`).
    pub reason: String,
}

/// The shared discard counters.
#[derive(Clone, Debug, Default)]
pub struct DiscardMetrics {
    samples: Family<DiscardLabels, Counter>,
    metadata: Family<DiscardLabels, Counter>,
}

impl DiscardMetrics {
    /// Registers the counters on `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "cortex_discarded_samples",
            "The total number of samples that were discarded",
            metrics.samples.clone(),
        );
        registry.register(
            "cortex_discarded_metadata",
            "The total number of metadata that were discarded",
            metrics.metadata.clone(),
        );
        metrics
    }

    /// Counts `count` samples of `tenant` discarded for `reason`.
    pub fn samples(&self, tenant: &str, reason: &str, count: u64) {
        if count > 0 {
            self.samples
                .get_or_create(&DiscardLabels {
                    user: tenant.to_owned(),
                    reason: reason.to_owned(),
                })
                .inc_by(count);
        }
    }

    /// Counts `count` metadata entries of `tenant` discarded for `reason`.
    pub fn metadata(&self, tenant: &str, reason: &str, count: u64) {
        if count > 0 {
            self.metadata
                .get_or_create(&DiscardLabels {
                    user: tenant.to_owned(),
                    reason: reason.to_owned(),
                })
                .inc_by(count);
        }
    }

    /// Returns how many samples of `tenant` were discarded for `reason` (tests, stats).
    pub fn samples_discarded(&self, tenant: &str, reason: &str) -> u64 {
        self.samples
            .get_or_create(&DiscardLabels {
                user: tenant.to_owned(),
                reason: reason.to_owned(),
            })
            .get()
    }
}
