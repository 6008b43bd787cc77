//! Hand-written cases: the worked examples of `shared/formats/remote-write.md`, unknown
//! fields, truncation, UTF-8 (invalid label strings mark their series; other strings fail,
//! naming the field) and reference errors, packed vs unpacked references, wire types, the
//! `Content-Type` table and buffer reuse.

use prost::Message;

use norn_proto::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use norn_proto::write_v2;

use super::{decode, expected_v1, observed};
use crate::decode::{
    DecodeError, DecodedWrite, Location, MalformedReason, MetricType, WireVersion, wire_version,
};

// --- a tiny protobuf writer for bodies prost cannot produce ----------------------------------

fn varint(mut value: u64) -> Vec<u8> {
    let mut bytes = vec![];
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes.push(byte);
            return bytes;
        }
        bytes.push(byte | 0x80);
    }
}

fn tag(field: u32, wire_type: u8) -> Vec<u8> {
    varint(u64::from(field << 3 | u32::from(wire_type)))
}

fn varint_field(field: u32, value: u64) -> Vec<u8> {
    [tag(field, 0), varint(value)].concat()
}

fn bytes_field(field: u32, content: &[u8]) -> Vec<u8> {
    [
        tag(field, 2),
        varint(content.len() as u64),
        content.to_vec(),
    ]
    .concat()
}

fn double_field(field: u32, value: f64) -> Vec<u8> {
    [tag(field, 1), value.to_le_bytes().to_vec()].concat()
}

fn fixed32_field(field: u32, value: u32) -> Vec<u8> {
    [tag(field, 5), value.to_le_bytes().to_vec()].concat()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
        .collect()
}

/// The 1.0 example of the formats note: `{__name__="up", job="a"}`, 1.0 at t=1000ms.
const EXAMPLE_V1: &str =
    "0a280a0e0a085f5f6e616d655f5f120275700a080a036a6f62120161120c09000000000000f03f10e807";

/// The 2.0 example of the formats note: same series, metadata GAUGE.
fn example_v2() -> Vec<u8> {
    let mut body = vec![];
    for symbol in ["", "__name__", "up", "job", "a"] {
        body.extend(bytes_field(4, symbol.as_bytes()));
    }
    let series = [
        bytes_field(1, &[1, 2, 3, 4]),
        bytes_field(2, &[double_field(1, 1.0), varint_field(2, 1000)].concat()),
        bytes_field(5, &varint_field(1, 2)),
    ]
    .concat();
    body.extend(bytes_field(5, &series));
    body
}

fn malformed(error: DecodeError) -> (Location, usize, MalformedReason) {
    match error {
        DecodeError::Malformed {
            location,
            offset,
            reason,
        } => (location, offset, reason),
        other => panic!("expected a malformed-body error, got {other}"),
    }
}

fn labels(decoded: &DecodedWrite, series: usize) -> Vec<(&str, &str)> {
    decoded.series(series).labels().collect()
}

// --- worked examples ----------------------------------------------------------------------------

#[test]
fn both_worked_examples_decode_to_the_same_series() {
    let v1 = decode(WireVersion::V1, &hex(EXAMPLE_V1)).unwrap();
    let v2 = decode(WireVersion::V2, &example_v2()).unwrap();
    assert_eq!(example_v2().len(), 50);
    for decoded in [&v1, &v2] {
        assert_eq!(decoded.series_count(), 1);
        let series = decoded.series(0);
        assert_eq!(labels(decoded, 0), [("__name__", "up"), ("job", "a")]);
        assert_eq!(series.metric_name(), Some("up"));
        assert_eq!(
            series.samples(),
            [crate::decode::Sample {
                timestamp_ms: 1000,
                value: 1.0
            }]
        );
        assert_eq!(decoded.sample_count(), 1);
    }
    assert_eq!(v1.metadata().count(), 0);
    let metadata: Vec<_> = v2.metadata().collect();
    assert_eq!(metadata.len(), 1);
    assert_eq!(metadata[0].metric_family, "up");
    assert_eq!(metadata[0].metric_type, MetricType::Gauge);
    assert_eq!(v2.series(0).metadata(), Some(metadata[0]));
}

#[test]
fn a_body_of_the_other_version_decodes_as_an_empty_request() {
    let v1_as_v2 = decode(WireVersion::V2, &hex(EXAMPLE_V1)).unwrap();
    assert_eq!(v1_as_v2.series_count(), 0);
    let v2_as_v1 = decode(WireVersion::V1, &example_v2()).unwrap();
    assert_eq!(v2_as_v1.series_count(), 0);
    assert_eq!(v2_as_v1.metadata().count(), 0);
}

