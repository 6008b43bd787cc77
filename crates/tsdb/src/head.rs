//! The head: the in-memory, appendable part of a TSDB holding the most recent samples.
//!
//! Series live in two striped maps (by ref, and by label hash with an overflow map for hash
//! collisions), each stripe behind its own lock so appenders on different series rarely meet.
//! Each series has its own mutex over its chunks (module `series`); the inverted index
//! (module `postings`) answers selectors and label lookups. Appends go through an [`Appender`],
//! which validates samples as they come, writes the WAL on commit and only then makes the
//! samples visible. [`Head::truncate`] drops chunks that were cut into a block and collects
//! series left without samples.

mod appender;
mod chunk_files;
mod postings;
mod series;
mod symbols;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard};

use roaring::RoaringTreemap;

use norn_model::labels::Labels;
use norn_model::matcher::Matcher;

pub use appender::{AppendError, Appender, CommitSummary};
use chunk_files::HeadChunkFiles;
use postings::MemPostings;
use series::{ChunkHandle, ChunkSink, MemSeries};
use symbols::SymbolTable;

use crate::error::Result;
use crate::postings::{IndexLookup, postings_for_matchers};
use crate::series::{ChunkMeta, ChunkSeries, SeriesRef};
use crate::wal::Wal;
use crate::wal::record::{Record, RefSample};

/// Default block range and chunk-cut range: 2 hours in milliseconds.
pub const DEFAULT_CHUNK_RANGE: i64 = 2 * 60 * 60 * 1000;

/// Settings of a head.
#[derive(Clone, Debug)]
pub struct HeadOptions {
    /// Range in milliseconds that chunks never cross and blocks cover (2h).
    pub chunk_range: i64,
    /// Number of lock stripes of each series map (a power of two).
    pub stripes: usize,
    /// Told about every series created and removed; may refuse a new series (limits).
    pub lifecycle: Option<Arc<dyn SeriesLifecycle>>,
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            chunk_range: DEFAULT_CHUNK_RANGE,
            stripes: 1 << 12,
            lifecycle: None,
        }
    }
}

/// Why a new series was refused by the [`SeriesLifecycle`] hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesRejection {
    /// A short, stable reason (the caller's error ID, such as `max-series-per-user`).
    pub reason: &'static str,
    /// The full message for the client.
    pub message: String,
}

/// Hooks on a head's series set, as Prometheus's `SeriesLifecycleCallback`: the ingester
/// enforces per-tenant series limits in [`SeriesLifecycle::pre_creation`] and counts series
/// per metric in the other two.
pub trait SeriesLifecycle: Send + Sync + std::fmt::Debug {
    /// Called before an appender creates a series; an error refuses it. Not called for
    /// series restored from the WAL, which existed before.
    fn pre_creation(&self, labels: &Labels) -> std::result::Result<(), SeriesRejection>;
    /// Called after a series was created (by an appender or by WAL replay).
    fn post_creation(&self, labels: &Labels);
    /// Called after a series was removed by garbage collection.
    fn post_deletion(&self, labels: &Labels);
}

/// Counters of a head's life; all monotonic except where noted.
#[derive(Debug, Default)]
pub struct HeadCounters {
    /// Series created.
    pub series_created: AtomicU64,
    /// Series removed by garbage collection.
    pub series_removed: AtomicU64,
    /// Samples committed.
    pub samples_appended: AtomicU64,
    /// Samples rejected as out of order.
    pub out_of_order_samples: AtomicU64,
    /// Samples rejected for a duplicate timestamp with a different value.
    pub duplicate_samples: AtomicU64,
    /// Samples rejected as older than the head accepts.
    pub out_of_bounds_samples: AtomicU64,
    /// Chunks created.
    pub chunks_created: AtomicU64,
    /// Chunks removed by truncation.
    pub chunks_removed: AtomicU64,
    /// Head truncations.
    pub truncations: AtomicU64,
    /// WAL samples dropped on replay because no series record preceded them.
    pub replay_unknown_refs: AtomicU64,
}

