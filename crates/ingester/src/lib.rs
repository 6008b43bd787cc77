//! Ingester role (layer 4): one TSDB per tenant with WAL, head compaction and block shipping.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`. It exposes its service for the module graph in `norn-server`.

use std::path::PathBuf;

use async_trait::async_trait;
use norn_common::fs::ensure_writable_dir;
use norn_common::service::{Service, ServiceError};
use tokio_util::sync::CancellationToken;

/// The ingester's service. On start it makes sure the TSDB directory
/// (`blocks_storage.tsdb.dir`) exists and is writable, as Mimir's ingester does; per-tenant
/// TSDBs, WAL replay and shipping arrive with the write path.
#[derive(Debug)]
pub struct IngesterService {
    tsdb_dir: PathBuf,
}

impl IngesterService {
    /// Returns an ingester keeping its TSDBs under `tsdb_dir`.
    pub fn new(tsdb_dir: impl Into<PathBuf>) -> Self {
        Self {
            tsdb_dir: tsdb_dir.into(),
        }
    }
}

#[async_trait]
impl Service for IngesterService {
    async fn starting(&self, _stop: CancellationToken) -> Result<(), ServiceError> {
        ensure_writable_dir(
            &self.tsdb_dir,
            "blocks_storage.tsdb.dir (-blocks-storage.tsdb.dir)",
        )
    }
}
