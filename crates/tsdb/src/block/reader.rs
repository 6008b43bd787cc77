//! An opened block: index and chunks memory-mapped, `meta.json` and tombstones in memory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use norn_model::labels::Labels;
use norn_model::matcher::Matcher;

use crate::chunkenc::{Encoding, XorChunk, XorIterator};
use crate::chunks::ChunkReader;
use crate::error::{Error, Result};
use crate::index::{ChunkEntry, IndexReader};
use crate::postings::postings_for_matchers;
use crate::series::{ChunkMeta, ChunkSeries};

use super::meta::BlockMeta;
use super::tombstones::{Interval, Tombstones};
use super::{CHUNKS_DIRNAME, INDEX_FILENAME};

/// A block opened for reading. Immutable, so shareable across threads.
#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    tombstones: Tombstones,
}

impl Block {
    /// Opens the block in `dir`: reads `meta.json` and `tombstones` (absent = none) and maps
    /// the index and the chunk files. Damage is reported as [`Error::InvalidBlock`].
    pub fn open(dir: &Path) -> Result<Block> {
        let wrap = |error: Error| invalid_block(dir, error);
        let meta = BlockMeta::read_from_dir(dir).map_err(wrap)?;
        let index = IndexReader::open(&dir.join(INDEX_FILENAME)).map_err(wrap)?;
        let chunks = ChunkReader::open(&dir.join(CHUNKS_DIRNAME)).map_err(wrap)?;
        let tombstones = Tombstones::read_from_dir(dir).map_err(wrap)?;
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones,
        })
    }

    /// Returns the block's metadata.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// Returns the block's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the block's index.
    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// Returns the block's chunk files.
    pub fn chunk_reader(&self) -> &ChunkReader {
        &self.chunks
    }

    /// Returns the block's tombstones.
    pub fn tombstones(&self) -> &Tombstones {
        &self.tombstones
    }

    fn wrap(&self, error: Error) -> Error {
        invalid_block(&self.dir, error)
    }

    /// Series matching all matchers with their chunks overlapping `[mint, maxt]` (inclusive),
    /// sorted by labels, tombstones applied (chunks touched by a deleted interval are
    /// re-encoded without the deleted samples). Series with no chunk left are omitted.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<ChunkSeries>> {
        if mint > maxt || maxt < self.meta.min_time || mint >= self.meta.max_time {
            return Ok(Vec::new());
        }
        let ids = postings_for_matchers(&self.index, matchers).map_err(|e| self.wrap(e))?;
        let mut result = Vec::new();
        for id in ids.iter() {
            let (labels, entries) = self.index.series(id).map_err(|e| self.wrap(e))?;
            let chunks = self.series_chunks(id, &entries, mint, maxt)?;
            if !chunks.is_empty() {
                result.push(ChunkSeries { labels, chunks });
            }
        }
        if !result.is_sorted_by(|a, b| a.labels <= b.labels) {
            result.sort_by(|a, b| a.labels.cmp(&b.labels));
        }
        Ok(result)
    }

    /// Label sets of series matching all matchers with a chunk overlapping `[mint, maxt]`
    /// that tombstones have not deleted whole, sorted. No chunk data is read.
    pub fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>> {
        if mint > maxt || maxt < self.meta.min_time || mint >= self.meta.max_time {
            return Ok(Vec::new());
        }
        let ids = postings_for_matchers(&self.index, matchers).map_err(|e| self.wrap(e))?;
        let mut result = Vec::new();
        for id in ids.iter() {
            let (labels, entries) = self.index.series(id).map_err(|e| self.wrap(e))?;
            let intervals = self.tombstones.get(id);
            let live = entries.iter().any(|entry| {
                entry.min_time <= maxt
                    && entry.max_time >= mint
                    && !intervals.iter().any(|interval| {
                        interval.min_time <= entry.min_time && interval.max_time >= entry.max_time
                    })
            });
            if live {
                result.push(labels);
            }
        }
        if !result.is_sorted() {
            result.sort();
        }
        Ok(result)
    }

    /// Loads the chunks of series `id` that overlap `[mint, maxt]`, with its tombstones
    /// applied.
    pub(crate) fn series_chunks(
        &self,
        id: u64,
        entries: &[ChunkEntry],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkMeta>> {
        let intervals = self.tombstones.get(id);
        let mut chunks = Vec::new();
        for entry in entries {
            if entry.min_time > maxt || entry.max_time < mint {
                continue;
            }
            let (encoding, data) = self
                .chunks
                .chunk(entry.reference)
                .map_err(|e| self.wrap(e))?;
            let chunk = ChunkMeta {
                min_time: entry.min_time,
                max_time: entry.max_time,
                encoding,
                data: data.into(),
            };
            // A chunk trimmed by tombstones may no longer reach into the range.
            if let Some(chunk) = apply_tombstones(chunk, intervals).map_err(|e| self.wrap(e))?
                && chunk.overlaps(mint, maxt)
            {
                chunks.push(chunk);
            }
        }
        Ok(chunks)
    }

    /// Label names of series matching the matchers (all names if empty), sorted.
    pub fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return Ok(self.index.label_names());
        }
        let ids = postings_for_matchers(&self.index, matchers).map_err(|e| self.wrap(e))?;
        let mut names = BTreeSet::new();
        for id in ids.iter() {
            let labels = self.index.labels(id).map_err(|e| self.wrap(e))?;
            for label in labels.iter() {
                if !names.contains(label.name) {
                    names.insert(label.name.to_string());
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    /// Values of `name` among series matching the matchers, sorted.
    pub fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>> {
        if matchers.is_empty() {
            return self.index.label_values(name).map_err(|e| self.wrap(e));
        }
        let ids = postings_for_matchers(&self.index, matchers).map_err(|e| self.wrap(e))?;
        let mut values = BTreeSet::new();
        for id in ids.iter() {
            let labels = self.index.labels(id).map_err(|e| self.wrap(e))?;
            let value = labels.get(name);
            if !value.is_empty() && !values.contains(value) {
                values.insert(value.to_string());
            }
        }
        Ok(values.into_iter().collect())
    }
}

/// Turns a decoding error into an [`Error::InvalidBlock`] naming the block.
fn invalid_block(dir: &Path, error: Error) -> Error {
    match error {
        Error::Corrupt { .. } | Error::ChunkFull(_) | Error::OutOfOrder { .. } => {
            Error::InvalidBlock {
                path: dir.to_path_buf(),
                reason: error.to_string(),
            }
        }
        other => other,
    }
}

/// Drops the samples of `chunk` inside any of `intervals`; returns `None` when none is left.
/// Chunks no interval touches are returned unchanged.
pub(crate) fn apply_tombstones(
    chunk: ChunkMeta,
    intervals: &[Interval],
) -> Result<Option<ChunkMeta>> {
    if !intervals
        .iter()
        .any(|interval| interval.overlaps(chunk.min_time, chunk.max_time))
    {
        return Ok(Some(chunk));
    }
    if intervals
        .iter()
        .any(|interval| interval.min_time <= chunk.min_time && interval.max_time >= chunk.max_time)
    {
        return Ok(None);
    }
    if chunk.encoding != Encoding::Xor {
        return Err(Error::corrupt(
            "chunk",
            format!(
                "deleting samples from {:?} chunks is not supported",
                chunk.encoding
            ),
        ));
    }
    let mut kept = XorChunk::new();
    let mut range: Option<(i64, i64)> = None;
    let mut iterator = XorIterator::new(&chunk.data);
    while let Some((t, v)) = iterator.next_sample() {
        if intervals.iter().any(|interval| interval.contains(t)) {
            continue;
        }
        kept.append(t, v)?;
        range = Some(range.map_or((t, t), |(low, _)| (low, t)));
    }
    if let Some(error) = iterator.error() {
        return Err(error.clone());
    }
    Ok(range.map(|(min_time, max_time)| ChunkMeta {
        min_time,
        max_time,
        encoding: Encoding::Xor,
        data: kept.bytes().into(),
    }))
}
