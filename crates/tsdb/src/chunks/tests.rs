//! Tests of the chunk segment writer and reader.

use proptest::prelude::*;

use super::*;
use crate::chunkenc::Encoding;

/// The XOR chunk of `tsdb-block.md` §5.4.
const SPEC_CHUNK: [u8; 29] = [
    0x00, 0x06, 0xd0, 0x0f, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x75, 0x30, 0x97,
    0xff, 0xdb, 0x01, 0xc0, 0x00, 0xed, 0x07, 0x7f, 0xfd, 0x80, 0xef, 0xff, 0xc0,
];

fn write_segments(chunks: &[Vec<u8>], max: u64) -> (tempfile::TempDir, Vec<u64>, Vec<SegmentFile>) {
    let dir = tempfile::tempdir().unwrap();
    let chunks_dir = dir.path().join("chunks");
    let mut writer = ChunkWriter::create(&chunks_dir, max).unwrap();
    let refs = chunks
        .iter()
        .map(|data| writer.write_chunk(Encoding::Xor, data).unwrap())
        .collect();
    let files = writer.finish().unwrap();
    (dir, refs, files)
}

#[test]
fn segment_entry_matches_spec_test_vector() {
    let (dir, refs, files) = write_segments(&[SPEC_CHUNK.to_vec()], DEFAULT_SEGMENT_SIZE);
    assert_eq!(refs, vec![8]);
    assert_eq!(
        files,
        vec![SegmentFile {
            name: "000001".into(),
            size: 8 + 1 + 1 + 29 + 4
        }]
    );
    let bytes = std::fs::read(dir.path().join("chunks/000001")).unwrap();
    let mut expected = vec![0x85, 0xbd, 0x40, 0xdd, 0x01, 0, 0, 0, 0x1d, 0x01];
    expected.extend_from_slice(&SPEC_CHUNK);
    expected.extend_from_slice(&[0xec, 0x33, 0xe8, 0x24]);
    assert_eq!(bytes, expected);

    let reader = ChunkReader::open(&dir.path().join("chunks")).unwrap();
    let (encoding, data) = reader.chunk(8).unwrap();
    assert_eq!(encoding, Encoding::Xor);
    assert_eq!(data, &SPEC_CHUNK[..]);
}

#[test]
fn writer_cuts_segments_and_refs_use_file_position() {
    // Each entry is 1 + 1 + 100 + 4 = 106 bytes; 300-byte files hold 2 entries (8 + 212).
    let chunks: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 100]).collect();
    let (dir, refs, files) = write_segments(&chunks, 300);
    assert_eq!(
        refs,
        vec![
            8,
            8 + 106,
            (1 << 32) | 8,
            (1 << 32) | (8 + 106),
            (2 << 32) | 8
        ]
    );
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["000001", "000002", "000003"]);
    assert_eq!(files[0].size, 220);
    assert_eq!(files[2].size, 114);
    let reader = ChunkReader::open(&dir.path().join("chunks")).unwrap();
    assert_eq!(reader.segment_count(), 3);
    assert_eq!(reader.size(), 220 + 220 + 114);
    for (reference, data) in refs.iter().zip(&chunks) {
        assert_eq!(
            reader.chunk(*reference).unwrap(),
            (Encoding::Xor, &data[..])
        );
    }
    // A chunk bigger than the segment size still gets a file of its own.
    let (_dir, refs, files) = write_segments(&[vec![1; 10], vec![2; 500], vec![3; 10]], 100);
    assert_eq!(refs, vec![8, (1 << 32) | 8, (2 << 32) | 8]);
    assert_eq!(files.len(), 3);
}

#[test]
fn bad_references_are_errors() {
    let (dir, refs, _) = write_segments(&[SPEC_CHUNK.to_vec()], DEFAULT_SEGMENT_SIZE);
    let reader = ChunkReader::open(&dir.path().join("chunks")).unwrap();
    for reference in [0, 7, 9, refs[0] + 1000, (1 << 32) | 8, u64::MAX] {
        assert!(reader.chunk(reference).is_err(), "{reference:#x}");
    }
}

#[test]
fn unknown_encodings_are_reported() {
    let mut segment = vec![0x85, 0xbd, 0x40, 0xdd, 0x01, 0, 0, 0, 0x01, 0x04, 0xaa];
    let crc = crc32c::crc32c(&[0x04, 0xaa]);
    segment.extend_from_slice(&crc.to_be_bytes());
    let reader = ChunkReader::from_segments(vec![segment]).unwrap();
    let error = reader.chunk(8).unwrap_err().to_string();
    assert!(error.contains("unsupported chunk encoding 4"), "{error}");
}

#[test]
fn headers_are_checked() {
    assert!(ChunkReader::from_segments(vec![vec![0x85, 0xbd, 0x40]]).is_err());
    assert!(ChunkReader::from_segments(vec![vec![0x85, 0xbd, 0x40, 0xde, 1, 0, 0, 0]]).is_err());
    assert!(ChunkReader::from_segments(vec![vec![0x85, 0xbd, 0x40, 0xdd, 2, 0, 0, 0]]).is_err());
    assert!(ChunkReader::from_segments(vec![vec![0x85, 0xbd, 0x40, 0xdd, 1, 0, 0, 0]]).is_ok());
}

fn spec_segment() -> Vec<u8> {
    let mut segment = vec![0x85, 0xbd, 0x40, 0xdd, 0x01, 0, 0, 0, 0x1d, 0x01];
    segment.extend_from_slice(&SPEC_CHUNK);
    segment.extend_from_slice(&[0xec, 0x33, 0xe8, 0x24]);
    segment
}

proptest! {
    #[test]
    fn arbitrary_segments_never_panic(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..64),
        with_header: bool,
        reference in any::<u64>(),
        small in 0u64..72,
    ) {
        if with_header {
            // A valid header lets the entry parser see the garbage.
            bytes.splice(0..0, [0x85, 0xbd, 0x40, 0xdd, 0x01, 0, 0, 0]);
        }
        if let Ok(reader) = ChunkReader::from_segments(vec![bytes]) {
            let _ = reader.chunk(8);
            let _ = reader.chunk(reference);
            let _ = reader.chunk(small);
        }
    }

    #[test]
    fn damaged_segments_are_errors(index in 0usize..43, bit in 0u8..8, cut in 0usize..43) {
        let mut flipped = spec_segment();
        flipped[index] ^= 1 << bit;
        let result = ChunkReader::from_segments(vec![flipped]).and_then(|r| r.chunk(8).map(|_| ()));
        // Only the three header padding bytes are not checked (Prometheus ignores them too).
        prop_assert_eq!(result.is_ok(), (5..8).contains(&index));

        let mut truncated = spec_segment();
        truncated.truncate(cut);
        let result = ChunkReader::from_segments(vec![truncated]).and_then(|r| r.chunk(8).map(|_| ()));
        prop_assert!(result.is_err());
    }
}
