//! The ingester's service: push, the reads the querier needs, and per-tenant statistics.
//!
//! A push carries a shared batch of prepared series and the indices this ingester owns, so the
//! distributor fans one decoded request out to several ingesters without copying series.
//! Per-sample refusals (out of order, series limits) are *soft*: the ingester stores the rest
//! and reports the first refusal in [`PushOutcome`]; an [`IngesterError`] means the push as a
//! whole failed and may be retried.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use norn_limits::ErrorId;
use norn_model::{Labels, Matcher, TenantId};
use norn_ring::desc::InstanceDesc;
pub use norn_tsdb::series::{ChunkMeta, ChunkSeries};

/// One sample: a timestamp in milliseconds and a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The value (stale markers keep their NaN bits).
    pub value: f64,
}

/// A validated series with its samples, ready to append.
#[derive(Clone, Debug, PartialEq)]
pub struct PushSeries {
    /// The series' labels (sorted, validated, replica label removed).
    pub labels: Labels,
    /// Its samples in request order.
    pub samples: Vec<Sample>,
}

/// Metadata of a metric family (remote write's `MetricMetadata`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct MetricMetadata {
    /// The metric family name.
    pub metric_family: String,
    /// Prometheus's type name: `counter`, `gauge`, `histogram`, `summary`, ...
    #[serde(rename = "type")]
    pub metric_type: String,
    /// Help text.
    pub help: String,
    /// Unit.
    pub unit: String,
}

/// A push to one ingester.
#[derive(Clone, Debug)]
pub struct PushRequest {
    /// The tenant the samples belong to.
    pub tenant: TenantId,
    /// The whole validated batch, shared by every ingester the request fans out to.
    pub series: Arc<[PushSeries]>,
    /// Indices into `series` this ingester stores; `None` means all of them.
    pub selection: Option<Vec<u32>>,
    /// Metadata this ingester stores.
    pub metadata: Vec<MetricMetadata>,
}

impl PushRequest {
    /// Iterates over the series this ingester must store.
    pub fn selected(&self) -> impl Iterator<Item = &PushSeries> + '_ {
        let all = (self.selection.is_none()).then(|| self.series.iter());
        let some = self.selection.as_ref().map(|indices| {
            indices
                .iter()
                .filter_map(|&index| self.series.get(index as usize))
        });
        all.into_iter().flatten().chain(some.into_iter().flatten())
    }
}

/// A refusal the client should see: the first one of a push, with its error ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The error ID (for the status code, the metrics and the message suffix).
    pub id: ErrorId,
    /// The full message, ending in the error ID.
    pub message: String,
}

/// What an ingester did with a push.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PushOutcome {
    /// Samples stored.
    pub samples_appended: u64,
    /// Samples refused (soft errors).
    pub samples_rejected: u64,
    /// Metadata entries stored or refreshed.
    pub metadata_appended: u64,
    /// The first refusal, if any sample or metadata entry was refused.
    pub first_rejection: Option<Rejection>,
}

/// Why a push or read failed as a whole; always worth retrying elsewhere or later.
#[derive(Clone, Debug, thiserror::Error)]
pub enum IngesterError {
    /// An instance protection refused the request (`ingester-max-*`).
    #[error("{message}")]
    InstanceLimit {
        /// The limit's error ID.
        id: ErrorId,
        /// The message for the client.
        message: String,
    },
    /// The ingester is not ready (starting, replaying its WAL, stopping).
    #[error("ingester unavailable: {0}")]
    Unavailable(String),
    /// Storage failed (disk full, I/O error).
    #[error("ingester storage error: {0}")]
    Storage(String),
    /// No client can reach the instance.
    #[error("no client for ingester {instance}: {reason}")]
    NoClient {
        /// The instance ID.
        instance: String,
        /// Why not.
        reason: String,
    },
    /// The request was invalid for the ingester (a bug in the caller).
    #[error("invalid request to ingester: {0}")]
    InvalidRequest(String),
}

