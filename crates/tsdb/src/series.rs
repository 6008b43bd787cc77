//! The types the head, the blocks and the query layer exchange: chunk metadata with the chunk's
//! bytes, a series as a list of chunks, and the iterator that reads a series' samples in time
//! order across chunks that may overlap (head and block, or blocks cut from different
//! replicas), keeping one sample per timestamp.

use std::sync::Arc;

use norn_model::labels::Labels;

use crate::chunkenc::{Encoding, TARGET_SAMPLES_PER_CHUNK, XorChunk, XorIterator};
use crate::error::{Error, Result};

/// The head's identifier of a series ("HeadSeriesRef"): assigned from 1 upwards, never reused
/// while the WAL still refers to it. In a block, series are identified by their index offset.
pub type SeriesRef = u64;

/// One chunk of a series: its time range (both ends inclusive), encoding and bytes (the chunk
/// data without the encoding byte, exactly as it sits in a segment file).
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkMeta {
    /// Timestamp of the chunk's first sample, in milliseconds.
    pub min_time: i64,
    /// Timestamp of the chunk's last sample, in milliseconds.
    pub max_time: i64,
    /// How the bytes are encoded.
    pub encoding: Encoding,
    /// The chunk data, shared so a query can hold it while the head moves on.
    pub data: Arc<[u8]>,
}

impl ChunkMeta {
    /// Returns true if the chunk may hold samples in `[mint, maxt]`.
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_time <= maxt && self.max_time >= mint
    }
}

/// A series with its chunks (chunks may overlap: a block and the head, or replicas merged by
/// [`merge_chunk_lists`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkSeries {
    /// The series' labels.
    pub labels: Labels,
    /// The chunks: sorted by `min_time` within each copy of the series; merged copies follow
    /// each other.
    pub chunks: Vec<ChunkMeta>,
}

impl ChunkSeries {
    /// Encodes `samples` (in increasing timestamp order) as XOR chunks of at most
    /// [`TARGET_SAMPLES_PER_CHUNK`] samples each, the shape storage hands out. Used by in-memory
    /// stores and tests; fails on samples out of order.
    pub fn from_samples(labels: Labels, samples: &[(i64, f64)]) -> Result<Self> {
        let mut chunks = Vec::with_capacity(samples.len().div_ceil(TARGET_SAMPLES_PER_CHUNK));
        for part in samples.chunks(TARGET_SAMPLES_PER_CHUNK) {
            let mut chunk = XorChunk::new();
            for &(timestamp, value) in part {
                chunk.append(timestamp, value)?;
            }
            if let (Some(first), Some(last)) = (part.first(), part.last()) {
                chunks.push(ChunkMeta {
                    min_time: first.0,
                    max_time: last.0,
                    encoding: Encoding::Xor,
                    data: chunk.bytes().into(),
                });
            }
        }
        Ok(Self { labels, chunks })
    }

    /// Returns an iterator over the float samples in `[mint, maxt]`, in time order, with one
    /// sample per timestamp: where chunks overlap, the sample of the chunk listed first wins,
    /// as Prometheus's vertical merge keeps one of identical-timestamp samples.
    pub fn samples(&self, mint: i64, maxt: i64) -> SampleIter<'_> {
        SampleIter::new(&self.chunks, mint, maxt)
    }

    /// Decodes every sample in `[mint, maxt]`; a corrupt chunk is an error.
    pub fn collect_samples(&self, mint: i64, maxt: i64) -> Result<Vec<(i64, f64)>> {
        let mut iterator = self.samples(mint, maxt);
        let samples: Vec<(i64, f64)> = iterator.by_ref().collect();
        match iterator.error {
            Some(error) => Err(error),
            None => Ok(samples),
        }
    }
}