// --- unknown fields -----------------------------------------------------------------------------

#[test]
fn unknown_fields_of_every_wire_type_are_skipped_at_every_level() {
    let unknown = |field| {
        [
            varint_field(field, u64::MAX),
            double_field(field + 1, 2.5),
            fixed32_field(field + 2, 7),
            bytes_field(field + 3, b"\x0a\x03ignored"),
        ]
        .concat()
    };
    let label = |name: &str, value: &str| {
        [
            unknown(3),
            bytes_field(1, name.as_bytes()),
            bytes_field(2, value.as_bytes()),
        ]
        .concat()
    };
    let sample = [
        unknown(3),
        double_field(1, 4.0),
        varint_field(2, 5),
        unknown(20),
    ]
    .concat();
    let series = [
        unknown(7),
        bytes_field(1, &label("__name__", "up")),
        bytes_field(2, &sample),
        unknown(100),
    ]
    .concat();
    let metadata = [
        unknown(6),
        varint_field(1, 1),
        bytes_field(2, b"up"),
        bytes_field(3, b"field 3 is unused"),
        bytes_field(4, b"help"),
    ]
    .concat();
    // Mimir's Source (2) and skip_label_validation (1000), RW2 fields 4/5 in a 1.0 body.
    let body = [
        varint_field(2, 1),
        varint_field(1000, 1),
        bytes_field(4, b"symbol"),
        bytes_field(1, &series),
        unknown(10),
        bytes_field(3, &metadata),
    ]
    .concat();
    let decoded = decode(WireVersion::V1, &body).unwrap();
    assert_eq!(labels(&decoded, 0), [("__name__", "up")]);
    assert_eq!(decoded.series(0).samples()[0].value, 4.0);
    assert_eq!(decoded.series(0).samples()[0].timestamp_ms, 5);
    let metadata: Vec<_> = decoded.metadata().collect();
    assert_eq!(metadata.len(), 1);
    assert_eq!(
        (
            metadata[0].metric_family,
            metadata[0].metric_type,
            metadata[0].help,
            metadata[0].unit
        ),
        ("up", MetricType::Counter, "help", "")
    );

    let v2_series = [
        unknown(7),
        bytes_field(1, &[1, 2]),
        bytes_field(2, &[unknown(4), double_field(1, 1.5)].concat()),
        bytes_field(
            5,
            &[unknown(5), varint_field(1, 1), varint_field(2, 9)].concat(),
        ),
    ]
    .concat();
    let v2 = [
        varint_field(1, 3),
        bytes_field(2, b"reserved"),
        bytes_field(4, b""),
        bytes_field(4, b"__name__"),
        bytes_field(4, b"up"),
        bytes_field(5, &v2_series),
        unknown(9),
    ]
    .concat();
    let decoded = decode(WireVersion::V2, &v2).unwrap();
    assert_eq!(labels(&decoded, 0), [("__name__", "up")]);
    assert_eq!(decoded.series(0).samples()[0].value, 1.5);
    assert_eq!(
        decoded
            .series(0)
            .metadata()
            .map(|metadata| metadata.metric_type),
        Some(MetricType::Counter)
    );
}

// --- truncation and wire-level errors -------------------------------------------------------

#[test]
fn every_truncation_of_a_request_is_an_error() {
    let body = hex(EXAMPLE_V1);
    for length in 1..body.len() {
        let error = decode(WireVersion::V1, &body[..length]).unwrap_err();
        assert!(matches!(error, DecodeError::Malformed { .. }), "{error}");
    }
    let body = example_v2();
    let last_series = body.len() - 26;
    for length in last_series + 1..body.len() {
        assert!(decode(WireVersion::V2, &body[..length]).is_err());
    }
}

#[test]
fn a_length_past_the_end_names_the_field_and_offset() {
    let body = hex(EXAMPLE_V1);
    let error = decode(WireVersion::V1, &body[..10]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "remote write request is malformed: field 1 (timeseries) at byte 0: \
         length 40 exceeds the remaining 8 bytes"
    );
    // The sample's double cut short, inside the series.
    let error = decode(WireVersion::V1, &[0x0a, 0x05, 0x12, 0x03, 0x09, 0x00, 0x00]).unwrap_err();
    let (location, offset, reason) = malformed(error);
    assert_eq!(
        location,
        Location::Field {
            number: 1,
            path: "timeseries.samples.value"
        }
    );
    assert_eq!(offset, 4);
    assert_eq!(
        reason,
        MalformedReason::TruncatedFixed {
            width: 8,
            remaining: 2
        }
    );
}

