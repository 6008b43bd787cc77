//! The ingester: one TSDB per tenant, the push path into it and the reads out of it.
//!
//! A tenant's TSDB is opened on its first write (or, at start, for every directory found under
//! `blocks_storage.tsdb.dir`, replaying its WAL). A push appends every selected series in one
//! appender and commits once, so the WAL holds the whole push before it is acknowledged.
//! Refused samples (out of order, series limits) are counted and the first refusal is
//! reported; the rest of the push is stored. Instance protections refuse a push as a whole
//! with a retryable error. TSDB work is synchronous, so it runs on tokio's blocking pool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use async_trait::async_trait;
use norn_blocks::config::TsdbConfig;
use norn_common::time::{format_timestamp, now_ms};
use norn_limits::error_id::limit_error_message;
use norn_limits::{DiscardMetrics, ErrorId, Overrides};
use norn_model::{Labels, Matcher, TenantId};
use norn_rpc::{
    ChunkSeries, IngesterClient, IngesterError, MetricMetadata, PushOutcome, PushRequest,
    Rejection, Sample, SeriesStream, TenantStats,
};
use norn_tsdb::db::{Db, DbOptions};
use norn_tsdb::head::{AppendError, HeadOptions, SeriesLifecycle};
use norn_tsdb::wal::{SyncPolicy, WalOptions};

use crate::active::ActiveSeries;
use crate::config::IngesterConfig;
use crate::limiter::{RingShape, SeriesCounts, SeriesLimiter, local_limit};
use crate::metadata::{MetadataRefusal, MetadataStore};
use crate::rate::EwmaRate;

/// One tenant's open TSDB and the state kept beside it.
#[derive(Debug)]
pub struct TenantDb {
    tenant: String,
    db: Arc<Db>,
    limiter: Arc<SeriesLimiter>,
    active: ActiveSeries,
    metadata: Mutex<MetadataStore>,
    last_push_ms: AtomicI64,
    samples_appended: AtomicU64,
    rate: EwmaRate,
}

impl TenantDb {
    /// Returns the tenant's TSDB.
    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }

    /// Returns the tenant's ID.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Returns the number of series in memory.
    pub fn series(&self) -> u64 {
        self.limiter.series()
    }

    /// Returns the number of active series (as of the last recount).
    pub fn active_series(&self) -> u64 {
        self.active.active()
    }

    /// Returns when the tenant last pushed, in Unix milliseconds.
    pub fn last_push_ms(&self) -> i64 {
        self.last_push_ms.load(Ordering::Relaxed)
    }
}

/// The ingester's shared state; cheap to clone.
#[derive(Clone, Debug)]
pub struct Ingester {
    inner: Arc<Inner>,
}

struct Inner {
    config: IngesterConfig,
    tsdb: TsdbConfig,
    dir: PathBuf,
    overrides: Overrides,
    ring_shape: RingShape,
    discards: DiscardMetrics,
    tenants: RwLock<HashMap<String, Arc<TenantDb>>>,
    /// Serialises opening TSDBs, so a tenant's directory is never opened twice.
    opening: Mutex<()>,
    series: Arc<SeriesCounts>,
    inflight: AtomicU64,
    rate: EwmaRate,
    samples_appended: AtomicU64,
    samples_failed: AtomicU64,
    ready: AtomicBool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingester")
            .field("dir", &self.dir)
            .field("ready", &self.ready)
            .finish_non_exhaustive()
    }
}

