//! Test fixtures: a fake ingester answering from fixed series, and a ring of such ingesters
//! registered ACTIVE through real lifecyclers on an in-memory KV.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use norn_model::{Labels, Matcher, TenantId};
use norn_ring::{InMemoryKv, InstanceState, Lifecycler, LifecyclerConfig, RingClient, RingOptions};
use norn_rpc::{
    ChunkSeries, IngesterClient, IngesterError, IngesterPool, MetricMetadata, PushOutcome,
    PushRequest, Sample, SeriesStream, TenantStats,
};

use crate::ingesters::IngesterQuerier;

const RING_KEY: &str = "collectors/ring";

/// A series with its samples, as a fake ingester holds it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SeriesSamples {
    pub(crate) labels: Labels,
    pub(crate) samples: Vec<Sample>,
}

impl SeriesSamples {
    /// The series as an ingester streams it: its samples encoded into chunks.
    fn encoded(&self) -> ChunkSeries {
        let points: Vec<(i64, f64)> = self
            .samples
            .iter()
            .map(|sample| (sample.timestamp_ms, sample.value))
            .collect();
        ChunkSeries::from_samples(self.labels.clone(), &points)
            .expect("fixture samples are in time order")
    }
}

/// Decodes the samples of a series a querier returned.
pub(crate) fn decoded(series: &ChunkSeries) -> Vec<Sample> {
    series
        .collect_samples(i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|(timestamp_ms, value)| Sample {
            timestamp_ms,
            value,
        })
        .collect()
}

/// Builds a series from label pairs and `(timestamp, value)` points.
pub(crate) fn series(labels: &[(&str, &str)], points: &[(i64, f64)]) -> SeriesSamples {
    SeriesSamples {
        labels: Labels::new(labels.iter().copied()).unwrap(),
        samples: points
            .iter()
            .map(|&(timestamp_ms, value)| Sample {
                timestamp_ms,
                value,
            })
            .collect(),
    }
}

/// An ingester holding fixed series per tenant, answering like a real one (matchers, range,
/// sorted output), or failing every call.
#[derive(Debug, Default)]
pub(crate) struct FakeIngester {
    series: BTreeMap<String, Vec<SeriesSamples>>,
    metadata: BTreeMap<String, Vec<MetricMetadata>>,
    failing: bool,
    select_delay: Option<Duration>,
}

impl FakeIngester {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn failing() -> Self {
        Self {
            failing: true,
            ..Self::default()
        }
    }

    pub(crate) fn with(mut self, tenant: &str, mut series: Vec<SeriesSamples>) -> Self {
        series.sort_by(|a, b| a.labels.cmp(&b.labels));
        self.series.insert(tenant.to_owned(), series);
        self
    }

    /// Makes every select wait `delay` before answering (a slow ingester).
    pub(crate) fn with_select_delay(mut self, delay: Duration) -> Self {
        self.select_delay = Some(delay);
        self
    }

    pub(crate) fn with_metadata(mut self, tenant: &str, families: &[&str]) -> Self {
        let entries = families
            .iter()
            .map(|family| MetricMetadata {
                metric_family: (*family).to_owned(),
                metric_type: "gauge".into(),
                help: format!("help of {family}"),
                unit: String::new(),
            })
            .collect();
        self.metadata.insert(tenant.to_owned(), entries);
        self
    }

    fn check(&self) -> Result<(), IngesterError> {
        if self.failing {
            return Err(IngesterError::Unavailable("fake ingester is down".into()));
        }
        Ok(())
    }

    fn matching<'a>(
        &'a self,
        tenant: &TenantId,
        matchers: &'a [Matcher],
        mint: i64,
        maxt: i64,
    ) -> impl Iterator<Item = SeriesSamples> + 'a {
        self.series
            .get(tenant.as_str())
            .into_iter()
            .flatten()
            .filter(move |series| {
                matchers
                    .iter()
                    .all(|matcher| matcher.matches(series.labels.get(matcher.name())))
            })
            .filter_map(move |series| {
                let samples: Vec<Sample> = series
                    .samples
                    .iter()
                    .filter(|sample| (mint..=maxt).contains(&sample.timestamp_ms))
                    .copied()
                    .collect();
                (!samples.is_empty()).then(|| SeriesSamples {
                    labels: series.labels.clone(),
                    samples,
                })
            })
    }
}

