//! Query-frontend role (layer 4): splits, caches, shards and fairly queues queries before the
//! queriers see them.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`. It exposes its service for the module graph in `norn-server`.

use async_trait::async_trait;
use norn_common::service::Service;

/// The query-frontend's service. Splitting and caching arrive with the query path; until then
/// the service takes part in the lifecycle only.
#[derive(Debug, Default)]
pub struct QueryFrontendService;

#[async_trait]
impl Service for QueryFrontendService {}
