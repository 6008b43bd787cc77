//! Differential test: the same generated data written to Norn and to a real Prometheus, the same
//! queries asked of both, answers compared.
//!
//! A Debian Prometheus 2.42 (`prometheus` package; the test prints `SKIPPED` and passes when it
//! is missing) runs with `--web.enable-remote-write-receiver` and a `norn` child process with
//! its defaults (`cargo build -p norn` first), each on 127.0.0.1 in a fresh directory, each
//! killed by PID when the test ends or fails. About 150 series over two hours ([`data`]) go to
//! both by remote write 1.0 in ten-minute slices; a few hundred generated expressions
//! ([`queries`]) are asked of both as instant queries (`GET /api/v1/query`) and range queries
//! (`POST /api/v1/query_range`, Norn under `/prometheus`); [`compare`] decides whether the
//! answers agree. Norn follows Prometheus 3.x; how the test keeps 2.42-vs-3.x differences out of
//! the comparison is written down in [`data`] and [`queries`], and any difference explained by
//! them is reported as such by [`compare`].
//!
//! Environment knobs: `NORN_QUERY_DIFF_SEED` (default 42), `NORN_QUERY_DIFF_EXPRESSIONS`
//! (default 250, two queries each), `NORN_QUERY_DIFF_PROMETHEUS_ONLY=1` (ask Prometheus only:
//! checks the data and the generator without Norn), `NORN_QUERY_DIFF_SHOW` (mismatches printed
//! in full, default 25), `NORN_QUERY_DIFF_LIST=1` (print every query with the size of
//! Prometheus's answer), `NORN_QUERY_DIFF_HOLD=<seconds>` (keep both servers up that long after
//! asking, at most an hour, printing their addresses, to investigate by hand).

#![allow(
    clippy::print_stdout,
    reason = "the test prints its summary and every mismatch with both answers"
)]

mod compare;
mod data;
mod queries;
mod servers;

use std::collections::BTreeMap;

use norn_e2e::find_program;
use norn_e2e::remote::{Series, now_ms};

use compare::{Answer, Verdict, compare, shorten};
use servers::{Api, Norn, Prometheus};

/// Length of the time slices the data is written in (a remote-write client's batches).
const SLICE_MS: i64 = 10 * 60_000;
/// At least this share of the queries must have a non-empty answer from Prometheus, or the
/// data and the generator have drifted apart and the comparison proves little.
const MIN_NON_EMPTY_SHARE: f64 = 0.8;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Writes the dataset in time slices with `write`, asserting every slice is accepted.
fn write_dataset(
    name: &str,
    dataset: &data::Dataset,
    write: impl Fn(&[Series]) -> norn_e2e::Response,
    log: impl Fn() -> String,
) {
    let end = dataset.sample_time(data::SAMPLES);
    let mut from = dataset.base_ms;
    while from < end {
        let slice = dataset.slice(from..from + SLICE_MS);
        if !slice.is_empty() {
            let response = write(&slice);
            assert!(
                (200..300).contains(&response.status),
                "{name} refused a write: {} {}\n{}",
                response.status,
                response.body,
                log()
            );
        }
        from += SLICE_MS;
    }
}

/// One compared query, kept for the report.
struct Outcome {
    query: queries::Query,
    verdict: Verdict,
    expected: String,
    actual: String,
}

/// The leading function or aggregation of an expression (`rate`, `sum`, `histogram_quantile`,
/// a metric name…), to group mismatches in the summary.
fn head_of(expr: &str) -> String {
    let trimmed = expr.trim_start_matches(['-', '(', ' ']);
    let head: String = trimmed
        .chars()
        .take_while(|character| character.is_ascii_alphanumeric() || *character == '_')
        .collect();
    if head.is_empty() {
        expr.chars().take(12).collect()
    } else {
        head
    }
}

