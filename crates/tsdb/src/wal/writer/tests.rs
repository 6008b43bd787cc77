use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::wal::framing::{HEADER_SIZE, SegmentDecoder};
use crate::wal::replay::replay;

fn options(segment_size: usize, compress: bool, sync: SyncPolicy) -> WalOptions {
    WalOptions {
        segment_size,
        compress,
        sync,
    }
}

/// Decodes every record of one segment file, failing on any damage.
fn segment_records(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let mut decoder = SegmentDecoder::new(&bytes);
    let mut records = Vec::new();
    while let Some(result) = decoder.next_record() {
        records.push(result.unwrap().data);
    }
    records
}

fn replay_all(dir: &Path) -> Vec<Vec<u8>> {
    let mut records = Vec::new();
    replay(dir, &mut |record| {
        records.push(record.to_vec());
        Ok(())
    })
    .unwrap();
    records
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

#[test]
fn wal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wal>();
}

#[test]
fn defaults_are_prometheus_defaults() {
    let defaults = WalOptions::default();
    assert_eq!(defaults.segment_size, 128 * 1024 * 1024);
    assert!(defaults.compress);
    assert_eq!(defaults.sync, SyncPolicy::Never);
}

#[test]
fn segment_size_must_be_whole_pages() {
    let dir = tempfile::tempdir().unwrap();
    for size in [0, PAGE_SIZE - 1, PAGE_SIZE + 1] {
        let error = Wal::open(dir.path(), options(size, true, SyncPolicy::Never)).unwrap_err();
        assert!(matches!(error, Error::Io { .. }), "{error}");
    }
    assert!(Wal::open(dir.path(), options(PAGE_SIZE, true, SyncPolicy::Never)).is_ok());
}

/// Records larger than a page are split into FIRST/MIDDLE/LAST fragments; the partially
/// filled page is written (not padded) when `log` returns and the next call continues it.
#[test]
fn records_split_across_pages_and_partial_pages_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        dir.path(),
        WalOptions {
            compress: false,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let big = pattern(100_000, 1);
    let small = b"small record".to_vec();
    wal.log(&[&small]).unwrap();
    let path = dir.path().join("00000000");
    assert_eq!(
        std::fs::metadata(&path).unwrap().len() as usize,
        HEADER_SIZE + small.len(),
        "written without padding as soon as log returns"
    );
    wal.log(&[&big, &small]).unwrap();
    // 100 000 bytes from offset 19: FIRST fills page 0, MIDDLE fills pages 1 and 2, LAST ends
    // in page 3, and the small record follows it in the same page.
    let bytes = std::fs::read(&path).unwrap();
    let first = HEADER_SIZE + small.len();
    assert_eq!(bytes[first] & 0x07, 2, "FIRST fragment");
    assert_eq!(bytes[PAGE_SIZE] & 0x07, 3, "MIDDLE fragment");
    assert_eq!(bytes[2 * PAGE_SIZE] & 0x07, 3, "MIDDLE fragment");
    assert_eq!(bytes[3 * PAGE_SIZE] & 0x07, 4, "LAST fragment");
    let payload_in_full_pages = 3 * (PAGE_SIZE - HEADER_SIZE) - first;
    let last_len = big.len() - payload_in_full_pages;
    assert_eq!(
        bytes.len(),
        3 * PAGE_SIZE + HEADER_SIZE + last_len + HEADER_SIZE + small.len()
    );
    assert_eq!(
        segment_records(&path),
        vec![small.clone(), big.clone(), small.clone()]
    );
    let stats = wal.stats();
    assert_eq!(stats.records_written, 3);
    assert_eq!(stats.bytes_written, bytes.len() as u64);
    assert_eq!(stats.record_bytes, (2 * small.len() + big.len()) as u64);

    // Closing pads the last page.
    wal.close().unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len() as usize,
        4 * PAGE_SIZE
    );
    assert!(wal.log(&[&small]).is_err(), "closed");
    wal.close().unwrap();
}

/// A record that does not fit in what is left of a segment starts the next one (the
/// finished segment padded to whole pages); a record larger than a segment gets its own.
#[test]
fn a_record_that_does_not_fit_starts_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let segment_size = 2 * PAGE_SIZE;
    let wal = Wal::open(dir.path(), options(segment_size, false, SyncPolicy::Never)).unwrap();
    let records: Vec<Vec<u8>> = (0..12).map(|i| pattern(20_000, i)).collect();
    for record in &records[..6] {
        wal.log(&[record]).unwrap();
    }
    // The second half in one call: the call itself crosses segment boundaries.
    let batch: Vec<&[u8]> = records[6..].iter().map(Vec::as_slice).collect();
    wal.log(&batch).unwrap();
    let huge = pattern(3 * PAGE_SIZE, 99);
    wal.log(&[&huge]).unwrap();
    wal.log(&[b"tail"]).unwrap();
    wal.close().unwrap();

    let segments = list_segments(dir.path()).unwrap();
    // Three 20 000-byte records fit in 64 KiB (60 028 bytes with headers), a fourth does not.
    let mut seen = Vec::new();
    for segment in &segments {
        let len = std::fs::metadata(&segment.path).unwrap().len() as usize;
        assert_eq!(len % PAGE_SIZE, 0, "finished segments are padded");
        let in_segment = segment_records(&segment.path);
        if in_segment.contains(&huge) {
            assert_eq!(in_segment, vec![huge.clone()], "the huge record is alone");
            assert!(len > segment_size);
        } else {
            assert!(len <= segment_size, "{len}");
        }
        seen.extend(in_segment);
    }
    let mut expected = records.clone();
    expected.push(huge.clone());
    expected.push(b"tail".to_vec());
    assert_eq!(seen, expected, "every record whole, in order");
    assert_eq!(
        segments.len(),
        4 + 1 + 1,
        "4×3 records, the huge one, the tail"
    );
    assert_eq!(
        segment_records(&segments[0].path).len(),
        3,
        "a segment is filled before the next starts"
    );
    assert_eq!(wal.stats().segments_created, segments.len() as u64);
    assert_eq!(replay_all(dir.path()), expected);
}

