//! Tests of the HA tracker: elections, failover, refreshes, sharing one KV store, limits,
//! cleanup, configuration, labels and the status page.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use bytes::Bytes;
use norn_common::Duration;
use norn_common::config::{ConfigSection, load, parse_command_line};
use norn_ring::kv::{CasUpdate, InMemoryKv, Kv, KvChange, KvError};
use prometheus_client::registry::Registry;
use proptest::prelude::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::desc::{parse_replica_key, replica_key};
use super::status::{escape_html, format_duration};
use super::*;
use norn_common::time::format_timestamp;

const T0: i64 = 1_700_000_000_000;
const UPDATE_MS: i64 = 15_000;
const FAILOVER_MS: i64 = 30_000;
const PREFIX: &str = "ha-tracker/";

/// The defaults, enabled, without jitter so timeouts are exact.
fn config() -> HaTrackerConfig {
    HaTrackerConfig {
        enable_ha_tracker: true,
        ha_tracker_update_timeout_jitter_max: Duration::default(),
        ..HaTrackerConfig::default()
    }
}

fn tracker_with(config: HaTrackerConfig, kv: &InMemoryKv) -> Arc<HaTracker> {
    let mut registry = Registry::default();
    Arc::new(HaTracker::new(config, Arc::new(kv.clone()), &mut registry))
}

fn tracker(kv: &InMemoryKv) -> Arc<HaTracker> {
    tracker_with(config(), kv)
}

async fn stored(kv: &InMemoryKv, tenant: &str, cluster: &str) -> Option<ReplicaDesc> {
    let key = replica_key(PREFIX, tenant, cluster);
    let bytes = kv.get(&key).await.unwrap()?;
    Some(ReplicaDesc::decode(&key, &bytes).unwrap())
}

/// Counts the writes a watch saw so far.
fn drain_writes(watch: &mut mpsc::UnboundedReceiver<KvChange>) -> usize {
    let mut writes = 0;
    while let Ok((_, value)) = watch.try_recv() {
        writes += usize::from(value.is_some());
    }
    writes
}

/// Polls `condition` for up to five seconds, letting background tasks run in between.
async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if condition() {
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    condition()
}

fn elected_replica(tracker: &HaTracker, tenant: &str, cluster: &str) -> Option<String> {
    tracker
        .elected()
        .into_iter()
        .find(|entry| entry.tenant == tenant && entry.cluster == cluster)
        .map(|entry| entry.replica)
}

fn expect_rejected(result: Result<(), HaError>, replica: &str, elected: &str) {
    match result {
        Err(HaError::ReplicasNotMatch {
            replica: got_replica,
            elected: got_elected,
        }) => {
            assert_eq!(got_replica, replica);
            assert_eq!(got_elected, elected);
        }
        other => panic!("expected ReplicasNotMatch, got {other:?}"),
    }
}

#[tokio::test]
async fn first_replica_is_elected_and_stored() {
    let kv = InMemoryKv::new();
    let tracker = tracker(&kv);
    tracker
        .check_replica("user", "prom", "a", T0, 0)
        .await
        .unwrap();
    assert_eq!(
        stored(&kv, "user", "prom").await,
        Some(ReplicaDesc {
            replica: "a".into(),
            received_at_ms: T0,
            elected_at_ms: T0,
            elected_changes: 0,
        })
    );
    assert_eq!(
        tracker.elected(),
        vec![ElectedReplica {
            tenant: "user".into(),
            cluster: "prom".into(),
            replica: "a".into(),
            elected_at_ms: T0,
            received_at_ms: T0,
            update_time_ms: T0 + UPDATE_MS,
            failover_time_ms: T0 + FAILOVER_MS,
        }]
    );
}

#[tokio::test]
async fn elected_replica_keeps_being_accepted() {
    let kv = InMemoryKv::new();
    let tracker = tracker(&kv);
    for offset in [0, 1_000, 10_000, 20_000, 60_000, 3_600_000] {
        tracker
            .check_replica("user", "prom", "a", T0 + offset, 0)
            .await
            .unwrap();
    }
    assert_eq!(
        elected_replica(&tracker, "user", "prom").as_deref(),
        Some("a")
    );
}

