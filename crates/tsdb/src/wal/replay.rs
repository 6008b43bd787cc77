//! Reading a WAL directory back on startup (`wal.md` §6, §7): the newest checkpoint, then the
//! segments after it, with repair of a damaged tail.
//!
//! [`replay`] hands every record, in WAL order, to a callback (the head decodes it with
//! [`super::record::decode`]). Damage is classified by *where it is and what follows it*:
//!
//! - In the **last** segment, a torn or broken record with no valid record anywhere after it
//!   is a tail: what a crash leaves when it interrupts a write (the data was never
//!   acknowledged, or under [`super::SyncPolicy::Never`] was lost with the page cache). It is
//!   cut off — the segment is truncated at the damaged record's first byte and the rest of
//!   that page zero-filled — and reported with a warning and in [`ReplayStats`].
//! - Anything else — damage in a checkpoint or in an earlier segment, damage followed by a
//!   record that still decodes, a gap in segment numbers — is [`Error::WalCorruption`]: cutting
//!   there would silently drop acknowledged data, so the engine refuses to start and an
//!   operator decides. Nothing is modified in that case.
//!
//! Truncating instead of Prometheus's re-logging: Prometheus renames the segment, re-logs the
//! records before the damage into a fresh file and pads its last page. Records never change
//! bytes when re-logged at the same positions, so the result is the same file as truncating at
//! the damaged record and zero-filling the rest of its page, which is what Norn does, in
//! place and without a second copy of the segment. Unlike Prometheus, Norn never deletes later
//! segments or data after damage that is not a tail.
//!
//! "A valid record after the damage" is searched for by scanning the rest of the segment:
//! every position that holds a plausible `FULL` or `FIRST` fragment header with a matching
//! CRC32C is tried as a record start (a `FULL` fragment, or a `FIRST` … `LAST` chain, all
//! checksums matching), intact fragments are stepped over whole and zero runs skipped, so the
//! scan is linear in the data after the damage for a damaged tail (which is short) and stops
//! at the first good record otherwise. This finds records in the same page as the damage too,
//! which resynchronising only at 32 KiB page boundaries would miss. Decompression is not
//! part of the test: a record whose checksums all match was written whole, so if it cannot be
//! read (a zstd-compressed record from a Prometheus WAL, which Norn does not read, or a snappy
//! stream that does not decompress) that is never treated as a torn tail and nothing is cut.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use super::framing::{FrameError, HEADER_SIZE, PAGE_SIZE, SegmentDecoder};
use super::segments::{
    SegmentFile, check_consecutive, gap_error, last_checkpoint, list_segments,
    remove_temp_checkpoints,
};
use crate::error::{Error, Result};

/// What [`replay`] read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records handed to the callback (checkpoint and segments).
    pub records: u64,
    /// Bytes of segment files read (checkpoint and segments, before repair).
    pub bytes: u64,
    /// WAL segments read after the checkpoint.
    pub segments: u32,
    /// Index of the checkpoint replayed first, if there was one.
    pub checkpoint: Option<u32>,
    /// Segment files read inside that checkpoint.
    pub checkpoint_segments: u32,
    /// `checkpoint.*.tmp` leftovers deleted.
    pub removed_temp_checkpoints: u32,
    /// The damaged tail that was cut off, if any.
    pub repaired_tail: Option<TailRepair>,
}

/// A damaged tail cut off the last segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailRepair {
    /// The segment file.
    pub segment: PathBuf,
    /// Offset of the first dropped byte: the start of the damaged record. The file now ends
    /// there, zero-filled to the next page boundary.
    pub offset: usize,
    /// Bytes of the original file from `offset` on that were dropped.
    pub bytes_dropped: u64,
    /// Why the data there was unreadable (torn write, checksum, …).
    pub reason: String,
}

/// Replays the WAL in `dir` into `visit`: the newest `checkpoint.N` first (any damage inside
/// it is fatal: [`Error::WalCorruption`]), then segments `N+1..=last` in order, which must be
/// consecutive (a gap is [`Error::WalCorruption`] naming the segment after it). Leftover
/// `checkpoint.*.tmp` directories are deleted first.
///
/// A torn or broken record in the last segment with no valid record after it is cut off (see
/// the [module documentation](self)) and reported in [`ReplayStats::repaired_tail`]; any other
/// damage returns [`Error::WalCorruption`] naming the segment file and offset, leaving every
/// file as it was. Records before the damage have been visited by then. Errors returned by
/// `visit` abort replay and are returned as-is. A missing `dir` replays nothing.
///
/// Each segment is read into memory whole (up to the segment size, 128 MiB by default). Call
/// this before [`super::Wal::open`], which starts a new segment after the last one.
pub fn replay(dir: &Path, visit: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    match fs::metadata(dir) {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(stats),
        Err(error) => return Err(Error::io("stat", dir, error)),
    }
    stats.removed_temp_checkpoints = remove_temp_checkpoints(dir)? as u32;

    let mut first_expected = None;
    if let Some((index, path)) = last_checkpoint(dir)? {
        let segments = list_segments(&path)?;
        check_consecutive(&segments)?;
        for segment in &segments {
            let bytes = read_segment(segment)?;
            stats.bytes += bytes.len() as u64;
            let mut decoder = SegmentDecoder::new(&bytes);
            while let Some(result) = decoder.next_record() {
                let record = result.map_err(|error| corruption(segment, error))?;
                visit(&record.data)?;
                stats.records += 1;
            }
        }
        stats.checkpoint = Some(index);
        stats.checkpoint_segments = segments.len() as u32;
        // A checkpoint of segment u32::MAX leaves nothing to replay after it.
        first_expected = Some(index.checked_add(1));
    }

    let segments: Vec<SegmentFile> = list_segments(dir)?
        .into_iter()
        .filter(|segment| match first_expected {
            None => true,
            Some(None) => false,
            Some(Some(first)) => segment.index >= first,
        })
        .collect();
    if let (Some(Some(expected)), Some(first)) = (first_expected, segments.first())
        && first.index != expected
    {
        return Err(gap_error(first, expected));
    }
    check_consecutive(&segments)?;

    for (position, segment) in segments.iter().enumerate() {
        let is_last = position + 1 == segments.len();
        let bytes = read_segment(segment)?;
        stats.bytes += bytes.len() as u64;
        stats.segments += 1;
        let mut decoder = SegmentDecoder::new(&bytes);
        while let Some(result) = decoder.next_record() {
            match result {
                Ok(record) => {
                    visit(&record.data)?;
                    stats.records += 1;
                }
                Err(error) => {
                    if !is_last {
                        return Err(corruption(segment, error));
                    }
                    if let Some(valid) = find_valid_record(&bytes, error.offset) {
                        let reason = if valid == error.offset {
                            format!(
                                "{}; the record's checksums match, so it is no torn write",
                                error.reason
                            )
                        } else {
                            format!("{}; a valid record follows at offset {valid}", error.reason)
                        };
                        return Err(Error::WalCorruption {
                            segment: segment.path.clone(),
                            offset: error.offset,
                            reason,
                        });
                    }
                    stats.repaired_tail = Some(cut_tail(segment, bytes.len(), error)?);
                }
            }
        }
    }
    Ok(stats)
}

