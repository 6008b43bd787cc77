//! Querier role (layer 4): evaluates PromQL over ingesters and store-gateways and serves the
//! Prometheus HTTP API.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`. It exposes its service for the module graph in `norn-server`.

use async_trait::async_trait;
use norn_common::service::Service;

/// The querier's service. Query evaluation arrives with the query path; until then the service
/// takes part in the lifecycle only.
#[derive(Debug, Default)]
pub struct QuerierService;

#[async_trait]
impl Service for QuerierService {}