#[tokio::test]
async fn other_replica_is_rejected_until_the_failover_timeout() {
    let kv = InMemoryKv::new();
    let tracker = tracker(&kv);
    tracker
        .check_replica("user", "prom", "a", T0, 0)
        .await
        .unwrap();

    // From the cache (within the update timeout) and from the KV store (past it).
    for offset in [1_000, UPDATE_MS + 5_000, FAILOVER_MS - 1] {
        let result = tracker
            .check_replica("user", "prom", "b", T0 + offset, 0)
            .await;
        let error = result.as_ref().unwrap_err();
        assert!(error.is_rejected_replica());
        assert_eq!(error.http_status(), 202);
        expect_rejected(result, "b", "a");
    }
    assert_eq!(stored(&kv, "user", "prom").await.unwrap().replica, "a");

    // The elected replica has been silent for the failover timeout: b takes over.
    tracker
        .check_replica("user", "prom", "b", T0 + FAILOVER_MS, 0)
        .await
        .unwrap();
    assert_eq!(
        stored(&kv, "user", "prom").await,
        Some(ReplicaDesc {
            replica: "b".into(),
            received_at_ms: T0 + FAILOVER_MS,
            elected_at_ms: T0 + FAILOVER_MS,
            elected_changes: 1,
        })
    );
    expect_rejected(
        tracker
            .check_replica("user", "prom", "a", T0 + FAILOVER_MS + 1_000, 0)
            .await,
        "a",
        "b",
    );
    // Other clusters and tenants are independent.
    tracker
        .check_replica("user", "other", "a", T0 + FAILOVER_MS, 0)
        .await
        .unwrap();
    tracker
        .check_replica("tenant-2", "prom", "a", T0 + FAILOVER_MS, 0)
        .await
        .unwrap();
}

#[tokio::test]
async fn refresh_writes_to_the_kv_only_after_the_update_timeout() {
    let kv = InMemoryKv::new();
    let mut watch = kv.watch_prefix(PREFIX).await.unwrap();
    let tracker = tracker(&kv);
    tracker
        .check_replica("user", "prom", "a", T0, 0)
        .await
        .unwrap();
    assert_eq!(drain_writes(&mut watch), 1, "the election is written");

    for offset in [1, 5_000, UPDATE_MS - 1] {
        tracker
            .check_replica("user", "prom", "a", T0 + offset, 0)
            .await
            .unwrap();
    }
    assert_eq!(
        drain_writes(&mut watch),
        0,
        "nothing written within the update timeout"
    );
    assert_eq!(
        stored(&kv, "user", "prom").await.unwrap().received_at_ms,
        T0
    );

    tracker
        .check_replica("user", "prom", "a", T0 + UPDATE_MS, 0)
        .await
        .unwrap();
    assert_eq!(
        drain_writes(&mut watch),
        1,
        "refreshed once the update timeout passed"
    );
    let refreshed = stored(&kv, "user", "prom").await.unwrap();
    assert_eq!(refreshed.received_at_ms, T0 + UPDATE_MS);
    assert_eq!(refreshed.elected_at_ms, T0, "a refresh is not an election");
    assert_eq!(refreshed.elected_changes, 0);

    // The refresh postpones the failover.
    expect_rejected(
        tracker
            .check_replica("user", "prom", "b", T0 + UPDATE_MS + FAILOVER_MS - 1, 0)
            .await,
        "b",
        "a",
    );
}

