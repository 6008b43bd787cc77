use proptest::prelude::*;

use super::*;

const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The worked example of shared/formats/tsdb-block.md §5.4.
#[test]
fn matches_the_reference_test_vector() {
    let samples = [
        (1000, 1.0),
        (16000, 1.0),
        (31000, 2.0),
        (46000, 3.0),
        (61001, 3.5),
        (76000, -1.0),
    ];
    let mut chunk = XorChunk::new();
    for (t, v) in samples {
        chunk.append(t, v).unwrap();
    }
    assert_eq!(
        hex(chunk.bytes()),
        "0006d00f3ff00000000000009875\
         3097ffdb01c000ed077ffd80efffc0"
    );
    let decoded: Vec<(i64, f64)> = chunk.iter().collect();
    assert_eq!(decoded, samples);
}

#[test]
fn empty_chunk_and_single_sample() {
    let chunk = XorChunk::new();
    assert_eq!(chunk.bytes(), &[0, 0]);
    assert_eq!(chunk.iter().count(), 0);
    let mut chunk = XorChunk::new();
    chunk.append(-5, 42.0).unwrap();
    assert_eq!(chunk.iter().collect::<Vec<_>>(), [(-5, 42.0)]);
}

#[test]
fn stale_markers_keep_their_exact_bits() {
    let mut chunk = XorChunk::new();
    chunk.append(1, 1.0).unwrap();
    chunk.append(2, f64::from_bits(STALE_NAN_BITS)).unwrap();
    chunk.append(3, f64::NAN).unwrap();
    chunk.append(4, f64::from_bits(STALE_NAN_BITS)).unwrap();
    let bits: Vec<u64> = chunk.iter().map(|(_, v)| v.to_bits()).collect();
    assert_eq!(
        bits,
        [
            1.0f64.to_bits(),
            STALE_NAN_BITS,
            f64::NAN.to_bits(),
            STALE_NAN_BITS
        ]
    );
}

#[test]
fn rejects_out_of_order_and_duplicate_timestamps() {
    let mut chunk = XorChunk::new();
    chunk.append(10, 1.0).unwrap();
    assert!(matches!(
        chunk.append(10, 2.0),
        Err(Error::OutOfOrder {
            timestamp: 10,
            last: 10
        })
    ));
    assert!(matches!(
        chunk.append(9, 2.0),
        Err(Error::OutOfOrder {
            timestamp: 9,
            last: 10
        })
    ));
    assert_eq!(chunk.num_samples(), 1);
}

#[test]
fn seek_finds_the_first_sample_at_or_after() {
    let mut chunk = XorChunk::new();
    for t in (0..100).map(|i| i * 15_000) {
        chunk.append(t, t as f64).unwrap();
    }
    let mut iterator = chunk.iter();
    assert_eq!(iterator.seek(20_000), Some((30_000, 30_000.0)));
    assert_eq!(
        iterator.seek(10_000),
        Some((30_000, 30_000.0)),
        "never moves back"
    );
    assert_eq!(iterator.next_sample(), Some((45_000, 45_000.0)));
    assert_eq!(iterator.seek(10_000_000), None);
    assert!(iterator.error().is_none());
}

#[test]
fn truncated_data_is_an_error_not_a_panic() {
    let mut chunk = XorChunk::new();
    for t in 0..50 {
        chunk
            .append(t * 1000 + (t % 3), (t * t) as f64 / 7.0)
            .unwrap();
    }
    let bytes = chunk.bytes();
    for cut in 0..bytes.len() - 1 {
        let mut iterator = XorIterator::new(&bytes[..cut]);
        let decoded = iterator.by_ref().count();
        assert!(decoded < 50, "cut at {cut}");
        assert!(
            iterator.error().is_some(),
            "cut at {cut}: no error reported"
        );
        assert!(XorChunk::from_bytes(bytes[..cut].to_vec()).is_err());
    }
}

#[test]
fn appending_to_a_chunk_read_from_bytes_continues_the_stream() {
    let samples: Vec<(i64, f64)> = (0..40)
        .map(|i| (i * 15_000 + i % 2, (i as f64).sin()))
        .collect();
    let mut whole = XorChunk::new();
    for (t, v) in &samples {
        whole.append(*t, *v).unwrap();
    }
    for split in [1, 2, 3, 17, 39] {
        let mut first = XorChunk::new();
        for (t, v) in &samples[..split] {
            first.append(*t, *v).unwrap();
        }
        let mut reopened = XorChunk::from_bytes(first.bytes().to_vec()).unwrap();
        for (t, v) in &samples[split..] {
            reopened.append(*t, *v).unwrap();
        }
        assert_eq!(reopened.bytes(), whole.bytes(), "split at {split}");
    }
}

fn samples_strategy() -> impl Strategy<Value = Vec<(i64, f64)>> {
    let step = prop_oneof![
        Just(15_000i64),
        1i64..20,
        1i64..100_000,
        1i64..10_000_000,
        1i64..(1 << 40),
    ];
    let value = prop_oneof![
        any::<f64>(),
        (0u32..1000).prop_map(f64::from),
        Just(f64::from_bits(STALE_NAN_BITS)),
        Just(0.0),
    ];
    (any::<i32>(), prop::collection::vec((step, value), 0..300)).prop_map(|(start, steps)| {
        let mut t = i64::from(start);
        steps
            .into_iter()
            .map(|(step, value)| {
                t += step;
                (t, value)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn round_trips_bit_exactly(samples in samples_strategy()) {
        let mut chunk = XorChunk::new();
        for (t, v) in &samples {
            chunk.append(*t, *v).unwrap();
        }
        let decoded: Vec<(i64, u64)> = chunk.iter().map(|(t, v)| (t, v.to_bits())).collect();
        let expected: Vec<(i64, u64)> = samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
        prop_assert_eq!(decoded, expected);
        let reread = XorChunk::from_bytes(chunk.bytes().to_vec()).unwrap();
        prop_assert_eq!(reread.bytes(), chunk.bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut iterator = XorIterator::new(&bytes);
        let decoded = iterator.by_ref().count();
        prop_assert!(decoded <= 65_535);
        let _ = XorChunk::from_bytes(bytes);
    }
}
