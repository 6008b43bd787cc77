use proptest::prelude::*;

use super::*;

fn decode_all(bytes: &[u8]) -> (Vec<DecodedRecord>, Option<FrameError>) {
    let mut decoder = SegmentDecoder::new(bytes);
    let mut records = Vec::new();
    while let Some(result) = decoder.next_record() {
        match result {
            Ok(record) => records.push(record),
            Err(error) => return (records, Some(error)),
        }
    }
    (records, None)
}

/// wal.md §2: the series record of §4.1 stored as one uncompressed fragment.
#[test]
fn matches_the_reference_fragment() {
    let record: Vec<u8> = [
        &[0x01][..],
        &1u64.to_be_bytes(),
        &[0x02, 0x08],
        b"__name__",
        &[0x02],
        b"up",
        &[0x03],
        b"job",
        &[0x01],
        b"a",
    ]
    .concat();
    assert_eq!(record.len(), 28);
    let mut out = Vec::new();
    let mut page_offset = 0;
    encode_record(&mut out, &mut page_offset, &record, false);
    assert_eq!(&out[..7], &[0x01, 0x00, 0x1c, 0xe2, 0x13, 0x77, 0x03]);
    assert_eq!(&out[7..], record.as_slice());
    assert_eq!(page_offset, 35);
}

#[test]
fn large_records_span_pages_and_small_gaps_are_padded() {
    let mut out = Vec::new();
    let mut page_offset = 0;
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    // Leave exactly 5 bytes in the first page: too few for a header.
    let filler = vec![9u8; PAGE_SIZE - HEADER_SIZE - 5];
    encode_record(&mut out, &mut page_offset, &filler, false);
    assert_eq!(page_offset, PAGE_SIZE - 5);
    encode_record(&mut out, &mut page_offset, &big, false);
    encode_record(&mut out, &mut page_offset, b"", false);
    let (records, error) = decode_all(&out);
    assert!(error.is_none(), "{error:?}");
    assert_eq!(records.len(), 3);
    assert_eq!(records[1].data, big);
    assert_eq!(
        records[1].offset, PAGE_SIZE,
        "the padded page pushed the record to the next page"
    );
    assert!(records[2].data.is_empty());
    assert_eq!(out[PAGE_SIZE] & 0x07, 2, "FIRST fragment");
    assert!(
        out.len()
            <= max_encoded_len(filler.len(), 0) + 5 + max_encoded_len(big.len(), 0) + HEADER_SIZE
    );
}

#[test]
fn compression_is_used_only_when_smaller() {
    let mut out = Vec::new();
    let mut page_offset = 0;
    let repetitive = vec![b'a'; 5000];
    encode_record(&mut out, &mut page_offset, &repetitive, true);
    assert_eq!(out[0], 0x01 | 0x08, "FULL + snappy");
    assert!(out.len() < 500);
    let random: Vec<u8> = (0..64u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
        .collect();
    let start = out.len();
    encode_record(&mut out, &mut page_offset, &random, true);
    assert_eq!(
        out[start], 0x01,
        "stored raw when compression does not help"
    );
    let (records, error) = decode_all(&out);
    assert!(error.is_none());
    assert_eq!(records[0].data, repetitive);
    assert_eq!(records[1].data, random);
}

#[test]
fn torn_tails_and_broken_fragments_are_told_apart() {
    let mut out = Vec::new();
    let mut page_offset = 0;
    encode_record(&mut out, &mut page_offset, b"first record", false);
    let second_start = out.len();
    let big = vec![3u8; 50_000];
    encode_record(&mut out, &mut page_offset, &big, false);
    // Cut anywhere inside the second record: torn, reported at its start.
    for cut in [
        second_start + 1,
        second_start + 10,
        PAGE_SIZE + 3,
        out.len() - 1,
    ] {
        let (records, error) = decode_all(&out[..cut]);
        assert_eq!(records.len(), 1, "cut {cut}");
        let error = error.unwrap();
        assert!(error.torn, "cut {cut}: {error:?}");
        assert_eq!(error.offset, second_start);
    }
    // Flip a payload bit: a checksum error, not torn.
    let mut flipped = out.clone();
    flipped[second_start + HEADER_SIZE + 100] ^= 0x01;
    let (records, error) = decode_all(&flipped);
    assert_eq!(records.len(), 1);
    let error = error.unwrap();
    assert!(
        !error.torn && error.reason.contains("checksum"),
        "{error:?}"
    );
    assert_eq!(error.offset, second_start);
    // Garbage in the padding of a page.
    let mut padded = Vec::new();
    let mut offset = 0;
    encode_record(&mut padded, &mut offset, b"x", false);
    pad_page(&mut padded, &mut offset);
    padded[100] = 0xff;
    let (_, error) = decode_all(&padded);
    assert!(!error.unwrap().torn);
}

proptest! {
    #[test]
    fn records_round_trip(records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..70_000), 0..6), compress: bool) {
        let mut out = Vec::new();
        let mut page_offset = 0;
        for record in &records {
            encode_record(&mut out, &mut page_offset, record, compress);
        }
        let (decoded, error) = decode_all(&out);
        prop_assert!(error.is_none());
        let decoded: Vec<Vec<u8>> = decoded.into_iter().map(|record| record.data).collect();
        prop_assert_eq!(decoded, records);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..3000)) {
        let _ = decode_all(&bytes);
    }
}
