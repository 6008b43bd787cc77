//! The `tombstones` file: intervals of deleted samples per series (`tsdb-block.md` §8).
//!
//! Layout: magic `0x0130BA30`, version byte 1, then one `uvarint series ref | varint mint |
//! varint maxt` per interval, then the CRC32C of those entries. Intervals are closed
//! `[mint, maxt]`; a series with several intervals appears once per interval. An empty file is
//! the 9 bytes `01 30 ba 30 01 00 00 00 00`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::encoding::{Decbuf, put_be32, put_uvarint, put_varint};
use crate::error::{Error, Result};

use super::meta::write_file_synced;

/// Name of the tombstones file in a block directory.
pub const TOMBSTONES_FILENAME: &str = "tombstones";
/// Magic number at the start of the tombstones file.
pub const TOMBSTONES_MAGIC: u32 = 0x0130_BA30;
/// Version byte of the tombstones format.
pub const TOMBSTONES_VERSION: u8 = 1;

const WHAT: &str = "tombstones";

/// A closed interval of deleted samples, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    /// First deleted timestamp.
    pub min_time: i64,
    /// Last deleted timestamp.
    pub max_time: i64,
}

impl Interval {
    /// Returns true if `t` is deleted by this interval.
    pub fn contains(&self, t: i64) -> bool {
        self.min_time <= t && t <= self.max_time
    }

    /// Returns true if the interval intersects `[min_time, max_time]`.
    pub fn overlaps(&self, min_time: i64, max_time: i64) -> bool {
        self.min_time <= max_time && self.max_time >= min_time
    }
}

/// The deleted intervals of a block, per series ID (as in the block's index).
///
/// Intervals of one series are kept sorted and merged (overlapping or adjacent intervals
/// become one), as Prometheus does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tombstones {
    series: BTreeMap<u64, Vec<Interval>>,
}

impl Tombstones {
    /// Returns an empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks `[min_time, max_time]` of series `series` deleted (ignored if `min_time >
    /// max_time`).
    pub fn add(&mut self, series: u64, min_time: i64, max_time: i64) {
        if min_time > max_time {
            return;
        }
        let intervals = self.series.entry(series).or_default();
        intervals.push(Interval { min_time, max_time });
        intervals.sort_unstable();
        let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
        for interval in intervals.drain(..) {
            match merged.last_mut() {
                Some(last) if interval.min_time <= last.max_time.saturating_add(1) => {
                    last.max_time = last.max_time.max(interval.max_time);
                }
                _ => merged.push(interval),
            }
        }
        *intervals = merged;
    }

    /// Returns the deleted intervals of `series` (sorted, disjoint), empty if none.
    pub fn get(&self, series: u64) -> &[Interval] {
        self.series.get(&series).map_or(&[], Vec::as_slice)
    }

    /// Returns true when nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Returns the number of intervals (the `numTombstones` statistic).
    pub fn num_intervals(&self) -> u64 {
        self.series.values().map(|v| v.len() as u64).sum()
    }

    /// Iterates over `(series, interval)` in series order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Interval)> + '_ {
        self.series
            .iter()
            .flat_map(|(series, intervals)| intervals.iter().map(move |i| (*series, *i)))
    }

    /// Encodes the file.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_be32(&mut out, TOMBSTONES_MAGIC);
        out.push(TOMBSTONES_VERSION);
        for (series, interval) in self.iter() {
            put_uvarint(&mut out, series);
            put_varint(&mut out, interval.min_time);
            put_varint(&mut out, interval.max_time);
        }
        let crc = crc32c::crc32c(&out[5..]);
        put_be32(&mut out, crc);
        out
    }

    /// Decodes the file, checking magic, version and CRC.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < 9 {
            return Err(Error::corrupt(
                WHAT,
                format!("file of {} bytes is too short", bytes.len()),
            ));
        }
        let mut header = Decbuf::new(bytes, WHAT);
        let magic = header.be32()?;
        if magic != TOMBSTONES_MAGIC {
            return Err(Error::corrupt(WHAT, format!("bad magic {magic:#010x}")));
        }
        let version = header.byte()?;
        if version != TOMBSTONES_VERSION {
            return Err(Error::corrupt(
                WHAT,
                format!("unsupported version {version}"),
            ));
        }
        let (entries, crc) = header.remaining().split_at(header.len() - 4);
        if crc32c::crc32c(entries).to_be_bytes() != crc {
            return Err(Error::corrupt(WHAT, "checksum mismatch"));
        }
        let mut tombstones = Self::new();
        let mut buf = Decbuf::new(entries, WHAT);
        while !buf.is_empty() {
            let series = buf.uvarint()?;
            let min_time = buf.varint()?;
            let max_time = buf.varint()?;
            tombstones.add(series, min_time, max_time);
        }
        Ok(tombstones)
    }

    /// Reads `<dir>/tombstones`; a missing file means no tombstones (Mimir does not upload
    /// the file with blocks).
    pub fn read_from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join(TOMBSTONES_FILENAME);
        match fs::read(&path) {
            Ok(bytes) => Self::decode(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::new()),
            Err(e) => Err(Error::io("read", &path, e)),
        }
    }

    /// Writes `<dir>/tombstones` atomically (`tombstones.tmp`, fsync, rename).
    pub fn write_to_dir(&self, dir: &Path) -> Result<()> {
        let path = dir.join(TOMBSTONES_FILENAME);
        let tmp = dir.join(format!("{TOMBSTONES_FILENAME}.tmp"));
        write_file_synced(&tmp, &self.encode())?;
        fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &tmp, e))?;
        crate::chunks::sync_dir(dir)
    }
}
