//! `promql/*`: PromQL evaluation of representative dashboard queries over an in-memory store
//! ([`MemStorage`]) filled with node_exporter-like data, scraped every 15 s:
//!
//! - `node_cpu_seconds_total{job, instance, cpu, mode}` counters (8 modes × 4 CPUs per
//!   instance, 10 jobs), 1k and 10k series;
//! - `node_uname_info{job, instance, nodename}` (one per instance, value 1);
//! - `http_request_duration_seconds_bucket{job, instance, le}`, a classic histogram of
//!   10 buckets × 100 series.
//!
//! Queries: `sum by (job)(rate(…[5m]))` (instant, and range 1h at step 60 s),
//! `histogram_quantile(0.9, sum by (le)(rate(…_bucket[5m])))`, `topk(10, …)`, a regex
//! matcher selector and a `* on(instance) group_left(nodename)` join; range queries cover
//! the last hour of data. Each measurement includes parsing, the store's selection (a scan
//! of every series) and the evaluation, like one API request.
//!
//! `NORN_PROMQL_BENCH_LARGE=1` adds 100k-series (1h, step 15 s) and 24h (10k series, step
//! 60 s) cases, for profiling: expect several seconds per iteration and a few GiB of memory.
//!
//! Run: `cargo bench -p norn-promql --bench promql_eval` (filter with a trailing name, e.g.
//! `-- sum_rate`).

#![allow(clippy::unwrap_used)] // Set-up and query failures should abort the benchmark loudly.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use norn_model::Labels;
use norn_promql::testing::{MemStorage, block_on};
use norn_promql::{Engine, EngineOptions, FPoint, QueryOptions, QueryRange, Value};

/// Scrape interval of every series.
const SCRAPE_MS: i64 = 15_000;
/// Data spans this much more than the queried range, so `[5m]` windows are full at the start.
const HEAD_ROOM_MS: i64 = 10 * 60_000;
/// The last sample time of every series (a round hour).
const END_MS: i64 = 1_700_000_000_000 / 3_600_000 * 3_600_000;
const HOUR_MS: i64 = 3_600_000;
const CPU_MODES: [&str; 8] = [
    "idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice",
];
const CPUS_PER_INSTANCE: usize = 4;
const JOBS: usize = 10;
/// Upper bounds of the classic histogram's buckets (the last is `+Inf`).
const BUCKET_BOUNDS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];
const HISTOGRAM_SERIES: usize = 100;

/// What a benchmark asks the engine.
#[derive(Clone, Copy)]
enum Shape {
    /// An instant query at the end of the data.
    Instant,
    /// A range query over the last `range_ms` of the data.
    Range { range_ms: i64, step_ms: i64 },
}

/// Fills `storage` with `instances × 32` CPU counters and one `node_uname_info` per
/// instance, covering `span_ms` up to [`END_MS`].
fn add_node_series(storage: &mut MemStorage, instances: usize, span_ms: i64) {
    let first = END_MS - span_ms;
    for instance in 0..instances {
        let instance_name = format!("host-{instance:05}:9100");
        let job = format!("node-{}", instance % JOBS);
        // Scrapes of one instance share a phase, as with a real scraper.
        let phase = (instance as i64 * 977) % SCRAPE_MS;
        for cpu in 0..CPUS_PER_INSTANCE {
            let cpu_name = cpu.to_string();
            for (mode_index, mode) in CPU_MODES.iter().enumerate() {
                let labels = Labels::new([
                    ("__name__", "node_cpu_seconds_total"),
                    ("cpu", cpu_name.as_str()),
                    ("instance", instance_name.as_str()),
                    ("job", job.as_str()),
                    ("mode", mode),
                ])
                .unwrap();
                let slope = 0.01 + ((instance * 31 + cpu * 7 + mode_index) % 97) as f64 / 100.0;
                storage.add(labels, counter_points(first + phase, END_MS, slope));
            }
        }
        let labels = Labels::new([
            ("__name__", "node_uname_info"),
            ("instance", instance_name.as_str()),
            ("job", job.as_str()),
            ("nodename", instance_name.trim_end_matches(":9100")),
        ])
        .unwrap();
        let points = (0..)
            .map(|scrape| first + phase + scrape * SCRAPE_MS)
            .take_while(|t| *t <= END_MS)
            .map(|t| FPoint { t, f: 1.0 });
        storage.add(labels, points);
    }
}

/// Fills `storage` with [`HISTOGRAM_SERIES`] classic histograms of 10 buckets each.
fn add_histogram_series(storage: &mut MemStorage, span_ms: i64) {
    let first = END_MS - span_ms;
    for series in 0..HISTOGRAM_SERIES {
        let instance_name = format!("api-{series:03}:8080");
        let job = format!("api-{}", series % JOBS);
        let phase = (series as i64 * 613) % SCRAPE_MS;
        for (bucket, bound) in BUCKET_BOUNDS.iter().enumerate() {
            let labels = Labels::new([
                ("__name__", "http_request_duration_seconds_bucket"),
                ("instance", instance_name.as_str()),
                ("job", job.as_str()),
                ("le", bound),
            ])
            .unwrap();
            // Cumulative: each bucket counts at least as fast as the one below.
            let slope = (bucket + 1) as f64 * (1.0 + (series % 5) as f64);
            storage.add(labels, counter_points(first + phase, END_MS, slope));
        }
    }
}

