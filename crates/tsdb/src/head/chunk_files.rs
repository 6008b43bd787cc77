//! Completed head chunks on disk (`chunks_head/`), so the head's memory holds only each
//! series' open chunk plus a small reference per completed chunk.
//!
//! Entries use Prometheus's head-chunk layout (`shared/formats/wal.md` §8): files `000001`,
//! `000002`, … up to 128 MiB, an 8-byte header (magic `0x0130BC91`, version 1), then
//! `series_ref be64 | mint be64 | maxt be64 | encoding u8 | len uvarint | data | crc32c be32`.
//! A chunk reference is `(file number << 32) | offset`. Writes are plain `write(2)` calls
//! without fsync: the WAL, not this directory, is what survives crashes. On open the directory
//! is emptied and the head rebuilds its chunks from the WAL, so a torn or stale file can never
//! be read. Reads use positioned reads (`pread`), served by the page cache; no memory map is
//! needed. Files whose chunks all ended before the head's start are deleted at truncation.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::chunkenc::Encoding;
use crate::encoding::{Decbuf, put_be32, put_be64, put_uvarint};
use crate::error::{Error, Result};
use crate::series::SeriesRef;

/// Magic number at the start of every head chunk file.
const MAGIC: u32 = 0x0130_BC91;
/// Size of the file header (magic, version, padding).
const FILE_HEADER: u64 = 8;
/// Size of an entry's fixed header: ref, mint, maxt, encoding.
const ENTRY_FIXED: usize = 25;
/// Default maximum size of one file.
pub(crate) const MAX_FILE_SIZE: u64 = 128 * 1024 * 1024;

/// Where a completed chunk lives on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DiskChunkRef {
    /// `(file << 32) | offset`.
    pub(crate) chunk_ref: u64,
    /// Length of the whole entry in bytes.
    pub(crate) entry_len: u32,
}

#[derive(Debug)]
struct FileState {
    file: Arc<File>,
    /// Newest `maxt` of any chunk in the file.
    max_time: i64,
}

#[derive(Debug)]
struct Inner {
    files: BTreeMap<u32, FileState>,
    current: u32,
    current_size: u64,
}

/// The head's chunk files.
#[derive(Debug)]
pub(crate) struct HeadChunkFiles {
    dir: PathBuf,
    max_file_size: u64,
    inner: Mutex<Inner>,
}

fn file_name(number: u32) -> String {
    format!("{number:06}")
}

