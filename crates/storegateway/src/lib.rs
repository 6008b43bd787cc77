//! Store-gateway role (layer 4): serves series and chunks of the blocks in object storage.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`. It exposes its service for the module graph in `norn-server`.

use std::path::PathBuf;

use async_trait::async_trait;
use norn_common::fs::ensure_writable_dir;
use norn_common::service::{Service, ServiceError};
use tokio_util::sync::CancellationToken;

/// The store-gateway's service. On start it makes sure the sync directory
/// (`blocks_storage.bucket_store.sync_dir`) exists and is writable; block discovery and
/// serving arrive with long-term storage.
#[derive(Debug)]
pub struct StoreGatewayService {
    sync_dir: PathBuf,
}

impl StoreGatewayService {
    /// Returns a store-gateway keeping index-headers under `sync_dir`.
    pub fn new(sync_dir: impl Into<PathBuf>) -> Self {
        Self {
            sync_dir: sync_dir.into(),
        }
    }
}

#[async_trait]
impl Service for StoreGatewayService {
    async fn starting(&self, _stop: CancellationToken) -> Result<(), ServiceError> {
        ensure_writable_dir(
            &self.sync_dir,
            "blocks_storage.bucket_store.sync_dir (-blocks-storage.bucket-store.sync-dir)",
        )
    }
}
