//! Remote write 1.0 (`prometheus.WriteRequest`, `proto/prometheus/*.proto`) into the decoded
//! tables. Label strings are copied into the text arena; samples go to the shared sample
//! vector; exemplars and histograms are bounds-checked and counted. Unknown fields (Mimir's
//! `Source`, its RW2 fields 4/5, `skip_label_validation`...) are skipped.
//!
//! Labels and samples have fast paths for the exact layout every encoder emits
//! (`0a len name 12 len value` with one-byte lengths, `09 value 10 timestamp`): the run of such
//! labels a series starts with is copied into the arena with a single `memcpy` (tags and
//! lengths included: they are ASCII, so the arena's bulk UTF-8 validation still judges exactly
//! the strings). Anything else (reordered or repeated fields, unknown fields, defaults left
//! out, long strings) takes the general field loop, which gives the same result.

use super::error::DecodeError;
use super::request::{InvalidLabel, LabelSpans, MetadataSpans, SeriesEntry, Span, Tables};
use super::view::{MetricType, Sample};
use super::wire::{Reader, varint_prefix};

/// Decodes a whole `WriteRequest` body into `tables` (which the caller has cleared).
/// `PER_STRING` selects per-string UTF-8 validation (see `request`).
pub(crate) fn decode<const PER_STRING: bool>(
    body: &[u8],
    tables: &mut Tables,
) -> Result<(), DecodeError> {
    let mut request = Reader::new(body);
    while let Some(field) = request.next_field("request")? {
        match field.number {
            1 => decode_series::<PER_STRING>(request.message(&field, "timeseries")?, tables)?,
            3 => decode_metadata::<PER_STRING>(request.message(&field, "metadata")?, tables)?,
            _ => request.skip(&field, "request")?,
        }
    }
    Ok(())
}

/// Decodes one `TimeSeries`.
fn decode_series<const PER_STRING: bool>(
    mut series: Reader<'_>,
    tables: &mut Tables,
) -> Result<(), DecodeError> {
    let labels_start = tables.labels.len();
    let samples_start = tables.samples.len();
    let mut histograms = 0;
    let mut exemplars = 0;
    let mut invalid_label = None;
    if !PER_STRING {
        let copied = leading_canonical_labels(series.rest(), tables);
        series.advance(copied);
    }
    while let Some(field) = series.next_field("timeseries")? {
        match field.number {
            1 => {
                let label = series.message(&field, "timeseries.labels")?;
                if let Some(is_value) = decode_label::<PER_STRING>(label, tables)? {
                    invalid_label.get_or_insert(InvalidLabel {
                        index: tables.labels.len() - 1 - labels_start,
                        is_value,
                    });
                }
            }
            2 => decode_sample(series.message(&field, "timeseries.samples")?, tables)?,
            3 => {
                series.message(&field, "timeseries.exemplars")?;
                exemplars += 1;
            }
            4 => {
                series.message(&field, "timeseries.histograms")?;
                histograms += 1;
            }
            6 => {
                series.varint(&field, "timeseries.created_timestamp")?;
            }
            _ => series.skip(&field, "timeseries")?,
        }
    }
    tables.histograms += histograms;
    tables.exemplars += exemplars;
    tables.series.push(SeriesEntry {
        labels_start,
        labels_end: tables.labels.len(),
        samples_start,
        samples_end: tables.samples.len(),
        histograms,
        exemplars,
        metadata: None,
        invalid_label,
    });
    Ok(())
}

/// Decodes one `Label` (last occurrence of a field wins, as in protobuf). Returns whether a
/// string of it is not valid UTF-8 (per-string pass only): `Some(false)` for the name (judged
/// first, as Mimir does), `Some(true)` for the value.
#[inline]
fn decode_label<const PER_STRING: bool>(
    mut label: Reader<'_>,
    tables: &mut Tables,
) -> Result<Option<bool>, DecodeError> {
    if !PER_STRING && let Some(name_length) = canonical_label(label.rest()) {
        // One copy for the whole message: its tag and length bytes are ASCII, so the arena
        // stays valid UTF-8 exactly when both strings are, and each string starts right after
        // an ASCII byte, on a character boundary.
        let content = tables.push_raw(label.rest());
        let name_end = content.start + 2 + name_length;
        tables.labels.push(LabelSpans {
            name: Span {
                start: content.start + 2,
                end: name_end,
            },
            value: Span {
                start: name_end + 2,
                end: content.end,
            },
        });
        return Ok(None);
    }
    let mut name = Span::default();
    let mut value = Span::default();
    let mut name_invalid = false;
    let mut value_invalid = false;
    while let Some(field) = label.next_field("timeseries.labels")? {
        match field.number {
            1 => {
                let path = "timeseries.labels.name";
                let bytes = label.bytes(&field, path)?;
                let (span, invalid) =
                    tables.push_label_string::<PER_STRING>(bytes, &field, path)?;
                name = span;
                name_invalid = invalid.is_some();
            }
            2 => {
                let path = "timeseries.labels.value";
                let bytes = label.bytes(&field, path)?;
                let (span, invalid) =
                    tables.push_label_string::<PER_STRING>(bytes, &field, path)?;
                value = span;
                value_invalid = invalid.is_some();
            }
            _ => label.skip(&field, "timeseries.labels")?,
        }
    }
    tables.labels.push(LabelSpans { name, value });
    Ok(if name_invalid {
        Some(false)
    } else {
        value_invalid.then_some(true)
    })
}

