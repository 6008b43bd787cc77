//! The PromQL engine's storage for one query: [`TenantQueryable`] answers the engine's
//! selections from the ingesters for the request's tenants, applying the tenants' limits.
//!
//! Per selection: the range is cut by `max_query_lookback`, checked against
//! `max_partial_query_length`, then cut to the ingesters' window (`query_ingesters_within`;
//! Norn has no store-gateway on the read path yet, so older data is simply absent). The
//! ingesters stream the matching series as chunk batches; over the whole query, a
//! [`FetchLimiter`] counts distinct series against `max_fetched_series_per_query` and
//! chunks against `max_fetched_chunks_per_query` as each batch arrives, and stops the read
//! as soon as one is exceeded. Limit errors carry Mimir's messages and error IDs and are
//! answered with 422 (`execution`), as Mimir's querier answers them.
//!
//! The engine receives the chunks as they came (shared, still encoded), trimmed to the
//! selection's range when it decodes them.

use std::sync::Arc;

use async_trait::async_trait;
use norn_model::{Matcher, TenantId};
use norn_promql::{Queryable, SelectHints, StorageError, StoredSeries};

use crate::error::QueryError;
use crate::fetch_limiter::FetchLimiter;
use crate::ingesters::IngesterQuerier;
use crate::query_limits::QueryLimits;

/// The storage of one query over the ingesters, for one or several tenants.
#[derive(Debug)]
pub struct TenantQueryable {
    ingesters: Arc<IngesterQuerier>,
    tenants: Vec<TenantId>,
    limits: QueryLimits,
    now_ms: i64,
    limiter: Arc<FetchLimiter>,
}

impl TenantQueryable {
    /// Returns the storage of a query over `tenants` with `limits`, evaluated at wall-clock
    /// time `now_ms` (for the lookback and ingester windows).
    pub fn new(
        ingesters: Arc<IngesterQuerier>,
        tenants: Vec<TenantId>,
        limits: QueryLimits,
        now_ms: i64,
    ) -> Self {
        Self {
            ingesters,
            tenants,
            limiter: Arc::new(FetchLimiter::new(
                limits.max_fetched_series,
                limits.max_fetched_chunks,
            )),
            limits,
            now_ms,
        }
    }

    /// Returns how many distinct series and chunks the query fetched so far.
    pub fn fetched(&self) -> (usize, u64) {
        self.limiter.fetched()
    }
}

/// Turns a failed ingester read into the engine's storage error.
pub fn storage_error(error: QueryError) -> StorageError {
    match error {
        QueryError::MaxSeriesPerQuery { .. } | QueryError::MaxChunksPerQuery { .. } => {
            StorageError::Limit(error.to_string())
        }
        other => StorageError::Unavailable(other.to_string()),
    }
}