impl HeadChunkFiles {
    /// Empties (or creates) `dir` and starts file 1.
    pub(crate) fn open(dir: &Path, max_file_size: u64) -> Result<Self> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|error| Error::io("remove", dir, error))?;
        }
        std::fs::create_dir_all(dir).map_err(|error| Error::io("create", dir, error))?;
        let files = Self {
            dir: dir.to_path_buf(),
            max_file_size: max_file_size.max(FILE_HEADER + 1024),
            inner: Mutex::new(Inner {
                files: BTreeMap::new(),
                current: 0,
                current_size: 0,
            }),
        };
        files.cut(&mut files.lock())?;
        Ok(files)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the next file.
    fn cut(&self, inner: &mut Inner) -> Result<()> {
        let number = inner.current + 1;
        let path = self.dir.join(file_name(number));
        let mut file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|error| Error::io("create", &path, error))?;
        let mut header = Vec::with_capacity(FILE_HEADER as usize);
        put_be32(&mut header, MAGIC);
        header.extend_from_slice(&[1, 0, 0, 0]);
        file.write_all(&header)
            .map_err(|error| Error::io("write", &path, error))?;
        inner.files.insert(
            number,
            FileState {
                file: Arc::new(file),
                max_time: i64::MIN,
            },
        );
        inner.current = number;
        inner.current_size = FILE_HEADER;
        Ok(())
    }

    /// Appends a chunk and returns where it went.
    pub(crate) fn write(
        &self,
        series_ref: SeriesRef,
        min_time: i64,
        max_time: i64,
        encoding: Encoding,
        data: &[u8],
    ) -> Result<DiskChunkRef> {
        let mut entry = Vec::with_capacity(ENTRY_FIXED + 10 + data.len() + 4);
        put_be64(&mut entry, series_ref);
        put_be64(&mut entry, min_time as u64);
        put_be64(&mut entry, max_time as u64);
        entry.push(encoding as u8);
        put_uvarint(&mut entry, data.len() as u64);
        entry.extend_from_slice(data);
        let crc = crc32c::crc32c(&entry);
        put_be32(&mut entry, crc);
        let entry_len = u32::try_from(entry.len())
            .map_err(|_| Error::corrupt("head chunk", "chunk larger than 4 GiB"))?;

        let mut inner = self.lock();
        if inner.current_size + entry.len() as u64 > self.max_file_size {
            self.cut(&mut inner)?;
        }
        let number = inner.current;
        let offset = inner.current_size;
        let Some(state) = inner.files.get_mut(&number) else {
            return Err(Error::corrupt("head chunk files", "current file missing"));
        };
        // `append` mode: the write lands at the end, which is `offset`.
        (&*state.file)
            .write_all(&entry)
            .map_err(|error| Error::io("write", self.dir.join(file_name(number)), error))?;
        state.max_time = state.max_time.max(max_time);
        inner.current_size += entry.len() as u64;
        Ok(DiskChunkRef {
            chunk_ref: (u64::from(number) << 32) | offset,
            entry_len,
        })
    }

    /// Reads a chunk's data back.
    pub(crate) fn read(&self, location: DiskChunkRef) -> Result<Vec<u8>> {
        let number = (location.chunk_ref >> 32) as u32;
        let offset = location.chunk_ref & 0xffff_ffff;
        let file = {
            let inner = self.lock();
            match inner.files.get(&number) {
                Some(state) => Arc::clone(&state.file),
                None => {
                    return Err(Error::corrupt(
                        "head chunk",
                        format!("file {} was deleted", file_name(number)),
                    ));
                }
            }
        };
        let path = || self.dir.join(file_name(number));
        let mut entry = vec![0u8; location.entry_len as usize];
        file.read_exact_at(&mut entry, offset)
            .map_err(|error| Error::io("read", path(), error))?;
        let Some(body_len) = entry.len().checked_sub(4) else {
            return Err(Error::corrupt(
                "head chunk",
                "entry shorter than its checksum",
            ));
        };
        let (body, crc) = entry.split_at(body_len);
        let mut crc_buf = Decbuf::new(crc, "head chunk");
        if crc32c::crc32c(body) != crc_buf.be32()? {
            return Err(Error::corrupt(
                "head chunk",
                format!(
                    "checksum mismatch in {} at offset {offset}",
                    path().display()
                ),
            ));
        }
        let mut buf = Decbuf::new(body, "head chunk");
        buf.skip(ENTRY_FIXED)?;
        let len = buf.uvarint_usize()?;
        Ok(buf.bytes(len)?.to_vec())
    }

    /// Starts a new file if the current one holds chunks, then deletes every older file whose
    /// chunks all end before `mint`. Returns the number of files deleted.
    pub(crate) fn truncate(&self, mint: i64) -> Result<usize> {
        let mut inner = self.lock();
        if inner.current_size > FILE_HEADER {
            self.cut(&mut inner)?;
        }
        let current = inner.current;
        let doomed: Vec<u32> = inner
            .files
            .iter()
            .filter(|(number, state)| **number != current && state.max_time < mint)
            .map(|(number, _)| *number)
            .collect();
        for number in &doomed {
            inner.files.remove(number);
            let path = self.dir.join(file_name(*number));
            // Open handles keep the data readable for readers that already hold them.
            std::fs::remove_file(&path).map_err(|error| Error::io("remove", &path, error))?;
        }
        Ok(doomed.len())
    }

    /// Returns the number of files.
    #[cfg(test)]
    pub(crate) fn num_files(&self) -> usize {
        self.lock().files.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_old_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let files = HeadChunkFiles::open(&dir.path().join("chunks_head"), 2048).unwrap();
        let mut refs = Vec::new();
        for index in 0..40u8 {
            let data = vec![index; 100];
            let location = files
                .write(
                    7,
                    i64::from(index),
                    i64::from(index) + 1,
                    Encoding::Xor,
                    &data,
                )
                .unwrap();
            refs.push((location, data));
        }
        assert!(files.num_files() > 1, "files are cut at the size limit");
        for (location, data) in &refs {
            assert_eq!(&files.read(*location).unwrap(), data);
        }
        // The on-disk entry has Prometheus's layout.
        let first = std::fs::read(dir.path().join("chunks_head/000001")).unwrap();
        assert_eq!(&first[..8], &[0x01, 0x30, 0xBC, 0x91, 1, 0, 0, 0]);
        assert_eq!(&first[8..16], &7u64.to_be_bytes());
        assert_eq!(refs[0].0.chunk_ref, (1 << 32) | 8);

        let deleted = files.truncate(20).unwrap();
        assert!(deleted > 0);
        assert!(
            files.read(refs[0].0).is_err(),
            "chunks of deleted files are gone"
        );
        assert_eq!(files.read(refs[39].0).unwrap(), refs[39].1);

        // Reopening starts from an empty directory: the WAL rebuilds the head.
        drop(files);
        let files = HeadChunkFiles::open(&dir.path().join("chunks_head"), 2048).unwrap();
        assert_eq!(files.num_files(), 1);
    }

    #[test]
    fn corrupt_entries_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let files = HeadChunkFiles::open(dir.path(), MAX_FILE_SIZE).unwrap();
        let location = files.write(1, 0, 1, Encoding::Xor, &[1, 2, 3]).unwrap();
        let path = dir.path().join("000001");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 6;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(files.read(location), Err(Error::Corrupt { .. })));
    }
}
