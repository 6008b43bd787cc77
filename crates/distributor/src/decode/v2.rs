//! Remote write 2.0 (`io.prometheus.write.v2.Request`, `proto/io/prometheus/write/v2/types.proto`)
//! into the decoded tables.
//!
//! Protobuf lets fields come in any order, so the request is walked twice: first the `symbols`
//! table is validated (UTF-8, once per symbol) and copied into the text arena, then the series
//! are decoded with every reference resolved to a span and bounds-checked on the spot. Label
//! references are accepted packed (what every sender writes) and unpacked (which protobuf
//! requires decoders to accept; Mimir rejects it). Exemplars and histograms are bounds-checked
//! and counted; `start_timestamp` and the legacy series-level `created_timestamp` are skipped.
//!
//! A symbol that is not valid UTF-8 is kept (lossily, see `request`): a series whose label
//! references hit one is marked, metadata whose `help_ref`/`unit_ref` does fails the decode,
//! and references from exemplars (not decoded) or from nowhere are harmless.

use super::error::{DecodeError, MalformedReason};
use super::request::{InvalidLabel, LabelSpans, MetadataSpans, SeriesEntry, Span, Tables};
use super::v1::canonical_sample;
use super::view::{MetricType, Sample};
use super::wire::{FieldHeader, Reader, WireType};

/// Path of the label references field, for errors.
const LABELS_REFS: &str = "timeseries.labels_refs";

/// Decodes a whole `Request` body into `tables` (which the caller has cleared).
/// `PER_STRING` selects per-string UTF-8 validation (see `request`).
pub(crate) fn decode<const PER_STRING: bool>(
    body: &[u8],
    tables: &mut Tables,
) -> Result<(), DecodeError> {
    let mut request = Reader::new(body);
    while let Some(field) = request.next_field("request")? {
        match field.number {
            4 => {
                let bytes = request.bytes(&field, "symbols")?;
                let (symbol, invalid) =
                    tables.push_label_string::<PER_STRING>(bytes, &field, "symbols")?;
                tables.symbols.push(symbol);
                if PER_STRING {
                    tables.symbol_utf8_errors.push(invalid);
                }
            }
            _ => request.skip(&field, "request")?,
        }
    }
    let mut request = Reader::new(body);
    while let Some(field) = request.next_field("request")? {
        match field.number {
            5 => decode_series(request.message(&field, "timeseries")?, tables)?,
            _ => request.skip(&field, "request")?,
        }
    }
    Ok(())
}

/// Resolves a symbol reference read from `field`, failing when it is out of range.
#[inline]
fn resolve(
    symbols: &[Span],
    reference: u64,
    field: &FieldHeader,
    path: &'static str,
) -> Result<Span, DecodeError> {
    // uint32 fields keep the low 32 bits of the varint, as protobuf specifies.
    let reference = reference as u32;
    symbols.get(reference as usize).copied().ok_or_else(|| {
        field.error(
            path,
            MalformedReason::SymbolOutOfRange {
                reference,
                symbols: symbols.len(),
            },
        )
    })
}

/// Decodes one `TimeSeries`.
fn decode_series(mut series: Reader<'_>, tables: &mut Tables) -> Result<(), DecodeError> {
    let samples_start = tables.samples.len();
    let mut histograms = 0;
    let mut exemplars = 0;
    let mut metadata: Option<MetadataSpans> = None;
    let mut last_refs_field: Option<FieldHeader> = None;
    tables.pending_refs.clear();
    tables.pending_invalid_ref = None;
    while let Some(field) = series.next_field("timeseries")? {
        match field.number {
            1 => {
                read_label_refs(&mut series, &field, tables)?;
                last_refs_field = Some(field);
            }
            2 => decode_sample(series.message(&field, "timeseries.samples")?, tables)?,
            3 => {
                series.message(&field, "timeseries.histograms")?;
                histograms += 1;
            }
            4 => {
                series.message(&field, "timeseries.exemplars")?;
                exemplars += 1;
            }
            5 => {
                // A non-repeated message field that repeats is merged, field by field.
                let merged = metadata.get_or_insert_with(MetadataSpans::default);
                decode_metadata(
                    series.message(&field, "timeseries.metadata")?,
                    tables,
                    merged,
                )?;
            }
            6 => {
                series.varint(&field, "timeseries.created_timestamp")?;
            }
            _ => series.skip(&field, "timeseries")?,
        }
    }
    let refs = &tables.pending_refs;
    if let Some(field) = last_refs_field
        && !refs.len().is_multiple_of(2)
    {
        return Err(field.error(
            LABELS_REFS,
            MalformedReason::OddLabelRefs { count: refs.len() },
        ));
    }
    let invalid_label = tables.pending_invalid_ref.map(|position| InvalidLabel {
        index: position / 2,
        is_value: position % 2 == 1,
    });
    let labels_start = tables.labels.len();
    tables
        .labels
        .extend(refs.chunks_exact(2).map(|pair| LabelSpans {
            name: pair[0],
            value: pair[1],
        }));
    tables.histograms += histograms;
    tables.exemplars += exemplars;
    tables.series.push(SeriesEntry {
        labels_start,
        labels_end: tables.labels.len(),
        samples_start,
        samples_end: tables.samples.len(),
        histograms,
        exemplars,
        metadata,
        invalid_label,
    });
    Ok(())
}

