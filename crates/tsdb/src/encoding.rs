//! Byte-level primitives of Prometheus's file formats (`shared/formats/README.md`): big-endian
//! fixed-width integers, LEB128 `uvarint`, zig-zag `varint` and length-prefixed strings.
//!
//! [`Decbuf`] reads them from a slice and never panics: every read checks the remaining length
//! and reports a [`Error::Corrupt`] naming what was being decoded. The `put_*` functions
//! append to a `Vec<u8>`. The WAL records, the index and the chunk files share these.

use crate::error::{Error, Result};

/// Appends `value` as an unsigned LEB128 varint.
pub fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends `value` zig-zag encoded as a varint (Go's `binary.PutVarint`).
pub fn put_varint(out: &mut Vec<u8>, value: i64) {
    put_uvarint(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// Appends `value` big-endian.
pub fn put_be32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends `value` big-endian.
pub fn put_be64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends a uvarint length followed by the string's bytes.
pub fn put_uvarint_str(out: &mut Vec<u8>, value: &str) {
    put_uvarint(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

/// Returns the number of bytes `value` takes as a uvarint.
pub fn uvarint_len(mut value: u64) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

/// A checked reader over a byte slice.
#[derive(Clone, Debug)]
pub struct Decbuf<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Decbuf<'a> {
    /// Reads `bytes`; errors name `what` (e.g. "WAL series record").
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    /// Returns the bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.bytes
    }

    /// Returns the number of bytes not read yet.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Returns true when everything was read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn short(&self, wanted: &str) -> Error {
        Error::corrupt(
            self.what,
            format!(
                "data ends while reading {wanted} ({} bytes left)",
                self.bytes.len()
            ),
        )
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(self.short(&format!("{n} bytes")));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    /// Reads one byte.
    pub fn byte(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    /// Reads a big-endian u32.
    pub fn be32(&mut self) -> Result<u32> {
        let bytes = self.bytes(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// Reads a big-endian u64.
    pub fn be64(&mut self) -> Result<u64> {
        let bytes = self.bytes(8)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_be_bytes(array))
    }

    /// Reads a big-endian f64 (IEEE bits, NaN payloads preserved).
    pub fn be_f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.be64()?))
    }

    /// Reads an unsigned LEB128 varint (at most 10 bytes).
    pub fn uvarint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for index in 0..10 {
            let Some(&byte) = self.bytes.get(index) else {
                return Err(self.short("a uvarint"));
            };
            if index == 9 && byte > 1 {
                return Err(Error::corrupt(self.what, "uvarint overflows 64 bits"));
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte < 0x80 {
                self.bytes = &self.bytes[index + 1..];
                return Ok(value);
            }
        }
        Err(Error::corrupt(self.what, "uvarint longer than 10 bytes"))
    }

    /// Reads a zig-zag varint.
    pub fn varint(&mut self) -> Result<i64> {
        let raw = self.uvarint()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// Reads a uvarint that must fit in `usize`.
    pub fn uvarint_usize(&mut self) -> Result<usize> {
        let value = self.uvarint()?;
        usize::try_from(value).map_err(|_| Error::corrupt(self.what, "length does not fit memory"))
    }

    /// Reads a uvarint-length-prefixed UTF-8 string.
    pub fn uvarint_str(&mut self) -> Result<&'a str> {
        let len = self.uvarint_usize()?;
        let bytes = self.bytes(len)?;
        std::str::from_utf8(bytes).map_err(|_| Error::corrupt(self.what, "string is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(unsigned: u64, signed: i64, text in ".{0,40}") {
            let mut out = Vec::new();
            put_uvarint(&mut out, unsigned);
            prop_assert_eq!(out.len(), uvarint_len(unsigned));
            put_varint(&mut out, signed);
            put_uvarint_str(&mut out, &text);
            let mut buf = Decbuf::new(&out, "test");
            prop_assert_eq!(buf.uvarint().unwrap(), unsigned);
            prop_assert_eq!(buf.varint().unwrap(), signed);
            prop_assert_eq!(buf.uvarint_str().unwrap(), text.as_str());
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut buf = Decbuf::new(&bytes, "test");
            while buf.uvarint_str().is_ok() {}
            let mut buf = Decbuf::new(&bytes, "test");
            while buf.varint().is_ok() && buf.be32().is_ok() {}
        }
    }

    #[test]
    fn zig_zag_matches_go() {
        // Go: binary.PutVarint(-1) = 0x01, 1 = 0x02, 15000 = b0 ea 01 (wal.md §4.2 example).
        for (value, bytes) in [
            (-1i64, vec![0x01u8]),
            (1, vec![0x02]),
            (15000, vec![0xb0, 0xea, 0x01]),
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out, bytes);
        }
    }
}
