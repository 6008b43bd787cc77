//! Why a read over the ingesters failed: no ingester to ask, too many of them failing, or a
//! query selecting more series than allowed.

use axum::http::StatusCode;
use norn_limits::error_id::ERROR_ID_PREFIX;
use norn_model::{LabelsError, MatcherError};
use norn_ring::RingError;
use norn_rpc::IngesterError;

/// The error ID of the series cap, as Mimir names it (`err-mimir-max-series-per-query`).
pub const MAX_SERIES_PER_QUERY_ID: &str = "max-series-per-query";

/// What went wrong reading from the ingesters.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// No ingester owns a token, so there is nobody to ask (dskit's `ErrEmptyRing`).
    #[error("no ingester to query: the ingester ring is empty")]
    EmptyRing,
    /// The ring has too few healthy ingesters for every series to be readable.
    #[error("cannot query the ingesters: {0}")]
    RingUnavailable(RingError),
    /// More ingesters failed than the replication set tolerates.
    #[error(
        "{failed} of {queried} ingesters failed, more than the replication set tolerates; first failure: ingester {instance}: {first}"
    )]
    TooManyIngesterFailures {
        /// How many ingesters failed.
        failed: usize,
        /// How many ingesters were asked.
        queried: usize,
        /// The ID of the first ingester that failed.
        instance: String,
        /// Its error.
        first: IngesterError,
    },
    /// The query selected more series than `max_series_per_query` (Mimir's
    /// `-querier.max-fetched-series-per-query`, answered with 422).
    #[error("{}", max_series_message(*.limit))]
    MaxSeriesPerQuery {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The query fetched more chunks than `max_fetched_chunks_per_query` (Mimir's
    /// `-querier.max-fetched-chunks-per-query`, answered with 422).
    #[error("{}", crate::query_limits::max_chunks_message(*.limit))]
    MaxChunksPerQuery {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// A chunk an ingester returned does not decode.
    #[error("reading the chunks of series {series} failed: {reason}")]
    CorruptChunk {
        /// The series' labels.
        series: String,
        /// What is wrong with the chunk.
        reason: String,
    },
    /// A matcher could not be built (a regular expression that does not compile).
    #[error(transparent)]
    InvalidMatcher(#[from] MatcherError),
    /// A series' labels could not be rebuilt (e.g. with the tenant label of a federated read).
    #[error("cannot build the labels of a series: {0}")]
    Labels(#[from] LabelsError),
}

/// Mimir's message for the series cap, with Norn's error ID prefix.
fn max_series_message(limit: usize) -> String {
    format!(
        "the query exceeded the maximum number of series (limit: {limit} series) ({ERROR_ID_PREFIX}{MAX_SERIES_PER_QUERY_ID}). Consider reducing the time range and/or number of series selected by the query. One way to reduce the number of selected series is to add more label matchers to the query. Otherwise, to adjust the related per-tenant limit, configure -querier.max-fetched-series-per-query, or contact your service administrator."
    )
}

impl QueryError {
    /// Returns the HTTP status a read failing this way answers with: `422` for the series
    /// cap (as Mimir's limit errors), `400` for an invalid matcher, `503` when the ingesters
    /// cannot serve the read, `500` otherwise.
    pub fn status_code(&self) -> StatusCode {
        match self {
            QueryError::MaxSeriesPerQuery { .. } | QueryError::MaxChunksPerQuery { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            QueryError::InvalidMatcher(_) => StatusCode::BAD_REQUEST,
            QueryError::EmptyRing
            | QueryError::RingUnavailable(_)
            | QueryError::TooManyIngesterFailures { .. } => StatusCode::SERVICE_UNAVAILABLE,
            QueryError::Labels(_) | QueryError::CorruptChunk { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<RingError> for QueryError {
    fn from(error: RingError) -> Self {
        match error {
            RingError::EmptyRing => QueryError::EmptyRing,
            other => QueryError::RingUnavailable(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_cap_message_names_the_limit_and_the_error_id() {
        let text = QueryError::MaxSeriesPerQuery { limit: 7 }.to_string();
        assert!(text.starts_with("the query exceeded the maximum number of series (limit: 7 series) (err-norn-max-series-per-query)."), "{text}");
    }

    #[test]
    fn ring_errors_map_to_empty_ring_or_unavailable() {
        assert!(matches!(
            QueryError::from(RingError::EmptyRing),
            QueryError::EmptyRing
        ));
        let unhealthy = QueryError::from(RingError::TooManyUnhealthy {
            required: 2,
            healthy: 1,
            zone_aware: false,
            unhealthy: vec!["b:9095".into()],
        });
        assert!(matches!(unhealthy, QueryError::RingUnavailable(_)));
        assert!(unhealthy.to_string().contains("b:9095"));
    }
}
