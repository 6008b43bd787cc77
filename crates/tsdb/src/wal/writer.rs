//! The segment writer: [`Wal`] appends records to numbered segment files the way
//! Prometheus's `WL.Log` does (`wal.md` §2).
//!
//! Each [`Wal::log`] call frames its records into a buffer that continues the current page,
//! then hands the bytes to the kernel with one `write(2)` per segment it touches (usually
//! one), so nothing is left in user space when it returns and a `kill -9` loses nothing it
//! acknowledged. The partially filled last page is written as is and the next call continues
//! it, which is byte for byte what Prometheus produces. A record never spans two segments:
//! when it would not fit in what is left of the segment, the segment's last page is padded
//! and a new segment starts (a record larger than a whole segment gets a segment of its own,
//! which then exceeds the nominal size).
//!
//! Durability: with [`SyncPolicy::Never`] completed segments are fsynced when they are cut
//! (by the thread that cut them, after it released the lock) and on [`Wal::close`], as
//! Prometheus does. With [`SyncPolicy::Always`] every `log` call also waits for an fsync of
//! its data; concurrent callers share one (group commit): one caller fsyncs everything
//! written so far while the others wait and then return together. A failed fsync cannot be
//! retried safely (the kernel may have dropped the dirty pages), so it makes the WAL
//! unusable: every later call returns that error and the engine must restart and replay.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::framing::{PAGE_SIZE, encode_record, pad_page};
use super::segments::{list_segments, segment_path, sync_dir};
use crate::error::{Error, Result};

/// Default segment size: 128 MiB, as Prometheus.
pub const DEFAULT_SEGMENT_SIZE: usize = 128 * 1024 * 1024;

/// When [`Wal::log`] forces its data to stable storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Data is written (`write(2)`) before [`Wal::log`] returns: it survives the process
    /// being killed (`kill -9`), not a power loss. Segments are fsynced when completed.
    #[default]
    Never,
    /// Data is also fsynced before [`Wal::log`] returns; concurrent callers share one fsync
    /// (group commit).
    Always,
}

/// How a [`Wal`] writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// Nominal size of a segment file in bytes: a positive multiple of the 32 KiB page
    /// ([`PAGE_SIZE`]). Default [`DEFAULT_SEGMENT_SIZE`].
    pub segment_size: usize,
    /// Store records snappy-compressed when that makes them smaller. Default true.
    pub compress: bool,
    /// When data is fsynced. Default [`SyncPolicy::Never`].
    pub sync: SyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            segment_size: DEFAULT_SEGMENT_SIZE,
            compress: true,
            sync: SyncPolicy::Never,
        }
    }
}

/// A snapshot of a [`Wal`]'s counters, for metrics. All counters start at 0 when the WAL is
/// opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Records logged.
    pub records_written: u64,
    /// Bytes of those records before compression and framing.
    pub record_bytes: u64,
    /// Bytes written to segment files (fragment headers and page padding included).
    pub bytes_written: u64,
    /// fsyncs of segment files.
    pub fsyncs: u64,
    /// Time spent in those fsyncs, in nanoseconds.
    pub fsync_nanos: u64,
    /// fsyncs that failed (each one makes the WAL unusable under [`SyncPolicy::Always`]).
    pub fsync_failures: u64,
    /// Segments created, the one created by [`Wal::open`] included.
    pub segments_created: u64,
    /// Index of the segment being written.
    pub current_segment: u64,
    /// Calls to [`Wal::log`] that failed.
    pub write_failures: u64,
    /// Calls to [`Wal::truncate`].
    pub truncations: u64,
    /// Calls to [`Wal::truncate`] that failed.
    pub truncation_failures: u64,
    /// Segment files deleted by [`Wal::truncate`].
    pub segments_deleted: u64,
}

#[derive(Debug, Default)]
struct Counters {
    records_written: AtomicU64,
    record_bytes: AtomicU64,
    bytes_written: AtomicU64,
    fsyncs: AtomicU64,
    fsync_nanos: AtomicU64,
    fsync_failures: AtomicU64,
    segments_created: AtomicU64,
    current_segment: AtomicU64,
    write_failures: AtomicU64,
    truncations: AtomicU64,
    truncation_failures: AtomicU64,
    segments_deleted: AtomicU64,
}

