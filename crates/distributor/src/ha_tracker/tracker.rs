//! The HA tracker: which replica of each (tenant, cluster) is elected, shared through the KV
//! store and cached locally.
//!
//! A check first consults the local cache. While the cached entry is fresher than the update
//! timeout the answer comes from the cache alone (accept the elected replica, reject the
//! others); otherwise the check runs a compare-and-swap on the KV entry that refreshes it (the
//! elected replica), elects the sender (no entry yet, or the elected replica silent for longer
//! than the failover timeout) or rejects the sender. Every CAS result and every change the KV
//! watch reports is merged into the cache, so all distributors converge on the KV's state.
//!
//! Cleanup: every 30 minutes (±20%) a task deletes the entries whose replica has not been
//! recorded for 30 minutes (or the failover timeout, if longer). Mimir marks such entries
//! first and deletes them 30 minutes later, because some of its KV backends do not report
//! deletions to watchers; Norn's [`Kv`] watches do report them, so one step is enough.
//! A delete can race with a concurrent refresh of the same entry; the next sample of the
//! cluster then simply creates the entry again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration as StdDuration, SystemTime, UNIX_EPOCH};

use norn_ring::kv::{Kv, KvChange, KvError};
use prometheus_client::registry::Registry;
use rand::Rng;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use super::config::HaTrackerConfig;
use super::desc::{ReplicaDesc, parse_replica_key, replica_key};
use super::error::HaError;
use super::metrics::HaTrackerMetrics;
use super::status::{self, ElectedReplica};

/// How often the stale-entry cleanup runs (Mimir's cycle), before jitter.
const CLEANUP_INTERVAL: StdDuration = StdDuration::from_secs(30 * 60);
/// The cleanup period varies by up to this fraction either way, so distributors spread out.
const CLEANUP_INTERVAL_JITTER: f64 = 0.2;
/// Entries whose replica was not recorded for this long are deleted (Mimir's deletion timeout).
const STALE_ENTRY_AGE: StdDuration = StdDuration::from_secs(30 * 60);
/// How long to wait before re-establishing a KV watch that ended.
const REWATCH_BACKOFF: StdDuration = StdDuration::from_secs(1);

/// The cached entries: tenant → cluster → elected replica.
type ReplicaCache = BTreeMap<String, BTreeMap<String, ReplicaDesc>>;

/// Tracks the elected replica of every HA cluster; shared by the push handlers through an
/// `Arc`.
#[derive(Debug)]
pub struct HaTracker {
    config: HaTrackerConfig,
    kv: Arc<dyn Kv>,
    /// The update timeout plus this tracker's random jitter, never negative.
    update_timeout_ms: i64,
    failover_timeout_ms: i64,
    stale_entry_age_ms: i64,
    cache: RwLock<ReplicaCache>,
    metrics: HaTrackerMetrics,
}

/// What a compare-and-swap does with the stored entry.
enum Decision {
    /// The sender is elected and the entry is fresh: nothing to write.
    Keep,
    /// Another replica is elected and has not been silent long enough; carries its name.
    Reject(String),
    /// Store this entry (a refresh or an election) and accept.
    Write(ReplicaDesc),
}

impl HaTracker {
    /// Creates a tracker over `kv` and registers its metrics. It answers from the KV store
    /// right away; [`HaTracker::start`] loads the existing entries and keeps the cache in sync.
    ///
    /// As in Mimir, each tracker draws its update-timeout jitter once, uniformly within
    /// ±`ha_tracker_update_timeout_jitter_max`.
    pub fn new(config: HaTrackerConfig, kv: Arc<dyn Kv>, registry: &mut Registry) -> Self {
        let jitter_ms = random_jitter_ms(millis(config.ha_tracker_update_timeout_jitter_max));
        let update_timeout_ms = millis(config.ha_tracker_update_timeout)
            .saturating_add(jitter_ms)
            .max(0);
        let failover_timeout_ms = millis(config.ha_tracker_failover_timeout);
        let stale_entry_age_ms = millis(STALE_ENTRY_AGE.into()).max(failover_timeout_ms);
        Self {
            config,
            kv,
            update_timeout_ms,
            failover_timeout_ms,
            stale_entry_age_ms,
            cache: RwLock::new(ReplicaCache::new()),
            metrics: HaTrackerMetrics::new(registry),
        }
    }

