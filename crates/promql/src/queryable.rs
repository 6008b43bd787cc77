//! The storage the engine reads from. Anything that can answer "series matching these
//! matchers with their chunks in this time range" can be queried: the querier's ingester
//! and store-gateway fan-out, or an in-memory store in tests.
//!
//! Storage hands out series as encoded chunks (the TSDB's XOR chunks, shared, not copied),
//! and the engine decodes one series at a time while it evaluates, so a query holds its
//! selection compressed (about 1–2 bytes per sample) rather than as 16-byte points.

use async_trait::async_trait;
use norn_model::{Labels, Matcher};
use norn_tsdb::series::{ChunkMeta, ChunkSeries, SampleIter};

use crate::value::FPoint;

/// What the engine is about to do with a selection, so storage can plan (Prometheus's
/// `SelectHints`). Times are milliseconds, inclusive.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SelectHints {
    /// The earliest sample time needed.
    pub start_ms: i64,
    /// The latest sample time needed.
    pub end_ms: i64,
    /// The query step (0 for an instant query).
    pub step_ms: i64,
    /// The range of a range selector (0 for an instant selector).
    pub range_ms: i64,
    /// The function the selection is an argument of, if any (e.g. `rate`).
    pub func: Option<String>,
}

/// A series as storage returns it: its labels and the chunks that overlap the selection.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Chunks sorted by start time; they may overlap (replicas) and reach outside
    /// `[mint, maxt]`.
    pub chunks: Vec<ChunkMeta>,
    /// The first timestamp that belongs to the selection (milliseconds, inclusive).
    pub mint: i64,
    /// The last timestamp that belongs to the selection (milliseconds, inclusive).
    pub maxt: i64,
}

impl StoredSeries {
    /// Encodes `points` (in time order) into chunks; for in-memory stores and tests.
    pub fn from_points(labels: Labels, points: &[FPoint]) -> Result<Self, StorageError> {
        let samples: Vec<(i64, f64)> = points.iter().map(|point| (point.t, point.f)).collect();
        let series = ChunkSeries::from_samples(labels, &samples)
            .map_err(|error| StorageError::Corrupt(format!("encoding samples: {error}")))?;
        Ok(Self {
            labels: series.labels,
            chunks: series.chunks,
            mint: i64::MIN,
            maxt: i64::MAX,
        })
    }

    /// Iterates over the samples in `[mint, maxt]` in time order, one per timestamp, stale
    /// markers included. Check [`SampleIter::error`] after the last sample.
    pub fn samples(&self) -> SampleIter<'_> {
        SampleIter::new(&self.chunks, self.mint, self.maxt)
    }

    /// Decodes the samples in `[mint, maxt]`, keeping those `keep` accepts.
    pub fn decode(&self, keep: impl Fn(&FPoint) -> bool) -> Result<Vec<FPoint>, StorageError> {
        let mut iterator = self.samples();
        let points: Vec<FPoint> = iterator
            .by_ref()
            .map(|(t, f)| FPoint { t, f })
            .filter(|point| keep(point))
            .collect();
        match iterator.error() {
            Some(error) => Err(self.corrupt(error)),
            None => Ok(points),
        }
    }

    /// The error for a chunk of this series that does not decode.
    pub fn corrupt(&self, error: &norn_tsdb::Error) -> StorageError {
        StorageError::Corrupt(format!(
            "reading the chunks of series {} failed: {error}",
            self.labels
        ))
    }
}

/// Why storage could not answer; the message is shown to the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// A limit of the tenant was reached (answered with 422, Prometheus's `execution`).
    #[error("{0}")]
    Limit(String),
    /// Storage is unavailable or failed (answered with 503/500).
    #[error("{0}")]
    Unavailable(String),
    /// Stored data does not decode (a corrupt chunk; answered with 500, `internal`).
    #[error("{0}")]
    Corrupt(String),
}

/// Storage the engine can read series from.
#[async_trait]
pub trait Queryable: Send + Sync {
    /// Returns the series matching every matcher, with their samples in
    /// `[hints.start_ms, hints.end_ms]`, sorted by labels, each series once.
    async fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<StoredSeries>, StorageError>;
}