/// Decrements the in-flight counter when a push ends, however it ends.
struct InflightGuard<'a>(&'a AtomicU64);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Ingester {
    /// Returns an ingester keeping TSDBs under `tsdb.dir`. It refuses pushes until
    /// [`Ingester::open_existing`] has replayed what is on disk and marked it ready.
    pub fn new(
        config: IngesterConfig,
        tsdb: TsdbConfig,
        overrides: Overrides,
        ring_shape: RingShape,
        discards: DiscardMetrics,
    ) -> Self {
        let dir = PathBuf::from(&tsdb.dir);
        Self {
            inner: Arc::new(Inner {
                config,
                tsdb,
                dir,
                overrides,
                ring_shape,
                discards,
                tenants: RwLock::new(HashMap::new()),
                opening: Mutex::new(()),
                series: Arc::new(SeriesCounts::default()),
                inflight: AtomicU64::new(0),
                rate: EwmaRate::default(),
                samples_appended: AtomicU64::new(0),
                samples_failed: AtomicU64::new(0),
                ready: AtomicBool::new(false),
            }),
        }
    }

    /// Returns the directory holding one TSDB per tenant.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Returns the ingester's configuration.
    pub fn config(&self) -> &IngesterConfig {
        &self.inner.config
    }

    /// Returns the TSDB settings.
    pub fn tsdb_config(&self) -> &TsdbConfig {
        &self.inner.tsdb
    }

    /// Opens the TSDB of every tenant directory found on disk, replaying its WAL, then
    /// accepts pushes. Returns the tenants opened.
    pub async fn open_existing(&self) -> Result<Vec<String>, IngesterError> {
        let inner = Arc::clone(&self.inner);
        let opened = tokio::task::spawn_blocking(move || inner.open_existing())
            .await
            .map_err(|error| {
                IngesterError::Storage(format!("WAL replay task failed: {error}"))
            })??;
        self.inner.ready.store(true, Ordering::Release);
        Ok(opened)
    }

    /// Marks the ingester ready or not (pushes and reads are refused while not ready).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Release);
    }

    /// Returns every open tenant TSDB, sorted by tenant.
    pub fn tenants(&self) -> Vec<Arc<TenantDb>> {
        self.inner.tenant_list()
    }

    /// Returns the open TSDBs (for the TSDB metrics collector).
    pub fn dbs(&self) -> Vec<Arc<Db>> {
        self.inner
            .tenant_list()
            .iter()
            .map(|tenant| Arc::clone(&tenant.db))
            .collect()
    }

    /// Returns the tenant's open TSDB, if any.
    pub fn tenant(&self, tenant: &str) -> Option<Arc<TenantDb>> {
        self.inner.get(tenant)
    }

    /// Returns the number of series in memory across tenants.
    pub fn series_in_memory(&self) -> u64 {
        self.inner.series.series.load(Ordering::Relaxed)
    }

    /// Returns the series created and removed since start across tenants.
    pub fn series_created_removed(&self) -> (u64, u64) {
        (
            self.inner.series.created.load(Ordering::Relaxed),
            self.inner.series.removed.load(Ordering::Relaxed),
        )
    }

    /// Returns push requests being handled now.
    pub fn inflight_pushes(&self) -> u64 {
        self.inner.inflight.load(Ordering::Relaxed)
    }

    /// Returns samples stored and samples refused since start.
    pub fn samples_totals(&self) -> (u64, u64) {
        (
            self.inner.samples_appended.load(Ordering::Relaxed),
            self.inner.samples_failed.load(Ordering::Relaxed),
        )
    }

    /// Returns the instance's ingestion rate in samples per second (smoothed).
    pub fn ingestion_rate(&self) -> f64 {
        self.inner.rate.rate()
    }

    /// Folds the samples counted since the last tick into the smoothed rates; call every
    /// [`crate::rate::TICK`].
    pub fn tick_rates(&self) {
        self.inner.rate.tick();
        for tenant in self.inner.tenant_list() {
            tenant.rate.tick();
        }
    }

    /// Recounts active series and forgets expired metadata.
    pub fn update_active_series(&self, now_ms: i64) {
        let idle = self.inner.config.active_series_metrics_idle_timeout.get();
        let retain = self.inner.config.metadata_retain_period.get();
        for tenant in self.inner.tenant_list() {
            tenant.active.purge(now_ms - idle.as_millis() as i64);
            tenant
                .metadata
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .purge(now_ms - retain.as_millis() as i64);
        }
    }

    /// Runs one head-compaction pass: cuts blocks from heads that span 1.5 block ranges,
    /// cuts idle heads entirely, and closes idle empty TSDBs. Errors are logged per tenant.
    pub async fn compact_heads(&self, now_ms: i64) {
        let inner = Arc::clone(&self.inner);
        let result = tokio::task::spawn_blocking(move || inner.compact_heads(now_ms)).await;
        if let Err(error) = result {
            tracing::error!(%error, "head compaction task failed");
        }
    }

    /// Cuts the heads of `tenant` (or of every tenant) into blocks now, as
    /// `/ingester/flush` asks. Returns the tenants flushed.
    pub async fn flush(&self, tenant: Option<String>) -> Result<Vec<String>, IngesterError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.flush(tenant.as_deref()))
            .await
            .map_err(|error| IngesterError::Storage(format!("flush task failed: {error}")))?
    }

    /// Closes every TSDB (flushing WAL buffers); with `flush_blocks`, heads are cut into
    /// blocks first.
    pub async fn close_all(&self, flush_blocks: bool) {
        let inner = Arc::clone(&self.inner);
        let result = tokio::task::spawn_blocking(move || inner.close_all(flush_blocks)).await;
        if let Err(error) = result {
            tracing::error!(%error, "closing TSDBs failed");
        }
    }

    /// Returns the tenant's effective local series limits (per user, per metric), for
    /// status pages.
    pub fn local_series_limits(&self, tenant: &str) -> (u64, u64) {
        let limits = self.inner.overrides.limits(tenant);
        let (ingesters, replication) = (self.inner.ring_shape)();
        (
            local_limit(limits.max_global_series_per_user, ingesters, replication),
            local_limit(limits.max_global_series_per_metric, ingesters, replication),
        )
    }
}