/// Merges the chunk lists of several copies of one series (replicas on different ingesters,
/// or a block and the head) into one list: the first copy's chunks, then the chunks of the
/// later copies that are not already there. Chunks identical in range, encoding and bytes
/// are kept once, so replicas that cut the same chunks cost one decode; chunks that differ
/// stay, and [`SampleIter`] keeps one sample per timestamp, preferring the chunk listed
/// first, i.e. the earlier copy.
pub fn merge_chunk_lists(copies: Vec<Vec<ChunkMeta>>) -> Vec<ChunkMeta> {
    let mut copies = copies.into_iter().filter(|copy| !copy.is_empty());
    let Some(mut merged) = copies.next() else {
        return Vec::new();
    };
    // Chunk positions by start time, built only when a copy differs from the first.
    let mut by_start: Option<std::collections::HashMap<i64, Vec<usize>>> = None;
    for copy in copies {
        let is_prefix =
            copy.len() <= merged.len() && copy.iter().zip(merged.iter()).all(|(a, b)| a == b);
        if is_prefix {
            continue;
        }
        let index = by_start.get_or_insert_with(|| {
            let mut index: std::collections::HashMap<i64, Vec<usize>> =
                std::collections::HashMap::new();
            for (position, chunk) in merged.iter().enumerate() {
                index.entry(chunk.min_time).or_default().push(position);
            }
            index
        });
        for chunk in copy {
            let known = index
                .get(&chunk.min_time)
                .is_some_and(|positions| positions.iter().any(|&at| merged[at] == chunk));
            if !known {
                index.entry(chunk.min_time).or_default().push(merged.len());
                merged.push(chunk);
            }
        }
    }
    merged
}

/// Merges the samples of several chunks of one series; see [`ChunkSeries::samples`].
///
/// Chunks that follow each other without overlapping (the usual case: one copy of a series,
/// or replicas that cut identical chunks) are read one after the other; only overlapping
/// chunks are merged sample by sample.
#[derive(Debug)]
pub struct SampleIter<'a> {
    /// Chunks in the range, in the order given.
    chunks: Vec<&'a ChunkMeta>,
    /// In sequential mode, the next chunk of `chunks` to open.
    next_chunk: usize,
    /// True when the chunks are disjoint and in time order.
    sequential: bool,
    /// Each open chunk's iterator with the sample it is positioned on.
    iterators: Vec<(XorIterator<'a>, Option<(i64, f64)>)>,
    mint: i64,
    maxt: i64,
    last: Option<i64>,
    error: Option<Error>,
}

impl<'a> SampleIter<'a> {
    /// Returns an iterator over the samples of `chunks` in `[mint, maxt]`.
    pub fn new(chunks: &'a [ChunkMeta], mint: i64, maxt: i64) -> Self {
        let chunks: Vec<&ChunkMeta> = chunks
            .iter()
            .filter(|chunk| chunk.overlaps(mint, maxt) && chunk.encoding == Encoding::Xor)
            .collect();
        let sequential = chunks
            .windows(2)
            .all(|pair| pair[0].max_time < pair[1].min_time);
        let iterators = if sequential {
            Vec::with_capacity(1)
        } else {
            chunks
                .iter()
                .map(|chunk| {
                    let mut iterator = XorIterator::new(&chunk.data);
                    let head = iterator.seek(mint);
                    (iterator, head)
                })
                .collect()
        };
        Self {
            chunks,
            next_chunk: 0,
            sequential,
            iterators,
            mint,
            maxt,
            last: None,
            error: None,
        }
    }

    /// Returns the decoding error that ended the iteration early, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    fn next_sequential(&mut self) -> Option<(i64, f64)> {
        loop {
            if let Some((iterator, head)) = self.iterators.first_mut() {
                if let Some(sample) = head.take() {
                    if sample.0 > self.maxt {
                        self.iterators.clear();
                        self.next_chunk = self.chunks.len();
                        return None;
                    }
                    *head = iterator.next_sample();
                    return Some(sample);
                }
                if let Some(error) = iterator.error() {
                    self.error = Some(error.clone());
                    self.iterators.clear();
                    self.next_chunk = self.chunks.len();
                    return None;
                }
                self.iterators.clear();
            }
            let chunk = self.chunks.get(self.next_chunk)?;
            self.next_chunk += 1;
            let mut iterator = XorIterator::new(&chunk.data);
            let head = iterator.seek(self.mint);
            self.iterators.push((iterator, head));
        }
    }

    fn next_merged(&mut self) -> Option<(i64, f64)> {
        loop {
            // The earliest positioned sample; ties go to the chunk listed first.
            let mut best: Option<(usize, (i64, f64))> = None;
            for (index, (iterator, head)) in self.iterators.iter().enumerate() {
                if let Some(error) = iterator.error() {
                    self.error = Some(error.clone());
                    return None;
                }
                if let Some(sample) = head
                    && best.is_none_or(|(_, current)| sample.0 < current.0)
                {
                    best = Some((index, *sample));
                }
            }
            let (index, sample) = best?;
            let entry = &mut self.iterators[index];
            entry.1 = entry.0.next_sample();
            if sample.0 > self.maxt {
                self.iterators.clear();
                return None;
            }
            if self.last.is_some_and(|last| sample.0 <= last) {
                continue;
            }
            self.last = Some(sample.0);
            return Some(sample);
        }
    }
}

