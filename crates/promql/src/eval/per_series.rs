//! Range functions evaluated series by series (Prometheus evaluates a call over a matrix
//! selector the same way): for `rate(x[5m])` over a range query, each series' windows are
//! walked across all steps with two cursors that only move forward, instead of gathering
//! every series' window at each step. That reads each series' points once, in order (no
//! binary search per step and series, no cache misses across thousands of series per step)
//! and builds each output series directly (no per-step lookup of output labels).
//!
//! Only functions whose output at a step depends on one series' window and the step's
//! scalar arguments qualify ([`PER_SERIES_RANGE_FUNCTIONS`]); they return at most one sample
//! per input series, labelled like it. The functions themselves are the same
//! [`functions::call`] as in the step-by-step path, called with a one-series matrix, so
//! values, name flags and annotations are identical; the rate family skips the call and
//! uses the same per-window computation ([`RateKernel`]) directly. The sample statistics
//! and limit are accounted per step as the step-by-step path does.

use crate::error::PromqlError;
use crate::functions::{self, FnArg, FunctionCall, RateKernel};
use crate::value::{FPoint, Series};

use super::evaluator::{EVALUATION, Evaluator};
use super::grid::{Grid, RangeVector, SeriesBuilder, StepValues};

/// How many steps of one series run between two timeout/cancellation checks.
const GUARD_EVERY_STEPS: usize = 256;

/// Functions computed from one series' window (plus scalar arguments), one output per input
/// series with its labels. `double_exponential_smoothing` is left out: it fails on invalid
/// factors, and which step's factors fail first depends on the step-by-step order.
pub(super) const PER_SERIES_RANGE_FUNCTIONS: &[&str] = &[
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "deriv",
    "predict_linear",
    "avg_over_time",
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "last_over_time",
    "first_over_time",
    "present_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "quantile_over_time",
    "mad_over_time",
    "ts_of_min_over_time",
    "ts_of_max_over_time",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
    "changes",
    "resets",
];

