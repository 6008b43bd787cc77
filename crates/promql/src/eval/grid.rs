//! The shapes an expression takes while it is evaluated over a time grid (Prometheus's
//! `rangeEval` model): the grid itself, per-step values of instant expressions, range
//! vectors with their per-step windows, and the builder that assembles per-step outputs
//! back into series.

use norn_model::Labels;

use crate::error::PromqlError;
use crate::functions::Window;
use crate::value::{FPoint, Series};

use super::fast_hash::FastMap;

/// The evaluation times of one (sub)evaluation: `start`, `start + step`, … up to `end`.
/// An instant evaluation has `start == end` (its step is irrelevant but positive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grid {
    /// The first evaluation time (ms).
    pub start: i64,
    /// The last evaluation time allowed (ms, inclusive; may be off the step grid).
    pub end: i64,
    /// The distance between evaluation times (ms, > 0).
    pub step: i64,
}

impl Grid {
    /// Returns a one-step grid at `ts`.
    pub(crate) fn single(ts: i64) -> Self {
        Self {
            start: ts,
            end: ts,
            step: 1,
        }
    }

    /// Returns the number of evaluation times (0 when `end < start`).
    pub(crate) fn steps(&self) -> usize {
        if self.end < self.start {
            0
        } else {
            usize::try_from((self.end - self.start) / self.step + 1).unwrap_or(0)
        }
    }

    /// Returns the last evaluation time actually on the grid.
    pub(crate) fn last(&self) -> i64 {
        self.start + (self.end - self.start) / self.step * self.step
    }

    /// Returns the evaluation time of step `index`.
    pub(crate) fn time(&self, index: usize) -> i64 {
        self.start + index as i64 * self.step
    }

    /// Returns the index of the step at time `ts` (which must be on the grid).
    pub(crate) fn index(&self, ts: i64) -> usize {
        usize::try_from((ts - self.start) / self.step).unwrap_or(0)
    }

    /// Returns the evaluation times in order.
    pub(crate) fn times(&self) -> impl Iterator<Item = i64> + use<> {
        let grid = *self;
        (0..grid.steps()).map(move |index| grid.time(index))
    }
}

/// An instant-vector, scalar or string expression evaluated at every step of a grid.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StepValues {
    /// One value per step.
    Scalar(Vec<f64>),
    /// Series whose points sit at step times (a step without a point is absent).
    Vector(Vec<Series>),
    /// A string (constant over the grid).
    String(String),
}

impl StepValues {
    /// Returns how many samples the value holds (for the sample limit).
    pub(crate) fn sample_count(&self) -> usize {
        match self {
            StepValues::Scalar(values) => values.len(),
            StepValues::Vector(series) => point_count(series),
            StepValues::String(_) => 0,
        }
    }
}

/// Returns the number of points of every series together.
pub(crate) fn point_count(series: &[Series]) -> usize {
    series.iter().map(|series| series.floats.len()).sum()
}

/// A range vector: every point a matrix selector or subquery may show at any step, and
/// how to find the window of one step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RangeVector {
    /// Series with their points in time order (stale markers removed).
    pub series: Vec<Series>,
    /// The range (ms).
    pub range: i64,
    /// The offset (ms).
    pub offset: i64,
    /// The `@` time (ms), if any: then every step sees the same window.
    pub at: Option<i64>,
    /// Samples counted as held while the range vector lives (a subquery's points).
    pub held: usize,
}

impl RangeVector {
    /// Returns the window seen at evaluation time `ts`.
    pub(crate) fn window(&self, ts: i64) -> Window {
        let end_ms = self.at.unwrap_or(ts) - self.offset;
        Window {
            start_ms: end_ms - self.range,
            end_ms,
        }
    }
}

/// Returns the points of `points` (in time order) inside `window` (left-open).
pub(crate) fn window_slice(points: &[FPoint], window: Window) -> &[FPoint] {
    let from = points.partition_point(|point| point.t <= window.start_ms);
    let to = points.partition_point(|point| point.t <= window.end_ms);
    &points[from..to.max(from)]
}

/// Reads the per-step vectors of a [`StepValues::Vector`] in step order: one cursor per
/// series, moved forward as steps go by.
#[derive(Debug)]
pub(crate) struct StepReader {
    next: Vec<usize>,
}

impl StepReader {
    /// Returns a reader positioned before the first step of `series`.
    pub(crate) fn new(series: &[Series]) -> Self {
        Self {
            next: vec![0; series.len()],
        }
    }

