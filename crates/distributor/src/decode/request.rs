//! [`DecodedWrite`], the reusable decoded request, and the index tables behind it: one text
//! arena holding every exposed string, label/sample/series vectors indexing into it. The
//! tables are filled by the per-version parsers (`v1`, `v2`) and read through the views.
//!
//! UTF-8 is validated in bulk, not per string: the parsers append raw string bytes to the
//! arena, checking only that no string starts with a UTF-8 continuation byte, and the whole
//! arena is then validated once (`String::from_utf8`, no copy). A valid arena in which every
//! string starts on a character boundary contains only valid strings, and one long validation
//! is several times cheaper than thousands of short ones. When the bulk check fails, the body is
//! decoded again with per-string validation to name the offending field (rare, error path only).
//!
//! Label names and values (v1 `timeseries.labels`, v2 `symbols`) are the exception: as Mimir,
//! which decodes label strings without checking them and refuses only the series in validation,
//! an invalid one does not fail the decode. The per-string pass stores it as
//! `String::from_utf8_lossy` (so views stay `&str`) and marks the series
//! (`SeriesEntry::invalid_label`); the distributor drops that series. In the fast pass a label
//! string starting with a continuation byte only forces the per-string pass
//! (`Tables::force_per_string`).

use super::content_type::WireVersion;
use super::error::{DecodeError, Location, MalformedReason};
use super::view::{MetadataView, MetricType, Sample, SeriesView};
use super::wire::FieldHeader;
use super::{v1, v2};

/// UTF-8 checking of the fast pass: bulk validation of the arena afterwards.
pub(crate) const BULK_UTF8: bool = false;
/// UTF-8 checking of the error-locating pass: every string on its own.
pub(crate) const PER_STRING_UTF8: bool = true;

/// A validated string in the text arena: `text[start..end]`. The arena never holds more bytes
/// than the body, whose length is checked to fit in `u32`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// One label: its name and value in the text arena.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LabelSpans {
    pub(crate) name: Span,
    pub(crate) value: Span,
}

/// Metadata as decoded: v1 `MetricMetadata` (family from the message) or v2 `Metadata` (family
/// left empty: it is the series' `__name__`, looked up when viewed).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MetadataSpans {
    pub(crate) metric_type: MetricType,
    pub(crate) family: Span,
    pub(crate) help: Span,
    pub(crate) unit: Span,
}

impl MetadataSpans {
    /// Whether the metadata says anything (Mimir drops v2 metadata that does not).
    pub(crate) fn is_informative(&self) -> bool {
        self.metric_type != MetricType::Unknown
            || self.help.start != self.help.end
            || self.unit.start != self.unit.end
    }
}

/// The first label of a series whose name or value is not valid UTF-8 (stored lossily).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidLabel {
    /// Position of the label in the series, in wire order.
    pub(crate) index: usize,
    /// `true` when the value is invalid, `false` when the name is (the name is judged first).
    pub(crate) is_value: bool,
}

/// One series: ranges into the label and sample vectors, counts, and (v2) its metadata.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeriesEntry {
    pub(crate) labels_start: usize,
    pub(crate) labels_end: usize,
    pub(crate) samples_start: usize,
    pub(crate) samples_end: usize,
    pub(crate) histograms: usize,
    pub(crate) exemplars: usize,
    pub(crate) metadata: Option<MetadataSpans>,
    /// Set when a label string was not valid UTF-8 (per-string pass only).
    pub(crate) invalid_label: Option<InvalidLabel>,
}

/// Everything a decoded request consists of, apart from the body it came from.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    /// Every exposed string, back to back, validated: what views read.
    text: String,
    /// The same allocation while decoding, before validation.
    arena: Vec<u8>,
    /// v2: the request's symbols table.
    pub(crate) symbols: Vec<Span>,
    /// v2, per-string pass only (empty otherwise): per symbol, `Some(valid_up_to)` when it
    /// was not valid UTF-8 and is stored lossily.
    pub(crate) symbol_utf8_errors: Vec<Option<usize>>,
    /// v2: position in `pending_refs` of the first reference to an invalid symbol.
    pub(crate) pending_invalid_ref: Option<usize>,
    /// Set by the fast pass when a label string starts with a continuation byte: the bulk
    /// check could be fooled, so the per-string pass must run.
    force_per_string: bool,
    /// v2: label references of the series being decoded, resolved to spans.
    pub(crate) pending_refs: Vec<Span>,
    pub(crate) labels: Vec<LabelSpans>,
    pub(crate) samples: Vec<Sample>,
    pub(crate) series: Vec<SeriesEntry>,
    /// v1: the request's `metadata` entries.
    pub(crate) metadata: Vec<MetadataSpans>,
    pub(crate) histograms: usize,
    pub(crate) exemplars: usize,
}

