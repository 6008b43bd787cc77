//! The tree walker: evaluates each node over a grid of evaluation times, children first
//! (Prometheus's `rangeEval` model). Selectors, literals, parentheses, unary minus,
//! subqueries and step-invariant subtrees live here; calls, aggregations and binary
//! operators in sibling modules.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::{Expr, MatrixSelector, SubqueryExpr, VectorSelector};

use crate::annotations::Annotations;
use crate::engine::{Guard, QueryRange};
use crate::error::PromqlError;
use crate::value::{FPoint, Sample, Series, is_stale_nan};

use super::grid::{Grid, RangeVector, SampleTracker, StepValues};
use super::plan::{
    DEFAULT_SUBQUERY_STEP_MS, SelectedData, at_ms, duration_ms, expr_key, offset_ms, selector_key,
    unwrap_parens,
};

/// The stage named by timeouts and cancellations during evaluation.
pub(crate) const EVALUATION: &str = "expression evaluation";

/// Everything one query's evaluation shares.
pub(crate) struct Evaluator<'q> {
    /// The series each selector selected.
    pub data: &'q SelectedData,
    /// The query's own time range (for `@ start()`/`end()` and `start()`…`step()`).
    pub query: QueryRange,
    /// How far back an instant selector looks (ms).
    pub lookback_delta_ms: i64,
    /// Nodes evaluated once and repeated over the grid.
    pub invariant: &'q HashSet<usize>,
    /// Timeout, cancellation and the sample limit.
    pub guard: &'q Guard,
    /// Samples held and read.
    pub samples: SampleTracker,
    /// Warnings and infos.
    pub annotations: Annotations,
    /// Selections decoded whole, by selector, for the paths that look samples up step by
    /// step across every series (a selector passed straight to a per-step function).
    pub decoded: HashMap<usize, Vec<Vec<FPoint>>>,
}

