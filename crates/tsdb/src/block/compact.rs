//! Merging blocks into one (`tsdb-block.md` §9): the series of all inputs merged by labels,
//! overlapping chunks of a series merged sample by sample and re-encoded, tombstones applied.

use std::collections::BTreeMap;
use std::path::Path;

use norn_model::labels::Labels;
use ulid::Ulid;

use crate::chunkenc::{Encoding, TARGET_SAMPLES_PER_CHUNK, XorChunk};
use crate::error::{Error, Result};
use crate::index::ChunkEntry;
use crate::series::{ChunkMeta, ChunkSeries};

use super::meta::{
    BlockMeta, CompactionMeta, HINT_FROM_OUT_OF_ORDER, HINT_FROM_SELECTED_SERIES,
    HINT_FROM_STALE_SERIES, ThanosDownsample, ThanosMeta,
};
use super::reader::Block;
use super::writer::BlockWriter;

/// `thanos.source` of blocks Norn's compaction writes (as Mimir's compactor does).
const COMPACTOR_SOURCE: &str = "compactor";

/// Walks one input block's series in index (= label) order.
struct Cursor<'a> {
    block: &'a Block,
    ids: Vec<u64>,
    next: usize,
    current: Option<(Labels, u64, Vec<ChunkEntry>)>,
}

impl<'a> Cursor<'a> {
    fn new(block: &'a Block) -> Result<Self> {
        let ids = block.index().all_postings()?.iter().collect();
        let mut cursor = Self {
            block,
            ids,
            next: 0,
            current: None,
        };
        cursor.advance()?;
        Ok(cursor)
    }

    fn advance(&mut self) -> Result<()> {
        self.current = match self.ids.get(self.next) {
            Some(&id) => {
                self.next += 1;
                let (labels, chunks) = self.block.index().series(id)?;
                if let Some((previous, _, _)) = &self.current
                    && labels <= *previous
                {
                    return Err(Error::InvalidBlock {
                        path: self.block.dir().to_path_buf(),
                        reason: format!("series {labels} not sorted after {previous}"),
                    });
                }
                Some((labels, id, chunks))
            }
            None => None,
        };
        Ok(())
    }
}

/// Merges N blocks into one new block under `parent_dir`: series merged by labels (N-way merge
/// over each block's sorted series), overlapping chunks of the same series decoded and merged
/// sample by sample with duplicates (same timestamp) removed (the block with the earliest
/// `minTime` wins) and re-encoded into chunks of at most
/// [`TARGET_SAMPLES_PER_CHUNK`] samples; non-overlapping chunks copied as-is; tombstones
/// applied. meta: level = max(level)+1, sources = union, parents = inputs. Returns `None` (and
/// writes nothing) when the result has no samples.
///
/// The output gets a `thanos` section when an input has one; all inputs must then agree on
/// external labels and resolution, and the output's `source` is `compactor`.
pub fn compact(blocks: &[&Block], parent_dir: &Path) -> Result<Option<BlockMeta>> {
    let thanos = derive_thanos(blocks)?;
    compact_with_thanos(blocks, parent_dir, thanos)
}

/// Like [`compact`], with the output's `thanos` section given by the caller.
pub fn compact_with_thanos(
    blocks: &[&Block],
    parent_dir: &Path,
    thanos: Option<ThanosMeta>,
) -> Result<Option<BlockMeta>> {
    if blocks.is_empty() {
        return Ok(None);
    }
    let mut ordered: Vec<&Block> = blocks.to_vec();
    ordered.sort_by_key(|block| block.meta().min_time);
    let mut cursors = ordered
        .iter()
        .map(|block| Cursor::new(block).map_err(|e| wrap(block, e)))
        .collect::<Result<Vec<_>>>()?;

    let mut writer: Option<BlockWriter> = None;
    while let Some(labels) = cursors
        .iter()
        .filter_map(|cursor| cursor.current.as_ref().map(|(labels, _, _)| labels))
        .min()
        .cloned()
    {
        let mut chunks = Vec::new();
        for cursor in &mut cursors {
            if cursor
                .current
                .as_ref()
                .is_none_or(|(current, _, _)| *current != labels)
            {
                continue;
            }
            if let Some((_, id, entries)) = cursor.current.take() {
                chunks.extend(
                    cursor
                        .block
                        .series_chunks(id, &entries, i64::MIN, i64::MAX)?,
                );
                // Keep the labels for the order check of the next series.
                cursor.current = Some((labels.clone(), id, Vec::new()));
            }
            let block = cursor.block;
            cursor.advance().map_err(|e| wrap(block, e))?;
        }
        let merged = merge_chunks(chunks)?;
        if merged.is_empty() {
            continue;
        }
        let writer = match &mut writer {
            Some(writer) => writer,
            None => writer.insert(BlockWriter::new(parent_dir)?),
        };
        writer.add_series(&labels, &merged)?;
    }
    let Some(writer) = writer else {
        return Ok(None);
    };

    let min_time = ordered.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let max_time = ordered.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    let mut sources: Vec<Ulid> = ordered
        .iter()
        .flat_map(|b| b.meta().compaction.sources.iter().copied())
        .collect();
    sources.sort();
    sources.dedup();
    let level = ordered
        .iter()
        .map(|b| b.meta().compaction.level)
        .max()
        .unwrap_or(0)
        + 1;
    let has_hint =
        |block: &&Block, hint: &str| block.meta().compaction.hints.iter().any(|h| h == hint);
    let mut hints = Vec::new();
    if ordered.iter().all(|b| has_hint(b, HINT_FROM_OUT_OF_ORDER)) {
        hints.push(HINT_FROM_OUT_OF_ORDER.to_string());
    }
    for hint in [HINT_FROM_STALE_SERIES, HINT_FROM_SELECTED_SERIES] {
        if ordered.iter().any(|b| has_hint(b, hint)) {
            hints.push(hint.to_string());
        }
    }
    hints.sort();
    let compaction = CompactionMeta {
        level,
        sources,
        parents: ordered.iter().map(|b| b.meta().desc()).collect(),
        hints,
        ..CompactionMeta::default()
    };
    writer
        .finish(min_time, max_time, compaction, thanos)
        .map(Some)
}

