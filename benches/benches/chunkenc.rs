//! `chunkenc/xor/*`: encoding and decoding of Prometheus XOR chunks of 120 samples (the size
//! the head cuts at), for a regular 15s counter and for a noisy gauge. Throughput is reported
//! in samples per second; divide to get ns/sample.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use norn_tsdb::chunkenc::{TARGET_SAMPLES_PER_CHUNK, XorChunk};

fn workloads() -> Vec<(&'static str, Vec<(i64, f64)>)> {
    let counter = (0..TARGET_SAMPLES_PER_CHUNK as i64)
        .map(|i| (1_700_000_000_000 + i * 15_000, (i * 40) as f64))
        .collect();
    let gauge = (0..TARGET_SAMPLES_PER_CHUNK as i64)
        .map(|i| {
            (
                1_700_000_000_000 + i * 15_000 + (i * 7919) % 13,
                ((i * 7919) % 1009) as f64 / 3.7,
            )
        })
        .collect();
    vec![("counter", counter), ("gauge", gauge)]
}

fn xor(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("chunkenc/xor");
    group.throughput(Throughput::Elements(TARGET_SAMPLES_PER_CHUNK as u64));
    for (name, samples) in workloads() {
        group.bench_function(format!("encode/{name}"), |bench| {
            bench.iter(|| {
                let mut chunk = XorChunk::new();
                for (t, v) in &samples {
                    let _ = chunk.append(*t, *v);
                }
                chunk.bytes().len()
            });
        });
        let mut chunk = XorChunk::new();
        for (t, v) in &samples {
            let _ = chunk.append(*t, *v);
        }
        group.bench_function(format!("decode/{name}"), |bench| {
            bench.iter(|| chunk.iter().fold(0.0, |sum, (_, v)| sum + v));
        });
    }
    group.finish();
}

criterion_group!(benches, xor);
criterion_main!(benches);