#[async_trait]
impl IngesterClient for FakeIngester {
    async fn push(&self, _request: PushRequest) -> Result<PushOutcome, IngesterError> {
        Err(IngesterError::InvalidRequest(
            "the fake ingester takes no writes".into(),
        ))
    }

    async fn select(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<SeriesStream, IngesterError> {
        self.check()?;
        if let Some(delay) = self.select_delay {
            tokio::time::sleep(delay).await;
        }
        Ok(SeriesStream::from_series(
            self.matching(tenant, matchers, mint, maxt)
                .map(|series| series.encoded())
                .collect(),
        ))
    }

    async fn series(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, IngesterError> {
        self.check()?;
        Ok(self
            .matching(tenant, matchers, mint, maxt)
            .map(|series| series.labels)
            .collect())
    }

    async fn label_names(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, IngesterError> {
        self.check()?;
        let mut names: Vec<String> = self
            .matching(tenant, matchers, mint, maxt)
            .flat_map(|series| {
                series
                    .labels
                    .iter()
                    .map(|label| label.name.to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    async fn label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, IngesterError> {
        self.check()?;
        let mut values: Vec<String> = self
            .matching(tenant, matchers, mint, maxt)
            .map(|series| series.labels.get(name).to_owned())
            .filter(|value| !value.is_empty())
            .collect();
        values.sort_unstable();
        values.dedup();
        Ok(values)
    }

    async fn metadata(
        &self,
        tenant: &TenantId,
        metric: Option<&str>,
    ) -> Result<Vec<MetricMetadata>, IngesterError> {
        self.check()?;
        Ok(self
            .metadata
            .get(tenant.as_str())
            .into_iter()
            .flatten()
            .filter(|entry| metric.is_none_or(|metric| entry.metric_family == metric))
            .cloned()
            .collect())
    }

    async fn tenant_stats(&self) -> Result<Vec<TenantStats>, IngesterError> {
        self.check()?;
        Ok(Vec::new())
    }
}

/// A ring on an in-memory KV, with a pool holding the fake ingesters.
#[derive(Debug)]
pub(crate) struct TestRing {
    kv: InMemoryKv,
    pool: Arc<IngesterPool>,
    replication_factor: usize,
    lifecyclers: Mutex<Vec<Lifecycler>>,
}

impl TestRing {
    pub(crate) async fn new(replication_factor: usize) -> Self {
        Self {
            kv: InMemoryKv::new(),
            pool: Arc::new(IngesterPool::new()),
            replication_factor,
            lifecyclers: Mutex::new(Vec::new()),
        }
    }

    /// Registers `id` ACTIVE in the ring and its client in the pool.
    pub(crate) async fn add(&self, id: &str, ingester: FakeIngester) {
        self.register_only(id).await;
        self.pool.register_local(id, Arc::new(ingester));
    }

    /// Registers `id` ACTIVE in the ring without a client (a remote ingester).
    pub(crate) async fn register_only(&self, id: &str) {
        let lifecycler = Lifecycler::new(
            LifecyclerConfig {
                ring_key: RING_KEY.into(),
                instance_id: id.into(),
                addr: format!("{id}:9095"),
                zone: String::new(),
                num_tokens: 8,
                heartbeat_period: Duration::from_secs(15),
                unregister_on_shutdown: true,
            },
            Arc::new(self.kv.clone()),
        );
        lifecycler.register(InstanceState::Active).await.unwrap();
        self.lifecyclers.lock().unwrap().push(lifecycler);
    }

    /// Returns a querier over the ring as it is now.
    pub(crate) async fn querier(&self) -> IngesterQuerier {
        let client = RingClient::new(
            Arc::new(self.kv.clone()),
            RING_KEY,
            RingOptions {
                replication_factor: self.replication_factor,
                ..RingOptions::default()
            },
        );
        client.start().await.unwrap();
        IngesterQuerier::new(Arc::new(client), Arc::clone(&self.pool))
    }
}