impl Inner {
    fn get(&self, tenant: &str) -> Option<Arc<TenantDb>> {
        self.tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tenant)
            .cloned()
    }

    fn tenant_list(&self) -> Vec<Arc<TenantDb>> {
        let mut list: Vec<Arc<TenantDb>> = self
            .tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        list.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        list
    }

    fn db_options(&self, limiter: Arc<SeriesLimiter>) -> DbOptions {
        // Segments are whole 32 KiB pages.
        let page = 32 * 1024;
        let segment = (self.tsdb.wal_segment_size_bytes as usize / page).max(2) * page;
        DbOptions {
            head: HeadOptions {
                chunk_range: self.tsdb.block_range_ms(),
                lifecycle: Some(limiter as Arc<dyn SeriesLifecycle>),
                ..HeadOptions::default()
            },
            wal: WalOptions {
                segment_size: segment,
                compress: self.tsdb.wal_compression_enabled,
                sync: SyncPolicy::Never,
            },
        }
    }

    /// Opens (creating if needed) the TSDB of `tenant`. `create` false only opens a
    /// directory that exists.
    fn open_tenant(
        &self,
        tenant: &str,
        create: bool,
    ) -> Result<Option<Arc<TenantDb>>, IngesterError> {
        if let Some(existing) = self.get(tenant) {
            return Ok(Some(existing));
        }
        let _opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = self.get(tenant) {
            return Ok(Some(existing));
        }
        let dir = self.dir.join(tenant);
        if !create && !dir.is_dir() {
            return Ok(None);
        }
        let max_tenants = self.config.instance_limits.max_tenants;
        if create && max_tenants > 0 && self.tenants_len() as u64 >= max_tenants {
            return Err(instance_limit(
                ErrorId::IngesterMaxTenants,
                format!(
                    "cannot create a TSDB for tenant {tenant}: the ingester already holds the maximum of {max_tenants} tenants"
                ),
            ));
        }
        let limiter = Arc::new(SeriesLimiter::new(
            tenant,
            self.overrides.clone(),
            Arc::clone(&self.ring_shape),
            Arc::clone(&self.series),
        ));
        let started = std::time::Instant::now();
        let db = Db::open(&dir, self.db_options(Arc::clone(&limiter))).map_err(|error| {
            IngesterError::Storage(format!("cannot open the TSDB of tenant {tenant}: {error}"))
        })?;
        tracing::info!(
            tenant,
            series = limiter.series(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "opened tenant TSDB"
        );
        let tenant_db = Arc::new(TenantDb {
            tenant: tenant.to_owned(),
            db: Arc::new(db),
            limiter,
            active: ActiveSeries::default(),
            metadata: Mutex::new(MetadataStore::default()),
            last_push_ms: AtomicI64::new(now_ms()),
            samples_appended: AtomicU64::new(0),
            rate: EwmaRate::default(),
        });
        self.tenants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant.to_owned(), Arc::clone(&tenant_db));
        Ok(Some(tenant_db))
    }

    fn tenants_len(&self) -> usize {
        self.tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn open_existing(&self) -> Result<Vec<String>, IngesterError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(IngesterError::Storage(format!(
                    "cannot list {}: {error}",
                    self.dir.display()
                )));
            }
        };
        let mut opened = Vec::new();
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !entry.path().is_dir() || TenantId::new(&name).is_err() {
                continue;
            }
            self.open_tenant(&name, false)?;
            opened.push(name);
        }
        opened.sort();
        Ok(opened)
    }

    fn check_ready(&self) -> Result<(), IngesterError> {
        if self.ready.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(IngesterError::Unavailable(
                "the ingester is starting (replaying its WAL) or stopping".into(),
            ))
        }
    }

    fn push(&self, request: &PushRequest) -> Result<PushOutcome, IngesterError> {
        self.check_ready()?;
        let inflight = self.inflight.fetch_add(1, Ordering::Relaxed) + 1;
        let _guard = InflightGuard(&self.inflight);
        let limits = &self.config.instance_limits;
        if limits.max_inflight_push_requests > 0 && inflight > limits.max_inflight_push_requests {
            return Err(instance_limit(
                ErrorId::IngesterMaxInflightPushRequests,
                format!(
                    "the ingester is handling the maximum of {} push requests at once",
                    limits.max_inflight_push_requests
                ),
            ));
        }
        if limits.max_ingestion_rate > 0.0 && self.rate.rate() > limits.max_ingestion_rate {
            return Err(instance_limit(
                ErrorId::IngesterMaxIngestionRate,
                format!(
                    "the ingester's ingestion rate limit of {} samples/s is exceeded",
                    limits.max_ingestion_rate
                ),
            ));
        }
        if limits.max_series > 0 && self.series.series.load(Ordering::Relaxed) >= limits.max_series
        {
            return Err(instance_limit(
                ErrorId::IngesterMaxSeries,
                format!(
                    "the ingester holds the maximum of {} series",
                    limits.max_series
                ),
            ));
        }
        let tenant_id = request.tenant.as_str();
        let Some(tenant) = self.open_tenant(tenant_id, true)? else {
            return Err(IngesterError::Storage(format!(
                "the TSDB of tenant {tenant_id} could not be created"
            )));
        };
        let now = now_ms();
        let mut outcome = PushOutcome::default();
        let mut rejected: HashMap<ErrorId, u64> = HashMap::new();
        let mut touched = Vec::new();
        let mut appender = tenant.db.appender();
        for series in request.selected() {
            let mut series_ref = None;
            for (index, sample) in series.samples.iter().enumerate() {
                let result = match series_ref {
                    Some(series_ref) => appender
                        .append_ref(series_ref, sample.timestamp_ms, sample.value)
                        .map(|()| series_ref),
                    None => appender.append(&series.labels, sample.timestamp_ms, sample.value),
                };
                match result {
                    Ok(appended_ref) => {
                        if series_ref.is_none() {
                            touched.push(appended_ref);
                        }
                        series_ref = Some(appended_ref);
                    }
                    Err(AppendError::SeriesRejected(rejection)) => {
                        // No series: every sample of it is refused for the same reason.
                        let id = if rejection.reason == ErrorId::MaxSeriesPerMetric.as_str() {
                            ErrorId::MaxSeriesPerMetric
                        } else {
                            ErrorId::MaxSeriesPerUser
                        };
                        let refused = (series.samples.len() - index) as u64;
                        *rejected.entry(id).or_default() += refused;
                        outcome.first_rejection.get_or_insert_with(|| Rejection {
                            id,
                            message: format!(
                                "{} This is for series {}",
                                rejection.message, series.labels
                            ),
                        });
                        break;
                    }
                    Err(error) => {
                        let id = sample_error_id(&error);
                        *rejected.entry(id).or_default() += 1;
                        outcome
                            .first_rejection
                            .get_or_insert_with(|| sample_rejection(id, sample, &series.labels));
                    }
                }
            }
        }
        let summary = appender.commit().map_err(|error| {
            IngesterError::Storage(format!(
                "cannot write the push of tenant {tenant_id} to its WAL: {error}"
            ))
        })?;
        outcome.samples_appended = summary.appended;
        if summary.lost_races > 0 {
            *rejected.entry(ErrorId::SampleOutOfOrder).or_default() += summary.lost_races;
        }
        for (id, count) in &rejected {
            outcome.samples_rejected += count;
            self.discards
                .samples(tenant_id, id.discard_reason(), *count);
        }
        if self.config.active_series_metrics_enabled {
            tenant.active.touch_all(&touched, now);
        }
        if !request.metadata.is_empty() {
            self.store_metadata(&tenant, &request.metadata, now, &mut outcome);
        }
        tenant.last_push_ms.store(now, Ordering::Relaxed);
        tenant
            .samples_appended
            .fetch_add(summary.appended, Ordering::Relaxed);
        tenant.rate.add(summary.appended);
        self.rate.add(summary.appended);
        self.samples_appended
            .fetch_add(summary.appended, Ordering::Relaxed);
        self.samples_failed
            .fetch_add(outcome.samples_rejected, Ordering::Relaxed);
        Ok(outcome)
    }

    fn store_metadata(
        &self,
        tenant: &TenantDb,
        entries: &[MetricMetadata],
        now: i64,
        outcome: &mut PushOutcome,
    ) {
        let limits = self.overrides.limits(&tenant.tenant);
        let (ingesters, replication) = (self.ring_shape)();
        let per_user = local_limit(limits.max_global_metadata_per_user, ingesters, replication);
        let per_metric = local_limit(
            limits.max_global_metadata_per_metric,
            ingesters,
            replication,
        );
        let mut store = tenant
            .metadata
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for entry in entries {
            match store.add(entry, now, per_user, per_metric) {
                Ok(()) => outcome.metadata_appended += 1,
                Err(refusal) => {
                    // Metadata is best effort, as in Mimir: a refused entry is counted and
                    // logged, never turned into an error for the push.
                    let (id, limit) = match refusal {
                        MetadataRefusal::PerUser(limit) => (ErrorId::MaxMetadataPerUser, limit),
                        MetadataRefusal::PerMetric(limit) => (ErrorId::MaxMetadataPerMetric, limit),
                    };
                    self.discards
                        .metadata(&tenant.tenant, id.discard_reason(), 1);
                    tracing::debug!(
                        tenant = %tenant.tenant,
                        metric = %entry.metric_family,
                        limit,
                        error_id = id.as_str(),
                        "metadata refused by a limit"
                    );
                }
            }
        }
    }

    fn reader(&self, tenant: &TenantId) -> Result<Option<Arc<TenantDb>>, IngesterError> {
        self.check_ready()?;
        self.open_tenant(tenant.as_str(), false)
    }

    /// Reads the series a select matches, with their chunks (shared with the head and the
    /// blocks, not copied).
    fn select_chunks(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkSeries>, IngesterError> {
        let Some(tenant_db) = self.reader(tenant)? else {
            return Ok(Vec::new());
        };
        tenant_db
            .db
            .select(matchers, mint, maxt)
            .map_err(|error| IngesterError::Storage(format!("select failed: {error}")))
    }

    fn series_labels(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, IngesterError> {
        let Some(tenant_db) = self.reader(tenant)? else {
            return Ok(Vec::new());
        };
        tenant_db
            .db
            .series_labels(matchers, mint, maxt)
            .map_err(|error| IngesterError::Storage(format!("series read failed: {error}")))
    }

    fn compact_heads(&self, now: i64) {
        let idle_timeout = self.tsdb.head_compaction_idle_timeout.get().as_millis() as i64;
        let close_timeout = self.tsdb.close_idle_tsdb_timeout.get().as_millis() as i64;
        for tenant in self.tenant_list() {
            let idle_for = now - tenant.last_push_ms();
            let result = if idle_timeout > 0
                && idle_for >= idle_timeout
                && tenant.db.head().num_series() > 0
            {
                tenant.db.flush()
            } else {
                tenant.db.compact_head()
            };
            match result {
                Ok(blocks) if !blocks.is_empty() => {
                    tracing::info!(tenant = %tenant.tenant, blocks = blocks.len(), "cut blocks from the head");
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(tenant = %tenant.tenant, %error, "head compaction failed");
                }
            }
            if close_timeout > 0 && idle_for >= close_timeout && tenant.db.head().num_series() == 0
            {
                self.close_tenant(&tenant);
            }
        }
    }

    fn close_tenant(&self, tenant: &Arc<TenantDb>) {
        self.tenants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&tenant.tenant);
        if let Err(error) = tenant.db.close() {
            tracing::warn!(tenant = %tenant.tenant, %error, "closing an idle TSDB failed");
        } else {
            tracing::info!(tenant = %tenant.tenant, "closed idle TSDB");
        }
    }

    fn flush(&self, only: Option<&str>) -> Result<Vec<String>, IngesterError> {
        let mut flushed = Vec::new();
        for tenant in self.tenant_list() {
            if only.is_some_and(|only| only != tenant.tenant) {
                continue;
            }
            tenant.db.flush().map_err(|error| {
                IngesterError::Storage(format!("flushing tenant {} failed: {error}", tenant.tenant))
            })?;
            flushed.push(tenant.tenant.clone());
        }
        Ok(flushed)
    }

    fn close_all(&self, flush_blocks: bool) {
        self.ready.store(false, Ordering::Release);
        let tenants: Vec<Arc<TenantDb>> = self
            .tenants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, tenant)| tenant)
            .collect();
        for tenant in tenants {
            if flush_blocks && let Err(error) = tenant.db.flush() {
                tracing::error!(tenant = %tenant.tenant, %error, "flushing on shutdown failed");
            }
            if let Err(error) = tenant.db.close() {
                tracing::error!(tenant = %tenant.tenant, %error, "closing TSDB failed");
            }
        }
    }
}

