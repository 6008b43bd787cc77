//! `remote_write/decode/*`: snappy block decompression plus protobuf decoding of a remote write
//! 1.0 request, the first thing the distributor does with every push. Throughput is reported
//! in samples per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use norn_benches::{encode_body, node_exporter_request};
use norn_proto::Message;
use norn_proto::prometheus::WriteRequest;

fn decode(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("remote_write/decode");
    for (series, samples) in [(2_000usize, 1usize), (500, 4)] {
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

criterion_group!(benches, decode);
criterion_main!(benches);
