//! Distributor role (layer 4): validates, rate-limits, HA-deduplicates and shards incoming
//! samples onto ingesters.
//!
//! - [`http`]: `POST /api/v1/push` and the distributor's status pages.
//! - [`decode`]: remote write 1.0/2.0 decoding without per-label allocations.
//! - [`distributor`]: the push pipeline (limits, HA, validation, sharding, quorum).
//! - [`validation`]: per-series checks with Mimir's error IDs; [`ha_tracker`]: HA
//!   deduplication; [`rate_limit`]: per-tenant token buckets; [`metrics`]; [`config`];
//!   [`service`]: ring membership and lifecycle.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`.

pub mod config;
pub mod decode;
pub mod distributor;
pub mod ha_tracker;
pub mod http;
pub mod metrics;
pub mod rate_limit;
pub mod service;
pub mod validation;

pub use config::DistributorConfig;
pub use distributor::Distributor;
pub use service::DistributorService;

#[cfg(test)]
mod tests;
