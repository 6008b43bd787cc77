//! Protobuf wire-format primitives for the remote write decoder: a cursor over one message of
//! the body that reads tags, varints, fixed-width values and length-delimited sub-messages, and
//! skips unknown fields. Offsets stay absolute (relative to the whole body) in nested readers,
//! so errors point at the right byte.
//!
//! Semantics follow prost (the reference the tests compare against): varints of at most 10
//! bytes whose 10th byte is 0 or 1, narrower integers truncated from the 64-bit varint, tags
//! above 32 bits and field number 0 rejected. Groups (wire types 3/4) are rejected rather than
//! skipped: nothing in remote write uses them.

use super::error::{DecodeError, Location, MalformedReason};

/// The four wire types protobuf still defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireType {
    /// 0: base-128 varint.
    Varint,
    /// 1: 8 bytes little-endian.
    Fixed64,
    /// 2: varint length, then that many bytes.
    LengthDelimited,
    /// 5: 4 bytes little-endian.
    Fixed32,
}

impl WireType {
    /// The wire type's number as it appears in a tag.
    fn number(self) -> u8 {
        match self {
            Self::Varint => 0,
            Self::Fixed64 => 1,
            Self::LengthDelimited => 2,
            Self::Fixed32 => 5,
        }
    }
}

/// One field header read from a message: number, wire type and where its tag starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldHeader {
    /// Protobuf field number (≥ 1).
    pub(crate) number: u32,
    /// Wire type from the tag.
    pub(crate) wire_type: WireType,
    /// Absolute byte offset of the tag in the body.
    pub(crate) offset: usize,
}

impl FieldHeader {
    /// A [`DecodeError::Malformed`] located at this known field.
    pub(crate) fn error(&self, path: &'static str, reason: MalformedReason) -> DecodeError {
        DecodeError::Malformed {
            location: Location::Field {
                number: self.number,
                path,
            },
            offset: self.offset,
            reason,
        }
    }

    /// Fails unless the field has the wire type its declared type requires.
    #[inline]
    pub(crate) fn expect(
        &self,
        wire_type: WireType,
        path: &'static str,
    ) -> Result<(), DecodeError> {
        if self.wire_type == wire_type {
            return Ok(());
        }
        let expected = match wire_type {
            WireType::Varint => "varint (0)",
            WireType::Fixed64 => "fixed64 (1)",
            WireType::LengthDelimited => "length-delimited (2)",
            WireType::Fixed32 => "fixed32 (5)",
        };
        Err(self.error(path, self.wrong_wire_type(expected)))
    }

    /// The reason for a wire type the field cannot have.
    pub(crate) fn wrong_wire_type(&self, expected: &'static str) -> MalformedReason {
        MalformedReason::WrongWireType {
            found: self.wire_type.number(),
            expected,
        }
    }
}

