//! Behaviour of the ingester's push and read paths on real TSDB directories.

use std::sync::Arc;

use norn_blocks::config::TsdbConfig;
use norn_common::time::now_ms;
use norn_limits::{DiscardMetrics, ErrorId, Limits, Overrides};
use norn_model::{Labels, MatchType, Matcher, TenantId};
use norn_rpc::{IngesterClient, IngesterError, MetricMetadata, PushRequest, PushSeries, Sample};

use crate::config::IngesterConfig;
use crate::ingester::Ingester;

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

fn series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> PushSeries {
    PushSeries {
        labels: Labels::new(pairs.iter().copied()).unwrap(),
        samples: samples
            .iter()
            .map(|&(timestamp_ms, value)| Sample {
                timestamp_ms,
                value,
            })
            .collect(),
    }
}

fn request(tenant_name: &str, series: Vec<PushSeries>) -> PushRequest {
    PushRequest {
        tenant: tenant(tenant_name),
        series: series.into(),
        selection: None,
        metadata: Vec::new(),
    }
}

fn ingester_with(dir: &std::path::Path, limits: Limits, config: IngesterConfig) -> Ingester {
    let tsdb = TsdbConfig {
        dir: dir.to_string_lossy().into_owned(),
        ..TsdbConfig::default()
    };
    Ingester::new(
        config,
        tsdb,
        Overrides::new(limits),
        Arc::new(|| (1, 1)),
        DiscardMetrics::default(),
    )
}

async fn ready(dir: &std::path::Path, limits: Limits) -> Ingester {
    let ingester = ingester_with(dir, limits, IngesterConfig::default());
    ingester.open_existing().await.unwrap();
    ingester
}

fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchType::Regex, "__name__", ".+").unwrap()]
}

