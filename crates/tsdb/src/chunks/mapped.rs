//! Read-only views of immutable files: memory-mapped, or owned bytes for empty files and tests.
//!
//! Mapping a file is `unsafe` in Rust because another process could change the file under the
//! mapping; [`map_file`] is the crate's single place that does it, for block files, which are
//! never modified once written.

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

use memmap2::Mmap;

use crate::error::{Error, Result};

/// The bytes of an immutable file.
#[derive(Debug)]
pub(crate) enum FileBytes {
    /// A read-only memory mapping of the whole file.
    Mapped(Mmap),
    /// Bytes held in memory (empty files cannot be mapped; tests build files in memory).
    Owned(Vec<u8>),
}

impl FileBytes {
    /// Maps the file at `path` read-only.
    pub(crate) fn map(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", path, e))?
            .len();
        if len == 0 {
            return Ok(Self::Owned(Vec::new()));
        }
        map_file(&file)
            .map(Self::Mapped)
            .map_err(|e| Error::io("mmap", path, e))
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Mapped(map) => map,
            Self::Owned(bytes) => bytes,
        }
    }
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
fn map_file(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: the mapping is read-only and only ever made of block files (index, chunk
    // segments), which are immutable once their block directory is renamed into place: Norn
    // never writes to, truncates or appends to a block file after creating it, and replaces a
    // block only by writing a new directory and deleting the old one (deleting keeps existing
    // mappings valid on Unix). Mutation by another process is outside the contract.
    unsafe { Mmap::map(file) }
}
