//! The XOR float chunk (encoding 1), byte for byte as Prometheus writes it.
//!
//! Layout (`shared/formats/tsdb-block.md` §5): a big-endian `u16` sample count, then sample 0
//! as a zig-zag varint timestamp and the value's 64 bits, sample 1 as a uvarint timestamp
//! delta and an XOR-compressed value, and every later sample as a delta-of-delta timestamp
//! (`0`, `10`+14, `110`+17, `1110`+20 or `1111`+64 bits) and an XOR-compressed value (`0` for
//! an unchanged value, `10` + the bits inside the previous leading/trailing-zero window, or `11`
//! + 5 bits of leading zeros (at most 31) + 6 bits of length + the meaningful bits).
//!
//! [`XorChunk`] keeps the encoder state next to the bytes so appends are O(1); a chunk read
//! from bytes is decoded once to rebuild that state. [`XorIterator`] decodes without allocating
//! and reports corrupt input as an error instead of panicking.

use super::bstream::{BitReader, BitWriter};
use crate::error::{Error, Result};

const WHAT: &str = "XOR chunk";

/// Encoder state carried from one append to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct AppendState {
    timestamp: i64,
    delta: i64,
    value_bits: u64,
    /// Leading zeros of the current XOR window; `None` until the first `11` field.
    leading: Option<u8>,
    trailing: u8,
}

/// A chunk of float samples in Prometheus's XOR encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct XorChunk {
    stream: BitWriter,
    state: AppendState,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl XorChunk {
    /// Returns an empty chunk (just the zero sample count).
    pub fn new() -> Self {
        Self {
            stream: BitWriter::from_parts(vec![0, 0], 0),
            state: AppendState::default(),
        }
    }

    /// Returns an empty chunk whose buffer has room for `bytes` bytes before growing.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buffer = Vec::with_capacity(bytes.max(2));
        buffer.extend_from_slice(&[0, 0]);
        Self {
            stream: BitWriter::from_parts(buffer, 0),
            state: AppendState::default(),
        }
    }

    /// Reads a chunk's data (without the encoding byte), checking every sample decodes.
    /// Bytes after the last sample's bits are dropped.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Result<Self> {
        let mut iterator = XorIterator::new(&bytes);
        while iterator.next_sample().is_some() {}
        if let Some(error) = iterator.error() {
            return Err(error.clone());
        }
        let state = AppendState {
            timestamp: iterator.timestamp,
            delta: iterator.delta,
            value_bits: iterator.value_bits,
            leading: (iterator.read > 0 && iterator.window_set).then_some(iterator.leading),
            trailing: iterator.trailing,
        };
        let (used_bytes, free_bits) = iterator.end_position();
        bytes.truncate(used_bytes.max(2));
        Ok(Self {
            stream: BitWriter::from_parts(bytes, free_bits),
            state,
        })
    }

    /// Returns the chunk's bytes as stored (without the encoding byte).
    pub fn bytes(&self) -> &[u8] {
        self.stream.bytes()
    }

    /// Returns the number of samples in the chunk.
    pub fn num_samples(&self) -> usize {
        // Every constructor leaves at least the 2-byte header in the stream: `new` writes it
        // and `from_bytes` only succeeds on data that has one.
        let bytes = self.stream.bytes();
        usize::from(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    /// Returns the last sample appended (timestamp and value bits preserved), if any.
    pub fn last_sample(&self) -> Option<(i64, f64)> {
        (self.num_samples() > 0)
            .then(|| (self.state.timestamp, f64::from_bits(self.state.value_bits)))
    }

    /// Returns the heap bytes the chunk holds (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.stream.capacity()
    }

    /// Returns an iterator over the samples.
    pub fn iter(&self) -> XorIterator<'_> {
        XorIterator::new(self.stream.bytes())
    }

    /// Appends a sample. Timestamps must increase strictly; at most 65535 samples fit.
    pub fn append(&mut self, timestamp: i64, value: f64) -> Result<()> {
        let count = self.num_samples();
        if count == usize::from(u16::MAX) {
            return Err(Error::ChunkFull(count));
        }
        if count > 0 && timestamp <= self.state.timestamp {
            return Err(Error::OutOfOrder {
                timestamp,
                last: self.state.timestamp,
            });
        }
        let value_bits = value.to_bits();
        match count {
            0 => {
                write_varint(&mut self.stream, timestamp);
                self.stream.write_bits(value_bits, 64);
            }
            1 => {
                let delta = timestamp - self.state.timestamp;
                write_uvarint(&mut self.stream, delta as u64);
                self.write_value(value_bits);
                self.state.delta = delta;
            }
            _ => {
                let delta = timestamp - self.state.timestamp;
                let dod = delta.wrapping_sub(self.state.delta);
                self.write_delta_of_delta(dod);
                self.write_value(value_bits);
                self.state.delta = delta;
            }
        }
        self.state.timestamp = timestamp;
        self.state.value_bits = value_bits;
        let new_count = (count as u16 + 1).to_be_bytes();
        self.stream.bytes_mut()[..2].copy_from_slice(&new_count);
        Ok(())
    }

    fn write_delta_of_delta(&mut self, dod: i64) {
        let stream = &mut self.stream;
        if dod == 0 {
            stream.write_bit(false);
        } else if fits_in_bits(dod, 14) {
            stream.write_bits(0b10, 2);
            stream.write_bits(dod as u64, 14);
        } else if fits_in_bits(dod, 17) {
            stream.write_bits(0b110, 3);
            stream.write_bits(dod as u64, 17);
        } else if fits_in_bits(dod, 20) {
            stream.write_bits(0b1110, 4);
            stream.write_bits(dod as u64, 20);
        } else {
            stream.write_bits(0b1111, 4);
            stream.write_bits(dod as u64, 64);
        }
    }

    fn write_value(&mut self, value_bits: u64) {
        let xor = value_bits ^ self.state.value_bits;
        let stream = &mut self.stream;
        if xor == 0 {
            stream.write_bit(false);
            return;
        }
        stream.write_bit(true);
        let leading = (xor.leading_zeros() as u8).min(31);
        let trailing = xor.trailing_zeros() as u8;
        if let Some(window_leading) = self.state.leading
            && leading >= window_leading
            && trailing >= self.state.trailing
        {
            stream.write_bit(false);
            let width = 64 - window_leading - self.state.trailing;
            stream.write_bits(xor >> self.state.trailing, width);
            return;
        }
        self.state.leading = Some(leading);
        self.state.trailing = trailing;
        stream.write_bit(true);
        stream.write_bits(u64::from(leading), 5);
        let significant = 64 - leading - trailing;
        // 64 significant bits are written as 0 in the 6-bit field.
        stream.write_bits(u64::from(significant) & 0x3f, 6);
        stream.write_bits(xor >> trailing, significant);
    }
}

