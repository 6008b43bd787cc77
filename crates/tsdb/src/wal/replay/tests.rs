use std::path::Path;

use super::*;
use crate::wal::framing::SegmentDecoder;
use crate::wal::segments::segment_path;
use crate::wal::writer::{Wal, WalOptions};

fn uncompressed() -> WalOptions {
    WalOptions {
        compress: false,
        ..WalOptions::default()
    }
}

fn record(i: usize, len: usize) -> Vec<u8> {
    let mut data = format!("record {i}:").into_bytes();
    data.extend((0..len).map(|j| ((i * 31 + j * 7) % 251) as u8));
    data
}

fn collect(dir: &Path) -> Result<(Vec<Vec<u8>>, ReplayStats)> {
    let mut records = Vec::new();
    let stats = replay(dir, &mut |record| {
        records.push(record.to_vec());
        Ok(())
    })?;
    Ok((records, stats))
}

/// Writes `records` into one segment (no close: the last page stays unpadded, as after a
/// crash) and returns the segment path and each record's offset.
fn write_segment(dir: &Path, records: &[Vec<u8>]) -> (PathBuf, Vec<usize>) {
    let wal = Wal::open(dir, uncompressed()).unwrap();
    let index = wal.current_segment();
    for record in records {
        wal.log(&[record]).unwrap();
    }
    drop(wal);
    let path = segment_path(dir, index);
    let bytes = fs::read(&path).unwrap();
    let mut decoder = SegmentDecoder::new(&bytes);
    let mut offsets = Vec::new();
    while let Some(result) = decoder.next_record() {
        offsets.push(result.unwrap().offset);
    }
    assert_eq!(offsets.len(), records.len());
    (path, offsets)
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

fn assert_corruption(error: Error, path: &Path, offset: usize) {
    match error {
        Error::WalCorruption {
            segment,
            offset: at,
            ..
        } => {
            assert_eq!(segment, path);
            assert_eq!(at, offset);
        }
        other => panic!("expected WalCorruption, got {other:?}"),
    }
}

/// After a tail repair: the earlier records come back, the file ends at the damaged record
/// (zero-filled to the page boundary), the repair is reported, and a second open + replay is
/// clean.
fn assert_tail_repaired(
    dir: &Path,
    path: &Path,
    records: &[Vec<u8>],
    damaged: usize,
    offset: usize,
    original_len: usize,
) {
    let (replayed, stats) = collect(dir).unwrap();
    assert_eq!(replayed, records[..damaged]);
    let repair = stats.repaired_tail.expect("a tail repair");
    assert_eq!(repair.segment, path);
    assert_eq!(repair.offset, offset);
    assert_eq!(repair.bytes_dropped, (original_len - offset) as u64);
    let bytes = fs::read(path).unwrap();
    assert_eq!(bytes.len(), offset.div_ceil(PAGE_SIZE) * PAGE_SIZE);
    assert!(bytes[offset..].iter().all(|byte| *byte == 0));

    let wal = Wal::open(dir, uncompressed()).unwrap();
    wal.log(&[b"after restart"]).unwrap();
    wal.close().unwrap();
    let (replayed, stats) = collect(dir).unwrap();
    assert_eq!(replayed.len(), damaged + 1);
    assert_eq!(replayed[..damaged], records[..damaged]);
    assert_eq!(replayed[damaged], b"after restart");
    assert_eq!(stats.repaired_tail, None);
}

#[test]
fn a_missing_directory_replays_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (records, stats) = collect(&dir.path().join("absent")).unwrap();
    assert!(records.is_empty());
    assert_eq!(stats, ReplayStats::default());
}

#[test]
fn replays_the_checkpoint_then_the_segments_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    for i in 0..4u8 {
        wal.log(&[format!("segment {i}").as_bytes()]).unwrap();
        wal.next_segment().unwrap();
    }
    wal.log(&[b"segment 4"]).unwrap();
    wal.close().unwrap();
    // An older checkpoint (ignored) and the newest one, covering segments 0 and 1.
    for (index, records) in [(0u32, vec!["old"]), (1, vec!["cp a", "cp b"])] {
        let checkpoint = Wal::open(
            &dir.path().join(format!("checkpoint.{index:08}")),
            WalOptions::default(),
        )
        .unwrap();
        for record in records {
            checkpoint.log(&[record.as_bytes()]).unwrap();
        }
        checkpoint.close().unwrap();
    }
    fs::create_dir(dir.path().join("checkpoint.00000007.tmp")).unwrap();
    fs::write(dir.path().join("checkpoint.00000007.tmp/00000000"), b"junk").unwrap();
    fs::write(dir.path().join("lock"), b"").unwrap();

    let (records, stats) = collect(dir.path()).unwrap();
    let text: Vec<String> = records
        .iter()
        .map(|record| String::from_utf8_lossy(record).into_owned())
        .collect();
    assert_eq!(
        text,
        ["cp a", "cp b", "segment 2", "segment 3", "segment 4"]
    );
    assert_eq!(stats.checkpoint, Some(1));
    assert_eq!(stats.checkpoint_segments, 1);
    assert_eq!(stats.segments, 3);
    assert_eq!(stats.records, 5);
    assert_eq!(stats.removed_temp_checkpoints, 1);
    assert!(stats.bytes > 0);
    assert!(
        !dir.path().join("checkpoint.00000007.tmp").exists(),
        "leftover temporary checkpoint deleted"
    );
}

