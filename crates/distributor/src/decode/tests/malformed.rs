//! Robustness properties: arbitrary bytes never panic, and corrupted valid encodings either
//! decode to what prost sees or fail for a reason the decoder is documented to be stricter
//! about than prost (groups; v2 references). Label strings that are not UTF-8 never fail a
//! decode: they mark their series, whose labels read as `String::from_utf8_lossy`.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use prost::Message;

use norn_proto::prometheus::WriteRequest;
use norn_proto::write_v2;

use super::cases::raw_series_v1;
use super::differential::{request_v1, request_v2};
use super::{Expected, decode, expected_v1, no_series_marked, observed};
use crate::decode::{DecodeError, MalformedReason, WireVersion};

/// Overwrites a few bytes and maybe truncates.
fn corrupt(mut body: Vec<u8>, edits: &[(Index, u8)], cut: Option<Index>) -> Vec<u8> {
    if body.is_empty() {
        return body;
    }
    for (position, byte) in edits {
        let position = position.index(body.len());
        body[position] = *byte;
    }
    if let Some(cut) = cut {
        body.truncate(cut.index(body.len()));
    }
    body
}

/// Whether `error` is one prost would not raise on the same bytes.
fn stricter_than_prost(error: &DecodeError, version: WireVersion) -> bool {
    match error {
        DecodeError::Malformed { reason, .. } => match reason {
            MalformedReason::UnsupportedWireType { wire_type, .. } => matches!(wire_type, 3 | 4),
            MalformedReason::SymbolOutOfRange { .. } | MalformedReason::OddLabelRefs { .. } => {
                version == WireVersion::V2
            }
            _ => false,
        },
        _ => false,
    }
}

/// The comparable shape without metadata (2.0 metadata with corrupted references has no prost
/// equivalent: prost cannot tell an absent `help_ref` from 0).
fn without_metadata(mut expected: Expected) -> Expected {
    expected.metadata.clear();
    for series in &mut expected.series {
        series.metadata = None;
    }
    expected
}

fn series_of(request: &write_v2::Request) -> Expected {
    let symbol = |reference: u32| {
        request
            .symbols
            .get(reference as usize)
            .cloned()
            .unwrap_or_default()
    };
    let series: Vec<super::ExpectedSeries> = request
        .timeseries
        .iter()
        .map(|series| {
            let labels: Vec<(String, String)> = series
                .labels_refs
                .chunks(2)
                .map(|pair| (symbol(pair[0]), symbol(pair[pair.len() - 1])))
                .collect();
            super::ExpectedSeries {
                metric_name: super::first_name(&labels),
                labels,
                samples: series
                    .samples
                    .iter()
                    .map(|sample| (sample.timestamp, sample.value.to_bits()))
                    .collect(),
                histograms: series.histograms.len(),
                exemplars: series.exemplars.len(),
                metadata: None,
            }
        })
        .collect();
    Expected {
        samples: series.iter().map(|series| series.samples.len()).sum(),
        histograms: series.iter().map(|series| series.histograms).sum(),
        exemplars: series.iter().map(|series| series.exemplars).sum(),
        metadata: vec![],
        series,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        for version in [WireVersion::V1, WireVersion::V2] {
            if let Ok(decoded) = decode(version, &bytes) {
                observed(&decoded);
            }
        }
    }

    #[test]
    fn corrupted_v1_bodies_decode_like_prost_or_fail(
        request in request_v1(),
        edits in vec((any::<Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<Index>()),
    ) {
        let body = corrupt(request.encode_to_vec(), &edits, cut);
        let reference = WriteRequest::decode(body.as_slice());
        match (decode(WireVersion::V1, &body), reference) {
            (Ok(decoded), Ok(reference)) => {
                prop_assert_eq!(observed(&decoded), expected_v1(&reference));
                prop_assert!(no_series_marked(&decoded));
            }
            (Err(error), Ok(_)) => {
                prop_assert!(stricter_than_prost(&error, WireVersion::V1), "{}", error);
            }
            // Prost also rejects bad exemplar and histogram contents, which are only counted.
            (Ok(decoded), Err(_)) => { observed(&decoded); }
            (Err(_), Err(_)) => {}
        }
    }

    #[test]
    fn corrupted_v2_bodies_decode_like_prost_or_fail(
        request in request_v2(),
        edits in vec((any::<Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<Index>()),
    ) {
        let body = corrupt(request.encode_to_vec(), &edits, cut);
        let reference = write_v2::Request::decode(body.as_slice());
        match (decode(WireVersion::V2, &body), reference) {
            (Ok(decoded), Ok(reference)) => {
                prop_assert_eq!(without_metadata(observed(&decoded)), series_of(&reference));
                prop_assert!(no_series_marked(&decoded));
            }
            (Err(error), Ok(_)) => {
                prop_assert!(stricter_than_prost(&error, WireVersion::V2), "{}", error);
            }
            (Ok(decoded), Err(_)) => { observed(&decoded); }
            (Err(_), Err(_)) => {}
        }
    }

    #[test]
    fn label_bytes_never_fail_a_decode_and_read_back_lossily(
        name in vec(any::<u8>(), 0..8),
        value in vec(any::<u8>(), 0..8),
        before in vec(any::<u8>(), 0..8),
    ) {
        let body = [
            raw_series_v1(&[(b"k", &before)], 1.0),
            raw_series_v1(&[(b"__name__", b"up"), (&name, &value)], 2.0),
        ]
        .concat();
        let decoded = decode(WireVersion::V1, &body).unwrap();
        let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let read: Vec<(String, String)> = decoded
            .series(1)
            .labels()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        prop_assert_eq!(read[1].clone(), (lossy(&name), lossy(&value)));
        let expected_mark = if std::str::from_utf8(&name).is_err() {
            Some((lossy(&name), lossy(&value), false))
        } else if std::str::from_utf8(&value).is_err() {
            Some((lossy(&name), lossy(&value), true))
        } else {
            None
        };
        let mark = decoded
            .series(1)
            .invalid_utf8_label()
            .map(|label| (label.name.to_owned(), label.value.to_owned(), label.is_value));
        prop_assert_eq!(mark, expected_mark);
        prop_assert_eq!(
            decoded.series(0).invalid_utf8_label().is_some(),
            std::str::from_utf8(&before).is_err()
        );
        let before_lossy = lossy(&before);
        prop_assert_eq!(decoded.series(0).labels().next(), Some(("k", before_lossy.as_str())));
    }
}