/// A cursor over one message: `bytes` is the body cut at the message's end, `position` the
/// absolute offset of the next unread byte.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole body.
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self {
            bytes: body,
            position: 0,
        }
    }

    /// Whether the message has been read to its end.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.position >= self.bytes.len()
    }

    /// Bytes left in the message.
    #[inline]
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }

    /// The unread bytes of the message.
    #[inline]
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.position..).unwrap_or_default()
    }

    /// Skips `length` bytes the caller has decoded by other means (clamped to the message).
    #[inline]
    pub(crate) fn advance(&mut self, length: usize) {
        self.position = (self.position + length).min(self.bytes.len());
    }

    /// Reads a raw varint.
    #[inline]
    pub(crate) fn raw_varint(&mut self) -> Result<u64, MalformedReason> {
        let (value, length) = varint_prefix(self.rest())?;
        self.position += length;
        Ok(value)
    }

    /// Reads the next field header, or `None` at the end of the message. `message` names the
    /// enclosing message for errors.
    #[inline]
    pub(crate) fn next_field(
        &mut self,
        message: &'static str,
    ) -> Result<Option<FieldHeader>, DecodeError> {
        if self.is_empty() {
            return Ok(None);
        }
        let offset = self.position;
        let tag_error = |reason| DecodeError::Malformed {
            location: Location::Tag { message },
            offset,
            reason,
        };
        let tag = self.raw_varint().map_err(tag_error)?;
        let tag =
            u32::try_from(tag).map_err(|_| tag_error(MalformedReason::TagOverflow { tag }))?;
        let number = tag >> 3;
        if number == 0 {
            return Err(tag_error(MalformedReason::FieldNumberZero));
        }
        let wire_type = match tag & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::LengthDelimited,
            5 => WireType::Fixed32,
            other => {
                return Err(tag_error(MalformedReason::UnsupportedWireType {
                    field: number,
                    wire_type: other as u8,
                }));
            }
        };
        Ok(Some(FieldHeader {
            number,
            wire_type,
            offset,
        }))
    }

    /// Reads the value of a varint field (`int64`, `uint32`, enums...); callers narrow it the
    /// way protobuf does (truncation).
    #[inline]
    pub(crate) fn varint(
        &mut self,
        field: &FieldHeader,
        path: &'static str,
    ) -> Result<u64, DecodeError> {
        field.expect(WireType::Varint, path)?;
        self.raw_varint()
            .map_err(|reason| field.error(path, reason))
    }

    /// Reads the value of a `double` field.
    #[inline]
    pub(crate) fn double(
        &mut self,
        field: &FieldHeader,
        path: &'static str,
    ) -> Result<f64, DecodeError> {
        field.expect(WireType::Fixed64, path)?;
        let bytes = self
            .fixed::<8>()
            .map_err(|reason| field.error(path, reason))?;
        Ok(f64::from_le_bytes(bytes))
    }

    /// Reads `N` bytes of a fixed-width value.
    #[inline]
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], MalformedReason> {
        let bytes = self
            .rest()
            .first_chunk::<N>()
            .ok_or(MalformedReason::TruncatedFixed {
                width: N,
                remaining: self.remaining(),
            })?;
        self.position += N;
        Ok(*bytes)
    }

    /// Reads the length prefix of a length-delimited field and returns a reader over its
    /// content, leaving `self` after it. The wire type must already be checked.
    #[inline]
    pub(crate) fn length_delimited(&mut self) -> Result<Reader<'a>, MalformedReason> {
        let length = self.raw_varint()?;
        let remaining = self.remaining();
        if length > remaining as u64 {
            return Err(MalformedReason::LengthOverrun { length, remaining });
        }
        let start = self.position;
        let end = start + length as usize;
        self.position = end;
        Ok(Reader {
            bytes: self.bytes.get(..end).unwrap_or_default(),
            position: start,
        })
    }

    /// Reads an embedded message field and returns a reader over it.
    #[inline]
    pub(crate) fn message(
        &mut self,
        field: &FieldHeader,
        path: &'static str,
    ) -> Result<Reader<'a>, DecodeError> {
        field.expect(WireType::LengthDelimited, path)?;
        self.length_delimited()
            .map_err(|reason| field.error(path, reason))
    }

    /// Reads the content of a `string` or `bytes` field (UTF-8 is the caller's business).
    #[inline]
    pub(crate) fn bytes(
        &mut self,
        field: &FieldHeader,
        path: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        Ok(self.message(field, path)?.rest())
    }

    /// Skips a field the decoder does not use. `message` names the enclosing message.
    pub(crate) fn skip(
        &mut self,
        field: &FieldHeader,
        message: &'static str,
    ) -> Result<(), DecodeError> {
        let skipped = match field.wire_type {
            WireType::Varint => self.raw_varint().map(drop),
            WireType::Fixed64 => self.fixed::<8>().map(drop),
            WireType::Fixed32 => self.fixed::<4>().map(drop),
            WireType::LengthDelimited => self.length_delimited().map(drop),
        };
        skipped.map_err(|reason| DecodeError::Malformed {
            location: Location::UnknownField {
                number: field.number,
                message,
            },
            offset: field.offset,
            reason,
        })
    }
}

/// Decodes the varint at the start of `bytes`: its value and its length in bytes.
#[inline]
pub(crate) fn varint_prefix(bytes: &[u8]) -> Result<(u64, usize), MalformedReason> {
    match bytes.first() {
        Some(&byte) if byte < 0x80 => Ok((u64::from(byte), 1)),
        Some(_) => multi_byte_varint(bytes),
        None => Err(MalformedReason::TruncatedVarint),
    }
}

/// Decodes a varint of two or more bytes (timestamps, lengths ≥ 128).
fn multi_byte_varint(bytes: &[u8]) -> Result<(u64, usize), MalformedReason> {
    let mut value = 0u64;
    for (index, &byte) in bytes.iter().take(10).enumerate() {
        if index == 9 && byte > 1 {
            return Err(MalformedReason::VarintOverflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte < 0x80 {
            return Ok((value, index + 1));
        }
    }
    Err(MalformedReason::TruncatedVarint)
}
