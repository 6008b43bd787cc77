//! One series in the head: its labels, its completed chunks and the chunk being appended to.
//!
//! A chunk is cut when it holds [`TARGET_SAMPLES_PER_CHUNK`] samples or when a sample crosses
//! the next multiple of the head's chunk range (2h by default), so no chunk ever spans two
//! blocks and cutting a block never splits a chunk. Completed chunks go to the head chunk
//! files (module `chunk_files`) and the series keeps only their location; without chunk
//! files (or if a write fails) they stay in memory as shared, exactly-sized byte slices.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::chunk_files::{DiskChunkRef, HeadChunkFiles};
use crate::chunkenc::{Encoding, TARGET_SAMPLES_PER_CHUNK, XorChunk};
use crate::series::{ChunkMeta, SeriesRef};

/// Why a sample cannot be appended to a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Rejection {
    /// Older than the series' last sample.
    OutOfOrder { last: i64 },
    /// Same timestamp as the last sample, different value.
    Duplicate,
}

/// What to do with a sample that passed the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acceptance {
    /// Append it.
    Append,
    /// Same timestamp and bit-identical value as the last sample: accepted, nothing to store.
    Identical,
}

/// `CompletedChunk::location` of a chunk kept in memory (in `SeriesData::in_memory`).
const IN_MEMORY: u64 = u64::MAX;

/// Completed chunks kept in memory, by `min_time`.
type MemoryChunks = Vec<(i64, Arc<[u8]>)>;

/// A completed, immutable chunk: 24 bytes, as a head holds millions of them.
#[derive(Debug)]
struct CompletedChunk {
    min_time: i64,
    /// `max_time - min_time`; a chunk never spans more than the chunk range, which the head
    /// keeps below `u32::MAX` milliseconds.
    span: u32,
    /// Length of the entry in the chunk files (0 in memory).
    entry_len: u32,
    /// Chunk-file reference, or [`IN_MEMORY`].
    location: u64,
}

impl CompletedChunk {
    fn max_time(&self) -> i64 {
        self.min_time.saturating_add(i64::from(self.span))
    }
}

/// A chunk as a query finds it: ready, or to be read from the chunk files (outside the
/// series lock).
#[derive(Debug)]
pub(crate) enum ChunkHandle {
    /// Bytes at hand.
    Ready(ChunkMeta),
    /// Bytes in the head chunk files.
    OnDisk {
        min_time: i64,
        max_time: i64,
        location: DiskChunkRef,
    },
}

/// Where a series puts the chunks it completes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkSink<'a> {
    pub(crate) files: Option<&'a HeadChunkFiles>,
    pub(crate) series_ref: SeriesRef,
    pub(crate) chunk_range: i64,
}

/// The chunk being appended to.
#[derive(Debug)]
struct OpenChunk {
    chunk: XorChunk,
    min_time: i64,
}

impl OpenChunk {
    /// Timestamp of the last sample (the chunk is never empty).
    fn max_time(&self) -> i64 {
        self.chunk.last_sample().map_or(self.min_time, |(t, _)| t)
    }
}

/// A series' samples, behind the series' mutex.
#[derive(Debug, Default)]
pub(crate) struct SeriesData {
    completed: Vec<CompletedChunk>,
    /// Bytes of completed chunks that are not on disk, by `min_time` (rare: only without
    /// chunk files or after a failed write).
    in_memory: Option<Box<MemoryChunks>>,
    open: Option<OpenChunk>,
    /// Appenders holding samples for this series that are not committed yet; garbage
    /// collection leaves such series alone.
    pub(crate) pending_appends: u32,
}

/// A series in the head.
#[derive(Debug)]
pub(crate) struct MemSeries {
    pub(crate) series_ref: SeriesRef,
    /// The label set as symbol IDs (name, value, name, value, …) of the head's symbol table.
    pub(crate) symbols: Box<[u32]>,
    /// Whether a series record for this series is in the WAL.
    pub(crate) logged: AtomicBool,
    data: Mutex<SeriesData>,
}

impl MemSeries {
    pub(crate) fn new(series_ref: SeriesRef, symbols: Box<[u32]>, logged: bool) -> Self {
        Self {
            series_ref,
            symbols,
            logged: AtomicBool::new(logged),
            data: Mutex::new(SeriesData::default()),
        }
    }

    /// Locks the series' data. A panic in another thread while holding the lock leaves the
    /// data consistent (every mutation is a single push or assignment), so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SeriesData> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns the heap bytes this series holds, excluding the index.
    pub(crate) fn heap_bytes(&self) -> usize {
        let data = self.lock();
        self.symbols.len() * std::mem::size_of::<u32>()
            + data.completed.capacity() * std::mem::size_of::<CompletedChunk>()
            + data.in_memory.as_ref().map_or(0, |chunks| {
                chunks
                    .iter()
                    .map(|(_, bytes)| bytes.len() + 2 * std::mem::size_of::<usize>() + 24)
                    .sum::<usize>()
            })
            + data.open.as_ref().map_or(0, |open| open.chunk.heap_bytes())
    }
}

