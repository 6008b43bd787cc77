//! Protobuf messages Norn speaks (layer 0), generated from the `.proto` files in the
//! repository's `proto/` folder by `build.rs` with protox and prost-build, so a fresh machine
//! builds them with cargo alone.
//!
//! - [`prometheus`]: remote write 1.0 (`prometheus.WriteRequest`) and the types it shares with
//!   2.0 (`Histogram`, `BucketSpan`).
//! - [`write_v2`]: remote write 2.0 (`io.prometheus.write.v2.Request`).
//!
//! Both are sent snappy-compressed in the block format; decoding is the distributor's job.

#![allow(
    missing_docs,
    unreachable_pub,
    missing_debug_implementations,
    clippy::all
)]

/// Remote write 1.0 messages (package `prometheus`).
pub mod prometheus {
    include!(concat!(env!("OUT_DIR"), "/prometheus.rs"));
}

/// The `io.*` protobuf packages, nested as prost's generated paths expect.
pub mod io {
    /// Package `io.prometheus`.
    pub mod prometheus {
        /// Package `io.prometheus.write`.
        pub mod write {
            /// Remote write 2.0 messages (package `io.prometheus.write.v2`).
            pub mod v2 {
                include!(concat!(env!("OUT_DIR"), "/io.prometheus.write.v2.rs"));
            }
        }
    }
}

/// Remote write 2.0 messages (package `io.prometheus.write.v2`), under a short name.
pub use io::prometheus::write::v2 as write_v2;

pub use prost::Message;

#[cfg(test)]
mod tests {
    use super::*;

    /// The example request of shared/formats/remote-write.md §6: `{__name__="up", job="a"}`,
    /// one sample (1.0 at t=1000ms), encoded byte for byte as Prometheus encodes it.
    #[test]
    fn encodes_remote_write_1_exactly_like_prometheus() {
        let request = prometheus::WriteRequest {
            timeseries: vec![prometheus::TimeSeries {
                labels: vec![
                    prometheus::Label {
                        name: "__name__".into(),
                        value: "up".into(),
                    },
                    prometheus::Label {
                        name: "job".into(),
                        value: "a".into(),
                    },
                ],
                samples: vec![prometheus::Sample {
                    value: 1.0,
                    timestamp: 1000,
                }],
                ..Default::default()
            }],
            metadata: vec![],
        };
        let bytes = request.encode_to_vec();
        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(
            hex,
            "0a280a0e0a085f5f6e616d655f5f120275700a080a036a6f62120161120c09000000000000f03f10e807"
        );
        let compressed = snap::raw::Encoder::new().compress_vec(&bytes).unwrap();
        let decompressed = snap::raw::Decoder::new()
            .decompress_vec(&compressed)
            .unwrap();
        let decoded = prometheus::WriteRequest::decode(decompressed.as_slice()).unwrap();
        assert_eq!(decoded, request);
    }

    #[test]
    fn a_v1_body_decodes_as_an_empty_v2_request() {
        let v1 = prometheus::WriteRequest {
            timeseries: vec![prometheus::TimeSeries::default()],
            metadata: vec![prometheus::MetricMetadata::default()],
        };
        let as_v2 = write_v2::Request::decode(v1.encode_to_vec().as_slice()).unwrap();
        assert!(as_v2.symbols.is_empty() && as_v2.timeseries.is_empty());
    }

    #[test]
    fn v2_round_trip_keeps_symbols_and_metadata() {
        let request = write_v2::Request {
            symbols: vec!["".into(), "__name__".into(), "up".into(), "help".into()],
            timeseries: vec![write_v2::TimeSeries {
                labels_refs: vec![1, 2],
                samples: vec![write_v2::Sample {
                    value: 1.0,
                    timestamp: 5,
                    start_timestamp: 1,
                }],
                metadata: Some(write_v2::Metadata {
                    r#type: write_v2::metadata::MetricType::Gauge as i32,
                    help_ref: 3,
                    unit_ref: 0,
                }),
                ..Default::default()
            }],
        };
        let decoded = write_v2::Request::decode(request.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, request);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&[0xff_u8, 0xff, 0xff][..], &[0x0a, 0x50, 0x01][..]] {
            assert!(prometheus::WriteRequest::decode(bytes).is_err());
            assert!(write_v2::Request::decode(bytes).is_err());
        }
    }
}