    /// Whether the tracker is enabled; a disabled tracker accepts every sample.
    pub fn is_enabled(&self) -> bool {
        self.config.enable_ha_tracker
    }

    /// Loads existing entries and keeps the cache in sync (spawns a tokio task for the KV
    /// watch and the cleanup loop) until `stop`. Call it once; a disabled tracker starts
    /// nothing.
    pub async fn start(self: &Arc<Self>, stop: CancellationToken) -> Result<(), HaError> {
        if !self.is_enabled() {
            return Ok(());
        }
        // Watch first, so no change made while the existing entries load is missed.
        let changes = self.kv.watch_prefix(&self.config.kvstore.prefix).await?;
        self.sync_from_kv().await?;
        let watcher = Arc::clone(self);
        let watch_stop = stop.clone();
        tokio::spawn(async move { watcher.watch_loop(changes, watch_stop).await });
        let cleaner = Arc::clone(self);
        tokio::spawn(async move { cleaner.cleanup_loop(stop).await });
        Ok(())
    }

    /// Decides whether samples from `replica` of `cluster` are accepted for `tenant` at
    /// `now_ms` (Unix ms). `max_clusters` is the tenant's `ha_max_clusters` (0 = unlimited).
    pub async fn check_replica(
        &self,
        tenant: &str,
        cluster: &str,
        replica: &str,
        now_ms: i64,
        max_clusters: u64,
    ) -> Result<(), HaError> {
        if !self.is_enabled() {
            return Ok(());
        }
        let (cached, known_clusters) = {
            let cache = self.read_cache();
            let clusters = cache.get(tenant);
            let cached = clusters
                .and_then(|clusters| clusters.get(cluster))
                .map(|desc| (desc.replica.clone(), desc.received_at_ms));
            (cached, clusters.map_or(0, BTreeMap::len))
        };
        match cached {
            Some((elected, received_at_ms)) if self.is_fresh(now_ms, received_at_ms) => {
                return if elected == replica {
                    Ok(())
                } else {
                    Err(HaError::ReplicasNotMatch {
                        replica: replica.to_owned(),
                        elected,
                    })
                };
            }
            None if max_clusters > 0 && known_clusters as u64 >= max_clusters => {
                return Err(HaError::TooManyClusters {
                    limit: max_clusters,
                });
            }
            _ => {}
        }
        self.check_kv(tenant, cluster, replica, now_ms).await
    }

    /// The elected replicas for the `/distributor/ha_tracker` page, sorted by tenant, cluster.
    pub fn elected(&self) -> Vec<ElectedReplica> {
        let cache = self.read_cache();
        cache
            .iter()
            .flat_map(|(tenant, clusters)| {
                clusters.iter().map(move |(cluster, desc)| ElectedReplica {
                    tenant: tenant.clone(),
                    cluster: cluster.clone(),
                    replica: desc.replica.clone(),
                    elected_at_ms: desc.elected_at_ms,
                    received_at_ms: desc.received_at_ms,
                    update_time_ms: desc.received_at_ms.saturating_add(self.update_timeout_ms),
                    failover_time_ms: desc.received_at_ms.saturating_add(self.failover_timeout_ms),
                })
            })
            .collect()
    }

    /// Renders the status page like Mimir's: tenant, cluster, replica, elected at, last
    /// updated, next update and failover time; every value is HTML-escaped.
    pub fn render_html(&self, now_ms: i64) -> String {
        status::render_html(&self.elected(), now_ms)
    }