impl SeriesData {
    /// Checks a sample against the last one (`previous` overrides it with a not yet committed
    /// sample of the same appender).
    pub(crate) fn check(
        &self,
        previous: Option<(i64, u64)>,
        t: i64,
        v: f64,
    ) -> Result<Acceptance, Rejection> {
        let last = self
            .open
            .as_ref()
            .and_then(|open| open.chunk.last_sample())
            .map(|(t, v)| (t, v.to_bits()));
        // Without an open chunk the series' samples were cut into a block, and the head's
        // out-of-bounds rule already rejects anything at or before them.
        match previous.or(last) {
            Some((last, _)) if t < last => Err(Rejection::OutOfOrder { last }),
            Some((last, bits)) if t == last => {
                if bits == v.to_bits() {
                    Ok(Acceptance::Identical)
                } else {
                    Err(Rejection::Duplicate)
                }
            }
            _ => Ok(Acceptance::Append),
        }
    }

    /// Appends a sample that passed [`SeriesData::check`]; returns whether a new chunk was
    /// started. Completed chunks go to `sink`.
    pub(crate) fn append(
        &mut self,
        t: i64,
        v: f64,
        sink: ChunkSink<'_>,
    ) -> Result<bool, Rejection> {
        let chunk_range = sink.chunk_range;
        match self.check(None, t, v)? {
            Acceptance::Identical => return Ok(false),
            Acceptance::Append => {}
        }
        let needs_cut = match &self.open {
            None => true,
            Some(open) => {
                let range_end = open
                    .min_time
                    .div_euclid(chunk_range)
                    .saturating_mul(chunk_range)
                    .saturating_add(chunk_range);
                open.chunk.num_samples() >= TARGET_SAMPLES_PER_CHUNK || t >= range_end
            }
        };
        if needs_cut {
            let previous_len = self
                .open
                .as_ref()
                .map_or(0, |open| open.chunk.bytes().len());
            self.complete_open_chunk(sink);
            self.open = Some(OpenChunk {
                // Size the buffer like the previous chunk: no doubling slack per series.
                chunk: XorChunk::with_capacity(previous_len),
                min_time: t,
            });
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(false);
        };
        if open.chunk.append(t, v).is_err() {
            // Unreachable after the checks above; reported as out of order, never a panic.
            return Err(Rejection::OutOfOrder {
                last: open.max_time(),
            });
        }
        Ok(needs_cut)
    }

    fn complete_open_chunk(&mut self, sink: ChunkSink<'_>) {
        let Some(open) = self.open.take() else {
            return;
        };
        if open.chunk.num_samples() == 0 {
            return;
        }
        let bytes = open.chunk.bytes();
        let max_time = open.max_time();
        let written = match sink.files.map(|files| {
            files.write(
                sink.series_ref,
                open.min_time,
                max_time,
                Encoding::Xor,
                bytes,
            )
        }) {
            Some(Ok(location)) => Some(location),
            Some(Err(error)) => {
                // Memory is the fallback: the samples are safe in the WAL either way.
                tracing::warn!(%error, "could not write head chunk to disk; keeping it in memory");
                None
            }
            None => None,
        };
        let (location, entry_len) = match written {
            Some(location) => (location.chunk_ref, location.entry_len),
            None => {
                self.in_memory
                    .get_or_insert_with(Box::default)
                    .push((open.min_time, Arc::from(bytes)));
                (IN_MEMORY, 0)
            }
        };
        if self.completed.capacity() == self.completed.len() {
            // Grow one at a time: a 2h head holds a handful of chunks per series.
            self.completed.reserve_exact(1);
        }
        self.completed.push(CompletedChunk {
            min_time: open.min_time,
            span: u32::try_from(max_time.saturating_sub(open.min_time)).unwrap_or(u32::MAX),
            entry_len,
            location,
        });
    }

    /// Returns the chunks overlapping `[mint, maxt]`, oldest first; the open chunk is copied.
    pub(crate) fn chunks(&self, mint: i64, maxt: i64) -> Vec<ChunkHandle> {
        let mut chunks: Vec<ChunkHandle> = self
            .completed
            .iter()
            .filter(|chunk| chunk.min_time <= maxt && chunk.max_time() >= mint)
            .filter_map(|chunk| {
                if chunk.location != IN_MEMORY {
                    return Some(ChunkHandle::OnDisk {
                        min_time: chunk.min_time,
                        max_time: chunk.max_time(),
                        location: DiskChunkRef {
                            chunk_ref: chunk.location,
                            entry_len: chunk.entry_len,
                        },
                    });
                }
                let (_, data) = self
                    .in_memory
                    .as_ref()?
                    .iter()
                    .find(|(min_time, _)| *min_time == chunk.min_time)?;
                Some(ChunkHandle::Ready(ChunkMeta {
                    min_time: chunk.min_time,
                    max_time: chunk.max_time(),
                    encoding: Encoding::Xor,
                    data: Arc::clone(data),
                }))
            })
            .collect();
        if let Some(open) = &self.open
            && open.chunk.num_samples() > 0
            && open.min_time <= maxt
            && open.max_time() >= mint
        {
            chunks.push(ChunkHandle::Ready(ChunkMeta {
                min_time: open.min_time,
                max_time: open.max_time(),
                encoding: Encoding::Xor,
                data: Arc::from(open.chunk.bytes()),
            }));
        }
        chunks
    }

