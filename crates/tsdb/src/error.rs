//! The storage engine's errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors of the storage engine.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Encoded data ended or broke before what its header announced.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// What was being decoded (e.g. "XOR chunk").
        what: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A chunk already holds the maximum number of samples its header can count.
    #[error("chunk is full ({0} samples)")]
    ChunkFull(usize),
    /// A sample's timestamp is not after the previous one in the same chunk.
    #[error("sample timestamp {timestamp} is not after the chunk's last timestamp {last}")]
    OutOfOrder {
        /// The rejected timestamp.
        timestamp: i64,
        /// The last timestamp in the chunk.
        last: i64,
    },
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("open", "write", "fsync", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: Arc<std::io::Error>,
    },
    /// The WAL is damaged somewhere other than its tail: data after the damage would be lost by
    /// truncating, so the engine refuses to start and names the place.
    #[error(
        "WAL corruption in segment {segment} at offset {offset}: {reason}. Refusing to start: \
         this is not a torn tail, and cutting the WAL here would drop data written after it. \
         To start without that data, move this segment and the later ones out of the WAL \
         directory"
    )]
    WalCorruption {
        /// The segment file.
        segment: PathBuf,
        /// Byte offset in the segment.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A block on disk is not usable.
    #[error("invalid block {path}: {reason}")]
    InvalidBlock {
        /// The block directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// Wraps an I/O error with the operation and path it happened on.
    pub fn io(op: &'static str, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.as_ref().to_path_buf(),
            source: Arc::new(source),
        }
    }

    /// Builds a [`Error::Corrupt`].
    pub fn corrupt(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            what,
            reason: reason.into(),
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