fn instance_limit(id: ErrorId, core: String) -> IngesterError {
    IngesterError::InstanceLimit {
        id,
        message: limit_error_message(&core, id),
    }
}

fn sample_error_id(error: &AppendError) -> ErrorId {
    match error {
        AppendError::OutOfOrder { .. } => ErrorId::SampleOutOfOrder,
        AppendError::DuplicateTimestamp { .. } => ErrorId::SampleDuplicateTimestamp,
        AppendError::OutOfBounds { .. } => ErrorId::SampleTimestampTooOld,
        AppendError::UnknownSeries(_) | AppendError::SeriesRejected(_) => ErrorId::SampleOutOfOrder,
    }
}

fn sample_rejection(id: ErrorId, sample: &Sample, labels: &Labels) -> Rejection {
    let core = match id {
        ErrorId::SampleDuplicateTimestamp => {
            "the sample has been rejected because another sample with the same timestamp, but a different value, has already been ingested"
        }
        ErrorId::SampleTimestampTooOld => {
            "the sample has been rejected because its timestamp is too old"
        }
        _ => {
            "the sample has been rejected because another sample with a more recent timestamp has already been ingested and out-of-order samples are not allowed"
        }
    };
    Rejection {
        id,
        message: format!(
            "{core} (err-norn-{}). The affected sample has timestamp {} and is from series {labels}",
            id.as_str(),
            format_timestamp(sample.timestamp_ms)
        ),
    }
}