fn add(counter: &AtomicU64, value: u64) {
    counter.fetch_add(value, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// The segment being written and the writer's state, behind [`Wal::inner`].
#[derive(Debug)]
struct Inner {
    /// The open segment file (append mode), shared with a group-commit leader fsyncing it.
    segment: Arc<File>,
    /// Its index.
    index: u32,
    /// Its path.
    path: PathBuf,
    /// Bytes in it; `size % PAGE_SIZE` is the offset in the current page.
    size: usize,
    /// Number of successful `log` calls: the group-commit sequence number.
    seq: u64,
    /// Reused framing buffer.
    buf: Vec<u8>,
    /// Set by an error that leaves the WAL unusable (failed fsync, unrecoverable write).
    failure: Option<Error>,
    /// Set by [`Wal::close`].
    closed: bool,
}

impl Inner {
    fn usable(&self) -> Result<()> {
        if let Some(error) = &self.failure {
            return Err(error.clone());
        }
        if self.closed {
            return Err(Error::io(
                "write",
                &self.path,
                io::Error::other("the WAL is closed"),
            ));
        }
        Ok(())
    }
}

/// Group-commit state, behind [`Wal::sync`].
#[derive(Debug, Default)]
struct SyncState {
    /// Every `log` call with a sequence number up to this one is on stable storage.
    synced: u64,
    /// A caller is fsyncing right now.
    syncing: bool,
    /// The error of a failed fsync: every later waiter gets it.
    failure: Option<Error>,
}

/// A segment completed by a cut whose fsync is left for after the lock is released.
#[derive(Debug)]
struct Retired {
    file: Arc<File>,
    path: PathBuf,
}

/// The write side of a WAL directory. `Send + Sync`: appender threads share one `Wal`.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    inner: Mutex<Inner>,
    sync: Mutex<SyncState>,
    synced: Condvar,
    counters: Counters,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; if something did, the state is still
    // consistent (every field is updated after the I/O it describes), so go on.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn create_segment(dir: &Path, index: u32) -> Result<(Arc<File>, PathBuf)> {
    let path = segment_path(dir, index);
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(|error| Error::io("create", &path, error))?;
    Ok((Arc::new(file), path))
}

impl Wal {
    /// Opens `dir` for writing, creating it if needed. Like Prometheus it always starts a
    /// new segment, numbered after the last one present (or 0), and never appends to an
    /// existing one. Call [`replay`](super::replay()) before `open`: replay may repair the
    /// last segment.
    ///
    /// Fails when `options.segment_size` is not a positive multiple of [`PAGE_SIZE`].
    pub fn open(dir: &Path, options: WalOptions) -> Result<Wal> {
        if options.segment_size == 0 || !options.segment_size.is_multiple_of(PAGE_SIZE) {
            return Err(Error::io(
                "open",
                dir,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "WAL segment size {} is not a positive multiple of the {PAGE_SIZE}-byte page",
                        options.segment_size
                    ),
                ),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|error| Error::io("create", dir, error))?;
        let index = match list_segments(dir)?.last() {
            None => 0,
            Some(last) => last.index.checked_add(1).ok_or_else(|| {
                Error::io(
                    "create",
                    &last.path,
                    io::Error::other("no segment index after the last one"),
                )
            })?,
        };
        let (segment, path) = create_segment(dir, index)?;
        sync_dir(dir)?;
        let counters = Counters::default();
        add(&counters.segments_created, 1);
        counters
            .current_segment
            .store(u64::from(index), Ordering::Relaxed);
        tracing::debug!(dir = %dir.display(), segment = index, "opened WAL");
        Ok(Wal {
            dir: dir.to_path_buf(),
            options,
            inner: Mutex::new(Inner {
                segment,
                index,
                path,
                size: 0,
                seq: 0,
                buf: Vec::new(),
                failure: None,
                closed: false,
            }),
            sync: Mutex::new(SyncState::default()),
            synced: Condvar::new(),
            counters,
        })
    }

    /// Appends `records` in order. Returns once all of them are handed to the kernel with
    /// `write(2)` — nothing stays buffered in user space; the partially filled last page is
    /// written too and later records continue it, as Prometheus does — and, with
    /// [`SyncPolicy::Always`], fsynced. A record never spans two segments: when it does not
    /// fit in what is left of the current one, the next segment starts.
    ///
    /// The records of one call are contiguous in the WAL; calls from several threads are
    /// serialised. On error some of the records may have been written (a call that fills a
    /// segment writes the records that fit before starting the next one).
    pub fn log(&self, records: &[&[u8]]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let (seq, retired) = {
            let mut inner = lock(&self.inner);
            let result = inner.usable().and_then(|()| {
                let mut buf = std::mem::take(&mut inner.buf);
                buf.clear();
                let result = self.write_records(&mut inner, records, &mut buf);
                // Keep the buffer for the next call unless one huge call inflated it.
                if buf.capacity() <= 4 * PAGE_SIZE {
                    inner.buf = buf;
                }
                result
            });
            match result {
                Ok(retired) => {
                    inner.seq += 1;
                    (inner.seq, retired)
                }
                Err(error) => {
                    add(&self.counters.write_failures, 1);
                    return Err(error);
                }
            }
        };
        add(&self.counters.records_written, records.len() as u64);
        add(
            &self.counters.record_bytes,
            records.iter().map(|record| record.len() as u64).sum(),
        );
        for segment in retired {
            self.finish_retired(segment);
        }
        if self.options.sync == SyncPolicy::Always {
            self.wait_synced(seq)?;
        }
        Ok(())
    }

    /// Frames `records` into `buf` and writes them, cutting segments as needed; returns the
    /// completed segments that still need an fsync.
    fn write_records(
        &self,
        inner: &mut Inner,
        records: &[&[u8]],
        buf: &mut Vec<u8>,
    ) -> Result<Vec<Retired>> {
        let compress = self.options.compress;
        let segment_size = self.options.segment_size;
        let mut page_offset = inner.size % PAGE_SIZE;
        let mut retired = Vec::new();
        for record in records {
            let mark = buf.len();
            let mark_offset = page_offset;
            encode_record(buf, &mut page_offset, record, compress);
            if inner.size + buf.len() > segment_size && inner.size + mark > 0 {
                // It does not fit: finish this segment with what came before, start the next.
                buf.truncate(mark);
                page_offset = mark_offset;
                pad_page(buf, &mut page_offset);
                self.write_buf(inner, buf)?;
                retired.extend(self.cut(inner)?);
                page_offset = 0;
                encode_record(buf, &mut page_offset, record, compress);
            }
        }
        self.write_buf(inner, buf)?;
        Ok(retired)
    }

    /// Writes `buf` at the end of the current segment and clears it. A failed write is rolled
    /// back (the file is cut to its previous size) so the segment still ends on a record
    /// boundary; if even that fails the WAL becomes unusable.
    fn write_buf(&self, inner: &mut Inner, buf: &mut Vec<u8>) -> Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let mut file: &File = &inner.segment;
        let result = file.write_all(buf);
        let len = buf.len();
        buf.clear();
        match result {
            Ok(()) => {
                inner.size += len;
                add(&self.counters.bytes_written, len as u64);
                Ok(())
            }
            Err(error) => {
                let error = Error::io("write", &inner.path, error);
                if let Err(rollback) = inner.segment.set_len(inner.size as u64) {
                    tracing::error!(
                        segment = %inner.path.display(),
                        error = %rollback,
                        "cannot roll back a failed WAL write; the WAL is unusable until restart"
                    );
                    inner.failure = Some(error.clone());
                }
                Err(error)
            }
        }
    }

    /// Pads the current segment's last page and starts the next segment. Under
    /// [`SyncPolicy::Always`] the finished segment (and the directory) are fsynced before the
    /// lock is released; otherwise the finished segment is returned for
    /// [`Self::finish_retired`].
    fn cut(&self, inner: &mut Inner) -> Result<Option<Retired>> {
        let mut padding = Vec::new();
        let mut page_offset = inner.size % PAGE_SIZE;
        pad_page(&mut padding, &mut page_offset);
        self.write_buf(inner, &mut padding)?;
        let next = inner.index.checked_add(1).ok_or_else(|| {
            Error::io(
                "create",
                &inner.path,
                io::Error::other("no segment index after the last one"),
            )
        })?;
        let (segment, path) = create_segment(&self.dir, next)?;
        let old = Retired {
            file: std::mem::replace(&mut inner.segment, segment),
            path: std::mem::replace(&mut inner.path, path),
        };
        inner.index = next;
        inner.size = 0;
        add(&self.counters.segments_created, 1);
        self.counters
            .current_segment
            .store(u64::from(next), Ordering::Relaxed);
        tracing::debug!(dir = %self.dir.display(), segment = next, "started WAL segment");
        match self.options.sync {
            SyncPolicy::Never => Ok(Some(old)),
            SyncPolicy::Always => {
                let synced = self
                    .fsync(&old.file, &old.path)
                    .and_then(|()| sync_dir(&self.dir));
                if let Err(error) = &synced {
                    inner.failure = Some(error.clone());
                }
                synced.map(|()| None)
            }
        }
    }

    /// fsyncs a segment completed under [`SyncPolicy::Never`], and the directory that got a
    /// new segment. Failures are only logged, as Prometheus does: this policy promises
    /// nothing about power loss.
    fn finish_retired(&self, retired: Retired) {
        let result = self
            .fsync(&retired.file, &retired.path)
            .and_then(|()| sync_dir(&self.dir));
        if let Err(error) = result {
            tracing::error!(segment = %retired.path.display(), %error, "fsync of completed WAL segment failed");
        }
    }

    fn fsync(&self, file: &File, path: &Path) -> Result<()> {
        let start = Instant::now();
        let result = file.sync_data();
        add(
            &self.counters.fsync_nanos,
            u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX),
        );
        add(&self.counters.fsyncs, 1);
        result.map_err(|error| {
            add(&self.counters.fsync_failures, 1);
            Error::io("fsync", path, error)
        })
    }

    /// Waits until the `log` call numbered `seq` is on stable storage, fsyncing if no other
    /// caller is (group commit).
    fn wait_synced(&self, seq: u64) -> Result<()> {
        let mut state = lock(&self.sync);
        loop {
            if let Some(error) = &state.failure {
                return Err(error.clone());
            }
            if state.synced >= seq {
                return Ok(());
            }
            if state.syncing {
                state = self
                    .synced
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.syncing = true;
            drop(state);
            let result = self.sync_current();
            state = lock(&self.sync);
            state.syncing = false;
            match result {
                Ok(target) => state.synced = state.synced.max(target),
                Err(error) => state.failure = Some(error),
            }
            self.synced.notify_all();
        }
    }

    /// fsyncs the current segment; returns the sequence number it covers. Records of earlier
    /// segments are already durable: under [`SyncPolicy::Always`] a segment is fsynced when
    /// it is cut, before the lock that cut it is released.
    fn sync_current(&self) -> Result<u64> {
        let (target, file, path) = {
            let inner = lock(&self.inner);
            (inner.seq, Arc::clone(&inner.segment), inner.path.clone())
        };
        self.fsync(&file, &path)
            .map(|()| target)
            .inspect_err(|error| {
                lock(&self.inner).failure = Some(error.clone());
            })
    }

    /// Returns the WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the options the WAL was opened with.
    pub fn options(&self) -> &WalOptions {
        &self.options
    }

    /// Returns the index of the segment being written.
    pub fn current_segment(&self) -> u32 {
        lock(&self.inner).index
    }

    /// Finishes the current segment (its last page is padded) and starts the next; returns
    /// the new segment's index.
    pub fn next_segment(&self) -> Result<u32> {
        let (index, retired) = {
            let mut inner = lock(&self.inner);
            inner.usable()?;
            let retired = self.cut(&mut inner)?;
            (inner.index, retired)
        };
        if let Some(retired) = retired {
            self.finish_retired(retired);
        }
        Ok(index)
    }

    /// Returns the `(first, last)` indexes of the segments present, or `None` if there are
    /// none.
    pub fn segment_range(&self) -> Result<Option<(u32, u32)>> {
        let segments = list_segments(&self.dir)?;
        Ok(match (segments.first(), segments.last()) {
            (Some(first), Some(last)) => Some((first.index, last.index)),
            _ => None,
        })
    }

    /// Deletes the segments with an index below `before`.
    ///
    /// The segment being written is never deleted (`before` is capped at its index). Stops at
    /// the first deletion that fails and returns its error; the rest are retried by the next
    /// call.
    pub fn truncate(&self, before: u32) -> Result<()> {
        let before = before.min(self.current_segment());
        add(&self.counters.truncations, 1);
        let result = list_segments(&self.dir).and_then(|segments| {
            for segment in segments.iter().take_while(|segment| segment.index < before) {
                std::fs::remove_file(&segment.path)
                    .map_err(|error| Error::io("remove", &segment.path, error))?;
                add(&self.counters.segments_deleted, 1);
            }
            Ok(())
        });
        if result.is_err() {
            add(&self.counters.truncation_failures, 1);
        }
        result
    }

    /// Returns a snapshot of the counters.
    pub fn stats(&self) -> WalStats {
        let counters = &self.counters;
        WalStats {
            records_written: get(&counters.records_written),
            record_bytes: get(&counters.record_bytes),
            bytes_written: get(&counters.bytes_written),
            fsyncs: get(&counters.fsyncs),
            fsync_nanos: get(&counters.fsync_nanos),
            fsync_failures: get(&counters.fsync_failures),
            segments_created: get(&counters.segments_created),
            current_segment: get(&counters.current_segment),
            write_failures: get(&counters.write_failures),
            truncations: get(&counters.truncations),
            truncation_failures: get(&counters.truncation_failures),
            segments_deleted: get(&counters.segments_deleted),
        }
    }

    /// Pads the current segment's last page and fsyncs it. Later calls to [`Self::log`] and
    /// [`Self::next_segment`] fail; closing again is a no-op.
    pub fn close(&self) -> Result<()> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Ok(());
        }
        inner.closed = true;
        if let Some(error) = &inner.failure {
            return Err(error.clone());
        }
        let mut padding = Vec::new();
        let mut page_offset = inner.size % PAGE_SIZE;
        pad_page(&mut padding, &mut page_offset);
        self.write_buf(&mut inner, &mut padding)?;
        let file = Arc::clone(&inner.segment);
        let path = inner.path.clone();
        self.fsync(&file, &path)
    }
}

#[cfg(test)]
mod tests;
