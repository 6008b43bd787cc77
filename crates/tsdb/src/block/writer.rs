//! Writing a new block directory: chunks as series arrive, then index, tombstones and
//! `meta.json`, then an atomic rename into place.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use norn_model::labels::Labels;
use ulid::Ulid;

use crate::chunkenc::Encoding;
use crate::chunks::{ChunkWriter, DEFAULT_SEGMENT_SIZE, sync_dir};
use crate::error::{Error, Result};
use crate::index::{ChunkEntry, IndexWriter};
use crate::series::ChunkMeta;

use super::meta::{BlockMeta, BlockStats, CompactionMeta, META_VERSION, ThanosFile, ThanosMeta};
use super::tombstones::Tombstones;
use super::{CHUNKS_DIRNAME, INDEX_FILENAME};

/// Removes a directory on drop unless disarmed: an abandoned block leaves nothing behind.
#[derive(Debug)]
struct TmpDirGuard {
    path: PathBuf,
    armed: bool,
}

impl Drop for TmpDirGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Writes one block. Built in `<parent>/<ULID>.tmp-for-creation`, renamed to
/// `<parent>/<ULID>` by [`BlockWriter::finish`]; dropping the writer unfinished removes the
/// temporary directory.
#[derive(Debug)]
pub struct BlockWriter {
    ulid: Ulid,
    parent: PathBuf,
    tmp: TmpDirGuard,
    chunks: ChunkWriter,
    series: Vec<(Labels, Vec<ChunkEntry>)>,
    stats: BlockStats,
    /// Smallest and largest chunk timestamps seen.
    time_range: Option<(i64, i64)>,
}

/// Returns the number of samples a chunk holds (the big-endian `u16` every encoding starts
/// with).
pub(crate) fn chunk_samples(chunk: &ChunkMeta) -> Result<u64> {
    match chunk.data.get(..2) {
        Some(&[high, low]) => Ok(u64::from(u16::from_be_bytes([high, low]))),
        _ => Err(Error::corrupt(
            "chunk",
            "chunk data shorter than its sample count",
        )),
    }
}

impl BlockWriter {
    /// Starts a block under `parent_dir` (written into a temporary directory, renamed to
    /// `<parent_dir>/<ULID>` by [`finish`](Self::finish)).
    pub fn new(parent_dir: &Path) -> Result<Self> {
        Self::with_segment_size(parent_dir, DEFAULT_SEGMENT_SIZE)
    }

    /// Like [`new`](Self::new), with chunk segment files of at most `max_segment_size` bytes.
    pub fn with_segment_size(parent_dir: &Path, max_segment_size: u64) -> Result<Self> {
        let ulid = Ulid::new();
        let tmp_path = parent_dir.join(format!("{ulid}.tmp-for-creation"));
        fs::create_dir_all(&tmp_path).map_err(|e| Error::io("create directory", &tmp_path, e))?;
        let tmp = TmpDirGuard {
            path: tmp_path,
            armed: true,
        };
        let chunks = ChunkWriter::create(&tmp.path.join(CHUNKS_DIRNAME), max_segment_size)?;
        Ok(Self {
            ulid,
            parent: parent_dir.to_path_buf(),
            tmp,
            chunks,
            series: Vec::new(),
            stats: BlockStats::default(),
            time_range: None,
        })
    }

    /// Returns the ID the block will have.
    pub fn ulid(&self) -> Ulid {
        self.ulid
    }

