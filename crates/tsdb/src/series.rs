//! The types the head, the blocks and the query layer exchange: chunk metadata with the chunk's
//! bytes, a series as a list of chunks, and the iterator that reads a series' samples in time
//! order across chunks that may overlap (head and block, or blocks cut from different
//! replicas), keeping one sample per timestamp.

use std::sync::Arc;

use norn_model::labels::Labels;

use crate::chunkenc::{Encoding, XorIterator};
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

/// A series with its chunks, sorted by `min_time` (chunks may overlap).
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkSeries {
    /// The series' labels.
    pub labels: Labels,
    /// The chunks, sorted by `min_time`.
    pub chunks: Vec<ChunkMeta>,
}

impl ChunkSeries {
    /// Returns an iterator over the float samples in `[mint, maxt]`, in time order, with one
    /// sample per timestamp: where chunks overlap, the sample of the chunk listed first wins,
    /// as Prometheus's vertical merge keeps one of identical-timestamp samples.
    pub fn samples(&self, mint: i64, maxt: i64) -> SampleIter<'_> {
        let iterators = self
            .chunks
            .iter()
            .filter(|chunk| chunk.overlaps(mint, maxt) && chunk.encoding == Encoding::Xor)
            .map(|chunk| {
                let mut iterator = XorIterator::new(&chunk.data);
                let head = iterator.seek(mint);
                (iterator, head)
            })
            .collect();
        SampleIter {
            iterators,
            maxt,
            last: None,
            error: None,
        }
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

/// Merges the samples of several chunks of one series; see [`ChunkSeries::samples`].
#[derive(Debug)]
pub struct SampleIter<'a> {
    /// Each chunk's iterator with the sample it is positioned on.
    iterators: Vec<(XorIterator<'a>, Option<(i64, f64)>)>,
    maxt: i64,
    last: Option<i64>,
    error: Option<Error>,
}

impl SampleIter<'_> {
    /// Returns the decoding error that ended the iteration early, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

impl Iterator for SampleIter<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
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
}
