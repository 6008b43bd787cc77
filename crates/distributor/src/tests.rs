//! The push pipeline against several ingesters: sharding, replication and quorum, with fake
//! ingesters behind a real ring in an in-memory KV store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use norn_common::time::now_ms;
use norn_limits::{DiscardMetrics, Limits, Overrides};
use norn_model::{Labels, Matcher, TenantId};
use norn_proto::Message;
use norn_proto::prometheus as pb;
use norn_ring::{
    InMemoryKv, InstanceState, Kv, Lifecycler, LifecyclerConfig, RingClient, RingOptions,
};
use norn_rpc::{
    IngesterClient, IngesterError, IngesterPool, MetricMetadata, PushOutcome, PushRequest,
    SeriesStream, TenantStats,
};

use crate::config::DistributorConfig;
use crate::decode::{DecodedWrite, WireVersion};
use crate::distributor::{Distributor, PushStatus};
use crate::metrics::DistributorMetrics;

/// An ingester that remembers the series it was sent, or fails when told to.
#[derive(Debug, Default)]
struct FakeIngester {
    stored: Mutex<Vec<Labels>>,
    failing: AtomicBool,
}

#[async_trait]
impl IngesterClient for FakeIngester {
    async fn push(&self, request: PushRequest) -> Result<PushOutcome, IngesterError> {
        if self.failing.load(Ordering::Relaxed) {
            return Err(IngesterError::Unavailable("down for the test".into()));
        }
        let mut stored = self.stored.lock().unwrap();
        let mut appended = 0;
        for series in request.selected() {
            stored.push(series.labels.clone());
            appended += series.samples.len() as u64;
        }
        Ok(PushOutcome {
            samples_appended: appended,
            ..PushOutcome::default()
        })
    }