#[async_trait]
impl Queryable for TenantQueryable {
    async fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<StoredSeries>, StorageError> {
        let Some((start, end)) =
            self.limits
                .clamp_lookback(self.now_ms, hints.start_ms, hints.end_ms)
        else {
            return Ok(Vec::new());
        };
        self.limits
            .check_partial_length(start, end)
            .map_err(StorageError::Limit)?;
        let Some((start, end)) = self.limits.ingester_range(self.now_ms, start, end) else {
            return Ok(Vec::new());
        };
        let series = self
            .ingesters
            .select_tenants(&self.tenants, matchers, start, end, &self.limiter)
            .await
            .map_err(storage_error)?;
        Ok(series
            .into_iter()
            .map(|series| StoredSeries {
                labels: series.labels,
                chunks: series.chunks,
                mint: start,
                maxt: end,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use norn_model::MatchType;
    use norn_promql::FPoint;

    use super::*;
    use crate::testing::{FakeIngester, TestRing, series};

    fn name_is(value: &str) -> Vec<Matcher> {
        vec![Matcher::new(MatchType::Equal, "__name__", value).unwrap()]
    }

    fn hints(start_ms: i64, end_ms: i64) -> SelectHints {
        SelectHints {
            start_ms,
            end_ms,
            ..SelectHints::default()
        }
    }

    async fn ring() -> TestRing {
        let ring = TestRing::new(1).await;
        let points: Vec<(i64, f64)> = (0..250).map(|i| (i * 10, i as f64)).collect();
        ring.add(
            "ing-1",
            FakeIngester::new()
                .with(
                    "team-a",
                    vec![
                        series(&[("__name__", "up"), ("job", "a")], &points),
                        series(&[("__name__", "up"), ("job", "b")], &[(5, 1.0)]),
                    ],
                )
                .with("team-b", vec![series(&[("__name__", "up")], &[(7, 2.0)])]),
        )
        .await;
        ring
    }

    fn points(series: &StoredSeries) -> Vec<FPoint> {
        series.decode(|_| true).unwrap()
    }

    fn unlimited() -> QueryLimits {
        QueryLimits::default()
    }

    fn tenants(ids: &[&str]) -> Vec<TenantId> {
        ids.iter().map(|id| TenantId::new(id).unwrap()).collect()
    }

    #[tokio::test]
    async fn selects_convert_samples_and_count_what_was_fetched() {
        let ring = ring().await;
        let queryable = TenantQueryable::new(
            Arc::new(ring.querier().await),
            tenants(&["team-a"]),
            unlimited(),
            10_000,
        );
        let answer = queryable
            .select(&name_is("up"), &hints(0, 3000))
            .await
            .unwrap();
        assert_eq!(answer.len(), 2);
        assert_eq!(points(&answer[0]).len(), 250);
        assert_eq!(points(&answer[0])[3], FPoint { t: 30, f: 3.0 });
        // 250 samples are 3 chunks, 1 sample 1 chunk.
        assert_eq!(queryable.fetched(), (2, 4));
        // A second selection of the same series counts the series once, chunks again.
        queryable
            .select(&name_is("up"), &hints(0, 10))
            .await
            .unwrap();
        assert_eq!(queryable.fetched(), (2, 6));
    }

    #[tokio::test]
    async fn fetched_series_and_chunks_are_capped_per_query() {
        let ring = ring().await;
        let ingesters = Arc::new(ring.querier().await);
        let series_cap = TenantQueryable::new(
            Arc::clone(&ingesters),
            tenants(&["team-a"]),
            QueryLimits {
                max_fetched_series: 1,
                ..unlimited()
            },
            10_000,
        );
        let error = series_cap
            .select(&name_is("up"), &hints(0, 3000))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StorageError::Limit(message) if message.contains("err-norn-max-series-per-query")),
            "{error:?}"
        );
        let chunk_cap = TenantQueryable::new(
            ingesters,
            tenants(&["team-a"]),
            QueryLimits {
                max_fetched_chunks: 3,
                ..unlimited()
            },
            10_000,
        );
        let error = chunk_cap
            .select(&name_is("up"), &hints(0, 3000))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StorageError::Limit(message) if message.contains("(limit: 3 chunks) (err-norn-max-chunks-per-query)")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn ranges_follow_lookback_length_and_the_ingester_window() {
        let ring = ring().await;
        let ingesters = Arc::new(ring.querier().await);
        let now = 2500;
        let lookback = TenantQueryable::new(
            Arc::clone(&ingesters),
            tenants(&["team-a"]),
            QueryLimits {
                max_query_lookback_ms: 100,
                ..unlimited()
            },
            now,
        );
        let answer = lookback
            .select(&name_is("up"), &hints(0, 3000))
            .await
            .unwrap();
        let times: Vec<i64> = points(&answer[0]).iter().map(|p| p.t).collect();
        assert_eq!(times.first(), Some(&2400));
        assert!(
            lookback
                .select(&name_is("up"), &hints(0, 2000))
                .await
                .unwrap()
                .is_empty()
        );

        let length = TenantQueryable::new(
            Arc::clone(&ingesters),
            tenants(&["team-a"]),
            QueryLimits {
                max_partial_query_length_ms: 1000,
                ..unlimited()
            },
            now,
        );
        assert!(length.select(&name_is("up"), &hints(0, 1000)).await.is_ok());
        let error = length
            .select(&name_is("up"), &hints(0, 1001))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, StorageError::Limit(message) if message.contains("err-norn-max-query-length")),
            "{error:?}"
        );

        let window = TenantQueryable::new(
            ingesters,
            tenants(&["team-a"]),
            QueryLimits {
                query_ingesters_within_ms: 1000,
                ..unlimited()
            },
            now,
        );
        let answer = window
            .select(&name_is("up"), &hints(0, 3000))
            .await
            .unwrap();
        assert_eq!(answer.len(), 1, "job=b's only sample is outside the window");
        assert_eq!(points(&answer[0]).first().map(|p| p.t), Some(1500));
        assert!(
            window
                .select(&name_is("up"), &hints(0, 1400))
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn federated_selects_label_each_tenant() {
        let ring = ring().await;
        let queryable = TenantQueryable::new(
            Arc::new(ring.querier().await),
            tenants(&["team-a", "team-b"]),
            unlimited(),
            10_000,
        );
        let answer = queryable
            .select(&name_is("up"), &hints(0, 3000))
            .await
            .unwrap();
        let tenant_labels: Vec<&str> = answer
            .iter()
            .map(|series| series.labels.get("__tenant_id__"))
            .collect();
        assert_eq!(tenant_labels, ["team-a", "team-a", "team-b"]);
    }

    #[tokio::test]
    async fn unavailable_ingesters_are_storage_unavailable() {
        let ring = TestRing::new(1).await;
        ring.add("ing-1", FakeIngester::failing()).await;
        let queryable = TenantQueryable::new(
            Arc::new(ring.querier().await),
            tenants(&["team-a"]),
            unlimited(),
            10_000,
        );
        let error = queryable
            .select(&name_is("up"), &hints(0, 10))
            .await
            .unwrap_err();
        assert!(matches!(error, StorageError::Unavailable(_)), "{error:?}");
    }
}