/// The set of series stripes, keyed by ref and by label hash.
#[derive(Debug)]
struct StripeSeries {
    refs: Box<[RwLock<RefStripe>]>,
    hashes: Box<[RwLock<HashStripe>]>,
    mask: usize,
}

/// Series by ref.
type RefStripe = HashMap<SeriesRef, Arc<MemSeries>>;

/// Series by label hash; a hash shared by different label sets goes to `conflicts`.
#[derive(Debug, Default)]
struct HashStripe {
    unique: HashMap<u64, Arc<MemSeries>>,
    conflicts: HashMap<u64, Vec<Arc<MemSeries>>>,
}

impl HashStripe {
    fn get(&self, hash: u64, labels: &Labels, symbols: &SymbolTable) -> Option<&Arc<MemSeries>> {
        match self.unique.get(&hash) {
            Some(series) if symbols.equals(&series.symbols, labels) => Some(series),
            _ => self
                .conflicts
                .get(&hash)?
                .iter()
                .find(|series| symbols.equals(&series.symbols, labels)),
        }
    }

    fn insert(&mut self, hash: u64, series: Arc<MemSeries>) {
        match self.unique.get(&hash) {
            None => {
                self.unique.insert(hash, series);
            }
            Some(_) => self.conflicts.entry(hash).or_default().push(series),
        }
    }

    fn remove(&mut self, hash: u64, series_ref: SeriesRef) {
        if self
            .unique
            .get(&hash)
            .is_some_and(|series| series.series_ref == series_ref)
        {
            self.unique.remove(&hash);
            // Promote a conflicting series, if any, to the unique slot.
            if let Some(conflicts) = self.conflicts.get_mut(&hash)
                && let Some(promoted) = conflicts.pop()
            {
                if conflicts.is_empty() {
                    self.conflicts.remove(&hash);
                }
                self.unique.insert(hash, promoted);
            }
        } else if let Some(conflicts) = self.conflicts.get_mut(&hash) {
            conflicts.retain(|series| series.series_ref != series_ref);
            if conflicts.is_empty() {
                self.conflicts.remove(&hash);
            }
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl StripeSeries {
    fn new(stripes: usize) -> Self {
        let stripes = stripes.max(1).next_power_of_two();
        Self {
            refs: (0..stripes).map(|_| RwLock::default()).collect(),
            hashes: (0..stripes).map(|_| RwLock::default()).collect(),
            mask: stripes - 1,
        }
    }

    fn by_ref(&self, series_ref: SeriesRef) -> Option<Arc<MemSeries>> {
        read(&self.refs[series_ref as usize & self.mask])
            .get(&series_ref)
            .cloned()
    }

    fn by_labels(
        &self,
        hash: u64,
        labels: &Labels,
        symbols: &SymbolTable,
    ) -> Option<Arc<MemSeries>> {
        read(&self.hashes[hash as usize & self.mask])
            .get(hash, labels, symbols)
            .cloned()
    }
}

/// The in-memory part of a TSDB.
#[derive(Debug)]
pub struct Head {
    options: HeadOptions,
    series: StripeSeries,
    symbols: SymbolTable,
    postings: RwLock<MemPostings>,
    last_series_ref: AtomicU64,
    min_time: AtomicI64,
    max_time: AtomicI64,
    /// Samples before this time are already in blocks and rejected as out of bounds.
    min_valid_time: AtomicI64,
    wal: OnceLock<Arc<Wal>>,
    chunk_files: Option<HeadChunkFiles>,
    counters: HeadCounters,
}

impl Head {
    /// Returns an empty head that keeps every chunk in memory (tests, benchmarks, tools).
    pub fn new(options: HeadOptions) -> Self {
        Self::build(options, None)
    }

    /// Returns an empty head that writes completed chunks to files in `chunks_dir` (emptied
    /// first: the WAL is what rebuilds a head), keeping only open chunks in memory.
    pub fn with_chunk_dir(options: HeadOptions, chunks_dir: &std::path::Path) -> Result<Self> {
        let files = HeadChunkFiles::open(chunks_dir, chunk_files::MAX_FILE_SIZE)?;
        Ok(Self::build(options, Some(files)))
    }

    fn build(mut options: HeadOptions, chunk_files: Option<HeadChunkFiles>) -> Self {
        // Chunk spans are stored in 32 bits (about 49 days), far above any sensible range.
        options.chunk_range = options.chunk_range.clamp(1, i64::from(u32::MAX));
        Self {
            series: StripeSeries::new(options.stripes),
            symbols: SymbolTable::default(),
            options,
            postings: RwLock::default(),
            last_series_ref: AtomicU64::new(0),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid_time: AtomicI64::new(i64::MIN),
            wal: OnceLock::new(),
            chunk_files,
            counters: HeadCounters::default(),
        }
    }

    /// Where series `series_ref` puts the chunks it completes.
    pub(crate) fn sink(&self, series_ref: SeriesRef) -> ChunkSink<'_> {
        ChunkSink {
            files: self.chunk_files.as_ref(),
            series_ref,
            chunk_range: self.options.chunk_range,
        }
    }

    /// Turns chunk handles into chunks, reading those on disk.
    fn resolve(&self, handles: Vec<ChunkHandle>) -> Result<Vec<ChunkMeta>> {
        handles
            .into_iter()
            .map(|handle| match handle {
                ChunkHandle::Ready(meta) => Ok(meta),
                ChunkHandle::OnDisk {
                    min_time,
                    max_time,
                    location,
                } => {
                    let files = self.chunk_files.as_ref().ok_or_else(|| {
                        crate::error::Error::corrupt("head chunk", "no chunk files configured")
                    })?;
                    Ok(ChunkMeta {
                        min_time,
                        max_time,
                        encoding: crate::chunkenc::Encoding::Xor,
                        data: files.read(location)?.into(),
                    })
                }
            })
            .collect()
    }

    /// Attaches the WAL commits are written to; a head without one keeps samples in memory
    /// only. Returns false if a WAL was already attached.
    pub fn attach_wal(&self, wal: Arc<Wal>) -> bool {
        self.wal.set(wal).is_ok()
    }

    /// Returns the attached WAL, if any.
    pub fn wal(&self) -> Option<&Arc<Wal>> {
        self.wal.get()
    }

    /// Returns the head's options.
    pub fn options(&self) -> &HeadOptions {
        &self.options
    }

    /// Returns a new appender.
    pub fn appender(&self) -> Appender<'_> {
        Appender::new(self)
    }

    /// Returns the life counters.
    pub fn counters(&self) -> &HeadCounters {
        &self.counters
    }

    /// Returns the earliest sample time held (`i64::MAX` when empty).
    pub fn min_time(&self) -> i64 {
        self.min_time.load(Ordering::Acquire)
    }

    /// Returns the latest sample time held (`i64::MIN` when empty).
    pub fn max_time(&self) -> i64 {
        self.max_time.load(Ordering::Acquire)
    }

    /// Returns the time before which samples are rejected as out of bounds.
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid_time.load(Ordering::Acquire)
    }