    /// Returns the number of chunks (completed and open).
    pub(crate) fn num_chunks(&self) -> usize {
        self.completed.len() + usize::from(self.open.is_some())
    }

    /// Returns the time range of the samples held, if any.
    pub(crate) fn time_range(&self) -> Option<(i64, i64)> {
        let min = self
            .completed
            .first()
            .map(|chunk| chunk.min_time)
            .or(self.open.as_ref().map(|open| open.min_time))?;
        let max = self
            .open
            .as_ref()
            .map(OpenChunk::max_time)
            .or(self.completed.last().map(CompletedChunk::max_time))?;
        Some((min, max))
    }

    /// Drops chunks that end before `mint`; returns the number dropped.
    pub(crate) fn truncate(&mut self, mint: i64) -> usize {
        let before = self.num_chunks();
        self.completed.retain(|chunk| chunk.max_time() >= mint);
        if let Some(in_memory) = self.in_memory.as_mut() {
            let completed = &self.completed;
            in_memory
                .retain(|(min_time, _)| completed.iter().any(|chunk| chunk.min_time == *min_time));
            if in_memory.is_empty() {
                self.in_memory = None;
            }
        }
        if self
            .open
            .as_ref()
            .is_some_and(|open| open.max_time() < mint)
        {
            self.open = None;
        }
        before - self.num_chunks()
    }

    /// Returns true when the series holds no samples and no appender is about to add some.
    pub(crate) fn is_collectable(&self) -> bool {
        self.completed.is_empty() && self.open.is_none() && self.pending_appends == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: i64 = 7_200_000;
    const SINK: ChunkSink<'static> = ChunkSink {
        files: None,
        series_ref: 1,
        chunk_range: RANGE,
    };

    fn ready(handles: Vec<ChunkHandle>) -> Vec<ChunkMeta> {
        handles
            .into_iter()
            .map(|handle| match handle {
                ChunkHandle::Ready(meta) => meta,
                ChunkHandle::OnDisk { .. } => panic!("no chunk files in these tests"),
            })
            .collect()
    }

    #[test]
    fn chunks_are_cut_at_120_samples_and_at_range_boundaries() {
        let mut data = SeriesData::default();
        for i in 0..480 {
            data.append(i * 15_000, i as f64, SINK).unwrap();
        }
        // 2h at 15s = 480 samples = exactly four full chunks in one range.
        assert_eq!(data.num_chunks(), 4);
        data.append(RANGE, 1.0, SINK).unwrap();
        assert_eq!(data.num_chunks(), 5);
        let mut data = SeriesData::default();
        data.append(RANGE - 1, 1.0, SINK).unwrap();
        data.append(RANGE, 2.0, SINK).unwrap();
        assert_eq!(data.num_chunks(), 2, "a chunk never spans a range boundary");
        let chunks = ready(data.chunks(i64::MIN, i64::MAX));
        assert_eq!(
            (chunks[0].min_time, chunks[0].max_time),
            (RANGE - 1, RANGE - 1)
        );
        assert_eq!((chunks[1].min_time, chunks[1].max_time), (RANGE, RANGE));
    }

    #[test]
    fn out_of_order_duplicate_and_identical_samples() {
        let mut data = SeriesData::default();
        data.append(10, 1.0, SINK).unwrap();
        assert_eq!(
            data.check(None, 9, 1.0),
            Err(Rejection::OutOfOrder { last: 10 })
        );
        assert_eq!(data.check(None, 10, 2.0), Err(Rejection::Duplicate));
        assert_eq!(data.check(None, 10, 1.0), Ok(Acceptance::Identical));
        assert_eq!(
            data.check(Some((12, 0)), 11, 1.0),
            Err(Rejection::OutOfOrder { last: 12 })
        );
        // Stale markers are values like any other: the NaN bits are compared, not the value.
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        data.append(11, stale, SINK).unwrap();
        assert_eq!(data.check(None, 11, stale), Ok(Acceptance::Identical));
        assert_eq!(data.check(None, 11, f64::NAN), Err(Rejection::Duplicate));
    }

    #[test]
    fn truncation_drops_old_chunks() {
        let mut data = SeriesData::default();
        for i in 0..300 {
            data.append(i * 1000, 0.0, SINK).unwrap();
        }
        assert_eq!(data.num_chunks(), 3);
        assert_eq!(data.truncate(120_000), 1);
        assert_eq!(data.time_range(), Some((120_000, 299_000)));
        assert_eq!(data.truncate(400_000), 2);
        assert!(data.is_collectable());
    }
}
