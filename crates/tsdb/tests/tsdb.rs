//! Prometheus compatibility of Norn's blocks, checked with the real Prometheus tools (the
//! Debian `prometheus` package: `/usr/bin/promtool` and `/usr/bin/prometheus`):
//!
//! - `promtool`: a block written by Norn passes `promtool tsdb analyze` / `list` / `dump`
//!   with the right counts and every sample; a block `promtool tsdb create-blocks-from
//!   openmetrics` writes is read by Norn sample for sample ([`promtool`]).
//! - `prometheus`: a Prometheus server started on a directory holding a Norn block answers a
//!   range-selector query with exactly the samples Norn wrote ([`prometheus`]).
//!
//! Shared helpers (finding the binaries, building a test block) live here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use norn_model::labels::Labels;
use norn_tsdb::block::{BlockMeta, BlockWriter, CompactionMeta};
use norn_tsdb::chunkenc::{TARGET_SAMPLES_PER_CHUNK, XorChunk};
use norn_tsdb::series::ChunkMeta;

#[path = "tsdb/prometheus.rs"]
mod prometheus;
#[path = "tsdb/promtool.rs"]
mod promtool;

/// A series' samples keyed by its labels (name → value), values as raw bits so NaN payloads
/// and signed zeros compare exactly.
pub(crate) type SampleSet = BTreeMap<BTreeMap<String, String>, Vec<(i64, u64)>>;

/// Returns the path of a Prometheus binary, failing the test with install instructions when
/// it is missing.
pub(crate) fn prometheus_binary(name: &str) -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/bin")]);
    for dir in candidates {
        let path = dir.join(name);
        if path.is_file() {
            return path;
        }
    }
    panic!(
        "`{name}` not found: install the Debian `prometheus` package \
         (`apt-get install prometheus`; scripts/test.sh installs it)"
    );
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Cuts samples into XOR chunks of at most 120 samples.
pub(crate) fn chunks_of(samples: &[(i64, f64)]) -> Vec<ChunkMeta> {
    samples
        .chunks(TARGET_SAMPLES_PER_CHUNK)
        .map(|run| {
            let mut chunk = XorChunk::new();
            for &(t, v) in run {
                chunk.append(t, v).unwrap();
            }
            ChunkMeta {
                min_time: run[0].0,
                max_time: run[run.len() - 1].0,
                encoding: norn_tsdb::chunkenc::Encoding::Xor,
                data: chunk.bytes().into(),
            }
        })
        .collect()
}

/// A value for sample `i` of series `s`: a mix of fractions, integers, negative, tiny and huge
/// numbers, so the XOR encoding takes all its paths.
pub(crate) fn value(s: usize, i: usize) -> f64 {
    match (s + i) % 9 {
        0 => (i as f64) * 0.1 + s as f64 / 3.0,
        1 => -((s * 1000 + i) as f64),
        2 => 1e-300 * (i as f64 + 1.0),
        3 => 6.02214076e23 / (s as f64 + 1.0),
        4 => 0.0,
        5 => -0.5,
        6 => (i * i) as f64,
        7 => std::f64::consts::PI * s as f64,
        _ => 42.0,
    }
}

/// What [`write_test_block`] wrote.
pub(crate) struct TestBlock {
    pub(crate) meta: BlockMeta,
    pub(crate) samples: SampleSet,
    pub(crate) metric: &'static str,
}

/// Writes a block of `series` series × `per_series` samples every 15 s starting at `start`
/// (ms) into `parent`, covering the 2h range that starts at `start`.
pub(crate) fn write_test_block(
    parent: &Path,
    series: usize,
    per_series: usize,
    start: i64,
) -> TestBlock {
    let metric = "norn_compat_metric";
    let mut all: Vec<(Labels, Vec<(i64, f64)>)> = (0..series)
        .map(|s| {
            let instance = format!("host-{s:04}");
            let shard = (s % 5).to_string();
            let labels = Labels::new([
                ("__name__", metric),
                ("instance", instance.as_str()),
                ("job", "norn"),
                ("shard", shard.as_str()),
            ])
            .unwrap();
            // Jitter the scrape times a little so timestamps use several encodings.
            let samples = (0..per_series)
                .map(|i| {
                    (
                        start + i as i64 * 15_000 + ((s * 7 + i * 13) % 5) as i64,
                        value(s, i),
                    )
                })
                .collect();
            (labels, samples)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let mut writer = BlockWriter::new(parent).unwrap();
    let mut expected = SampleSet::new();
    for (labels, samples) in &all {
        writer.add_series(labels, &chunks_of(samples)).unwrap();
        expected.insert(
            labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect(),
            samples.iter().map(|(t, v)| (*t, v.to_bits())).collect(),
        );
    }
    let meta = writer
        .finish(start, start + 7_200_000, CompactionMeta::default(), None)
        .unwrap();
    TestBlock {
        meta,
        samples: expected,
        metric,
    }
}
