//! `meta.json`: the block's identity, time range, statistics, compaction lineage and the
//! optional Thanos/Mimir section (`tsdb-block.md` §2).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::chunks::sync_dir;
use crate::error::{Error, Result};

/// Name of the metadata file in a block directory.
pub const META_FILENAME: &str = "meta.json";
/// The only `version` of `meta.json` there is.
pub const META_VERSION: u32 = 1;
/// Compaction hint: the block was cut from out-of-order data.
pub const HINT_FROM_OUT_OF_ORDER: &str = "from-out-of-order";
/// Compaction hint: the block holds stale series.
pub const HINT_FROM_STALE_SERIES: &str = "from-stale-series";
/// Compaction hint: the block holds selected series only.
pub const HINT_FROM_SELECTED_SERIES: &str = "from-selected-series";

/// The contents of `meta.json`. Unknown fields are ignored when reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// The block's ID, equal to its directory name.
    #[serde(with = "ulid_text")]
    pub ulid: Ulid,
    /// Inclusive lower bound of the block's samples, in milliseconds.
    pub min_time: i64,
    /// Exclusive upper bound of the block's samples, in milliseconds.
    pub max_time: i64,
    /// Counts of what the block holds.
    #[serde(default)]
    pub stats: BlockStats,
    /// How the block came to be.
    #[serde(default)]
    pub compaction: CompactionMeta,
    /// Meta file version, always [`META_VERSION`].
    pub version: u32,
    /// The Thanos/Mimir section (external labels, resolution, source, files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thanos: Option<ThanosMeta>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// `stats` of `meta.json`; absent fields mean 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// All samples.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_samples: u64,
    /// Float samples (encoding XOR).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_float_samples: u64,
    /// Native histogram samples.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_histogram_samples: u64,
    /// Series.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_series: u64,
    /// Chunks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_chunks: u64,
    /// Tombstone intervals.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_tombstones: u64,
}

/// A block named as a compaction input (`compaction.parents`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDesc {
    /// The input block's ID.
    #[serde(with = "ulid_text")]
    pub ulid: Ulid,
    /// Its inclusive lower bound.
    pub min_time: i64,
    /// Its exclusive upper bound.
    pub max_time: i64,
}

/// `compaction` of `meta.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactionMeta {
    /// 1 for a block cut from a head; a merged block is one more than its highest input.
    pub level: u32,
    /// IDs of the level-1 blocks whose data is inside, ascending. A level-1 block lists itself
    /// ([`BlockWriter::finish`](super::BlockWriter::finish) fills it in when left empty).
    #[serde(default, with = "ulid_text_vec", skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Ulid>,
    /// Set on a compaction output that turned out empty (Prometheus-local).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletable: bool,
    /// The direct inputs of the compaction that produced the block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<BlockDesc>,
    /// Set by Prometheus on a block whose compaction failed (local).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// Sorted hints such as [`HINT_FROM_OUT_OF_ORDER`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

impl Default for CompactionMeta {
    /// A level-1 block (sources are filled in with the block's own ID when written).
    fn default() -> Self {
        Self {
            level: 1,
            sources: Vec::new(),
            deletable: false,
            parents: Vec::new(),
            failed: false,
            hints: Vec::new(),
        }
    }
}

/// The `thanos` section of `meta.json`, as Mimir and Thanos write it. Fields Norn does not
/// interpret (`rewrites`, `index_stats`, `extensions`, `upload_time`, ...) are kept in
/// [`ThanosMeta::other`] and written back unchanged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThanosMeta {
    /// Section version; absent or 0 means 1.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub version: u32,
    /// External labels of the block's stream (Mimir: empty, or `__compactor_shard_id__`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// Downsampling resolution.
    #[serde(default)]
    pub downsample: ThanosDownsample,
    /// Who produced or uploaded the block (`receive`, `compactor`, ...).
    #[serde(default)]
    pub source: String,
    /// Deprecated list of chunk file names (`000001`, ...), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segment_files: Vec<String>,
    /// Every file of the block with its size (`meta.json` without), sorted by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ThanosFile>,
    /// Fields of the section Norn does not interpret, kept as read.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `thanos.downsample`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThanosDownsample {
    /// Resolution in milliseconds: 0 raw, 300000 (5m), 3600000 (1h).
    pub resolution: i64,
}

/// One entry of `thanos.files`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThanosFile {
    /// Path relative to the block directory (`chunks/000001`, `index`, `meta.json`).
    pub rel_path: String,
    /// Size in bytes (absent for `meta.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Thanos' optional file hash, kept as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<serde_json::Value>,
}

impl BlockMeta {
    /// Parses `meta.json` bytes, rejecting `version != 1` and a Thanos section version other
    /// than 0 or 1.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let meta: Self = serde_json::from_slice(bytes)
            .map_err(|e| Error::corrupt("meta.json", e.to_string()))?;
        if meta.version != META_VERSION {
            return Err(Error::corrupt(
                "meta.json",
                format!("unsupported meta file version {}", meta.version),
            ));
        }
        if let Some(thanos) = &meta.thanos
            && thanos.version > 1
        {
            return Err(Error::corrupt(
                "meta.json",
                format!("unsupported thanos section version {}", thanos.version),
            ));
        }
        Ok(meta)
    }

    /// Encodes as Prometheus does: JSON indented with tabs.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut serializer)
            .map_err(|e| Error::corrupt("meta.json", e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Reads `<dir>/meta.json`.
    pub fn read_from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join(META_FILENAME);
        let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        Self::from_json(&bytes)
    }

    /// Writes `<dir>/meta.json` atomically (`meta.json.tmp`, fsync, rename, fsync of `dir`).
    pub fn write_to_dir(&self, dir: &Path) -> Result<()> {
        let path = dir.join(META_FILENAME);
        let tmp = dir.join(format!("{META_FILENAME}.tmp"));
        write_file_synced(&tmp, &self.to_json()?)?;
        fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &tmp, e))?;
        sync_dir(dir)
    }

    /// Describes the block as a compaction parent.
    pub fn desc(&self) -> BlockDesc {
        BlockDesc {
            ulid: self.ulid,
            min_time: self.min_time,
            max_time: self.max_time,
        }
    }
}

/// Creates `path` with `bytes` and fsyncs it.
pub(crate) fn write_file_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = fs::File::create(path).map_err(|e| Error::io("create", path, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("write", path, e))?;
    file.sync_all().map_err(|e| Error::io("fsync", path, e))
}

/// Serde for a ULID as its 26-character text.
mod ulid_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub(super) fn serialize<S: Serializer>(ulid: &Ulid, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&ulid.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Ulid, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ulid::from_string(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde for a list of ULIDs as text (`null` reads as empty).
mod ulid_text_vec {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};
    use ulid::Ulid;

    pub(super) fn serialize<S: Serializer>(
        ulids: &[Ulid],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(ulids.len()))?;
        for ulid in ulids {
            seq.serialize_element(&ulid.to_string())?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Ulid>, D::Error> {
        let texts = Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default();
        texts
            .iter()
            .map(|text| Ulid::from_string(text).map_err(serde::de::Error::custom))
            .collect()
    }
}