    /// Sets the time before which samples are out of bounds (the end of the newest block).
    pub fn set_min_valid_time(&self, time: i64) {
        self.min_valid_time.fetch_max(time, Ordering::AcqRel);
    }

    /// Returns the earliest timestamp an appender accepts now: not before the newest block's
    /// end, and not more than half a chunk range before the newest sample (Prometheus's rule,
    /// which keeps the head appendable while a block is being cut).
    pub fn appendable_min_time(&self) -> i64 {
        let max = self.max_time();
        let window = if max == i64::MIN {
            i64::MIN
        } else {
            max.saturating_sub(self.options.chunk_range / 2)
        };
        self.min_valid_time().max(window)
    }

    /// Returns the number of series.
    pub fn num_series(&self) -> u64 {
        read(&self.postings).len()
    }

    /// Returns the number of chunks held (completed and open).
    pub fn num_chunks(&self) -> u64 {
        self.all_series()
            .iter()
            .map(|series| series.lock().num_chunks() as u64)
            .sum()
    }

    /// Returns the heap bytes held by series labels and chunks (not the maps and index).
    pub fn series_heap_bytes(&self) -> usize {
        self.all_series()
            .iter()
            .map(|series| series.heap_bytes())
            .sum()
    }

    fn all_series(&self) -> Vec<Arc<MemSeries>> {
        self.series
            .refs
            .iter()
            .flat_map(|stripe| read(stripe).values().cloned().collect::<Vec<_>>())
            .collect()
    }

