//! A TSDB directory: the head with its WAL plus the blocks cut from it.
//!
//! [`Db::open`] loads the blocks, replays the WAL into the head (repairing a torn tail, refusing
//! to start on corruption elsewhere) and only then opens the WAL for writing. Appends go to the
//! head; queries merge head and blocks. [`Db::compact_head`] cuts the oldest chunk range of the
//! head into a block once the head spans one and a half ranges (Prometheus's rule, which leaves
//! half a range for late samples), truncates the head and checkpoints the WAL, so memory and
//! WAL stay bounded. [`Db::flush`] cuts everything, for shutdown and `/ingester/flush`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use norn_model::labels::Labels;
use norn_model::matcher::Matcher;

use crate::block::{Block, BlockMeta, BlockWriter};
use crate::error::{Error, Result};
use crate::head::{Appender, Head, HeadOptions};
use crate::series::ChunkSeries;
use crate::wal::{self, Wal, WalOptions};

/// Name of the WAL directory inside a TSDB directory.
pub const WAL_DIR: &str = "wal";

/// Name of the head chunk files directory inside a TSDB directory.
pub const CHUNKS_HEAD_DIR: &str = "chunks_head";

/// Settings of a TSDB.
#[derive(Clone, Debug, Default)]
pub struct DbOptions {
    /// Head settings (chunk and block range).
    pub head: HeadOptions,
    /// WAL settings (segment size, compression, fsync policy).
    pub wal: WalOptions,
}

/// Counters of a TSDB beyond the head's.
#[derive(Debug, Default)]
pub struct DbCounters {
    /// Blocks cut from the head.
    pub head_compactions: AtomicU64,
    /// Failed head compactions.
    pub head_compaction_failures: AtomicU64,
    /// WAL tails repaired on open (torn or corrupt last records dropped).
    pub wal_corruptions: AtomicU64,
    /// WAL checkpoints written.
    pub wal_checkpoints: AtomicU64,
    /// WAL checkpoints that failed.
    pub wal_checkpoint_failures: AtomicU64,
    /// WAL records replayed on open.
    pub wal_replayed_records: AtomicU64,
}

/// An open TSDB directory.
#[derive(Debug)]
pub struct Db {
    dir: PathBuf,
    options: DbOptions,
    head: Head,
    wal: Arc<Wal>,
    blocks: RwLock<Vec<Arc<Block>>>,
    compaction: Mutex<()>,
    counters: DbCounters,
}

