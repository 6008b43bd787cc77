//! Naming and listing of a WAL directory's files (`wal.md` §1), shared by the writer, replay
//! and checkpoints.
//!
//! Segments are files named by their decimal index; Norn writes `%08d` and accepts any
//! all-digit name that fits in a `u32`, ignoring other names (`00000003.repair`, `lock`, …).
//! Checkpoints are directories `checkpoint.<index>` holding a WAL of their own;
//! `checkpoint.<index>.tmp` is one being written, deleted on the next replay or checkpoint.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Prefix of checkpoint directory names.
pub const CHECKPOINT_PREFIX: &str = "checkpoint.";
/// Suffix of a checkpoint directory still being written.
pub const TEMP_SUFFIX: &str = ".tmp";

/// A segment file found in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentFile {
    /// The segment's index.
    pub index: u32,
    /// Its path.
    pub path: PathBuf,
}

/// Returns the path of segment `index` in `dir` (`%08d`).
pub fn segment_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{index:08}"))
}

/// Returns the path of checkpoint `index` in `dir` (`checkpoint.%08d`).
pub fn checkpoint_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{CHECKPOINT_PREFIX}{index:08}"))
}

fn parse_index(name: &str) -> Option<u32> {
    if name.is_empty() || !name.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

fn read_dir(dir: &Path) -> Result<Vec<(String, bool)>> {
    let entries = fs::read_dir(dir).map_err(|error| Error::io("list", dir, error))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| Error::io("list", dir, error))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_dir = entry
            .file_type()
            .map_err(|error| Error::io("stat", entry.path(), error))?
            .is_dir();
        names.push((name, is_dir));
    }
    Ok(names)
}

/// Lists the segment files of `dir`, sorted by index. Does not check that they are
/// consecutive (see [`check_consecutive`]).
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentFile>> {
    let mut segments: Vec<SegmentFile> = read_dir(dir)?
        .into_iter()
        .filter(|(_, is_dir)| !is_dir)
        .filter_map(|(name, _)| {
            parse_index(&name).map(|index| SegmentFile {
                index,
                path: dir.join(name),
            })
        })
        .collect();
    segments.sort_by_key(|segment| segment.index);
    Ok(segments)
}

/// Returns an error naming the first segment that does not follow its predecessor (two names
/// for the same index, such as `1` and `00000001`, count as a gap too).
pub fn check_consecutive(segments: &[SegmentFile]) -> Result<()> {
    for pair in segments.windows(2) {
        if pair[0].index.checked_add(1) != Some(pair[1].index) {
            return Err(gap_error(&pair[1], pair[0].index.saturating_add(1)));
        }
    }
    Ok(())
}

/// The error for segment `found` where segment `expected` should be.
pub(crate) fn gap_error(found: &SegmentFile, expected: u32) -> Error {
    Error::WalCorruption {
        segment: found.path.clone(),
        offset: 0,
        reason: format!(
            "segments are not sequential: expected segment {expected:08}, found {:08}",
            found.index
        ),
    }
}

/// Lists the finished checkpoints of `dir` as `(index, path)`, sorted by index.
pub fn list_checkpoints(dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let mut checkpoints: Vec<(u32, PathBuf)> = read_dir(dir)?
        .into_iter()
        .filter(|(_, is_dir)| *is_dir)
        .filter_map(|(name, _)| {
            let index = parse_index(name.strip_prefix(CHECKPOINT_PREFIX)?)?;
            Some((index, dir.join(name)))
        })
        .collect();
    checkpoints.sort_by_key(|(index, _)| *index);
    Ok(checkpoints)
}

/// Returns the newest checkpoint of `dir`, the only one that counts.
pub fn last_checkpoint(dir: &Path) -> Result<Option<(u32, PathBuf)>> {
    Ok(list_checkpoints(dir)?.pop())
}

/// Deletes the `checkpoint.*.tmp` leftovers of interrupted checkpoints; returns how many.
pub fn remove_temp_checkpoints(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    for (name, is_dir) in read_dir(dir)? {
        if !(name.starts_with(CHECKPOINT_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let path = dir.join(&name);
        let result = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        result.map_err(|error| Error::io("remove", &path, error))?;
        tracing::info!(path = %path.display(), "removed leftover temporary WAL checkpoint");
        removed += 1;
    }
    Ok(removed)
}

/// fsyncs a directory so that entries created, renamed or removed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| Error::io("fsync", dir, error))
}
