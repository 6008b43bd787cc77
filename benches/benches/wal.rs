//! `wal/*`: the write-ahead log's two hot paths.
//!
//! - `wal/append/*`: encoding and logging one samples record of 1000 samples (one appender
//!   commit of a 1000-series scrape), snappy on or off, without fsync and with a group-commit
//!   fsync per call. Throughput is in samples per second.
//! - `wal/replay/*`: replaying a 32 MiB WAL of such records, framing only (CRC32C, snappy) and
//!   with record decoding. Throughput is in WAL bytes per second.
//!
//! The WAL lives in a temporary directory under `std::env::temp_dir()`, so the numbers include
//! the file system there; segments are deleted as the append benchmark fills them.

#![allow(clippy::unwrap_used)] // Set-up and I/O failures should abort the benchmark loudly.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use norn_tsdb::wal::record::{RefSample, decode, encode_samples};
use norn_tsdb::wal::{Record, SyncPolicy, Wal, WalOptions, replay};

const SAMPLES_PER_RECORD: usize = 1000;
const SEGMENT_SIZE: usize = 8 * 1024 * 1024;
const REPLAY_BYTES: u64 = 32 * 1024 * 1024;

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("norn-bench-wal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The samples of scrape number `scrape` of 1000 counters, 15 s apart.
fn scrape(scrape: i64, out: &mut Vec<RefSample>) {
    out.clear();
    out.extend((0..SAMPLES_PER_RECORD as u64).map(|series| RefSample {
        series_ref: series + 1,
        t: 1_700_000_000_000 + scrape * 15_000 + (series as i64 % 7),
        v: (scrape * (series as i64 % 13 + 1)) as f64,
    }));
}

fn append(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("wal/append");
    group.throughput(Throughput::Elements(SAMPLES_PER_RECORD as u64));
    for (name, compress, sync) in [
        ("snappy", true, SyncPolicy::Never),
        ("uncompressed", false, SyncPolicy::Never),
        ("snappy_fsync", true, SyncPolicy::Always),
    ] {
        let dir = TempDir::new(name);
        let wal = Wal::open(
            dir.path(),
            WalOptions {
                segment_size: SEGMENT_SIZE,
                compress,
                sync,
            },
        )
        .unwrap();
        let mut samples = Vec::with_capacity(SAMPLES_PER_RECORD);
        let mut record = Vec::new();
        let mut number = 0i64;
        let mut segment = wal.current_segment();
        group.bench_function(name, |bench| {
            bench.iter(|| {
                number += 1;
                scrape(number, &mut samples);
                record.clear();
                encode_samples(&mut record, &samples);
                wal.log(&[&record]).unwrap();
                // Keep the disk footprint bounded: drop segments as they fill.
                let current = wal.current_segment();
                if current != segment {
                    segment = current;
                    wal.truncate(current).unwrap();
                }
            });
        });
        wal.close().unwrap();
    }
    group.finish();
}

fn replay_throughput(criterion: &mut Criterion) {
    let dir = TempDir::new("replay");
    let wal = Wal::open(
        dir.path(),
        WalOptions {
            segment_size: SEGMENT_SIZE,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let mut samples = Vec::with_capacity(SAMPLES_PER_RECORD);
    let mut record = Vec::new();
    let mut number = 0;
    while wal.stats().bytes_written < REPLAY_BYTES {
        number += 1;
        scrape(number, &mut samples);
        record.clear();
        encode_samples(&mut record, &samples);
        wal.log(&[&record]).unwrap();
    }
    wal.close().unwrap();
    let bytes = wal.stats().bytes_written;

    let mut group = criterion.benchmark_group("wal/replay");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("frames", |bench| {
        bench.iter(|| {
            let mut record_bytes = 0u64;
            let stats = replay(dir.path(), &mut |record| {
                record_bytes += black_box(record).len() as u64;
                Ok(())
            })
            .unwrap();
            stats.records + record_bytes
        });
    });
    group.bench_function("decode", |bench| {
        bench.iter(|| {
            let mut samples = 0usize;
            let stats = replay(dir.path(), &mut |record| {
                if let Record::Samples(decoded) = decode(record)? {
                    samples += decoded.len();
                }
                Ok(())
            })
            .unwrap();
            stats.records + samples as u64
        });
    });
    group.finish();
}

criterion_group!(benches, append, replay_throughput);
criterion_main!(benches);
