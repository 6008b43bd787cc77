//! Reading chunks out of a block's memory-mapped segment files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::chunkenc::Encoding;
use crate::encoding::Decbuf;
use crate::error::{Error, Result};

use super::mapped::FileBytes;
use super::{
    MAX_CHUNK_LEN_FIELD, SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SEGMENT_VERSION, split_chunk_ref,
};

const WHAT: &str = "chunk segment";

/// The segment files of one block, mapped read-only.
#[derive(Debug)]
pub struct ChunkReader {
    dir: PathBuf,
    segments: Vec<FileBytes>,
}

impl ChunkReader {
    /// Maps every segment file of `dir` (the block's `chunks/` directory): files whose name is
    /// a decimal number, in numeric order; their position in that order is the upper half of
    /// a chunk reference. Each file's header is checked.
    pub fn open(dir: &Path) -> Result<Self> {
        let mut numbered = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))? {
            let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(number) = name.parse::<u64>() else {
                continue;
            };
            numbered.push((number, entry.path()));
        }
        numbered.sort();
        let mut segments = Vec::with_capacity(numbered.len());
        for (_, path) in numbered {
            let bytes = FileBytes::map(&path)?;
            check_header(&bytes)
                .map_err(|e| Error::corrupt(WHAT, format!("{}: {e}", path.display())))?;
            segments.push(bytes);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            segments,
        })
    }

    /// Reads segment files held in memory, in position order (for tests and tools).
    pub fn from_segments(segments: Vec<Vec<u8>>) -> Result<Self> {
        let segments: Vec<FileBytes> = segments.into_iter().map(FileBytes::Owned).collect();
        for segment in &segments {
            check_header(segment)?;
        }
        Ok(Self {
            dir: PathBuf::new(),
            segments,
        })
    }

    /// Returns the `chunks/` directory this reader maps (empty for in-memory segments).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Returns the total size of the segment files in bytes.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|s| s.len() as u64).sum()
    }

    /// Returns the encoding and data of the chunk at `reference`, after checking its CRC.
    pub fn chunk(&self, reference: u64) -> Result<(Encoding, &[u8])> {
        let (position, offset) = split_chunk_ref(reference);
        let segment = self.segments.get(position as usize).ok_or_else(|| {
            Error::corrupt(
                WHAT,
                format!(
                    "chunk reference {reference:#x} names segment {position} of {}",
                    self.segments.len()
                ),
            )
        })?;
        let offset = offset as usize;
        if offset < SEGMENT_HEADER_LEN || offset >= segment.len() {
            return Err(Error::corrupt(
                WHAT,
                format!(
                    "chunk reference {reference:#x}: offset {offset} outside segment of {} bytes",
                    segment.len()
                ),
            ));
        }
        let mut buf = Decbuf::new(&segment[offset..], WHAT);
        let before = buf.len();
        let len = buf.uvarint()?;
        if before - buf.len() > MAX_CHUNK_LEN_FIELD {
            return Err(Error::corrupt(
                WHAT,
                "chunk length field longer than 5 bytes",
            ));
        }
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len < buf.len())
            .ok_or_else(|| {
                Error::corrupt(
                    WHAT,
                    format!("chunk reference {reference:#x}: length {len} runs past the file"),
                )
            })?;
        let checked = buf.bytes(len + 1)?;
        let crc = buf.be32()?;
        if crc32c::crc32c(checked) != crc {
            return Err(Error::corrupt(
                WHAT,
                format!("chunk reference {reference:#x}: checksum mismatch"),
            ));
        }
        let encoding = Encoding::from_byte(checked[0]).ok_or_else(|| {
            Error::corrupt(
                WHAT,
                format!(
                    "chunk reference {reference:#x}: unsupported chunk encoding {}",
                    checked[0]
                ),
            )
        })?;
        Ok((encoding, &checked[1..]))
    }
}

fn check_header(bytes: &[u8]) -> Result<()> {
    let mut buf = Decbuf::new(bytes, WHAT);
    if bytes.len() < SEGMENT_HEADER_LEN {
        return Err(Error::corrupt(
            WHAT,
            format!("file of {} bytes has no header", bytes.len()),
        ));
    }
    let magic = buf.be32()?;
    if magic != SEGMENT_MAGIC {
        return Err(Error::corrupt(WHAT, format!("bad magic {magic:#010x}")));
    }
    let version = buf.byte()?;
    if version != SEGMENT_VERSION {
        return Err(Error::corrupt(
            WHAT,
            format!("unsupported version {version}"),
        ));
    }
    Ok(())
}
