//! Function calls and aggregations: arguments are evaluated over the whole grid first,
//! then [`functions::call`] / [`aggregate::aggregate`] run once per step with that step's
//! arguments, and their outputs are assembled back into series.

use std::borrow::Cow;

use promql_parser::parser::token::T_COUNT_VALUES;
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{AggregateExpr, Call, Expr, LabelModifier, VectorSelector};

use crate::aggregate::{self, AggParam, AggregateCall, Grouping, SeriesGroups, StepOutput};
use crate::error::PromqlError;
use crate::functions::{self, FnArg, FunctionCall, Window};
use crate::value::{Sample, Series};

use super::evaluator::{EVALUATION, Evaluator};
use super::grid::{
    Grid, RangeVector, SeriesBuilder, StepReader, StepValues, point_count, window_slice,
};
use super::per_series::{PER_SERIES_RANGE_FUNCTIONS, PlainArg};
use super::plan::{QUERY_CONSTANT_FUNCTIONS, unwrap_parens};

/// Functions that sort their input (pointless, and warned about, over a range).
const SORT_FUNCTIONS: &[&str] = &["sort", "sort_desc", "sort_by_label", "sort_by_label_desc"];

/// Where one argument's value at each step comes from.
enum ArgSource<'e> {
    /// A string, the same at every step.
    String(String),
    /// A scalar per step.
    Scalar(Vec<f64>),
    /// An instant vector evaluated over the grid.
    Steps {
        series: Vec<Series>,
        reader: StepReader,
    },
    /// A plain vector selector, read at each step with the samples' own timestamps.
    Selector(&'e VectorSelector),
    /// A range vector, windowed at each step.
    Range(RangeWindows),
}

impl ArgSource<'_> {
    /// Returns the samples this source holds for the whole call.
    fn held(&self) -> usize {
        match self {
            ArgSource::Scalar(values) => values.len(),
            ArgSource::Steps { series, .. } => point_count(series),
            ArgSource::Range(windows) => windows.range.held,
            ArgSource::String(_) | ArgSource::Selector(_) => 0,
        }
    }
}

/// A range vector and reusable buffers holding its window at the current step: the series
/// with points in the window come first (`active` of them).
struct RangeWindows {
    range: RangeVector,
    scratch: Vec<Series>,
    source: Vec<usize>,
    active: usize,
    window: Window,
}

impl RangeWindows {
    fn new(range: RangeVector) -> Self {
        Self {
            range,
            scratch: Vec::new(),
            source: Vec::new(),
            active: 0,
            window: Window {
                start_ms: 0,
                end_ms: 0,
            },
        }
    }

    /// Fills the buffers with the window at `ts`; returns the number of points in it.
    fn fill(&mut self, ts: i64) -> usize {
        if self.scratch.len() != self.range.series.len() {
            // First step: one buffer per series (built here, not in `new`, as the
            // series-by-series path never needs them).
            self.scratch = self
                .range
                .series
                .iter()
                .map(|series| Series {
                    metric: series.metric.clone(),
                    floats: Vec::new(),
                    drop_name: series.drop_name,
                })
                .collect();
            self.source = (0..self.range.series.len()).collect();
        }
        self.window = self.range.window(ts);
        let mut points = 0;
        for (slot, &source) in self.scratch.iter_mut().zip(&self.source) {
            slot.floats.clear();
            if let Some(series) = self.range.series.get(source) {
                slot.floats
                    .extend_from_slice(window_slice(&series.floats, self.window));
            }
            points += slot.floats.len();
        }
        let mut active = 0;
        for index in 0..self.scratch.len() {
            if !self.scratch[index].floats.is_empty() {
                self.scratch.swap(index, active);
                self.source.swap(index, active);
                active += 1;
            }
        }
        self.active = active;
        points
    }
}

/// A per-step source of an aggregation's parameter.
enum ParamSource<'e> {
    None,
    Number(Vec<f64>),
    String(Cow<'e, str>),
}

