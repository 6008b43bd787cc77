//! Differential property tests: random requests built with the prost types, encoded by prost
//! (and by equivalent encodings prost does not produce itself: unpacked label references,
//! symbols after series), must decode to exactly what prost's own decoder sees (the reference is
//! prost's decode of the same bytes: proto3 does not encode `-0.0`, so the original request is
//! not always what the wire says). One decoder is
//! reused across two requests to check that nothing of the first survives.

use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message;

use norn_proto::prometheus::{
    BucketSpan, Exemplar, Histogram, Label, MetricMetadata, Sample, TimeSeries, WriteRequest,
    histogram,
};
use norn_proto::write_v2;

use super::{expected_v1, expected_v2, no_series_marked, observed};
use crate::decode::{DecodedWrite, WireVersion};

/// Label names and values: often `__name__`, often empty, ASCII identifiers and any printable
/// Unicode.
pub(super) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        3 => Just("__name__".to_owned()),
        3 => "[a-zA-Z_][a-zA-Z0-9_]{0,12}",
        3 => "\\PC{0,8}",
        // Longer than 127 bytes: two-byte lengths leave the fast paths.
        1 => "[a-z]{120,200}",
    ]
}

fn label() -> impl Strategy<Value = Label> {
    (text(), text()).prop_map(|(name, value)| Label { name, value })
}

fn sample() -> impl Strategy<Value = Sample> {
    (any::<f64>(), any::<i64>()).prop_map(|(value, timestamp)| Sample { value, timestamp })
}

pub(super) fn histogram() -> impl Strategy<Value = Histogram> {
    (
        any::<u64>(),
        any::<f64>(),
        -4i32..=8,
        vec(any::<i64>(), 0..5),
        vec(any::<f64>(), 0..3),
        0i32..4,
        any::<i64>(),
        any::<bool>(),
    )
        .prop_map(
            |(count, sum, schema, deltas, custom_values, reset_hint, timestamp, float)| Histogram {
                count: Some(if float {
                    histogram::Count::CountFloat(count as f64)
                } else {
                    histogram::Count::CountInt(count)
                }),
                sum,
                schema,
                zero_count: Some(histogram::ZeroCount::ZeroCountInt(count / 3)),
                positive_spans: vec![BucketSpan {
                    offset: -1,
                    length: deltas.len() as u32,
                }],
                positive_deltas: deltas,
                custom_values,
                reset_hint,
                timestamp,
                ..Default::default()
            },
        )
}

fn exemplar() -> impl Strategy<Value = Exemplar> {
    (vec(label(), 0..3), any::<f64>(), any::<i64>()).prop_map(|(labels, value, timestamp)| {
        Exemplar {
            labels,
            value,
            timestamp,
        }
    })
}

fn series_v1() -> impl Strategy<Value = TimeSeries> {
    (
        vec(label(), 0..10),
        prop_oneof![vec(sample(), 0..8), vec(sample(), 0..200)],
        vec(exemplar(), 0..3),
        vec(histogram(), 0..3),
        any::<i64>(),
    )
        .prop_map(
            |(labels, samples, exemplars, histograms, created_timestamp)| TimeSeries {
                labels,
                samples,
                exemplars,
                histograms,
                created_timestamp,
            },
        )
}

fn metadata_v1() -> impl Strategy<Value = MetricMetadata> {
    (-2i32..10, text(), text(), text()).prop_map(|(r#type, metric_family_name, help, unit)| {
        MetricMetadata {
            r#type,
            metric_family_name,
            help,
            unit,
        }
    })
}

pub(super) fn request_v1() -> impl Strategy<Value = WriteRequest> {
    (vec(series_v1(), 0..8), vec(metadata_v1(), 0..4)).prop_map(|(timeseries, metadata)| {
        WriteRequest {
            timeseries,
            metadata,
        }
    })
}

/// A 2.0 series with raw references, mapped into the symbols table by [`request_v2`].
#[derive(Clone, Debug)]
struct RawSeriesV2 {
    refs: Vec<u32>,
    samples: Vec<write_v2::Sample>,
    histograms: Vec<Histogram>,
    exemplars: Vec<(Vec<u32>, f64, i64)>,
    metadata: Option<(i32, u32, u32)>,
    created_timestamp: i64,
}

fn series_v2() -> impl Strategy<Value = RawSeriesV2> {
    let sample = (any::<f64>(), any::<i64>(), any::<i64>()).prop_map(
        |(value, timestamp, start_timestamp)| write_v2::Sample {
            value,
            timestamp,
            start_timestamp,
        },
    );
    (
        vec(any::<u32>(), 0..8).prop_map(|mut refs| {
            refs.truncate(refs.len() / 2 * 2);
            refs
        }),
        prop_oneof![vec(sample.clone(), 0..8), vec(sample, 0..200)],
        vec(histogram(), 0..3),
        vec((vec(any::<u32>(), 0..2), any::<f64>(), any::<i64>()), 0..3),
        proptest::option::of((-2i32..10, any::<u32>(), any::<u32>())),
        any::<i64>(),
    )
        .prop_map(
            |(refs, samples, histograms, exemplars, metadata, created_timestamp)| RawSeriesV2 {
                refs,
                samples,
                histograms,
                exemplars,
                metadata,
                created_timestamp,
            },
        )
}

