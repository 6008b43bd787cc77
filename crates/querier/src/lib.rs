//! Querier role (layer 4): evaluates PromQL over ingesters and store-gateways and serves the
//! Prometheus HTTP API.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`. It exposes its service for the module graph in `norn-server`.
//!
//! - [`ingesters`]: [`IngesterQuerier`], reading series, label names and values, and metadata
//!   from every ingester of the ring, tolerating the failures the replication set allows.
//! - [`merge`]: merging the replicas' answers (one series per label set, one sample per
//!   timestamp).
//! - [`federation`]: Mimir's rules for reads over several tenants (`__tenant_id__`).
//! - [`remote_read`]: the Prometheus remote read endpoint (`POST <prefix>/api/v1/read`).
//! - [`error`]: why a read failed ([`QueryError`]).

pub mod error;
pub mod federation;
pub mod ingesters;
pub mod merge;
pub mod remote_read;

#[cfg(test)]
mod testing;

use async_trait::async_trait;
use norn_common::service::Service;

pub use error::QueryError;
pub use ingesters::IngesterQuerier;
pub use remote_read::routes;

/// The querier's service. Query evaluation arrives with the query path; until then the service
/// takes part in the lifecycle only.
#[derive(Debug, Default)]
pub struct QuerierService;

#[async_trait]
impl Service for QuerierService {}