/// Returns true if `value` lies in Prometheus's range for an `bits`-bit field:
/// −(2^(bits−1) − 1) ..= 2^(bits−1).
fn fits_in_bits(value: i64, bits: u8) -> bool {
    let half = 1i64 << (bits - 1);
    -(half - 1) <= value && value <= half
}

fn write_varint(stream: &mut BitWriter, value: i64) {
    write_uvarint(stream, ((value << 1) ^ (value >> 63)) as u64);
}

fn write_uvarint(stream: &mut BitWriter, mut value: u64) {
    while value >= 0x80 {
        stream.write_byte((value as u8) | 0x80);
        value >>= 7;
    }
    stream.write_byte(value as u8);
}

/// Iterates over the samples of an XOR chunk's bytes.
#[derive(Clone, Debug)]
pub struct XorIterator<'a> {
    reader: BitReader<'a>,
    total: u16,
    read: u16,
    timestamp: i64,
    delta: i64,
    value_bits: u64,
    leading: u8,
    trailing: u8,
    window_set: bool,
    current: Option<(i64, f64)>,
    error: Option<Error>,
}

impl<'a> XorIterator<'a> {
    /// Returns an iterator over `bytes` (a chunk's data without the encoding byte).
    pub fn new(bytes: &'a [u8]) -> Self {
        let (total, error, body) = match bytes {
            [high, low, body @ ..] => (u16::from_be_bytes([*high, *low]), None, body),
            _ => (0, Some(corrupt("shorter than its 2-byte header")), &[][..]),
        };
        Self {
            reader: BitReader::new(body),
            total,
            read: 0,
            timestamp: 0,
            delta: 0,
            value_bits: 0,
            leading: 0,
            trailing: 0,
            window_set: false,
            current: None,
            error,
        }
    }

