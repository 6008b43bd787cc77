//! The `blocks_storage:` configuration block, with Mimir's keys, flags and defaults.
//!
//! Relative paths are relative to the working directory, so `cd somewhere && norn` keeps all
//! of a single node's data under `somewhere`.

use norn_common::config::{ConfigSection, FlagKind, FlagSpec, nest};
use serde::{Deserialize, Serialize};

/// Where blocks live and where their local copies are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlocksStorageConfig {
    /// The object storage backend.
    pub backend: String,
    /// Settings of the `filesystem` backend.
    pub filesystem: FilesystemConfig,
    /// The ingester's local TSDB.
    pub tsdb: TsdbConfig,
    /// The store-gateway's local state.
    pub bucket_store: BucketStoreConfig,
}

/// Settings of the `filesystem` bucket backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesystemConfig {
    /// The directory that plays the bucket.
    pub dir: String,
}

/// Settings of the ingester's local TSDB.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TsdbConfig {
    /// The directory holding each tenant's WAL and head (one subdirectory per tenant).
    pub dir: String,
}

/// Settings of the store-gateway's local state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BucketStoreConfig {
    /// The directory holding index-headers of synced blocks.
    pub sync_dir: String,
}

/// The backends Norn accepts for `blocks_storage.backend` today.
pub const SUPPORTED_BACKENDS: &[&str] = &["filesystem"];

impl Default for BlocksStorageConfig {
    fn default() -> Self {
        Self {
            backend: "filesystem".into(),
            filesystem: FilesystemConfig {
                dir: "blocks".into(),
            },
            tsdb: TsdbConfig {
                dir: "./tsdb/".into(),
            },
            bucket_store: BucketStoreConfig {
                sync_dir: "./tsdb-sync/".into(),
            },
        }
    }
}

impl Default for FilesystemConfig {
    fn default() -> Self {
        BlocksStorageConfig::default().filesystem
    }
}

impl Default for TsdbConfig {
    fn default() -> Self {
        BlocksStorageConfig::default().tsdb
    }
}

impl Default for BucketStoreConfig {
    fn default() -> Self {
        BlocksStorageConfig::default().bucket_store
    }
}

impl ConfigSection for BlocksStorageConfig {
    fn specs() -> Vec<FlagSpec> {
        let mut specs = vec![FlagSpec::new(
            "backend",
            "blocks-storage.backend",
            FlagKind::String,
            "Backend storage to use for blocks. Supported today: filesystem (S3 and Azure arrive with the object-storage work).",
        )];
        specs.extend(nest(
            "filesystem",
            vec![FlagSpec::new(
                "dir",
                "blocks-storage.filesystem.dir",
                FlagKind::String,
                "Local directory used as the bucket by the filesystem backend.",
            )],
        ));
        specs.extend(nest(
            "tsdb",
            vec![FlagSpec::new(
                "dir",
                "blocks-storage.tsdb.dir",
                FlagKind::String,
                "Directory where ingesters keep each tenant's WAL and TSDB head. Must persist across restarts.",
            )],
        ));
        specs.extend(nest(
            "bucket_store",
            vec![FlagSpec::new(
                "sync_dir",
                "blocks-storage.bucket-store.sync-dir",
                FlagKind::String,
                "Directory where store-gateways keep index-headers of the blocks they serve.",
            )],
        ));
        specs
    }

    fn validate(&self) -> Result<(), String> {
        if !SUPPORTED_BACKENDS.contains(&self.backend.as_str()) {
            return Err(format!(
                "blocks_storage.backend (-blocks-storage.backend) is {:?}; supported: {}",
                self.backend,
                SUPPORTED_BACKENDS.join(", ")
            ));
        }
        for (key, flag, value) in [
            (
                "blocks_storage.filesystem.dir",
                "blocks-storage.filesystem.dir",
                &self.filesystem.dir,
            ),
            (
                "blocks_storage.tsdb.dir",
                "blocks-storage.tsdb.dir",
                &self.tsdb.dir,
            ),
            (
                "blocks_storage.bucket_store.sync_dir",
                "blocks-storage.bucket-store.sync-dir",
                &self.bucket_store.sync_dir,
            ),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{key} (-{flag}) must not be empty"));
            }
        }
        Ok(())
    }
}
