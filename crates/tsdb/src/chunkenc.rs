//! Chunk encodings, as Prometheus defines them.
//!
//! A chunk is a compressed run of samples of one series. Encoding 1, [`XorChunk`], stores float
//! samples with delta-of-delta timestamps and XOR-compressed values (Facebook's Gorilla
//! scheme), in exactly the bytes Prometheus writes, so chunks move between Norn and Prometheus
//! tooling unchanged. Histogram encodings (2 and 3) slot in beside it later through
//! [`Encoding`].
//!
//! - [`bstream`]: the MSB-first bit stream both encoders and decoders use.
//! - [`xor`]: the XOR chunk (which appends) and its iterator (with `seek`).

pub mod bstream;
pub mod xor;

pub use xor::{XorChunk, XorIterator};

/// The encoding byte that precedes a chunk's data in segment files and in the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    /// Float samples, XOR-compressed (Prometheus `EncXOR`).
    Xor = 1,
    /// Integer native histograms (Prometheus `EncHistogram`).
    Histogram = 2,
    /// Float native histograms (Prometheus `EncFloatHistogram`).
    FloatHistogram = 3,
}

impl Encoding {
    /// Returns the encoding for `byte`, if Norn knows it.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Xor),
            2 => Some(Self::Histogram),
            3 => Some(Self::FloatHistogram),
            _ => None,
        }
    }
}

/// The number of samples after which the head cuts a new chunk, as Prometheus does.
pub const TARGET_SAMPLES_PER_CHUNK: usize = 120;
