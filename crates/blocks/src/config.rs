//! The `blocks_storage:` configuration block, with Mimir's keys, flags and defaults.
//!
//! Relative paths are relative to the working directory, so `cd somewhere && norn` keeps all
//! of a single node's data under `somewhere`.

use norn_common::Duration;
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
    /// The range of the blocks cut from the head (one entry; Mimir's list form is accepted).
    pub block_ranges_period: Vec<Duration>,
    /// How often the ingester checks whether a head is ready to be cut into a block.
    pub head_compaction_interval: Duration,
    /// A head that received nothing for this long is cut into a block entirely; 0 disables.
    pub head_compaction_idle_timeout: Duration,
    /// Size of a WAL segment file in bytes.
    pub wal_segment_size_bytes: u64,
    /// Compress WAL records with snappy.
    pub wal_compression_enabled: bool,
    /// A tenant's TSDB that received nothing for this long and holds no samples in its head
    /// is closed and its memory freed; 0 disables.
    pub close_idle_tsdb_timeout: Duration,
    /// Cut every head into a block when the ingester stops (otherwise the WAL is replayed).
    pub flush_blocks_on_shutdown: bool,
}

impl TsdbConfig {
    /// Returns the block range in milliseconds.
    pub fn block_range_ms(&self) -> i64 {
        self.block_ranges_period
            .first()
            .map(|range| range.get().as_millis() as i64)
            .unwrap_or(2 * 60 * 60 * 1000)
    }
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
                block_ranges_period: vec![Duration::from_secs(2 * 60 * 60)],
                head_compaction_interval: Duration::from_secs(60),
                head_compaction_idle_timeout: Duration::from_secs(60 * 60),
                wal_segment_size_bytes: 128 * 1024 * 1024,
                wal_compression_enabled: false,
                close_idle_tsdb_timeout: Duration::from_secs(13 * 60 * 60),
                flush_blocks_on_shutdown: false,
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
            vec![
                FlagSpec::new(
                    "dir",
                    "blocks-storage.tsdb.dir",
                    FlagKind::String,
                    "Directory where ingesters keep each tenant's WAL and TSDB head. Must persist across restarts.",
                ),
                FlagSpec::new(
                    "block_ranges_period",
                    "blocks-storage.tsdb.block-ranges-period",
                    FlagKind::List,
                    "Range of the blocks cut from the head. Norn takes one value; a multiple of 1h, at least 1h.",
                ),
                FlagSpec::new(
                    "head_compaction_interval",
                    "blocks-storage.tsdb.head-compaction-interval",
                    FlagKind::Duration,
                    "How often the ingester checks whether a head is ready to be cut into a block (when it spans 1.5 block ranges).",
                ),
                FlagSpec::new(
                    "head_compaction_idle_timeout",
                    "blocks-storage.tsdb.head-compaction-idle-timeout",
                    FlagKind::Duration,
                    "A head that received no samples for this long is cut into a block entirely; 0 disables.",
                ),
                FlagSpec::new(
                    "wal_segment_size_bytes",
                    "blocks-storage.tsdb.wal-segment-size-bytes",
                    FlagKind::Uint,
                    "Size of a WAL segment file in bytes.",
                ),
                FlagSpec::new(
                    "wal_compression_enabled",
                    "blocks-storage.tsdb.wal-compression-enabled",
                    FlagKind::Bool,
                    "Compress WAL records with snappy (less disk I/O, a little more CPU).",
                ),
                FlagSpec::new(
                    "close_idle_tsdb_timeout",
                    "blocks-storage.tsdb.close-idle-tsdb-timeout",
                    FlagKind::Duration,
                    "A tenant's TSDB that received nothing for this long and has an empty head is closed to free memory; 0 disables.",
                ),
                FlagSpec::new(
                    "flush_blocks_on_shutdown",
                    "blocks-storage.tsdb.flush-blocks-on-shutdown",
                    FlagKind::Bool,
                    "Cut every head into a block when the ingester stops, instead of replaying the WAL on the next start.",
                ),
            ],
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
        let hour = std::time::Duration::from_secs(3600);
        match self.tsdb.block_ranges_period.as_slice() {
            [range] if range.get() >= hour && range.get().as_secs() % 3600 == 0 => {}
            [_] => {
                return Err("blocks_storage.tsdb.block_ranges_period (-blocks-storage.tsdb.block-ranges-period) must be a whole number of hours, at least 1h".into());
            }
            _ => {
                return Err("blocks_storage.tsdb.block_ranges_period (-blocks-storage.tsdb.block-ranges-period) takes exactly one range in Norn (the compactor's ranges are compactor.block_ranges)".into());
            }
        }
        if self.tsdb.head_compaction_interval.is_zero() {
            return Err("blocks_storage.tsdb.head_compaction_interval (-blocks-storage.tsdb.head-compaction-interval) must be greater than 0".into());
        }
        if self.tsdb.wal_segment_size_bytes < 64 * 1024 {
            return Err("blocks_storage.tsdb.wal_segment_size_bytes (-blocks-storage.tsdb.wal-segment-size-bytes) must be at least 65536".into());
        }
        Ok(())
    }
}