#[test]
fn wire_level_errors_are_reported() {
    let cases: [(Vec<u8>, MalformedReason); 7] = [
        (vec![0x10, 0x80], MalformedReason::TruncatedVarint),
        (vec![0x80], MalformedReason::TruncatedVarint),
        (
            [vec![0x10], vec![0xff; 9], vec![0x02]].concat(),
            MalformedReason::VarintOverflow,
        ),
        (vec![0x00], MalformedReason::FieldNumberZero),
        (
            varint(u64::from(u32::MAX) + 1),
            MalformedReason::TagOverflow {
                tag: u64::from(u32::MAX) + 1,
            },
        ),
        (
            vec![0x0b],
            MalformedReason::UnsupportedWireType {
                field: 1,
                wire_type: 3,
            },
        ),
        (
            varint_field(1, 5),
            MalformedReason::WrongWireType {
                found: 0,
                expected: "length-delimited (2)",
            },
        ),
    ];
    for (body, expected) in cases {
        let (_, _, reason) = malformed(decode(WireVersion::V1, &body).unwrap_err());
        assert_eq!(reason, expected, "body {body:02x?}");
    }
    for wire_type in [3u8, 4, 6, 7] {
        for version in [WireVersion::V1, WireVersion::V2] {
            let (location, _, reason) = malformed(decode(version, &tag(9, wire_type)).unwrap_err());
            assert_eq!(location, Location::Tag { message: "request" });
            assert_eq!(
                reason,
                MalformedReason::UnsupportedWireType {
                    field: 9,
                    wire_type
                }
            );
        }
    }
    // A ten-byte varint whose last byte is 1 is the largest valid value.
    let body = [vec![0x10], vec![0xff; 9], vec![0x01]].concat();
    let sample = bytes_field(2, &body);
    let decoded = decode(WireVersion::V1, &bytes_field(1, &sample)).unwrap();
    assert_eq!(decoded.series(0).samples()[0].timestamp_ms, -1);
}

// --- UTF-8 ----------------------------------------------------------------------------------

/// A v1 series with the given raw labels and one sample.
pub(super) fn raw_series_v1(labels: &[(&[u8], &[u8])], value: f64) -> Vec<u8> {
    let mut series = vec![];
    for (name, value) in labels {
        let label = [bytes_field(1, name), bytes_field(2, value)].concat();
        series.extend(bytes_field(1, &label));
    }
    let sample = [double_field(1, value), varint_field(2, 1000)].concat();
    series.extend(bytes_field(2, &sample));
    bytes_field(1, &series)
}

/// A v2 series referencing `refs` with one sample and optional metadata content.
fn raw_series_v2(refs: &[u64], value: f64, metadata: Option<Vec<u8>>) -> Vec<u8> {
    let packed: Vec<u8> = refs
        .iter()
        .flat_map(|&reference| varint(reference))
        .collect();
    let sample = [double_field(1, value), varint_field(2, 1000)].concat();
    let mut series = [bytes_field(1, &packed), bytes_field(2, &sample)].concat();
    if let Some(metadata) = metadata {
        series.extend(bytes_field(5, &metadata));
    }
    bytes_field(5, &series)
}

/// What a series reports as its invalid label: lossy name, lossy value, whether the value.
type Mark<'a> = (&'a str, &'a str, bool);
/// Raw `(name, value)` label bytes.
type RawLabels<'a> = &'a [(&'a [u8], &'a [u8])];
/// One case: the middle series' input, its mark and its labels as read back.
type Case<'a, Input> = (Input, Mark<'a>, Vec<(&'a str, &'a str)>);

fn invalid_label(decoded: &DecodedWrite, series: usize) -> Option<(String, String, bool)> {
    decoded.series(series).invalid_utf8_label().map(|label| {
        (
            label.name.to_owned(),
            label.value.to_owned(),
            label.is_value,
        )
    })
}

/// Checks a three-series decode whose middle series has the invalid label `expected`.
fn assert_only_the_middle_series_is_marked(
    decoded: &DecodedWrite,
    expected: Mark<'_>,
    middle_labels: &[(&str, &str)],
) {
    assert_eq!(decoded.series_count(), 3);
    assert_eq!(decoded.sample_count(), 3);
    assert_eq!(invalid_label(decoded, 0), None);
    assert_eq!(invalid_label(decoded, 2), None);
    let (name, value, is_value) = expected;
    assert_eq!(
        invalid_label(decoded, 1),
        Some((name.to_owned(), value.to_owned(), is_value))
    );
    assert_eq!(labels(decoded, 0), [("__name__", "a"), ("job", "x")]);
    assert_eq!(labels(decoded, 1), middle_labels);
    assert_eq!(labels(decoded, 2), [("__name__", "c"), ("job", "z")]);
    for (index, value) in [1.0, 2.0, 3.0].into_iter().enumerate() {
        assert_eq!(decoded.series(index).samples()[0].value, value);
    }
}