#[test]
fn reopening_always_starts_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.current_segment(), 0);
    wal.log(&[b"one"]).unwrap();
    drop(wal); // no close: the page stays unpadded, as after a crash.

    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.current_segment(), 1);
    assert_eq!(wal.segment_range().unwrap(), Some((0, 1)));
    wal.log(&[b"two"]).unwrap();
    wal.close().unwrap();

    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    assert_eq!(wal.current_segment(), 2, "even after a clean close");
    wal.close().unwrap();
    assert_eq!(
        replay_all(dir.path()),
        vec![b"one".to_vec(), b"two".to_vec()]
    );
    assert_eq!(
        std::fs::read(dir.path().join("00000000")).unwrap().len(),
        HEADER_SIZE + 3,
        "an existing segment is never appended to"
    );
}

#[test]
fn next_segment_and_truncate() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), WalOptions::default()).unwrap();
    for i in 0..4u8 {
        wal.log(&[&[i]]).unwrap();
        assert_eq!(wal.next_segment().unwrap(), u32::from(i) + 1);
    }
    assert_eq!(wal.segment_range().unwrap(), Some((0, 4)));
    assert_eq!(
        std::fs::metadata(dir.path().join("00000000"))
            .unwrap()
            .len() as usize,
        PAGE_SIZE,
        "the finished segment's last page is padded"
    );
    wal.truncate(2).unwrap();
    assert_eq!(wal.segment_range().unwrap(), Some((2, 4)));
    // The segment being written is never deleted.
    wal.truncate(100).unwrap();
    assert_eq!(wal.segment_range().unwrap(), Some((4, 4)));
    let stats = wal.stats();
    assert_eq!(stats.truncations, 2);
    assert_eq!(stats.segments_deleted, 4);
    assert_eq!(stats.current_segment, 4);
    assert_eq!(stats.segments_created, 5);
}

#[test]
fn compression_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(4 * PAGE_SIZE, true, SyncPolicy::Never)).unwrap();
    let compressible = vec![7u8; 200_000];
    let random = pattern(50_000, 3);
    wal.log(&[&compressible, &random, b""]).unwrap();
    wal.close().unwrap();
    assert_eq!(
        replay_all(dir.path()),
        vec![compressible, random, Vec::new()]
    );
    assert!(wal.stats().bytes_written < 200_000, "{:?}", wal.stats());
}

/// Many threads logging with `SyncPolicy::Always`: every record is replayed, each thread's in
/// the order it logged them, and fsyncs are shared.
#[test]
fn group_commit_with_many_threads() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 150;
    let dir = tempfile::tempdir().unwrap();
    // Small segments so cuts happen while others wait for fsyncs.
    let wal =
        Arc::new(Wal::open(dir.path(), options(2 * PAGE_SIZE, true, SyncPolicy::Always)).unwrap());
    let handles: Vec<_> = (0..THREADS)
        .map(|thread| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let mut record = format!("{thread}:{i}:").into_bytes();
                    record.extend(pattern(300 + (i * 37) % 700, (thread * 1000 + i) as u32));
                    let batch: [&[u8]; 2] = [&record, &record];
                    wal.log(&batch).unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let stats = wal.stats();
    wal.close().unwrap();
    assert_eq!(stats.records_written, (2 * THREADS * PER_THREAD) as u64);
    assert!(stats.fsyncs >= 1);
    assert!(
        stats.fsyncs <= (THREADS * PER_THREAD) as u64 + stats.segments_created,
        "{stats:?}"
    );
    assert!(stats.segments_created > 2, "{stats:?}");

    let mut next: HashMap<usize, usize> = HashMap::new();
    let records = replay_all(dir.path());
    assert_eq!(records.len(), 2 * THREADS * PER_THREAD);
    for pair in records.chunks(2) {
        assert_eq!(pair[0], pair[1], "a call's records are contiguous");
        let text = String::from_utf8_lossy(&pair[0]);
        let mut parts = text.splitn(3, ':');
        let thread: usize = parts.next().unwrap().parse().unwrap();
        let i: usize = parts.next().unwrap().parse().unwrap();
        let expected = next.entry(thread).or_insert(0);
        assert_eq!(i, *expected, "thread {thread} out of order");
        *expected += 1;
    }
    assert!(next.values().all(|count| *count == PER_THREAD));
}

#[test]
fn empty_log_calls_are_no_ops() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), options(PAGE_SIZE, true, SyncPolicy::Always)).unwrap();
    wal.log(&[]).unwrap();
    assert_eq!(wal.stats().fsyncs, 0);
    assert_eq!(wal.stats().bytes_written, 0);
}
