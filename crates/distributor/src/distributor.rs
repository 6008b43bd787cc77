//! The push pipeline: from a decoded remote-write request to samples stored on a quorum of
//! ingesters, in Mimir's order.
//!
//! 1. Instance protection (in-flight pushes) and the tenant's request rate.
//! 2. HA deduplication on the first series' cluster and replica labels: a non-elected
//!    replica's request is answered 202 and dropped; the elected one's replica label is removed.
//! 3. Per series: `drop_labels`, label validation, per-sample timestamp validation. Invalid
//!    series and samples are dropped and counted; the first error is remembered.
//! 4. The tenant's ingestion rate on what is left (samples + metadata): over the limit, the
//!    whole request is refused with 429 and nothing is stored.
//! 5. Each series is hashed (tenant + labels) onto the ingester ring and sent, with the other
//!    series of the same ingesters, to its `replication_factor` ingesters in parallel. The
//!    push succeeds when every series reached a quorum.
//! 6. The answer: 2xx when everything was stored, 400 with the first error when something
//!    was refused (the rest is stored), 429 for rate limits, 5xx only for retryable faults.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use norn_common::time::now_ms;
use norn_limits::error_id::limit_error_message;
use norn_limits::{DiscardMetrics, ErrorId, Limits, Overrides};
use norn_model::{Labels, TenantId};
use norn_ring::client::RingClient;
use norn_ring::ring::{Operation, Ring};
use norn_ring::token::token_for;
use norn_rpc::{
    IngesterError, IngesterPool, MetricMetadata, PushOutcome, PushRequest, PushSeries, Sample,
};

use crate::config::DistributorConfig;
use crate::decode::DecodedWrite;
use crate::ha_tracker::{HaTracker, find_ha_labels};
use crate::metrics::DistributorMetrics;
use crate::rate_limit::{RateLimiter, RateStrategy};
use crate::validation::SeriesValidator;

/// How a push ended, for the HTTP layer to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushStatus {
    /// Everything valid was stored (2xx).
    Stored,
    /// The request came from a non-elected HA replica and was dropped (202).
    Deduplicated,
    /// Some series or samples were refused; the rest was stored (400).
    PartiallyRefused(String),
    /// The request was refused as a whole for bad input (400).
    BadRequest(String),
    /// A rate limit refused the request; retry later (429, with `Retry-After`).
    RateLimited(String),
    /// A retryable fault: quorum not reached, ingesters unavailable, protections (503).
    Unavailable(String),
    /// A retryable internal fault (500).
    Internal(String),
}

/// The outcome of a push with the counts remote write 2.0 answers in headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushResult {
    /// How it ended.
    pub status: PushStatus,
    /// Samples stored.
    pub samples_written: u64,
}

impl PushResult {
    fn only(status: PushStatus) -> Self {
        Self {
            status,
            samples_written: 0,
        }
    }
}

/// The distributor's state, shared by every push.
#[derive(Debug)]
pub struct Distributor {
    config: DistributorConfig,
    overrides: Overrides,
    ingester_ring: Arc<RingClient>,
    distributor_ring: Option<Arc<RingClient>>,
    pool: Arc<IngesterPool>,
    ha_tracker: Option<Arc<HaTracker>>,
    ingestion_limiter: RateLimiter,
    request_limiter: RateLimiter,
    inflight: AtomicU64,
    metrics: DistributorMetrics,
    discards: DiscardMetrics,
    buffers: Mutex<Vec<(DecodedWrite, Vec<u8>)>>,
}

/// Decodes kept for reuse between requests, and the largest body a kept one may hold.
const KEPT_BUFFERS: usize = 16;
const KEPT_BUFFER_BYTES: usize = 16 << 20;

/// Decrements a counter when dropped.
struct Release<'a>(&'a AtomicU64);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The series of a push after validation, with where each one goes.
struct Prepared {
    series: Vec<PushSeries>,
    metadata: Vec<MetricMetadata>,
    first_error: Option<String>,
    samples: u64,
}