#[test]
fn an_invalid_v1_label_string_marks_only_its_series() {
    let good_a = raw_series_v1(&[(b"__name__", b"a"), (b"job", b"x")], 1.0);
    let good_c = raw_series_v1(&[(b"__name__", b"c"), (b"job", b"z")], 3.0);
    let cases: [Case<'_, RawLabels<'_>>; 5] = [
        // Invalid value (after two valid bytes).
        (
            &[(b"__name__", b"b"), (b"job", b"ok\xff")],
            ("job", "ok\u{fffd}", true),
            vec![("__name__", "b"), ("job", "ok\u{fffd}")],
        ),
        // Invalid name.
        (
            &[(b"__name__", b"b"), (b"j\xc3", b"y")],
            ("j\u{fffd}", "y", false),
            vec![("__name__", "b"), ("j\u{fffd}", "y")],
        ),
        // Name and value invalid: the name is reported.
        (
            &[(b"\xff", b"\xfe")],
            ("\u{fffd}", "\u{fffd}", false),
            vec![("\u{fffd}", "\u{fffd}")],
        ),
        // A value starting with a continuation byte, right after a name ending in a lead
        // byte: together they would pass a bulk check ("\xc3\xa9" is "é").
        (
            &[(b"__name__", b"b"), (b"j\xc3", b"\xa9")],
            ("j\u{fffd}", "\u{fffd}", false),
            vec![("__name__", "b"), ("j\u{fffd}", "\u{fffd}")],
        ),
        // Only a continuation byte, on an otherwise valid label: the first invalid label wins.
        (
            &[(b"__name__", b"b"), (b"job", b"\x80"), (b"k", b"\xff")],
            ("job", "\u{fffd}", true),
            vec![("__name__", "b"), ("job", "\u{fffd}"), ("k", "\u{fffd}")],
        ),
    ];
    for (middle, expected, middle_labels) in cases {
        let body = [good_a.clone(), raw_series_v1(middle, 2.0), good_c.clone()].concat();
        let decoded = decode(WireVersion::V1, &body).unwrap();
        assert_only_the_middle_series_is_marked(&decoded, expected, &middle_labels);
    }
}

#[test]
fn a_continuation_byte_first_label_string_alone_still_marks_its_series() {
    // "a\xc3" then "\xa9" in separate series: the arena would read "aé", valid in bulk.
    let body = [
        raw_series_v1(&[(b"__name__", b"a\xc3")], 1.0),
        raw_series_v1(&[(b"__name__", b"\xa9")], 2.0),
    ]
    .concat();
    let decoded = decode(WireVersion::V1, &body).unwrap();
    assert_eq!(
        invalid_label(&decoded, 0),
        Some(("__name__".into(), "a\u{fffd}".into(), true))
    );
    assert_eq!(
        invalid_label(&decoded, 1),
        Some(("__name__".into(), "\u{fffd}".into(), true))
    );
    let symbols = [
        bytes_field(4, b""),
        bytes_field(4, b"__name__"),
        bytes_field(4, b"a\xc3"),
        bytes_field(4, b"\xa9"),
    ]
    .concat();
    let body = [
        symbols,
        raw_series_v2(&[1, 2], 1.0, None),
        raw_series_v2(&[1, 3], 2.0, None),
    ]
    .concat();
    let decoded = decode(WireVersion::V2, &body).unwrap();
    assert_eq!(labels(&decoded, 1), [("__name__", "\u{fffd}")]);
    assert_eq!(
        invalid_label(&decoded, 1),
        Some(("__name__".into(), "\u{fffd}".into(), true))
    );
}

