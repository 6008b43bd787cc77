//! The storage engine's errors.

/// Errors of the storage engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