/// Reads one occurrence of `labels_refs`, packed or not, appending resolved spans to
/// `tables.pending_refs`.
#[inline]
fn read_label_refs(
    series: &mut Reader<'_>,
    field: &FieldHeader,
    tables: &mut Tables,
) -> Result<(), DecodeError> {
    match field.wire_type {
        WireType::LengthDelimited => {
            let mut packed = series
                .length_delimited()
                .map_err(|reason| field.error(LABELS_REFS, reason))?;
            while !packed.is_empty() {
                let reference = packed
                    .raw_varint()
                    .map_err(|reason| field.error(LABELS_REFS, reason))?;
                push_label_ref(tables, reference, field)?;
            }
        }
        WireType::Varint => {
            let reference = series
                .raw_varint()
                .map_err(|reason| field.error(LABELS_REFS, reason))?;
            push_label_ref(tables, reference, field)?;
        }
        WireType::Fixed64 | WireType::Fixed32 => {
            return Err(field.error(
                LABELS_REFS,
                field.wrong_wire_type("packed (2) or varint (0)"),
            ));
        }
    }
    Ok(())
}

/// Resolves one label reference onto `tables.pending_refs`, remembering the first one that
/// hits a symbol that is not valid UTF-8.
#[inline]
fn push_label_ref(
    tables: &mut Tables,
    reference: u64,
    field: &FieldHeader,
) -> Result<(), DecodeError> {
    let span = resolve(&tables.symbols, reference, field, LABELS_REFS)?;
    if tables.pending_invalid_ref.is_none() && symbol_utf8_error(tables, reference).is_some() {
        tables.pending_invalid_ref = Some(tables.pending_refs.len());
    }
    tables.pending_refs.push(span);
    Ok(())
}

/// `Some(valid_up_to)` when the (in-range) symbol `reference` is not valid UTF-8; always
/// `None` in the fast pass, which does not know.
#[inline]
fn symbol_utf8_error(tables: &Tables, reference: u64) -> Option<usize> {
    let index = reference as u32 as usize;
    tables.symbol_utf8_errors.get(index).copied().flatten()
}

/// Resolves a metadata reference (`help_ref`, `unit_ref`), failing when it is out of range or
/// its symbol is not valid UTF-8 (only label strings are allowed to be invalid).
fn resolve_metadata(
    tables: &Tables,
    reference: u64,
    field: &FieldHeader,
    path: &'static str,
) -> Result<Span, DecodeError> {
    let span = resolve(&tables.symbols, reference, field, path)?;
    match symbol_utf8_error(tables, reference) {
        Some(valid_up_to) => Err(field.error(path, MalformedReason::InvalidUtf8 { valid_up_to })),
        None => Ok(span),
    }
}

/// Decodes one `Sample` (`start_timestamp` is read and ignored).
#[inline]
fn decode_sample(mut sample: Reader<'_>, tables: &mut Tables) -> Result<(), DecodeError> {
    if let Some(decoded) = canonical_sample(sample.rest()) {
        tables.samples.push(decoded);
        return Ok(());
    }
    let mut decoded = Sample {
        timestamp_ms: 0,
        value: 0.0,
    };
    while let Some(field) = sample.next_field("timeseries.samples")? {
        match field.number {
            1 => decoded.value = sample.double(&field, "timeseries.samples.value")?,
            2 => {
                decoded.timestamp_ms =
                    sample.varint(&field, "timeseries.samples.timestamp")? as i64;
            }
            3 => {
                sample.varint(&field, "timeseries.samples.start_timestamp")?;
            }
            _ => sample.skip(&field, "timeseries.samples")?,
        }
    }
    tables.samples.push(decoded);
    Ok(())
}

/// Merges one occurrence of `Metadata` into `merged`.
fn decode_metadata(
    mut metadata: Reader<'_>,
    tables: &Tables,
    merged: &mut MetadataSpans,
) -> Result<(), DecodeError> {
    while let Some(field) = metadata.next_field("timeseries.metadata")? {
        match field.number {
            1 => {
                let wire = metadata.varint(&field, "timeseries.metadata.type")?;
                merged.metric_type = MetricType::from_wire(wire as i32);
            }
            3 => {
                let path = "timeseries.metadata.help_ref";
                let reference = metadata.varint(&field, path)?;
                merged.help = resolve_metadata(tables, reference, &field, path)?;
            }
            4 => {
                let path = "timeseries.metadata.unit_ref";
                let reference = metadata.varint(&field, path)?;
                merged.unit = resolve_metadata(tables, reference, &field, path)?;
            }
            _ => metadata.skip(&field, "timeseries.metadata")?,
        }
    }
    Ok(())
}
