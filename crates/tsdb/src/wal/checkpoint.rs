//! Checkpoints (`wal.md` §5): folding old segments into a compact `checkpoint.N` directory so
//! they can be deleted while the head still has what it needs to rebuild itself.
//!
//! [`checkpoint`] follows Prometheus's `Head.truncateWAL` + `wlog.Checkpoint`: start a new
//! segment, pick the lower two thirds of the finished segments, read them after the previous
//! checkpoint, keep the series the head still holds, the samples at or after `mint`, the
//! tombstones of kept series that still matter and the latest metadata of each kept series,
//! write that as a fresh WAL into `checkpoint.N.tmp`, make it durable, rename it to
//! `checkpoint.N`, then delete the segments and checkpoints it supersedes. A crash at any
//! point leaves either the old state or the new one: the `.tmp` directory is ignored and
//! deleted by the next replay, and a finished checkpoint supersedes older files even if their
//! deletion did not happen.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::framing::SegmentDecoder;
use super::record::{
    self, Record, RefMetadata, encode_metadata, encode_samples, encode_series, encode_tombstones,
};
use super::segments::{
    CHECKPOINT_PREFIX, SegmentFile, TEMP_SUFFIX, check_consecutive, checkpoint_path, gap_error,
    last_checkpoint, list_checkpoints, list_segments, remove_temp_checkpoints, segment_path,
    sync_dir,
};
use super::writer::{SyncPolicy, Wal, WalOptions};
use crate::error::{Error, Result};
use crate::series::SeriesRef;

/// Output records are logged in batches of about this many bytes.
const FLUSH_BYTES: usize = 1024 * 1024;

/// What a [`checkpoint`] read, kept and dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// First WAL segment folded in (after the previous checkpoint).
    pub from: u32,
    /// Last WAL segment folded in: the checkpoint is `checkpoint.<to>`.
    pub to: u32,
    /// The checkpoint directory written.
    pub dir: PathBuf,
    /// The previous checkpoint read first, if any.
    pub previous: Option<u32>,
    /// Series entries read.
    pub total_series: u64,
    /// Series entries dropped because `keep` refused their ref.
    pub dropped_series: u64,
    /// Samples read.
    pub total_samples: u64,
    /// Samples dropped for being older than `mint`.
    pub dropped_samples: u64,
    /// Tombstones read.
    pub total_tombstones: u64,
    /// Tombstones dropped (series not kept, or interval ending before `mint`).
    pub dropped_tombstones: u64,
    /// Metadata entries read.
    pub total_metadata: u64,
    /// Metadata entries dropped (series not kept, or superseded by a later entry).
    pub dropped_metadata: u64,
    /// Records of other types (histograms, exemplars, …), dropped.
    pub dropped_unknown_records: u64,
    /// Records written to the checkpoint.
    pub records_written: u64,
    /// Bytes of segment files read.
    pub bytes_read: u64,
    /// Segment files (and old checkpoints) whose deletion failed after the checkpoint was
    /// written; they are retried next time and ignored meanwhile.
    pub cleanup_failures: u64,
}

