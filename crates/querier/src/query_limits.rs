//! The per-tenant limits of one read, taken from the runtime overrides, and the time-range
//! rules they imply, with Mimir's messages and error IDs.
//!
//! - `max_query_lookback` and `query_ingesters_within` shorten a read's range instead of
//!   failing it (Mimir's `validateQueryTimeRange` and `ShouldQueryIngesters`): with no
//!   store-gateway yet, the part older than `now - query_ingesters_within` simply has no data.
//! - `max_partial_query_length` fails one selection whose (lookback-clamped) range is longer
//!   (Mimir's querier, `err-mimir-max-query-length`, a limit error answered with 422).
//! - `max_total_query_length` fails a range query whose `end - start` is longer (Mimir's
//!   query-frontend, `err-mimir-max-total-query-length`, answered with 400 `bad_data`).
//! - `max_fetched_series_per_query` and `max_fetched_chunks_per_query` are counted over the
//!   whole query by [`crate::queryable::TenantQueryable`].
//!
//! A read over several tenants (`a|b`) uses, for every limit, the smallest non-zero value of
//! its tenants (Mimir's `SmallestPositiveNonZero…PerTenant`).

use norn_limits::error_id::ERROR_ID_PREFIX;
use norn_limits::{Limits, Overrides};
use norn_model::TenantId;

use crate::error::QueryError;

/// The error ID of the fetched-chunks cap (`err-mimir-max-chunks-per-query`).
pub const MAX_CHUNKS_PER_QUERY_ID: &str = "max-chunks-per-query";
/// The error ID of the per-selection length cap (`err-mimir-max-query-length`).
pub const MAX_QUERY_LENGTH_ID: &str = "max-query-length";
/// The error ID of the range query length cap (`err-mimir-max-total-query-length`).
pub const MAX_TOTAL_QUERY_LENGTH_ID: &str = "max-total-query-length";

/// The limits that apply to one read, in milliseconds and counts; 0 means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryLimits {
    /// `max_fetched_series_per_query`.
    pub max_fetched_series: u64,
    /// `max_fetched_chunks_per_query`.
    pub max_fetched_chunks: u64,
    /// `max_query_lookback`, in milliseconds.
    pub max_query_lookback_ms: i64,
    /// `max_partial_query_length`, in milliseconds.
    pub max_partial_query_length_ms: i64,
    /// `max_total_query_length`, in milliseconds.
    pub max_total_query_length_ms: i64,
    /// `query_ingesters_within`, in milliseconds.
    pub query_ingesters_within_ms: i64,
}

fn millis(duration: norn_common::Duration) -> i64 {
    i64::try_from(duration.get().as_millis()).unwrap_or(i64::MAX)
}

/// The smallest non-zero value, or 0 when every value is 0.
fn smallest_non_zero<T: Copy + Default + Ord>(values: impl Iterator<Item = T>) -> T {
    values
        .filter(|value| *value != T::default())
        .min()
        .unwrap_or_default()
}

impl QueryLimits {
    /// Returns the limits of a read over `tenants`: each one the smallest non-zero value of
    /// the tenants' effective limits.
    pub fn for_tenants(overrides: &Overrides, tenants: &[TenantId]) -> Self {
        let limits: Vec<_> = tenants
            .iter()
            .map(|tenant| overrides.limits(tenant.as_str()))
            .collect();
        Self::combine(limits.iter().map(AsRef::as_ref))
    }