    /// Returns the number of series added so far.
    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Adds a series; calls must come in strictly increasing `Labels` order (Prometheus'
    /// `labels.Compare`). Chunks are sorted by `min_time`, non-overlapping; they are written
    /// to the chunk files immediately, only labels and chunk references are kept in memory
    /// until [`finish`](Self::finish). A series without chunks is skipped (Prometheus never
    /// writes one).
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<()> {
        let invalid = |reason: String| Error::InvalidBlock {
            path: self.tmp.path.clone(),
            reason,
        };
        if labels.is_empty() {
            return Err(invalid("series without labels".into()));
        }
        if let Some((last, _)) = self.series.last()
            && labels <= last
        {
            return Err(invalid(format!(
                "series {labels} added after {last}: out of order"
            )));
        }
        if chunks.is_empty() {
            return Ok(());
        }
        let mut samples = Vec::with_capacity(chunks.len());
        for (index, chunk) in chunks.iter().enumerate() {
            if chunk.min_time > chunk.max_time {
                return Err(invalid(format!(
                    "series {labels}: chunk min time {} after max time {}",
                    chunk.min_time, chunk.max_time
                )));
            }
            if index > 0 && chunk.min_time <= chunks[index - 1].max_time {
                return Err(invalid(format!(
                    "series {labels}: chunks overlap or are unsorted ({} <= {})",
                    chunk.min_time,
                    chunks[index - 1].max_time
                )));
            }
            samples.push(chunk_samples(chunk)?);
        }
        let mut entries = Vec::with_capacity(chunks.len());
        for (chunk, samples) in chunks.iter().zip(samples) {
            let reference = self.chunks.write_chunk(chunk.encoding, &chunk.data)?;
            entries.push(ChunkEntry {
                min_time: chunk.min_time,
                max_time: chunk.max_time,
                reference,
            });
            self.stats.num_samples += samples;
            match chunk.encoding {
                Encoding::Xor => self.stats.num_float_samples += samples,
                Encoding::Histogram | Encoding::FloatHistogram => {
                    self.stats.num_histogram_samples += samples
                }
            }
        }
        self.stats.num_chunks += chunks.len() as u64;
        self.stats.num_series += 1;
        let (first, last) = (chunks[0].min_time, chunks[chunks.len() - 1].max_time);
        self.time_range = Some(match self.time_range {
            None => (first, last),
            Some((low, high)) => (low.min(first), high.max(last)),
        });
        self.series.push((labels.clone(), entries));
        Ok(())
    }

    /// Writes index, tombstones (empty) and `meta.json`, fsyncs, and renames the block into
    /// place. `min_time`/`max_time` are the block range (`max_time` exclusive); every chunk
    /// must lie inside it. Empty `compaction.sources` become `[this block]`. With a Thanos
    /// section, its `segment_files` and `files` are filled in from what was written.
    pub fn finish(
        self,
        min_time: i64,
        max_time: i64,
        mut compaction: CompactionMeta,
        thanos: Option<ThanosMeta>,
    ) -> Result<BlockMeta> {
        let Self {
            ulid,
            parent,
            mut tmp,
            chunks,
            series,
            stats,
            time_range,
        } = self;
        let invalid = |reason: String| Error::InvalidBlock {
            path: tmp.path.clone(),
            reason,
        };
        if min_time >= max_time {
            return Err(invalid(format!(
                "empty block range [{min_time}, {max_time})"
            )));
        }
        if let Some((low, high)) = time_range
            && (low < min_time || high >= max_time)
        {
            return Err(invalid(format!(
                "chunks span [{low}, {high}], outside the block range [{min_time}, {max_time})"
            )));
        }
        let segments = chunks.finish()?;

        let index_path = tmp.path.join(INDEX_FILENAME);
        let symbols: BTreeSet<&str> = series
            .iter()
            .flat_map(|(labels, _)| labels.iter().flat_map(|l| [l.name, l.value]))
            .collect();
        let mut index = IndexWriter::create(&index_path, symbols.iter().copied())?;
        for (labels, entries) in &series {
            index.add_series(labels, entries)?;
        }
        let index_size = index.finish()?;
        drop(series);

        Tombstones::new().write_to_dir(&tmp.path)?;

        if compaction.sources.is_empty() {
            compaction.sources.push(ulid);
        }
        compaction.sources.sort();
        compaction.sources.dedup();
        let thanos = thanos.map(|mut thanos| {
            thanos.segment_files = segments.iter().map(|s| s.name.clone()).collect();
            let mut files: Vec<ThanosFile> = segments
                .iter()
                .map(|s| ThanosFile {
                    rel_path: format!("{CHUNKS_DIRNAME}/{}", s.name),
                    size_bytes: Some(s.size),
                    hash: None,
                })
                .collect();
            files.push(ThanosFile {
                rel_path: INDEX_FILENAME.into(),
                size_bytes: Some(index_size),
                hash: None,
            });
            files.push(ThanosFile {
                rel_path: super::meta::META_FILENAME.into(),
                size_bytes: None,
                hash: None,
            });
            files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
            thanos.files = files;
            thanos
        });
        let meta = BlockMeta {
            ulid,
            min_time,
            max_time,
            stats,
            compaction,
            version: META_VERSION,
            thanos,
        };
        meta.write_to_dir(&tmp.path)?;
        sync_dir(&tmp.path)?;

        let target = parent.join(ulid.to_string());
        fs::rename(&tmp.path, &target).map_err(|e| Error::io("rename", &tmp.path, e))?;
        tmp.armed = false;
        sync_dir(&parent)?;
        Ok(meta)
    }
}