/// Creates a checkpoint the way Prometheus does (`wal.md` §5).
///
/// 1. Starts a new segment so writes move away from the segments being folded in.
/// 2. With `first..=last` the segments that existed before, never folds in `last` (it was
///    being written) and picks `to = first + (last - 1 - first) * 2 / 3`; stops if
///    `to <= first` (not worth it).
/// 3. Reads the previous checkpoint, then segments `first..=to` after it, and keeps: series
///    whose ref satisfies `keep`; samples with `t >= mint`; tombstones of kept series with
///    `maxt >= mint`; the latest metadata of each kept series (written last). Other record
///    types are dropped.
/// 4. Writes that into `checkpoint.<to>.tmp` (a WAL with the same segment size and
///    compression), fsyncs it, renames it to `checkpoint.<to>` (`%08d`) and fsyncs the WAL
///    directory.
/// 5. Deletes segments `<= to` and older checkpoints.
///
/// Returns `None` when there was nothing worth checkpointing (fewer than three finished
/// segments, or a newer checkpoint already covers `to`). Reading errors, including
/// [`Error::WalCorruption`] and records that do not decode, abort with that error; the new
/// segment stays and nothing else changes. Deleting the superseded files only logs failures
/// (counted in [`CheckpointStats::cleanup_failures`]).
pub fn checkpoint(
    wal: &Wal,
    keep: &dyn Fn(SeriesRef) -> bool,
    mint: i64,
) -> Result<Option<CheckpointStats>> {
    let Some((first, last)) = wal.segment_range()? else {
        return Ok(None);
    };
    wal.next_segment()?;
    // Never fold in the segment that was being written; keep the newest third of the others.
    let (first64, last64) = (i64::from(first), i64::from(last) - 1);
    let to64 = first64 + (last64 - first64) * 2 / 3;
    if to64 <= first64 {
        return Ok(None);
    }
    let to = u32::try_from(to64).unwrap_or(first);
    let dir = wal.dir();
    let previous = last_checkpoint(dir)?;
    let mut from = first;
    if let Some((index, _)) = &previous {
        if *index >= to {
            return Ok(None);
        }
        if first > index + 1 {
            let found = SegmentFile {
                index: first,
                path: segment_path(dir, first),
            };
            return Err(gap_error(&found, index + 1));
        }
        // Segments at or below the previous checkpoint are leftovers: ignore them.
        from = from.max(index + 1);
    }

    tracing::info!(dir = %dir.display(), from, to, mint, "creating WAL checkpoint");
    let mut stats = CheckpointStats {
        from,
        to,
        dir: checkpoint_path(dir, to),
        previous: previous.as_ref().map(|(index, _)| *index),
        ..CheckpointStats::default()
    };
    remove_temp_checkpoints(dir)?;
    let written = write_checkpoint(
        wal,
        previous.as_ref().map(|(_, path)| path.as_path()),
        from,
        keep,
        mint,
        &mut stats,
    );
    if let Err(error) = written {
        let temp = temp_path(dir, to);
        if let Err(cleanup) = fs::remove_dir_all(&temp)
            && cleanup.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %temp.display(), error = %cleanup, "cannot remove the temporary checkpoint of a failed checkpoint");
        }
        return Err(error);
    }

    // The checkpoint is durable: delete what it supersedes. Failures are only logged.
    if let Err(error) = wal.truncate(to.saturating_add(1)) {
        stats.cleanup_failures += 1;
        tracing::warn!(%error, "cannot delete WAL segments folded into a checkpoint");
    }
    match list_checkpoints(dir) {
        Ok(checkpoints) => {
            for (index, path) in checkpoints {
                if index >= to {
                    break;
                }
                if let Err(error) = fs::remove_dir_all(&path) {
                    stats.cleanup_failures += 1;
                    tracing::warn!(dir = %path.display(), %error, "cannot delete an old WAL checkpoint");
                }
            }
        }
        Err(error) => {
            stats.cleanup_failures += 1;
            tracing::warn!(%error, "cannot list old WAL checkpoints");
        }
    }
    tracing::info!(
        dir = %stats.dir.display(),
        records = stats.records_written,
        dropped_series = stats.dropped_series,
        dropped_samples = stats.dropped_samples,
        "WAL checkpoint created"
    );
    Ok(Some(stats))
}

/// Returns the path of the temporary directory of checkpoint `to`.
fn temp_path(dir: &Path, to: u32) -> PathBuf {
    dir.join(format!("{CHECKPOINT_PREFIX}{to:08}{TEMP_SUFFIX}"))
}

