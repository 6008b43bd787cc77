use proptest::prelude::*;

use super::*;

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|byte| byte.is_ascii_hexdigit())
        .collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap()
}

/// wal.md §4.1: ref 1, `{__name__="up", job="a"}`.
#[test]
fn series_record_matches_the_spec_example() {
    let series = vec![RefSeries {
        series_ref: 1,
        labels: labels(&[("job", "a"), ("__name__", "up")]),
    }];
    let mut out = Vec::new();
    encode_series(&mut out, &series);
    assert_eq!(
        out,
        hex("01000000000000000102085f5f6e616d655f5f027570036a6f620161")
    );
    assert_eq!(decode(&out).unwrap(), Record::Series(series));
}

/// wal.md §4.2: (1, 1000, 1.0), (2, 1000, 0.5), (1, 16000, 1.0), deltas against the first.
#[test]
fn samples_record_matches_the_spec_example() {
    let samples = vec![
        RefSample {
            series_ref: 1,
            t: 1000,
            v: 1.0,
        },
        RefSample {
            series_ref: 2,
            t: 1000,
            v: 0.5,
        },
        RefSample {
            series_ref: 1,
            t: 16000,
            v: 1.0,
        },
    ];
    let mut out = Vec::new();
    encode_samples(&mut out, &samples);
    assert_eq!(
        out,
        hex("02 0000000000000001 00000000000003e8 \
             00 00 3ff0000000000000 \
             02 00 3fe0000000000000 \
             00 b0ea01 3ff0000000000000")
    );
    assert_eq!(decode(&out).unwrap(), Record::Samples(samples));
}

#[test]
fn empty_records_are_just_the_type_byte() {
    let mut out = Vec::new();
    encode_samples(&mut out, &[]);
    assert_eq!(out, [SAMPLES]);
    assert_eq!(decode(&out).unwrap(), Record::Samples(Vec::new()));
    out.clear();
    encode_series(&mut out, &[]);
    assert_eq!(decode(&out).unwrap(), Record::Series(Vec::new()));
    assert_eq!(decode(&[]).unwrap(), Record::Unknown(0));
}

#[test]
fn tombstones_and_metadata_have_the_prometheus_layout() {
    let mut out = Vec::new();
    encode_tombstones(
        &mut out,
        &[Stone {
            series_ref: 5,
            mint: -1,
            maxt: 1,
        }],
    );
    assert_eq!(out, hex("03 0000000000000005 01 02"));

    out.clear();
    encode_metadata(
        &mut out,
        &[RefMetadata {
            series_ref: 300,
            metric_type: 1,
            unit: "s".into(),
            help: "h".into(),
        }],
    );
    // ref uvarint 300 = ac 02, type 1, 2 fields, "UNIT" "s", "HELP" "h".
    assert_eq!(
        out,
        hex("06 ac02 01 02 04 554e4954 01 73 04 48454c50 01 68")
    );
}

#[test]
fn metadata_skips_unknown_fields_and_tolerates_missing_ones() {
    // ref 7, type 2, 3 fields: "HELP" "x", "OTHER" "y", "UNIT" "z"; then ref 8 with 0 fields.
    let mut out = vec![METADATA, 7, 2, 3];
    for text in ["HELP", "x", "OTHER", "y", "UNIT", "z"] {
        put_uvarint_str(&mut out, text);
    }
    out.extend_from_slice(&[8, 0, 0]);
    assert_eq!(
        decode(&out).unwrap(),
        Record::Metadata(vec![
            RefMetadata {
                series_ref: 7,
                metric_type: 2,
                unit: "z".into(),
                help: "x".into(),
            },
            RefMetadata {
                series_ref: 8,
                metric_type: 0,
                unit: String::new(),
                help: String::new(),
            },
        ])
    );
}

#[test]
fn other_types_are_unknown() {
    for kind in [4u8, 5, 7, 8, 9, 10, 11, 12, 13, 200] {
        assert_eq!(decode(&[kind, 1, 2, 3]).unwrap(), Record::Unknown(kind));
    }
}

#[test]
fn unsorted_or_duplicate_labels_are_corrupt() {
    let series_with = |pairs: &[(&str, &str)]| {
        let mut out = vec![SERIES];
        put_be64(&mut out, 9);
        put_uvarint(&mut out, pairs.len() as u64);
        for (name, value) in pairs {
            put_uvarint_str(&mut out, name);
            put_uvarint_str(&mut out, value);
        }
        out
    };
    for pairs in [
        &[("job", "a"), ("__name__", "up")][..],
        &[("job", "a"), ("job", "b")][..],
        &[("", "a")][..],
    ] {
        let error = decode(&series_with(pairs)).unwrap_err();
        assert!(
            matches!(error, Error::Corrupt { .. }),
            "{pairs:?}: {error:?}"
        );
    }
    assert!(decode(&series_with(&[("a", "1"), ("b", "2")])).is_ok());
}