/// How many series a select sends per batch: small enough that a querier that hits a limit
/// stops the ingester early, large enough that the per-batch cost vanishes.
pub const SERIES_PER_BATCH: usize = 256;

/// Batches in flight between an ingester and the querier reading them.
const BATCHES_IN_FLIGHT: usize = 4;

/// What a batch of a select's answer is: series with their encoded chunks.
pub type SeriesBatch = Result<Vec<ChunkSeries>, IngesterError>;

/// The answer to a select, streamed in batches of series (Mimir's `QueryStream`).
///
/// Series arrive sorted by labels across batches, each with the chunks that overlap the
/// asked range (whole chunks: readers trim them to the range). Dropping the stream tells the
/// sender to stop: a querier that has hit a limit stops the ingester's work.
#[derive(Debug)]
pub struct SeriesStream {
    source: StreamSource,
}

#[derive(Debug)]
enum StreamSource {
    Channel(tokio::sync::mpsc::Receiver<SeriesBatch>),
    Ready(std::vec::IntoIter<Vec<ChunkSeries>>),
}

/// The sending side of a [`SeriesStream`].
#[derive(Debug)]
pub struct SeriesSender {
    sender: tokio::sync::mpsc::Sender<SeriesBatch>,
}

impl SeriesSender {
    /// Sends one batch from a blocking thread, waiting while the reader is behind. Returns
    /// false when the reader is gone, so the sender can stop.
    pub fn send_blocking(&self, batch: SeriesBatch) -> bool {
        self.sender.blocking_send(batch).is_ok()
    }

    /// Sends one batch from an async task, waiting while the reader is behind. Returns false
    /// when the reader is gone.
    pub async fn send(&self, batch: SeriesBatch) -> bool {
        self.sender.send(batch).await.is_ok()
    }
}

impl SeriesStream {
    /// Returns a connected sender and stream with room for a few batches in flight.
    pub fn channel() -> (SeriesSender, SeriesStream) {
        let (sender, receiver) = tokio::sync::mpsc::channel(BATCHES_IN_FLIGHT);
        (
            SeriesSender { sender },
            SeriesStream {
                source: StreamSource::Channel(receiver),
            },
        )
    }

    /// Returns a stream over series already at hand (sorted by labels), in batches of
    /// [`SERIES_PER_BATCH`].
    pub fn from_series(series: Vec<ChunkSeries>) -> Self {
        let mut batches = Vec::with_capacity(series.len().div_ceil(SERIES_PER_BATCH));
        let mut rest = series.into_iter().peekable();
        while rest.peek().is_some() {
            batches.push(rest.by_ref().take(SERIES_PER_BATCH).collect());
        }
        Self {
            source: StreamSource::Ready(batches.into_iter()),
        }
    }

    /// Returns the next batch; `None` once the answer is complete.
    pub async fn next_batch(&mut self) -> Option<SeriesBatch> {
        match &mut self.source {
            StreamSource::Channel(receiver) => receiver.recv().await,
            StreamSource::Ready(batches) => batches.next().map(Ok),
        }
    }

    /// Reads the whole answer.
    pub async fn collect_all(mut self) -> Result<Vec<ChunkSeries>, IngesterError> {
        let mut all = Vec::new();
        while let Some(batch) = self.next_batch().await {
            all.extend(batch?);
        }
        Ok(all)
    }
}

/// One tenant's numbers on one ingester (for `/distributor/all_user_stats`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct TenantStats {
    /// The tenant.
    pub tenant: String,
    /// Series in memory.
    pub series: u64,
    /// Series that received samples within the active-series idle timeout.
    pub active_series: u64,
    /// Samples per second stored lately (exponentially weighted).
    pub ingestion_rate: f64,
    /// Samples stored since start.
    pub samples_appended: u64,
}

/// The ingester as its callers see it.
#[async_trait]
pub trait IngesterClient: Send + Sync + std::fmt::Debug {
    /// Stores the selected series of a push.
    async fn push(&self, request: PushRequest) -> Result<PushOutcome, IngesterError>;