#[tokio::test]
async fn update_timeout_jitter_stays_within_its_bounds() {
    let jitter_ms = 5_000;
    for _ in 0..20 {
        let kv = InMemoryKv::new();
        let config = HaTrackerConfig {
            enable_ha_tracker: true,
            ..HaTrackerConfig::default()
        };
        assert_eq!(
            config.ha_tracker_update_timeout_jitter_max,
            Duration::from_millis(jitter_ms as u64)
        );
        let tracker = tracker_with(config, &kv);
        tracker
            .check_replica("user", "prom", "a", T0, 0)
            .await
            .unwrap();
        let early = T0 + UPDATE_MS - jitter_ms - 1;
        tracker
            .check_replica("user", "prom", "a", early, 0)
            .await
            .unwrap();
        assert_eq!(
            stored(&kv, "user", "prom").await.unwrap().received_at_ms,
            T0
        );
        let late = T0 + UPDATE_MS + jitter_ms;
        tracker
            .check_replica("user", "prom", "a", late, 0)
            .await
            .unwrap();
        assert_eq!(
            stored(&kv, "user", "prom").await.unwrap().received_at_ms,
            late
        );
    }
}

#[tokio::test]
async fn trackers_sharing_a_kv_store_agree() {
    let kv = InMemoryKv::new();
    let stop = CancellationToken::new();
    let first = tracker(&kv);
    let second = tracker(&kv);
    first.start(stop.clone()).await.unwrap();
    second.start(stop.clone()).await.unwrap();

    first
        .check_replica("user", "prom", "a", T0, 0)
        .await
        .unwrap();
    assert!(
        eventually(|| elected_replica(&second, "user", "prom").as_deref() == Some("a")).await,
        "the second tracker sees the first one's election through the watch"
    );
    expect_rejected(
        second
            .check_replica("user", "prom", "b", T0 + 1_000, 0)
            .await,
        "b",
        "a",
    );
    second
        .check_replica("user", "prom", "a", T0 + 1_000, 0)
        .await
        .unwrap();

    // A failover decided by the second tracker reaches the first one.
    second
        .check_replica("user", "prom", "b", T0 + FAILOVER_MS, 0)
        .await
        .unwrap();
    assert!(eventually(|| elected_replica(&first, "user", "prom").as_deref() == Some("b")).await);
    expect_rejected(
        first
            .check_replica("user", "prom", "a", T0 + FAILOVER_MS + 1_000, 0)
            .await,
        "a",
        "b",
    );

    // A tracker started later loads the existing entries before `start` returns.
    let late = tracker(&kv);
    late.start(stop.clone()).await.unwrap();
    assert_eq!(elected_replica(&late, "user", "prom").as_deref(), Some("b"));
    stop.cancel();
}