fn wrap(block: &Block, error: Error) -> Error {
    match error {
        Error::Corrupt { .. } => Error::InvalidBlock {
            path: block.dir().to_path_buf(),
            reason: error.to_string(),
        },
        other => other,
    }
}

/// The output's Thanos section: present when an input has one; inputs must agree on external
/// labels and resolution (a missing section counts as no labels, raw resolution).
fn derive_thanos(blocks: &[&Block]) -> Result<Option<ThanosMeta>> {
    let mut stream: Option<(BTreeMap<String, String>, i64)> = None;
    let mut any = false;
    for block in blocks {
        let key = match &block.meta().thanos {
            Some(thanos) => {
                any = true;
                (thanos.labels.clone(), thanos.downsample.resolution)
            }
            None => (BTreeMap::new(), 0),
        };
        match &stream {
            None => stream = Some(key),
            Some(existing) if *existing != key => {
                return Err(Error::InvalidBlock {
                    path: block.dir().to_path_buf(),
                    reason: format!(
                        "cannot compact blocks of different streams: labels/resolution {key:?} vs {existing:?}"
                    ),
                });
            }
            Some(_) => {}
        }
    }
    Ok(match stream {
        Some((labels, resolution)) if any => Some(ThanosMeta {
            labels,
            downsample: ThanosDownsample { resolution },
            source: COMPACTOR_SOURCE.to_string(),
            ..ThanosMeta::default()
        }),
        _ => None,
    })
}

/// Orders a series' chunks by time; chunks overlapping no other are kept as they are, each
/// group of overlapping chunks is merged and re-encoded into chunks of at most
/// [`TARGET_SAMPLES_PER_CHUNK`] samples. On equal timestamps the chunk that comes first in
/// `chunks` wins (compaction lists the blocks by ascending `minTime`).
pub(crate) fn merge_chunks(chunks: Vec<ChunkMeta>) -> Result<Vec<ChunkMeta>> {
    let mut chunks: Vec<(usize, ChunkMeta)> = chunks.into_iter().enumerate().collect();
    chunks.sort_by_key(|(_, chunk)| chunk.min_time);
    let mut merged = Vec::with_capacity(chunks.len());
    let mut group: Vec<(usize, ChunkMeta)> = Vec::new();
    let mut group_max = i64::MIN;
    for (priority, chunk) in chunks {
        if !group.is_empty() && chunk.min_time > group_max {
            flush_group(&mut group, &mut merged)?;
        }
        group_max = if group.is_empty() {
            chunk.max_time
        } else {
            group_max.max(chunk.max_time)
        };
        group.push((priority, chunk));
    }
    flush_group(&mut group, &mut merged)?;
    Ok(merged)
}

fn flush_group(group: &mut Vec<(usize, ChunkMeta)>, out: &mut Vec<ChunkMeta>) -> Result<()> {
    match group.len() {
        0 => {}
        1 => out.extend(group.drain(..).map(|(_, chunk)| chunk)),
        _ => {
            if let Some((_, chunk)) = group.iter().find(|(_, c)| c.encoding != Encoding::Xor) {
                return Err(Error::corrupt(
                    "chunk",
                    format!(
                        "merging overlapping {:?} chunks is not supported",
                        chunk.encoding
                    ),
                ));
            }
            // The sample iterator keeps the first listed chunk's sample on equal timestamps.
            group.sort_by_key(|(priority, _)| *priority);
            let series = ChunkSeries {
                labels: Labels::default(),
                chunks: group.drain(..).map(|(_, chunk)| chunk).collect(),
            };
            let samples = series.collect_samples(i64::MIN, i64::MAX)?;
            out.extend(encode_samples(&samples)?);
        }
    }
    Ok(())
}

/// Encodes samples (sorted, unique timestamps) into XOR chunks of at most
/// [`TARGET_SAMPLES_PER_CHUNK`] samples.
pub(crate) fn encode_samples(samples: &[(i64, f64)]) -> Result<Vec<ChunkMeta>> {
    let mut chunks = Vec::with_capacity(samples.len().div_ceil(TARGET_SAMPLES_PER_CHUNK));
    for run in samples.chunks(TARGET_SAMPLES_PER_CHUNK) {
        let mut chunk = XorChunk::new();
        for &(t, v) in run {
            chunk.append(t, v)?;
        }
        if let (Some(first), Some(last)) = (run.first(), run.last()) {
            chunks.push(ChunkMeta {
                min_time: first.0,
                max_time: last.0,
                encoding: Encoding::Xor,
                data: chunk.bytes().into(),
            });
        }
    }
    Ok(chunks)
}
