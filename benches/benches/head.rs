//! `head/*`: appending one scrape of many series to a head that already holds them (the
//! steady state of an ingester), and selecting series with typical matchers (postings
//! intersection plus chunk collection). Series count defaults to 1M; set `NORN_BENCH_SERIES`
//! to change it.

#![allow(clippy::unwrap_used)] // Set-up failures should abort the benchmark loudly.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use norn_benches::node_exporter_labels;
use norn_model::labels::Labels;
use norn_model::matcher::{MatchType, Matcher};
use norn_tsdb::head::{Head, HeadOptions};

fn series_count() -> usize {
    std::env::var("NORN_BENCH_SERIES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000_000)
}

fn head(criterion: &mut Criterion) {
    let count = series_count();
    let labels: Vec<Labels> = (0..count)
        .map(|index| {
            let pairs = node_exporter_labels(index);
            Labels::new(pairs.iter().map(|(name, value)| (*name, value.as_str()))).unwrap()
        })
        .collect();
    let head = Head::new(HeadOptions::default());
    let mut refs = Vec::with_capacity(count);
    let mut appender = head.appender();
    for series in &labels {
        refs.push(appender.append(series, 0, 0.0).unwrap());
    }
    appender.commit().unwrap();

    let mut group = criterion.benchmark_group("head");
    group.sample_size(10);
    group.throughput(Throughput::Elements(count as u64));
    let mut t = 0i64;
    group.bench_function(format!("append_scrape/{count}_series"), |bench| {
        bench.iter(|| {
            t += 15_000;
            let mut appender = head.appender();
            for (index, series_ref) in refs.iter().enumerate() {
                let _ = appender.append_ref(*series_ref, t, (index as i64 + t) as f64);
            }
            appender.commit().unwrap().appended
        });
    });

    let selectors: [(&str, Vec<Matcher>); 3] = [
        (
            "one_host",
            vec![
                Matcher::new(MatchType::Equal, "__name__", "node_cpu_seconds_total").unwrap(),
                Matcher::new(MatchType::Equal, "instance", "host-0001:9100").unwrap(),
            ],
        ),
        (
            "mode_and_cpu_regex",
            vec![
                Matcher::new(MatchType::Equal, "mode", "idle").unwrap(),
                Matcher::new(MatchType::Regex, "cpu", "1|2|3").unwrap(),
            ],
        ),
        (
            "not_idle_one_host",
            vec![
                Matcher::new(MatchType::Equal, "instance", "host-0002:9100").unwrap(),
                Matcher::new(MatchType::NotEqual, "mode", "idle").unwrap(),
            ],
        ),
    ];
    group.throughput(Throughput::Elements(1));
    for (name, matchers) in &selectors {
        group.bench_function(format!("select/{name}"), |bench| {
            bench.iter(|| head.select(matchers, i64::MIN, i64::MAX).unwrap().len());
        });
    }
    group.finish();
}

criterion_group!(benches, head);
criterion_main!(benches);
