//! The block index file, format v2 (`shared/formats/tsdb-block.md` §3), as Prometheus writes
//! and reads it.
//!
//! Layout: magic `0xBAAAD700` and version byte `2`, the symbol table (every label name and
//! value once, sorted; labels refer to symbols by position), the series entries (each at a
//! 16-byte aligned offset, so a series is identified by `offset / 16`), one postings list per
//! label pair plus the all-series list under the key `("", "")` (each 4-byte aligned), the
//! postings offset table (sorted `(name, value) → list offset`) and a 52-byte table of contents
//! at the end. Every section carries a CRC32C.
//!
//! - [`IndexWriter`] writes the file in one pass in the order Prometheus does (§3.7), so the
//!   bytes equal what Prometheus' writer produces for the same input.
//! - [`IndexReader`] memory-maps a file, checks the TOC, symbol table and postings offset table
//!   up front, then answers symbol, series and postings lookups; it implements
//!   [`IndexLookup`](crate::postings::IndexLookup) so the matcher algebra of
//!   [`postings`](crate::postings) runs over blocks as over the head. It also reads v1 indexes
//!   (byte-offset references) and tolerates the legacy label-index sections older Prometheus
//!   versions still write. Damaged bytes give [`Error::Corrupt`], never a
//!   panic.

mod reader;
mod writer;

pub use reader::IndexReader;
pub use writer::IndexWriter;

use crate::encoding::{Decbuf, put_be64};
use crate::error::{Error, Result};

/// Magic number at the start of an index file.
pub const INDEX_MAGIC: u32 = 0xBAAA_D700;
/// Index format version 1 (byte-offset references; read only).
pub const FORMAT_V1: u8 = 1;
/// Index format version 2, the one Norn writes.
pub const FORMAT_V2: u8 = 2;
/// Index format version 3 (reserved by Prometheus; read as version 2).
pub const FORMAT_V3: u8 = 3;
/// Bytes of magic plus version.
pub const HEADER_LEN: usize = 5;
/// Bytes of the table of contents at the end of the file.
pub const TOC_LEN: usize = 52;
/// Alignment of series entries in v2: a series ID is its entry's offset divided by this.
pub const SERIES_ALIGN: u64 = 16;
/// Alignment of postings lists.
pub const POSTINGS_ALIGN: u64 = 4;

/// A chunk as the index records it: time range (both ends inclusive) and chunk reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkEntry {
    /// Timestamp of the chunk's first sample, in milliseconds.
    pub min_time: i64,
    /// Timestamp of the chunk's last sample, in milliseconds.
    pub max_time: i64,
    /// Where the chunk lives: `(segment position << 32) | offset` (see [`crate::chunks`]).
    pub reference: u64,
}

/// The index's table of contents: where each section starts (0 = absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Toc {
    /// Offset of the symbol table.
    pub symbols: u64,
    /// Offset where the series section starts (the first entry may follow padding).
    pub series: u64,
    /// Legacy label indices; current writers put the start of the postings region here.
    pub label_indices: u64,
    /// Legacy label offset table; current writers put the postings offset table here.
    pub label_indices_table: u64,
    /// Offset where the postings lists start (the first list may follow padding).
    pub postings: u64,
    /// Offset of the postings offset table.
    pub postings_table: u64,
}

impl Toc {
    /// Encodes the TOC with its CRC (52 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TOC_LEN);
        for value in [
            self.symbols,
            self.series,
            self.label_indices,
            self.label_indices_table,
            self.postings,
            self.postings_table,
        ] {
            put_be64(&mut out, value);
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Decodes the TOC from the last 52 bytes of `file`, checking its CRC.
    pub fn decode(file: &[u8]) -> Result<Self> {
        let start = file
            .len()
            .checked_sub(TOC_LEN)
            .ok_or_else(|| Error::corrupt("index TOC", "file shorter than the TOC"))?;
        let mut buf = Decbuf::new(&file[start..], "index TOC");
        let body = buf.bytes(TOC_LEN - 4)?;
        let crc = buf.be32()?;
        if crc32c::crc32c(body) != crc {
            return Err(Error::corrupt("index TOC", "checksum mismatch"));
        }
        let mut buf = Decbuf::new(body, "index TOC");
        Ok(Self {
            symbols: buf.be64()?,
            series: buf.be64()?,
            label_indices: buf.be64()?,
            label_indices_table: buf.be64()?,
            postings: buf.be64()?,
            postings_table: buf.be64()?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
