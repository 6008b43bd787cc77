//! PromQL's aggregation operators (`sum`, `topk`, `quantile`, `count_values`, `limitk`, …),
//! evaluated one step at a time over the step's input vector, with Prometheus 3's semantics
//! (`promql/engine.go`: `aggregation`, `aggregationK`, `aggregationCountValues`).
//!
//! - `grouping`: which output group each input sample belongs to (`by`/`without`).
//! - `numeric`: the reductions to one new sample per group (`sum` … `quantile`).
//! - `select`: the selections of input samples (`topk`, `bottomk`, `limitk`, `limit_ratio`).
//! - `count_values`: counting samples per value.
//! - `stepwise`: the same aggregations over many steps of fixed input series, with each
//!   series' group worked out once (range queries).
//! - `kahan`, `goheap`, `goformat`: compensated summation, Go's heap/sort steps (for the
//!   same tie-breaking as Prometheus) and Go's float spellings.

mod count_values;
mod goformat;
mod goheap;
mod grouping;
mod kahan;
mod numeric;
mod select;
mod stepwise;
#[cfg(test)]
mod tests;

use promql_parser::parser::token::{self, TokenType};

use crate::annotations::Annotations;
use crate::error::PromqlError;
use crate::value::{Sample, Vector};

use numeric::Reduction;
use select::Selection;
pub(crate) use stepwise::{SeriesGroups, StepOutput};

/// How output groups are formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grouping<'a> {
    /// `by (labels)`; with no clause at all, `By(&[])` (everything in one group).
    By(&'a [String]),
    /// `without (labels)`; the metric name is always removed too.
    Without(&'a [String]),
}

/// The evaluated parameter of an aggregation, if it has one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum AggParam<'a> {
    /// No parameter (`sum`, `avg`, …).
    None,
    /// A number (`topk`'s k, `quantile`'s φ, `limit_ratio`'s ratio) at this step.
    Number(f64),
    /// A label name (`count_values`).
    String(&'a str),
}

/// An aggregation at one step.
pub(crate) struct AggregateCall<'a> {
    /// The operator (`token::T_SUM`, `token::T_TOPK`, …).
    pub op: TokenType,
    /// The grouping clause.
    pub grouping: Grouping<'a>,
    /// The parameter.
    pub param: AggParam<'a>,
    /// The input vector at this step.
    pub input: &'a [Sample],
    /// The step's timestamp in milliseconds.
    pub ts: i64,
    /// Where warnings and infos go.
    pub annotations: &'a mut Annotations,
}

/// Evaluates one aggregation at one step. Output samples carry `t = call.ts`.
///
/// `sum`, `avg`, `count`, `min`, `max`, `group`, `stddev`, `stdvar`, `quantile` and
/// `count_values` output one new sample per group, labelled with the group's labels;
/// `topk`, `bottomk`, `limitk` and `limit_ratio` output the chosen input samples unchanged.
pub(crate) fn aggregate(call: AggregateCall<'_>) -> Result<Vector, PromqlError> {
    let AggregateCall {
        op,
        grouping,
        param,
        input,
        ts,
        annotations,
    } = call;
    let reduction = match op.id() {
        token::T_SUM => Some(Reduction::Sum),
        token::T_AVG => Some(Reduction::Avg),
        token::T_COUNT => Some(Reduction::Count),
        token::T_MIN => Some(Reduction::Min),
        token::T_MAX => Some(Reduction::Max),
        token::T_GROUP => Some(Reduction::Group),
        token::T_STDDEV => Some(Reduction::Stddev),
        token::T_STDVAR => Some(Reduction::Stdvar),
        token::T_QUANTILE => Some(Reduction::Quantile(number_param(op, param)?)),
        _ => None,
    };
    if let Some(reduction) = reduction {
        return numeric::reduce(reduction, grouping, input, ts, annotations);
    }
    let selection = match op.id() {
        token::T_TOPK => Selection::TopK,
        token::T_BOTTOMK => Selection::BottomK,
        token::T_LIMITK => Selection::LimitK,
        token::T_LIMIT_RATIO => Selection::LimitRatio,
        token::T_COUNT_VALUES => {
            let AggParam::String(value_label) = param else {
                return Err(PromqlError::Internal(format!(
                    "{op} needs a string parameter, got {param:?}"
                )));
            };
            return count_values::count_values(value_label, grouping, input, ts);
        }
        _ => {
            return Err(PromqlError::Internal(format!(
                "{op} is not an aggregation operator"
            )));
        }
    };
    let param = number_param(op, param)?;
    select::select(selection, param, grouping, input, ts, annotations)
}

/// Returns the numeric parameter `op` needs, or an internal error when the evaluator passed
/// something else (the parser only accepts a scalar there).
fn number_param(op: TokenType, param: AggParam<'_>) -> Result<f64, PromqlError> {
    match param {
        AggParam::Number(value) => Ok(value),
        other => Err(PromqlError::Internal(format!(
            "{op} needs a number parameter, got {other:?}"
        ))),
    }
}