    /// Appends `(series index, value)` for every series with a point at `ts`. Steps must
    /// be read in increasing time order.
    pub(crate) fn read(&mut self, series: &[Series], ts: i64, out: &mut Vec<(usize, f64)>) {
        out.clear();
        for (index, (one, next)) in series.iter().zip(self.next.iter_mut()).enumerate() {
            while let Some(point) = one.floats.get(*next) {
                if point.t < ts {
                    *next += 1;
                    continue;
                }
                if point.t == ts {
                    out.push((index, point.f));
                    *next += 1;
                }
                break;
            }
        }
    }
}

/// Assembles per-step outputs into series, like Prometheus's `rangeEval`: on a grid of
/// several steps, outputs with the same labels join one series and two at the same step
/// are an error; on a one-step grid every output is its own series, in output order (so an
/// instant query keeps `sort`/`topk` order), duplicates being checked at the end.
#[derive(Debug)]
pub(crate) struct SeriesBuilder {
    single_step: bool,
    series: Vec<Series>,
    /// Slots by labels, one map per `drop_name` value: a series whose name is still to be
    /// dropped is a different output series from one keeping the same labels (e.g. the two
    /// sides of `x or rate(x[5m])`).
    index: [FastMap<Labels, usize>; 2],
    last_t: Vec<i64>,
}

impl SeriesBuilder {
    /// Returns a builder for outputs over `grid`.
    pub(crate) fn new(grid: Grid) -> Self {
        Self {
            single_step: grid.steps() <= 1,
            series: Vec::new(),
            index: [FastMap::default(), FastMap::default()],
            last_t: Vec::new(),
        }
    }

    /// Returns the slot of the series labeled `metric`, creating it (with `drop_name`) when
    /// needed.
    pub(crate) fn slot(&mut self, metric: &Labels, drop_name: bool) -> usize {
        if !self.single_step
            && let Some(&slot) = self.index[usize::from(drop_name)].get(metric)
        {
            return slot;
        }
        self.create(metric.clone(), drop_name)
    }

    /// Like [`SeriesBuilder::slot`], taking ownership of the labels.
    pub(crate) fn slot_owned(&mut self, metric: Labels, drop_name: bool) -> usize {
        if !self.single_step
            && let Some(&slot) = self.index[usize::from(drop_name)].get(&metric)
        {
            return slot;
        }
        self.create(metric, drop_name)
    }

    fn create(&mut self, metric: Labels, drop_name: bool) -> usize {
        let slot = self.series.len();
        if !self.single_step {
            self.index[usize::from(drop_name)].insert(metric.clone(), slot);
        }
        self.series.push(Series {
            metric,
            floats: Vec::new(),
            drop_name,
        });
        self.last_t.push(i64::MIN);
        slot
    }

    /// Adds a point to the series in `slot`; a second point at the same time means two
    /// outputs of one step share a label set.
    pub(crate) fn push(&mut self, slot: usize, t: i64, f: f64) -> Result<(), PromqlError> {
        let (Some(series), Some(last_t)) = (self.series.get_mut(slot), self.last_t.get_mut(slot))
        else {
            return Err(PromqlError::Internal(format!("unknown output slot {slot}")));
        };
        if *last_t == t {
            return Err(duplicate_labelset());
        }
        *last_t = t;
        series.floats.push(FPoint { t, f });
        Ok(())
    }

    /// Returns the series built, leaving out series without points.
    pub(crate) fn finish(self) -> Vec<Series> {
        self.series
            .into_iter()
            .filter(|series| !series.floats.is_empty())
            .collect()
    }
}

/// Prometheus's error for two elements of one vector with the same labels.
pub(crate) fn duplicate_labelset() -> PromqlError {
    PromqlError::Execution("vector cannot contain metrics with the same labelset".to_owned())
}

/// Tracks the samples held in memory (Prometheus's `currentSamples`) against the query's
/// limit, and the statistics reported with the result.
#[derive(Debug, Default)]
pub(crate) struct SampleTracker {
    current: usize,
    peak: usize,
    total: u64,
    limit: usize,
}

impl SampleTracker {
    /// Returns a tracker enforcing `limit` (0: unlimited).
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Counts `count` more samples held; fails when the limit is passed.
    pub(crate) fn hold(&mut self, count: usize) -> Result<(), PromqlError> {
        self.current += count;
        self.peak = self.peak.max(self.current);
        if self.limit > 0 && self.current > self.limit {
            return Err(PromqlError::TooManySamples { limit: self.limit });
        }
        Ok(())
    }

    /// Counts `count` samples no longer held.
    pub(crate) fn release(&mut self, count: usize) {
        self.current = self.current.saturating_sub(count);
    }

    /// Counts `count` samples read by a selector (the `total_samples` statistic).
    pub(crate) fn read(&mut self, count: usize) {
        self.total += count as u64;
    }

    /// Returns the most samples held at once.
    pub(crate) fn peak(&self) -> u64 {
        self.peak as u64
    }

    /// Returns the samples read by selectors, summed over steps.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}