#[test]
fn query_diff_norn_answers_like_prometheus() {
    let Some(binary) = find_program("prometheus") else {
        println!("SKIPPED: `prometheus` is not installed (Debian package `prometheus`)");
        return;
    };
    let seed = env_number("NORN_QUERY_DIFF_SEED", 42);
    let expression_count = env_number("NORN_QUERY_DIFF_EXPRESSIONS", 250) as usize;
    let shown = env_number("NORN_QUERY_DIFF_SHOW", 25) as usize;
    let prometheus_only = std::env::var_os("NORN_QUERY_DIFF_PROMETHEUS_ONLY").is_some();
    let list = std::env::var_os("NORN_QUERY_DIFF_LIST").is_some();

    // The grid starts on a whole minute 121 minutes ago: the last sample is one to two minutes
    // old, inside every server's accepted window, and every evaluation time is in the past.
    let base_ms = (now_ms() / 60_000) * 60_000 - 121 * 60_000;
    let base_s = base_ms / 1000;
    let dataset = data::generate(seed, base_ms);

    let prometheus = Prometheus::start(&binary);
    write_dataset(
        "prometheus",
        &dataset,
        |slice| prometheus.write(slice),
        || prometheus.output(),
    );
    let norn = (!prometheus_only).then(Norn::start);
    if let Some(norn) = &norn {
        write_dataset(
            "norn",
            &dataset,
            |slice| norn.write(slice),
            || norn.output(),
        );
    }
    println!(
        "query_diff: seed {seed}, {} series, {} samples from {} (base {base_s}s)",
        dataset.series.len(),
        dataset.sample_count(),
        dataset.sample_time(0)
    );

    // Prometheus holds exactly what was written.
    let census = queries::Query {
        expr: "count({__name__=~\".+\"})".to_owned(),
        kind: queries::QueryKind::Instant {
            time: base_s + queries::INSTANT_TIMES[1],
        },
    };
    let (answer, body) = prometheus.api().ask(&census);
    let Answer::Vector(items) = &answer else {
        panic!("census failed: {body}\n{}", prometheus.output());
    };
    assert_eq!(
        items.first().map(|(_, point)| point.1),
        Some(dataset.series.len() as f64),
        "Prometheus does not hold every series: {body}"
    );

    let expressions = queries::expressions(seed, expression_count, base_s);
    let all = queries::queries(&expressions, seed, base_s);
    let prometheus_api = prometheus.api();
    let norn_api: Option<Api> = norn.as_ref().map(Norn::api);
    let mut outcomes = Vec::with_capacity(all.len());
    let mut non_empty = 0usize;
    let mut prometheus_errors = Vec::new();
    for query in all {
        let (expected, expected_body) = prometheus_api.ask(&query);
        if !expected.is_empty() {
            non_empty += 1;
        }
        if list {
            println!("query_diff: {} -> {}", query.describe(), expected.summary());
        }
        if let Answer::Error { message, .. } = &expected {
            prometheus_errors.push(format!("{} -> {message}", query.describe()));
        }
        let Some(norn_api) = &norn_api else {
            continue;
        };
        let (actual, actual_body) = norn_api.ask(&query);
        let verdict = compare(&query, &expected, &actual);
        outcomes.push(Outcome {
            query,
            verdict,
            expected: expected_body,
            actual: actual_body,
        });
    }

    let hold = env_number("NORN_QUERY_DIFF_HOLD", 0).min(3600);
    if hold > 0 {
        println!(
            "query_diff: holding for {hold}s: prometheus {}, norn {}",
            prometheus_api.base(),
            norn_api.as_ref().map(Api::base).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_secs(hold));
    }
    let asked = expressions.len() * 2;
    println!(
        "query_diff: Prometheus answered {non_empty} of {asked} queries with data, {} with an error",
        prometheus_errors.len()
    );
    // Some expressions are meant to fail (a range selector as a range query, many-to-many
    // matching, duplicate label sets after label_replace): both sides must refuse them alike.
    for error in prometheus_errors.iter().take(10) {
        println!("query_diff:   prometheus error: {}", shorten(error, 300));
    }
    assert!(
        non_empty as f64 >= MIN_NON_EMPTY_SHARE * asked as f64,
        "only {non_empty} of {asked} queries have data on Prometheus: the generator drifted from the data"
    );
    if norn_api.is_none() {
        println!("query_diff: NORN_QUERY_DIFF_PROMETHEUS_ONLY set; Norn not asked");
        return;
    }

    let matched = outcomes
        .iter()
        .filter(|outcome| outcome.verdict == Verdict::Match)
        .count();
    let mut explained: BTreeMap<&str, usize> = BTreeMap::new();
    let mut mismatches_by_head: BTreeMap<String, usize> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for outcome in &outcomes {
        match &outcome.verdict {
            Verdict::Match => {}
            Verdict::Explained(reason) => *explained.entry(reason).or_default() += 1,
            Verdict::Mismatch(difference) => {
                *mismatches_by_head
                    .entry(head_of(&outcome.query.expr))
                    .or_default() += 1;
                mismatches.push((outcome, difference));
            }
        }
    }
    for (index, (outcome, difference)) in mismatches.iter().enumerate() {
        println!("\nMISMATCH {}: {}", index + 1, outcome.query.describe());
        println!("  difference: {difference}");
        if index < shown {
            println!("  prometheus: {}", shorten(&outcome.expected, 1500));
            println!("  norn:       {}", shorten(&outcome.actual, 1500));
        }
    }
    println!(
        "\nquery_diff: {} queries compared, {matched} matched, {} explained, {} unexplained mismatches",
        outcomes.len(),
        explained.values().sum::<usize>(),
        mismatches.len()
    );
    for (reason, count) in &explained {
        println!("query_diff:   explained ({count}): {reason}");
    }
    if !mismatches_by_head.is_empty() {
        println!("query_diff:   mismatches by leading function: {mismatches_by_head:?}");
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} queries answered differently by Norn and Prometheus (printed above)",
        mismatches.len(),
        outcomes.len()
    );
}