/// Reads the previous checkpoint and segments `from..=stats.to`, writes the kept data into
/// the temporary directory, makes it durable and renames it to `stats.dir`.
fn write_checkpoint(
    wal: &Wal,
    previous: Option<&Path>,
    from: u32,
    keep: &dyn Fn(SeriesRef) -> bool,
    mint: i64,
    stats: &mut CheckpointStats,
) -> Result<()> {
    let to = stats.to;
    let temp = &temp_path(wal.dir(), to);
    // Gather the input segments first so a gap fails before anything is written.
    let mut inputs = Vec::new();
    if let Some(previous) = previous {
        let segments = list_segments(previous)?;
        check_consecutive(&segments)?;
        inputs.extend(segments);
    }
    let segments: Vec<_> = list_segments(wal.dir())?
        .into_iter()
        .filter(|segment| (from..=to).contains(&segment.index))
        .collect();
    check_consecutive(&segments)?;
    match segments.first() {
        Some(first) if first.index != from => return Err(gap_error(first, from)),
        None => {
            return Err(Error::WalCorruption {
                segment: segment_path(wal.dir(), from),
                offset: 0,
                reason: "segment to checkpoint is missing".into(),
            });
        }
        _ => {}
    }
    if segments.last().map(|segment| segment.index) != Some(to) {
        return Err(Error::WalCorruption {
            segment: segment_path(wal.dir(), to),
            offset: 0,
            reason: "segment to checkpoint is missing".into(),
        });
    }
    inputs.extend(segments);

    let output = Wal::open(
        temp,
        WalOptions {
            segment_size: wal.options().segment_size,
            compress: wal.options().compress,
            sync: SyncPolicy::Never,
        },
    )?;
    let mut filter = Filter {
        keep,
        mint,
        stats,
        latest_metadata: HashMap::new(),
        buf: Vec::new(),
        records: Vec::new(),
    };
    for segment in &inputs {
        let bytes =
            fs::read(&segment.path).map_err(|error| Error::io("read", &segment.path, error))?;
        filter.stats.bytes_read += bytes.len() as u64;
        let mut decoder = SegmentDecoder::new(&bytes);
        while let Some(result) = decoder.next_record() {
            let record = result.map_err(|error| Error::WalCorruption {
                segment: segment.path.clone(),
                offset: error.offset,
                reason: error.reason,
            })?;
            filter.add(&record.data)?;
            if filter.buf.len() >= FLUSH_BYTES {
                filter.flush(&output)?;
            }
        }
    }
    filter.flush(&output)?;
    let mut metadata: Vec<RefMetadata> = filter.latest_metadata.drain().map(|(_, m)| m).collect();
    if !metadata.is_empty() {
        metadata.sort_by_key(|entry| entry.series_ref);
        let mut out = Vec::new();
        encode_metadata(&mut out, &metadata);
        output.log(&[&out])?;
        filter.stats.records_written += 1;
    }
    output.close()?;
    sync_dir(temp)?;

    let target = &filter.stats.dir;
    if fs::symlink_metadata(target).is_ok() {
        fs::remove_dir_all(target).map_err(|error| Error::io("remove", target, error))?;
    }
    fs::rename(temp, target).map_err(|error| Error::io("rename", temp, error))?;
    sync_dir(wal.dir())
}

/// Applies the checkpoint's keep rules record by record and batches the output.
struct Filter<'a> {
    keep: &'a dyn Fn(SeriesRef) -> bool,
    mint: i64,
    stats: &'a mut CheckpointStats,
    latest_metadata: HashMap<SeriesRef, RefMetadata>,
    /// Encoded output records, back to back.
    buf: Vec<u8>,
    /// End offsets in `buf` of each output record.
    records: Vec<usize>,
}

impl std::fmt::Debug for Filter<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Filter")
            .field("mint", &self.mint)
            .field("pending_records", &self.records.len())
            .finish_non_exhaustive()
    }
}

impl Filter<'_> {
    fn add(&mut self, data: &[u8]) -> Result<()> {
        let keep = self.keep;
        let start = self.buf.len();
        match record::decode(data)? {
            Record::Series(mut series) => {
                let total = series.len() as u64;
                series.retain(|entry| keep(entry.series_ref));
                self.stats.total_series += total;
                self.stats.dropped_series += total - series.len() as u64;
                if !series.is_empty() {
                    encode_series(&mut self.buf, &series);
                }
            }
            Record::Samples(mut samples) => {
                let total = samples.len() as u64;
                samples.retain(|sample| sample.t >= self.mint);
                self.stats.total_samples += total;
                self.stats.dropped_samples += total - samples.len() as u64;
                if !samples.is_empty() {
                    encode_samples(&mut self.buf, &samples);
                }
            }
            Record::Tombstones(mut stones) => {
                let total = stones.len() as u64;
                stones.retain(|stone| stone.maxt >= self.mint && keep(stone.series_ref));
                self.stats.total_tombstones += total;
                self.stats.dropped_tombstones += total - stones.len() as u64;
                if !stones.is_empty() {
                    encode_tombstones(&mut self.buf, &stones);
                }
            }
            Record::Metadata(metadata) => {
                self.stats.total_metadata += metadata.len() as u64;
                for entry in metadata {
                    if !keep(entry.series_ref) {
                        self.stats.dropped_metadata += 1;
                    } else if self
                        .latest_metadata
                        .insert(entry.series_ref, entry)
                        .is_some()
                    {
                        // The entry it replaced is superseded.
                        self.stats.dropped_metadata += 1;
                    }
                }
            }
            Record::Unknown(_) => self.stats.dropped_unknown_records += 1,
        }
        if self.buf.len() > start {
            self.records.push(self.buf.len());
        }
        Ok(())
    }

    fn flush(&mut self, output: &Wal) -> Result<()> {
        let mut start = 0;
        let records: Vec<&[u8]> = self
            .records
            .iter()
            .map(|&end| {
                let record = &self.buf[start..end];
                start = end;
                record
            })
            .collect();
        output.log(&records)?;
        self.stats.records_written += records.len() as u64;
        self.buf.clear();
        self.records.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