fn read_segment(segment: &SegmentFile) -> Result<Vec<u8>> {
    fs::read(&segment.path).map_err(|error| Error::io("read", &segment.path, error))
}

fn corruption(segment: &SegmentFile, error: FrameError) -> Error {
    Error::WalCorruption {
        segment: segment.path.clone(),
        offset: error.offset,
        reason: error.reason,
    }
}

/// Truncates the segment at the damaged record, zero-fills the rest of that page and fsyncs.
fn cut_tail(segment: &SegmentFile, len: usize, error: FrameError) -> Result<TailRepair> {
    let offset = error.offset.min(len);
    let padded = offset.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    let file = OpenOptions::new()
        .write(true)
        .open(&segment.path)
        .map_err(|error| Error::io("open", &segment.path, error))?;
    file.set_len(offset as u64)
        .and_then(|()| file.set_len(padded as u64))
        .and_then(|()| file.sync_all())
        .map_err(|error| Error::io("truncate", &segment.path, error))?;
    let repair = TailRepair {
        segment: segment.path.clone(),
        offset,
        bytes_dropped: (len - offset) as u64,
        reason: error.reason,
    };
    tracing::warn!(
        segment = %repair.segment.display(),
        offset = repair.offset,
        bytes_dropped = repair.bytes_dropped,
        torn = error.torn,
        reason = %repair.reason,
        "WAL: cut off the damaged tail of the last segment (a write interrupted by a crash)"
    );
    Ok(repair)
}

const TYPE_MASK: u8 = 0x07;
const FLAGS: u8 = 0x08 | 0x10;
const FULL: u8 = 1;
const FIRST: u8 = 2;
const MIDDLE: u8 = 3;
const LAST: u8 = 4;

/// If `bytes[at..]` starts with a fragment whose header is plausible and whose payload
/// matches its CRC32C, returns its type and end offset.
fn intact_fragment(bytes: &[u8], at: usize) -> Option<(u8, usize)> {
    let header = bytes.get(at..at + HEADER_SIZE)?;
    let type_byte = header[0];
    let kind = type_byte & TYPE_MASK;
    if kind == 0 || kind > LAST || type_byte & !(TYPE_MASK | FLAGS) != 0 {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([header[1], header[2]]));
    let page_left = PAGE_SIZE - at % PAGE_SIZE;
    if HEADER_SIZE + length > page_left {
        return None;
    }
    // FIRST and MIDDLE fragments always run to the end of their page.
    if kind != FULL && kind != LAST && HEADER_SIZE + length != page_left {
        return None;
    }
    let end = at + HEADER_SIZE + length;
    let payload = bytes.get(at + HEADER_SIZE..end)?;
    let checksum = u32::from_be_bytes([header[3], header[4], header[5], header[6]]);
    (crc32c::crc32c(payload) == checksum).then_some((kind, end))
}

/// Returns true if a complete record starts at `at`: a `FULL` fragment, or a `FIRST`
/// fragment followed by `MIDDLE`s and a `LAST`, all with matching checksums. Whether the
/// record then decompresses is not checked: a record whose checksums hold was written whole,
/// so failing to read it is not a torn write.
fn intact_record_at(bytes: &[u8], at: usize) -> bool {
    match intact_fragment(bytes, at) {
        Some((FULL, _)) => true,
        Some((FIRST, mut end)) => loop {
            match intact_fragment(bytes, end) {
                Some((MIDDLE, next)) => end = next,
                Some((LAST, _)) => return true,
                _ => return false,
            }
        },
        _ => false,
    }
}

/// Returns the offset of the first complete record ([`intact_record_at`]) at or after
/// `from`.
fn find_valid_record(bytes: &[u8], from: usize) -> Option<usize> {
    let mut position = from;
    while position < bytes.len() {
        if bytes[position] == 0 {
            // Zero bytes never start a fragment: jump to the next non-zero byte.
            position = bytes[position..]
                .iter()
                .position(|byte| *byte != 0)
                .map_or(bytes.len(), |skip| position + skip);
            continue;
        }
        match intact_fragment(bytes, position) {
            Some((kind, end)) => {
                if (kind == FULL || kind == FIRST) && intact_record_at(bytes, position) {
                    return Some(position);
                }
                position = end;
            }
            None => position += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests;