impl Tables {
    /// Empties every table, keeping the allocations, and opens the arena for a decode.
    fn begin(&mut self) {
        let mut arena = std::mem::take(&mut self.text).into_bytes();
        if arena.capacity() < self.arena.capacity() {
            arena = std::mem::take(&mut self.arena);
        }
        arena.clear();
        self.arena = arena;
        self.symbols.clear();
        self.symbol_utf8_errors.clear();
        self.pending_invalid_ref = None;
        self.force_per_string = false;
        self.pending_refs.clear();
        self.labels.clear();
        self.samples.clear();
        self.series.clear();
        self.metadata.clear();
        self.histograms = 0;
        self.exemplars = 0;
    }

    /// Validates the arena and makes it readable; `false` when it is not UTF-8 (the arena is
    /// kept for the next attempt).
    fn finish(&mut self) -> bool {
        match String::from_utf8(std::mem::take(&mut self.arena)) {
            Ok(text) => {
                self.text = text;
                true
            }
            Err(error) => {
                self.arena = error.into_bytes();
                false
            }
        }
    }

    /// Empties every table after a failed decode, so no partial request is visible.
    fn reset(&mut self) {
        self.begin();
        let _ = self.finish();
    }

    /// Appends the raw bytes of string `field` to the arena. With [`PER_STRING_UTF8`] they are
    /// validated here; with [`BULK_UTF8`] only their first byte is checked (see the module
    /// docs), the rest is validated with the whole arena.
    #[inline]
    pub(crate) fn push_string<const PER_STRING: bool>(
        &mut self,
        bytes: &[u8],
        field: &FieldHeader,
        path: &'static str,
    ) -> Result<Span, DecodeError> {
        let valid = if PER_STRING {
            std::str::from_utf8(bytes)
                .map(drop)
                .map_err(|error| error.valid_up_to())
        } else if starts_inside_a_character(bytes) {
            Err(0)
        } else {
            Ok(())
        };
        if let Err(valid_up_to) = valid {
            return Err(field.error(path, MalformedReason::InvalidUtf8 { valid_up_to }));
        }
        Ok(self.push_raw(bytes))
    }

    /// Appends a label string (v1 label name or value, v2 symbol) and returns its span and,
    /// when it is not valid UTF-8, how many leading bytes are. Unlike
    /// [`push_string`](Self::push_string), invalid UTF-8 is not an error: with
    /// [`PER_STRING_UTF8`] the string is stored as `String::from_utf8_lossy` of its bytes; with
    /// [`BULK_UTF8`] a string starting with a continuation byte forces the per-string pass.
    /// Fails only when the lossy text would overflow the arena's 32-bit offsets.
    #[inline]
    pub(crate) fn push_label_string<const PER_STRING: bool>(
        &mut self,
        bytes: &[u8],
        field: &FieldHeader,
        path: &'static str,
    ) -> Result<(Span, Option<usize>), DecodeError> {
        if !PER_STRING {
            self.force_per_string |= starts_inside_a_character(bytes);
            return Ok((self.push_raw(bytes), None));
        }
        let Err(error) = std::str::from_utf8(bytes) else {
            return Ok((self.push_raw(bytes), None));
        };
        let valid_up_to = error.valid_up_to();
        let lossy = String::from_utf8_lossy(bytes);
        // Replacement characters can make the text up to 3 times longer than the bytes.
        if u32::try_from(self.arena.len() + lossy.len()).is_err() {
            return Err(field.error(path, MalformedReason::InvalidUtf8 { valid_up_to }));
        }
        Ok((self.push_raw(lossy.as_bytes()), Some(valid_up_to)))
    }

    /// Appends bytes to the arena unchecked (the bulk validation will judge them) and returns
    /// where they landed. Callers guarantee that the strings they cut out of them start on
    /// character boundaries of valid UTF-8 (see the module docs).
    #[inline]
    pub(crate) fn push_raw(&mut self, bytes: &[u8]) -> Span {
        // Cannot truncate: the arena holds at most the body's bytes and `decode` rejects bodies
        // longer than `u32::MAX`.
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(bytes);
        Span {
            start,
            end: self.arena.len() as u32,
        }
    }

    /// Bytes in the arena so far.
    #[inline]
    pub(crate) fn arena_len(&self) -> u32 {
        self.arena.len() as u32
    }

    /// The string behind a span (never fails for spans this table handed out).
    #[inline]
    pub(crate) fn str(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }
}

/// Whether `bytes` begins with a UTF-8 continuation byte (`0b10xx_xxxx`), which no valid
/// string does.
#[inline]
fn starts_inside_a_character(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|&byte| (byte as i8) < -0x40)
}

/// Runs the parser of `version` over `body`.
fn parse<const PER_STRING: bool>(
    version: WireVersion,
    body: &[u8],
    tables: &mut Tables,
) -> Result<(), DecodeError> {
    match version {
        WireVersion::V1 => v1::decode::<PER_STRING>(body, tables),
        WireVersion::V2 => v2::decode::<PER_STRING>(body, tables),
    }
}