#[test]
fn truncated_and_trailing_bytes_are_corrupt() {
    let mut out = Vec::new();
    encode_samples(
        &mut out,
        &[RefSample {
            series_ref: 1,
            t: 2,
            v: 3.0,
        }],
    );
    // Type, base ref and base timestamp alone (17 bytes) are a legal record without samples.
    assert_eq!(decode(&out[..17]).unwrap(), Record::Samples(Vec::new()));
    for len in (2..out.len()).filter(|len| *len != 17) {
        assert!(
            matches!(decode(&out[..len]), Err(Error::Corrupt { .. })),
            "prefix of {len} bytes"
        );
    }
    out.push(0);
    assert!(
        decode(&out).is_err(),
        "a trailing byte is an incomplete entry"
    );
}

fn arb_labels() -> impl Strategy<Value = Labels> {
    proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", ".{1,12}", 0..6).prop_map(|map| {
        Labels::new(
            map.iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        )
        .unwrap()
    })
}

fn arb_f64() -> impl Strategy<Value = f64> {
    prop_oneof![any::<f64>(), any::<u64>().prop_map(f64::from_bits)]
}

/// Compares samples bit for bit (NaN payloads included).
fn same_samples(a: &[RefSample], b: &[RefSample]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.series_ref == y.series_ref && x.t == y.t && x.v.to_bits() == y.v.to_bits()
        })
}

proptest! {
    #[test]
    fn series_round_trip(
        entries in proptest::collection::vec((any::<u64>(), arb_labels()), 0..8),
    ) {
        let series: Vec<RefSeries> = entries
            .into_iter()
            .map(|(series_ref, labels)| RefSeries { series_ref, labels })
            .collect();
        let mut out = Vec::new();
        encode_series(&mut out, &series);
        prop_assert_eq!(decode(&out).unwrap(), Record::Series(series));
    }

    #[test]
    fn samples_round_trip(
        samples in proptest::collection::vec(
            (any::<u64>(), any::<i64>(), arb_f64())
                .prop_map(|(series_ref, t, v)| RefSample { series_ref, t, v }),
            0..20,
        ),
    ) {
        let mut out = Vec::new();
        encode_samples(&mut out, &samples);
        let Record::Samples(decoded) = decode(&out).unwrap() else {
            return Err(TestCaseError::fail("not a samples record"));
        };
        prop_assert!(same_samples(&decoded, &samples), "{decoded:?} != {samples:?}");
    }

    #[test]
    fn tombstones_round_trip(
        stones in proptest::collection::vec(
            (any::<u64>(), any::<i64>(), any::<i64>())
                .prop_map(|(series_ref, mint, maxt)| Stone { series_ref, mint, maxt }),
            0..20,
        ),
    ) {
        let mut out = Vec::new();
        encode_tombstones(&mut out, &stones);
        prop_assert_eq!(decode(&out).unwrap(), Record::Tombstones(stones));
    }

    #[test]
    fn metadata_round_trip(
        metadata in proptest::collection::vec(
            (any::<u64>(), any::<u8>(), ".{0,10}", ".{0,30}").prop_map(
                |(series_ref, metric_type, unit, help)| RefMetadata {
                    series_ref,
                    metric_type,
                    unit,
                    help,
                },
            ),
            0..10,
        ),
    ) {
        let mut out = Vec::new();
        encode_metadata(&mut out, &metadata);
        prop_assert_eq!(decode(&out).unwrap(), Record::Metadata(metadata));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        kind in prop_oneof![Just(SERIES), Just(SAMPLES), Just(TOMBSTONES), Just(METADATA), any::<u8>()],
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut record = vec![kind];
        record.extend_from_slice(&body);
        let _ = decode(&record);
        let _ = decode(&body);
    }

    #[test]
    fn mutated_valid_records_never_panic(
        entries in proptest::collection::vec((any::<u64>(), arb_labels()), 1..4),
        position in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let series: Vec<RefSeries> = entries
            .into_iter()
            .map(|(series_ref, labels)| RefSeries { series_ref, labels })
            .collect();
        let mut out = Vec::new();
        encode_series(&mut out, &series);
        let index = position.index(out.len());
        out[index] = byte;
        let _ = decode(&out);
        let _ = decode(&out[..cut.index(out.len())]);
    }
}
