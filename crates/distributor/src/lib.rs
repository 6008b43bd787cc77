//! Distributor role (layer 4): validates, rate-limits, HA-deduplicates and shards incoming
//! samples onto ingesters.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`. It exposes its service for the module graph in `norn-server`.

use async_trait::async_trait;
use norn_common::service::Service;

/// The distributor's service. The push pipeline arrives with the write path; until then the
/// service takes part in the lifecycle only, so `-target=distributor` starts, reports ready and
/// stops like every other role.
#[derive(Debug, Default)]
pub struct DistributorService;

#[async_trait]
impl Service for DistributorService {}
