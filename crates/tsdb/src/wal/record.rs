//! The WAL's record codecs: what goes inside a record before it is framed (`wal.md` §3–§4).
//!
//! A record is a byte string whose first byte is its type. Norn writes and reads the four
//! types its head needs — series (1), float samples v1 (2), tombstones (3) and metadata (6) —
//! byte for byte as Prometheus's `tsdb/record` package does, so a Prometheus WAL replays into
//! Norn and Prometheus tooling reads Norn's. Every other type byte (exemplars, histograms, the
//! opt-in v2 sample records, mmap markers) decodes to [`Record::Unknown`]: replay skips it and
//! checkpoints drop it, as Prometheus does with types it does not know.
//!
//! Deltas in sample records are zig-zag varints relative to the record's *first* sample and
//! wrap like Go's `int64` arithmetic, so any input round-trips. [`decode`] never panics: it
//! checks every length against the bytes left and reports [`Error::Corrupt`].

use norn_model::labels::Labels;

use crate::encoding::{Decbuf, put_be64, put_uvarint, put_uvarint_str, put_varint};
use crate::error::{Error, Result};
use crate::series::SeriesRef;

/// Type byte of a series record.
pub const SERIES: u8 = 1;
/// Type byte of a float samples (v1) record.
pub const SAMPLES: u8 = 2;
/// Type byte of a tombstones record.
pub const TOMBSTONES: u8 = 3;
/// Type byte of a metadata record.
pub const METADATA: u8 = 6;

/// Name of the metadata field holding the unit.
const UNIT_FIELD: &str = "UNIT";
/// Name of the metadata field holding the help text.
const HELP_FIELD: &str = "HELP";

/// A series announced to the WAL: its head reference and its labels.
#[derive(Clone, Debug, PartialEq)]
pub struct RefSeries {
    /// The head's reference of the series.
    pub series_ref: SeriesRef,
    /// The series' labels.
    pub labels: Labels,
}

/// One float sample of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefSample {
    /// The series the sample belongs to.
    pub series_ref: SeriesRef,
    /// Timestamp in milliseconds.
    pub t: i64,
    /// Value (NaN payloads, e.g. Prometheus's stale marker, are preserved bit for bit).
    pub v: f64,
}

/// A deletion: the closed interval `[mint, maxt]` of a series' samples is deleted.
/// `[i64::MIN, i64::MAX]` marks the whole series as deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stone {
    /// The series the deletion applies to.
    pub series_ref: SeriesRef,
    /// First deleted timestamp (inclusive).
    pub mint: i64,
    /// Last deleted timestamp (inclusive).
    pub maxt: i64,
}

/// A series' metadata as Prometheus records it.
#[derive(Clone, Debug, PartialEq)]
pub struct RefMetadata {
    /// The series the metadata belongs to.
    pub series_ref: SeriesRef,
    /// Metric type: 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gauge histogram, 5 summary,
    /// 6 info, 7 state set.
    pub metric_type: u8,
    /// The unit (`UNIT` field).
    pub unit: String,
    /// The help text (`HELP` field).
    pub help: String,
}

/// A decoded WAL record.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// New series (type 1).
    Series(Vec<RefSeries>),
    /// Float samples (type 2).
    Samples(Vec<RefSample>),
    /// Deletions (type 3).
    Tombstones(Vec<Stone>),
    /// Metric metadata (type 6).
    Metadata(Vec<RefMetadata>),
    /// Any other type byte (histograms, exemplars, v2 records): skipped by replay. An empty
    /// record (no type byte at all, which no writer produces) reads as `Unknown(0)`, as
    /// Prometheus treats it as an unknown type too.
    Unknown(u8),
}

/// Appends a series record (type 1) holding `series` to `out`.
pub fn encode_series(out: &mut Vec<u8>, series: &[RefSeries]) {
    out.push(SERIES);
    for entry in series {
        put_be64(out, entry.series_ref);
        put_uvarint(out, entry.labels.len() as u64);
        for label in entry.labels.iter() {
            put_uvarint_str(out, label.name);
            put_uvarint_str(out, label.value);
        }
    }
}

/// Appends a samples record (type 2) holding `samples` to `out`. An empty slice gives a
/// record of just the type byte, as Prometheus writes it.
pub fn encode_samples(out: &mut Vec<u8>, samples: &[RefSample]) {
    out.push(SAMPLES);
    let Some(first) = samples.first() else {
        return;
    };
    put_be64(out, first.series_ref);
    put_be64(out, first.t as u64);
    for sample in samples {
        put_varint(
            out,
            (sample.series_ref as i64).wrapping_sub(first.series_ref as i64),
        );
        put_varint(out, sample.t.wrapping_sub(first.t));
        put_be64(out, sample.v.to_bits());
    }
}

/// Appends a tombstones record (type 3) holding `stones` to `out`.
pub fn encode_tombstones(out: &mut Vec<u8>, stones: &[Stone]) {
    out.push(TOMBSTONES);
    for stone in stones {
        put_be64(out, stone.series_ref);
        put_varint(out, stone.mint);
        put_varint(out, stone.maxt);
    }
}