pub(super) fn request_v2() -> impl Strategy<Value = write_v2::Request> {
    (vec(text(), 0..12), vec(series_v2(), 0..8)).prop_map(|(mut symbols, series)| {
        symbols.insert(0, String::new());
        let count = symbols.len() as u32;
        let map = |refs: Vec<u32>| {
            refs.into_iter()
                .map(|reference| reference % count)
                .collect()
        };
        let timeseries = series
            .into_iter()
            .map(|raw| write_v2::TimeSeries {
                labels_refs: map(raw.refs),
                samples: raw.samples,
                histograms: raw.histograms,
                exemplars: raw
                    .exemplars
                    .into_iter()
                    .map(|(refs, value, timestamp)| write_v2::Exemplar {
                        labels_refs: map(refs),
                        value,
                        timestamp,
                    })
                    .collect(),
                metadata: raw.metadata.map(|(r#type, help, unit)| write_v2::Metadata {
                    r#type,
                    help_ref: help % count,
                    unit_ref: unit % count,
                }),
                created_timestamp: raw.created_timestamp,
            })
            .collect();
        write_v2::Request {
            symbols,
            timeseries,
        }
    })
}

/// `io.prometheus.write.v2.TimeSeries` with `labels_refs` written unpacked (one varint field
/// per reference), which protobuf decoders must accept although senders pack.
#[derive(Clone, PartialEq, prost::Message)]
struct UnpackedSeries {
    #[prost(uint32, repeated, packed = "false", tag = "1")]
    labels_refs: Vec<u32>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<write_v2::Sample>,
    #[prost(message, repeated, tag = "3")]
    histograms: Vec<Histogram>,
    #[prost(message, repeated, tag = "4")]
    exemplars: Vec<write_v2::Exemplar>,
    #[prost(message, optional, tag = "5")]
    metadata: Option<write_v2::Metadata>,
    #[prost(int64, tag = "6")]
    created_timestamp: i64,
}

/// `io.prometheus.write.v2.Request` with unpacked series.
#[derive(Clone, PartialEq, prost::Message)]
struct UnpackedRequest {
    #[prost(string, repeated, tag = "4")]
    symbols: Vec<String>,
    #[prost(message, repeated, tag = "5")]
    timeseries: Vec<UnpackedSeries>,
}

/// How a 2.0 request is laid out on the wire.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// What prost (and Prometheus) write: symbols first, references packed.
    Packed,
    /// Label references as one varint field each.
    Unpacked,
    /// All series first, then the symbols table (protobuf allows any field order).
    SymbolsLast,
}

fn encode_v2(request: &write_v2::Request, layout: Layout) -> Vec<u8> {
    match layout {
        Layout::Packed => request.encode_to_vec(),
        Layout::Unpacked => UnpackedRequest {
            symbols: request.symbols.clone(),
            timeseries: request
                .timeseries
                .iter()
                .map(|series| UnpackedSeries {
                    labels_refs: series.labels_refs.clone(),
                    samples: series.samples.clone(),
                    histograms: series.histograms.clone(),
                    exemplars: series.exemplars.clone(),
                    metadata: series.metadata,
                    created_timestamp: series.created_timestamp,
                })
                .collect(),
        }
        .encode_to_vec(),
        Layout::SymbolsLast => {
            let mut body = write_v2::Request {
                symbols: vec![],
                timeseries: request.timeseries.clone(),
            }
            .encode_to_vec();
            body.extend(
                write_v2::Request {
                    symbols: request.symbols.clone(),
                    timeseries: vec![],
                }
                .encode_to_vec(),
            );
            body
        }
    }
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![
        Just(Layout::Packed),
        Just(Layout::Unpacked),
        Just(Layout::SymbolsLast)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn v1_decodes_like_prost_and_reuse_forgets_the_previous_request(
        first in request_v1(),
        second in request_v1(),
    ) {
        let mut decoded = DecodedWrite::new();
        let first_body = first.encode_to_vec();
        let reference = WriteRequest::decode(first_body.as_slice()).unwrap();
        decoded.decode(WireVersion::V1, first_body.clone()).unwrap();
        prop_assert_eq!(observed(&decoded), expected_v1(&reference));
        prop_assert!(no_series_marked(&decoded));
        prop_assert_eq!(decoded.version(), WireVersion::V1);
        let mut buffer = decoded.take_buffer();
        prop_assert_eq!(&buffer, &first_body);

        buffer.clear();
        second.encode(&mut buffer).unwrap();
        let reference = WriteRequest::decode(buffer.as_slice()).unwrap();
        decoded.decode(WireVersion::V1, buffer).unwrap();
        prop_assert_eq!(observed(&decoded), expected_v1(&reference));
        prop_assert!(no_series_marked(&decoded));
    }

    #[test]
    fn v2_decodes_like_prost_in_every_layout_and_reuse_forgets_the_previous_request(
        first in request_v2(),
        second in request_v2(),
        first_layout in layout(),
        second_layout in layout(),
    ) {
        let mut decoded = DecodedWrite::new();
        for (request, layout) in [(first, first_layout), (second, second_layout)] {
            let body = encode_v2(&request, layout);
            let reference = write_v2::Request::decode(body.as_slice()).unwrap();
            prop_assert_eq!(reference.timeseries.len(), request.timeseries.len());
            decoded.decode(WireVersion::V2, body).unwrap();
            prop_assert_eq!(observed(&decoded), expected_v2(&reference));
            prop_assert!(no_series_marked(&decoded));
            prop_assert_eq!(decoded.version(), WireVersion::V2);
        }
    }

    #[test]
    fn a_v1_body_decodes_as_v1_after_a_v2_one(v2 in request_v2(), v1 in request_v1()) {
        let mut decoded = DecodedWrite::new();
        decoded.decode(WireVersion::V2, v2.encode_to_vec()).unwrap();
        let body = v1.encode_to_vec();
        let reference = WriteRequest::decode(body.as_slice()).unwrap();
        decoded.decode(WireVersion::V1, body).unwrap();
        prop_assert_eq!(observed(&decoded), expected_v1(&reference));
        prop_assert!(no_series_marked(&decoded));
    }
}
