//! Unit tests of the evaluator, through [`Engine`] over a small in-memory store.

use std::time::Duration;

use async_trait::async_trait;
use norn_model::{Labels, Matcher};

use crate::engine::{CancelToken, Engine, EngineOptions, QueryOptions, QueryRange, QueryResult};
use crate::error::PromqlError;
use crate::queryable::{Queryable, SelectHints, StorageError, StoredSeries};
use crate::value::{FPoint, STALE_NAN_BITS, Series, Value};

const MINUTE: i64 = 60_000;

/// Series in memory, answering selections like storage does.
#[derive(Default)]
struct Store {
    series: Vec<StoredSeries>,
    selects: std::sync::Mutex<Vec<SelectHints>>,
}

impl Store {
    /// Adds a series from `{a="b", …}`-like pairs and `(t, value)` samples.
    fn add(mut self, labels: &[(&str, &str)], samples: &[(i64, f64)]) -> Self {
        let points: Vec<FPoint> = samples.iter().map(|&(t, f)| FPoint { t, f }).collect();
        self.series.push(
            StoredSeries::from_points(Labels::new(labels.iter().copied()).unwrap(), &points)
                .unwrap(),
        );
        self.series.sort_by(|a, b| a.labels.cmp(&b.labels));
        self
    }

    /// Adds a series with one sample per `step` from 0, values `start + i * increment`.
    fn add_linear(
        self,
        labels: &[(&str, &str)],
        step: i64,
        count: i64,
        start: f64,
        increment: f64,
    ) -> Self {
        let samples: Vec<(i64, f64)> = (0..count)
            .map(|i| (i * step, start + i as f64 * increment))
            .collect();
        self.add(labels, &samples)
    }
}

