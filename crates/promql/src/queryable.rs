//! The storage the engine reads from. Anything that can answer "series matching these
//! matchers with their samples in this time range" can be queried: the querier's ingester
//! and store-gateway fan-out, or an in-memory store in tests.

use async_trait::async_trait;
use norn_model::{Labels, Matcher};

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

/// A series as storage returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSeries {
    /// The series' labels.
    pub labels: Labels,
    /// Samples in time order within the requested range, stale markers included.
    pub samples: Vec<FPoint>,
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
