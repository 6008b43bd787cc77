//! Compactor role (layer 4): merges, deduplicates, downsamples and applies retention to the
//! blocks in object storage.
//!
//! A role crate depends on layers 0–3 only and never on another role; roles talk through
//! `norn-rpc`. It exposes its configuration and service for the module graph in `norn-server`.

use std::path::PathBuf;

use async_trait::async_trait;
use norn_common::config::{ConfigSection, FlagKind, FlagSpec};
use norn_common::fs::ensure_writable_dir;
use norn_common::service::{Service, ServiceError};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// The `compactor:` configuration block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompactorConfig {
    /// Directory for blocks being downloaded, compacted and uploaded.
    pub data_dir: String,
}

impl Default for CompactorConfig {
    fn default() -> Self {
        Self {
            data_dir: "./data-compactor/".into(),
        }
    }
}

impl ConfigSection for CompactorConfig {
    fn specs() -> Vec<FlagSpec> {
        vec![FlagSpec::new(
            "data_dir",
            "compactor.data-dir",
            FlagKind::String,
            "Directory for temporary files of compaction work; its content can be lost between restarts.",
        )]
    }

    fn validate(&self) -> Result<(), String> {
        if self.data_dir.trim().is_empty() {
            return Err("compactor.data_dir (-compactor.data-dir) must not be empty".into());
        }
        Ok(())
    }
}

/// The compactor's service. On start it makes sure the data directory exists and is
/// writable; compaction itself arrives with long-term storage.
#[derive(Debug)]
pub struct CompactorService {
    data_dir: PathBuf,
}

impl CompactorService {
    /// Returns a compactor working under `config.data_dir`.
    pub fn new(config: &CompactorConfig) -> Self {
        Self {
            data_dir: PathBuf::from(&config.data_dir),
        }
    }
}

#[async_trait]
impl Service for CompactorService {
    async fn starting(&self, _stop: CancellationToken) -> Result<(), ServiceError> {
        ensure_writable_dir(&self.data_dir, "compactor.data_dir (-compactor.data-dir)")
    }
}