    /// Returns the series with `labels`, creating it if needed; `true` means it was created.
    pub(crate) fn get_or_create(
        &self,
        labels: &Labels,
    ) -> std::result::Result<(Arc<MemSeries>, bool), SeriesRejection> {
        let hash = labels.hash();
        if let Some(series) = self.series.by_labels(hash, labels, &self.symbols) {
            return Ok((series, false));
        }
        if let Some(lifecycle) = &self.options.lifecycle {
            lifecycle.pre_creation(labels)?;
        }
        let series_ref = self.last_series_ref.fetch_add(1, Ordering::AcqRel) + 1;
        Ok(self.insert_series(hash, series_ref, labels.clone(), false))
    }

    /// Inserts a series unless one with the same labels appeared meanwhile.
    fn insert_series(
        &self,
        hash: u64,
        series_ref: SeriesRef,
        labels: Labels,
        logged: bool,
    ) -> (Arc<MemSeries>, bool) {
        let mut hashes = write(&self.series.hashes[hash as usize & self.series.mask]);
        if let Some(existing) = hashes.get(hash, &labels, &self.symbols) {
            return (Arc::clone(existing), false);
        }
        let series = Arc::new(MemSeries::new(
            series_ref,
            self.symbols.intern(&labels),
            logged,
        ));
        hashes.insert(hash, Arc::clone(&series));
        write(&self.series.refs[series_ref as usize & self.series.mask])
            .insert(series_ref, Arc::clone(&series));
        drop(hashes);
        write(&self.postings).add(series_ref, &labels);
        self.counters.series_created.fetch_add(1, Ordering::Relaxed);
        if let Some(lifecycle) = &self.options.lifecycle {
            lifecycle.post_creation(&labels);
        }
        (series, true)
    }

    /// Returns a series' label set.
    pub(crate) fn labels_of(&self, series: &MemSeries) -> Labels {
        self.symbols.labels(&series.symbols)
    }

    pub(crate) fn series_by_ref(&self, series_ref: SeriesRef) -> Option<Arc<MemSeries>> {
        self.series.by_ref(series_ref)
    }

    /// Records that samples in `[mint, maxt]` were added.
    pub(crate) fn extend_time_range(&self, mint: i64, maxt: i64) {
        self.min_time.fetch_min(mint, Ordering::AcqRel);
        self.max_time.fetch_max(maxt, Ordering::AcqRel);
    }