#[test]
fn an_invalid_v2_symbol_marks_only_the_series_whose_labels_use_it() {
    let symbols = [
        bytes_field(4, b""),
        bytes_field(4, b"__name__"),
        bytes_field(4, b"a"),
        bytes_field(4, b"job"),
        bytes_field(4, b"x"),
        bytes_field(4, b"c"),
        bytes_field(4, b"z"),
        bytes_field(4, b"b"),
        bytes_field(4, b"ok\xff"),
        bytes_field(4, b"j\xc3"),
        // Unreferenced and invalid: harmless.
        bytes_field(4, b"\xa9\xa9"),
    ]
    .concat();
    let good_a = raw_series_v2(&[1, 2, 3, 4], 1.0, None);
    let good_c = raw_series_v2(&[1, 5, 3, 6], 3.0, None);
    let cases: [Case<'_, &[u64]>; 3] = [
        (
            &[1, 7, 3, 8],
            ("job", "ok\u{fffd}", true),
            vec![("__name__", "b"), ("job", "ok\u{fffd}")],
        ),
        (
            &[1, 7, 9, 4],
            ("j\u{fffd}", "x", false),
            vec![("__name__", "b"), ("j\u{fffd}", "x")],
        ),
        (
            &[1, 7, 9, 8],
            ("j\u{fffd}", "ok\u{fffd}", false),
            vec![("__name__", "b"), ("j\u{fffd}", "ok\u{fffd}")],
        ),
    ];
    for (refs, expected, middle_labels) in cases {
        let body = [
            symbols.clone(),
            good_a.clone(),
            raw_series_v2(refs, 2.0, None),
            good_c.clone(),
        ]
        .concat();
        let decoded = decode(WireVersion::V2, &body).unwrap();
        assert_only_the_middle_series_is_marked(&decoded, expected, &middle_labels);
    }
}

#[test]
fn invalid_utf8_outside_labels_is_rejected_naming_the_field() {
    let metadata = bytes_field(3, &bytes_field(4, b"\xc3"));
    let (location, _, reason) = malformed(decode(WireVersion::V1, &metadata).unwrap_err());
    assert_eq!(
        location,
        Location::Field {
            number: 4,
            path: "metadata.help"
        }
    );
    assert_eq!(reason, MalformedReason::InvalidUtf8 { valid_up_to: 0 });

    // With an invalid label elsewhere, the metadata still fails the request.
    let body = [
        raw_series_v1(&[(b"job", b"\xff")], 1.0),
        bytes_field(3, &bytes_field(5, b"s\xff")),
    ]
    .concat();
    let (location, _, reason) = malformed(decode(WireVersion::V1, &body).unwrap_err());
    assert_eq!(
        location,
        Location::Field {
            number: 5,
            path: "metadata.unit"
        }
    );
    assert_eq!(reason, MalformedReason::InvalidUtf8 { valid_up_to: 1 });

    // v2 metadata referencing an invalid symbol.
    let symbols = [
        bytes_field(4, b""),
        bytes_field(4, b"__name__"),
        bytes_field(4, b"up"),
        bytes_field(4, b"he\xe2\x82"),
    ]
    .concat();
    let metadata = [varint_field(1, 1), varint_field(3, 3)].concat();
    let body = [symbols, raw_series_v2(&[1, 2], 1.0, Some(metadata))].concat();
    let (location, _, reason) = malformed(decode(WireVersion::V2, &body).unwrap_err());
    assert_eq!(
        location,
        Location::Field {
            number: 3,
            path: "timeseries.metadata.help_ref"
        }
    );
    assert_eq!(reason, MalformedReason::InvalidUtf8 { valid_up_to: 2 });
}

#[test]
fn unicode_labels_and_stale_markers_survive_bit_for_bit() {
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let request = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: "température_°C".into(),
                },
                Label {
                    name: "ville".into(),
                    value: String::new(),
                },
                Label {
                    name: "城市".into(),
                    value: "東京 🗼".into(),
                },
            ],
            samples: vec![
                Sample {
                    value: stale,
                    timestamp: -5,
                },
                Sample {
                    value: -0.0,
                    timestamp: i64::MAX,
                },
            ],
            ..Default::default()
        }],
        metadata: vec![],
    };
    let body = request.encode_to_vec();
    let decoded = decode(WireVersion::V1, &body).unwrap();
    assert_eq!(
        observed(&decoded),
        expected_v1(&WriteRequest::decode(body.as_slice()).unwrap())
    );
    assert_eq!(decoded.series(0).samples()[1].value, 0.0);
    assert_eq!(
        decoded.series(0).samples()[0].value.to_bits(),
        0x7ff0_0000_0000_0002
    );
}

// --- remote write 2.0 references --------------------------------------------------------------

fn v2_body(symbols: &[&str], series: &[Vec<u8>]) -> Vec<u8> {
    let mut body = vec![];
    for symbol in symbols {
        body.extend(bytes_field(4, symbol.as_bytes()));
    }
    for series in series {
        body.extend(bytes_field(5, series));
    }
    body
}