/// Decodes the run of canonical labels a series starts with (every encoder writes labels
/// first) with a single copy into the arena, and returns how many bytes of `content` it
/// consumed. The run's tags and lengths are ASCII, so the same reasoning as for one label holds
/// (see [`decode_label`]).
#[inline]
fn leading_canonical_labels(content: &[u8], tables: &mut Tables) -> usize {
    let base = tables.arena_len();
    let mut consumed = 0;
    while let Some([0x0a, length, rest @ ..]) = content.get(consumed..)
        && *length < 0x80
        && let Some(label) = rest.get(..usize::from(*length))
        && let Some(name_length) = canonical_label(label)
    {
        // The run is at most the body's length, which fits in u32.
        let start = base + consumed as u32 + 2;
        let name_end = start + 2 + name_length;
        tables.labels.push(LabelSpans {
            name: Span {
                start: start + 2,
                end: name_end,
            },
            value: Span {
                start: name_end + 2,
                end: start + u32::from(*length),
            },
        });
        consumed += 2 + usize::from(*length);
    }
    if consumed > 0 {
        tables.push_raw(content.get(..consumed).unwrap_or_default());
    }
    consumed
}

/// Checks that a label is encoded exactly as `0a <name length> name 12 <value length> value`
/// with both lengths below 128, and returns the name's length; `None` for anything else.
#[inline]
fn canonical_label(content: &[u8]) -> Option<u32> {
    let [0x0a, name_length, rest @ ..] = content else {
        return None;
    };
    let (_, rest) = rest.split_at_checked(usize::from(*name_length))?;
    let [0x12, value_length, value @ ..] = rest else {
        return None;
    };
    let canonical =
        *name_length < 0x80 && *value_length < 0x80 && value.len() == usize::from(*value_length);
    canonical.then_some(u32::from(*name_length))
}

/// Decodes one `Sample`.
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
            _ => sample.skip(&field, "timeseries.samples")?,
        }
    }
    tables.samples.push(decoded);
    Ok(())
}

/// Decodes a sample encoded exactly as `09 <8-byte value> 10 <timestamp varint>`; `None` for
/// anything else.
#[inline]
pub(crate) fn canonical_sample(content: &[u8]) -> Option<Sample> {
    let [0x09, rest @ ..] = content else {
        return None;
    };
    let (value, rest) = rest.split_first_chunk::<8>()?;
    let [0x10, timestamp @ ..] = rest else {
        return None;
    };
    let (timestamp, length) = varint_prefix(timestamp).ok()?;
    (length == rest.len() - 1).then_some(Sample {
        timestamp_ms: timestamp as i64,
        value: f64::from_le_bytes(*value),
    })
}

/// Decodes one request-level `MetricMetadata`.
fn decode_metadata<const PER_STRING: bool>(
    mut metadata: Reader<'_>,
    tables: &mut Tables,
) -> Result<(), DecodeError> {
    let mut decoded = MetadataSpans::default();
    while let Some(field) = metadata.next_field("metadata")? {
        match field.number {
            1 => {
                let wire = metadata.varint(&field, "metadata.type")?;
                decoded.metric_type = MetricType::from_wire(wire as i32);
            }
            2 => {
                let path = "metadata.metric_family_name";
                let bytes = metadata.bytes(&field, path)?;
                decoded.family = tables.push_string::<PER_STRING>(bytes, &field, path)?;
            }
            4 => {
                let path = "metadata.help";
                let bytes = metadata.bytes(&field, path)?;
                decoded.help = tables.push_string::<PER_STRING>(bytes, &field, path)?;
            }
            5 => {
                let path = "metadata.unit";
                let bytes = metadata.bytes(&field, path)?;
                decoded.unit = tables.push_string::<PER_STRING>(bytes, &field, path)?;
            }
            _ => metadata.skip(&field, "metadata")?,
        }
    }
    tables.metadata.push(decoded);
    Ok(())
}
