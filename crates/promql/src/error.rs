//! Why a query failed, mapped to the `errorType` and HTTP status Prometheus's API answers
//! with (`bad_data` 400, `execution` 422, `timeout` 503, `canceled` 499, `unavailable` 503,
//! `internal` 500).

use crate::queryable::StorageError;

/// What went wrong parsing or evaluating a query.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PromqlError {
    /// The query text does not parse or does not type-check.
    #[error("{0}")]
    Parse(String),
    /// A parameter of the request (not of the expression) is invalid.
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (a runtime error such as a duplicate label set, or an invalid
    /// function argument found only at evaluation time).
    #[error("{0}")]
    Execution(String),
    /// More samples than `max_samples` would be held in memory at once.
    #[error(
        "query processing would load too many samples into memory in query execution (limit: {limit} samples); consider a shorter range, a larger step or fewer series, or raise -querier.max-samples"
    )]
    TooManySamples {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The query ran longer than its timeout.
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The caller went away or canceled the query.
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// Storage failed to answer a selection.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A bug: something the engine should never meet.
    #[error("internal error: {0}")]
    Internal(String),
}

impl PromqlError {
    /// Returns Prometheus's `errorType` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            PromqlError::Parse(_) | PromqlError::BadData(_) => "bad_data",
            PromqlError::Execution(_) | PromqlError::TooManySamples { .. } => "execution",
            PromqlError::Storage(StorageError::Limit(_)) => "execution",
            PromqlError::Storage(StorageError::Unavailable(_)) => "unavailable",
            PromqlError::Storage(StorageError::Corrupt(_)) => "internal",
            PromqlError::Timeout(_) => "timeout",
            PromqlError::Canceled(_) => "canceled",
            PromqlError::Internal(_) => "internal",
        }
    }

    /// Returns the HTTP status Prometheus answers this error with.
    pub fn status_code(&self) -> u16 {
        match self.error_type() {
            "bad_data" => 400,
            "execution" => 422,
            "timeout" | "unavailable" => 503,
            "canceled" => 499,
            _ => 500,
        }
    }
}