#[async_trait]
impl Queryable for Store {
    async fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<StoredSeries>, StorageError> {
        self.selects.lock().unwrap().push(hints.clone());
        Ok(self
            .series
            .iter()
            .filter(|series| {
                matchers
                    .iter()
                    .all(|matcher| matcher.matches(series.labels.get(matcher.name())))
            })
            .map(|series| StoredSeries {
                mint: hints.start_ms,
                maxt: hints.end_ms,
                ..series.clone()
            })
            .filter(|series| series.samples().next().is_some())
            .collect())
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap()
}

fn engine() -> Engine {
    Engine::new(EngineOptions {
        enable_experimental_functions: true,
        ..EngineOptions::default()
    })
}

async fn instant(store: &Store, query: &str, ts: i64) -> Result<QueryResult, PromqlError> {
    engine()
        .instant_query(store, query, ts, &QueryOptions::default())
        .await
}

async fn range(
    store: &Store,
    query: &str,
    start: i64,
    end: i64,
    step: i64,
) -> Result<QueryResult, PromqlError> {
    engine()
        .range_query(
            store,
            query,
            QueryRange {
                start_ms: start,
                end_ms: end,
                step_ms: step,
            },
            &QueryOptions::default(),
        )
        .await
}

/// Returns an instant vector as `(labels, value)` pairs sorted by labels.
async fn vector(store: &Store, query: &str, ts: i64) -> Vec<(Labels, f64)> {
    match instant(store, query, ts).await {
        Ok(QueryResult {
            value: Value::Vector(vector),
            ..
        }) => {
            let mut pairs: Vec<(Labels, f64)> = vector
                .into_iter()
                .map(|sample| (sample.metric, sample.f))
                .collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs
        }
        other => panic!("{query}: expected a vector, got {other:?}"),
    }
}

async fn scalar(store: &Store, query: &str, ts: i64) -> f64 {
    match instant(store, query, ts).await {
        Ok(QueryResult {
            value: Value::Scalar { f, .. },
            ..
        }) => f,
        other => panic!("{query}: expected a scalar, got {other:?}"),
    }
}

async fn matrix(store: &Store, query: &str, start: i64, end: i64, step: i64) -> Vec<Series> {
    match range(store, query, start, end, step).await {
        Ok(QueryResult {
            value: Value::Matrix(matrix),
            ..
        }) => matrix,
        other => panic!("{query}: expected a matrix, got {other:?}"),
    }
}

async fn error(store: &Store, query: &str, ts: i64) -> PromqlError {
    match instant(store, query, ts).await {
        Err(error) => error,
        Ok(result) => panic!("{query}: expected an error, got {result:?}"),
    }
}

fn points(series: &Series) -> Vec<(i64, f64)> {
    series
        .floats
        .iter()
        .map(|point| (point.t, point.f))
        .collect()
}

fn stale() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

#[tokio::test]
async fn instant_selector_looks_back_left_open_and_keeps_the_name() {
    let store = Store::default().add(
        &[("__name__", "m"), ("job", "a")],
        &[(0, 1.0), (MINUTE, 2.0)],
    );
    let m = labels(&[("__name__", "m"), ("job", "a")]);
    assert_eq!(vector(&store, "m", 0).await, vec![(m.clone(), 1.0)]);
    assert_eq!(vector(&store, "m", 30_000).await, vec![(m.clone(), 1.0)]);
    assert_eq!(vector(&store, "m", MINUTE).await, vec![(m.clone(), 2.0)]);
    // The lookback window is (ts - 5m, ts]: a sample exactly 5m old is not seen.
    assert_eq!(
        vector(&store, "m", MINUTE + 5 * MINUTE - 1).await,
        vec![(m, 2.0)]
    );
    assert!(vector(&store, "m", MINUTE + 5 * MINUTE).await.is_empty());
    assert!(vector(&store, "m", -1).await.is_empty());
}

#[tokio::test]
async fn stale_markers_end_a_series() {
    let store = Store::default().add(
        &[("__name__", "m")],
        &[(0, 1.0), (MINUTE, stale()), (2 * MINUTE, 3.0)],
    );
    assert_eq!(vector(&store, "m", 30_000).await.len(), 1);
    assert!(vector(&store, "m", MINUTE).await.is_empty());
    assert!(vector(&store, "m", 90_000).await.is_empty());
    assert_eq!(vector(&store, "m", 2 * MINUTE).await[0].1, 3.0);
    // Range selectors drop stale markers.
    match instant(&store, "m[5m]", 2 * MINUTE).await.unwrap().value {
        Value::Matrix(matrix) => assert_eq!(points(&matrix[0]), vec![(0, 1.0), (2 * MINUTE, 3.0)]),
        other => panic!("expected a matrix, got {other:?}"),
    }
}

#[tokio::test]
async fn offset_and_at_move_the_evaluation_time() {
    let store = Store::default().add_linear(&[("__name__", "m")], MINUTE, 11, 0.0, 1.0);
    assert_eq!(vector(&store, "m offset 2m", 5 * MINUTE).await[0].1, 3.0);
    assert_eq!(vector(&store, "m offset -2m", 5 * MINUTE).await[0].1, 7.0);
    assert_eq!(vector(&store, "m @ 120", 9 * MINUTE).await[0].1, 2.0);
    assert_eq!(vector(&store, "m @ 240 offset 1m", 0).await[0].1, 3.0);
    let at_start = matrix(&store, "m @ start()", 2 * MINUTE, 4 * MINUTE, MINUTE).await;
    assert_eq!(
        points(&at_start[0]),
        vec![(2 * MINUTE, 2.0), (3 * MINUTE, 2.0), (4 * MINUTE, 2.0)]
    );
    let at_end = matrix(&store, "m @ end()", 2 * MINUTE, 4 * MINUTE, MINUTE).await;
    assert_eq!(
        points(&at_end[0]),
        vec![(2 * MINUTE, 4.0), (3 * MINUTE, 4.0), (4 * MINUTE, 4.0)]
    );
    // A step-invariant subtree combined with a varying one.
    let mixed = matrix(&store, "m - m @ 60", 2 * MINUTE, 3 * MINUTE, MINUTE).await;
    assert_eq!(
        points(&mixed[0]),
        vec![(2 * MINUTE, 1.0), (3 * MINUTE, 2.0)]
    );
}

#[tokio::test]
async fn selections_cover_offsets_ranges_and_subqueries() {
    let store = Store::default().add_linear(&[("__name__", "m")], MINUTE, 11, 0.0, 1.0);
    instant(&store, "m[2m:1m] offset 1m", 10 * MINUTE)
        .await
        .unwrap();
    let hints = store.selects.lock().unwrap().clone();
    assert_eq!(hints.len(), 1);
    // Subquery (10m - 1m - 2m, 9m], each inner step looking back 5m.
    assert_eq!(
        hints[0].start_ms,
        10 * MINUTE - MINUTE - 2 * MINUTE - 5 * MINUTE + 1
    );
    assert_eq!(hints[0].end_ms, 9 * MINUTE);
    assert_eq!(hints[0].step_ms, MINUTE);
}

#[tokio::test]
async fn range_selector_at_top_level_returns_its_window() {
    let store = Store::default().add_linear(&[("__name__", "m")], 30_000, 20, 0.0, 1.0);
    let result = instant(&store, "m[1m] offset 30s", 3 * MINUTE)
        .await
        .unwrap();
    match result.value {
        Value::Matrix(matrix) => {
            assert_eq!(matrix.len(), 1);
            assert_eq!(matrix[0].metric, labels(&[("__name__", "m")]));
            // (1m30s, 2m30s]: left-open.
            assert_eq!(points(&matrix[0]), vec![(120_000, 4.0), (150_000, 5.0)]);
        }
        other => panic!("expected a matrix, got {other:?}"),
    }
    let failure = range(&store, "m[1m]", 0, MINUTE, MINUTE).await.unwrap_err();
    assert_eq!(
        failure,
        PromqlError::BadData(
            "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".to_owned()
        )
    );
}

#[tokio::test]
async fn subqueries_align_to_absolute_multiples_of_their_step() {
    let store = Store::default().add_linear(&[("__name__", "m")], 30_000, 40, 0.0, 1.0);
    let result = instant(&store, "m[5m:1m]", 450_000).await.unwrap();
    match result.value {
        Value::Matrix(matrix) => assert_eq!(
            points(&matrix[0]),
            vec![
                (180_000, 6.0),
                (240_000, 8.0),
                (300_000, 10.0),
                (360_000, 12.0),
                (420_000, 14.0)
            ]
        ),
        other => panic!("expected a matrix, got {other:?}"),
    }
    // Nested, with an offset: inner steps every 2m, outer every 4m, all absolute.
    let nested = instant(
        &store,
        "max_over_time(m[4m:2m])[8m:4m] offset 1m",
        17 * MINUTE,
    )
    .await
    .unwrap();
    match nested.value {
        Value::Matrix(matrix) => {
            // Outer window (8m, 16m]: steps 12m and 16m.
            assert_eq!(matrix.len(), 1);
            let times: Vec<i64> = matrix[0].floats.iter().map(|point| point.t).collect();
            assert_eq!(times, vec![12 * MINUTE, 16 * MINUTE]);
        }
        other => panic!("expected a matrix, got {other:?}"),
    }
    // With `@`, the subquery ends at the pinned time whatever the step.
    let pinned = instant(&store, "m[2m:1m] @ 300", 20 * MINUTE)
        .await
        .unwrap();
    match pinned.value {
        Value::Matrix(matrix) => {
            assert_eq!(points(&matrix[0]), vec![(240_000, 8.0), (300_000, 10.0)])
        }
        other => panic!("expected a matrix, got {other:?}"),
    }
}

#[tokio::test]
async fn literals_and_scalar_arithmetic() {
    let store = Store::default();
    assert_eq!(scalar(&store, "1 + 2 * 3", 0).await, 7.0);
    assert_eq!(scalar(&store, "-(2 ^ 3)", 0).await, -8.0);
    assert_eq!(scalar(&store, "7 % 4", 0).await, 3.0);
    assert_eq!(scalar(&store, "-7 % 4", 0).await, -3.0);
    assert_eq!(scalar(&store, "2 > bool 1", 0).await, 1.0);
    assert_eq!(scalar(&store, "2 == bool 1", 0).await, 0.0);
    assert_eq!(
        scalar(&store, "1 atan2 1", 0).await,
        std::f64::consts::FRAC_PI_4
    );
    assert!(scalar(&store, "0 / 0", 0).await.is_nan());
    match instant(&store, "\"text\"", 5).await.unwrap().value {
        Value::String { t, s } => assert_eq!((t, s.as_str()), (5, "text")),
        other => panic!("expected a string, got {other:?}"),
    }
    let constant = matrix(&store, "1 + 1", 0, 2 * MINUTE, MINUTE).await;
    assert_eq!(constant.len(), 1);
    assert_eq!(constant[0].metric, Labels::default());
    assert_eq!(
        points(&constant[0]),
        vec![(0, 2.0), (MINUTE, 2.0), (2 * MINUTE, 2.0)]
    );
}

fn http_store() -> Store {
    Store::default()
        .add(
            &[("__name__", "req"), ("job", "api"), ("code", "200")],
            &[(0, 10.0)],
        )
        .add(
            &[("__name__", "req"), ("job", "api"), ("code", "500")],
            &[(0, 2.0)],
        )
        .add(
            &[("__name__", "req"), ("job", "web"), ("code", "200")],
            &[(0, 4.0)],
        )
        .add(&[("__name__", "limit"), ("job", "api")], &[(0, 100.0)])
        .add(&[("__name__", "limit"), ("job", "web")], &[(0, 50.0)])
        .add(
            &[("__name__", "other"), ("job", "api"), ("code", "200")],
            &[(0, 1.0)],
        )
}

#[tokio::test]
async fn vector_scalar_operators_filter_or_drop_the_name() {
    let store = http_store();
    let api_200 = [("job", "api"), ("code", "200")];
    assert_eq!(
        vector(&store, "req{code=\"200\", job=\"api\"} * 2", 0).await,
        vec![(labels(&api_200), 20.0)]
    );
    assert_eq!(
        vector(&store, "req > 3", 0)
            .await
            .into_iter()
            .map(|(_, f)| f)
            .collect::<Vec<_>>(),
        vec![10.0, 4.0]
    );
    // A comparison without `bool` keeps the name and the vector's value, on either side.
    assert_eq!(
        vector(&store, "5 < req", 0).await,
        vec![(
            labels(&[("__name__", "req"), ("job", "api"), ("code", "200")]),
            10.0
        )]
    );
    assert_eq!(
        vector(&store, "req{job=\"web\"} > bool 5", 0).await,
        vec![(labels(&[("job", "web"), ("code", "200")]), 0.0)]
    );
}

#[tokio::test]
async fn vector_matching_one_to_one_and_group_left() {
    let store = http_store();
    assert_eq!(
        vector(&store, "req + other", 0).await,
        vec![(labels(&[("job", "api"), ("code", "200")]), 11.0)]
    );
    assert_eq!(
        vector(&store, "req / ignoring(code) group_left limit", 0).await,
        vec![
            (labels(&[("job", "api"), ("code", "200")]), 0.1),
            (labels(&[("job", "web"), ("code", "200")]), 0.08),
            (labels(&[("job", "api"), ("code", "500")]), 0.02),
        ]
    );
    assert_eq!(
        vector(&store, "limit - on(job) group_right req{code=\"200\"}", 0).await,
        vec![
            (labels(&[("job", "api"), ("code", "200")]), 90.0),
            (labels(&[("job", "web"), ("code", "200")]), 46.0),
        ]
    );
    // group_left(labels) copies labels from the "one" side.
    let copied = vector(&store, "limit * on(job) group_left(code) other", 0).await;
    assert_eq!(
        copied,
        vec![(labels(&[("job", "api"), ("code", "200")]), 100.0)]
    );
    // A comparison between vectors filters and keeps the left side's name and value.
    assert_eq!(
        vector(&store, "limit > on(job) group_right req", 0)
            .await
            .len(),
        3
    );
    assert_eq!(
        vector(&store, "req == bool on(job, code) other", 0).await,
        vec![(labels(&[("job", "api"), ("code", "200")]), 0.0)]
    );
}

#[tokio::test]
async fn vector_matching_errors_are_prometheus_messages() {
    let store = http_store();
    let many_to_one = error(&store, "req + on(job) limit", 0).await;
    assert_eq!(
        many_to_one,
        PromqlError::Execution(
            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".to_owned()
        )
    );
    let duplicate = error(&store, "limit + on(job) req", 0).await;
    assert_eq!(
        duplicate,
        PromqlError::Execution(
            "found duplicate series for the match group {job=\"api\"} on the right hand-side of the operation: [{__name__=\"req\", code=\"200\", job=\"api\"}, {__name__=\"req\", code=\"500\", job=\"api\"}];many-to-many matching not allowed: matching labels must be unique on one side".to_owned()
        )
    );
    let grouping = error(
        &store,
        "{__name__=~\"req|other\", job=\"api\", code=\"200\"} + on(job) group_left limit",
        0,
    )
    .await;
    assert!(
        matches!(grouping, PromqlError::Execution(message) if message.contains("grouping labels must ensure unique matches"))
    );
}

#[tokio::test]
async fn set_operators() {
    let store = http_store();
    let names = |pairs: Vec<(Labels, f64)>| -> Vec<String> {
        pairs
            .into_iter()
            .map(|(labels, _)| labels.to_string())
            .collect()
    };
    assert_eq!(
        names(vector(&store, "req and other", 0).await),
        vec!["{__name__=\"req\", code=\"200\", job=\"api\"}"]
    );
    assert_eq!(vector(&store, "req unless on(job) limit", 0).await.len(), 0);
    assert_eq!(vector(&store, "req unless other", 0).await.len(), 2);
    assert_eq!(
        names(vector(&store, "limit or on(job) req", 0).await),
        vec![
            "{__name__=\"limit\", job=\"api\"}",
            "{__name__=\"limit\", job=\"web\"}"
        ]
    );
    assert_eq!(vector(&store, "req or limit", 0).await.len(), 5);
}

#[tokio::test]
async fn names_are_removed_at_the_end_and_duplicates_detected() {
    let store = Store::default()
        .add(&[("__name__", "a"), ("env", "1")], &[(0, 1.0)])
        .add(
            &[("__name__", "b"), ("env", "1")],
            &[(0, 3.0), (10 * MINUTE, 4.0)],
        );
    assert_eq!(
        vector(&store, "-a", 0).await,
        vec![(labels(&[("env", "1")]), -1.0)]
    );
    assert_eq!(
        error(&store, "-{env=\"1\"}", 0).await,
        PromqlError::Execution("vector cannot contain metrics with the same labelset".to_owned())
    );
    // Over a range, series that end up alike merge when they do not overlap.
    let merged = matrix(&store, "-a or -b", 0, 20 * MINUTE, 10 * MINUTE).await;
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].metric, labels(&[("env", "1")]));
    assert_eq!(points(&merged[0]), vec![(0, -1.0), (10 * MINUTE, -4.0)]);
    // They overlap here.
    let overlapping = range(&store, "-{env=\"1\"}", 0, MINUTE, MINUTE)
        .await
        .unwrap_err();
    assert!(
        matches!(overlapping, PromqlError::Execution(message) if message.contains("same labelset"))
    );
}