#[test]
fn out_of_range_symbol_references_are_rejected() {
    let symbols = ["", "__name__", "up"];
    let body = v2_body(&symbols, &[bytes_field(1, &[1, 9])]);
    let (location, _, reason) = malformed(decode(WireVersion::V2, &body).unwrap_err());
    assert_eq!(
        location,
        Location::Field {
            number: 1,
            path: "timeseries.labels_refs"
        }
    );
    assert_eq!(
        reason,
        MalformedReason::SymbolOutOfRange {
            reference: 9,
            symbols: 3
        }
    );

    for (field, path) in [
        (3, "timeseries.metadata.help_ref"),
        (4, "timeseries.metadata.unit_ref"),
    ] {
        let series = [
            bytes_field(1, &[1, 2]),
            bytes_field(5, &varint_field(field, 3)),
        ]
        .concat();
        let error = decode(WireVersion::V2, &v2_body(&symbols, &[series])).unwrap_err();
        assert!(error.to_string().contains(path), "{error}");
        let (_, _, reason) = malformed(error);
        assert_eq!(
            reason,
            MalformedReason::SymbolOutOfRange {
                reference: 3,
                symbols: 3
            }
        );
    }

    // No symbols at all: even reference 0 is out of range.
    let body = v2_body(&[], &[bytes_field(1, &[0, 0])]);
    assert!(decode(WireVersion::V2, &body).is_err());
}

#[test]
fn an_odd_number_of_label_references_is_rejected() {
    let body = v2_body(&["", "a"], &[bytes_field(1, &[1, 1, 1])]);
    let (location, offset, reason) = malformed(decode(WireVersion::V2, &body).unwrap_err());
    assert_eq!(
        location,
        Location::Field {
            number: 1,
            path: "timeseries.labels_refs"
        }
    );
    assert_eq!(offset, 7);
    assert_eq!(reason, MalformedReason::OddLabelRefs { count: 3 });
}

#[test]
fn packed_unpacked_and_mixed_label_references_decode_alike() {
    let symbols = ["", "__name__", "up", "job", "a"];
    let packed = bytes_field(1, &[1, 2, 3, 4]);
    let unpacked = [1u64, 2, 3, 4]
        .iter()
        .flat_map(|&reference| varint_field(1, reference))
        .collect::<Vec<_>>();
    // A pair split across a packed and an unpacked occurrence.
    let mixed = [bytes_field(1, &[1, 2, 3]), varint_field(1, 4)].concat();
    for series in [packed, unpacked, mixed] {
        let decoded = decode(WireVersion::V2, &v2_body(&symbols, &[series])).unwrap();
        assert_eq!(labels(&decoded, 0), [("__name__", "up"), ("job", "a")]);
    }
    let fixed = fixed32_field(1, 1);
    let (_, _, reason) =
        malformed(decode(WireVersion::V2, &v2_body(&symbols, &[fixed])).unwrap_err());
    assert_eq!(
        reason,
        MalformedReason::WrongWireType {
            found: 5,
            expected: "packed (2) or varint (0)"
        }
    );
}

#[test]
fn symbols_may_follow_the_series_that_use_them() {
    let series = bytes_field(5, &bytes_field(1, &[1, 2]));
    let body = [
        series,
        bytes_field(4, b""),
        bytes_field(4, b"__name__"),
        bytes_field(4, b"up"),
    ]
    .concat();
    let decoded = decode(WireVersion::V2, &body).unwrap();
    assert_eq!(labels(&decoded, 0), [("__name__", "up")]);
}

#[test]
fn v2_metadata_is_merged_filtered_and_named_after_the_series() {
    let symbols = ["", "__name__", "up", "help text", "seconds"];
    // Two occurrences merge: type from the first, help and unit from the second.
    let merged = [
        bytes_field(1, &[1, 2]),
        bytes_field(5, &varint_field(1, 1)),
        bytes_field(5, &[varint_field(3, 3), varint_field(4, 4)].concat()),
    ]
    .concat();
    // Unspecified type, but help: informative.
    let help_only = [bytes_field(1, &[1, 2]), bytes_field(5, &varint_field(3, 3))].concat();
    // Unspecified, no help, no unit: nothing to say.
    let empty = [bytes_field(1, &[1, 2]), bytes_field(5, &varint_field(1, 0))].concat();
    // An unknown enum value counts as unknown.
    let unknown_type = [
        bytes_field(1, &[1, 2]),
        bytes_field(5, &varint_field(1, 42)),
    ]
    .concat();
    // No __name__: the series has metadata, the request-level list skips it.
    let nameless = [bytes_field(1, &[3, 4]), bytes_field(5, &varint_field(1, 2))].concat();
    let body = v2_body(
        &symbols,
        &[merged, help_only, empty, unknown_type, nameless],
    );
    let decoded = decode(WireVersion::V2, &body).unwrap();

    let first = decoded.series(0).metadata().unwrap();
    assert_eq!(
        (
            first.metric_family,
            first.metric_type,
            first.help,
            first.unit
        ),
        ("up", MetricType::Counter, "help text", "seconds")
    );
    let second = decoded.series(1).metadata().unwrap();
    assert_eq!(
        (second.metric_type, second.help),
        (MetricType::Unknown, "help text")
    );
    assert_eq!(decoded.series(2).metadata(), None);
    assert_eq!(decoded.series(3).metadata(), None);
    let nameless = decoded.series(4).metadata().unwrap();
    assert_eq!(
        (nameless.metric_family, nameless.metric_type),
        ("", MetricType::Gauge)
    );

    let listed: Vec<_> = decoded.metadata().collect();
    assert_eq!(listed, [first, second]);
}