impl Db {
    /// Opens (or creates) the TSDB in `dir`; see the module docs for the order of events.
    pub fn open(dir: &Path, options: DbOptions) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|error| Error::io("create", dir, error))?;
        let blocks = load_blocks(dir)?;
        let head = Head::with_chunk_dir(options.head.clone(), &dir.join(CHUNKS_HEAD_DIR))?;
        if let Some(newest) = blocks.iter().map(|block| block.meta().max_time).max() {
            head.set_min_valid_time(newest);
        }
        let counters = DbCounters::default();
        let wal_dir = dir.join(WAL_DIR);
        let mut ref_map = HashMap::new();
        let mut decode_error = None;
        let stats = wal::replay(&wal_dir, &mut |bytes| {
            match wal::record::decode(bytes) {
                Ok(record) => head.replay_record(record, &mut ref_map),
                // A record that frames correctly but does not decode is skipped and reported:
                // its CRC matched, so this is a writer bug or a newer format, not a torn write.
                Err(error) => decode_error = Some(error),
            }
            Ok(())
        })?;
        if let Some(error) = decode_error {
            tracing::warn!(dir = %wal_dir.display(), %error, "skipped undecodable WAL records");
        }
        counters
            .wal_replayed_records
            .store(stats.records, Ordering::Relaxed);
        if let Some(repair) = &stats.repaired_tail {
            counters.wal_corruptions.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                segment = %repair.segment.display(),
                offset = repair.offset,
                bytes_dropped = repair.bytes_dropped,
                reason = %repair.reason,
                "repaired WAL tail"
            );
        }
        // Series whose samples all went into blocks come back from the WAL without samples;
        // collect them now rather than at the next compaction.
        head.truncate(head.min_valid_time());
        let wal = Arc::new(Wal::open(&wal_dir, options.wal.clone())?);
        head.attach_wal(Arc::clone(&wal));
        tracing::debug!(
            dir = %dir.display(),
            blocks = blocks.len(),
            series = head.num_series(),
            wal_records = stats.records,
            "opened TSDB"
        );
        Ok(Self {
            dir: dir.to_path_buf(),
            options,
            head,
            wal,
            blocks: RwLock::new(blocks),
            compaction: Mutex::new(()),
            counters,
        })
    }

    /// Returns the directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Returns the WAL.
    pub fn wal(&self) -> &Wal {
        &self.wal
    }

    /// Returns the TSDB's own counters.
    pub fn counters(&self) -> &DbCounters {
        &self.counters
    }

    /// Returns a new appender on the head.
    pub fn appender(&self) -> Appender<'_> {
        self.head.appender()
    }

    /// Returns the blocks, oldest first.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.blocks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Returns the series matching `matchers` with their chunks overlapping `[mint, maxt]`
    /// from blocks and head, sorted by labels; a series present in several places gets all
    /// its chunks (block chunks first), and [`ChunkSeries::samples`] merges them.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<ChunkSeries>> {
        let mut parts = Vec::new();
        for block in self.blocks_overlapping(mint, maxt) {
            parts.push(block.select(matchers, mint, maxt)?);
        }
        parts.push(self.head.select(matchers, mint, maxt)?);
        Ok(merge_series_sets(parts))
    }

    /// Returns the sorted, distinct label sets of series matching `matchers` with samples in
    /// `[mint, maxt]` in blocks or head, reading indexes only.
    pub fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>> {
        let mut all = Vec::new();
        for block in self.blocks_overlapping(mint, maxt) {
            all.extend(block.series_labels(matchers, mint, maxt)?);
        }
        all.extend(self.head.series_labels(matchers, mint, maxt)?);
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Returns the sorted label names of series matching `matchers` with samples in
    /// `[mint, maxt]`.
    pub fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>> {
        let mut names = std::collections::BTreeSet::new();
        for block in self.blocks_overlapping(mint, maxt) {
            names.extend(block.label_names(matchers)?);
        }
        names.extend(self.head.label_names(matchers, mint, maxt)?);
        Ok(names.into_iter().collect())
    }

    /// Returns the sorted values of `name` among series matching `matchers` with samples in
    /// `[mint, maxt]`.
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>> {
        let mut values = std::collections::BTreeSet::new();
        for block in self.blocks_overlapping(mint, maxt) {
            values.extend(block.label_values(name, matchers)?);
        }
        values.extend(self.head.label_values(name, matchers, mint, maxt)?);
        Ok(values.into_iter().collect())
    }

    fn blocks_overlapping(&self, mint: i64, maxt: i64) -> Vec<Arc<Block>> {
        self.blocks()
            .into_iter()
            // A block's max_time is exclusive.
            .filter(|block| block.meta().min_time <= maxt && block.meta().max_time > mint)
            .collect()
    }

    /// Cuts blocks from the head while it spans more than one and a half chunk ranges; returns
    /// the blocks written.
    pub fn compact_head(&self) -> Result<Vec<BlockMeta>> {
        let range = self.options.head.chunk_range;
        self.cut_blocks_while(|min, max| max.saturating_sub(min) > range / 2 * 3)
    }

    /// Cuts every sample in the head into blocks (one per chunk range, the last one ending
    /// just after the head's newest sample) and empties the head; used on shutdown, by
    /// `/ingester/flush` and for idle heads. As the last block ends at the newest sample rather
    /// than at its range's end, samples newer than anything flushed are still accepted.
    pub fn flush(&self) -> Result<Vec<BlockMeta>> {
        self.cut_blocks_while(|_, _| true)
    }

    /// Cuts the head's oldest chunk range into a block while the head holds samples and
    /// `wanted(head min, head max)` says so.
    fn cut_blocks_while(&self, wanted: impl Fn(i64, i64) -> bool) -> Result<Vec<BlockMeta>> {
        let _guard = self
            .compaction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let range = self.options.head.chunk_range;
        let mut written = Vec::new();
        let mut previous_start = None;
        loop {
            let (min, max) = (self.head.min_time(), self.head.max_time());
            if min > max || !wanted(min, max) {
                break;
            }
            let start = min.div_euclid(range) * range;
            // Each cut moves the head's start past `start`; stop rather than spin if not.
            if previous_start.is_some_and(|previous| start <= previous) {
                break;
            }
            previous_start = Some(start);
            // A range that is still open ends just after the newest sample, so truncating the
            // head there does not refuse the samples still to come in that range.
            let end = (start + range).min(max.saturating_add(1));
            written.extend(self.cut_block(start, end)?);
        }
        Ok(written)
    }

    /// Writes the head's chunks in `[start, end)` into a block, then truncates the head at
    /// `end` and checkpoints the WAL.
    fn cut_block(&self, start: i64, end: i64) -> Result<Option<BlockMeta>> {
        let result = self.write_block(start, end);
        if result.is_err() {
            self.counters
                .head_compaction_failures
                .fetch_add(1, Ordering::Relaxed);
        }
        let meta = result?;
        self.head.truncate(end);
        self.truncate_wal(end);
        Ok(meta)
    }

    fn write_block(&self, start: i64, end: i64) -> Result<Option<BlockMeta>> {
        let series = self.head.chunks_in_range(start, end - 1)?;
        if series.is_empty() {
            return Ok(None);
        }
        let mut writer = BlockWriter::new(&self.dir)?;
        for entry in &series {
            writer.add_series(&entry.labels, &entry.chunks)?;
        }
        let meta = writer.finish(start, end, Default::default(), None)?;
        let block = Block::open(&self.dir.join(meta.ulid.to_string()))?;
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        blocks.push(Arc::new(block));
        blocks.sort_by_key(|block| block.meta().min_time);
        drop(blocks);
        self.counters
            .head_compactions
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            dir = %self.dir.display(),
            ulid = %meta.ulid,
            min_time = start,
            max_time = end,
            series = series.len(),
            "cut block from head"
        );
        Ok(Some(meta))
    }

    /// Checkpoints the WAL so it keeps only what the head still holds (failures are logged and
    /// counted; the next truncation retries).
    fn truncate_wal(&self, mint: i64) {
        let head = &self.head;
        match wal::checkpoint::checkpoint(&self.wal, &|series_ref| head.contains(series_ref), mint)
        {
            Ok(Some(_)) => {
                self.counters
                    .wal_checkpoints
                    .fetch_add(1, Ordering::Relaxed);
            }
            Ok(None) => {}
            Err(error) => {
                self.counters
                    .wal_checkpoint_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(dir = %self.dir.display(), %error, "WAL checkpoint failed");
            }
        }
    }

    /// Removes a block from the TSDB and deletes its directory (after it was shipped and aged
    /// out locally, say).
    pub fn delete_block(&self, ulid: &str) -> Result<bool> {
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        let Some(position) = blocks
            .iter()
            .position(|block| block.meta().ulid.to_string() == ulid)
        else {
            return Ok(false);
        };
        let block = blocks.remove(position);
        drop(blocks);
        std::fs::remove_dir_all(block.dir())
            .map_err(|error| Error::io("remove", block.dir(), error))?;
        Ok(true)
    }

    /// Writes out the WAL's last page and syncs it; the Db stays usable.
    pub fn close(&self) -> Result<()> {
        self.wal.close()
    }
}