async fn stored(ingester: &Ingester, tenant_name: &str) -> Vec<(String, Vec<(i64, f64)>)> {
    ingester
        .select(&tenant(tenant_name), &all(), i64::MIN, i64::MAX)
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .map(|series| {
            (
                series.labels.to_string(),
                series.collect_samples(i64::MIN, i64::MAX).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn push_stores_each_tenant_apart() {
    let dir = tempfile::tempdir().unwrap();
    let ingester = ready(dir.path(), Limits::default()).await;
    let now = now_ms();
    let outcome = ingester
        .push(request(
            "team-a",
            vec![
                series(
                    &[("__name__", "up"), ("job", "a")],
                    &[(now, 1.0), (now + 15_000, 1.0)],
                ),
                series(&[("__name__", "up"), ("job", "b")], &[(now, 0.0)]),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(outcome.samples_appended, 3);
    assert_eq!(outcome.first_rejection, None);
    ingester
        .push(request(
            "team-b",
            vec![series(&[("__name__", "other")], &[(now, 7.0)])],
        ))
        .await
        .unwrap();
    assert_eq!(
        stored(&ingester, "team-a").await,
        vec![
            (
                "{__name__=\"up\", job=\"a\"}".to_owned(),
                vec![(now, 1.0), (now + 15_000, 1.0)]
            ),
            ("{__name__=\"up\", job=\"b\"}".to_owned(), vec![(now, 0.0)]),
        ]
    );
    assert_eq!(
        stored(&ingester, "team-b").await,
        vec![("{__name__=\"other\"}".to_owned(), vec![(now, 7.0)])]
    );
    assert!(stored(&ingester, "nobody").await.is_empty());
    assert_eq!(ingester.series_in_memory(), 3);
    let stats = ingester.tenant_stats().await.unwrap();
    assert_eq!(
        stats
            .iter()
            .map(|s| (s.tenant.as_str(), s.series))
            .collect::<Vec<_>>(),
        [("team-a", 2), ("team-b", 1)]
    );
}

#[tokio::test]
async fn out_of_order_and_duplicates_are_refused_and_the_rest_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let ingester = ready(dir.path(), Limits::default()).await;
    let now = now_ms();
    let a = [("__name__", "a")];
    ingester
        .push(request("t", vec![series(&a, &[(now, 1.0)])]))
        .await
        .unwrap();
    let outcome = ingester
        .push(request(
            "t",
            vec![
                series(&a, &[(now - 1_000, 2.0), (now, 3.0), (now + 1_000, 4.0)]),
                series(&[("__name__", "b")], &[(now, 5.0)]),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(outcome.samples_appended, 2, "a@now+1s and b");
    assert_eq!(outcome.samples_rejected, 2);
    let rejection = outcome.first_rejection.unwrap();
    assert_eq!(rejection.id, ErrorId::SampleOutOfOrder);
    assert!(
        rejection.message.contains("err-norn-sample-out-of-order")
            && rejection.message.contains("{__name__=\"a\"}"),
        "{}",
        rejection.message
    );
    assert_eq!(
        stored(&ingester, "t").await,
        vec![
            (
                "{__name__=\"a\"}".to_owned(),
                vec![(now, 1.0), (now + 1_000, 4.0)]
            ),
            ("{__name__=\"b\"}".to_owned(), vec![(now, 5.0)]),
        ]
    );
}

#[tokio::test]
async fn series_limits_refuse_new_series_only() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_global_series_per_user: 3,
        max_global_series_per_metric: 2,
        ..Limits::default()
    };
    let ingester = ready(dir.path(), limits).await;
    let now = now_ms();
    let outcome = ingester
        .push(request(
            "t",
            vec![
                series(&[("__name__", "m"), ("i", "1")], &[(now, 1.0)]),
                series(&[("__name__", "m"), ("i", "2")], &[(now, 1.0)]),
                series(
                    &[("__name__", "m"), ("i", "3")],
                    &[(now, 1.0), (now + 1, 2.0)],
                ),
                series(&[("__name__", "n")], &[(now, 1.0)]),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(outcome.samples_appended, 3);
    assert_eq!(outcome.samples_rejected, 2, "both samples of m{{i=3}}");
    let rejection = outcome.first_rejection.unwrap();
    assert_eq!(rejection.id, ErrorId::MaxSeriesPerMetric);
    assert!(
        rejection
            .message
            .contains("-ingester.max-global-series-per-metric"),
        "{}",
        rejection.message
    );
    let outcome = ingester
        .push(request(
            "t",
            vec![
                series(&[("__name__", "o")], &[(now, 1.0)]),
                series(&[("__name__", "m"), ("i", "1")], &[(now + 1, 2.0)]),
            ],
        ))
        .await
        .unwrap();
    let rejection = outcome.first_rejection.unwrap();
    assert_eq!(rejection.id, ErrorId::MaxSeriesPerUser);
    assert!(
        rejection
            .message
            .contains("per-user series limit of 3 exceeded")
            && rejection
                .message
                .contains("-ingester.max-global-series-per-user"),
        "{}",
        rejection.message
    );
    assert_eq!(
        outcome.samples_appended, 1,
        "existing series still take samples"
    );
    assert_eq!(ingester.tenant("t").unwrap().series(), 3);
}

#[tokio::test]
async fn restart_replays_the_wal_and_counts_series_again() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    {
        let ingester = ready(dir.path(), Limits::default()).await;
        ingester
            .push(request(
                "t",
                vec![
                    series(&[("__name__", "a")], &[(now, 1.0)]),
                    series(&[("__name__", "b")], &[(now, 2.0)]),
                ],
            ))
            .await
            .unwrap();
        ingester.close_all(false).await;
    }
    let limits = Limits {
        max_global_series_per_user: 2,
        ..Limits::default()
    };
    let ingester = ingester_with(dir.path(), limits, IngesterConfig::default());
    let refused = ingester
        .push(request(
            "t",
            vec![series(&[("__name__", "a")], &[(now + 1, 1.0)])],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, IngesterError::Unavailable(_)),
        "{refused:?}"
    );
    assert_eq!(ingester.open_existing().await.unwrap(), ["t"]);
    assert_eq!(stored(&ingester, "t").await.len(), 2);
    assert_eq!(ingester.tenant("t").unwrap().series(), 2);
    // The replayed series count against the limit.
    let outcome = ingester
        .push(request(
            "t",
            vec![series(&[("__name__", "c")], &[(now + 1, 1.0)])],
        ))
        .await
        .unwrap();
    assert_eq!(
        outcome.first_rejection.map(|rejection| rejection.id),
        Some(ErrorId::MaxSeriesPerUser)
    );
}

#[tokio::test]
async fn instance_limits_refuse_whole_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = IngesterConfig::default();
    config.instance_limits.max_tenants = 1;
    config.instance_limits.max_series = 2;
    let ingester = ingester_with(dir.path(), Limits::default(), config);
    ingester.open_existing().await.unwrap();
    let now = now_ms();
    ingester
        .push(request(
            "a",
            vec![series(&[("__name__", "x")], &[(now, 1.0)])],
        ))
        .await
        .unwrap();
    let error = ingester
        .push(request(
            "b",
            vec![series(&[("__name__", "x")], &[(now, 1.0)])],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, IngesterError::InstanceLimit { id: ErrorId::IngesterMaxTenants, message } if message.contains("-ingester.instance-limits.max-tenants")),
        "{error:?}"
    );
    ingester
        .push(request(
            "a",
            vec![series(&[("__name__", "y")], &[(now, 1.0)])],
        ))
        .await
        .unwrap();
    let error = ingester
        .push(request(
            "a",
            vec![series(&[("__name__", "z")], &[(now, 1.0)])],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            IngesterError::InstanceLimit {
                id: ErrorId::IngesterMaxSeries,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(stored(&ingester, "a").await.len(), 2);
}

#[tokio::test]
async fn selection_stores_only_the_selected_series() {
    let dir = tempfile::tempdir().unwrap();
    let ingester = ready(dir.path(), Limits::default()).await;
    let now = now_ms();
    let mut push = request(
        "t",
        vec![
            series(&[("__name__", "a")], &[(now, 1.0)]),
            series(&[("__name__", "b")], &[(now, 1.0)]),
            series(&[("__name__", "c")], &[(now, 1.0)]),
        ],
    );
    push.selection = Some(vec![0, 2]);
    assert_eq!(ingester.push(push).await.unwrap().samples_appended, 2);
    let names: Vec<String> = stored(&ingester, "t")
        .await
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(names, ["{__name__=\"a\"}", "{__name__=\"c\"}"]);
}

#[tokio::test]
async fn metadata_is_kept_per_tenant_under_limits() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_global_metadata_per_metric: 1,
        ..Limits::default()
    };
    let ingester = ready(dir.path(), limits).await;
    let entry = |help: &str| MetricMetadata {
        metric_family: "http_requests_total".into(),
        metric_type: "counter".into(),
        help: help.into(),
        unit: String::new(),
    };
    let mut push = request("t", Vec::new());
    push.metadata = vec![entry("Requests."), entry("Requests, differently.")];
    let outcome = ingester.push(push).await.unwrap();
    assert_eq!(outcome.metadata_appended, 1);
    assert_eq!(
        outcome.first_rejection, None,
        "metadata is best effort: a refused entry does not fail the push"
    );
    assert_eq!(
        ingester.metadata(&tenant("t"), None).await.unwrap(),
        vec![entry("Requests.")]
    );
    assert!(
        ingester
            .metadata(&tenant("u"), None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn flush_cuts_blocks_and_keeps_data_readable() {
    let dir = tempfile::tempdir().unwrap();
    let ingester = ready(dir.path(), Limits::default()).await;
    let now = now_ms();
    ingester
        .push(request(
            "t",
            vec![series(&[("__name__", "a")], &[(now, 1.0)])],
        ))
        .await
        .unwrap();
    assert_eq!(ingester.flush(None).await.unwrap(), ["t"]);
    let tenant_db = ingester.tenant("t").unwrap();
    assert_eq!(tenant_db.db().blocks().len(), 1);
    assert_eq!(
        stored(&ingester, "t").await,
        vec![("{__name__=\"a\"}".to_owned(), vec![(now, 1.0)])]
    );
}

#[tokio::test]
async fn idle_heads_are_cut_and_idle_empty_tsdbs_closed() {
    let dir = tempfile::tempdir().unwrap();
    let ingester = ready(dir.path(), Limits::default()).await;
    let now = now_ms();
    ingester
        .push(request(
            "t",
            vec![series(&[("__name__", "a")], &[(now, 1.0)])],
        ))
        .await
        .unwrap();
    // Nothing is due yet.
    ingester.compact_heads(now).await;
    assert!(ingester.tenant("t").unwrap().db().blocks().is_empty());
    // After the idle timeout (1h) the head is cut entirely...
    ingester.compact_heads(now + 61 * 60 * 1000).await;
    let tenant_db = ingester.tenant("t").unwrap();
    assert_eq!(tenant_db.db().blocks().len(), 1);
    assert_eq!(tenant_db.db().head().num_series(), 0);
    // ... and after the close timeout (13h) the TSDB leaves memory; its data stays readable.
    ingester.compact_heads(now + 14 * 60 * 60 * 1000).await;
    assert!(ingester.tenant("t").is_none());
    assert_eq!(
        stored(&ingester, "t").await.len(),
        1,
        "reopened for the read"
    );
}

#[tokio::test]
async fn active_series_expire_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let ingester = ready(dir.path(), Limits::default()).await;
    let now = now_ms();
    ingester
        .push(request(
            "t",
            vec![
                series(&[("__name__", "a")], &[(now, 1.0)]),
                series(&[("__name__", "b")], &[(now, 1.0)]),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(ingester.tenant("t").unwrap().active_series(), 2);
    ingester.update_active_series(now + 21 * 60 * 1000);
    assert_eq!(ingester.tenant("t").unwrap().active_series(), 0);
    assert_eq!(ingester.tenant("t").unwrap().series(), 2, "still in memory");
}

#[tokio::test]
async fn selects_stream_sorted_chunk_batches_and_series_reads_skip_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let ingester = ready(dir.path(), Limits::default()).await;
    // Three samples inside one 2h block range, so the head keeps them in one chunk.
    let base = now_ms() / 7_200_000 * 7_200_000 + 1000;
    let now = base + 2000;
    let count = norn_rpc::SERIES_PER_BATCH * 2 + 10;
    // Pushed in reverse order, so sorting is the ingester's job.
    let pushed: Vec<PushSeries> = (0..count)
        .rev()
        .map(|i| {
            let name = format!("m{i:04}");
            series(
                &[("__name__", name.as_str())],
                &[(now - 2000, 1.0), (now - 1000, 2.0), (now, i as f64)],
            )
        })
        .collect();
    ingester.push(request("t", pushed)).await.unwrap();

    let mut stream = ingester
        .select(&tenant("t"), &all(), now - 1500, now)
        .await
        .unwrap();
    let mut sizes = Vec::new();
    let mut names = Vec::new();
    while let Some(batch) = stream.next_batch().await {
        let batch = batch.unwrap();
        sizes.push(batch.len());
        for one in batch {
            // Whole chunks come back; the reader trims them to the range.
            assert_eq!(one.chunks.len(), 1);
            assert_eq!(one.chunks[0].min_time, now - 2000);
            assert_eq!(one.collect_samples(now - 1500, now).unwrap().len(), 2);
            names.push(one.labels.metric_name().to_owned());
        }
    }
    assert_eq!(
        sizes,
        [norn_rpc::SERIES_PER_BATCH, norn_rpc::SERIES_PER_BATCH, 10]
    );
    assert!(names.is_sorted() && names.len() == count);

    // A reader that stops early does not block the ingester.
    let mut early = ingester
        .select(&tenant("t"), &all(), now - 1500, now)
        .await
        .unwrap();
    assert!(early.next_batch().await.unwrap().is_ok());
    drop(early);

    let labels = ingester
        .series(&tenant("t"), &all(), now - 1500, now)
        .await
        .unwrap();
    assert_eq!(labels.len(), count);
    assert!(labels.is_sorted());
    assert!(
        ingester
            .series(&tenant("t"), &all(), now + 1, now + 100)
            .await
            .unwrap()
            .is_empty(),
        "no series has samples after now"
    );
    assert!(
        ingester
            .series(&tenant("other"), &all(), 0, now)
            .await
            .unwrap()
            .is_empty()
    );
}
