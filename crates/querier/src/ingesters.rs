//! Reading from the ingesters over the hash ring: ask every ingester that can serve reads, in
//! parallel, tolerate the failures the replication set allows, and merge the answers.
//!
//! The set of ingesters is dskit's `GetReplicationSetForOperation(Read)`
//! ([`norn_ring::Ring::replication_set_for_operation`]), which is what Mimir's querier uses
//! when every ingester may hold any series: all healthy `ACTIVE`/`LEAVING` ingesters, of which
//! `max_errors` may fail (with zone awareness: the ingesters of up to
//! `max_unavailable_zones` zones). With the writes' quorum, that many failures still leave
//! every sample readable from at least one replica.
//!
//! Each ingester is asked in its own task (local ingesters evaluate selects on the CPU, so
//! this spreads them across cores); the tasks are aborted when the read is dropped or fails.
//! Unlike dskit's `DoUntilQuorum`, the read waits for every ingester rather than returning as
//! soon as a quorum answered: the answer then holds every replica's samples and is
//! deterministic. Remote ingester clients will bound each call with their own timeout.
//!
//! Answers are merged by [`crate::merge`] in ring order (instance ID), so on a timestamp two
//! replicas disagree about, the ingester whose ID sorts first wins.

use std::future::Future;
use std::sync::Arc;

use norn_model::{Labels, Matcher, TenantId};
use norn_ring::{Operation, ReplicationSet, RingClient, now_ms};
use norn_rpc::{ChunkSeries, IngesterClient, IngesterError, IngesterPool, MetricMetadata};
use tokio::task::{Id as TaskId, JoinSet};

use crate::error::QueryError;
use crate::federation;
use crate::fetch_limiter::FetchLimiter;
use crate::merge::{merge_series, union_metadata, union_strings};

/// Why one ingester's part of a read failed: the ingester (counted against the replication
/// set's tolerance), or the read as a whole (a limit: the read stops at once).
#[derive(Debug)]
enum CallError {
    Ingester(IngesterError),
    Abort(QueryError),
}

impl From<IngesterError> for CallError {
    fn from(error: IngesterError) -> Self {
        CallError::Ingester(error)
    }
}

/// Reads series, label names and values, and metadata from the ingesters of a ring.
#[derive(Debug)]
pub struct IngesterQuerier {
    ring: Arc<RingClient>,
    pool: Arc<IngesterPool>,
    max_series_per_query: usize,
}

impl IngesterQuerier {
    /// Returns a querier over the ingesters of `ring`, reached through `pool`, without a
    /// series cap.
    pub fn new(ring: Arc<RingClient>, pool: Arc<IngesterPool>) -> Self {
        Self {
            ring,
            pool,
            max_series_per_query: 0,
        }
    }

    /// Caps the series one select may return (Mimir's `max_fetched_series_per_query`);
    /// 0 means unlimited. A select over the cap fails with [`QueryError::MaxSeriesPerQuery`].
    pub fn with_max_series_per_query(mut self, limit: usize) -> Self {
        self.max_series_per_query = limit;
        self
    }

    /// Returns the series cap (0: unlimited).
    pub fn max_series_per_query(&self) -> usize {
        self.max_series_per_query
    }

