//! PromQL's functions, evaluated one step at a time. The evaluator gathers each argument's
//! value at the step (a vector, a scalar, a string, or the window of points a range
//! selector covers) and calls [`call`]; the function returns the step's output vector.
//!
//! The families live in submodules: `rate` (rate, increase, delta, irate, idelta),
//! `over_time` (the `*_over_time` functions, changes, resets), `regression` (deriv,
//! predict_linear), `smoothing` (double_exponential_smoothing), `math` (element-wise
//! math, clamp, round, the scalar functions, timestamp), `time` (the calendar functions),
//! `labels` (label_replace, label_join), `sort`, `absent`, `histogram` (classic-bucket
//! histogram_quantile/quantiles/fraction; native-histogram functions see no input).

mod absent;
mod common;
mod histogram;
mod labels;
mod math;
mod over_time;
mod rate;
mod regression;
mod smoothing;
mod sort;
#[cfg(test)]
mod tests;
mod time;

use promql_parser::parser::Expr;

use crate::annotations::Annotations;
use crate::error::PromqlError;
use crate::value::{Sample, Series, Vector};

pub(crate) use rate::RateKernel;

/// The time window a range-vector argument covers at one step, in milliseconds: points `p`
/// with `start_ms < p.t <= end_ms` (Prometheus 3's left-open ranges). With `offset` and `@`
/// already applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Exclusive start.
    pub start_ms: i64,
    /// Inclusive end.
    pub end_ms: i64,
}

impl Window {
    /// Returns the window's length (the selector's range) in milliseconds.
    pub(crate) fn range_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

/// One evaluated argument of a function at one step.
#[derive(Debug)]
pub(crate) enum FnArg<'a> {
    /// An instant vector.
    Vector(&'a [Sample]),
    /// A scalar.
    Scalar(f64),
    /// A string literal.
    String(&'a str),
    /// A range vector: for each series, the points inside `window` (stale markers removed),
    /// series with no point in the window left out.
    Matrix {
        /// The series with their points in the window.
        series: &'a [Series],
        /// The window at this step.
        window: Window,
    },
}

/// A function call at one step.
pub(crate) struct FunctionCall<'a> {
    /// The function's name as written (`rate`, `label_replace`, …).
    pub name: &'a str,
    /// The evaluated arguments, in order (optional arguments that were not written are
    /// absent: e.g. `day_of_month()` has no argument and means `vector(time())`).
    pub args: Vec<FnArg<'a>>,
    /// The argument expressions as parsed (for `absent`/`absent_over_time`, which build
    /// labels from equality matchers, and for annotation messages naming a metric).
    pub arg_exprs: &'a [Box<Expr>],
    /// The step's timestamp in milliseconds.
    pub ts: i64,
    /// True when the whole query is an instant query (sort functions only sort then).
    pub instant_query: bool,
    /// Where warnings and infos go.
    pub annotations: &'a mut Annotations,
}

/// Evaluates one function call at one step. Output samples carry `t = call.ts`.
///
/// Name flags follow Prometheus 3 (delayed name removal): every function sets
/// `drop_name = true` except `last_over_time`/`first_over_time` (which keep the input's
/// flag), `label_replace`/`label_join` (the input's flag, or `false` when they write
/// `__name__`), the `sort*` functions (input unchanged), and `vector`, `absent` and the
/// argument-less calendar functions (new label sets without a name). `timestamp` drops the
/// name, as in Prometheus.
///
/// Functions whose result is a scalar (`time`, `pi`, `scalar`, and the experimental
/// `max_of`/`min_of`) answer with a vector of exactly one sample with empty labels whose
/// value is the scalar (Prometheus's convention for scalar results of `FunctionCall`).
/// `start`, `end`, `step` and `range` need the query's range, and `info` needs storage,
/// neither of which a call carries: the evaluator answers those itself.
pub(crate) fn call(mut call: FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let call = &mut call;
    match call.name {
        // Rates and differences over a range.
        "rate" => rate::extrapolated_rate(call, true, true),
        "increase" => rate::extrapolated_rate(call, true, false),
        "delta" => rate::extrapolated_rate(call, false, false),
        "irate" => rate::instant_value(call, true),
        "idelta" => rate::instant_value(call, false),
        "deriv" => regression::deriv(call),
        "predict_linear" => regression::predict_linear(call),
        "double_exponential_smoothing" => smoothing::double_exponential_smoothing(call),

        // Aggregations over time.
        "avg_over_time" => over_time::avg_over_time(call),
        "sum_over_time" => over_time::sum_over_time(call),
        "count_over_time" => over_time::count_over_time(call),
        "min_over_time" => over_time::min_over_time(call),
        "max_over_time" => over_time::max_over_time(call),
        "last_over_time" => over_time::last_over_time(call),
        "first_over_time" => over_time::first_over_time(call),
        "present_over_time" => over_time::present_over_time(call),
        "stddev_over_time" => over_time::stddev_over_time(call),
        "stdvar_over_time" => over_time::stdvar_over_time(call),
        "quantile_over_time" => over_time::quantile_over_time(call),
        "mad_over_time" => over_time::mad_over_time(call),
        "ts_of_min_over_time" => over_time::ts_of_min_over_time(call),
        "ts_of_max_over_time" => over_time::ts_of_max_over_time(call),
        "ts_of_first_over_time" => over_time::ts_of_first_over_time(call),
        "ts_of_last_over_time" => over_time::ts_of_last_over_time(call),
        "changes" => over_time::changes(call),
        "resets" => over_time::resets(call),
        "absent_over_time" => absent::absent_over_time(call),
        "absent" => absent::absent(call),

        // Scalars and element-wise math.
        "time" => Ok(common::scalar_output(call.ts, call.ts as f64 / 1000.0)),
        "pi" => Ok(common::scalar_output(call.ts, std::f64::consts::PI)),
        "scalar" => math::scalar(call),
        "vector" => math::vector(call),
        "max_of" => math::max_of(call),
        "min_of" => math::min_of(call),
        "timestamp" => math::timestamp(call),
        "start_timestamp" => math::start_timestamp(call),
        "round" => math::round(call),
        "clamp" => math::clamp(call),
        "clamp_min" => math::clamp_min(call),
        "clamp_max" => math::clamp_max(call),
        name if math::element_wise(name).is_some() => math::apply_element_wise(call),

        // Calendar functions.
        "minute" | "hour" | "day_of_week" | "day_of_month" | "day_of_year" | "days_in_month"
        | "month" | "year" => time::calendar(call),

        // Labels.
        "label_replace" => labels::label_replace(call),
        "label_join" => labels::label_join(call),

        // Ordering.
        "sort" => sort::sort(call, false),
        "sort_desc" => sort::sort(call, true),
        "sort_by_label" => sort::sort_by_label(call, false),
        "sort_by_label_desc" => sort::sort_by_label(call, true),

        // Histograms.
        "histogram_quantile" => histogram::histogram_quantile(call),
        "histogram_quantiles" => histogram::histogram_quantiles(call),
        "histogram_fraction" => histogram::histogram_fraction(call),
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => histogram::native_only(call),

        other => Err(PromqlError::Execution(format!(
            "function {other:?} is not supported"
        ))),
    }
}