    /// Returns the limits of a read over tenants with these effective limits.
    pub fn combine<'a>(limits: impl Iterator<Item = &'a Limits> + Clone) -> Self {
        Self {
            max_fetched_series: smallest_non_zero(
                limits.clone().map(|l| l.max_fetched_series_per_query),
            ),
            max_fetched_chunks: smallest_non_zero(
                limits.clone().map(|l| l.max_fetched_chunks_per_query),
            ),
            max_query_lookback_ms: smallest_non_zero(
                limits.clone().map(|l| millis(l.max_query_lookback)),
            ),
            max_partial_query_length_ms: smallest_non_zero(
                limits.clone().map(|l| millis(l.max_partial_query_length)),
            ),
            max_total_query_length_ms: smallest_non_zero(
                limits.clone().map(|l| millis(l.max_total_query_length)),
            ),
            query_ingesters_within_ms: smallest_non_zero(
                limits.clone().map(|l| millis(l.query_ingesters_within)),
            ),
        }
    }

    /// Cuts `[start_ms, end_ms]` to what `max_query_lookback` allows at `now_ms`; `None` when
    /// nothing is left.
    pub fn clamp_lookback(&self, now_ms: i64, start_ms: i64, end_ms: i64) -> Option<(i64, i64)> {
        let mut start = start_ms;
        if self.max_query_lookback_ms > 0 {
            start = start.max(now_ms.saturating_sub(self.max_query_lookback_ms));
        }
        (start <= end_ms).then_some((start, end_ms))
    }

    /// Fails when a selection over `[start_ms, end_ms]` is longer than
    /// `max_partial_query_length`.
    pub fn check_partial_length(&self, start_ms: i64, end_ms: i64) -> Result<(), String> {
        let limit = self.max_partial_query_length_ms;
        let length = end_ms.saturating_sub(start_ms);
        if limit > 0 && length > limit {
            return Err(max_query_length_message(length, limit));
        }
        Ok(())
    }

    /// Fails when a range query's `end - start` is longer than `max_total_query_length`.
    pub fn check_total_length(&self, start_ms: i64, end_ms: i64) -> Result<(), String> {
        let limit = self.max_total_query_length_ms;
        let length = end_ms.saturating_sub(start_ms);
        if limit > 0 && length > limit {
            return Err(max_total_query_length_message(length, limit));
        }
        Ok(())
    }

    /// Returns the part of `[start_ms, end_ms]` the ingesters are asked for at `now_ms`, or
    /// `None` when the range ends before `now - query_ingesters_within`.
    pub fn ingester_range(&self, now_ms: i64, start_ms: i64, end_ms: i64) -> Option<(i64, i64)> {
        if self.query_ingesters_within_ms <= 0 {
            return Some((start_ms, end_ms));
        }
        let oldest = now_ms.saturating_sub(self.query_ingesters_within_ms);
        (end_ms >= oldest).then_some((start_ms.max(oldest), end_ms))
    }

    /// Applies lookback and the ingester window to a series/labels/metadata read (which has
    /// no length limit of its own); `None` when nothing is left to ask.
    pub fn metadata_range(&self, now_ms: i64, start_ms: i64, end_ms: i64) -> Option<(i64, i64)> {
        let (start, end) = self.clamp_lookback(now_ms, start_ms, end_ms)?;
        self.ingester_range(now_ms, start, end)
    }
}

/// Mimir's hint appended to per-tenant limit errors.
fn adjust_hint(flag: &str) -> String {
    format!(
        "To adjust the related per-tenant limit, configure -{flag}, or contact your service administrator."
    )
}

/// The message of the fetched-series cap (Mimir's `err-mimir-max-series-per-query`).
pub fn max_series_message(limit: u64) -> String {
    QueryError::MaxSeriesPerQuery {
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    }
    .to_string()
}

/// The message of the fetched-chunks cap (Mimir's `err-mimir-max-chunks-per-query`).
pub fn max_chunks_message(limit: u64) -> String {
    format!(
        "the query exceeded the maximum number of chunks (limit: {limit} chunks) ({ERROR_ID_PREFIX}{MAX_CHUNKS_PER_QUERY_ID}). Consider reducing the time range and/or number of series selected by the query. One way to reduce the number of selected series is to add more label matchers to the query. Otherwise, {}",
        lowercase_first(&adjust_hint("querier.max-fetched-chunks-per-query"))
    )
}

/// The message of the per-selection length cap (Mimir's `err-mimir-max-query-length`).
pub fn max_query_length_message(length_ms: i64, limit_ms: i64) -> String {
    format!(
        "the query time range exceeds the limit (query length: {}, limit: {}) ({ERROR_ID_PREFIX}{MAX_QUERY_LENGTH_ID}). {}",
        go_duration(length_ms),
        go_duration(limit_ms),
        adjust_hint("querier.max-partial-query-length")
    )
}

/// The message of the range query length cap (Mimir's `err-mimir-max-total-query-length`).
pub fn max_total_query_length_message(length_ms: i64, limit_ms: i64) -> String {
    format!(
        "the total query time range exceeds the limit (query length: {}, limit: {}) ({ERROR_ID_PREFIX}{MAX_TOTAL_QUERY_LENGTH_ID}). {}",
        go_duration(length_ms),
        go_duration(limit_ms),
        adjust_hint("query-frontend.max-total-query-length")
    )
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Formats milliseconds as Go's `time.Duration.String()` does (`1h0m0s`, `5m30s`, `1.5s`,
/// `250ms`, `0s`), which is how Mimir's messages print durations.
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    if ms < 1000 {
        return format!("{sign}{ms}ms");
    }
    let hours = ms / 3_600_000;
    let minutes = ms / 60_000 % 60;
    let seconds = ms / 1000 % 60;
    let fraction = ms % 1000;
    let mut seconds_text = seconds.to_string();
    if fraction != 0 {
        let digits = format!("{fraction:03}");
        seconds_text.push('.');
        seconds_text.push_str(digits.trim_end_matches('0'));
    }
    if hours > 0 {
        format!("{sign}{hours}h{minutes}m{seconds_text}s")
    } else if minutes > 0 {
        format!("{sign}{minutes}m{seconds_text}s")
    } else {
        format!("{sign}{seconds_text}s")
    }
}

