//! The HA tracker's configuration block (`distributor.ha_tracker` in YAML).
//!
//! Keys, flags and defaults are Mimir's (`-distributor.ha-tracker.*`). Validation repeats
//! Mimir's rule that the failover timeout must exceed the update timeout plus its jitter by at
//! least a second: otherwise a healthy elected replica whose heartbeat was delayed by the jitter
//! could be failed over.

use norn_common::Duration;
use norn_common::config::{ConfigSection, FlagKind, FlagSpec};
use serde::{Deserialize, Serialize};

/// The KV backends the HA tracker can keep its elected replicas in.
pub const SUPPORTED_KV_STORES: &[&str] = &["inmemory"];

/// How much longer than `update timeout + max jitter` the failover timeout must be (Mimir's
/// margin).
const FAILOVER_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Configuration of the distributor's HA tracker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HaTrackerConfig {
    /// Deduplicate samples from HA Prometheus pairs (tenants also need `accept_ha_samples`).
    pub enable_ha_tracker: bool,
    /// How old the stored timestamp of the elected replica may get before a distributor
    /// refreshes it in the KV store.
    pub ha_tracker_update_timeout: Duration,
    /// The largest random offset (either way) applied to the update timeout, so distributors
    /// do not all refresh at once.
    pub ha_tracker_update_timeout_jitter_max: Duration,
    /// How long the elected replica may stay silent before another replica is elected.
    pub ha_tracker_failover_timeout: Duration,
    /// Where the elected replicas are stored.
    pub kvstore: HaKvStoreConfig,
}

impl Default for HaTrackerConfig {
    fn default() -> Self {
        Self {
            enable_ha_tracker: false,
            ha_tracker_update_timeout: Duration::from_secs(15),
            ha_tracker_update_timeout_jitter_max: Duration::from_secs(5),
            ha_tracker_failover_timeout: Duration::from_secs(30),
            kvstore: HaKvStoreConfig::default(),
        }
    }
}

/// The KV store the HA tracker keeps the elected replicas in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HaKvStoreConfig {
    /// The backend: one of [`SUPPORTED_KV_STORES`].
    pub store: String,
    /// The prefix of every key the HA tracker writes, so it can share a store with the ring.
    pub prefix: String,
}

impl Default for HaKvStoreConfig {
    fn default() -> Self {
        Self {
            store: "inmemory".into(),
            prefix: "ha-tracker/".into(),
        }
    }
}

impl ConfigSection for HaTrackerConfig {
    fn specs() -> Vec<FlagSpec> {
        use FlagKind::{Bool, Duration, String};
        vec![
            FlagSpec::new(
                "enable_ha_tracker",
                "distributor.ha-tracker.enable",
                Bool,
                "Track the elected replica of each HA Prometheus cluster and drop samples from the other replicas (the cluster and replica labels must be set).",
            ),
            FlagSpec::new(
                "ha_tracker_update_timeout",
                "distributor.ha-tracker.update-timeout",
                Duration,
                "Refresh the elected replica's timestamp in the KV store only once the stored timestamp is this old.",
            ),
            FlagSpec::new(
                "ha_tracker_update_timeout_jitter_max",
                "distributor.ha-tracker.update-timeout-jitter-max",
                Duration,
                "Largest random offset applied to the update timeout, spreading the KV refreshes of the distributors over time.",
            ),
            FlagSpec::new(
                "ha_tracker_failover_timeout",
                "distributor.ha-tracker.failover-timeout",
                Duration,
                "Elect another replica once no sample came from the elected one for this long. Must be at least 1s greater than the update timeout plus its maximum jitter.",
            ),
            FlagSpec::new(
                "kvstore.store",
                "distributor.ha-tracker.store",
                String,
                "Backend storing the elected replicas: inmemory (one process).",
            ),
            FlagSpec::new(
                "kvstore.prefix",
                "distributor.ha-tracker.prefix",
                String,
                "Prefix of the keys the HA tracker writes in the KV store.",
            ),
        ]
    }

    fn validate(&self) -> Result<(), String> {
        if !SUPPORTED_KV_STORES.contains(&self.kvstore.store.as_str()) {
            return Err(format!(
                "distributor.ha_tracker.kvstore.store (-distributor.ha-tracker.store) is {:?}; supported stores: {}",
                self.kvstore.store,
                SUPPORTED_KV_STORES.join(", ")
            ));
        }
        let min_failover = self.ha_tracker_update_timeout.get()
            + self.ha_tracker_update_timeout_jitter_max.get()
            + FAILOVER_MARGIN;
        if self.ha_tracker_failover_timeout.get() < min_failover {
            return Err(format!(
                "distributor.ha_tracker.ha_tracker_failover_timeout (-distributor.ha-tracker.failover-timeout) is {}; it must be at least 1s greater than the update timeout plus its maximum jitter ({} + {}), so at least {}",
                self.ha_tracker_failover_timeout,
                self.ha_tracker_update_timeout,
                self.ha_tracker_update_timeout_jitter_max,
                Duration::from(min_failover)
            ));
        }
        Ok(())
    }
}