    /// Streams the series matching `matchers` that have samples in `[mint, maxt]`
    /// (milliseconds, inclusive), sorted by labels, with their chunks overlapping the range.
    async fn select(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<SeriesStream, IngesterError>;

    /// Returns the label sets of the series matching `matchers` that have samples in
    /// `[mint, maxt]`, sorted, without reading any chunk (for `/api/v1/series`).
    async fn series(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, IngesterError>;

    /// Returns the label names of series matching `matchers` in the range, sorted.
    async fn label_names(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, IngesterError>;

    /// Returns the values of label `name` in series matching `matchers` in the range, sorted.
    async fn label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, IngesterError>;

    /// Returns the tenant's metric metadata, optionally for one metric.
    async fn metadata(
        &self,
        tenant: &TenantId,
        metric: Option<&str>,
    ) -> Result<Vec<MetricMetadata>, IngesterError>;

    /// Returns per-tenant statistics of this ingester.
    async fn tenant_stats(&self) -> Result<Vec<TenantStats>, IngesterError>;
}

/// Maps ring instances to ingester clients.
///
/// Ingesters in this process register themselves under their instance ID. An instance with
/// no registered client is unreachable until a remote transport exists (cluster mode); the
/// error says so, and the distributor counts it against the quorum like any failed replica.
#[derive(Debug, Default)]
pub struct IngesterPool {
    local: RwLock<HashMap<String, Arc<dyn IngesterClient>>>,
}

impl IngesterPool {
    /// Returns an empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the ingester of this process running as `instance_id`.
    pub fn register_local(&self, instance_id: &str, client: Arc<dyn IngesterClient>) {
        if let Ok(mut local) = self.local.write() {
            local.insert(instance_id.to_owned(), client);
        }
    }

    /// Returns the client for a ring instance.
    pub fn client(
        &self,
        instance: &InstanceDesc,
    ) -> Result<Arc<dyn IngesterClient>, IngesterError> {
        let local = self.local.read().map_err(|_| IngesterError::NoClient {
            instance: instance.id.clone(),
            reason: "client pool lock poisoned".into(),
        })?;
        local
            .get(&instance.id)
            .cloned()
            .ok_or_else(|| IngesterError::NoClient {
                instance: instance.id.clone(),
                reason: format!(
                    "it is not in this process and remote ingester clients (address {}) are not available yet",
                    instance.addr
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(count: usize) -> Vec<ChunkSeries> {
        (0..count)
            .map(|i| {
                let name = format!("m{i:04}");
                ChunkSeries::from_samples(
                    Labels::new([("__name__", name.as_str())]).unwrap(),
                    &[(i as i64, 1.0)],
                )
                .unwrap()
            })
            .collect()
    }

    #[tokio::test]
    async fn series_at_hand_come_in_batches_in_order() {
        let all = series(SERIES_PER_BATCH + 3);
        let mut stream = SeriesStream::from_series(all.clone());
        assert_eq!(
            stream.next_batch().await.unwrap().unwrap().len(),
            SERIES_PER_BATCH
        );
        assert_eq!(stream.next_batch().await.unwrap().unwrap().len(), 3);
        assert!(stream.next_batch().await.is_none());
        assert_eq!(
            SeriesStream::from_series(all.clone())
                .collect_all()
                .await
                .unwrap(),
            all
        );
        assert!(
            SeriesStream::from_series(Vec::new())
                .next_batch()
                .await
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_channel_stream_ends_on_an_error_and_its_sender_sees_a_gone_reader() {
        let (sender, stream) = SeriesStream::channel();
        assert!(sender.send(Ok(series(2))).await);
        assert!(
            sender
                .send(Err(IngesterError::Storage("disk gone".into())))
                .await
        );
        drop(sender);
        let error = stream.collect_all().await.unwrap_err();
        assert!(error.to_string().contains("disk gone"));

        let (sender, stream) = SeriesStream::channel();
        drop(stream);
        assert!(!sender.send(Ok(series(1))).await, "nobody reads any more");
    }
}