    /// Renders the status page as JSON, in the shape of Mimir's.
    pub fn render_json(&self, now_ms: i64) -> serde_json::Value {
        status::render_json(&self.elected(), now_ms)
    }

    /// Deletes the KV entries whose replica was not recorded since `now_ms` minus the stale
    /// age; returns how many were deleted.
    pub(crate) async fn cleanup_stale_entries(&self, now_ms: i64) -> Result<usize, HaError> {
        let prefix = &self.config.kvstore.prefix;
        let deadline = now_ms.saturating_sub(self.stale_entry_age_ms);
        let mut deleted = 0;
        for key in self.kv.list(prefix).await? {
            let Some((tenant, cluster)) = parse_replica_key(prefix, &key) else {
                continue;
            };
            let desc = match self.kv.get(&key).await {
                Ok(Some(bytes)) => match ReplicaDesc::decode(&key, &bytes) {
                    Ok(desc) => desc,
                    Err(error) => {
                        tracing::warn!(%error, "HA tracker cleanup: skipping an invalid entry");
                        continue;
                    }
                },
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%key, %error, "HA tracker cleanup: cannot read an entry");
                    continue;
                }
            };
            if desc.received_at_ms >= deadline {
                continue;
            }
            match self.kv.delete(&key).await {
                Ok(()) => {
                    deleted += 1;
                    self.metrics.cleanup_deleted.inc();
                    self.forget(tenant, cluster);
                    tracing::info!(tenant, cluster, replica = %desc.replica, "HA tracker cleanup: deleted a stale elected replica");
                }
                Err(error) => {
                    self.metrics.cleanup_delete_failed.inc();
                    tracing::warn!(%key, %error, "HA tracker cleanup: cannot delete a stale entry");
                }
            }
        }
        Ok(deleted)
    }

    /// Refreshes, elects or rejects through a compare-and-swap on the cluster's KV entry.
    async fn check_kv(
        &self,
        tenant: &str,
        cluster: &str,
        replica: &str,
        now_ms: i64,
    ) -> Result<(), HaError> {
        let key = replica_key(&self.config.kvstore.prefix, tenant, cluster);
        let mut seen: Option<ReplicaDesc> = None;
        let mut elected_other: Option<String> = None;
        let outcome = self
            .kv
            .cas(&key, &mut |current| {
                let stored = current.and_then(|bytes| decode_or_overwrite(&key, bytes));
                elected_other = None;
                match self.decide(stored.as_ref(), replica, now_ms) {
                    Decision::Keep => {
                        seen = stored;
                        Ok(None)
                    }
                    Decision::Reject(elected) => {
                        elected_other = Some(elected);
                        seen = stored;
                        Ok(None)
                    }
                    Decision::Write(desc) => {
                        let bytes = desc.encode(&key)?;
                        seen = Some(desc);
                        Ok(Some(bytes))
                    }
                }
            })
            .await;
        self.metrics.count_cas(tenant, cluster);
        outcome?;
        if let Some(desc) = seen {
            self.merge_into_cache(tenant, cluster, desc);
        }
        match elected_other {
            Some(elected) => Err(HaError::ReplicasNotMatch {
                replica: replica.to_owned(),
                elected,
            }),
            None => Ok(()),
        }
    }

    /// The heart of the election: what to do with the stored entry when `replica` sends at
    /// `now_ms`.
    fn decide(&self, stored: Option<&ReplicaDesc>, replica: &str, now_ms: i64) -> Decision {
        let Some(stored) = stored else {
            return Decision::Write(ReplicaDesc {
                replica: replica.to_owned(),
                received_at_ms: now_ms,
                elected_at_ms: now_ms,
                elected_changes: 0,
            });
        };
        if stored.replica == replica {
            if self.is_fresh(now_ms, stored.received_at_ms) {
                return Decision::Keep;
            }
            return Decision::Write(ReplicaDesc {
                received_at_ms: now_ms,
                ..stored.clone()
            });
        }
        if now_ms.saturating_sub(stored.received_at_ms) < self.failover_timeout_ms {
            return Decision::Reject(stored.replica.clone());
        }
        Decision::Write(ReplicaDesc {
            replica: replica.to_owned(),
            received_at_ms: now_ms,
            elected_at_ms: now_ms,
            elected_changes: stored.elected_changes.saturating_add(1),
        })
    }

    /// Whether an entry recorded at `received_at_ms` needs no refresh yet.
    fn is_fresh(&self, now_ms: i64, received_at_ms: i64) -> bool {
        now_ms.saturating_sub(received_at_ms) < self.update_timeout_ms
    }

    /// Applies the KV watch's changes until `stop`, re-establishing the watch if it ends.
    async fn watch_loop(
        self: Arc<Self>,
        mut changes: UnboundedReceiver<KvChange>,
        stop: CancellationToken,
    ) {
        loop {
            match stop.run_until_cancelled(changes.recv()).await {
                None => return,
                Some(Some((key, value))) => {
                    self.apply_kv_change(&key, value.as_deref(), true);
                }
                Some(None) => {
                    tracing::warn!("HA tracker: the KV watch ended; re-establishing it");
                    match self.rewatch(&stop).await {
                        Some(renewed) => changes = renewed,
                        None => return,
                    }
                }
            }
        }
    }

    /// Opens a new watch and resynchronises the cache, retrying until it works or `stop`.
    async fn rewatch(&self, stop: &CancellationToken) -> Option<UnboundedReceiver<KvChange>> {
        loop {
            stop.run_until_cancelled(tokio::time::sleep(REWATCH_BACKOFF))
                .await?;
            let changes = match self.kv.watch_prefix(&self.config.kvstore.prefix).await {
                Ok(changes) => changes,
                Err(error) => {
                    tracing::warn!(%error, "HA tracker: cannot watch the KV store");
                    continue;
                }
            };
            match self.sync_from_kv().await {
                Ok(()) => return Some(changes),
                Err(error) => tracing::warn!(%error, "HA tracker: cannot reload the KV store"),
            }
        }
    }

    /// Runs the stale-entry cleanup periodically until `stop`.
    async fn cleanup_loop(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let period = jittered(CLEANUP_INTERVAL, CLEANUP_INTERVAL_JITTER);
            if stop
                .run_until_cancelled(tokio::time::sleep(period))
                .await
                .is_none()
            {
                return;
            }
            self.metrics.cleanup_runs.inc();
            if let Err(error) = self.cleanup_stale_entries(wall_clock_ms()).await {
                tracing::warn!(%error, "HA tracker cleanup: cannot list the KV entries");
            }
        }
    }

    /// Loads every entry of the KV store into the cache and forgets cached entries the store
    /// no longer has.
    async fn sync_from_kv(&self) -> Result<(), KvError> {
        let prefix = &self.config.kvstore.prefix;
        let mut present = BTreeSet::new();
        for key in self.kv.list(prefix).await? {
            let Some((tenant, cluster)) = parse_replica_key(prefix, &key) else {
                continue;
            };
            match self.kv.get(&key).await {
                Ok(Some(value)) => {
                    present.insert((tenant.to_owned(), cluster.to_owned()));
                    self.apply_kv_change(&key, Some(&value), false);
                }
                Ok(None) => {}
                Err(error) => {
                    // Keep whatever is cached for it; the watch brings its next change.
                    present.insert((tenant.to_owned(), cluster.to_owned()));
                    tracing::warn!(%key, %error, "HA tracker: cannot read an entry");
                }
            }
        }
        let gone: Vec<(String, String)> = {
            let cache = self.read_cache();
            cache
                .iter()
                .flat_map(|(tenant, clusters)| {
                    clusters
                        .keys()
                        .map(move |cluster| (tenant.clone(), cluster.clone()))
                })
                .filter(|entry| !present.contains(entry))
                .collect()
        };
        for (tenant, cluster) in gone {
            self.forget(&tenant, &cluster);
        }
        Ok(())
    }

    /// Applies one KV value (or deletion) to the cache.
    fn apply_kv_change(&self, key: &str, value: Option<&[u8]>, from_watch: bool) {
        let prefix = &self.config.kvstore.prefix;
        let Some((tenant, cluster)) = parse_replica_key(prefix, key) else {
            return;
        };
        let Some(bytes) = value else {
            self.forget(tenant, cluster);
            return;
        };
        match ReplicaDesc::decode(key, bytes) {
            Ok(desc) => {
                if from_watch {
                    let delay_ms = wall_clock_ms().saturating_sub(desc.received_at_ms);
                    self.metrics.observe_propagation(delay_ms as f64 / 1000.0);
                }
                self.merge_into_cache(tenant, cluster, desc);
            }
            Err(error) => tracing::warn!(%error, "HA tracker: ignoring an invalid KV entry"),
        }
    }

    /// Caches `desc` unless the cache already holds a later state of the entry.
    fn merge_into_cache(&self, tenant: &str, cluster: &str, desc: ReplicaDesc) {
        let mut cache = self.write_cache();
        if !cache.contains_key(tenant) {
            cache.insert(tenant.to_owned(), BTreeMap::new());
        }
        let Some(clusters) = cache.get_mut(tenant) else {
            return;
        };
        let replica_changed = match clusters.get(cluster) {
            Some(cached) if !desc.supersedes(cached) => return,
            Some(cached) => cached.replica != desc.replica,
            None => true,
        };
        if replica_changed {
            tracing::info!(
                tenant,
                cluster,
                replica = %desc.replica,
                elected_at_ms = desc.elected_at_ms,
                "HA tracker: elected replica"
            );
        }
        self.metrics
            .record_entry(tenant, cluster, &desc, replica_changed);
        clusters.insert(cluster.to_owned(), desc);
    }

    /// Drops a cluster from the cache and its per-cluster series.
    fn forget(&self, tenant: &str, cluster: &str) {
        {
            let mut cache = self.write_cache();
            if let Some(clusters) = cache.get_mut(tenant) {
                clusters.remove(cluster);
                if clusters.is_empty() {
                    cache.remove(tenant);
                }
            }
        }
        self.metrics.forget_cluster(tenant, cluster);
    }

    fn read_cache(&self) -> RwLockReadGuard<'_, ReplicaCache> {
        self.cache.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_cache(&self) -> RwLockWriteGuard<'_, ReplicaCache> {
        self.cache.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Decodes a stored entry; an undecodable one is logged and treated as absent, so the next
/// election overwrites it (as Mimir does).
fn decode_or_overwrite(key: &str, bytes: &[u8]) -> Option<ReplicaDesc> {
    ReplicaDesc::decode(key, bytes)
        .map_err(|error| tracing::warn!(%error, "HA tracker: overwriting an invalid KV entry"))
        .ok()
}

/// A duration in whole milliseconds, saturating.
fn millis(duration: norn_common::Duration) -> i64 {
    i64::try_from(duration.get().as_millis()).unwrap_or(i64::MAX)
}

/// A uniform random offset in `[-max_ms, max_ms)`, or 0 when `max_ms` is 0.
fn random_jitter_ms(max_ms: i64) -> i64 {
    if max_ms <= 0 {
        return 0;
    }
    rand::rng().random_range(-max_ms..max_ms)
}

/// `period` varied by up to `variance` (a fraction) either way.
fn jittered(period: StdDuration, variance: f64) -> StdDuration {
    period.mul_f64(1.0 + rand::rng().random_range(-variance..=variance))
}

/// The current Unix time in milliseconds.
fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}
