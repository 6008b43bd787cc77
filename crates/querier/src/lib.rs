//! Querier role (layer 4): evaluates PromQL over ingesters and store-gateways and serves the
//! Prometheus HTTP API.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`. It exposes its service for the module graph in `norn-server`.
//!
//! - [`api`]: the Prometheus HTTP API (`query`, `query_range`, `series`, `labels`, label
//!   values, `metadata`, `query_exemplars`, `buildinfo`, `format_query`, `parse_query`)
//!   under the Prometheus prefix: [`QueryApi`] and [`api::routes`].
//! - [`queryable`]: [`TenantQueryable`], the engine's storage for one query over the
//!   ingesters, with the per-query limits.
//! - [`query_limits`]: the per-tenant limits of a read and Mimir's messages for them.
//! - [`reads`]: series, label and metadata reads over one or several tenants.
//! - [`config`]: the `querier:` configuration block ([`QuerierConfig`]).
//! - [`metrics`]: the querier's metrics ([`QuerierMetrics`]).
//! - [`ingesters`]: [`IngesterQuerier`], reading series, label names and values, and metadata
//!   from every ingester of the ring, tolerating the failures the replication set allows.
//! - [`merge`]: merging the replicas' answers (one series per label set, one sample per
//!   timestamp).
//! - [`federation`]: Mimir's rules for reads over several tenants (`__tenant_id__`).
//! - [`remote_read`]: the Prometheus remote read endpoint (`POST <prefix>/api/v1/read`).
//! - [`error`]: why a read failed ([`QueryError`]).

pub mod api;
pub mod config;
pub mod error;
pub mod federation;
pub mod fetch_limiter;
pub mod ingesters;
pub mod merge;
pub mod metrics;
pub mod query_limits;
pub mod queryable;
pub mod reads;
pub mod remote_read;

#[cfg(test)]
mod testing;

use async_trait::async_trait;
use norn_common::service::Service;

pub use api::{BuildInfo, QueryApi};
pub use config::QuerierConfig;
pub use error::QueryError;
pub use ingesters::IngesterQuerier;
pub use metrics::QuerierMetrics;
pub use queryable::TenantQueryable;
pub use remote_read::routes;

/// The querier's service in the module graph. The querier keeps no state of its own to start
/// or stop (its HTTP routes are served by the server), so it takes part in the lifecycle only.
#[derive(Debug, Default)]
pub struct QuerierService;

#[async_trait]
impl Service for QuerierService {}
