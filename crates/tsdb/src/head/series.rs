//! One series in the head: its labels, its completed chunks and the chunk being appended to.
//!
//! A chunk is cut when it holds [`TARGET_SAMPLES_PER_CHUNK`] samples or when a sample crosses
//! the next multiple of the head's chunk range (2h by default), so no chunk ever spans two
//! blocks and cutting a block never splits a chunk. Completed chunks are kept as shared,
//! exactly-sized byte slices: queries take them without copying.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use norn_model::labels::Labels;

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

/// A completed, immutable chunk.
#[derive(Debug)]
struct CompletedChunk {
    min_time: i64,
    max_time: i64,
    data: Arc<[u8]>,
}

/// The chunk being appended to.
#[derive(Debug)]
struct OpenChunk {
    chunk: XorChunk,
    min_time: i64,
    max_time: i64,
    /// First timestamp that belongs to the next chunk range.
    range_end: i64,
}

/// A series' samples, behind the series' mutex.
#[derive(Debug, Default)]
pub(crate) struct SeriesData {
    completed: Vec<CompletedChunk>,
    open: Option<OpenChunk>,
    /// Last appended sample (timestamp, value bits), kept across head truncation so a late
    /// sample is still recognised as out of order.
    last: Option<(i64, u64)>,
    /// Appenders holding samples for this series that are not committed yet; garbage
    /// collection leaves such series alone.
    pub(crate) pending_appends: u32,
}

/// A series in the head.
#[derive(Debug)]
pub(crate) struct MemSeries {
    pub(crate) series_ref: SeriesRef,
    pub(crate) labels: Labels,
    /// Whether a series record for this series is in the WAL.
    pub(crate) logged: AtomicBool,
    data: Mutex<SeriesData>,
}

impl MemSeries {
    pub(crate) fn new(series_ref: SeriesRef, labels: Labels, logged: bool) -> Self {
        Self {
            series_ref,
            labels,
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
        self.labels.heap_bytes()
            + data.completed.capacity() * std::mem::size_of::<CompletedChunk>()
            + data
                .completed
                .iter()
                .map(|chunk| chunk.data.len() + 2 * std::mem::size_of::<usize>())
                .sum::<usize>()
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
        match previous.or(self.last) {
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
    /// started. `chunk_range` is the head's block range in milliseconds.
    pub(crate) fn append(&mut self, t: i64, v: f64, chunk_range: i64) -> Result<bool, Rejection> {
        match self.check(None, t, v)? {
            Acceptance::Identical => return Ok(false),
            Acceptance::Append => {}
        }
        let needs_cut = match &self.open {
            None => true,
            Some(open) => {
                open.chunk.num_samples() >= TARGET_SAMPLES_PER_CHUNK || t >= open.range_end
            }
        };
        if needs_cut {
            self.complete_open_chunk();
            let range_start = t.div_euclid(chunk_range).saturating_mul(chunk_range);
            self.open = Some(OpenChunk {
                chunk: XorChunk::new(),
                min_time: t,
                max_time: t,
                range_end: range_start.saturating_add(chunk_range),
            });
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(false);
        };
        if open.chunk.append(t, v).is_err() {
            // Unreachable after the checks above; reported as out of order, never a panic.
            return Err(Rejection::OutOfOrder {
                last: open.max_time,
            });
        }
        open.max_time = t;
        self.last = Some((t, v.to_bits()));
        Ok(needs_cut)
    }

    fn complete_open_chunk(&mut self) {
        if let Some(open) = self.open.take()
            && open.chunk.num_samples() > 0
        {
            self.completed.push(CompletedChunk {
                min_time: open.min_time,
                max_time: open.max_time,
                data: Arc::from(open.chunk.bytes()),
            });
        }
    }

    /// Returns the chunks overlapping `[mint, maxt]`, oldest first; the open chunk is copied.
    pub(crate) fn chunks(&self, mint: i64, maxt: i64) -> Vec<ChunkMeta> {
        let mut chunks: Vec<ChunkMeta> = self
            .completed
            .iter()
            .filter(|chunk| chunk.min_time <= maxt && chunk.max_time >= mint)
            .map(|chunk| ChunkMeta {
                min_time: chunk.min_time,
                max_time: chunk.max_time,
                encoding: Encoding::Xor,
                data: Arc::clone(&chunk.data),
            })
            .collect();
        if let Some(open) = &self.open
            && open.chunk.num_samples() > 0
            && open.min_time <= maxt
            && open.max_time >= mint
        {
            chunks.push(ChunkMeta {
                min_time: open.min_time,
                max_time: open.max_time,
                encoding: Encoding::Xor,
                data: Arc::from(open.chunk.bytes()),
            });
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
            .map(|open| open.max_time)
            .or(self.completed.last().map(|chunk| chunk.max_time))?;
        Some((min, max))
    }

    /// Drops chunks that end before `mint`; returns the number dropped.
    pub(crate) fn truncate(&mut self, mint: i64) -> usize {
        let before = self.num_chunks();
        self.completed.retain(|chunk| chunk.max_time >= mint);
        if self.open.as_ref().is_some_and(|open| open.max_time < mint) {
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

    #[test]
    fn chunks_are_cut_at_120_samples_and_at_range_boundaries() {
        let mut data = SeriesData::default();
        for i in 0..480 {
            data.append(i * 15_000, i as f64, RANGE).unwrap();
        }
        // 2h at 15s = 480 samples = exactly four full chunks in one range.
        assert_eq!(data.num_chunks(), 4);
        data.append(RANGE, 1.0, RANGE).unwrap();
        assert_eq!(data.num_chunks(), 5);
        let mut data = SeriesData::default();
        data.append(RANGE - 1, 1.0, RANGE).unwrap();
        data.append(RANGE, 2.0, RANGE).unwrap();
        assert_eq!(data.num_chunks(), 2, "a chunk never spans a range boundary");
        let chunks = data.chunks(i64::MIN, i64::MAX);
        assert_eq!(
            (chunks[0].min_time, chunks[0].max_time),
            (RANGE - 1, RANGE - 1)
        );
        assert_eq!((chunks[1].min_time, chunks[1].max_time), (RANGE, RANGE));
    }

    #[test]
    fn out_of_order_duplicate_and_identical_samples() {
        let mut data = SeriesData::default();
        data.append(10, 1.0, RANGE).unwrap();
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
        data.append(11, stale, RANGE).unwrap();
        assert_eq!(data.check(None, 11, stale), Ok(Acceptance::Identical));
        assert_eq!(data.check(None, 11, f64::NAN), Err(Rejection::Duplicate));
    }

    #[test]
    fn truncation_drops_old_chunks_and_keeps_the_last_timestamp() {
        let mut data = SeriesData::default();
        for i in 0..300 {
            data.append(i * 1000, 0.0, RANGE).unwrap();
        }
        assert_eq!(data.num_chunks(), 3);
        assert_eq!(data.truncate(120_000), 1);
        assert_eq!(data.time_range(), Some((120_000, 299_000)));
        assert_eq!(data.truncate(400_000), 2);
        assert!(data.is_collectable());
        assert!(
            data.check(None, 1, 0.0).is_err(),
            "last timestamp survives truncation"
        );
    }
}
