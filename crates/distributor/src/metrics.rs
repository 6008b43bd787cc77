//! The distributor's metrics, with Mimir's names so its dashboards work.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A tenant label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UserLabel {
    /// The tenant.
    pub user: String,
}

/// A tenant and HA cluster.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabels {
    /// The tenant.
    pub user: String,
    /// The HA cluster.
    pub cluster: String,
}

/// An ingester instance.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IngesterLabel {
    /// The ingester's instance ID.
    pub ingester: String,
}

/// The distributor's counters and histograms.
#[derive(Clone, Debug)]
pub struct DistributorMetrics {
    requests_in: Family<UserLabel, Counter>,
    samples_in: Family<UserLabel, Counter>,
    received_samples: Family<UserLabel, Counter>,
    received_metadata: Family<UserLabel, Counter>,
    deduplicated: Family<ClusterLabels, Counter>,
    ingester_failures: Family<IngesterLabel, Counter>,
    push_duration: Histogram,
}

impl Default for DistributorMetrics {
    fn default() -> Self {
        Self {
            requests_in: Family::default(),
            samples_in: Family::default(),
            received_samples: Family::default(),
            received_metadata: Family::default(),
            deduplicated: Family::default(),
            ingester_failures: Family::default(),
            push_duration: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
        }
    }
}

impl DistributorMetrics {
    /// Registers the metrics on `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "cortex_distributor_requests_in",
            "Push requests received, before validation and limits",
            metrics.requests_in.clone(),
        );
        registry.register(
            "cortex_distributor_samples_in",
            "Samples received, before validation and limits",
            metrics.samples_in.clone(),
        );
        registry.register(
            "cortex_distributor_received_samples",
            "Samples that passed validation and limits and were sent to ingesters",
            metrics.received_samples.clone(),
        );
        registry.register(
            "cortex_distributor_received_metadata",
            "Metadata entries that passed validation and were sent to ingesters",
            metrics.received_metadata.clone(),
        );
        registry.register(
            "cortex_distributor_deduped_samples",
            "Samples dropped because they came from a non-elected HA replica",
            metrics.deduplicated.clone(),
        );
        registry.register(
            "cortex_distributor_ingester_append_failures",
            "Pushes to an ingester that failed as a whole",
            metrics.ingester_failures.clone(),
        );
        registry.register(
            "norn_distributor_push_duration_seconds",
            "Time the distributor spends on a decoded push: validation, limits, HA and the ingester round trip",
            metrics.push_duration.clone(),
        );
        metrics
    }

    fn user(tenant: &str) -> UserLabel {
        UserLabel {
            user: tenant.to_owned(),
        }
    }

    pub(crate) fn request_in(&self, tenant: &str) {
        self.requests_in.get_or_create(&Self::user(tenant)).inc();
    }

    pub(crate) fn samples_in(&self, tenant: &str, samples: u64) {
        self.samples_in
            .get_or_create(&Self::user(tenant))
            .inc_by(samples);
    }

    pub(crate) fn received(&self, tenant: &str, samples: u64, metadata: u64) {
        let user = Self::user(tenant);
        self.received_samples.get_or_create(&user).inc_by(samples);
        if metadata > 0 {
            self.received_metadata.get_or_create(&user).inc_by(metadata);
        }
    }

    pub(crate) fn deduplicated(&self, tenant: &str, cluster: &str, samples: u64) {
        self.deduplicated
            .get_or_create(&ClusterLabels {
                user: tenant.to_owned(),
                cluster: cluster.to_owned(),
            })
            .inc_by(samples);
    }

    pub(crate) fn ingester_push_failed(&self, ingester: &str) {
        self.ingester_failures
            .get_or_create(&IngesterLabel {
                ingester: ingester.to_owned(),
            })
            .inc();
    }

    pub(crate) fn observe_push(&self, seconds: f64) {
        self.push_duration.observe(seconds);
    }

    /// Returns samples received from `tenant` after validation (stats, tests).
    pub fn received_samples(&self, tenant: &str) -> u64 {
        self.received_samples
            .get_or_create(&Self::user(tenant))
            .get()
    }
}