#[cfg(test)]
mod tests {
    use norn_common::Duration;

    use super::*;

    #[test]
    fn go_durations_print_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(250), "250ms");
        assert_eq!(go_duration(1500), "1.5s");
        assert_eq!(go_duration(60_000), "1m0s");
        assert_eq!(go_duration(3_600_000), "1h0m0s");
        assert_eq!(go_duration(3_600_000 + 90_500), "1h1m30.5s");
        assert_eq!(go_duration(25 * 3_600_000), "25h0m0s");
        assert_eq!(go_duration(-1500), "-1.5s");
    }

    #[test]
    fn messages_match_mimirs() {
        assert_eq!(
            max_query_length_message(3_600_000, 60_000),
            "the query time range exceeds the limit (query length: 1h0m0s, limit: 1m0s) (err-norn-max-query-length). To adjust the related per-tenant limit, configure -querier.max-partial-query-length, or contact your service administrator."
        );
        assert_eq!(
            max_total_query_length_message(3_600_000, 60_000),
            "the total query time range exceeds the limit (query length: 1h0m0s, limit: 1m0s) (err-norn-max-total-query-length). To adjust the related per-tenant limit, configure -query-frontend.max-total-query-length, or contact your service administrator."
        );
        assert_eq!(
            max_chunks_message(2),
            "the query exceeded the maximum number of chunks (limit: 2 chunks) (err-norn-max-chunks-per-query). Consider reducing the time range and/or number of series selected by the query. One way to reduce the number of selected series is to add more label matchers to the query. Otherwise, to adjust the related per-tenant limit, configure -querier.max-fetched-chunks-per-query, or contact your service administrator."
        );
        assert!(
            max_series_message(3).contains("(limit: 3 series) (err-norn-max-series-per-query)")
        );
    }

    #[test]
    fn federated_reads_take_the_smallest_non_zero_limit() {
        let a = Limits {
            max_fetched_series_per_query: 0,
            max_total_query_length: Duration::from_secs(3600),
            ..Limits::default()
        };
        let b = Limits {
            max_fetched_series_per_query: 7,
            max_total_query_length: Duration::from_secs(60),
            ..Limits::default()
        };
        let limits = QueryLimits::combine([&a, &b].into_iter());
        assert_eq!(limits.max_fetched_series, 7);
        assert_eq!(limits.max_total_query_length_ms, 60_000);
        assert_eq!(limits.max_fetched_chunks, 2_000_000);
        assert_eq!(limits.query_ingesters_within_ms, 13 * 3_600_000);
        let overrides = Overrides::new(b);
        let tenant = [TenantId::new("team-a").unwrap()];
        assert_eq!(
            QueryLimits::for_tenants(&overrides, &tenant).max_fetched_series,
            7
        );
    }

    #[test]
    fn ranges_are_clamped_and_checked() {
        let limits = QueryLimits {
            max_query_lookback_ms: 1000,
            max_partial_query_length_ms: 500,
            query_ingesters_within_ms: 300,
            ..QueryLimits::default()
        };
        let now = 10_000;
        assert_eq!(limits.clamp_lookback(now, 0, 9_500), Some((9_000, 9_500)));
        assert_eq!(limits.clamp_lookback(now, 0, 8_000), None);
        assert!(limits.check_partial_length(9_000, 9_500).is_ok());
        assert!(limits.check_partial_length(9_000, 9_501).is_err());
        assert_eq!(
            limits.ingester_range(now, 9_000, 9_800),
            Some((9_700, 9_800))
        );
        assert_eq!(limits.ingester_range(now, 9_000, 9_600), None);
        assert_eq!(limits.metadata_range(now, 0, 20_000), Some((9_700, 20_000)));
        let unlimited = QueryLimits::default();
        assert_eq!(unlimited.metadata_range(now, 0, 1), Some((0, 1)));
        assert!(unlimited.check_total_length(0, i64::MAX).is_ok());
    }
}
