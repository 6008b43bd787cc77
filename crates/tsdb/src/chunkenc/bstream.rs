//! A bit stream written and read most-significant bit first, as Prometheus's `bstream`.
//!
//! The writer appends to a byte vector and remembers how many bits of the last byte are still
//! free; the reader walks a byte slice and reports running out of bits as `None`, never by
//! panicking, so corrupt input is always an error the caller can name.

/// Appends bits to a byte vector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Free bits in the last byte (0 means a new byte is needed).
    free_bits: u8,
}

impl BitWriter {
    /// Returns a writer that continues after `bytes`, whose last byte has `free_bits` unused
    /// low bits.
    pub fn from_parts(bytes: Vec<u8>, free_bits: u8) -> Self {
        Self {
            bytes,
            free_bits: free_bits.min(7),
        }
    }

    /// Returns the allocated capacity of the underlying buffer.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Returns the bytes written so far (the last one padded with zero bits).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Returns the bytes for in-place edits of whole bytes already written (headers).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Returns the free bits of the last byte.
    pub fn free_bits(&self) -> u8 {
        self.free_bits
    }

    /// Appends one bit.
    pub fn write_bit(&mut self, bit: bool) {
        if self.free_bits == 0 {
            self.bytes.push(0);
            self.free_bits = 8;
        }
        if bit && let Some(last) = self.bytes.last_mut() {
            *last |= 1 << (self.free_bits - 1);
        }
        self.free_bits -= 1;
    }

    /// Appends the low `count` bits of `value` (count ≤ 64), most significant first.
    pub fn write_bits(&mut self, value: u64, count: u8) {
        let mut remaining = count.min(64);
        while remaining > 0 {
            if self.free_bits == 0 {
                self.bytes.push(0);
                self.free_bits = 8;
            }
            let take = remaining.min(self.free_bits);
            let shift = remaining - take;
            let chunk = ((value >> shift) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << (self.free_bits - take);
            }
            self.free_bits -= take;
            remaining -= take;
        }
    }

    /// Appends a whole byte (at whatever bit position the stream is).
    pub fn write_byte(&mut self, byte: u8) {
        self.write_bits(u64::from(byte), 8);
    }
}

/// Reads bits from a byte slice.
#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Index of the byte holding the next bit.
    position: usize,
    /// Bits of `bytes[position]` not read yet (8 = untouched).
    valid_bits: u8,
}

impl<'a> BitReader<'a> {
    /// Returns a reader at the first bit of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            position: 0,
            valid_bits: 8,
        }
    }

    /// Reads one bit, or `None` at the end.
    pub fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.position)?;
        self.valid_bits -= 1;
        let bit = (byte >> self.valid_bits) & 1 == 1;
        if self.valid_bits == 0 {
            self.position += 1;
            self.valid_bits = 8;
        }
        Some(bit)
    }

    /// Reads `count` bits (≤ 64) as the low bits of a `u64`, or `None` at the end.
    pub fn read_bits(&mut self, count: u8) -> Option<u64> {
        let mut remaining = count.min(64);
        let mut value = 0u64;
        while remaining > 0 {
            let byte = *self.bytes.get(self.position)?;
            let take = remaining.min(self.valid_bits);
            let shift = self.valid_bits - take;
            let chunk = (u64::from(byte) >> shift) & ((1u64 << take) - 1);
            value = if take == 64 {
                chunk
            } else {
                (value << take) | chunk
            };
            self.valid_bits -= take;
            remaining -= take;
            if self.valid_bits == 0 {
                self.position += 1;
                self.valid_bits = 8;
            }
        }
        Some(value)
    }

    /// Returns (index of the byte holding the next bit, unread bits of that byte; 8 = none read).
    pub fn position(&self) -> (usize, u8) {
        (self.position, self.valid_bits)
    }

    /// Reads 8 bits as a byte.
    pub fn read_byte(&mut self) -> Option<u8> {
        self.read_bits(8).map(|value| value as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_across_byte_boundaries() {
        let mut writer = BitWriter::default();
        writer.write_bit(true);
        writer.write_bits(0b101, 3);
        writer.write_bits(u64::MAX, 64);
        writer.write_byte(0xab);
        writer.write_bits(0x1234, 14);
        let mut reader = BitReader::new(writer.bytes());
        assert_eq!(reader.read_bit(), Some(true));
        assert_eq!(reader.read_bits(3), Some(0b101));
        assert_eq!(reader.read_bits(64), Some(u64::MAX));
        assert_eq!(reader.read_byte(), Some(0xab));
        assert_eq!(reader.read_bits(14), Some(0x1234));
        // 1 + 3 + 64 + 8 + 14 = 90 bits = 12 bytes with 6 padding bits.
        assert_eq!(writer.bytes().len(), 12);
        assert_eq!(writer.free_bits(), 6);
        assert_eq!(reader.read_bits(6), Some(0));
        assert_eq!(reader.read_bit(), None);
    }

    #[test]
    fn msb_first_layout() {
        let mut writer = BitWriter::default();
        writer.write_bits(0b10, 2);
        writer.write_bits(0b000001, 6);
        assert_eq!(writer.bytes(), &[0b1000_0001]);
    }
}
