//! [`MemStorage`]: an in-memory [`Queryable`] for tests. Float samples only, stale markers
//! kept as samples. Series that hold native histograms (which Norn does not store) are
//! remembered by label set so a test runner can tell when a query would need them, but
//! `select` never returns them.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use norn_model::{Labels, Matcher};

use norn_tsdb::series::ChunkMeta;

use crate::queryable::{Queryable, SelectHints, StorageError, StoredSeries};
use crate::value::FPoint;

/// An in-memory series store. Each series is kept both as points (for runners that inspect
/// the data) and as encoded chunks (what selections hand out, as real storage does).
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    floats: BTreeMap<Labels, Vec<FPoint>>,
    chunks: BTreeMap<Labels, Vec<ChunkMeta>>,
    histogram_series: BTreeSet<Labels>,
}

impl MemStorage {
    /// Returns an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds float samples (stale markers included) to the series `labels`. Samples are kept
    /// in time order; a sample at a time the series already has replaces the old one.
    pub fn add(&mut self, labels: Labels, samples: impl IntoIterator<Item = FPoint>) {
        let series = self.floats.entry(labels.clone()).or_default();
        let before = series.len();
        series.extend(samples);
        if series.len() == before {
            return;
        }
        // Stable sort, then keep the last sample of each timestamp (the newest one added).
        series.sort_by_key(|point| point.t);
        let mut deduplicated: Vec<FPoint> = Vec::with_capacity(series.len());
        for point in series.drain(..) {
            match deduplicated.last_mut() {
                Some(last) if last.t == point.t => *last = point,
                _ => deduplicated.push(point),
            }
        }
        *series = deduplicated;
        // Timestamps are now strictly increasing, which is all encoding asks for.
        let chunks = StoredSeries::from_points(labels.clone(), series)
            .map(|stored| stored.chunks)
            .unwrap_or_default();
        self.chunks.insert(labels, chunks);
    }

    /// Records that the series `labels` holds native histograms. Such a series is never
    /// returned by `select` (even if it also has float samples).
    pub fn add_histogram_series(&mut self, labels: Labels) {
        self.histogram_series.insert(labels);
    }

    /// Removes every series.
    pub fn clear(&mut self) {
        self.floats.clear();
        self.chunks.clear();
        self.histogram_series.clear();
    }

    /// Returns true when the store holds no series at all.
    pub fn is_empty(&self) -> bool {
        self.floats.is_empty() && self.histogram_series.is_empty()
    }