    /// Returns the decoding error that ended the iteration early, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Returns the sample the iterator is on (the last one returned).
    pub fn at(&self) -> Option<(i64, f64)> {
        self.current
    }

    /// Advances to the next sample.
    pub fn next_sample(&mut self) -> Option<(i64, f64)> {
        if self.error.is_some() || self.read >= self.total {
            self.current = None;
            return None;
        }
        match self.decode_next() {
            Some(sample) => {
                self.read += 1;
                self.current = Some(sample);
                Some(sample)
            }
            None => {
                self.error = Some(corrupt(&format!(
                    "data ends inside sample {} of {}",
                    self.read + 1,
                    self.total
                )));
                self.current = None;
                None
            }
        }
    }

    /// Advances to the first sample at or after `timestamp`; stays put if the current sample
    /// already qualifies. Returns that sample, or `None` when the chunk has none.
    pub fn seek(&mut self, timestamp: i64) -> Option<(i64, f64)> {
        if let Some(current) = self.current
            && current.0 >= timestamp
        {
            return Some(current);
        }
        while let Some(sample) = self.next_sample() {
            if sample.0 >= timestamp {
                return Some(sample);
            }
        }
        None
    }

    fn decode_next(&mut self) -> Option<(i64, f64)> {
        match self.read {
            0 => {
                self.timestamp = read_varint(&mut self.reader)?;
                self.value_bits = self.reader.read_bits(64)?;
            }
            1 => {
                self.delta = read_uvarint(&mut self.reader)? as i64;
                self.timestamp = self.timestamp.wrapping_add(self.delta);
                self.read_value()?;
            }
            _ => {
                let dod = self.read_delta_of_delta()?;
                self.delta = self.delta.wrapping_add(dod);
                self.timestamp = self.timestamp.wrapping_add(self.delta);
                self.read_value()?;
            }
        }
        Some((self.timestamp, f64::from_bits(self.value_bits)))
    }

    fn read_delta_of_delta(&mut self) -> Option<i64> {
        let mut ones = 0u8;
        while ones < 4 && self.reader.read_bit()? {
            ones += 1;
        }
        let width = match ones {
            0 => return Some(0),
            1 => 14,
            2 => 17,
            3 => 20,
            _ => 64,
        };
        let raw = self.reader.read_bits(width)?;
        if width == 64 {
            return Some(raw as i64);
        }
        let half = 1u64 << (width - 1);
        Some(if raw > half {
            raw as i64 - (1i64 << width)
        } else {
            raw as i64
        })
    }

    fn read_value(&mut self) -> Option<()> {
        if !self.reader.read_bit()? {
            return Some(());
        }
        if self.reader.read_bit()? {
            let leading = self.reader.read_bits(5)? as u8;
            let mut significant = self.reader.read_bits(6)? as u8;
            if significant == 0 {
                significant = 64;
            }
            if u16::from(leading) + u16::from(significant) > 64 {
                // Impossible for a conforming encoder: flag it as the end of valid data.
                return None;
            }
            self.leading = leading;
            self.trailing = 64 - leading - significant;
            self.window_set = true;
        }
        let width = 64 - self.leading - self.trailing;
        let bits = self.reader.read_bits(width)?;
        self.value_bits ^= bits << self.trailing;
        Some(())
    }

    /// Returns (bytes used including the header, free bits in the last byte) after the
    /// samples read so far.
    fn end_position(&self) -> (usize, u8) {
        let (position, valid_bits) = self.reader.position();
        if valid_bits == 8 {
            (2 + position, 0)
        } else {
            (2 + position + 1, valid_bits)
        }
    }
}

impl Iterator for XorIterator<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<Self::Item> {
        self.next_sample()
    }
}

fn corrupt(reason: &str) -> Error {
    Error::Corrupt {
        what: WHAT,
        reason: reason.to_owned(),
    }
}

fn read_uvarint(reader: &mut BitReader<'_>) -> Option<u64> {
    let mut value = 0u64;
    for index in 0..10 {
        let byte = reader.read_byte()?;
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn read_varint(reader: &mut BitReader<'_>) -> Option<i64> {
    let raw = read_uvarint(reader)?;
    Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

#[cfg(test)]
mod tests;
