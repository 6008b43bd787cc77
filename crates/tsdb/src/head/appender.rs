//! Batched appends to the head with commit and rollback.
//!
//! [`Appender::append`] validates each sample at once (out of order, duplicate timestamp,
//! out of bounds) against the series and against the appender's own earlier samples, so a
//! caller learns per sample what was rejected and can carry on with the rest. Nothing is
//! visible to queries until [`Appender::commit`], which first writes the WAL (series records
//! for series not logged yet, then one samples record) and then applies the samples; a
//! commit that returns `Ok` is therefore in the WAL. [`Appender::rollback`] (or dropping the
//! appender) discards the samples; series it created stay, as in Prometheus, and are logged.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use norn_model::labels::Labels;

use super::Head;
use super::series::{Acceptance, MemSeries, Rejection};
use crate::error::Result;
use crate::series::SeriesRef;
use crate::wal::record::{RefSample, RefSeries, encode_samples, encode_series};

/// Why a sample was not accepted. Each maps to one of Mimir's discard reasons.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AppendError {
    /// Older than the series' newest sample (`sample-out-of-order`).
    #[error(
        "out of order sample: timestamp {timestamp} is before the series' last sample at {last}"
    )]
    OutOfOrder {
        /// The rejected sample's timestamp.
        timestamp: i64,
        /// The series' newest timestamp.
        last: i64,
    },
    /// Same timestamp as the series' newest sample, different value
    /// (`sample-duplicate-timestamp`).
    #[error("duplicate sample for timestamp {timestamp} with a different value")]
    DuplicateTimestamp {
        /// The rejected sample's timestamp.
        timestamp: i64,
    },
    /// Before the oldest time the head accepts (`sample-out-of-bounds`).
    #[error("out of bounds: timestamp {timestamp} is before the oldest accepted time {min_valid}")]
    OutOfBounds {
        /// The rejected sample's timestamp.
        timestamp: i64,
        /// The oldest timestamp the head accepts now.
        min_valid: i64,
    },
    /// A series reference the head does not know.
    #[error("unknown series reference {0}")]
    UnknownSeries(SeriesRef),
    /// The series is new and the head's [`SeriesLifecycle`](super::SeriesLifecycle) hook
    /// refused to create it (a series limit).
    #[error("{}", .0.message)]
    SeriesRejected(super::SeriesRejection),
}

/// What a commit did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitSummary {
    /// Samples that became part of the head.
    pub appended: u64,
    /// Samples that lost a race with a concurrent appender on the same series and were
    /// dropped as out of order (they had passed validation at append time).
    pub lost_races: u64,
}

/// A pending sample.
#[derive(Debug)]
struct Pending {
    series: Arc<MemSeries>,
    t: i64,
    v: f64,
    /// False for a sample identical to the series' last one: accepted but not stored.
    store: bool,
}

/// Collects samples for one atomic commit; see the module docs.
#[derive(Debug)]
pub struct Appender<'a> {
    head: &'a Head,
    pending: Vec<Pending>,
    /// Newest pending (timestamp, value bits) per series, for checks within the batch.
    newest: HashMap<SeriesRef, (i64, u64)>,
    /// Series this appender holds a pending-append mark on.
    marked: Vec<Arc<MemSeries>>,
    min_valid: i64,
}

impl<'a> Appender<'a> {
    pub(super) fn new(head: &'a Head) -> Self {
        Self {
            head,
            pending: Vec::new(),
            newest: HashMap::new(),
            marked: Vec::new(),
            min_valid: head.appendable_min_time(),
        }
    }