#[test]
fn v2_counts_histograms_and_exemplars_and_skips_start_timestamps() {
    let request = write_v2::Request {
        symbols: vec!["".into(), "__name__".into(), "h".into()],
        timeseries: vec![write_v2::TimeSeries {
            labels_refs: vec![1, 2],
            samples: vec![write_v2::Sample {
                value: 3.0,
                timestamp: 10,
                start_timestamp: 4,
            }],
            histograms: vec![Default::default(); 3],
            exemplars: vec![Default::default(); 2],
            created_timestamp: 1,
            ..Default::default()
        }],
    };
    let decoded = decode(WireVersion::V2, &request.encode_to_vec()).unwrap();
    assert_eq!(decoded.histogram_count(), 3);
    assert_eq!(decoded.exemplar_count(), 2);
    assert_eq!(decoded.series(0).histogram_count(), 3);
    assert_eq!(decoded.series(0).exemplar_count(), 2);
    assert_eq!(decoded.series(0).samples()[0].timestamp_ms, 10);
}

// --- protobuf merge semantics ---------------------------------------------------------------

#[test]
fn the_last_occurrence_of_a_scalar_field_wins() {
    let label = [
        bytes_field(1, b"first"),
        bytes_field(2, b"x"),
        bytes_field(1, b"second"),
    ]
    .concat();
    let sample = [
        double_field(1, 1.0),
        varint_field(2, 7),
        double_field(1, 2.0),
    ]
    .concat();
    let series = [bytes_field(1, &label), bytes_field(2, &sample)].concat();
    let decoded = decode(WireVersion::V1, &bytes_field(1, &series)).unwrap();
    assert_eq!(labels(&decoded, 0), [("second", "x")]);
    assert_eq!(
        decoded.series(0).samples(),
        [crate::decode::Sample {
            timestamp_ms: 7,
            value: 2.0
        }]
    );
}

#[test]
fn labels_keep_wire_order_across_fast_and_general_paths() {
    let canonical = |name: &str, value: &str| {
        bytes_field(
            1,
            &[
                bytes_field(1, name.as_bytes()),
                bytes_field(2, value.as_bytes()),
            ]
            .concat(),
        )
    };
    let long = "v".repeat(200);
    let series = [
        canonical("a", "1"),
        canonical("b", "2"),
        // Unknown field first: general path.
        bytes_field(
            1,
            &[
                varint_field(9, 1),
                bytes_field(1, b"c"),
                bytes_field(2, b"3"),
            ]
            .concat(),
        ),
        canonical("d", "4"),
        // Two-byte value length.
        canonical("e", &long),
        // Empty value: prost leaves the field out.
        bytes_field(1, &bytes_field(1, b"f")),
        canonical("g", "\u{1F5FC}"),
        bytes_field(2, &[double_field(1, 1.0), varint_field(2, 2)].concat()),
        // A label after the sample.
        canonical("h", "8"),
    ]
    .concat();
    let decoded = decode(WireVersion::V1, &bytes_field(1, &series)).unwrap();
    assert_eq!(
        labels(&decoded, 0),
        [
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
            ("d", "4"),
            ("e", long.as_str()),
            ("f", ""),
            ("g", "\u{1F5FC}"),
            ("h", "8"),
        ]
    );
}

// --- Content-Type ---------------------------------------------------------------------------