    /// Returns the tenant's series matching `matchers` with their chunks overlapping
    /// `[mint, maxt]` (milliseconds, inclusive), sorted by labels, each series once with the
    /// union of its replicas' chunks.
    pub async fn select(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkSeries>, QueryError> {
        let limiter = Arc::new(FetchLimiter::unlimited());
        self.select_limited(tenant, matchers, mint, maxt, &limiter)
            .await
    }

    /// Like [`IngesterQuerier::select`], counting every batch the ingesters stream against
    /// `limiter` as it arrives: once a limit is exceeded, the read stops and every ingester
    /// still sending is told to stop.
    pub async fn select_limited(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        limiter: &Arc<FetchLimiter>,
    ) -> Result<Vec<ChunkSeries>, QueryError> {
        let tenant = tenant.clone();
        let matchers: Arc<[Matcher]> = Arc::from(matchers);
        let limiter = Arc::clone(limiter);
        let answers = self
            .ask_all(move |client| {
                let tenant = tenant.clone();
                let matchers = Arc::clone(&matchers);
                let limiter = Arc::clone(&limiter);
                async move {
                    let mut stream = client.select(&tenant, &matchers, mint, maxt).await?;
                    let mut series = Vec::new();
                    while let Some(batch) = stream.next_batch().await {
                        let batch = batch?;
                        limiter
                            .add_batch(&tenant, &batch)
                            .map_err(CallError::Abort)?;
                        series.extend(batch);
                    }
                    Ok(series)
                }
            })
            .await?;
        let merged = merge_series(answers);
        self.check_series_cap(merged.len())?;
        Ok(merged)
    }

    /// Like [`IngesterQuerier::select_limited`] over several tenants (a federated read,
    /// `a|b`).
    ///
    /// With one tenant this is exactly `select_limited`. With several, Mimir's federation
    /// rules apply (see [`crate::federation`]): matchers on `__tenant_id__` choose the
    /// tenants, every series gets a `__tenant_id__` label, and the series cap applies to the
    /// total.
    pub async fn select_tenants(
        &self,
        tenants: &[TenantId],
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        limiter: &Arc<FetchLimiter>,
    ) -> Result<Vec<ChunkSeries>, QueryError> {
        if tenants.len() < 2 {
            return match tenants.first() {
                Some(only) => {
                    self.select_limited(only, matchers, mint, maxt, limiter)
                        .await
                }
                None => Ok(Vec::new()),
            };
        }
        let (selected, forwarded) = federation::filter_tenants(tenants, matchers)?;
        let forwarded = &forwarded;
        let per_tenant = futures::future::try_join_all(selected.iter().map(|tenant| async move {
            let series = self
                .select_limited(tenant, forwarded, mint, maxt, limiter)
                .await?;
            series
                .into_iter()
                .map(|series| {
                    Ok(ChunkSeries {
                        labels: federation::with_tenant_label(&series.labels, tenant)?,
                        chunks: series.chunks,
                    })
                })
                .collect::<Result<Vec<_>, QueryError>>()
        }))
        .await?;
        // The tenant label makes every series distinct, so this only sorts.
        let merged = merge_series(per_tenant);
        self.check_series_cap(merged.len())?;
        Ok(merged)
    }

    /// Returns the label sets of the tenant's series matching `matchers` with samples in the
    /// range, sorted and distinct across ingesters.
    pub async fn series(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, QueryError> {
        let tenant = tenant.clone();
        let matchers: Arc<[Matcher]> = Arc::from(matchers);
        let answers = self
            .ask_all(move |client| {
                let tenant = tenant.clone();
                let matchers = Arc::clone(&matchers);
                async move { Ok(client.series(&tenant, &matchers, mint, maxt).await?) }
            })
            .await?;
        let mut all: Vec<Labels> = answers.into_iter().flatten().collect();
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Returns the label names of the tenant's series matching `matchers` in the range,
    /// sorted and distinct across ingesters.
    pub async fn label_names(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError> {
        let tenant = tenant.clone();
        let matchers: Arc<[Matcher]> = Arc::from(matchers);
        let answers = self
            .ask_all(move |client| {
                let tenant = tenant.clone();
                let matchers = Arc::clone(&matchers);
                async move { Ok(client.label_names(&tenant, &matchers, mint, maxt).await?) }
            })
            .await?;
        Ok(union_strings(answers))
    }

    /// Returns the values of label `name` in the tenant's series matching `matchers` in the
    /// range, sorted and distinct across ingesters.
    pub async fn label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, QueryError> {
        let tenant = tenant.clone();
        let name: Arc<str> = Arc::from(name);
        let matchers: Arc<[Matcher]> = Arc::from(matchers);
        let answers = self
            .ask_all(move |client| {
                let tenant = tenant.clone();
                let name = Arc::clone(&name);
                let matchers = Arc::clone(&matchers);
                async move {
                    Ok(client
                        .label_values(&tenant, &name, &matchers, mint, maxt)
                        .await?)
                }
            })
            .await?;
        Ok(union_strings(answers))
    }

    /// Returns the tenant's metric metadata (optionally of one metric), distinct across
    /// ingesters, sorted by metric family.
    pub async fn metadata(
        &self,
        tenant: &TenantId,
        metric: Option<&str>,
    ) -> Result<Vec<MetricMetadata>, QueryError> {
        let tenant = tenant.clone();
        let metric: Option<Arc<str>> = metric.map(Arc::from);
        let answers = self
            .ask_all(move |client| {
                let tenant = tenant.clone();
                let metric = metric.clone();
                async move { Ok(client.metadata(&tenant, metric.as_deref()).await?) }
            })
            .await?;
        Ok(union_metadata(answers))
    }

    fn check_series_cap(&self, series: usize) -> Result<(), QueryError> {
        let limit = self.max_series_per_query;
        if limit > 0 && series > limit {
            return Err(QueryError::MaxSeriesPerQuery { limit });
        }
        Ok(())
    }

    /// Calls every ingester of the read replication set in parallel and returns the
    /// successful answers in ring order, or an error once more ingesters failed than the set
    /// tolerates (the remaining calls are then aborted).
    async fn ask_all<T, Call, Answer>(&self, call: Call) -> Result<Vec<T>, QueryError>
    where
        T: Send + 'static,
        Call: Fn(Arc<dyn IngesterClient>) -> Answer,
        Answer: Future<Output = Result<T, CallError>> + Send + 'static,
    {
        let ring = self.ring.ring();
        let set = ring.replication_set_for_operation(Operation::Read, now_ms())?;
        if set.instances.is_empty() {
            return Err(QueryError::EmptyRing);
        }
        let mut failures = Failures::new(&set, ring.options().zone_awareness_enabled);
        if let [only] = set.instances.as_slice() {
            // One ingester (a single node): ask it from this task, without spawning one.
            let answer = match self.pool.client(only) {
                Ok(client) => call(client).await,
                Err(error) => Err(CallError::Ingester(error)),
            };
            return match answer {
                Ok(answer) => Ok(vec![answer]),
                Err(CallError::Abort(error)) => Err(error),
                Err(CallError::Ingester(error)) => {
                    failures.record(0, error)?;
                    Ok(Vec::new())
                }
            };
        }
        let mut answers: Vec<Option<T>> = set.instances.iter().map(|_| None).collect();
        let mut tasks = JoinSet::new();
        let mut task_ranks: Vec<(TaskId, usize)> = Vec::with_capacity(set.instances.len());
        for (rank, instance) in set.instances.iter().enumerate() {
            match self.pool.client(instance) {
                Ok(client) => {
                    let answer = call(client);
                    let handle = tasks.spawn(async move { (rank, answer.await) });
                    task_ranks.push((handle.id(), rank));
                }
                Err(error) => failures.record(rank, error)?,
            }
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((rank, Ok(answer))) => answers[rank] = Some(answer),
                Ok((rank, Err(CallError::Ingester(error)))) => failures.record(rank, error)?,
                Ok((_, Err(CallError::Abort(error)))) => return Err(error),
                Err(join_error) => {
                    let rank = task_ranks
                        .iter()
                        .find(|(id, _)| *id == join_error.id())
                        .map_or(0, |&(_, rank)| rank);
                    let error =
                        IngesterError::Unavailable(format!("the read task failed: {join_error}"));
                    failures.record(rank, error)?;
                }
            }
        }
        Ok(answers.into_iter().flatten().collect())
    }
}

/// The failures of one fan-out, checked against what the replication set tolerates.
struct Failures<'a> {
    set: &'a ReplicationSet,
    zone_aware: bool,
    failed: usize,
    failed_zones: Vec<&'a str>,
    first: Option<(usize, IngesterError)>,
}

impl<'a> Failures<'a> {
    fn new(set: &'a ReplicationSet, zone_aware: bool) -> Self {
        Self {
            set,
            zone_aware,
            failed: 0,
            failed_zones: Vec::new(),
            first: None,
        }
    }

    /// Counts the failure of the ingester at `rank`; fails once the set no longer tolerates
    /// the failures, with the first of them.
    fn record(&mut self, rank: usize, error: IngesterError) -> Result<(), QueryError> {
        let instance = self.set.instances.get(rank);
        let id = instance.map_or("", |instance| instance.id.as_str());
        tracing::debug!(ingester = id, %error, "an ingester failed a read");
        self.failed += 1;
        if let Some(instance) = instance
            && !self.failed_zones.contains(&instance.zone.as_str())
        {
            self.failed_zones.push(&instance.zone);
        }
        if self.first.is_none() {
            self.first = Some((rank, error));
        }
        let tolerated = if self.zone_aware {
            self.failed_zones.len() <= self.set.max_unavailable_zones
        } else {
            self.failed <= self.set.max_errors
        };
        if tolerated {
            return Ok(());
        }
        let (first_rank, first) = self
            .first
            .take()
            .unwrap_or((rank, IngesterError::Unavailable(String::new())));
        Err(QueryError::TooManyIngesterFailures {
            failed: self.failed,
            queried: self.set.instances.len(),
            instance: self
                .set
                .instances
                .get(first_rank)
                .map(|instance| instance.id.clone())
                .unwrap_or_default(),
            first,
        })
    }
}

#[cfg(test)]
mod tests {
    use norn_model::{Labels, MatchType};
    use norn_rpc::Sample;

    use super::*;
    use crate::fetch_limiter::FetchLimiter;
    use crate::testing::{FakeIngester, TestRing, decoded, series};

    fn tenant() -> TenantId {
        TenantId::new("team-a").unwrap()
    }

    fn name_is(value: &str) -> Vec<Matcher> {
        vec![Matcher::new(MatchType::Equal, "__name__", value).unwrap()]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_are_merged_into_one_series_with_deduplicated_samples() {
        let ring = TestRing::new(3).await;
        ring.add(
            "ing-1",
            FakeIngester::new().with(
                "team-a",
                vec![
                    series(&[("__name__", "up"), ("job", "a")], &[(10, 1.0), (20, 2.0)]),
                    series(&[("__name__", "up"), ("job", "b")], &[(10, 5.0)]),
                ],
            ),
        )
        .await;
        ring.add(
            "ing-2",
            FakeIngester::new().with(
                "team-a",
                vec![series(
                    &[("__name__", "up"), ("job", "a")],
                    &[(20, 200.0), (30, 3.0)],
                )],
            ),
        )
        .await;
        ring.add(
            "ing-3",
            FakeIngester::new().with(
                "team-a",
                vec![
                    series(&[("__name__", "up"), ("job", "a")], &[(10, 1.0), (30, 3.0)]),
                    series(&[("__name__", "other")], &[(10, 1.0)]),
                ],
            ),
        )
        .await;
        let querier = ring.querier().await;

        let result = querier
            .select(&tenant(), &name_is("up"), 0, 100)
            .await
            .unwrap();
        assert_eq!(result.len(), 2);
        assert_eq!(
            result[0].labels,
            Labels::new([("__name__", "up"), ("job", "a")]).unwrap()
        );
        let points: Vec<(i64, f64)> = decoded(&result[0])
            .iter()
            .map(|s| (s.timestamp_ms, s.value))
            .collect();
        // t=20 is on ing-1 (2.0) and ing-2 (200.0): ing-1 sorts first and wins.
        assert_eq!(points, [(10, 1.0), (20, 2.0), (30, 3.0)]);
        assert_eq!(
            decoded(&result[1]),
            [Sample {
                timestamp_ms: 10,
                value: 5.0
            }]
        );

        // The range is passed down.
        let late = querier
            .select(&tenant(), &name_is("up"), 25, 100)
            .await
            .unwrap();
        assert_eq!(late.len(), 1);
        assert_eq!(decoded(&late[0]).len(), 1);
        // Another tenant sees nothing.
        let other = TenantId::new("team-b").unwrap();
        assert!(
            querier
                .select(&other, &name_is("up"), 0, 100)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn limits_stop_a_streamed_read_and_count_every_replica() {
        let ring = TestRing::new(3).await;
        let points: Vec<(i64, f64)> = (0..240).map(|t| (t, t as f64)).collect();
        // 600 series of 2 chunks each, streamed in batches of 256.
        let data: Vec<_> = (0..600)
            .map(|i| {
                let name = format!("m{i:03}");
                series(&[("__name__", name.as_str())], &points)
            })
            .collect();
        for id in ["ing-1", "ing-2", "ing-3"] {
            ring.add(id, FakeIngester::new().with("team-a", data.clone()))
                .await;
        }
        let querier = ring.querier().await;
        let all = vec![Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()];

        let counting = Arc::new(FetchLimiter::unlimited());
        let result = querier
            .select_limited(&tenant(), &all, 0, 1000, &counting)
            .await
            .unwrap();
        assert_eq!(result.len(), 600);
        // Replicas cut identical chunks: each series keeps 2 after the merge...
        assert!(result.iter().all(|series| series.chunks.len() == 2));
        // ...but every replica's chunks were fetched and counted, as Mimir counts them.
        assert_eq!(counting.fetched(), (600, 3600));

        let capped = Arc::new(FetchLimiter::new(0, 1000));
        let error = querier
            .select_limited(&tenant(), &all, 0, 1000, &capped)
            .await
            .unwrap_err();
        assert!(
            matches!(error, QueryError::MaxChunksPerQuery { limit: 1000 }),
            "a limit fails the read, it is not an ingester failure: {error:?}"
        );
        assert!(
            capped.fetched().1 < 3600,
            "the read stopped before fetching everything"
        );
    }

    #[tokio::test]
    async fn one_failing_ingester_is_tolerated_with_rf_3() {
        let ring = TestRing::new(3).await;
        let data = vec![series(&[("__name__", "up")], &[(1, 1.0)])];
        ring.add("ing-1", FakeIngester::new().with("team-a", data.clone()))
            .await;
        ring.add("ing-2", FakeIngester::failing()).await;
        ring.add("ing-3", FakeIngester::new().with("team-a", data))
            .await;
        let querier = ring.querier().await;
        let result = querier
            .select(&tenant(), &name_is("up"), 0, 10)
            .await
            .unwrap();
        assert_eq!(result.len(), 1);
        assert_eq!(decoded(&result[0]).len(), 1);
        let names = querier.label_names(&tenant(), &[], 0, 10).await.unwrap();
        assert_eq!(names, ["__name__"]);
    }

    #[tokio::test]
    async fn too_many_failures_report_the_first_one() {
        let ring = TestRing::new(3).await;
        ring.add("ing-1", FakeIngester::failing()).await;
        ring.add("ing-2", FakeIngester::failing()).await;
        ring.add("ing-3", FakeIngester::new()).await;
        let querier = ring.querier().await;
        let error = querier
            .select(&tenant(), &name_is("up"), 0, 10)
            .await
            .unwrap_err();
        match &error {
            QueryError::TooManyIngesterFailures {
                failed,
                queried,
                first,
                ..
            } => {
                assert_eq!((*failed, *queried), (2, 3));
                assert!(matches!(first, IngesterError::Unavailable(_)));
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(
            error.to_string().contains("fake ingester is down"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn with_rf_1_every_ingester_must_answer() {
        let ring = TestRing::new(1).await;
        ring.add("ing-1", FakeIngester::new()).await;
        ring.add("ing-2", FakeIngester::failing()).await;
        let querier = ring.querier().await;
        let error = querier
            .label_names(&tenant(), &[], 0, 10)
            .await
            .unwrap_err();
        assert!(
            matches!(error, QueryError::TooManyIngesterFailures { ref instance, .. } if instance == "ing-2"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn an_instance_without_a_client_counts_as_a_failure() {
        let ring = TestRing::new(1).await;
        ring.add("ing-1", FakeIngester::new()).await;
        ring.register_only("ing-remote").await;
        let querier = ring.querier().await;
        let error = querier.metadata(&tenant(), None).await.unwrap_err();
        assert!(
            matches!(
                error,
                QueryError::TooManyIngesterFailures {
                    first: IngesterError::NoClient { .. },
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn an_empty_ring_is_an_error() {
        let ring = TestRing::new(1).await;
        let querier = ring.querier().await;
        let error = querier
            .select(&tenant(), &name_is("up"), 0, 1)
            .await
            .unwrap_err();
        assert!(matches!(error, QueryError::EmptyRing), "{error:?}");
    }

    #[tokio::test]
    async fn label_names_values_and_metadata_are_unions() {
        let ring = TestRing::new(2).await;
        ring.add(
            "ing-1",
            FakeIngester::new()
                .with(
                    "team-a",
                    vec![
                        series(&[("__name__", "up"), ("job", "a")], &[(1, 1.0)]),
                        series(&[("__name__", "up"), ("zone", "z1")], &[(1, 1.0)]),
                    ],
                )
                .with_metadata("team-a", &["up", "cpu"]),
        )
        .await;
        ring.add(
            "ing-2",
            FakeIngester::new()
                .with(
                    "team-a",
                    vec![
                        series(&[("__name__", "up"), ("job", "b")], &[(1, 1.0)]),
                        series(&[("__name__", "down"), ("instance", "x")], &[(1, 1.0)]),
                    ],
                )
                .with_metadata("team-a", &["up", "mem"]),
        )
        .await;
        let querier = ring.querier().await;
        let names = querier.label_names(&tenant(), &[], 0, 10).await.unwrap();
        assert_eq!(names, ["__name__", "instance", "job", "zone"]);
        let jobs = querier
            .label_values(&tenant(), "job", &name_is("up"), 0, 10)
            .await
            .unwrap();
        assert_eq!(jobs, ["a", "b"]);
        let metric_names = querier
            .label_values(&tenant(), "__name__", &[], 0, 10)
            .await
            .unwrap();
        assert_eq!(metric_names, ["down", "up"]);
        let metadata = querier.metadata(&tenant(), None).await.unwrap();
        let families: Vec<&str> = metadata.iter().map(|m| m.metric_family.as_str()).collect();
        assert_eq!(families, ["cpu", "mem", "up"]);
        let only_up = querier.metadata(&tenant(), Some("up")).await.unwrap();
        assert_eq!(only_up.len(), 1);
    }

    #[tokio::test]
    async fn the_series_cap_counts_merged_series() {
        let ring = TestRing::new(2).await;
        let data = vec![
            series(&[("__name__", "up"), ("job", "a")], &[(1, 1.0)]),
            series(&[("__name__", "up"), ("job", "b")], &[(1, 1.0)]),
        ];
        ring.add("ing-1", FakeIngester::new().with("team-a", data.clone()))
            .await;
        ring.add("ing-2", FakeIngester::new().with("team-a", data))
            .await;
        let querier = ring.querier().await.with_max_series_per_query(2);
        // Two series, each on two ingesters: within the cap.
        assert_eq!(
            querier
                .select(&tenant(), &name_is("up"), 0, 10)
                .await
                .unwrap()
                .len(),
            2
        );
        let capped = ring.querier().await.with_max_series_per_query(1);
        assert!(matches!(
            capped.select(&tenant(), &name_is("up"), 0, 10).await,
            Err(QueryError::MaxSeriesPerQuery { limit: 1 })
        ));
    }
}