/// A counter growing by about `slope` per second from `first_ms` to `end_ms`, with a reset
/// every six hours.
fn counter_points(first_ms: i64, end_ms: i64, slope: f64) -> impl Iterator<Item = FPoint> {
    let mut value = 0.0;
    (0..)
        .map(move |scrape| first_ms + scrape * SCRAPE_MS)
        .take_while(move |t| *t <= end_ms)
        .map(move |t| {
            if t % (6 * HOUR_MS) < SCRAPE_MS {
                value = 0.0;
            }
            value +=
                slope * (SCRAPE_MS / 1000) as f64 * (1.0 + ((t / SCRAPE_MS) % 3) as f64 / 10.0);
            FPoint { t, f: value }
        })
}

/// A store with `instances × 32` CPU series and the histogram, covering `range_ms` plus
/// head room.
fn dataset(instances: usize, range_ms: i64) -> MemStorage {
    let mut storage = MemStorage::new();
    add_node_series(&mut storage, instances, range_ms + HEAD_ROOM_MS);
    add_histogram_series(&mut storage, range_ms + HEAD_ROOM_MS);
    storage
}

/// Runs `query` once; panics on an error or an empty result (a broken benchmark).
fn run(engine: &Engine, storage: &MemStorage, query: &str, shape: Shape) -> usize {
    let options = QueryOptions::default();
    let result = match shape {
        Shape::Instant => block_on(engine.instant_query(storage, query, END_MS, &options)),
        Shape::Range { range_ms, step_ms } => block_on(engine.range_query(
            storage,
            query,
            QueryRange {
                start_ms: END_MS - range_ms,
                end_ms: END_MS,
                step_ms,
            },
            &options,
        )),
    }
    .unwrap();
    let size = match &result.value {
        Value::Vector(vector) => vector.len(),
        Value::Matrix(matrix) => matrix.iter().map(|series| series.floats.len()).sum(),
        Value::Scalar { .. } | Value::String { .. } => 1,
    };
    assert!(size > 0, "{query} returned nothing");
    size
}

/// The dashboard queries: a name, the query and its shape (`range` is the range query's
/// span, `step` its step).
fn queries(range_ms: i64, step_ms: i64) -> Vec<(&'static str, &'static str, Shape)> {
    let range = Shape::Range { range_ms, step_ms };
    vec![
        (
            "sum_rate/instant",
            "sum by (job) (rate(node_cpu_seconds_total[5m]))",
            Shape::Instant,
        ),
        (
            "sum_rate/range",
            "sum by (job) (rate(node_cpu_seconds_total[5m]))",
            range,
        ),
        (
            "histogram_quantile/range",
            "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
            range,
        ),
        ("topk/range", "topk(10, node_cpu_seconds_total)", range),
        (
            "regex_selector/range",
            r#"node_cpu_seconds_total{mode=~"user|system"}"#,
            range,
        ),
        (
            "group_left/range",
            "rate(node_cpu_seconds_total[5m]) * on(instance) group_left(nodename) node_uname_info",
            range,
        ),
    ]
}

fn bench_queries(
    group: &mut BenchmarkGroup<'_, WallTime>,
    label: &str,
    storage: &MemStorage,
    queries: &[(&'static str, &'static str, Shape)],
) {
    let engine = Engine::new(EngineOptions::default());
    for (name, query, shape) in queries {
        // Fail before measuring when the query is broken.
        run(&engine, storage, query, *shape);
        group.bench_function(format!("{name}/{label}"), |bench| {
            bench.iter(|| black_box(run(&engine, storage, query, *shape)));
        });
    }
}

fn promql(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("promql");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));

    // 32 series per instance: 1,024 and 10,240 CPU series.
    for (label, instances) in [("1k", 32), ("10k", 320)] {
        let storage = dataset(instances, HOUR_MS);
        bench_queries(&mut group, label, &storage, &queries(HOUR_MS, 60_000));
    }

    if std::env::var_os("NORN_PROMQL_BENCH_LARGE").is_some() {
        let storage = dataset(3_200, HOUR_MS);
        let all = queries(HOUR_MS, SCRAPE_MS);
        bench_queries(&mut group, "100k_1h_step15s", &storage, &all[1..]);
        drop(storage);
        let storage = dataset(320, 24 * HOUR_MS);
        bench_queries(
            &mut group,
            "10k_24h_step60s",
            &storage,
            &queries(24 * HOUR_MS, 60_000)[1..],
        );
    }
    group.finish();
}

criterion_group!(benches, promql);
criterion_main!(benches);