impl Evaluator<'_> {
    /// Returns true when the whole query is an instant query.
    pub(crate) fn instant_query(&self) -> bool {
        self.query.is_instant()
    }

    /// Evaluates an instant-vector, scalar or string expression at every step of `grid`.
    /// The result's samples are counted as held; callers release them when done.
    pub(crate) fn eval(&mut self, expr: &Expr, grid: Grid) -> Result<StepValues, PromqlError> {
        self.guard.check(EVALUATION)?;
        let value = if grid.steps() > 1 && self.invariant.contains(&expr_key(expr)) {
            self.eval_once_and_repeat(expr, grid)?
        } else {
            self.eval_node(expr, grid)?
        };
        self.samples.hold(value.sample_count())?;
        Ok(value)
    }

    fn eval_node(&mut self, expr: &Expr, grid: Grid) -> Result<StepValues, PromqlError> {
        match expr {
            Expr::Aggregate(aggregate) => self.eval_aggregate(aggregate, grid),
            Expr::Unary(unary) => {
                let value = self.eval(&unary.expr, grid)?;
                self.samples.release(value.sample_count());
                Ok(negate(value))
            }
            Expr::Binary(binary) => self.eval_binary(binary, grid),
            Expr::Paren(paren) => {
                let value = self.eval(&paren.expr, grid)?;
                self.samples.release(value.sample_count());
                Ok(value)
            }
            Expr::NumberLiteral(number) => Ok(StepValues::Scalar(vec![number.val; grid.steps()])),
            Expr::StringLiteral(string) => Ok(StepValues::String(string.val.clone())),
            Expr::VectorSelector(selector) => Ok(StepValues::Vector(
                self.eval_vector_selector(selector, grid)?,
            )),
            Expr::Call(call) => self.eval_call(call, grid),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => Err(PromqlError::Internal(
                "a range vector was evaluated as an instant expression".to_owned(),
            )),
            Expr::Extension(_) => Err(PromqlError::Internal(
                "extension expressions are not supported".to_owned(),
            )),
        }
    }

    /// Evaluates a step-invariant expression at the grid's first step and repeats the
    /// value at every step (Prometheus's `StepInvariantExpr`).
    fn eval_once_and_repeat(&mut self, expr: &Expr, grid: Grid) -> Result<StepValues, PromqlError> {
        let once = Grid {
            start: grid.start,
            end: grid.start,
            step: grid.step,
        };
        let value = self.eval(expr, once)?;
        self.samples.release(value.sample_count());
        Ok(match value {
            StepValues::Scalar(values) => {
                StepValues::Scalar(vec![
                    values.first().copied().unwrap_or(f64::NAN);
                    grid.steps()
                ])
            }
            StepValues::Vector(series) => StepValues::Vector(
                series
                    .into_iter()
                    .filter_map(|series| {
                        let value = series.floats.first()?.f;
                        Some(Series {
                            floats: grid.times().map(|t| FPoint { t, f: value }).collect(),
                            ..series
                        })
                    })
                    .collect(),
            ),
            StepValues::String(string) => StepValues::String(string),
        })
    }

    /// Evaluates a range-vector expression (a matrix selector or a subquery, possibly in
    /// parentheses) for the steps of `grid`.
    pub(crate) fn eval_range(
        &mut self,
        expr: &Expr,
        grid: Grid,
    ) -> Result<RangeVector, PromqlError> {
        self.guard.check(EVALUATION)?;
        match unwrap_parens(expr) {
            Expr::MatrixSelector(matrix) => self.eval_matrix_selector(matrix),
            Expr::Subquery(subquery) => self.eval_subquery(subquery, grid),
            other => Err(PromqlError::Internal(format!(
                "expected a range vector, got {}",
                other.value_type()
            ))),
        }
    }

    /// Evaluates an instant vector selector: at each step, the latest sample within the
    /// lookback window, unless it is a stale marker. Each series is decoded once, straight
    /// from its chunks, as the steps advance.
    fn eval_vector_selector(
        &mut self,
        selector: &VectorSelector,
        grid: Grid,
    ) -> Result<Vec<Series>, PromqlError> {
        let data = self.data;
        let offset = offset_ms(&selector.offset);
        let at = at_ms(&selector.at, self.query);
        let lookback = self.lookback_delta_ms;
        let mut out = Vec::new();
        for stored in data.series(selector) {
            self.guard.check(EVALUATION)?;
            // Reference times only grow along the grid, so one pass over the samples serves
            // every step: `latest` is the last sample at or before the reference.
            let mut samples = stored.samples();
            let mut pending = samples.next();
            let mut latest: Option<(i64, f64)> = None;
            let floats: Vec<FPoint> = grid
                .times()
                .filter_map(|ts| {
                    let reference = at.unwrap_or(ts) - offset;
                    while let Some(sample) = pending.filter(|sample| sample.0 <= reference) {
                        latest = Some(sample);
                        pending = samples.next();
                    }
                    let (t, f) = latest?;
                    (t > reference - lookback && !is_stale_nan(f)).then_some(FPoint { t: ts, f })
                })
                .collect();
            if let Some(error) = samples.error() {
                return Err(stored.corrupt(error).into());
            }
            self.samples.read(floats.len());
            if !floats.is_empty() {
                out.push(Series {
                    metric: stored.labels.clone(),
                    floats,
                    drop_name: false,
                });
            }
        }
        Ok(out)
    }

    /// Appends the samples an instant vector selector shows at `ts`, each with its own
    /// timestamp (what functions such as `timestamp()` receive). The selection is decoded
    /// once, on the first call, and looked up by binary search afterwards.
    pub(crate) fn selector_samples_at(
        &mut self,
        selector: &VectorSelector,
        ts: i64,
        out: &mut Vec<Sample>,
    ) -> Result<(), PromqlError> {
        out.clear();
        let data = self.data;
        let stored = data.series(selector);
        let key = selector_key(selector);
        let decoded = match self.decoded.entry(key) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert(
                stored
                    .iter()
                    .map(|series| series.decode(|_| true))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let reference = at_ms(&selector.at, self.query).unwrap_or(ts) - offset_ms(&selector.offset);
        for (series, points) in stored.iter().zip(decoded.iter()) {
            if let Some(found) = lookup(points, reference, self.lookback_delta_ms) {
                out.push(Sample {
                    metric: series.labels.clone(),
                    t: found.t,
                    f: found.f,
                    drop_name: false,
                });
            }
        }
        self.samples.read(out.len());
        Ok(())
    }

    /// Returns the points of a matrix selector's series (stale markers removed), decoded
    /// series by series from their chunks.
    fn eval_matrix_selector(
        &mut self,
        matrix: &MatrixSelector,
    ) -> Result<RangeVector, PromqlError> {
        let data = self.data;
        let mut series = Vec::new();
        for stored in data.series(&matrix.vs) {
            self.guard.check(EVALUATION)?;
            let floats = stored.decode(|point| !is_stale_nan(point.f))?;
            if !floats.is_empty() {
                series.push(Series {
                    metric: stored.labels.clone(),
                    floats,
                    drop_name: false,
                });
            }
        }
        Ok(RangeVector {
            series,
            range: duration_ms(&matrix.range),
            offset: offset_ms(&matrix.vs.offset),
            at: at_ms(&matrix.vs.at, self.query),
            held: 0,
        })
    }

    /// Evaluates a subquery's inner expression on its own grid: steps at absolute
    /// multiples of the subquery step, from just after `start - offset - range` to the
    /// (aligned) end minus the offset, or around the `@` time.
    fn eval_subquery(
        &mut self,
        subquery: &SubqueryExpr,
        grid: Grid,
    ) -> Result<RangeVector, PromqlError> {
        let offset = offset_ms(&subquery.offset);
        let range = duration_ms(&subquery.range);
        let step = subquery
            .step
            .as_ref()
            .map_or(DEFAULT_SUBQUERY_STEP_MS, duration_ms);
        if step <= 0 {
            return Err(PromqlError::Execution(
                "subquery step must be positive".to_owned(),
            ));
        }
        let at = at_ms(&subquery.at, self.query);
        let (outer_start, outer_end) = match at {
            Some(at) => (at, at),
            None => (grid.start, grid.last()),
        };
        let bound = outer_start - offset - range;
        let mut start = step * (bound / step);
        if start <= bound {
            start += step;
        }
        let inner = Grid {
            start,
            end: outer_end - offset,
            step,
        };
        let value = self.eval(&subquery.expr, inner)?;
        let held = value.sample_count();
        let series = match value {
            StepValues::Vector(series) => series,
            StepValues::Scalar(values) => vec![Series {
                metric: norn_model::Labels::default(),
                floats: inner
                    .times()
                    .zip(values)
                    .map(|(t, f)| FPoint { t, f })
                    .collect(),
                drop_name: false,
            }],
            StepValues::String(_) => {
                return Err(PromqlError::Internal("a subquery over a string".to_owned()));
            }
        };
        Ok(RangeVector {
            series,
            range,
            offset,
            at,
            held,
        })
    }
}

/// Returns the sample an instant selector sees at `reference`: the latest one at or before
/// it and after `reference - lookback` (left-open), unless that is a stale marker.
pub(crate) fn lookup(samples: &[FPoint], reference: i64, lookback_delta_ms: i64) -> Option<FPoint> {
    let after = samples.partition_point(|point| point.t <= reference);
    let found = *samples.get(after.checked_sub(1)?)?;
    if found.t <= reference - lookback_delta_ms || is_stale_nan(found.f) {
        return None;
    }
    Some(found)
}

/// Unary minus: negates values; vectors lose their metric name.
fn negate(value: StepValues) -> StepValues {
    match value {
        StepValues::Scalar(values) => StepValues::Scalar(values.into_iter().map(|v| -v).collect()),
        StepValues::Vector(series) => StepValues::Vector(
            series
                .into_iter()
                .map(|mut series| {
                    for point in &mut series.floats {
                        point.f = -point.f;
                    }
                    series.drop_name = true;
                    series
                })
                .collect(),
        ),
        StepValues::String(string) => StepValues::String(string),
    }
}
