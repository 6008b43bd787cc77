//! The HA tracker's metrics, under Mimir's names so its dashboards and alerts work unchanged.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::desc::ReplicaDesc;

/// The labels of the per-cluster series: Mimir calls the tenant `user`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ClusterLabels {
    user: String,
    cluster: String,
}

impl ClusterLabels {
    pub(crate) fn new(tenant: &str, cluster: &str) -> Self {
        Self {
            user: tenant.to_owned(),
            cluster: cluster.to_owned(),
        }
    }
}

/// Every metric the tracker updates.
#[derive(Clone, Debug)]
pub(crate) struct HaTrackerMetrics {
    elected_replica_changes: Family<ClusterLabels, Counter>,
    elected_replica_timestamp: Family<ClusterLabels, Gauge>,
    last_election_timestamp: Family<ClusterLabels, Gauge>,
    reelections: Family<ClusterLabels, Gauge>,
    kv_store_cas: Family<ClusterLabels, Counter>,
    change_propagation_time: Histogram,
    pub(crate) cleanup_runs: Counter,
    pub(crate) cleanup_deleted: Counter,
    pub(crate) cleanup_delete_failed: Counter,
}

impl HaTrackerMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub(crate) fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            elected_replica_changes: Family::default(),
            elected_replica_timestamp: Family::default(),
            last_election_timestamp: Family::default(),
            reelections: Family::default(),
            kv_store_cas: Family::default(),
            // Prometheus' default buckets, 5ms to 10s, as Mimir uses.
            change_propagation_time: Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            cleanup_runs: Counter::default(),
            cleanup_deleted: Counter::default(),
            cleanup_delete_failed: Counter::default(),
        };
        // Counters get their `_total` suffix from the encoder.
        registry.register(
            "cortex_ha_tracker_elected_replica_changes",
            "The total number of times the elected replica has changed for a tenant/cluster",
            metrics.elected_replica_changes.clone(),
        );
        registry.register(
            "cortex_ha_tracker_elected_replica_timestamp_seconds",
            "The timestamp stored for the currently elected replica, from the KV store",
            metrics.elected_replica_timestamp.clone(),
        );
        registry.register(
            "cortex_ha_tracker_last_election_timestamp_seconds",
            "The timestamp stored for the most recent election, from the KV store",
            metrics.last_election_timestamp.clone(),
        );
        registry.register(
            "cortex_ha_tracker_reelections_total",
            "The total number of reelections for a tenant/cluster, from the KV store",
            metrics.reelections.clone(),
        );
        registry.register(
            "cortex_ha_tracker_kv_store_cas",
            "The total number of CAS calls to the KV store for a tenant/cluster",
            metrics.kv_store_cas.clone(),
        );
        registry.register(
            "cortex_ha_tracker_elected_replica_change_propagation_time_seconds",
            "The time it took the distributor to see a replica change written by the KV store",
            metrics.change_propagation_time.clone(),
        );
        registry.register(
            "cortex_ha_tracker_replicas_cleanup_started",
            "Number of elected replicas cleanup loops started",
            metrics.cleanup_runs.clone(),
        );
        registry.register(
            "cortex_ha_tracker_replicas_cleanup_deleted",
            "Number of elected replicas deleted from the KV store",
            metrics.cleanup_deleted.clone(),
        );
        registry.register(
            "cortex_ha_tracker_replicas_cleanup_delete_failed",
            "Number of elected replicas that failed to be deleted",
            metrics.cleanup_delete_failed.clone(),
        );
        metrics
    }

    /// Counts one compare-and-swap on a cluster's entry.
    pub(crate) fn count_cas(&self, tenant: &str, cluster: &str) {
        self.kv_store_cas
            .get_or_create(&ClusterLabels::new(tenant, cluster))
            .inc();
    }

    /// Records a cached entry's new state; `replica_changed` when the elected replica differs
    /// from the one cached before (or none was).
    pub(crate) fn record_entry(
        &self,
        tenant: &str,
        cluster: &str,
        desc: &ReplicaDesc,
        replica_changed: bool,
    ) {
        let labels = ClusterLabels::new(tenant, cluster);
        if replica_changed {
            self.elected_replica_changes.get_or_create(&labels).inc();
            self.last_election_timestamp
                .get_or_create(&labels)
                .set(desc.elected_at_ms / 1000);
            self.reelections
                .get_or_create(&labels)
                .set(i64::try_from(desc.elected_changes).unwrap_or(i64::MAX));
        }
        self.elected_replica_timestamp
            .get_or_create(&labels)
            .set(desc.received_at_ms / 1000);
    }

    /// Records how long a KV change took to reach this distributor.
    pub(crate) fn observe_propagation(&self, seconds: f64) {
        self.change_propagation_time.observe(seconds.max(0.0));
    }

    /// Drops the series of a cluster whose entry was deleted.
    pub(crate) fn forget_cluster(&self, tenant: &str, cluster: &str) {
        let labels = ClusterLabels::new(tenant, cluster);
        self.elected_replica_changes.remove(&labels);
        self.elected_replica_timestamp.remove(&labels);
        self.last_election_timestamp.remove(&labels);
        self.reelections.remove(&labels);
    }
}