    /// Returns the series matching `matchers` with their chunks overlapping `[mint, maxt]`,
    /// sorted by labels. Series without such chunks are left out.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<ChunkSeries>> {
        let refs = self.postings_for(matchers)?;
        let mut result = Vec::new();
        for series_ref in refs.iter() {
            let Some(series) = self.series.by_ref(series_ref) else {
                continue;
            };
            let handles = series.lock().chunks(mint, maxt);
            if !handles.is_empty() {
                result.push(ChunkSeries {
                    labels: self.labels_of(&series),
                    chunks: self.resolve(handles)?,
                });
            }
        }
        result.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        Ok(result)
    }

    fn postings_for(&self, matchers: &[Matcher]) -> Result<RoaringTreemap> {
        let postings = read(&self.postings);
        postings_for_matchers(&HeadIndex(&postings), matchers)
    }

    /// Returns the sorted label names of series matching `matchers` (all when empty), or
    /// nothing when the head holds no sample in `[mint, maxt]`.
    ///
    /// As in Prometheus's head, the range is checked against the head as a whole, not per
    /// series: the answer comes from the index and the series' interned symbols, without
    /// locking a series or reading a chunk.
    pub fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>> {
        if !self.overlaps(mint, maxt) {
            return Ok(Vec::new());
        }
        if matchers.is_empty() {
            return Ok(read(&self.postings).label_names());
        }
        let refs = self.postings_for(matchers)?;
        let mut names = std::collections::HashSet::new();
        for series_ref in refs.iter() {
            if let Some(series) = self.series.by_ref(series_ref) {
                names.extend(series.symbols.chunks_exact(2).map(|pair| pair[0]));
            }
        }
        Ok(self.symbols.strings_sorted(names))
    }

    /// Returns the sorted values of `name` among series matching `matchers`, or nothing when
    /// the head holds no sample in `[mint, maxt]` (the range is checked as in
    /// [`Head::label_names`]).
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>> {
        if !self.overlaps(mint, maxt) {
            return Ok(Vec::new());
        }
        if matchers.is_empty() {
            return Ok(read(&self.postings).label_values(name));
        }
        let Some(name_id) = self.symbols.id_of(name) else {
            return Ok(Vec::new());
        };
        let refs = self.postings_for(matchers)?;
        let mut values = std::collections::HashSet::new();
        for series_ref in refs.iter() {
            if let Some(series) = self.series.by_ref(series_ref)
                && let Some(pair) = series
                    .symbols
                    .chunks_exact(2)
                    .find(|pair| pair[0] == name_id)
            {
                values.insert(pair[1]);
            }
        }
        Ok(self.symbols.strings_sorted(values))
    }

    /// True when the head holds samples and `[mint, maxt]` overlaps their range.
    fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_time() <= maxt && self.max_time() >= mint
    }

    /// Returns the sorted label sets of series matching `matchers` that have samples in
    /// `[mint, maxt]`, without touching chunk data.
    pub fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>> {
        let mut labels: Vec<Labels> = self
            .matching_series_in_range(matchers, mint, maxt)?
            .iter()
            .map(|series| self.labels_of(series))
            .collect();
        labels.sort_unstable();
        Ok(labels)
    }

    fn matching_series_in_range(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Arc<MemSeries>>> {
        let refs = self.postings_for(matchers)?;
        Ok(refs
            .iter()
            .filter_map(|series_ref| self.series.by_ref(series_ref))
            .filter(|series| {
                series
                    .lock()
                    .time_range()
                    .is_some_and(|(min, max)| min <= maxt && max >= mint)
            })
            .collect())
    }

    /// Drops every chunk ending before `mint`, removes series left empty and moves the head's
    /// start to `mint`. Returns the refs of removed series.
    pub fn truncate(&self, mint: i64) -> Vec<SeriesRef> {
        self.set_min_valid_time(mint);
        let mut removed = Vec::new();
        let mut chunks_removed = 0u64;
        let mut new_min = i64::MAX;
        for stripe in self.series.refs.iter() {
            let candidates: Vec<Arc<MemSeries>> = read(stripe).values().cloned().collect();
            for series in candidates {
                let mut data = series.lock();
                chunks_removed += data.truncate(mint) as u64;
                if data.is_collectable() {
                    drop(data);
                    self.remove_series(&series);
                    removed.push(series.series_ref);
                } else if let Some((min, _)) = data.time_range() {
                    new_min = new_min.min(min);
                }
            }
        }
        if let Some(files) = &self.chunk_files
            && let Err(error) = files.truncate(mint)
        {
            tracing::warn!(%error, "could not delete old head chunk files");
        }
        self.min_time.store(new_min, Ordering::Release);
        if new_min == i64::MAX {
            // Empty head: the next sample sets the range again.
            self.max_time.store(i64::MIN, Ordering::Release);
        }
        self.counters
            .chunks_removed
            .fetch_add(chunks_removed, Ordering::Relaxed);
        self.counters
            .series_removed
            .fetch_add(removed.len() as u64, Ordering::Relaxed);
        self.counters.truncations.fetch_add(1, Ordering::Relaxed);
        removed
    }

    fn remove_series(&self, series: &MemSeries) {
        let labels = self.labels_of(series);
        let hash = labels.hash();
        write(&self.series.hashes[hash as usize & self.series.mask])
            .remove(hash, series.series_ref);
        write(&self.series.refs[series.series_ref as usize & self.series.mask])
            .remove(&series.series_ref);
        write(&self.postings).remove(series.series_ref, &labels);
        self.symbols.release(&series.symbols);
        if let Some(lifecycle) = &self.options.lifecycle {
            lifecycle.post_deletion(&labels);
        }
    }

    /// Returns true if the head still holds series `series_ref` (the WAL checkpoint keeps
    /// exactly those series records).
    pub fn contains(&self, series_ref: SeriesRef) -> bool {
        self.series.by_ref(series_ref).is_some()
    }

    /// Returns every series with the chunks that lie entirely in `[mint, maxt]`, sorted by
    /// labels: the input for cutting a block.
    pub fn chunks_in_range(&self, mint: i64, maxt: i64) -> Result<Vec<ChunkSeries>> {
        let mut result = Vec::new();
        for series in self.all_series() {
            let handles: Vec<ChunkHandle> = series
                .lock()
                .chunks(mint, maxt)
                .into_iter()
                .filter(|handle| {
                    let (min, max) = match handle {
                        ChunkHandle::Ready(meta) => (meta.min_time, meta.max_time),
                        ChunkHandle::OnDisk {
                            min_time, max_time, ..
                        } => (*min_time, *max_time),
                    };
                    min >= mint && max <= maxt
                })
                .collect();
            if !handles.is_empty() {
                result.push(ChunkSeries {
                    labels: self.labels_of(&series),
                    chunks: self.resolve(handles)?,
                });
            }
        }
        result.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        Ok(result)
    }

    /// Applies one WAL record during replay. `ref_map` maps refs of duplicate series records
    /// (same labels, other ref) to the series the head already has.
    pub(crate) fn replay_record(
        &self,
        record: Record,
        ref_map: &mut HashMap<SeriesRef, SeriesRef>,
    ) {
        match record {
            Record::Series(series) => {
                for entry in series {
                    self.last_series_ref
                        .fetch_max(entry.series_ref, Ordering::AcqRel);
                    let hash = entry.labels.hash();
                    let (existing, created) =
                        self.insert_series(hash, entry.series_ref, entry.labels, true);
                    if !created && existing.series_ref != entry.series_ref {
                        ref_map.insert(entry.series_ref, existing.series_ref);
                    }
                }
            }
            Record::Samples(samples) => self.replay_samples(&samples, ref_map),
            Record::Tombstones(stones) => {
                for stone in stones {
                    // Only the "series deleted" marker matters to the head today; interval
                    // deletion comes with the deletion API.
                    if stone.mint == i64::MIN
                        && stone.maxt == i64::MAX
                        && let Some(series) = self.series.by_ref(stone.series_ref)
                    {
                        self.remove_series(&series);
                    }
                }
            }
            Record::Metadata(_) | Record::Unknown(_) => {}
        }
    }

    fn replay_samples(&self, samples: &[RefSample], ref_map: &HashMap<SeriesRef, SeriesRef>) {
        let min_valid = self.min_valid_time();
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let mut appended = 0u64;
        for sample in samples {
            if sample.t < min_valid {
                continue;
            }
            let series_ref = ref_map
                .get(&sample.series_ref)
                .copied()
                .unwrap_or(sample.series_ref);
            let Some(series) = self.series.by_ref(series_ref) else {
                self.counters
                    .replay_unknown_refs
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            };
            // Samples that were rejected when first committed are rejected again; the WAL
            // may hold them because commit logs before it applies.
            if let Ok(cut) = series
                .lock()
                .append(sample.t, sample.v, self.sink(series_ref))
            {
                appended += 1;
                if cut {
                    self.counters.chunks_created.fetch_add(1, Ordering::Relaxed);
                }
                mint = mint.min(sample.t);
                maxt = maxt.max(sample.t);
            }
        }
        if appended > 0 {
            self.extend_time_range(mint, maxt);
        }
    }
}

/// The head's postings seen through the trait shared with block indexes.
struct HeadIndex<'a>(&'a MemPostings);

impl IndexLookup for HeadIndex<'_> {
    fn label_values(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.0.label_values(name))
    }

    fn postings(&self, name: &str, values: &[&str]) -> Result<RoaringTreemap> {
        Ok(self.0.postings(name, values))
    }

    fn all_postings(&self) -> Result<RoaringTreemap> {
        Ok(self.0.all().clone())
    }
}

#[cfg(test)]
mod tests;