    /// Returns the float series (histogram series excluded), sorted by labels.
    pub fn float_series(&self) -> impl Iterator<Item = (&Labels, &[FPoint])> + '_ {
        self.floats
            .iter()
            .filter(|(labels, _)| !self.histogram_series.contains(*labels))
            .map(|(labels, samples)| (labels, samples.as_slice()))
    }

    /// Returns the label sets of the series that hold native histograms, sorted.
    pub fn histogram_series(&self) -> impl Iterator<Item = &Labels> + '_ {
        self.histogram_series.iter()
    }

    /// Returns the series matching every matcher with their chunks overlapping
    /// `[start_ms, end_ms]` (the selection's range), sorted by labels; series without
    /// samples in the range are left out.
    pub fn select_range(
        &self,
        matchers: &[Matcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Vec<StoredSeries> {
        self.float_series()
            .filter(|(labels, _)| matchers.iter().all(|m| m.matches(labels.get(m.name()))))
            .filter_map(|(labels, samples)| {
                let first = samples.partition_point(|point| point.t < start_ms);
                let end = samples.partition_point(|point| point.t <= end_ms);
                (first < end).then(|| StoredSeries {
                    labels: labels.clone(),
                    chunks: self
                        .chunks
                        .get(labels)
                        .into_iter()
                        .flatten()
                        .filter(|chunk| chunk.overlaps(start_ms, end_ms))
                        .cloned()
                        .collect(),
                    mint: start_ms,
                    maxt: end_ms,
                })
            })
            .collect()
    }
}

#[async_trait]
impl Queryable for MemStorage {
    async fn select(
        &self,
        matchers: &[Matcher],
        hints: &SelectHints,
    ) -> Result<Vec<StoredSeries>, StorageError> {
        Ok(self.select_range(matchers, hints.start_ms, hints.end_ms))
    }
}

#[cfg(test)]
mod tests {
    use norn_model::MatchType;

    use super::*;
    use crate::testing::block_on;
    use crate::value::{STALE_NAN_BITS, is_stale_nan};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    fn points(pairs: &[(i64, f64)]) -> Vec<FPoint> {
        pairs.iter().map(|&(t, f)| FPoint { t, f }).collect()
    }

    fn decoded(series: &StoredSeries) -> Vec<FPoint> {
        series.decode(|_| true).unwrap()
    }

    fn matcher(kind: MatchType, name: &str, value: &str) -> Matcher {
        Matcher::new(kind, name, value).unwrap()
    }

    #[test]
    fn select_honours_matchers_range_and_order() {
        let mut store = MemStorage::new();
        store.add(
            labels(&[("__name__", "m"), ("job", "b")]),
            points(&[(0, 1.0), (60, 2.0), (120, 3.0)]),
        );
        store.add(
            labels(&[("__name__", "m"), ("job", "a")]),
            points(&[(0, 4.0), (60, f64::from_bits(STALE_NAN_BITS))]),
        );
        store.add(labels(&[("__name__", "other")]), points(&[(0, 5.0)]));
        let hints = SelectHints {
            start_ms: 30,
            end_ms: 120,
            ..SelectHints::default()
        };
        let selected =
            block_on(store.select(&[matcher(MatchType::Equal, "__name__", "m")], &hints)).unwrap();
        assert_eq!(selected.len(), 2);
        assert_eq!(selected[0].labels.get("job"), "a");
        assert_eq!(decoded(&selected[0]).len(), 1);
        assert!(
            is_stale_nan(decoded(&selected[0])[0].f),
            "stale markers are kept"
        );
        assert_eq!(decoded(&selected[1]), points(&[(60, 2.0), (120, 3.0)]));

        let selected = store.select_range(&[matcher(MatchType::Regex, "job", "b|c")], 0, 0);
        assert_eq!(selected.len(), 1);
        assert_eq!(decoded(&selected[0]), points(&[(0, 1.0)]));

        assert!(
            store
                .select_range(&[matcher(MatchType::Equal, "__name__", "other")], 1, 100)
                .is_empty()
        );
        let none_job = store.select_range(&[matcher(MatchType::Equal, "job", "")], 0, 0);
        assert_eq!(none_job.len(), 1, "a missing label equals the empty string");
    }

    #[test]
    fn add_merges_and_replaces_equal_timestamps() {
        let mut store = MemStorage::new();
        let series = labels(&[("__name__", "m")]);
        store.add(series.clone(), points(&[(60, 2.0), (0, 1.0)]));
        store.add(series.clone(), points(&[(60, 7.0), (30, 3.0)]));
        let selected = store.select_range(&[], i64::MIN, i64::MAX);
        assert_eq!(
            decoded(&selected[0]),
            points(&[(0, 1.0), (30, 3.0), (60, 7.0)])
        );
    }

    #[test]
    fn histogram_series_are_never_selected() {
        let mut store = MemStorage::new();
        let histogram = labels(&[("__name__", "h")]);
        store.add(histogram.clone(), points(&[(0, 1.0)]));
        store.add_histogram_series(histogram.clone());
        store.add(labels(&[("__name__", "f")]), points(&[(0, 1.0)]));
        let selected = store.select_range(&[], 0, 0);
        assert_eq!(selected.len(), 1);
        assert_eq!(selected[0].labels.metric_name(), "f");
        assert_eq!(store.histogram_series().collect::<Vec<_>>(), [&histogram]);
        store.clear();
        assert!(store.is_empty());
    }
}