/// A decoded remote write request, reusable across requests.
///
/// It owns the decompressed body (see [`take_buffer`](Self::take_buffer)) and the index vectors
/// built from it; [`decode`](Self::decode) clears them without freeing, so keeping one per
/// worker removes per-request allocation once it has seen its largest request. The views it
/// hands out borrow only its own tables, never the body: they stay valid after
/// [`take_buffer`](Self::take_buffer).
#[derive(Default)]
pub struct DecodedWrite {
    version: WireVersion,
    body: Vec<u8>,
    tables: Tables,
}

impl std::fmt::Debug for DecodedWrite {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DecodedWrite")
            .field("version", &self.version)
            .field("series", &self.series_count())
            .field("samples", &self.sample_count())
            .field("histograms", &self.histogram_count())
            .field("exemplars", &self.exemplar_count())
            .field("metadata", &self.tables.metadata.len())
            .finish()
    }
}

impl DecodedWrite {
    /// An empty decoded request (no series) that allocates nothing until the first decode.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `body`, an already snappy-decompressed protobuf message of `version`, replacing
    /// the previous contents. Every string it exposes is validated as UTF-8; v2 symbol
    /// references are bounds-checked. A label name or value (v2: a symbol a series' labels
    /// reference) that is not UTF-8 does not fail the decode: it is exposed lossily and its
    /// series reports it ([`SeriesView::invalid_utf8_label`]). Other invalid strings (metadata,
    /// v2 metadata references to an invalid symbol) fail it. On error the request is left empty.
    pub fn decode(&mut self, version: WireVersion, body: Vec<u8>) -> Result<(), DecodeError> {
        self.version = version;
        self.body = body;
        let decoded = self.parse_body();
        if decoded.is_err() {
            self.tables.reset();
        }
        decoded
    }

    /// Decodes `self.body` into the tables: a fast pass with bulk UTF-8 validation, then, only
    /// if that finds (or cannot rule out) invalid UTF-8, a per-string pass that names the
    /// field, or stores an invalid label string lossily and marks its series.
    fn parse_body(&mut self) -> Result<(), DecodeError> {
        if u32::try_from(self.body.len()).is_err() {
            return Err(DecodeError::BodyTooLarge {
                length: self.body.len(),
            });
        }
        self.tables.begin();
        // Strings never exceed the body, so the arena never reallocates mid-decode.
        self.tables.arena.reserve(self.body.len());
        parse::<BULK_UTF8>(self.version, &self.body, &mut self.tables)?;
        if !self.tables.force_per_string && self.tables.finish() {
            return Ok(());
        }
        self.tables.begin();
        parse::<PER_STRING_UTF8>(self.version, &self.body, &mut self.tables)?;
        if self.tables.finish() {
            return Ok(());
        }
        // Unreachable: strings that each validate form a valid arena.
        Err(DecodeError::Malformed {
            location: Location::Tag { message: "request" },
            offset: 0,
            reason: MalformedReason::InvalidUtf8 { valid_up_to: 0 },
        })
    }

    /// Gives back the body buffer of the last [`decode`](Self::decode) for reuse (e.g. as the
    /// next request's decompression buffer). The decoded contents stay readable: they live in
    /// this value's own tables.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.body)
    }

    /// The message schema of the last decode.
    pub fn version(&self) -> WireVersion {
        self.version
    }

    /// Number of series in the request.
    pub fn series_count(&self) -> usize {
        self.tables.series.len()
    }

    /// The `index`-th series in wire order.
    ///
    /// # Panics
    ///
    /// If `index >= self.series_count()`.
    pub fn series(&self, index: usize) -> SeriesView<'_> {
        SeriesView::new(&self.tables, &self.tables.series[index])
    }

    /// All series in wire order.
    pub fn series_iter(
        &self,
    ) -> impl ExactSizeIterator<Item = SeriesView<'_>> + DoubleEndedIterator + Clone {
        let tables = &self.tables;
        tables
            .series
            .iter()
            .map(move |entry| SeriesView::new(tables, entry))
    }

    /// The request's metadata. v1: the `metadata` entries as sent. v2: each series' metadata
    /// that says something (type not unknown, or help/unit non-empty), with `metric_family` set
    /// to the series' `__name__`; series without a `__name__` are skipped, as Mimir does.
    pub fn metadata(&self) -> impl Iterator<Item = MetadataView<'_>> + Clone {
        let tables = &self.tables;
        let per_series = match self.version {
            WireVersion::V1 => &[][..],
            WireVersion::V2 => &tables.series[..],
        };
        let request_level = tables
            .metadata
            .iter()
            .map(move |metadata| MetadataView::new(tables, metadata, tables.str(metadata.family)));
        let from_series = per_series
            .iter()
            .filter_map(move |entry| SeriesView::new(tables, entry).metadata())
            .filter(|metadata| !metadata.metric_family.is_empty());
        request_level.chain(from_series)
    }

    /// Number of float samples over all series.
    pub fn sample_count(&self) -> usize {
        self.tables.samples.len()
    }

    /// Number of native histogram samples over all series.
    pub fn histogram_count(&self) -> usize {
        self.tables.histograms
    }

    /// Number of exemplars over all series.
    pub fn exemplar_count(&self) -> usize {
        self.tables.exemplars
    }
}