    /// Adds a sample for the series with `labels` (created if new); returns its ref, which
    /// [`Appender::append_ref`] accepts for later samples.
    pub fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        self.check_bounds(t)?;
        let (series, _created) = self
            .head
            .get_or_create(labels)
            .map_err(AppendError::SeriesRejected)?;
        let series_ref = series.series_ref;
        self.add(series, t, v)?;
        Ok(series_ref)
    }

    /// Adds a sample for a series known by ref.
    pub fn append_ref(&mut self, series_ref: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        self.check_bounds(t)?;
        let series = self
            .head
            .series_by_ref(series_ref)
            .ok_or(AppendError::UnknownSeries(series_ref))?;
        self.add(series, t, v)
    }

    fn check_bounds(&self, t: i64) -> Result<(), AppendError> {
        if t < self.min_valid {
            self.head
                .counters
                .out_of_bounds_samples
                .fetch_add(1, Ordering::Relaxed);
            return Err(AppendError::OutOfBounds {
                timestamp: t,
                min_valid: self.min_valid,
            });
        }
        Ok(())
    }

    fn add(&mut self, series: Arc<MemSeries>, t: i64, v: f64) -> Result<(), AppendError> {
        let series_ref = series.series_ref;
        let previous = self.newest.get(&series_ref).copied();
        let checked = {
            let mut data = series.lock();
            let checked = data.check(previous, t, v);
            if checked.is_ok() && previous.is_none() {
                data.pending_appends += 1;
            }
            checked
        };
        let counters = &self.head.counters;
        match checked {
            Ok(acceptance) => {
                if previous.is_none() {
                    self.marked.push(Arc::clone(&series));
                }
                self.newest.insert(series_ref, (t, v.to_bits()));
                self.pending.push(Pending {
                    series,
                    t,
                    v,
                    store: acceptance == Acceptance::Append,
                });
                Ok(())
            }
            Err(Rejection::OutOfOrder { last }) => {
                counters
                    .out_of_order_samples
                    .fetch_add(1, Ordering::Relaxed);
                Err(AppendError::OutOfOrder { timestamp: t, last })
            }
            Err(Rejection::Duplicate) => {
                counters.duplicate_samples.fetch_add(1, Ordering::Relaxed);
                Err(AppendError::DuplicateTimestamp { timestamp: t })
            }
        }
    }

    /// Returns the number of samples waiting for commit.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Returns true when no sample is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Writes the batch to the WAL, then makes it visible. On a WAL error nothing is applied
    /// and the error is returned (the caller answers with a retryable failure).
    pub fn commit(mut self) -> Result<CommitSummary> {
        self.log(true)?;
        let head = self.head;
        let mut summary = CommitSummary::default();
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let mut chunks_created = 0;
        for pending in &self.pending {
            if !pending.store {
                summary.appended += 1;
                continue;
            }
            let sink = head.sink(pending.series.series_ref);
            match pending.series.lock().append(pending.t, pending.v, sink) {
                Ok(cut) => {
                    summary.appended += 1;
                    chunks_created += u64::from(cut);
                    mint = mint.min(pending.t);
                    maxt = maxt.max(pending.t);
                }
                Err(_) => summary.lost_races += 1,
            }
        }
        if mint <= maxt {
            head.extend_time_range(mint, maxt);
        }
        let counters = &head.counters;
        counters
            .samples_appended
            .fetch_add(summary.appended, Ordering::Relaxed);
        counters
            .out_of_order_samples
            .fetch_add(summary.lost_races, Ordering::Relaxed);
        counters
            .chunks_created
            .fetch_add(chunks_created, Ordering::Relaxed);
        self.pending.clear();
        self.release();
        Ok(summary)
    }

    /// Discards the batch. Series it created stay in the head and are logged to the WAL.
    pub fn rollback(mut self) -> Result<()> {
        self.pending.clear();
        let result = self.log(false);
        self.release();
        result
    }

    /// Writes series records for series not logged yet and, with `samples`, the samples.
    fn log(&self, samples: bool) -> Result<()> {
        let Some(wal) = self.head.wal() else {
            return Ok(());
        };
        let unlogged: Vec<RefSeries> = self
            .marked
            .iter()
            .filter(|series| !series.logged.load(Ordering::Acquire))
            .map(|series| RefSeries {
                series_ref: series.series_ref,
                labels: self.head.labels_of(series),
            })
            .collect();
        let mut series_record = Vec::new();
        let mut samples_record = Vec::new();
        let mut records: Vec<&[u8]> = Vec::with_capacity(2);
        if !unlogged.is_empty() {
            encode_series(&mut series_record, &unlogged);
            records.push(&series_record);
        }
        if samples && !self.pending.is_empty() {
            let refs: Vec<RefSample> = self
                .pending
                .iter()
                .map(|pending| RefSample {
                    series_ref: pending.series.series_ref,
                    t: pending.t,
                    v: pending.v,
                })
                .collect();
            encode_samples(&mut samples_record, &refs);
            records.push(&samples_record);
        }
        if records.is_empty() {
            return Ok(());
        }
        wal.log(&records)?;
        for series in &self.marked {
            series.logged.store(true, Ordering::Release);
        }
        Ok(())
    }

    fn release(&mut self) {
        for series in self.marked.drain(..) {
            let mut data = series.lock();
            data.pending_appends = data.pending_appends.saturating_sub(1);
        }
        self.newest.clear();
    }
}

impl Drop for Appender<'_> {
    fn drop(&mut self) {
        // An appender dropped without commit or rollback discards its samples.
        self.release();
    }
}