impl Evaluator<'_> {
    /// Evaluates a function call over `grid`.
    pub(crate) fn eval_call(&mut self, call: &Call, grid: Grid) -> Result<StepValues, PromqlError> {
        let name = call.func.name;
        if QUERY_CONSTANT_FUNCTIONS.contains(&name) {
            let value = self.query_constant(name);
            return Ok(StepValues::Scalar(vec![value; grid.steps()]));
        }
        if SORT_FUNCTIONS.contains(&name) && grid.start != grid.end {
            self.annotations.warn(
                "sort is ineffective for range queries since results are always ordered by labels",
            );
        }
        let mut sources = Vec::with_capacity(call.args.args.len());
        for arg in &call.args.args {
            sources.push(self.arg_source(arg, grid)?);
        }
        let outcome = self.call_per_step(call, grid, &mut sources);
        for source in &sources {
            self.samples.release(source.held());
        }
        outcome
    }

    fn call_per_step(
        &mut self,
        call: &Call,
        grid: Grid,
        sources: &mut [ArgSource<'_>],
    ) -> Result<StepValues, PromqlError> {
        if grid.steps() > 1 && PER_SERIES_RANGE_FUNCTIONS.contains(&call.func.name) {
            let mut range = None;
            let mut plain = Vec::with_capacity(sources.len());
            for (position, source) in sources.iter().enumerate() {
                match source {
                    ArgSource::Range(windows) if range.is_none() => {
                        range = Some((&windows.range, position));
                    }
                    ArgSource::Scalar(values) => plain.push(PlainArg::Scalar(values)),
                    ArgSource::String(text) => plain.push(PlainArg::String(text)),
                    _ => {
                        range = None;
                        break;
                    }
                }
            }
            if let Some((range, position)) = range {
                return self.call_per_series(call, grid, range, position, &plain);
            }
        }
        let returns_scalar = call.func.return_type == ValueType::Scalar;
        let instant_query = self.instant_query();
        let mut vectors: Vec<Vec<Sample>> = sources.iter().map(|_| Vec::new()).collect();
        let mut gathered = Vec::new();
        let mut builder = SeriesBuilder::new(grid);
        let mut scalars = Vec::new();
        for (index, ts) in grid.times().enumerate() {
            self.guard.check(EVALUATION)?;
            let mut window_points = 0;
            for (source, vector) in sources.iter_mut().zip(vectors.iter_mut()) {
                match source {
                    ArgSource::Steps { series, reader } => {
                        reader.read(series, ts, &mut gathered);
                        vector.clear();
                        vector.extend(gathered.iter().filter_map(|&(at, f)| {
                            let series = series.get(at)?;
                            Some(Sample {
                                metric: series.metric.clone(),
                                t: ts,
                                f,
                                drop_name: series.drop_name,
                            })
                        }));
                    }
                    ArgSource::Selector(selector) => {
                        self.selector_samples_at(selector, ts, vector)?;
                    }
                    ArgSource::Range(windows) => window_points += windows.fill(ts),
                    ArgSource::String(_) | ArgSource::Scalar(_) => {}
                }
            }
            self.samples.read(window_points);
            self.samples.hold(window_points)?;
            let args = sources
                .iter()
                .zip(&vectors)
                .map(|(source, vector)| match source {
                    ArgSource::String(string) => FnArg::String(string),
                    ArgSource::Scalar(values) => {
                        FnArg::Scalar(values.get(index).copied().unwrap_or(f64::NAN))
                    }
                    ArgSource::Steps { .. } | ArgSource::Selector(_) => FnArg::Vector(vector),
                    ArgSource::Range(windows) => FnArg::Matrix {
                        series: &windows.scratch[..windows.active],
                        window: windows.window,
                    },
                })
                .collect();
            let output = functions::call(FunctionCall {
                name: call.func.name,
                args,
                arg_exprs: &call.args.args,
                ts,
                instant_query,
                annotations: &mut self.annotations,
            })?;
            self.samples.release(window_points);
            if returns_scalar {
                scalars.push(output.first().map_or(f64::NAN, |sample| sample.f));
                continue;
            }
            for sample in output {
                let slot = builder.slot_owned(sample.metric, sample.drop_name);
                builder.push(slot, ts, sample.f)?;
            }
        }
        if returns_scalar {
            Ok(StepValues::Scalar(scalars))
        } else {
            Ok(StepValues::Vector(builder.finish()))
        }
    }

    /// Evaluates one argument into the source its per-step values come from.
    fn arg_source<'e>(&mut self, arg: &'e Expr, grid: Grid) -> Result<ArgSource<'e>, PromqlError> {
        let arg = unwrap_parens(arg);
        Ok(match arg {
            Expr::StringLiteral(string) => ArgSource::String(string.val.clone()),
            Expr::VectorSelector(selector) => ArgSource::Selector(selector),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                ArgSource::Range(RangeWindows::new(self.eval_range(arg, grid)?))
            }
            _ => match self.eval(arg, grid)? {
                StepValues::Scalar(values) => ArgSource::Scalar(values),
                StepValues::String(string) => ArgSource::String(string),
                StepValues::Vector(series) => ArgSource::Steps {
                    reader: StepReader::new(&series),
                    series,
                },
            },
        })
    }

    /// Returns the value of `start()`, `end()`, `range()` or `step()` (seconds).
    fn query_constant(&self, name: &str) -> f64 {
        let query = self.query;
        match name {
            "start" => query.start_ms as f64 / 1000.0,
            "end" => query.end_ms as f64 / 1000.0,
            "range" => (query.end_ms - query.start_ms) as f64 / 1000.0,
            _ if query.start_ms != query.end_ms => query.step_ms as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// Evaluates an aggregation over `grid`.
    pub(crate) fn eval_aggregate(
        &mut self,
        aggregate: &AggregateExpr,
        grid: Grid,
    ) -> Result<StepValues, PromqlError> {
        let (mut labels, without) = match &aggregate.modifier {
            None => (Vec::new(), false),
            Some(LabelModifier::Include(labels)) => (labels.labels.clone(), false),
            Some(LabelModifier::Exclude(labels)) => (labels.labels.clone(), true),
        };
        labels.sort();
        labels.dedup();
        let grouping = if without {
            Grouping::Without(&labels)
        } else {
            Grouping::By(&labels)
        };
        let param = match aggregate.param.as_deref().map(unwrap_parens) {
            None => ParamSource::None,
            Some(Expr::StringLiteral(string)) => ParamSource::String(Cow::Borrowed(&string.val)),
            Some(expr) => match self.eval(expr, grid)? {
                StepValues::Scalar(values) => ParamSource::Number(values),
                StepValues::String(string) => ParamSource::String(Cow::Owned(string)),
                StepValues::Vector(_) => {
                    return Err(PromqlError::Internal(
                        "an aggregation parameter evaluated to a vector".to_owned(),
                    ));
                }
            },
        };
        if aggregate.op.id() == T_COUNT_VALUES
            && let ParamSource::String(label) = &param
            && (label.is_empty() || crate::parse::is_invalid_utf8_marker(label))
        {
            return Err(PromqlError::Execution(format!(
                "invalid label name {label:?}"
            )));
        }
        let param_held = match &param {
            ParamSource::Number(values) => values.len(),
            ParamSource::None | ParamSource::String(_) => 0,
        };
        let StepValues::Vector(input) = self.eval(&aggregate.expr, grid)? else {
            return Err(PromqlError::Internal(
                "an aggregation over a scalar or string".to_owned(),
            ));
        };
        let outcome = self.aggregate_per_step(aggregate, grid, grouping, &param, &input);
        self.samples.release(point_count(&input) + param_held);
        outcome
    }

    fn aggregate_per_step(
        &mut self,
        aggregate: &AggregateExpr,
        grid: Grid,
        grouping: Grouping<'_>,
        param: &ParamSource<'_>,
        input: &[Series],
    ) -> Result<StepValues, PromqlError> {
        if grid.steps() > 1
            && let Some(groups) = SeriesGroups::new(
                aggregate.op,
                grouping,
                input
                    .iter()
                    .map(|series| (&series.metric, series.drop_name)),
            )?
        {
            return self.aggregate_stepwise(grid, groups, param, input);
        }
        let mut reader = StepReader::new(input);
        let mut gathered = Vec::new();
        let mut samples = Vec::new();
        let mut builder = SeriesBuilder::new(grid);
        for (index, ts) in grid.times().enumerate() {
            self.guard.check(EVALUATION)?;
            reader.read(input, ts, &mut gathered);
            samples.clear();
            samples.extend(gathered.iter().filter_map(|&(at, f)| {
                let series = input.get(at)?;
                Some(Sample {
                    metric: series.metric.clone(),
                    t: ts,
                    f,
                    drop_name: series.drop_name,
                })
            }));
            let param = match param {
                ParamSource::None => AggParam::None,
                ParamSource::Number(values) => {
                    AggParam::Number(values.get(index).copied().unwrap_or(f64::NAN))
                }
                ParamSource::String(string) => AggParam::String(string.as_ref()),
            };
            let output = aggregate::aggregate(AggregateCall {
                op: aggregate.op,
                grouping,
                param,
                input: &samples,
                ts,
                annotations: &mut self.annotations,
            })?;
            for sample in output {
                let slot = builder.slot_owned(sample.metric, sample.drop_name);
                builder.push(slot, ts, sample.f)?;
            }
        }
        Ok(StepValues::Vector(builder.finish()))
    }
    /// [`Self::aggregate_per_step`] with the input series' groups worked out once: each
    /// step hands `(series, value)` pairs to the aggregation and output series are found by
    /// group or series index instead of by labels.
    fn aggregate_stepwise(
        &mut self,
        grid: Grid,
        mut groups: SeriesGroups,
        param: &ParamSource<'_>,
        input: &[Series],
    ) -> Result<StepValues, PromqlError> {
        let mut reader = StepReader::new(input);
        let mut gathered = Vec::new();
        let mut builder = SeriesBuilder::new(grid);
        let mut group_slots: Vec<Option<usize>> = vec![None; groups.group_count()];
        let mut series_slots: Vec<Option<usize>> = vec![None; input.len()];
        for (index, ts) in grid.times().enumerate() {
            self.guard.check(EVALUATION)?;
            reader.read(input, ts, &mut gathered);
            let param = match param {
                ParamSource::None => AggParam::None,
                ParamSource::Number(values) => {
                    AggParam::Number(values.get(index).copied().unwrap_or(f64::NAN))
                }
                ParamSource::String(string) => AggParam::String(string.as_ref()),
            };
            match groups.aggregate_step(param, &gathered, &mut self.annotations)? {
                StepOutput::Groups(output) => {
                    for (group, f, drop_name) in output {
                        let slot = match group_slots.get(group).copied().flatten() {
                            Some(slot) => slot,
                            None => {
                                let slot = builder.slot(groups.group_labels(group), drop_name);
                                group_slots[group] = Some(slot);
                                slot
                            }
                        };
                        builder.push(slot, ts, f)?;
                    }
                }
                StepOutput::Positions(chosen) => {
                    for position in chosen {
                        let (series, f) = gathered[position];
                        let slot = match series_slots.get(series).copied().flatten() {
                            Some(slot) => slot,
                            None => {
                                let one = &input[series];
                                let slot = builder.slot(&one.metric, one.drop_name);
                                series_slots[series] = Some(slot);
                                slot
                            }
                        };
                        builder.push(slot, ts, f)?;
                    }
                }
            }
        }
        Ok(StepValues::Vector(builder.finish()))
    }
}