/// Appends a metadata record (type 6) holding `metadata` to `out`: per entry the reference as
/// a uvarint, the type byte and the two fields `UNIT` and `HELP`, in that order.
pub fn encode_metadata(out: &mut Vec<u8>, metadata: &[RefMetadata]) {
    out.push(METADATA);
    for entry in metadata {
        put_uvarint(out, entry.series_ref);
        out.push(entry.metric_type);
        put_uvarint(out, 2);
        put_uvarint_str(out, UNIT_FIELD);
        put_uvarint_str(out, &entry.unit);
        put_uvarint_str(out, HELP_FIELD);
        put_uvarint_str(out, &entry.help);
    }
}

/// Returns the type byte of `record` (0 for an empty record).
pub fn record_type(record: &[u8]) -> u8 {
    record.first().copied().unwrap_or(0)
}

/// Decodes a record. Types other than 1, 2, 3 and 6 give [`Record::Unknown`]; malformed
/// contents of a known type (short data, bytes left over, a label set that is not sorted by
/// name or repeats a name, invalid UTF-8) give [`Error::Corrupt`]. Never panics.
pub fn decode(record: &[u8]) -> Result<Record> {
    let Some((&kind, body)) = record.split_first() else {
        return Ok(Record::Unknown(0));
    };
    match kind {
        SERIES => decode_series(body).map(Record::Series),
        SAMPLES => decode_samples(body).map(Record::Samples),
        TOMBSTONES => decode_tombstones(body).map(Record::Tombstones),
        METADATA => decode_metadata(body).map(Record::Metadata),
        other => Ok(Record::Unknown(other)),
    }
}

fn decode_series(body: &[u8]) -> Result<Vec<RefSeries>> {
    const WHAT: &str = "WAL series record";
    let mut buf = Decbuf::new(body, WHAT);
    let mut series = Vec::new();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    while !buf.is_empty() {
        let series_ref = buf.be64()?;
        let count = buf.uvarint_usize()?;
        pairs.clear();
        // Each label takes at least two bytes (two string lengths): bound the untrusted count.
        pairs.reserve(count.min(buf.len() / 2));
        for _ in 0..count {
            let name = buf.uvarint_str()?;
            let value = buf.uvarint_str()?;
            if let Some((previous, _)) = pairs.last()
                && *previous >= name
            {
                return Err(Error::corrupt(
                    WHAT,
                    format!(
                        "labels of series {series_ref} are not sorted by name or repeat one \
                         ({previous:?} before {name:?})"
                    ),
                ));
            }
            pairs.push((name, value));
        }
        let labels = Labels::new(pairs.iter().copied()).map_err(|error| {
            Error::corrupt(
                WHAT,
                format!("invalid labels of series {series_ref}: {error}"),
            )
        })?;
        series.push(RefSeries { series_ref, labels });
    }
    Ok(series)
}

fn decode_samples(body: &[u8]) -> Result<Vec<RefSample>> {
    const WHAT: &str = "WAL samples record";
    let mut buf = Decbuf::new(body, WHAT);
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    let base_ref = buf.be64()?;
    let base_t = buf.be64()? as i64;
    // An entry is at least 10 bytes (two one-byte varints and the value) and rarely more
    // than 14, so this is close to the real count.
    let mut samples = Vec::with_capacity(buf.len() / 10);
    while !buf.is_empty() {
        let delta_ref = buf.varint()?;
        let delta_t = buf.varint()?;
        let v = f64::from_bits(buf.be64()?);
        samples.push(RefSample {
            series_ref: (base_ref as i64).wrapping_add(delta_ref) as u64,
            t: base_t.wrapping_add(delta_t),
            v,
        });
    }
    Ok(samples)
}

fn decode_tombstones(body: &[u8]) -> Result<Vec<Stone>> {
    const WHAT: &str = "WAL tombstones record";
    let mut buf = Decbuf::new(body, WHAT);
    // An entry is at least 10 bytes: the ref and two one-byte varints.
    let mut stones = Vec::with_capacity(body.len() / 10);
    while !buf.is_empty() {
        let series_ref = buf.be64()?;
        let mint = buf.varint()?;
        let maxt = buf.varint()?;
        stones.push(Stone {
            series_ref,
            mint,
            maxt,
        });
    }
    Ok(stones)
}

fn decode_metadata(body: &[u8]) -> Result<Vec<RefMetadata>> {
    const WHAT: &str = "WAL metadata record";
    let mut buf = Decbuf::new(body, WHAT);
    let mut metadata = Vec::new();
    while !buf.is_empty() {
        let series_ref = buf.uvarint()?;
        let metric_type = buf.byte()?;
        let fields = buf.uvarint()?;
        let mut unit = "";
        let mut help = "";
        // Each field consumes at least two bytes, so a huge count fails on the data, not here.
        for _ in 0..fields {
            let name = buf.uvarint_str()?;
            let value = buf.uvarint_str()?;
            match name {
                UNIT_FIELD => unit = value,
                HELP_FIELD => help = value,
                _ => {}
            }
        }
        metadata.push(RefMetadata {
            series_ref,
            metric_type,
            unit: unit.to_owned(),
            help: help.to_owned(),
        });
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests;
