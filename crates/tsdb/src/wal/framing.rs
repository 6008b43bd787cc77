//! Records ↔ fragments on 32 KiB pages, as Prometheus's `wlog` writes and reads them.
//!
//! [`encode_record`] appends the fragments of a record to a buffer that continues a page at a
//! known offset. [`SegmentDecoder`] walks a segment's bytes and returns each record with the
//! offset it starts at, or a [`FrameError`] that says where and why the data stops making sense
//! and whether the damage is a torn write (the data simply ends inside a record) or a broken
//! fragment (bad checksum, bad type, bad padding).

/// Size of a WAL page.
pub const PAGE_SIZE: usize = 32 * 1024;
/// Size of a fragment header: type byte, be16 length, be32 CRC32C.
pub const HEADER_SIZE: usize = 7;

const FULL: u8 = 1;
const FIRST: u8 = 2;
const MIDDLE: u8 = 3;
const LAST: u8 = 4;
const TYPE_MASK: u8 = 0x07;
const SNAPPY_FLAG: u8 = 0x08;
const ZSTD_FLAG: u8 = 0x10;

/// Appends `record`'s fragments to `out`. `page_offset` is the position inside the current
/// page where `out`'s end lies and is updated. With `compress`, the record is stored
/// snappy-compressed when that is strictly smaller.
pub fn encode_record(out: &mut Vec<u8>, page_offset: &mut usize, record: &[u8], compress: bool) {
    let compressed = if compress {
        snap::raw::Encoder::new()
            .compress_vec(record)
            .ok()
            .filter(|compressed| compressed.len() < record.len())
    } else {
        None
    };
    let (payload, flag) = match &compressed {
        Some(compressed) => (compressed.as_slice(), SNAPPY_FLAG),
        None => (record, 0),
    };
    let mut rest = payload;
    let mut first = true;
    loop {
        if PAGE_SIZE - *page_offset < HEADER_SIZE {
            pad_page(out, page_offset);
        }
        let room = PAGE_SIZE - *page_offset - HEADER_SIZE;
        let take = rest.len().min(room);
        let last = take == rest.len();
        let kind = match (first, last) {
            (true, true) => FULL,
            (true, false) => FIRST,
            (false, false) => MIDDLE,
            (false, true) => LAST,
        };
        let fragment = &rest[..take];
        out.push(kind | flag);
        out.extend_from_slice(&(take as u16).to_be_bytes());
        out.extend_from_slice(&crc32c::crc32c(fragment).to_be_bytes());
        out.extend_from_slice(fragment);
        *page_offset += HEADER_SIZE + take;
        if *page_offset == PAGE_SIZE {
            *page_offset = 0;
        }
        rest = &rest[take..];
        first = false;
        if last {
            return;
        }
    }
}

/// Zero-fills the rest of the current page (no-op at a page boundary).
pub fn pad_page(out: &mut Vec<u8>, page_offset: &mut usize) {
    if *page_offset != 0 {
        out.resize(out.len() + (PAGE_SIZE - *page_offset), 0);
        *page_offset = 0;
    }
}

/// Returns the bytes `record` takes at most when written from `page_offset` (headers on every
/// page it touches, uncompressed), used to decide whether it still fits in a segment.
pub fn max_encoded_len(record_len: usize, page_offset: usize) -> usize {
    let mut remaining = record_len;
    let mut offset = page_offset;
    let mut total = 0;
    loop {
        if PAGE_SIZE - offset < HEADER_SIZE {
            total += PAGE_SIZE - offset;
            offset = 0;
        }
        let take = remaining.min(PAGE_SIZE - offset - HEADER_SIZE);
        total += HEADER_SIZE + take;
        offset = (offset + HEADER_SIZE + take) % PAGE_SIZE;
        remaining -= take;
        if remaining == 0 {
            return total;
        }
    }
}

/// Where and why a segment's bytes stop being a valid WAL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// Offset in the segment of the record (or fragment) that could not be read.
    pub offset: usize,
    /// True when the data just ends inside a record: a write cut short by a crash.
    pub torn: bool,
    /// What is wrong.
    pub reason: String,
}

/// A record read from a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedRecord {
    /// Offset in the segment of the record's first fragment.
    pub offset: usize,
    /// The record, decompressed.
    pub data: Vec<u8>,
}