/// Loads every block directory (named by a ULID, holding `meta.json`) under `dir`, oldest
/// first, and removes leftovers of interrupted block writes.
fn load_blocks(dir: &Path) -> Result<Vec<Arc<Block>>> {
    let entries = std::fs::read_dir(dir).map_err(|error| Error::io("read", dir, error))?;
    let mut blocks = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| Error::io("read", dir, error))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_dir() {
            continue;
        }
        if name.ends_with(".tmp") || name.contains(".tmp-") {
            tracing::info!(path = %path.display(), "removing leftover of an interrupted block write");
            std::fs::remove_dir_all(&path).map_err(|error| Error::io("remove", &path, error))?;
            continue;
        }
        if ulid::Ulid::from_string(&name).is_err() || !path.join("meta.json").exists() {
            continue;
        }
        blocks.push(Arc::new(Block::open(&path)?));
    }
    blocks.sort_by_key(|block| block.meta().min_time);
    Ok(blocks)
}

/// Merges label-sorted series lists into one; equal label sets are combined (chunks of the
/// earlier list first, then sorted by start time).
pub fn merge_series_sets(parts: Vec<Vec<ChunkSeries>>) -> Vec<ChunkSeries> {
    let mut parts: Vec<std::vec::IntoIter<ChunkSeries>> =
        parts.into_iter().map(Vec::into_iter).collect();
    let mut heads: Vec<Option<ChunkSeries>> = parts.iter_mut().map(Iterator::next).collect();
    let mut merged = Vec::new();
    while let Some(smallest) = heads
        .iter()
        .flatten()
        .map(|series| &series.labels)
        .min()
        .cloned()
    {
        let mut combined: Option<ChunkSeries> = None;
        for (index, head) in heads.iter_mut().enumerate() {
            if head
                .as_ref()
                .is_some_and(|series| series.labels == smallest)
                && let Some(series) = head.take()
            {
                match combined.as_mut() {
                    None => combined = Some(series),
                    Some(existing) => existing.chunks.extend(series.chunks),
                }
                *head = parts[index].next();
            }
        }
        if let Some(mut series) = combined {
            series.chunks.sort_by_key(|chunk| chunk.min_time);
            merged.push(series);
        }
    }
    merged
}

#[cfg(test)]
mod tests;