#[async_trait]
impl IngesterClient for Ingester {
    async fn push(&self, request: PushRequest) -> Result<PushOutcome, IngesterError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.push(&request))
            .await
            .map_err(|error| IngesterError::Storage(format!("push task failed: {error}")))?
    }

    async fn select(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<SeriesStream, IngesterError> {
        // The index lookups and chunk references are gathered on a blocking thread in one
        // go (chunk bytes are shared, so this is cheap in memory) and handed out in batches:
        // a local reader needs no channel, and one thread hop less matters for small
        // queries. A remote transport sends the same batches as separate messages.
        let inner = Arc::clone(&self.inner);
        let (tenant, matchers) = (tenant.clone(), matchers.to_vec());
        let series = tokio::task::spawn_blocking(move || {
            inner.select_chunks(&tenant, &matchers, mint, maxt)
        })
        .await
        .map_err(|error| IngesterError::Storage(format!("select task failed: {error}")))??;
        Ok(SeriesStream::from_series(series))
    }

    async fn series(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, IngesterError> {
        let inner = Arc::clone(&self.inner);
        let (tenant, matchers) = (tenant.clone(), matchers.to_vec());
        tokio::task::spawn_blocking(move || inner.series_labels(&tenant, &matchers, mint, maxt))
            .await
            .map_err(|error| IngesterError::Storage(format!("series task failed: {error}")))?
    }

    async fn label_names(
        &self,
        tenant: &TenantId,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, IngesterError> {
        let Some(tenant_db) = self.inner.reader(tenant)? else {
            return Ok(Vec::new());
        };
        tenant_db
            .db
            .label_names(matchers, mint, maxt)
            .map_err(|error| IngesterError::Storage(format!("label names failed: {error}")))
    }

    async fn label_values(
        &self,
        tenant: &TenantId,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, IngesterError> {
        let Some(tenant_db) = self.inner.reader(tenant)? else {
            return Ok(Vec::new());
        };
        tenant_db
            .db
            .label_values(name, matchers, mint, maxt)
            .map_err(|error| IngesterError::Storage(format!("label values failed: {error}")))
    }

    async fn metadata(
        &self,
        tenant: &TenantId,
        metric: Option<&str>,
    ) -> Result<Vec<MetricMetadata>, IngesterError> {
        self.inner.check_ready()?;
        Ok(self
            .inner
            .get(tenant.as_str())
            .map(|tenant_db| {
                tenant_db
                    .metadata
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .list(metric)
            })
            .unwrap_or_default())
    }

    async fn tenant_stats(&self) -> Result<Vec<TenantStats>, IngesterError> {
        Ok(self
            .inner
            .tenant_list()
            .iter()
            .map(|tenant| TenantStats {
                tenant: tenant.tenant.clone(),
                series: tenant.series(),
                active_series: tenant.active_series(),
                ingestion_rate: tenant.rate.rate(),
                samples_appended: tenant.samples_appended.load(Ordering::Relaxed),
            })
            .collect())
    }
}