    async fn select(
        &self,
        _: &TenantId,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> Result<SeriesStream, IngesterError> {
        Ok(SeriesStream::from_series(Vec::new()))
    }

    async fn series(
        &self,
        _: &TenantId,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> Result<Vec<Labels>, IngesterError> {
        Ok(Vec::new())
    }

    async fn label_names(
        &self,
        _: &TenantId,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> Result<Vec<String>, IngesterError> {
        Ok(Vec::new())
    }

    async fn label_values(
        &self,
        _: &TenantId,
        _: &str,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> Result<Vec<String>, IngesterError> {
        Ok(Vec::new())
    }

    async fn metadata(
        &self,
        _: &TenantId,
        _: Option<&str>,
    ) -> Result<Vec<MetricMetadata>, IngesterError> {
        Ok(Vec::new())
    }

    async fn tenant_stats(&self) -> Result<Vec<TenantStats>, IngesterError> {
        Ok(Vec::new())
    }
}

struct Cluster {
    distributor: Distributor,
    ingesters: Vec<Arc<FakeIngester>>,
}

async fn cluster(ingesters: usize, replication_factor: usize) -> Cluster {
    let kv: Arc<dyn Kv> = Arc::new(InMemoryKv::new());
    let pool = Arc::new(IngesterPool::new());
    let mut fakes = Vec::new();
    for index in 0..ingesters {
        let id = format!("ingester-{index}");
        let lifecycler = Lifecycler::new(
            LifecyclerConfig {
                ring_key: "ring".into(),
                instance_id: id.clone(),
                addr: format!("127.0.0.1:{}", 9000 + index),
                zone: String::new(),
                num_tokens: 128,
                heartbeat_period: Duration::from_secs(15),
                unregister_on_shutdown: true,
            },
            Arc::clone(&kv),
        );
        lifecycler.register(InstanceState::Active).await.unwrap();
        let fake = Arc::new(FakeIngester::default());
        pool.register_local(&id, Arc::clone(&fake) as Arc<dyn IngesterClient>);
        fakes.push(fake);
    }
    let ring = Arc::new(RingClient::new(
        kv,
        "ring",
        RingOptions {
            replication_factor,
            heartbeat_timeout: Duration::from_secs(60),
            zone_awareness_enabled: false,
        },
    ));
    ring.start().await.unwrap();
    let limits = Limits {
        ingestion_rate: 1e9,
        ingestion_burst_size: 1_000_000_000,
        ..Limits::default()
    };
    let distributor = Distributor::new(
        DistributorConfig::default(),
        Overrides::new(limits),
        ring,
        None,
        pool,
        None,
        DistributorMetrics::default(),
        DiscardMetrics::default(),
    );
    Cluster {
        distributor,
        ingesters: fakes,
    }
}

/// A decoded remote write 1.0 request with `count` series of one sample each.
fn request(count: usize) -> DecodedWrite {
    let now = now_ms();
    let body = pb::WriteRequest {
        timeseries: (0..count)
            .map(|index| pb::TimeSeries {
                labels: vec![
                    pb::Label {
                        name: "__name__".into(),
                        value: "requests".into(),
                    },
                    pb::Label {
                        name: "path".into(),
                        value: format!("/p{index}"),
                    },
                ],
                samples: vec![pb::Sample {
                    value: index as f64,
                    timestamp: now,
                }],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .encode_to_vec();
    let mut decoded = DecodedWrite::new();
    decoded.decode(WireVersion::V1, body).unwrap();
    decoded
}

fn tenant() -> TenantId {
    TenantId::new("team-a").unwrap()
}

#[tokio::test]
async fn replication_factor_one_spreads_series_without_copies() {
    let cluster = cluster(3, 1).await;
    let result = cluster.distributor.push(&tenant(), &request(300)).await;
    assert_eq!(result.status, PushStatus::Stored);
    assert_eq!(result.samples_written, 300);
    let counts: Vec<usize> = cluster
        .ingesters
        .iter()
        .map(|fake| fake.stored.lock().unwrap().len())
        .collect();
    assert_eq!(
        counts.iter().sum::<usize>(),
        300,
        "each series once: {counts:?}"
    );
    assert!(
        counts.iter().all(|&count| count > 0),
        "128 tokens each spread 300 series over every ingester: {counts:?}"
    );
    // The same series always goes to the same ingester.
    cluster.distributor.push(&tenant(), &request(300)).await;
    for fake in &cluster.ingesters {
        let stored = fake.stored.lock().unwrap();
        let (first, second) = stored.split_at(stored.len() / 2);
        assert_eq!(first, second);
    }
}

#[tokio::test]
async fn replication_factor_three_survives_one_failed_ingester_not_two() {
    let cluster = cluster(3, 3).await;
    let result = cluster.distributor.push(&tenant(), &request(50)).await;
    assert_eq!(result.status, PushStatus::Stored);
    assert_eq!(result.samples_written, 50, "each sample is reported once");
    for fake in &cluster.ingesters {
        assert_eq!(
            fake.stored.lock().unwrap().len(),
            50,
            "RF 3 of 3: all everywhere"
        );
    }

    cluster.ingesters[0].failing.store(true, Ordering::Relaxed);
    let result = cluster.distributor.push(&tenant(), &request(50)).await;
    assert_eq!(
        result.status,
        PushStatus::Stored,
        "quorum of 2 out of 3 reached"
    );

    cluster.ingesters[1].failing.store(true, Ordering::Relaxed);
    let result = cluster.distributor.push(&tenant(), &request(50)).await;
    match result.status {
        PushStatus::Unavailable(message) => {
            assert!(
                message.contains("failed pushing to ingester") && message.contains("team-a"),
                "{message}"
            );
        }
        other => panic!("expected a retryable error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_empty_ring_is_a_retryable_error() {
    let cluster = cluster(0, 1).await;
    let result = cluster.distributor.push(&tenant(), &request(1)).await;
    assert!(
        matches!(result.status, PushStatus::Unavailable(_)),
        "{:?}",
        result.status
    );
}
