//! Data generators shared by Norn's criterion benchmarks (`benches/benches/*.rs`).
//!
//! Benchmarks run with `cargo bench -p norn-benches`; CI only compiles them
//! (`cargo bench --no-run`) because timings on shared 2-core machines are noise. Numbers worth
//! quoting are ratios between runs on one machine; see `docs/benchmarks.md`.

use norn_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};

pub(crate) mod http1;
pub mod loadgen;
pub mod query;

/// Builds a node_exporter-like remote write 1.0 request: `series` series with `samples_per_series`
/// samples each, 8 labels per series, timestamps 15s apart.
pub fn node_exporter_request(series: usize, samples_per_series: usize) -> WriteRequest {
    let modes = [
        "idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice",
    ];
    let timeseries = (0..series)
        .map(|index| {
            let label = |name: &str, value: String| Label {
                name: name.to_owned(),
                value,
            };
            TimeSeries {
                labels: vec![
                    label("__name__", "node_cpu_seconds_total".into()),
                    label("cluster", "bench".into()),
                    label("cpu", (index % 64).to_string()),
                    label("env", "prod".into()),
                    label("instance", format!("host-{:04}:9100", index / 512)),
                    label("job", "node".into()),
                    label("mode", modes[(index / 64) % modes.len()].into()),
                    label("region", "eu-west".into()),
                ],
                samples: (0..samples_per_series)
                    .map(|step| Sample {
                        value: (index * 31 + step * 7) as f64 * 0.25,
                        timestamp: 1_700_000_000_000 + step as i64 * 15_000,
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .collect();
    WriteRequest {
        timeseries,
        metadata: vec![],
    }
}

/// Returns the labels of the `index`-th node_exporter-like series (8 labels, the same shape
/// [`node_exporter_request`] uses): 64 CPUs × 8 modes per host, 512 series per host.
pub fn node_exporter_labels(index: usize) -> Vec<(&'static str, String)> {
    let modes = [
        "idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice",
    ];
    vec![
        ("__name__", "node_cpu_seconds_total".into()),
        ("cluster", "bench".into()),
        ("cpu", (index % 64).to_string()),
        ("env", "prod".into()),
        ("instance", format!("host-{:04}:9100", index / 512)),
        ("job", "node".into()),
        ("mode", modes[(index / 64) % modes.len()].into()),
        ("region", "eu-west".into()),
    ]
}

/// Reads this process's resident set size in bytes from `/proc/self/status` (0 if unknown).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        })
        .map_or(0, |kib| kib * 1024)
}

/// Encodes `request` as a remote write body: protobuf, then the snappy block format.
pub fn encode_body(request: &WriteRequest) -> Vec<u8> {
    use norn_proto::Message;
    let raw = request.encode_to_vec();
    snap::raw::Encoder::new()
        .compress_vec(&raw)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use norn_proto::Message;

    use super::*;

    #[test]
    fn generated_body_round_trips() {
        let request = node_exporter_request(100, 2);
        let body = encode_body(&request);
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        assert_eq!(WriteRequest::decode(raw.as_slice()).unwrap(), request);
        assert_eq!(request.timeseries[0].labels.len(), 8);
    }
}
