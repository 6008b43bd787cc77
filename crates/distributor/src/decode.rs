//! Remote write request decoder: turns a snappy-decompressed push body (remote write 1.0
//! `prometheus.WriteRequest` or 2.0 `io.prometheus.write.v2.Request`) into a reusable,
//! index-based [`DecodedWrite`].
//!
//! Decoding is the hottest step of the write path. prost allocates a `String` per label name
//! and value; this hand-rolled protobuf reader allocates nothing per label or sample: every
//! string is validated once and appended to one text arena, labels are `(start, end)` pairs into
//! it, and the samples of all series share one vector. All buffers are cleared (not freed)
//! between requests, so a [`DecodedWrite`] kept per connection or worker stops allocating once
//! it has seen its largest request.
//!
//! - [`wire_version`]: picks the message schema from the `Content-Type` header.
//! - [`DecodedWrite`]: decodes a body and exposes [`SeriesView`]s, [`MetadataView`]s and counts.
//! - [`DecodeError`]: what is wrong with a body, naming the field and byte offset.
//!
//! Native histograms and exemplars are counted, not decoded further: Norn does not store them
//! yet. Label sets are exposed exactly as sent (wire order, duplicates kept); validation is the
//! distributor's next step. A label name or value that is not UTF-8 does not fail the decode
//! (Mimir refuses only its series): it reads lossily and its series reports it through
//! [`SeriesView::invalid_utf8_label`].

mod content_type;
mod error;
mod request;
mod v1;
mod v2;
mod view;
mod wire;

#[cfg(test)]
mod tests;

pub use content_type::{WireVersion, wire_version};
pub use error::{DecodeError, Location, MalformedReason};
pub use request::DecodedWrite;
pub use view::{InvalidUtf8Label, LabelIter, MetadataView, MetricType, Sample, SeriesView};