impl Distributor {
    /// Returns a distributor writing to the ingesters of `ingester_ring` through `pool`.
    /// `distributor_ring` divides global rate limits; `ha_tracker` is set when HA
    /// deduplication is enabled.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: DistributorConfig,
        overrides: Overrides,
        ingester_ring: Arc<RingClient>,
        distributor_ring: Option<Arc<RingClient>>,
        pool: Arc<IngesterPool>,
        ha_tracker: Option<Arc<HaTracker>>,
        metrics: DistributorMetrics,
        discards: DiscardMetrics,
    ) -> Self {
        Self {
            config,
            overrides,
            ingester_ring,
            distributor_ring,
            pool,
            ha_tracker,
            ingestion_limiter: RateLimiter::default(),
            request_limiter: RateLimiter::default(),
            inflight: AtomicU64::new(0),
            metrics,
            discards,
            buffers: Mutex::new(Vec::new()),
        }
    }

    /// Returns the configuration.
    pub fn config(&self) -> &DistributorConfig {
        &self.config
    }

    /// Returns the per-tenant limits handle.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// Returns the ingester ring client.
    pub fn ingester_ring(&self) -> &Arc<RingClient> {
        &self.ingester_ring
    }

    /// Returns the ingester client pool.
    pub fn pool(&self) -> &Arc<IngesterPool> {
        &self.pool
    }

    /// Returns the HA tracker, when enabled.
    pub fn ha_tracker(&self) -> Option<&Arc<HaTracker>> {
        self.ha_tracker.as_ref()
    }

    /// Takes a decoder and a body buffer from the pool (or new ones).
    pub fn take_decoder(&self) -> (DecodedWrite, Vec<u8>) {
        self.buffers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| (DecodedWrite::new(), Vec::new()))
    }

    /// Gives a decoder back for the next request, with the body buffer it holds.
    pub fn return_decoder(&self, mut decoded: DecodedWrite) {
        let mut buffer = decoded.take_buffer();
        if buffer.capacity() > KEPT_BUFFER_BYTES {
            return;
        }
        buffer.clear();
        let mut buffers = self.buffers.lock().unwrap_or_else(PoisonError::into_inner);
        if buffers.len() < KEPT_BUFFERS {
            buffers.push((decoded, buffer));
        }
    }

    /// Counts a push that starts; `None` when the in-flight limit is reached.
    fn enter(&self) -> Option<Release<'_>> {
        let inflight = self.inflight.fetch_add(1, Ordering::Relaxed) + 1;
        let release = Release(&self.inflight);
        let limit = self.config.instance_limits.max_inflight_push_requests;
        (limit == 0 || inflight <= limit).then_some(release)
    }

    /// Returns the number of pushes being handled.
    pub fn inflight(&self) -> u64 {
        self.inflight.load(Ordering::Relaxed)
    }

    /// Returns this distributor's share of a tenant's rate.
    fn local_rate(&self, rate: f64) -> f64 {
        match (self.config.rate_strategy(), &self.distributor_ring) {
            (RateStrategy::Global, Some(ring)) => {
                let healthy = ring
                    .ring()
                    .healthy_instance_count(Operation::Read, now_ms())
                    .max(1);
                rate / healthy as f64
            }
            _ => rate,
        }
    }

    /// Runs the pipeline for one decoded request of `tenant`.
    pub async fn push(&self, tenant: &TenantId, decoded: &DecodedWrite) -> PushResult {
        let started = std::time::Instant::now();
        let result = self.push_inner(tenant, decoded).await;
        self.metrics.observe_push(started.elapsed().as_secs_f64());
        result
    }

    async fn push_inner(&self, tenant: &TenantId, decoded: &DecodedWrite) -> PushResult {
        let Some(_inflight) = self.enter() else {
            let limit = self.config.instance_limits.max_inflight_push_requests;
            return PushResult::only(PushStatus::Unavailable(limit_error_message(
                &format!(
                    "the distributor is handling the maximum of {limit} push requests at once"
                ),
                ErrorId::DistributorMaxInflightPushRequests,
            )));
        };
        let tenant_name = tenant.as_str();
        let limits = self.overrides.limits(tenant_name);
        let now = now_ms();
        self.metrics.request_in(tenant_name);
        self.metrics
            .samples_in(tenant_name, decoded.sample_count() as u64);

        if limits.request_rate > 0.0
            && !self.request_limiter.allow(
                tenant_name,
                now,
                1.0,
                self.local_rate(limits.request_rate),
                limits.request_burst_size as f64,
            )
        {
            self.discards.samples(
                tenant_name,
                ErrorId::TenantMaxRequestRate.discard_reason(),
                decoded.sample_count() as u64,
            );
            return PushResult::only(PushStatus::RateLimited(limit_error_message(
                &format!(
                    "the request has been rejected because the tenant exceeded the request rate limit, set to {} requests/s across all distributors with a maximum allowed burst of {}",
                    limits.request_rate, limits.request_burst_size
                ),
                ErrorId::TenantMaxRequestRate,
            )));
        }

        let mut remove_replica = false;
        if let Some(status) = self
            .deduplicate(tenant_name, decoded, &limits, now, &mut remove_replica)
            .await
        {
            return PushResult::only(status);
        }

        let prepared = self.prepare(tenant_name, decoded, &limits, now, remove_replica);
        let items = prepared.samples + prepared.metadata.len() as u64;
        if items > 0
            && !self.ingestion_limiter.allow(
                tenant_name,
                now,
                items as f64,
                self.local_rate(limits.ingestion_rate),
                limits.ingestion_burst_size as f64,
            )
        {
            self.discards.samples(
                tenant_name,
                ErrorId::TenantMaxIngestionRate.discard_reason(),
                prepared.samples,
            );
            return PushResult::only(PushStatus::RateLimited(limit_error_message(
                &format!(
                    "the request has been rejected because the tenant exceeded the ingestion rate limit, set to {} items/s with a maximum allowed burst of {}. This limit is applied on the total number of samples, exemplars and metadata received across all distributors",
                    limits.ingestion_rate, limits.ingestion_burst_size
                ),
                ErrorId::TenantMaxIngestionRate,
            )));
        }
        self.metrics.received(
            tenant_name,
            prepared.samples,
            prepared.metadata.len() as u64,
        );
        if prepared.series.is_empty() && prepared.metadata.is_empty() {
            return PushResult {
                status: match prepared.first_error {
                    Some(error) => PushStatus::PartiallyRefused(error),
                    None => PushStatus::Stored,
                },
                samples_written: 0,
            };
        }
        self.send(tenant, prepared, now).await
    }

    /// Applies HA deduplication; returns the final status when the request ends here.
    async fn deduplicate(
        &self,
        tenant: &str,
        decoded: &DecodedWrite,
        limits: &Limits,
        now: i64,
        remove_replica: &mut bool,
    ) -> Option<PushStatus> {
        let tracker = self.ha_tracker.as_ref()?;
        if !limits.accept_ha_samples || decoded.series_count() == 0 {
            return None;
        }
        let first = decoded.series(0);
        let (cluster, replica) = find_ha_labels(
            first.labels(),
            &limits.ha_cluster_label,
            &limits.ha_replica_label,
        );
        let (Some(cluster), Some(replica)) = (cluster, replica) else {
            return None;
        };
        match tracker
            .check_replica(tenant, cluster, replica, now, limits.ha_max_clusters)
            .await
        {
            Ok(()) => {
                *remove_replica = true;
                None
            }
            Err(error) if error.is_rejected_replica() => {
                self.metrics
                    .deduplicated(tenant, cluster, decoded.sample_count() as u64);
                Some(PushStatus::Deduplicated)
            }
            Err(error) if error.is_too_many_clusters() => {
                Some(PushStatus::BadRequest(error.to_string()))
            }
            Err(error) => Some(PushStatus::Internal(format!("HA tracker failed: {error}"))),
        }
    }

    /// Validates and converts the request's series and metadata.
    fn prepare(
        &self,
        tenant: &str,
        decoded: &DecodedWrite,
        limits: &Limits,
        now: i64,
        remove_replica: bool,
    ) -> Prepared {
        let validator = SeriesValidator::new(limits);
        let replica_label = limits.ha_replica_label.as_str();
        let drop_labels = &limits.drop_labels;
        let mut prepared = Prepared {
            series: Vec::with_capacity(decoded.series_count()),
            metadata: Vec::new(),
            first_error: None,
            samples: 0,
        };
        let mut discarded: HashMap<&'static str, u64> = HashMap::new();
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(32);
        for series in decoded.series_iter() {
            let histograms = series.histogram_count() as u64;
            if histograms > 0 {
                *discarded
                    .entry(ErrorId::NativeHistogramUnsupported.discard_reason())
                    .or_default() += histograms;
                prepared.first_error.get_or_insert_with(|| {
                    format!(
                        "received {histograms} native histogram samples for series {}, but Norn does not store native histograms yet; send classic histograms (err-norn-{})",
                        crate::validation::format_series(series.labels()),
                        ErrorId::NativeHistogramUnsupported.as_str()
                    )
                });
            }
            if series.samples().is_empty() {
                continue;
            }
            let keeps = |name: &str| {
                let is_replica = remove_replica && name == replica_label;
                let is_dropped = drop_labels.iter().any(|dropped| dropped == name);
                !(is_replica || is_dropped)
            };
            // A label that was not UTF-8 on the wire (decoded lossily) refuses its series,
            // before any other label check, unless the label is dropped anyway.
            if let Some(invalid) = series.invalid_utf8_label()
                && keeps(invalid.name)
            {
                let metric = series.metric_name().unwrap_or_default();
                let (id, message) = if invalid.is_value {
                    let error = crate::validation::invalid_label_value_error(
                        invalid.name,
                        invalid.value.as_bytes(),
                        metric,
                    );
                    (error.id, error.message)
                } else {
                    let labels = series.labels().filter(|(_, value)| !value.is_empty());
                    let core = format!(
                        "received a series with an invalid label: '{:.200}' series: '{:.200}'",
                        invalid.name,
                        crate::validation::format_series(labels)
                    );
                    let id = ErrorId::InvalidLabel;
                    (id, limit_error_message(&core, id))
                };
                *discarded.entry(id.discard_reason()).or_default() += series.samples().len() as u64;
                prepared.first_error.get_or_insert(message);
                continue;
            }
            pairs.clear();
            pairs.extend(series.labels().filter(|(name, _)| keeps(name)));
            if let Err(error) = validator.validate_labels(pairs.iter().copied()) {
                *discarded.entry(error.id.discard_reason()).or_default() +=
                    series.samples().len() as u64;
                prepared.first_error.get_or_insert(error.message);
                continue;
            }
            let mut samples = Vec::with_capacity(series.samples().len());
            for sample in series.samples() {
                match validator.validate_timestamp(sample.timestamp_ms, now, pairs.iter().copied())
                {
                    Ok(()) => samples.push(Sample {
                        timestamp_ms: sample.timestamp_ms,
                        value: sample.value,
                    }),
                    Err(error) => {
                        *discarded.entry(error.id.discard_reason()).or_default() += 1;
                        prepared.first_error.get_or_insert(error.message);
                    }
                }
            }
            if samples.is_empty() {
                continue;
            }
            let labels = match Labels::new(pairs.iter().copied()) {
                Ok(labels) => labels,
                Err(error) => {
                    *discarded
                        .entry(ErrorId::DuplicateLabelNames.discard_reason())
                        .or_default() += samples.len() as u64;
                    prepared.first_error.get_or_insert_with(|| {
                        format!(
                            "invalid labels for series {}: {error}",
                            crate::validation::format_series(pairs.iter().copied())
                        )
                    });
                    continue;
                }
            };
            if labels.is_empty() {
                continue;
            }
            prepared.samples += samples.len() as u64;
            prepared.series.push(PushSeries { labels, samples });
        }
        for (reason, count) in discarded {
            self.discards.samples(tenant, reason, count);
        }
        for metadata in decoded.metadata() {
            if let Err(error) =
                validator.validate_metadata(metadata.metric_family, metadata.help, metadata.unit)
            {
                self.discards.metadata(tenant, error.id.discard_reason(), 1);
                prepared.first_error.get_or_insert(error.message);
                continue;
            }
            prepared.metadata.push(MetricMetadata {
                metric_family: metadata.metric_family.to_owned(),
                metric_type: metadata.metric_type.as_str().to_owned(),
                help: validator.truncate_help(metadata.help).to_owned(),
                unit: metadata.unit.to_owned(),
            });
        }
        prepared
    }

    /// Shards the prepared series onto the ring and pushes them to a quorum.
    async fn send(&self, tenant: &TenantId, prepared: Prepared, now: i64) -> PushResult {
        let ring = self.ingester_ring.ring();
        let mut placement = match place(&ring, tenant.as_str(), &prepared, now) {
            Ok(placement) => placement,
            Err(error) => {
                return PushResult::only(PushStatus::Unavailable(format!(
                    "cannot find ingesters for tenant {tenant}: {error}"
                )));
            }
        };
        let series: Arc<[PushSeries]> = prepared.series.into();
        let single = placement.per_instance.len() == 1;
        let mut calls = Vec::with_capacity(placement.per_instance.len());
        for (instance_index, (selection, metadata_indices)) in
            std::mem::take(&mut placement.per_instance)
        {
            let instance = ring.instance(instance_index).clone();
            let request = PushRequest {
                tenant: tenant.clone(),
                series: Arc::clone(&series),
                selection: if single && selection.len() == series.len() {
                    None
                } else {
                    Some(selection)
                },
                metadata: metadata_indices
                    .iter()
                    .filter_map(|&index| prepared.metadata.get(index).cloned())
                    .collect(),
            };
            let pool = Arc::clone(&self.pool);
            let timeout = self.config.remote_timeout.get();
            calls.push(async move {
                let result = match pool.client(&instance) {
                    Ok(client) => match tokio::time::timeout(timeout, client.push(request)).await {
                        Ok(result) => result,
                        Err(_) => Err(IngesterError::Unavailable(format!(
                            "push timed out after {timeout:?} (-distributor.remote-timeout)"
                        ))),
                    },
                    Err(error) => Err(error),
                };
                (instance_index, instance.id, result)
            });
        }
        let results = futures::future::join_all(calls).await;

        let mut failed: HashMap<usize, (String, IngesterError)> = HashMap::new();
        let mut outcomes: Vec<(String, PushOutcome)> = Vec::new();
        for (index, id, result) in results {
            match result {
                Ok(outcome) => outcomes.push((id, outcome)),
                Err(error) => {
                    self.metrics.ingester_push_failed(&id);
                    failed.insert(index, (id, error));
                }
            }
        }
        if let Some((id, error)) = placement.quorum_failure(&failed) {
            let message = format!("failed pushing to ingester {id}: user={tenant}: {error}");
            return PushResult::only(match error {
                IngesterError::Storage(_) | IngesterError::InvalidRequest(_) => {
                    PushStatus::Internal(message)
                }
                _ => PushStatus::Unavailable(message),
            });
        }
        let appended: u64 = outcomes
            .iter()
            .map(|(_, outcome)| outcome.samples_appended)
            .sum();
        // Every series went to `replicas` ingesters on average; report each sample once.
        let samples_written = if placement.replicas > 0.0 {
            (appended as f64 / placement.replicas).round() as u64
        } else {
            appended
        };
        let ingester_error = outcomes.iter().find_map(|(id, outcome)| {
            outcome.first_rejection.as_ref().map(|rejection| {
                format!(
                    "failed pushing to ingester {id}: user={tenant}: {}",
                    rejection.message
                )
            })
        });
        let status = match prepared.first_error.or(ingester_error) {
            Some(error) => PushStatus::PartiallyRefused(error),
            None => PushStatus::Stored,
        };
        PushResult {
            status,
            samples_written,
        }
    }
}