#[test]
fn visit_errors_abort_replay_as_is() {
    let dir = tempfile::tempdir().unwrap();
    write_segment(dir.path(), &[record(0, 10), record(1, 10), record(2, 10)]);
    let mut seen = 0;
    let error = replay(dir.path(), &mut |_| {
        seen += 1;
        if seen == 2 {
            Err(Error::corrupt("test visitor", "stop here"))
        } else {
            Ok(())
        }
    })
    .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Corrupt {
                what: "test visitor",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(seen, 2);
}

/// (1) The file ends in the middle of the last record: a write cut short by a crash.
#[test]
fn a_torn_last_record_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Vec<u8>> = (0..10).map(|i| record(i, 1000)).collect();
    let (path, offsets) = write_segment(dir.path(), &records);
    let len = fs::metadata(&path).unwrap().len() as usize;
    let cut = len - 500;
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut as u64)
        .unwrap();
    assert_tail_repaired(dir.path(), &path, &records, 9, offsets[9], cut);
}

/// (1b) A last record spanning pages, torn after its first fragment.
#[test]
fn a_torn_multi_page_record_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut records: Vec<Vec<u8>> = (0..5).map(|i| record(i, 3000)).collect();
    records.push(record(5, 100_000));
    let (path, offsets) = write_segment(dir.path(), &records);
    let cut = 2 * PAGE_SIZE + 100;
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut as u64)
        .unwrap();
    assert_tail_repaired(dir.path(), &path, &records, 5, offsets[5], cut);
}

/// (2) A bit flip in the last record.
#[test]
fn a_bit_flip_in_the_last_record_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Vec<u8>> = (0..10).map(|i| record(i, 1000)).collect();
    let (path, offsets) = write_segment(dir.path(), &records);
    let len = fs::metadata(&path).unwrap().len() as usize;
    flip(&path, offsets[9] + 200);
    assert_tail_repaired(dir.path(), &path, &records, 9, offsets[9], len);
}

/// (2b) A bit flip in the middle fragment of a last record spanning three pages: its last
/// fragment is intact but is no record on its own.
#[test]
fn a_bit_flip_in_a_multi_page_last_record_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut records: Vec<Vec<u8>> = (0..3).map(|i| record(i, 500)).collect();
    records.push(record(3, 70_000));
    let (path, offsets) = write_segment(dir.path(), &records);
    let len = fs::metadata(&path).unwrap().len() as usize;
    flip(&path, PAGE_SIZE + 1000);
    assert_tail_repaired(dir.path(), &path, &records, 3, offsets[3], len);
}

/// (3) A bit flip in an early record of the last segment, valid records after it: refuse,
/// name the segment and offset, touch nothing.
#[test]
fn a_bit_flip_followed_by_valid_records_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Vec<u8>> = (0..10).map(|i| record(i, 1000)).collect();
    let (path, offsets) = write_segment(dir.path(), &records);
    // In the payload of record 2 (same page as the records after it) …
    flip(&path, offsets[2] + 100);
    let before = fs::read(&path).unwrap();
    let error = collect(dir.path()).unwrap_err();
    assert_corruption(error, &path, offsets[2]);
    assert_eq!(fs::read(&path).unwrap(), before, "files are left untouched");
    // … and in its length field, which hides where the next record starts.
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_segment(dir.path(), &records);
    flip(&path, offsets[2] + 2);
    let before = fs::read(&path).unwrap();
    let error = collect(dir.path()).unwrap_err();
    assert_corruption(error, &path, offsets[2]);
    assert_eq!(fs::read(&path).unwrap(), before);
}

/// (3b) Damage in one page, valid records only in a later page.
#[test]
fn damage_followed_by_valid_records_in_a_later_page_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Vec<u8>> = (0..8).map(|i| record(i, 10_000)).collect();
    let (path, offsets) = write_segment(dir.path(), &records);
    // Record 3 starts in page 0 and continues into page 1, where the next records are; break
    // its checksum.
    assert!(offsets[3] < PAGE_SIZE && offsets[4] > PAGE_SIZE);
    flip(&path, offsets[3] + 4);
    let before = fs::read(&path).unwrap();
    let error = collect(dir.path()).unwrap_err();
    assert_corruption(error, &path, offsets[3]);
    assert_eq!(fs::read(&path).unwrap(), before);
}

/// (4) Damage in a segment that is not the last one is corruption even at its tail.
#[test]
fn damage_in_an_earlier_segment_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Vec<u8>> = (0..4).map(|i| record(i, 100)).collect();
    let (first, offsets) = write_segment(dir.path(), &records);
    write_segment(dir.path(), &records);
    let len = fs::metadata(&first).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&first)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let before = fs::read(&first).unwrap();
    let error = collect(dir.path()).unwrap_err();
    assert_corruption(error, &first, offsets[3]);
    assert_eq!(fs::read(&first).unwrap(), before);
}