#[tokio::test]
async fn max_clusters_limits_new_clusters_only() {
    let kv = InMemoryKv::new();
    let tracker = tracker(&kv);
    tracker
        .check_replica("user", "c1", "a", T0, 2)
        .await
        .unwrap();
    tracker
        .check_replica("user", "c2", "a", T0, 2)
        .await
        .unwrap();
    let error = tracker
        .check_replica("user", "c3", "a", T0, 2)
        .await
        .unwrap_err();
    assert!(
        matches!(error, HaError::TooManyClusters { limit: 2 }),
        "{error:?}"
    );
    assert!(error.is_too_many_clusters());
    assert!(!error.is_rejected_replica());
    assert_eq!(error.http_status(), 400);
    let message = error.to_string();
    assert!(message.contains("(limit: 2)"), "{message}");
    assert!(
        message.contains("err-norn-tenant-too-many-ha-clusters"),
        "{message}"
    );
    assert!(
        message.contains("-distributor.ha-tracker.max-clusters"),
        "{message}"
    );
    assert_eq!(
        stored(&kv, "user", "c3").await,
        None,
        "nothing stored for c3"
    );

    // Known clusters keep working, other tenants have their own count, 0 means no limit.
    tracker
        .check_replica("user", "c1", "a", T0 + 1, 2)
        .await
        .unwrap();
    tracker
        .check_replica("other", "c3", "a", T0, 2)
        .await
        .unwrap();
    for cluster in 0..10 {
        tracker
            .check_replica("unlimited", &format!("c{cluster}"), "a", T0, 0)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn cleanup_deletes_stale_entries() {
    let kv = InMemoryKv::new();
    let stop = CancellationToken::new();
    let watcher = tracker(&kv);
    let tracker = tracker(&kv);
    watcher.start(stop.clone()).await.unwrap();
    let minute = 60_000;
    tracker
        .check_replica("user", "old", "a", T0, 1_000)
        .await
        .unwrap();
    tracker
        .check_replica("user", "recent", "a", T0 + 20 * minute, 1_000)
        .await
        .unwrap();
    assert!(eventually(|| watcher.elected().len() == 2).await);

    let deleted = tracker
        .cleanup_stale_entries(T0 + 31 * minute)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(stored(&kv, "user", "old").await, None);
    assert!(stored(&kv, "user", "recent").await.is_some());
    assert_eq!(elected_replica(&tracker, "user", "old"), None);
    assert!(
        eventually(|| elected_replica(&watcher, "user", "old").is_none()).await,
        "the watchers drop the deleted entry too"
    );

    // The cluster starts afresh: any replica may be elected.
    tracker
        .check_replica("user", "old", "b", T0 + 31 * minute, 1_000)
        .await
        .unwrap();
    let fresh = stored(&kv, "user", "old").await.unwrap();
    assert_eq!((fresh.replica.as_str(), fresh.elected_changes), ("b", 0));
    stop.cancel();
}

#[tokio::test]
async fn cleanup_frees_room_under_the_cluster_limit() {
    let kv = InMemoryKv::new();
    let tracker = tracker(&kv);
    tracker
        .check_replica("user", "c1", "a", T0, 1)
        .await
        .unwrap();
    assert!(
        tracker
            .check_replica("user", "c2", "a", T0, 1)
            .await
            .is_err()
    );
    tracker
        .cleanup_stale_entries(T0 + 31 * 60_000)
        .await
        .unwrap();
    tracker
        .check_replica("user", "c2", "a", T0 + 31 * 60_000, 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn disabled_tracker_accepts_everything_and_writes_nothing() {
    let kv = InMemoryKv::new();
    let tracker = tracker_with(HaTrackerConfig::default(), &kv);
    assert!(!tracker.is_enabled());
    tracker.start(CancellationToken::new()).await.unwrap();
    tracker
        .check_replica("user", "prom", "a", T0, 1)
        .await
        .unwrap();
    tracker
        .check_replica("user", "prom", "b", T0, 1)
        .await
        .unwrap();
    tracker
        .check_replica("user", "other", "b", T0, 1)
        .await
        .unwrap();
    assert!(kv.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_invalid_stored_entry_is_overwritten() {
    let kv = InMemoryKv::new();
    let key = replica_key(PREFIX, "user", "prom");
    kv.cas(&key, &mut |_| Ok(Some(b"not json".to_vec())))
        .await
        .unwrap();
    let tracker = tracker(&kv);
    tracker.start(CancellationToken::new()).await.unwrap();
    assert!(
        tracker.elected().is_empty(),
        "the invalid entry is not cached"
    );
    tracker
        .check_replica("user", "prom", "a", T0, 0)
        .await
        .unwrap();
    assert_eq!(stored(&kv, "user", "prom").await.unwrap().replica, "a");
}

/// A store that is always down.
#[derive(Debug)]
struct UnavailableKv;

#[async_trait]
impl Kv for UnavailableKv {
    async fn get(&self, _key: &str) -> Result<Option<Bytes>, KvError> {
        Err(KvError::Unavailable("down".into()))
    }
    async fn cas(&self, _key: &str, _update: &mut CasUpdate<'_>) -> Result<(), KvError> {
        Err(KvError::Unavailable("down".into()))
    }
    async fn delete(&self, _key: &str) -> Result<(), KvError> {
        Err(KvError::Unavailable("down".into()))
    }
    async fn list(&self, _prefix: &str) -> Result<Vec<String>, KvError> {
        Err(KvError::Unavailable("down".into()))
    }
    async fn watch_prefix(
        &self,
        _prefix: &str,
    ) -> Result<mpsc::UnboundedReceiver<KvChange>, KvError> {
        Err(KvError::Unavailable("down".into()))
    }
}

#[tokio::test]
async fn kv_failures_are_reported() {
    let mut registry = Registry::default();
    let tracker = Arc::new(HaTracker::new(
        config(),
        Arc::new(UnavailableKv),
        &mut registry,
    ));
    let error = tracker
        .check_replica("user", "prom", "a", T0, 0)
        .await
        .unwrap_err();
    assert!(
        matches!(error, HaError::Kv(KvError::Unavailable(_))),
        "{error:?}"
    );
    assert_eq!(error.http_status(), 500);
    assert!(tracker.start(CancellationToken::new()).await.is_err());
}

#[tokio::test]
async fn metrics_follow_elections() {
    let kv = InMemoryKv::new();
    let mut registry = Registry::default();
    let tracker = HaTracker::new(config(), Arc::new(kv.clone()), &mut registry);
    tracker
        .check_replica("user", "prom", "a", T0, 0)
        .await
        .unwrap();
    let _ = tracker
        .check_replica("user", "prom", "b", T0 + 20_000, 0)
        .await;
    tracker
        .check_replica("user", "prom", "b", T0 + FAILOVER_MS, 0)
        .await
        .unwrap();
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let labels = "{user=\"user\",cluster=\"prom\"}";
    for expected in [
        format!("cortex_ha_tracker_elected_replica_changes_total{labels} 2"),
        format!("cortex_ha_tracker_kv_store_cas_total{labels} 3"),
        format!("cortex_ha_tracker_reelections_total{labels} 1"),
        format!(
            "cortex_ha_tracker_last_election_timestamp_seconds{labels} {}",
            (T0 + FAILOVER_MS) / 1000
        ),
        format!(
            "cortex_ha_tracker_elected_replica_timestamp_seconds{labels} {}",
            (T0 + FAILOVER_MS) / 1000
        ),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in\n{text}");
    }

    tracker.cleanup_stale_entries(T0 + 3_600_000).await.unwrap();
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        !text.contains("cortex_ha_tracker_elected_replica_changes_total{"),
        "a deleted cluster's series go away\n{text}"
    );
    assert!(
        text.contains("cortex_ha_tracker_replicas_cleanup_deleted_total 1"),
        "{text}"
    );
}

#[test]
fn config_defaults_are_mimirs_and_valid() {
    let config = HaTrackerConfig::default();
    assert!(!config.enable_ha_tracker);
    assert_eq!(config.ha_tracker_update_timeout, Duration::from_secs(15));
    assert_eq!(
        config.ha_tracker_update_timeout_jitter_max,
        Duration::from_secs(5)
    );
    assert_eq!(config.ha_tracker_failover_timeout, Duration::from_secs(30));
    assert_eq!(config.kvstore.store, "inmemory");
    assert_eq!(config.kvstore.prefix, PREFIX);
    config.validate().unwrap();
}

#[test]
fn config_validation_explains_what_to_fix() {
    let mut config = HaTrackerConfig::default();
    config.kvstore.store = "consul".into();
    let error = config.validate().unwrap_err();
    for part in ["consul", "inmemory", "-distributor.ha-tracker.store"] {
        assert!(error.contains(part), "{error}");
    }

    let mut config = HaTrackerConfig {
        ha_tracker_failover_timeout: Duration::from_secs(20),
        ..HaTrackerConfig::default()
    };
    let error = config.validate().unwrap_err();
    for part in ["-distributor.ha-tracker.failover-timeout", "20s", "21s"] {
        assert!(error.contains(part), "{error}");
    }
    config.ha_tracker_failover_timeout = Duration::from_secs(21);
    config.validate().unwrap();
    config.ha_tracker_update_timeout_jitter_max = Duration::default();
    config.ha_tracker_failover_timeout = Duration::from_secs(16);
    config.validate().unwrap();
}

#[test]
fn config_loads_from_yaml_and_flags() {
    let yaml =
        "enable_ha_tracker: true\nha_tracker_failover_timeout: 1m\nkvstore:\n  prefix: ha/\n";
    let config: HaTrackerConfig = load(Some(("c.yaml", yaml)), &[]).unwrap();
    assert!(config.enable_ha_tracker);
    assert_eq!(config.ha_tracker_failover_timeout, Duration::from_secs(60));
    assert_eq!(config.kvstore.prefix, "ha/");
    assert_eq!(config.kvstore.store, "inmemory");

    let line = parse_command_line(
        [
            "-distributor.ha-tracker.enable",
            "-distributor.ha-tracker.update-timeout=10s",
            "-distributor.ha-tracker.update-timeout-jitter-max=2s",
            "-distributor.ha-tracker.failover-timeout=20s",
            "-distributor.ha-tracker.store=inmemory",
            "-distributor.ha-tracker.prefix=x/",
        ],
        &HaTrackerConfig::specs(),
    )
    .unwrap();
    let config: HaTrackerConfig = load(None, &line.overrides).unwrap();
    assert!(config.enable_ha_tracker);
    assert_eq!(config.ha_tracker_update_timeout, Duration::from_secs(10));
    assert_eq!(
        config.ha_tracker_update_timeout_jitter_max,
        Duration::from_secs(2)
    );
    assert_eq!(config.ha_tracker_failover_timeout, Duration::from_secs(20));
    assert_eq!(config.kvstore.prefix, "x/");

    let error = load::<HaTrackerConfig>(Some(("c.yaml", "kvstore:\n  store: etcd\n")), &[])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("etcd") && error.contains("inmemory"),
        "{error}"
    );
    let error = load::<HaTrackerConfig>(Some(("c.yaml", "enable: true\n")), &[])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("enable"),
        "unknown keys are refused: {error}"
    );
}

#[test]
fn find_ha_labels_finds_both_labels_anywhere() {
    let labels = [
        ("__name__", "up"),
        ("__replica__", "r1"),
        ("cluster", "prom"),
        ("job", "node"),
    ];
    let pairs = || labels.iter().map(|(name, value)| (*name, *value));
    assert_eq!(
        find_ha_labels(pairs(), "cluster", "__replica__"),
        (Some("prom"), Some("r1"))
    );
    assert_eq!(
        find_ha_labels(pairs(), "job", "missing"),
        (Some("node"), None)
    );
    assert_eq!(
        find_ha_labels(pairs(), "missing", "__name__"),
        (None, Some("up"))
    );
    assert_eq!(
        find_ha_labels(std::iter::empty(), "cluster", "__replica__"),
        (None, None)
    );
}

#[test]
fn status_page_escapes_and_lists_entries() {
    let entries = vec![ElectedReplica {
        tenant: "<script>alert(1)</script>".into(),
        cluster: "a&b".into(),
        replica: "\"r'".into(),
        elected_at_ms: T0,
        received_at_ms: T0 + 500,
        update_time_ms: T0 + 500 + UPDATE_MS,
        failover_time_ms: T0 + 500 + FAILOVER_MS,
    }];
    let html = super::status::render_html(&entries, T0 + 10_500);
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("a&amp;b"), "{html}");
    assert!(html.contains("&quot;r&#39;"), "{html}");
    assert!(html.contains("2023-11-14T22:13:20Z"), "elected at: {html}");
    assert!(html.contains("(in 5s)"), "next update: {html}");
    assert!(html.contains("(in 20s)"), "failover: {html}");

    let json = super::status::render_json(&entries, T0 + 10_500);
    let entry = &json["elected"][0];
    assert_eq!(entry["userID"], "<script>alert(1)</script>");
    assert_eq!(entry["cluster"], "a&b");
    assert_eq!(entry["lastElectionTime"], "2023-11-14T22:13:20Z");
    assert_eq!(entry["electedLastSeenTime"], "2023-11-14T22:13:20.5Z");
    assert_eq!(entry["updateDuration"], 5_000_000_000_i64);
    assert_eq!(entry["failoverDuration"], 20_000_000_000_i64);
}

#[tokio::test]
async fn tracker_renders_its_entries_sorted() {
    let kv = InMemoryKv::new();
    let tracker = tracker(&kv);
    for (tenant, cluster) in [("b", "z"), ("a", "y"), ("b", "a"), ("a", "<x>")] {
        tracker
            .check_replica(tenant, cluster, "r", T0, 0)
            .await
            .unwrap();
    }
    let order: Vec<(String, String)> = tracker
        .elected()
        .into_iter()
        .map(|entry| (entry.tenant, entry.cluster))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    assert_eq!(order.len(), 4);
    let html = tracker.render_html(T0);
    assert!(
        html.contains("&lt;x&gt;") && !html.contains("<x>"),
        "{html}"
    );
    assert_eq!(
        tracker.render_json(T0)["elected"].as_array().map(Vec::len),
        Some(4)
    );
}

#[test]
fn timestamps_and_durations_read_like_gos() {
    assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_timestamp(T0), "2023-11-14T22:13:20Z");
    assert_eq!(format_timestamp(T0 + 120), "2023-11-14T22:13:20.12Z");
    assert_eq!(format_timestamp(951_782_400_000), "2000-02-29T00:00:00Z");
    assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
    assert_eq!(format_duration(0), "0s");
    assert_eq!(format_duration(12_500), "12.5s");
    assert_eq!(format_duration(-3_000), "-3s");
    assert_eq!(format_duration(90_000), "1m30s");
    assert_eq!(format_duration(3_723_001), "1h2m3.001s");
    assert_eq!(escape_html("plain"), "plain");
}

#[test]
fn later_states_supersede_earlier_ones() {
    let elected = ReplicaDesc {
        replica: "a".into(),
        received_at_ms: T0,
        elected_at_ms: T0,
        elected_changes: 0,
    };
    let refreshed = ReplicaDesc {
        received_at_ms: T0 + UPDATE_MS,
        ..elected.clone()
    };
    let failed_over = ReplicaDesc {
        replica: "b".into(),
        received_at_ms: T0 + FAILOVER_MS,
        elected_at_ms: T0 + FAILOVER_MS,
        elected_changes: 1,
    };
    assert!(refreshed.supersedes(&elected));
    assert!(!elected.supersedes(&refreshed));
    assert!(!elected.supersedes(&elected));
    assert!(failed_over.supersedes(&refreshed));
    assert!(!refreshed.supersedes(&failed_over));
}

#[test]
fn keys_outside_the_layout_are_ignored() {
    assert_eq!(
        parse_replica_key(PREFIX, "ha-tracker/t/c/d"),
        Some(("t", "c/d"))
    );
    assert_eq!(parse_replica_key(PREFIX, "ha-tracker/no-cluster"), None);
    assert_eq!(parse_replica_key(PREFIX, "ha-tracker//c"), None);
    assert_eq!(parse_replica_key(PREFIX, "ring/t/c"), None);
}

proptest! {
    #[test]
    fn replica_desc_round_trips(
        replica in ".*",
        received_at_ms in any::<i64>(),
        elected_at_ms in any::<i64>(),
        elected_changes in any::<u64>(),
    ) {
        let desc = ReplicaDesc { replica, received_at_ms, elected_at_ms, elected_changes };
        let bytes = desc.encode("k").unwrap();
        prop_assert_eq!(ReplicaDesc::decode("k", &bytes).unwrap(), desc);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = ReplicaDesc::decode("k", &bytes);
    }

    #[test]
    fn keys_round_trip(tenant in "[a-zA-Z0-9_.-]{1,20}", cluster in ".{0,20}") {
        let key = replica_key(PREFIX, &tenant, &cluster);
        prop_assert_eq!(parse_replica_key(PREFIX, &key), Some((tenant.as_str(), cluster.as_str())));
    }

    #[test]
    fn timestamps_never_panic(unix_ms in -10_000_000_000_000_i64..100_000_000_000_000) {
        let text = format_timestamp(unix_ms);
        prop_assert!(text.ends_with('Z'));
    }
}

#[test]
fn tracker_and_its_checks_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}
    let kv = InMemoryKv::new();
    let tracker = tracker(&kv);
    assert_send_sync(&tracker);
    assert_send(tracker.check_replica("user", "prom", "a", T0, 0));
    assert_send(tracker.start(CancellationToken::new()));
}
