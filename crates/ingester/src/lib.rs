//! Ingester role (layer 4): one TSDB per tenant with WAL, head compaction and per-tenant
//! series limits.
//!
//! - [`ingester`]: the per-tenant TSDBs and the push/read paths ([`Ingester`] implements
//!   `norn_rpc::IngesterClient`).
//! - [`service`]: ring membership, WAL replay before ready, periodic work, shutdown.
//! - [`limiter`]: per-tenant series limits at series creation; [`active`]: active series;
//!   [`metadata`]: metric metadata; [`rate`]: smoothed ingestion rates; [`metrics`]: the
//!   ingester's `cortex_ingester_*` metrics; [`config`]: the `ingester:` block.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`.

pub mod active;
pub mod config;
pub mod http;
pub mod ingester;
pub mod limiter;
pub mod metadata;
pub mod metrics;
pub mod rate;
pub mod service;

pub use config::IngesterConfig;
pub use ingester::Ingester;
pub use service::IngesterService;

#[cfg(test)]
mod tests;
