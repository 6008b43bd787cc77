//! `block/*`: writing a block (10k series × 4 chunks of 120 samples, chunk bytes pre-encoded so
//! only the block layer is measured: chunk files, index, meta, fsyncs) reported in series per
//! second, and resolving selectors to postings against a written block's memory-mapped index
//! (`postings_for_matchers`: postings lookups, roaring intersections and subtractions).

#![allow(clippy::unwrap_used)] // Set-up and I/O failures should abort the benchmark loudly.

use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use norn_model::labels::Labels;
use norn_model::matcher::{MatchType, Matcher};
use norn_tsdb::block::{Block, BlockWriter, CompactionMeta};
use norn_tsdb::chunkenc::{Encoding, TARGET_SAMPLES_PER_CHUNK, XorChunk};
use norn_tsdb::postings::postings_for_matchers;
use norn_tsdb::series::ChunkMeta;

const SERIES: usize = 10_000;
const CHUNKS_PER_SERIES: i64 = 4;
const START: i64 = 1_700_000_000_000;
const CHUNK_SPAN: i64 = TARGET_SAMPLES_PER_CHUNK as i64 * 15_000;

/// A scratch directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("norn-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The series' label sets, sorted as a block wants them.
fn series_labels() -> Vec<Labels> {
    let mut all: Vec<Labels> = (0..SERIES)
        .map(|i| {
            let instance = format!("host-{i:05}");
            let job = format!("job-{}", i % 20);
            let shard = (i % 7).to_string();
            Labels::new([
                ("__name__", "http_requests_total"),
                ("instance", instance.as_str()),
                ("job", job.as_str()),
                ("shard", shard.as_str()),
            ])
            .unwrap()
        })
        .collect();
    all.sort();
    all
}

/// Four consecutive chunks of a 15s counter.
fn chunks() -> Vec<ChunkMeta> {
    (0..CHUNKS_PER_SERIES)
        .map(|c| {
            let start = START + c * CHUNK_SPAN;
            let mut chunk = XorChunk::new();
            for i in 0..TARGET_SAMPLES_PER_CHUNK as i64 {
                let _ = chunk.append(start + i * 15_000, (c * 120 + i) as f64);
            }
            ChunkMeta {
                min_time: start,
                max_time: start + CHUNK_SPAN - 15_000,
                encoding: Encoding::Xor,
                data: chunk.bytes().into(),
            }
        })
        .collect()
}

fn write_block(parent: &Path, labels: &[Labels], chunks: &[ChunkMeta]) -> PathBuf {
    let mut writer = BlockWriter::new(parent).unwrap();
    for series in labels {
        writer.add_series(series, chunks).unwrap();
    }
    let meta = writer
        .finish(
            START,
            START + CHUNKS_PER_SERIES * CHUNK_SPAN,
            CompactionMeta::default(),
            None,
        )
        .unwrap();
    parent.join(meta.ulid.to_string())
}

fn write(criterion: &mut Criterion) {
    let labels = series_labels();
    let chunks = chunks();
    let scratch = Scratch::new("block-write");
    let mut group = criterion.benchmark_group("block/write");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SERIES as u64));
    group.bench_function("10k_series_x4_chunks", |bench| {
        bench.iter(|| {
            let dir = write_block(&scratch.0, &labels, &chunks);
            let _ = std::fs::remove_dir_all(dir);
        });
    });
    group.finish();
}

fn postings(criterion: &mut Criterion) {
    let scratch = Scratch::new("block-postings");
    let dir = write_block(&scratch.0, &series_labels(), &chunks());
    let block = Block::open(&dir).unwrap();
    let matcher = |kind, name: &str, value: &str| Matcher::new(kind, name, value).unwrap();
    let selectors = [
        (
            "name_and_job",
            vec![
                matcher(MatchType::Equal, "__name__", "http_requests_total"),
                matcher(MatchType::Equal, "job", "job-3"),
            ],
        ),
        (
            "job_and_shard_regex",
            vec![
                matcher(MatchType::Equal, "job", "job-3"),
                matcher(MatchType::Regex, "shard", "1|2|3"),
            ],
        ),
        (
            "name_not_equal_shard",
            vec![
                matcher(MatchType::Equal, "__name__", "http_requests_total"),
                matcher(MatchType::NotEqual, "shard", "0"),
            ],
        ),
        (
            "instance_regex",
            vec![matcher(MatchType::Regex, "instance", "host-0[0-4].*")],
        ),
    ];
    let mut group = criterion.benchmark_group("block/postings");
    for (name, matchers) in &selectors {
        group.bench_with_input(
            BenchmarkId::from_parameter(name),
            matchers,
            |bench, matchers| {
                bench.iter(|| {
                    postings_for_matchers(block.index(), matchers)
                        .map(|set| set.len())
                        .unwrap_or(0)
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, write, postings);
criterion_main!(benches);