#[tokio::test]
async fn range_results_are_sorted_and_leave_out_empty_series() {
    let store = Store::default()
        .add(&[("__name__", "m"), ("i", "2")], &[(0, 2.0)])
        .add(&[("__name__", "m"), ("i", "1")], &[(10 * MINUTE, 1.0)])
        .add(&[("__name__", "m"), ("i", "3")], &[(100 * MINUTE, 1.0)]);
    let result = matrix(&store, "m", 0, 10 * MINUTE, 5 * MINUTE).await;
    let names: Vec<&str> = result.iter().map(|series| series.metric.get("i")).collect();
    assert_eq!(names, vec!["1", "2"]);
    assert_eq!(points(&result[1]), vec![(0, 2.0)]);
}

#[tokio::test]
async fn sample_limit_cancellation_and_timeout() {
    let store = Store::default().add_linear(&[("__name__", "m")], MINUTE, 100, 0.0, 1.0);
    let limited = Engine::new(EngineOptions {
        max_samples: 10,
        ..EngineOptions::default()
    });
    let query_range = QueryRange {
        start_ms: 0,
        end_ms: 50 * MINUTE,
        step_ms: MINUTE,
    };
    let too_many = limited
        .range_query(&store, "m", query_range, &QueryOptions::default())
        .await
        .unwrap_err();
    assert_eq!(too_many, PromqlError::TooManySamples { limit: 10 });
    assert!(
        limited
            .instant_query(&store, "m", 0, &QueryOptions::default())
            .await
            .is_ok()
    );

    let cancel = CancelToken::new();
    cancel.cancel();
    let canceled = engine()
        .instant_query(
            &store,
            "m",
            0,
            &QueryOptions {
                cancel,
                ..QueryOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(canceled, PromqlError::Canceled(_)));

    let timed_out = engine()
        .instant_query(
            &store,
            "m",
            0,
            &QueryOptions {
                timeout: Some(Duration::ZERO),
                ..QueryOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(timed_out, PromqlError::Timeout(_)));
}

#[tokio::test]
async fn statistics_count_series_and_samples() {
    let store = Store::default()
        .add_linear(&[("__name__", "m"), ("i", "1")], MINUTE, 10, 0.0, 1.0)
        .add_linear(&[("__name__", "m"), ("i", "2")], MINUTE, 10, 0.0, 1.0);
    let result = range(&store, "m * 2", 0, 4 * MINUTE, MINUTE).await.unwrap();
    assert_eq!(result.stats.series_fetched, 2);
    assert_eq!(result.stats.total_samples, 10);
    assert!(result.stats.peak_samples >= 10);
}

#[tokio::test]
async fn query_constant_functions() {
    let store = Store::default();
    let values = matrix(
        &store,
        "start() + end() + step() + range()",
        60_000,
        180_000,
        60_000,
    )
    .await;
    assert_eq!(points(&values[0])[0].1, 60.0 + 180.0 + 60.0 + 120.0);
    assert_eq!(scalar(&store, "step()", 5_000).await, 0.0);
}

#[tokio::test]
async fn fill_modifiers_stand_in_for_missing_partners() {
    let store = Store::default()
        .add(&[("__name__", "l"), ("k", "a")], &[(0, 10.0)])
        .add(&[("__name__", "l"), ("k", "b")], &[(0, 20.0)])
        .add(&[("__name__", "r"), ("k", "a")], &[(0, 1.0)])
        .add(&[("__name__", "r"), ("k", "c")], &[(0, 3.0)]);
    assert_eq!(
        vector(&store, "l + fill(100) r", 0).await,
        vec![
            (labels(&[("k", "a")]), 11.0),
            (labels(&[("k", "b")]), 120.0),
            (labels(&[("k", "c")]), 103.0),
        ]
    );
    assert_eq!(
        vector(&store, "l - fill_left(0) r", 0).await,
        vec![(labels(&[("k", "a")]), 9.0), (labels(&[("k", "c")]), -3.0)]
    );
    assert_eq!(
        vector(&store, "l > fill_right(15) r", 0).await,
        vec![
            (labels(&[("__name__", "l"), ("k", "a")]), 10.0),
            (labels(&[("__name__", "l"), ("k", "b")]), 20.0),
        ]
    );
}

#[tokio::test]
async fn metric_type_and_unit_go_with_the_name() {
    let store = Store::default().add(
        &[
            ("__name__", "m"),
            ("__type__", "counter"),
            ("__unit__", "bytes"),
            ("i", "1"),
        ],
        &[(0, 1.0)],
    );
    assert_eq!(
        vector(&store, "-m", 0).await,
        vec![(labels(&[("i", "1")]), -1.0)]
    );
    assert_eq!(
        vector(&store, "m + m", 0).await,
        vec![(labels(&[("i", "1")]), 2.0)]
    );
    assert_eq!(vector(&store, "m", 0).await[0].0.len(), 4);
}

#[tokio::test]
async fn functions_see_selector_samples_with_their_own_time() {
    let store = Store::default().add(&[("__name__", "m")], &[(10_000, 1.0), (70_000, 2.0)]);
    assert_eq!(vector(&store, "timestamp(m)", 100_000).await[0].1, 70.0);
    assert_eq!(vector(&store, "timestamp((m))", 100_000).await[0].1, 70.0);
    assert_eq!(vector(&store, "timestamp(-m)", 100_000).await[0].1, 100.0);
    let pinned = matrix(&store, "timestamp(m @ 50)", 60_000, 120_000, 60_000).await;
    assert_eq!(points(&pinned[0]), vec![(60_000, 10.0), (120_000, 10.0)]);
}

#[tokio::test]
async fn subqueries_default_to_a_one_minute_step() {
    let store = Store::default().add_linear(&[("__name__", "m")], 10_000, 100, 0.0, 1.0);
    match instant(&store, "m[3m:]", 200_000).await.unwrap().value {
        Value::Matrix(matrix) => {
            let times: Vec<i64> = matrix[0].floats.iter().map(|point| point.t).collect();
            assert_eq!(times, vec![60_000, 120_000, 180_000]);
        }
        other => panic!("expected a matrix, got {other:?}"),
    }
}

#[tokio::test]
async fn regex_matchers_are_anchored_and_accept_go_literal_braces() {
    let store = Store::default()
        .add(&[("__name__", "m"), ("a", "x{y")], &[(0, 1.0)])
        .add(&[("__name__", "m"), ("a", "xx")], &[(0, 2.0)])
        .add(&[("__name__", "m"), ("a", "axx")], &[(0, 3.0)]);
    assert_eq!(vector(&store, "m{a=~\"x{y\"}", 0).await.len(), 1);
    assert_eq!(vector(&store, "m{a=~\"x{2}\"}", 0).await[0].1, 2.0);
    assert_eq!(vector(&store, "m{a!~\"x.*\"}", 0).await[0].1, 3.0);
    assert_eq!(vector(&store, "{\"m\", a=\"xx\"}", 0).await[0].1, 2.0);
}

#[tokio::test]
async fn or_keeps_a_name_dropping_side_apart_from_the_named_side() {
    // `x` goes stale at 10m while its rate still has points: the rate's output (name to be
    // dropped) must stay its own series, not merge into `x`'s.
    let mut samples: Vec<(i64, f64)> = (0..=10).map(|i| (i * MINUTE, i as f64 * 60.0)).collect();
    samples.push((10 * MINUTE + 1, stale()));
    let store = Store::default().add(&[("__name__", "x_total"), ("i", "a")], &samples);
    let series = matrix(
        &store,
        "x_total or on (i) rate(x_total[5m])",
        5 * MINUTE,
        14 * MINUTE,
        MINUTE,
    )
    .await;
    let named = series
        .iter()
        .find(|s| s.metric == labels(&[("__name__", "x_total"), ("i", "a")]))
        .unwrap();
    let unnamed = series
        .iter()
        .find(|s| s.metric == labels(&[("i", "a")]))
        .unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(named.floats.last().unwrap().t, 10 * MINUTE);
    assert!(unnamed.floats.iter().all(|p| p.t > 10 * MINUTE));
    assert!(!unnamed.floats.is_empty());
}

#[tokio::test]
async fn a_chunk_that_does_not_decode_fails_the_query_as_internal() {
    let mut store = Store::default().add_linear(&[("__name__", "ok")], MINUTE, 10, 0.0, 1.0);
    let mut broken = StoredSeries::from_points(
        labels(&[("__name__", "broken")]),
        &[FPoint { t: 0, f: 1.0 }, FPoint { t: MINUTE, f: 2.0 }],
    )
    .unwrap();
    let data = &broken.chunks[0].data;
    broken.chunks[0].data = data[..data.len() - 3].into();
    store.series.push(broken);
    for query in ["broken", "rate(broken[5m])", "timestamp(broken)"] {
        let error = error(&store, query, 2 * MINUTE).await;
        assert_eq!(error.error_type(), "internal", "{query}: {error}");
        assert_eq!(error.status_code(), 500);
        assert!(
            error.to_string().contains("broken"),
            "the message names the series: {error}"
        );
    }
    assert_eq!(vector(&store, "ok", 2 * MINUTE).await.len(), 1);
}