/// Where each series and metadata entry of a push goes.
struct Placement {
    /// Per ring instance index: the series indices and metadata indices it stores.
    per_instance: HashMap<usize, (Vec<u32>, Vec<usize>)>,
    /// Flat list of every series' replica instance indices, `replica_ends[i]` ends series i.
    replica_instances: Vec<usize>,
    replica_ends: Vec<usize>,
    /// Per series: how many of its replicas may fail.
    max_errors: Vec<usize>,
    /// Average replicas per series.
    replicas: f64,
}

impl Placement {
    /// Returns a failure that cost some series its quorum, if any.
    fn quorum_failure<'a>(
        &self,
        failed: &'a HashMap<usize, (String, IngesterError)>,
    ) -> Option<&'a (String, IngesterError)> {
        if failed.is_empty() {
            return None;
        }
        let mut start = 0;
        for (series, &end) in self.replica_ends.iter().enumerate() {
            let replicas = &self.replica_instances[start..end];
            start = end;
            let failures: Vec<&usize> = replicas
                .iter()
                .filter(|index| failed.contains_key(index))
                .collect();
            if failures.len() > self.max_errors[series] {
                return failures.first().and_then(|index| failed.get(index));
            }
        }
        None
    }
}

fn place(
    ring: &Ring,
    tenant: &str,
    prepared: &Prepared,
    now: i64,
) -> Result<Placement, norn_ring::RingError> {
    let mut placement = Placement {
        per_instance: HashMap::new(),
        replica_instances: Vec::with_capacity(prepared.series.len()),
        replica_ends: Vec::with_capacity(prepared.series.len()),
        max_errors: Vec::with_capacity(prepared.series.len()),
        replicas: 0.0,
    };
    let mut buffer = Vec::new();
    for (index, series) in prepared.series.iter().enumerate() {
        let token = token_for(
            tenant,
            series.labels.iter().map(|label| (label.name, label.value)),
        );
        let max_errors = ring.get_into(token, Operation::Write, now, &mut buffer)?;
        for &instance in &buffer {
            placement
                .per_instance
                .entry(instance)
                .or_default()
                .0
                .push(index as u32);
            placement.replica_instances.push(instance);
        }
        placement
            .replica_ends
            .push(placement.replica_instances.len());
        placement.max_errors.push(max_errors);
    }
    for (index, metadata) in prepared.metadata.iter().enumerate() {
        let token = token_for(tenant, [(metadata.metric_family.as_str(), "")]);
        ring.get_into(token, Operation::Write, now, &mut buffer)?;
        for &instance in &buffer {
            placement
                .per_instance
                .entry(instance)
                .or_default()
                .1
                .push(index);
        }
    }
    if !prepared.series.is_empty() {
        placement.replicas =
            placement.replica_instances.len() as f64 / prepared.series.len() as f64;
    }
    Ok(placement)
}