impl Iterator for SampleIter<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.error.is_some() {
            return None;
        }
        if self.sequential {
            self.next_sequential()
        } else {
            self.next_merged()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkenc::XorChunk;

    fn chunk(samples: &[(i64, f64)]) -> ChunkMeta {
        let mut chunk = XorChunk::new();
        for &(t, v) in samples {
            chunk.append(t, v).unwrap();
        }
        ChunkMeta {
            min_time: samples[0].0,
            max_time: samples[samples.len() - 1].0,
            encoding: Encoding::Xor,
            data: chunk.bytes().into(),
        }
    }

    #[test]
    fn overlapping_chunks_merge_with_one_sample_per_timestamp() {
        let series = ChunkSeries {
            labels: Labels::new([("a", "b")]).unwrap(),
            chunks: vec![
                chunk(&[(1, 1.0), (3, 3.0), (5, 5.0)]),
                chunk(&[(2, 2.0), (3, 30.0), (6, 6.0)]),
            ],
        };
        assert_eq!(
            series.collect_samples(i64::MIN, i64::MAX).unwrap(),
            vec![(1, 1.0), (2, 2.0), (3, 3.0), (5, 5.0), (6, 6.0)]
        );
        assert_eq!(
            series.collect_samples(2, 5).unwrap(),
            vec![(2, 2.0), (3, 3.0), (5, 5.0)]
        );
        assert!(series.collect_samples(7, 9).unwrap().is_empty());
    }

    #[test]
    fn sequential_chunks_are_read_in_order_and_trimmed_to_the_range() {
        let samples: Vec<(i64, f64)> = (0..300).map(|i| (i * 10, i as f64)).collect();
        let series =
            ChunkSeries::from_samples(Labels::new([("a", "b")]).unwrap(), &samples).unwrap();
        assert_eq!(series.chunks.len(), 3);
        assert_eq!(series.chunks[1].min_time, 1200);
        assert_eq!(series.chunks[2].max_time, 2990);
        assert_eq!(series.collect_samples(i64::MIN, i64::MAX).unwrap(), samples);
        assert_eq!(
            series.collect_samples(1185, 1215).unwrap(),
            vec![(1190, 119.0), (1200, 120.0), (1210, 121.0)]
        );
        assert!(series.samples(1185, 1215).sequential);
    }

    #[test]
    fn samples_out_of_order_are_refused_when_encoding() {
        let labels = Labels::new([("a", "b")]).unwrap();
        assert!(ChunkSeries::from_samples(labels, &[(5, 1.0), (4, 2.0)]).is_err());
    }

    #[test]
    fn a_corrupt_chunk_ends_iteration_with_an_error() {
        let mut series = ChunkSeries::from_samples(
            Labels::new([("a", "b")]).unwrap(),
            &[(1, 1.0), (2, 2.0), (3, 3.0)],
        )
        .unwrap();
        let data = &series.chunks[0].data;
        series.chunks[0].data = data[..data.len() - 2].into();
        assert!(series.collect_samples(i64::MIN, i64::MAX).is_err());
    }

    #[test]
    fn replica_chunk_lists_merge_with_identical_chunks_kept_once() {
        let labels = Labels::new([("a", "b")]).unwrap();
        let samples: Vec<(i64, f64)> = (0..240).map(|i| (i, i as f64)).collect();
        let one = ChunkSeries::from_samples(labels.clone(), &samples).unwrap();
        let same = one.clone();
        // A third replica missed the first sample, so its chunks differ.
        let other = ChunkSeries::from_samples(labels.clone(), &samples[1..]).unwrap();
        let merged = merge_chunk_lists(vec![
            one.chunks.clone(),
            same.chunks.clone(),
            other.chunks.clone(),
        ]);
        assert_eq!(
            merged.len(),
            4,
            "two shared chunks kept once, two differing ones added"
        );
        assert!(!SampleIter::new(&merged, i64::MIN, i64::MAX).sequential);
        let series = ChunkSeries {
            labels,
            chunks: merged,
        };
        assert_eq!(series.collect_samples(i64::MIN, i64::MAX).unwrap(), samples);
        assert!(merge_chunk_lists(vec![Vec::new(), Vec::new()]).is_empty());
        assert_eq!(
            merge_chunk_lists(vec![Vec::new(), one.chunks.clone()]),
            one.chunks
        );
    }
}