/// (5) A gap in segment numbers.
#[test]
fn a_gap_in_segment_numbers_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..3 {
        write_segment(dir.path(), &[record(0, 10)]);
    }
    fs::remove_file(segment_path(dir.path(), 1)).unwrap();
    let error = collect(dir.path()).unwrap_err();
    assert_corruption(error, &segment_path(dir.path(), 2), 0);

    // A checkpoint must be followed by the segment right after it.
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..4 {
        write_segment(dir.path(), &[record(0, 10)]);
    }
    Wal::open(
        &dir.path().join("checkpoint.00000001"),
        WalOptions::default(),
    )
    .unwrap()
    .close()
    .unwrap();
    fs::remove_file(segment_path(dir.path(), 2)).unwrap();
    let error = collect(dir.path()).unwrap_err();
    assert_corruption(error, &segment_path(dir.path(), 3), 0);
}

#[test]
fn damage_inside_a_checkpoint_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint.00000000");
    let (path, offsets) = write_segment(&checkpoint, &[record(0, 100), record(1, 100)]);
    write_segment(dir.path(), &[record(0, 10)]);
    write_segment(dir.path(), &[record(1, 10)]);
    flip(&path, offsets[1] + 50);
    let before = fs::read(&path).unwrap();
    let error = collect(dir.path()).unwrap_err();
    assert_corruption(error, &path, offsets[1]);
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn a_segment_of_garbage_after_a_good_prefix_is_a_tail() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Vec<u8>> = (0..3).map(|i| record(i, 100)).collect();
    let (path, _) = write_segment(dir.path(), &records);
    let mut bytes = fs::read(&path).unwrap();
    let good = bytes.len();
    // Garbage that never forms a fragment with a matching checksum.
    bytes.extend((0..3 * PAGE_SIZE).map(|i| (i % 253) as u8 | 0x80));
    fs::write(&path, &bytes).unwrap();
    assert_tail_repaired(dir.path(), &path, &records, 3, good, bytes.len());
}

#[test]
fn find_valid_record_skips_intact_fragments_of_the_damaged_record() {
    let mut out = Vec::new();
    let mut page_offset = 0;
    let big = record(0, 50_000);
    crate::wal::framing::encode_record(&mut out, &mut page_offset, &big, false);
    assert_eq!(find_valid_record(&out, 0), Some(0));
    // Break the FIRST fragment: the intact LAST fragment alone is no record.
    out[100] ^= 1;
    assert_eq!(find_valid_record(&out, 0), None);
    crate::wal::framing::encode_record(&mut out, &mut page_offset, b"next", false);
    let next = out.len() - HEADER_SIZE - 4;
    assert_eq!(find_valid_record(&out, 0), Some(next));
}

/// A last record whose checksums match but which cannot be read (here: flagged zstd, which
/// Norn does not decompress) was written whole: refuse instead of cutting it off.
#[test]
fn an_intact_but_unreadable_last_record_is_not_a_tail() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Vec<u8>> = (0..3).map(|i| record(i, 100)).collect();
    let (path, offsets) = write_segment(dir.path(), &records);
    let mut bytes = fs::read(&path).unwrap();
    bytes[offsets[2]] |= 0x10; // The zstd flag; the CRC covers only the payload.
    fs::write(&path, &bytes).unwrap();
    let error = collect(dir.path()).unwrap_err();
    assert_corruption(error, &path, offsets[2]);
    assert_eq!(fs::read(&path).unwrap(), bytes, "files are left untouched");
}

mod damage {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever single byte flip or truncation hits the last segment, replay never panics
        /// and never returns anything but a prefix of what was written; a repaired WAL then
        /// replays cleanly to the same records.
        #[test]
        fn replay_returns_a_prefix_or_refuses(
            lens in proptest::collection::vec(0usize..40_000, 1..8),
            position in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
            mask in 1u8..=255,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let records: Vec<Vec<u8>> =
                lens.iter().enumerate().map(|(i, len)| record(i, *len)).collect();
            let (path, _) = write_segment(dir.path(), &records);
            let mut bytes = fs::read(&path).unwrap();
            let at = position.index(bytes.len());
            if truncate {
                bytes.truncate(at);
            } else {
                bytes[at] ^= mask;
            }
            fs::write(&path, &bytes).unwrap();
            match collect(dir.path()) {
                Ok((replayed, stats)) => {
                    prop_assert!(replayed.len() <= records.len());
                    prop_assert_eq!(&replayed[..], &records[..replayed.len()]);
                    if stats.repaired_tail.is_some() {
                        let (again, stats) = collect(dir.path()).unwrap();
                        prop_assert_eq!(again, replayed);
                        prop_assert!(stats.repaired_tail.is_none());
                    }
                }
                Err(Error::WalCorruption { segment, .. }) => {
                    prop_assert_eq!(segment, path.clone());
                    prop_assert_eq!(fs::read(&path).unwrap(), bytes);
                }
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }
    }
}
