//! `remote_write/decode/*`: snappy block decompression plus protobuf decoding of a remote write
//! 1.0 request, the first thing the distributor does with every push. Throughput is reported
//! in samples per second.
//!
//! `remote_write/decode/*` decodes with prost (a `String` per label name and value);
//! `remote_write/decode_fast/*` runs the same workloads through the distributor's hand-rolled
//! decoder (`norn_distributor::decode::DecodedWrite`), reusing one decoded request and one
//! body buffer across iterations the way a push worker does, and reading every label and
//! sample back so lazy work cannot hide. The ratio of the two is what `docs/benchmarks.md`
//! quotes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use norn_benches::{encode_body, node_exporter_request};
use norn_distributor::decode::{DecodedWrite, WireVersion};
use norn_proto::Message;
use norn_proto::prometheus::WriteRequest;

/// `(series, samples per series)` of the node_exporter-like requests both groups decode.
const WORKLOADS: [(usize, usize); 2] = [(2_000, 1), (500, 4)];

fn decode(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("remote_write/decode");
    for (series, samples) in WORKLOADS {
        let body = encode_body(&node_exporter_request(series, samples));
        group.throughput(Throughput::Elements((series * samples) as u64));
        group.bench_function(format!("{series}x{samples}"), |bench| {
            let mut scratch = Vec::new();
            bench.iter(|| {
                scratch.clear();
                let length = snap::raw::decompress_len(&body).unwrap_or(0);
                scratch.resize(length, 0);
                let written = snap::raw::Decoder::new()
                    .decompress(&body, &mut scratch)
                    .unwrap_or(0);
                WriteRequest::decode(&scratch[..written]).map(|request| request.timeseries.len())
            });
        });
    }
    group.finish();
}

fn decode_fast(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("remote_write/decode_fast");
    for (series, samples) in WORKLOADS {
        let body = encode_body(&node_exporter_request(series, samples));
        group.throughput(Throughput::Elements((series * samples) as u64));
        group.bench_function(format!("{series}x{samples}"), |bench| {
            let mut decoded = DecodedWrite::new();
            let mut scratch = Vec::new();
            bench.iter(|| {
                scratch.clear();
                let length = snap::raw::decompress_len(&body).unwrap_or(0);
                scratch.resize(length, 0);
                let written = snap::raw::Decoder::new()
                    .decompress(&body, &mut scratch)
                    .unwrap_or(0);
                scratch.truncate(written);
                let outcome = decoded.decode(WireVersion::V1, std::mem::take(&mut scratch));
                scratch = decoded.take_buffer();
                outcome.map(|()| read_back(&decoded))
            });
        });
    }
    group.finish();
}

/// Touches every label and sample, as validation and sharding will.
fn read_back(decoded: &DecodedWrite) -> usize {
    decoded
        .series_iter()
        .map(|series| {
            let label_bytes: usize = series
                .labels()
                .map(|(name, value)| name.len() + value.len())
                .sum();
            label_bytes + series.samples().len()
        })
        .sum()
}

criterion_group!(benches, decode, decode_fast);
criterion_main!(benches);
