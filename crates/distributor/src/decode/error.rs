//! Errors of the remote write decoder. A malformed body is reported with the protobuf field it
//! broke in (number and dotted path, e.g. `timeseries.labels.value`), the byte offset of that
//! field's tag in the decompressed body, and what was wrong, so a sender's operator can find the
//! problem in a hex dump. Errors are built only on failure: the happy path carries no strings.

use std::fmt;

/// Why a remote write body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The `Content-Type` header names a media type or message this receiver does not speak
    /// (HTTP 415).
    #[error(
        "unsupported content type {content_type:?}: expected application/x-protobuf with an optional \
         proto=prometheus.WriteRequest or proto=io.prometheus.write.v2.Request"
    )]
    UnsupportedContentType {
        /// The header as received (trimmed).
        content_type: String,
    },
    /// The decompressed body is larger than the 4 GiB the decoder's 32-bit indexes can address.
    #[error("remote write request of {length} bytes is too large to decode (limit 4 GiB)")]
    BodyTooLarge {
        /// Length of the decompressed body in bytes.
        length: usize,
    },
    /// The body is not a valid encoding of the message its content type names.
    #[error("remote write request is malformed: {location} at byte {offset}: {reason}")]
    Malformed {
        /// The field (or field tag) where decoding failed.
        location: Location,
        /// Byte offset of the failing field's tag (or of the unreadable tag) in the body.
        offset: usize,
        /// What was wrong.
        reason: MalformedReason,
    },
}

/// Where in the message a malformed body broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A field the decoder knows, by number and dotted path (e.g. `timeseries.samples.value`).
    Field {
        /// Protobuf field number.
        number: u32,
        /// Dotted path from the request message, e.g. `timeseries.labels.name`.
        path: &'static str,
    },
    /// A field the decoder does not know and tried to skip.
    UnknownField {
        /// Protobuf field number.
        number: u32,
        /// Dotted path of the enclosing message (`request` for the top level).
        message: &'static str,
    },
    /// A field tag (key) of a message that could not be read.
    Tag {
        /// Dotted path of the enclosing message (`request` for the top level).
        message: &'static str,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field { number, path } => write!(formatter, "field {number} ({path})"),
            Self::UnknownField { number, message } => {
                write!(formatter, "unknown field {number} of {message}")
            }
            Self::Tag { message } => write!(formatter, "a field tag of {message}"),
        }
    }
}

/// What made a body malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MalformedReason {
    /// The body ends in the middle of a varint.
    #[error("truncated varint")]
    TruncatedVarint,
    /// A varint is longer than 10 bytes or overflows 64 bits.
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// A tag does not fit in 32 bits.
    #[error("field tag {tag} does not fit in 32 bits")]
    TagOverflow {
        /// The tag as read.
        tag: u64,
    },
    /// Field number 0 is reserved by protobuf.
    #[error("field number 0 is invalid")]
    FieldNumberZero,
    /// Wire types 3 and 4 (groups, deprecated and unused by remote write) and 6/7 (undefined).
    #[error("field {field} uses unsupported wire type {wire_type}")]
    UnsupportedWireType {
        /// Field number of the offending tag.
        field: u32,
        /// The wire type (3, 4, 6 or 7).
        wire_type: u8,
    },
    /// A known field arrived with a wire type its declared type cannot have.
    #[error("wire type {found} where {expected} was expected")]
    WrongWireType {
        /// Wire type on the wire.
        found: u8,
        /// What the schema allows, in words.
        expected: &'static str,
    },
    /// A length prefix points past the end of the enclosing message.
    #[error("length {length} exceeds the remaining {remaining} bytes")]
    LengthOverrun {
        /// The announced length.
        length: u64,
        /// Bytes left in the enclosing message.
        remaining: usize,
    },
    /// A fixed-width value (double, fixed32/64) is cut off.
    #[error("a {width}-byte value needs more than the remaining {remaining} bytes")]
    TruncatedFixed {
        /// Width of the value in bytes (4 or 8).
        width: usize,
        /// Bytes left in the enclosing message.
        remaining: usize,
    },
    /// A string field is not valid UTF-8.
    #[error("invalid UTF-8 after {valid_up_to} valid bytes of the string")]
    InvalidUtf8 {
        /// How many leading bytes of the string are valid UTF-8.
        valid_up_to: usize,
    },
    /// A remote write 2.0 symbol reference points past the end of the symbols table.
    #[error("symbol reference {reference} is out of range (the request has {symbols} symbols)")]
    SymbolOutOfRange {
        /// The reference as sent.
        reference: u32,
        /// Length of the request's symbols table.
        symbols: usize,
    },
    /// A remote write 2.0 series carries an odd number of label references.
    #[error("{count} label references cannot form (name, value) pairs")]
    OddLabelRefs {
        /// Number of references the series carries.
        count: usize,
    },
}
