//! Block chunk segment files (`chunks/000001`, `chunks/000002`, ...), as Prometheus writes them
//! (`shared/formats/tsdb-block.md` §4).
//!
//! A block keeps its chunks in numbered segment files: an 8-byte header (magic `0x85BD40DD`,
//! version 1, three zero bytes), then chunk entries back to back, each `uvarint len | encoding
//! byte | data | CRC32C(encoding + data)`. The index refers to a chunk by a 64-bit reference:
//! the 0-based position of its file in the sorted file list in the upper 32 bits and the
//! entry's byte offset in the lower 32.
//!
//! - [`ChunkWriter`] appends chunks while a block is written, starting a new file when the next
//!   chunk would push the current one past the segment size (512 MiB by default).
//! - [`ChunkReader`] memory-maps the files of a written block and hands out each chunk's
//!   encoding and bytes, borrowed from the mapping, after checking its CRC. It never panics on
//!   damaged files: every problem is an [`Error::Corrupt`](crate::error::Error::Corrupt).
//!
//! The read-only file mapping that both this module and the index reader use lives in
//! `mapped` (crate-private), the one place of the crate that needs `unsafe`.

pub(crate) mod mapped;
mod reader;
mod writer;

pub use reader::ChunkReader;
pub(crate) use writer::sync_dir;
pub use writer::{ChunkWriter, SegmentFile};

/// Magic number at the start of every chunk segment file.
pub const SEGMENT_MAGIC: u32 = 0x85BD_40DD;
/// Version byte of the chunk segment format.
pub const SEGMENT_VERSION: u8 = 1;
/// Bytes before the first chunk of a segment file: magic, version and 3 padding bytes.
pub const SEGMENT_HEADER_LEN: usize = 8;
/// Default maximum size of one segment file (Prometheus `DefaultChunkSegmentSize`).
pub const DEFAULT_SEGMENT_SIZE: u64 = 512 * 1024 * 1024;
/// Largest segment size a reference can address (offsets are 32 bits).
pub const MAX_SEGMENT_SIZE: u64 = u32::MAX as u64;
/// The most bytes the length field of a chunk entry takes (a `uvarint` of a `u32`).
pub const MAX_CHUNK_LEN_FIELD: usize = 5;

/// Builds a chunk reference from a segment's 0-based position and an offset in it.
pub fn chunk_ref(segment_position: u32, offset: u32) -> u64 {
    (u64::from(segment_position) << 32) | u64::from(offset)
}

/// Splits a chunk reference into the segment's 0-based position and the offset in it.
pub fn split_chunk_ref(reference: u64) -> (u32, u32) {
    ((reference >> 32) as u32, reference as u32)
}

/// Returns the file name of the segment at 0-based `position` (`000001` for 0).
pub fn segment_file_name(position: u32) -> String {
    format!("{:06}", u64::from(position) + 1)
}

#[cfg(test)]
mod tests;
