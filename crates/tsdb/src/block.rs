//! Block directories (`shared/formats/tsdb-block.md` §1, §2, §8, §9): `meta.json`,
//! tombstones, writing, opening, querying and merging blocks.
//!
//! A block is an immutable directory `<ULID>/` holding `meta.json`, an `index` (see
//! [`crate::index`]), chunk segment files under `chunks/` (see [`crate::chunks`]) and a
//! `tombstones` file. It covers `[minTime, maxTime)`.
//!
//! - [`BlockMeta`] and its parts: `meta.json`, including the `thanos` section Mimir and
//!   Thanos add (external labels, resolution, source, file list).
//! - [`Tombstones`]: deleted intervals per series, read and written in Prometheus' format.
//! - [`BlockWriter`]: writes a block series by series into a temporary directory and renames
//!   it into place once everything is on disk.
//! - [`Block`]: an opened block (index and chunks memory-mapped) answering selects, label
//!   names and label values, with tombstones applied.
//! - [`compact`]: merges blocks into one (vertical merges deduplicate samples).
//!
//! The submodules are private; everything callers need is re-exported here. Damaged block
//! files surface as [`Error::InvalidBlock`](crate::Error::InvalidBlock) naming the block.

mod compact;
mod meta;
mod reader;
mod tombstones;
mod writer;

pub use compact::{compact, compact_with_thanos};
pub use meta::{
    BlockDesc, BlockMeta, BlockStats, CompactionMeta, HINT_FROM_OUT_OF_ORDER,
    HINT_FROM_SELECTED_SERIES, HINT_FROM_STALE_SERIES, META_FILENAME, META_VERSION,
    ThanosDownsample, ThanosFile, ThanosMeta,
};
pub use reader::Block;
pub use tombstones::{
    Interval, TOMBSTONES_FILENAME, TOMBSTONES_MAGIC, TOMBSTONES_VERSION, Tombstones,
};
pub use writer::BlockWriter;

use ulid::Ulid;

/// Name of the index file in a block directory.
pub const INDEX_FILENAME: &str = "index";
/// Name of the chunk segment directory in a block directory.
pub const CHUNKS_DIRNAME: &str = "chunks";

/// Returns the block ID a directory name stands for, or `None` for anything that is not a
/// block (temporary `*.tmp-for-creation` directories, `wal`, ...).
pub fn parse_block_dir_name(name: &str) -> Option<Ulid> {
    if name.len() != ulid::ULID_LEN {
        return None;
    }
    Ulid::from_string(name).ok()
}

#[cfg(test)]
mod tests;