/// A function's argument other than the range vector, per step.
pub(super) enum PlainArg<'a> {
    /// A scalar per step.
    Scalar(&'a [f64]),
    /// A string.
    String(&'a str),
}

/// Where the window of one series stands: `points[from..to]` is inside it.
#[derive(Clone, Copy, Default)]
struct Cursor {
    from: usize,
    to: usize,
}

impl Cursor {
    /// Moves forward to the window `(start, end]` (never earlier than the previous one).
    fn advance(&mut self, points: &[FPoint], start: i64, end: i64) {
        while self.from < points.len() && points[self.from].t <= start {
            self.from += 1;
        }
        if self.to < self.from {
            self.to = self.from;
        }
        while self.to < points.len() && points[self.to].t <= end {
            self.to += 1;
        }
    }
}

impl Evaluator<'_> {
    /// Evaluates `name` over `grid`, series by series: `range` is the argument at
    /// `range_position`, `plain` the other arguments in order (with the range argument's
    /// place skipped).
    pub(super) fn call_per_series(
        &mut self,
        call: &promql_parser::parser::Call,
        grid: Grid,
        range: &RangeVector,
        range_position: usize,
        plain: &[PlainArg<'_>],
    ) -> Result<StepValues, PromqlError> {
        if plain.is_empty()
            && let Some(kernel) = RateKernel::of(call.func.name)
        {
            return self.rate_per_series(kernel, grid, range);
        }
        let instant_query = self.instant_query();
        let steps = grid.steps();
        let mut points_per_step = vec![0usize; steps];
        let mut builder = SeriesBuilder::new(grid);
        let mut scratch = Series {
            metric: norn_model::Labels::default(),
            floats: Vec::new(),
            drop_name: false,
        };
        for series in &range.series {
            self.guard.check(EVALUATION)?;
            scratch.metric.clone_from(&series.metric);
            scratch.drop_name = series.drop_name;
            let mut cursor = Cursor::default();
            let mut slot = None;
            for (index, ts) in grid.times().enumerate() {
                if index % GUARD_EVERY_STEPS == GUARD_EVERY_STEPS - 1 {
                    // One series over many steps can be a long loop (a day of one-second
                    // subquery steps): timeouts and cancellation must reach it.
                    self.guard.check(EVALUATION)?;
                }
                let window = range.window(ts);
                cursor.advance(&series.floats, window.start_ms, window.end_ms);
                if cursor.from == cursor.to {
                    continue;
                }
                let points = &series.floats[cursor.from..cursor.to];
                points_per_step[index] += points.len();
                scratch.floats.clear();
                scratch.floats.extend_from_slice(points);
                let mut args = Vec::with_capacity(plain.len() + 1);
                let mut plain_args = plain.iter();
                for position in 0..=plain.len() {
                    if position == range_position {
                        args.push(FnArg::Matrix {
                            series: std::slice::from_ref(&scratch),
                            window,
                        });
                    } else if let Some(arg) = plain_args.next() {
                        args.push(match arg {
                            PlainArg::Scalar(values) => {
                                FnArg::Scalar(values.get(index).copied().unwrap_or(f64::NAN))
                            }
                            PlainArg::String(text) => FnArg::String(text),
                        });
                    }
                }
                let output = functions::call(FunctionCall {
                    name: call.func.name,
                    args,
                    arg_exprs: &call.args.args,
                    ts,
                    instant_query,
                    annotations: &mut self.annotations,
                })?;
                for sample in output {
                    let target = match slot {
                        Some(target) => target,
                        None => {
                            let target = builder.slot_owned(sample.metric, sample.drop_name);
                            slot = Some(target);
                            target
                        }
                    };
                    builder.push(target, ts, sample.f)?;
                }
            }
        }
        self.account_windows(&points_per_step)?;
        Ok(StepValues::Vector(builder.finish()))
    }

    /// [`Self::call_per_series`] for the rate family: the values are computed straight from
    /// each window, without building call arguments or output samples.
    fn rate_per_series(
        &mut self,
        kernel: RateKernel,
        grid: Grid,
        range: &RangeVector,
    ) -> Result<StepValues, PromqlError> {
        let mut points_per_step = vec![0usize; grid.steps()];
        let mut builder = SeriesBuilder::new(grid);
        for series in &range.series {
            self.guard.check(EVALUATION)?;
            let mut cursor = Cursor::default();
            let mut slot = None;
            for (index, ts) in grid.times().enumerate() {
                if index % GUARD_EVERY_STEPS == GUARD_EVERY_STEPS - 1 {
                    // One series over many steps can be a long loop (a day of one-second
                    // subquery steps): timeouts and cancellation must reach it.
                    self.guard.check(EVALUATION)?;
                }
                let window = range.window(ts);
                cursor.advance(&series.floats, window.start_ms, window.end_ms);
                if cursor.from == cursor.to {
                    continue;
                }
                let points = &series.floats[cursor.from..cursor.to];
                points_per_step[index] += points.len();
                let Some(value) = kernel.value(points, window) else {
                    continue;
                };
                let target = match slot {
                    Some(target) => target,
                    None => {
                        kernel.annotate(&series.metric, &mut self.annotations);
                        let target = builder.slot(&series.metric, true);
                        slot = Some(target);
                        target
                    }
                };
                builder.push(target, ts, value)?;
            }
        }
        self.account_windows(&points_per_step)?;
        Ok(StepValues::Vector(builder.finish()))
    }

    /// Counts the window points of each step as the step-by-step path does: read, and held
    /// while the function runs at that step.
    fn account_windows(&mut self, points_per_step: &[usize]) -> Result<(), PromqlError> {
        let total: usize = points_per_step.iter().sum();
        let peak = points_per_step.iter().copied().max().unwrap_or(0);
        self.samples.read(total);
        self.samples.hold(peak)?;
        self.samples.release(peak);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use norn_model::Labels;

    use super::PER_SERIES_RANGE_FUNCTIONS;
    use crate::engine::{Engine, EngineOptions, QueryOptions, QueryRange};
    use crate::testing::{MemStorage, block_on};
    use crate::value::{FPoint, STALE_NAN_BITS, Value};

    /// Counters with gaps, resets, stale markers and series that start and stop mid-range.
    fn store() -> MemStorage {
        let mut store = MemStorage::new();
        for index in 0..6i64 {
            let instance = format!("i{index}");
            let name = if index == 5 { "gauge" } else { "c_total" };
            let labels = Labels::new([("__name__", name), ("instance", instance.as_str())]);
            let mut value = 0.0;
            let points = (0..160i64).filter_map(move |k| {
                let t = k * 15_000 + index * 1_000;
                if (index == 1 && (40..60).contains(&k)) || (index == 2 && k < 50) {
                    return None;
                }
                value = if k % (30 + index) == 0 {
                    1.0
                } else {
                    value + (k % 4) as f64
                };
                let f = if index == 3 && k == 90 {
                    f64::from_bits(STALE_NAN_BITS)
                } else {
                    value
                };
                Some(FPoint { t, f })
            });
            store.add(labels.unwrap(), points);
        }
        store
    }

    /// A range query (series by series) shows at each step what an instant query (the
    /// step-by-step path) shows at that time: same labels, values and annotations.
    #[test]
    fn range_steps_equal_instant_queries() {
        let store = store();
        let engine = Engine::new(EngineOptions {
            enable_experimental_functions: true,
            ..EngineOptions::default()
        });
        let options = QueryOptions::default();
        for function in PER_SERIES_RANGE_FUNCTIONS {
            let query = match *function {
                "quantile_over_time" => format!("{function}(0.3, {{instance=~\".+\"}}[2m])"),
                "predict_linear" => format!("{function}({{instance=~\".+\"}}[2m], 60)"),
                _ => format!("{function}({{instance=~\".+\"}}[2m])"),
            };
            let range = QueryRange {
                start_ms: 0,
                end_ms: 2_400_000,
                step_ms: 45_000,
            };
            let result = block_on(engine.range_query(&store, &query, range, &options)).unwrap();
            let Value::Matrix(matrix) = result.value else {
                panic!("{query}: not a matrix");
            };
            let mut annotations = crate::Annotations::new();
            for ts in (range.start_ms..=range.end_ms).step_by(45_000) {
                let instant = block_on(engine.instant_query(&store, &query, ts, &options)).unwrap();
                annotations.merge(instant.annotations);
                let Value::Vector(vector) = instant.value else {
                    panic!("{query}: not a vector");
                };
                let mut expected: Vec<(String, u64)> = vector
                    .iter()
                    .map(|sample| (sample.metric.to_string(), sample.f.to_bits()))
                    .collect();
                expected.sort();
                let mut got: Vec<(String, u64)> = matrix
                    .iter()
                    .filter_map(|series| {
                        let point = series.floats.iter().find(|point| point.t == ts)?;
                        Some((series.metric.to_string(), point.f.to_bits()))
                    })
                    .collect();
                got.sort();
                assert_eq!(got, expected, "{query} at {ts}");
            }
            assert_eq!(result.annotations, annotations, "{query}");
        }
    }
}