/// Reads records from one segment's bytes.
#[derive(Debug)]
pub struct SegmentDecoder<'a> {
    bytes: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> SegmentDecoder<'a> {
    /// Returns a decoder at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::at(bytes, 0)
    }

    /// Returns a decoder starting at `offset` (which must be where a fragment begins).
    pub fn at(bytes: &'a [u8], offset: usize) -> Self {
        Self {
            bytes,
            offset,
            failed: false,
        }
    }

    /// Returns the offset the next record would start at.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Returns the next record, `None` at a clean end, or the first error (after which it
    /// returns `None`).
    pub fn next_record(&mut self) -> Option<Result<DecodedRecord, FrameError>> {
        if self.failed {
            return None;
        }
        let result = self.read_record();
        match result {
            Ok(None) => None,
            Ok(Some(record)) => Some(Ok(record)),
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }

    fn read_record(&mut self) -> Result<Option<DecodedRecord>, FrameError> {
        let mut record_start = None;
        let mut payload = Vec::new();
        let mut flag = 0;
        loop {
            if self.offset >= self.bytes.len() {
                return match record_start {
                    None => Ok(None),
                    Some(start) => Err(FrameError {
                        offset: start,
                        torn: true,
                        reason: "last record is torn: the data ends inside it".into(),
                    }),
                };
            }
            let fragment_start = self.offset;
            let type_byte = self.bytes[fragment_start];
            let kind = type_byte & TYPE_MASK;
            // Errors point at the record being read, or at this fragment between records.
            let anchor = record_start.unwrap_or(fragment_start);
            let broken = |reason: String| FrameError {
                offset: anchor,
                torn: false,
                reason,
            };
            let torn = |reason: &str| FrameError {
                offset: anchor,
                torn: true,
                reason: reason.to_owned(),
            };
            if kind == 0 {
                // Padding: the rest of the page must be zero.
                let page_end = (fragment_start / PAGE_SIZE + 1) * PAGE_SIZE;
                let end = page_end.min(self.bytes.len());
                if self.bytes[fragment_start..end]
                    .iter()
                    .any(|byte| *byte != 0)
                {
                    return Err(broken(format!(
                        "non-zero byte in page padding after offset {fragment_start}"
                    )));
                }
                self.offset = end;
                continue;
            }
            if kind > LAST || type_byte & !(TYPE_MASK | SNAPPY_FLAG | ZSTD_FLAG) != 0 {
                return Err(broken(format!(
                    "invalid fragment type byte {type_byte:#04x} at offset {fragment_start}"
                )));
            }
            if fragment_start + HEADER_SIZE > self.bytes.len() {
                return Err(torn("fragment header cut short"));
            }
            let header = &self.bytes[fragment_start..fragment_start + HEADER_SIZE];
            let length = usize::from(u16::from_be_bytes([header[1], header[2]]));
            let checksum = u32::from_be_bytes([header[3], header[4], header[5], header[6]]);
            let page_left = PAGE_SIZE - fragment_start % PAGE_SIZE;
            if HEADER_SIZE + length > page_left {
                return Err(broken(format!(
                    "fragment at offset {fragment_start} claims {length} bytes, more than its page holds"
                )));
            }
            let data_start = fragment_start + HEADER_SIZE;
            if data_start + length > self.bytes.len() {
                return Err(torn("fragment payload cut short"));
            }
            let data = &self.bytes[data_start..data_start + length];
            if crc32c::crc32c(data) != checksum {
                return Err(broken(format!(
                    "unexpected checksum of the fragment at offset {fragment_start}"
                )));
            }
            let sequence_ok = match kind {
                FULL | FIRST => record_start.is_none(),
                _ => record_start.is_some(),
            };
            if !sequence_ok {
                return Err(broken(format!(
                    "fragment of type {kind} out of sequence at offset {fragment_start}"
                )));
            }
            if record_start.is_none() {
                record_start = Some(fragment_start);
                flag = type_byte & (SNAPPY_FLAG | ZSTD_FLAG);
            }
            payload.extend_from_slice(data);
            self.offset = data_start + length;
            if kind == FULL || kind == LAST {
                let data = decompress(flag, payload).map_err(broken)?;
                return Ok(Some(DecodedRecord {
                    offset: record_start.unwrap_or(fragment_start),
                    data,
                }));
            }
        }
    }
}

fn decompress(flag: u8, payload: Vec<u8>) -> Result<Vec<u8>, String> {
    if flag & SNAPPY_FLAG != 0 {
        snap::raw::Decoder::new()
            .decompress_vec(&payload)
            .map_err(|error| format!("record does not decompress: {error}"))
    } else if flag & ZSTD_FLAG != 0 {
        Err("record is zstd-compressed; Norn reads uncompressed and snappy WAL records".into())
    } else {
        Ok(payload)
    }
}

#[cfg(test)]
mod tests;
