//! Writing chunk segment files while a block is built.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::chunkenc::Encoding;
use crate::encoding::{put_be32, put_uvarint};
use crate::error::{Error, Result};

use super::{
    MAX_SEGMENT_SIZE, SEGMENT_HEADER_LEN, SEGMENT_MAGIC, SEGMENT_VERSION, chunk_ref,
    segment_file_name,
};

/// A finished segment file: its name (`000001`, ...) and size in bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentFile {
    /// The file name inside `chunks/`, six zero-padded digits.
    pub name: String,
    /// The file's size in bytes.
    pub size: u64,
}

/// The segment file being appended to.
#[derive(Debug)]
struct OpenSegment {
    path: PathBuf,
    name: String,
    out: BufWriter<File>,
    /// Bytes written so far (header included).
    size: u64,
}

/// Appends chunks to the segment files of a block under construction.
///
/// Chunks go into the current file until the next one would make it exceed the segment size;
/// then a new file is started (a file always takes at least one chunk, so a chunk larger than
/// the limit still lands somewhere). [`ChunkWriter::finish`] flushes and fsyncs everything.
#[derive(Debug)]
pub struct ChunkWriter {
    dir: PathBuf,
    max_segment_size: u64,
    current: Option<OpenSegment>,
    /// Number of files started so far (the current one included).
    started: u32,
    finished: Vec<SegmentFile>,
    entry: Vec<u8>,
}

impl ChunkWriter {
    /// Creates `dir` (the block's `chunks/` directory) if needed and prepares to write segment
    /// files of at most `max_segment_size` bytes (clamped to what 32-bit offsets address).
    pub fn create(dir: &Path, max_segment_size: u64) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            max_segment_size: max_segment_size
                .clamp(SEGMENT_HEADER_LEN as u64 + 1, MAX_SEGMENT_SIZE),
            current: None,
            started: 0,
            finished: Vec::new(),
            entry: Vec::new(),
        })
    }

    /// Appends one chunk and returns its reference (`(file position << 32) | offset`).
    pub fn write_chunk(&mut self, encoding: Encoding, data: &[u8]) -> Result<u64> {
        let len = u32::try_from(data.len()).map_err(|_| {
            Error::corrupt(
                "chunk segment",
                format!("chunk of {} bytes is too large", data.len()),
            )
        })?;
        self.entry.clear();
        put_uvarint(&mut self.entry, u64::from(len));
        self.entry.push(encoding as u8);
        self.entry.extend_from_slice(data);
        let crc = crc32c::crc32c(&self.entry[self.entry.len() - data.len() - 1..]);
        put_be32(&mut self.entry, crc);

        let entry_len = self.entry.len() as u64;
        let needs_cut = match &self.current {
            None => true,
            Some(segment) => {
                segment.size > SEGMENT_HEADER_LEN as u64
                    && segment.size + entry_len > self.max_segment_size
            }
        };
        if needs_cut {
            self.cut()?;
        }
        let position = self.started - 1;
        let Some(segment) = self.current.as_mut() else {
            return Err(Error::corrupt("chunk segment", "no open segment file"));
        };
        let offset = u32::try_from(segment.size).map_err(|_| {
            Error::corrupt(
                "chunk segment",
                "segment file exceeds 4 GiB, chunk cannot be addressed",
            )
        })?;
        segment
            .out
            .write_all(&self.entry)
            .map_err(|e| Error::io("write", &segment.path, e))?;
        segment.size += entry_len;
        Ok(chunk_ref(position, offset))
    }

    /// Closes the current file (if any) and starts the next one.
    fn cut(&mut self) -> Result<()> {
        self.close_current()?;
        let name = segment_file_name(self.started);
        let path = self.dir.join(&name);
        let file = File::create(&path).map_err(|e| Error::io("create", &path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut header = Vec::with_capacity(SEGMENT_HEADER_LEN);
        put_be32(&mut header, SEGMENT_MAGIC);
        header.push(SEGMENT_VERSION);
        header.extend_from_slice(&[0, 0, 0]);
        out.write_all(&header)
            .map_err(|e| Error::io("write", &path, e))?;
        self.started += 1;
        self.current = Some(OpenSegment {
            path,
            name,
            out,
            size: SEGMENT_HEADER_LEN as u64,
        });
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some(segment) = self.current.take() {
            let file = segment
                .out
                .into_inner()
                .map_err(|e| Error::io("flush", &segment.path, e.into_error()))?;
            file.sync_all()
                .map_err(|e| Error::io("fsync", &segment.path, e))?;
            self.finished.push(SegmentFile {
                name: segment.name,
                size: segment.size,
            });
        }
        Ok(())
    }

    /// Flushes and fsyncs every file and the directory; returns the files in order.
    pub fn finish(mut self) -> Result<Vec<SegmentFile>> {
        self.close_current()?;
        sync_dir(&self.dir)?;
        Ok(self.finished)
    }
}

/// Fsyncs a directory so the entries created in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, e))
}