#[test]
fn wire_version_follows_the_content_type() {
    let accepted = [
        (None, WireVersion::V1),
        (Some(""), WireVersion::V1),
        (Some("  "), WireVersion::V1),
        (Some("application/x-protobuf"), WireVersion::V1),
        (Some(" application/x-protobuf "), WireVersion::V1),
        (Some("Application/X-Protobuf"), WireVersion::V1),
        (
            Some("application/x-protobuf;proto=prometheus.WriteRequest"),
            WireVersion::V1,
        ),
        (
            Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
            WireVersion::V2,
        ),
        (
            Some("application/x-protobuf; proto=io.prometheus.write.v2.Request"),
            WireVersion::V2,
        ),
        (
            Some("application/x-protobuf;charset=utf-8;proto=io.prometheus.write.v2.Request"),
            WireVersion::V2,
        ),
        (
            Some("application/x-protobuf;charset=utf-8"),
            WireVersion::V1,
        ),
    ];
    for (header, expected) in accepted {
        assert_eq!(wire_version(header).unwrap(), expected, "{header:?}");
    }
    let rejected = [
        "application/json",
        "application/x-protobuf2",
        "text/plain;proto=prometheus.WriteRequest",
        "application/x-protobuf;proto=prometheus.ReadRequest",
        "application/x-protobuf;proto=io.prometheus.write.v2.request",
        "application/x-protobuf;proto",
        "application/x-protobuf;proto=a=b",
        "application/x-protobuf;charset",
    ];
    for header in rejected {
        let error = wire_version(Some(header)).unwrap_err();
        assert!(
            matches!(&error, DecodeError::UnsupportedContentType { content_type } if content_type == header),
            "{header}: {error}"
        );
    }
}

// --- reuse ----------------------------------------------------------------------------------

fn node_request(series: usize, samples: usize) -> WriteRequest {
    WriteRequest {
        timeseries: (0..series)
            .map(|index| TimeSeries {
                labels: vec![
                    Label {
                        name: "__name__".into(),
                        value: format!("metric_{index}"),
                    },
                    Label {
                        name: "instance".into(),
                        value: format!("host-{index}:9100"),
                    },
                ],
                samples: (0..samples)
                    .map(|step| Sample {
                        value: step as f64,
                        timestamp: step as i64 * 15_000,
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        metadata: vec![],
    }
}

#[test]
fn decoding_a_big_then_a_small_request_shows_only_the_small_one() {
    let big = node_request(300, 5);
    let small = node_request(2, 1);
    let mut decoded = DecodedWrite::new();
    decoded
        .decode(WireVersion::V1, big.encode_to_vec())
        .unwrap();
    assert_eq!(decoded.series_count(), 300);
    let mut buffer = decoded.take_buffer();
    buffer.clear();
    small.encode(&mut buffer).unwrap();
    decoded.decode(WireVersion::V1, buffer).unwrap();
    assert_eq!(observed(&decoded), expected_v1(&small));
    assert_eq!(decoded.sample_count(), 2);
}

#[test]
fn a_failed_decode_leaves_the_request_empty_and_the_decoder_reusable() {
    let mut decoded = DecodedWrite::new();
    decoded
        .decode(WireVersion::V1, node_request(3, 2).encode_to_vec())
        .unwrap();
    let mut broken = node_request(3, 2).encode_to_vec();
    broken.truncate(broken.len() - 1);
    assert!(decoded.decode(WireVersion::V1, broken).is_err());
    assert_eq!(decoded.series_count(), 0);
    assert_eq!(decoded.sample_count(), 0);
    assert_eq!(decoded.metadata().count(), 0);
    let small = node_request(1, 1);
    decoded
        .decode(WireVersion::V1, small.encode_to_vec())
        .unwrap();
    assert_eq!(observed(&decoded), expected_v1(&small));
}

#[test]
fn views_outlive_the_returned_buffer() {
    let request = node_request(4, 3);
    let body = request.encode_to_vec();
    let mut decoded = DecodedWrite::new();
    decoded.decode(WireVersion::V1, body.clone()).unwrap();
    let buffer = decoded.take_buffer();
    assert_eq!(buffer, body);
    assert_eq!(observed(&decoded), expected_v1(&request));
}

// --- metric types -----------------------------------------------------------------------------

#[test]
fn metric_types_use_prometheus_names_and_the_shared_numbering() {
    let names = [
        "unknown",
        "counter",
        "gauge",
        "histogram",
        "gaugehistogram",
        "summary",
        "info",
        "stateset",
    ];
    for (number, name) in names.iter().enumerate() {
        let metric_type = MetricType::from_wire(number as i32);
        assert_eq!(metric_type.as_str(), *name);
        assert_eq!(metric_type.to_string(), *name);
        assert_eq!(metric_type, super::v1_type(number as i32));
        assert_eq!(metric_type, super::v2_type(number as i32));
    }
    assert_eq!(MetricType::from_wire(-1), MetricType::Unknown);
    assert_eq!(MetricType::from_wire(8), MetricType::Unknown);
}
