//! `head_memory`: loads `NORN_BENCH_SERIES` (default 1M) node_exporter-like series with 2h of
//! samples at a 15s interval (480 samples, four full chunks per series) into a head and prints
//! the resident bytes per active series, measured from `/proc/self/status` before and after.
//! Completed chunks go to head chunk files in a scratch directory, as in a running ingester;
//! `NORN_BENCH_IN_MEMORY=1` keeps them in memory instead, for comparison.
//! Not a criterion benchmark: it measures memory once. Run with
//! `cargo bench -p norn-benches --bench head_memory`.

#![allow(clippy::print_stdout)]

use norn_benches::{node_exporter_labels, resident_bytes};
use norn_model::labels::Labels;
use norn_tsdb::head::{Head, HeadOptions};

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let count: usize = std::env::var("NORN_BENCH_SERIES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000_000);
    let samples_per_series = 480i64;
    let in_memory = std::env::var("NORN_BENCH_IN_MEMORY").is_ok_and(|value| value == "1");
    let scratch = std::env::temp_dir().join(format!("norn-head-memory-{}", std::process::id()));
    let before = resident_bytes();
    let head = if in_memory {
        Head::new(HeadOptions::default())
    } else {
        match Head::with_chunk_dir(HeadOptions::default(), &scratch.join("chunks_head")) {
            Ok(head) => head,
            Err(error) => {
                println!("head_memory: cannot create chunk files: {error}");
                return;
            }
        }
    };
    let mut refs = Vec::with_capacity(count);
    {
        for start in (0..count).step_by(2000) {
            let mut appender = head.appender();
            for index in start..(start + 2000).min(count) {
                let pairs = node_exporter_labels(index);
                let labels = Labels::new(pairs.iter().map(|(name, value)| (*name, value.as_str())))
                    .unwrap_or_default();
                if let Ok(series_ref) = appender.append(&labels, 0, 0.0) {
                    refs.push(series_ref);
                }
            }
            let _ = appender.commit();
        }
    }
    let started = std::time::Instant::now();
    for step in 1..samples_per_series {
        let t = step * 15_000;
        // Commits of 2000 samples, the size of a typical remote-write request.
        for (batch, refs) in refs.chunks(2000).enumerate() {
            let mut appender = head.appender();
            for (offset, series_ref) in refs.iter().enumerate() {
                let index = (batch * 2000 + offset) as i64;
                // A counter that grows by a series-specific, slightly irregular amount.
                let value = (step * (index % 97 + 1) + (step * 7919 + index) % 5) as f64;
                let _ = appender.append_ref(*series_ref, t, value);
            }
            let _ = appender.commit();
        }
    }
    let elapsed = started.elapsed();
    let after = resident_bytes();
    let rss_per_series = after.saturating_sub(before) as f64 / count as f64;
    let heap_per_series = head.series_heap_bytes() as f64 / count as f64;
    let mode = if in_memory {
        "chunks in memory"
    } else {
        "completed chunks in files"
    };
    println!("head_memory: {count} series x {samples_per_series} samples (2h at 15s), {mode}");
    println!("  resident bytes per series:         {rss_per_series:.0}");
    println!("  labels+chunks heap bytes per series: {heap_per_series:.0}");
    println!("  chunks in head: {}", head.num_chunks());
    println!(
        "  append rate: {:.0} samples/s",
        (count as f64 * (samples_per_series - 1) as f64) / elapsed.as_secs_f64()
    );
    drop(head);
    let _ = std::fs::remove_dir_all(&scratch);
}
