//! The HA tracker: deduplication of samples sent by HA pairs of Prometheus servers.
//!
//! Each replica of an HA pair labels its series with the same cluster label (`cluster`) and
//! its own replica label (`__replica__`). For every (tenant, cluster) the tracker elects one
//! replica, stores it in the KV store so every distributor agrees, and caches it locally
//! (kept in sync by watching the KV prefix). Samples from the elected replica are accepted;
//! samples from any other replica are dropped (the push still answers 202) until the elected
//! replica has been silent for the failover timeout, when the next replica to send is elected.
//! The design and the configuration are Mimir's (`pkg/distributor/ha_tracker.go`).
//!
//! - `config`: the `distributor.ha_tracker` block and its validation.
//! - `desc`: the KV entry ([`ReplicaDesc`], Norn's JSON encoding) and its key layout.
//! - `tracker`: the election, the cache, the KV watch and the stale-entry cleanup.
//! - `metrics`: Mimir's `cortex_ha_tracker_*` metrics.
//! - `status`: the `/distributor/ha_tracker` page.
//! - `labels`: finding the cluster and replica labels of a series.

mod config;
mod desc;
mod error;
mod labels;
mod metrics;
mod status;
mod tracker;

#[cfg(test)]
mod tests;

pub use config::{HaKvStoreConfig, HaTrackerConfig, SUPPORTED_KV_STORES};
pub use desc::ReplicaDesc;
pub use error::{HaError, MAX_CLUSTERS_FLAG, TOO_MANY_HA_CLUSTERS_ERROR_ID};
pub use labels::find_ha_labels;
pub use status::ElectedReplica;
pub use tracker::HaTracker;
