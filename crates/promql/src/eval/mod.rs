//! The evaluator: walks the expression tree over the query's time grid with Prometheus
//! 3.x semantics.
//!
//! - `plan`: what each selector needs from storage, the concurrent fetch, and which
//!   subtrees are step-invariant.
//! - `grid`: the grid of evaluation times and the shapes values take on it.
//! - `evaluator`: the tree walk (selectors, lookback and staleness, `offset`/`@`,
//!   subqueries, literals, unary minus).
//! - `call`, `binary`: function calls and aggregations, binary operators and vector
//!   matching.
//! - `per_series`: range functions (`rate`, `*_over_time`, …) evaluated series by series.
//! - `fast_hash`: the hasher of the evaluator's per-step maps.
//! - `result`: delayed name removal and the shape of the final value.

mod binary;
mod call;
mod evaluator;
mod fast_hash;
mod grid;
mod per_series;
mod plan;
mod result;
#[cfg(test)]
mod tests;

use promql_parser::parser::Expr;
use promql_parser::parser::value::ValueType;

use crate::annotations::Annotations;
use crate::engine::{Guard, QueryRange, QueryResult, QueryStats};
use crate::error::PromqlError;
use crate::queryable::Queryable;

use self::evaluator::Evaluator;
use self::grid::{Grid, SampleTracker};

/// Fetches what `expr`'s selectors need from `queryable` and evaluates `expr` over `range`.
pub(crate) async fn evaluate(
    queryable: &dyn Queryable,
    expr: &Expr,
    range: QueryRange,
    lookback_delta_ms: i64,
    guard: &Guard,
) -> Result<QueryResult, PromqlError> {
    guard.check("query preparation")?;
    let value_type = expr.value_type();
    if !range.is_instant() && !matches!(value_type, ValueType::Vector | ValueType::Scalar) {
        return Err(PromqlError::BadData(format!(
            "invalid expression type {:?} for range query, must be Scalar or instant Vector",
            documented_type(value_type)
        )));
    }
    let data = plan::prepare(queryable, expr, range, lookback_delta_ms, guard).await?;
    let invariant = plan::step_invariant_nodes(expr);
    let mut evaluator = Evaluator {
        data: &data,
        query: range,
        lookback_delta_ms,
        invariant: &invariant,
        guard,
        samples: SampleTracker::new(guard.max_samples),
        annotations: Annotations::new(),
        decoded: Default::default(),
    };
    let grid = if range.is_instant() {
        Grid::single(range.start_ms)
    } else {
        Grid {
            start: range.start_ms,
            end: range.end_ms,
            step: range.step_ms,
        }
    };
    let value = if value_type == ValueType::Matrix {
        let range_vector = evaluator.eval_range(expr, grid)?;
        result::instant_matrix(range_vector, range.start_ms)?
    } else {
        let value = evaluator.eval(expr, grid)?;
        if range.is_instant() {
            result::instant_value(value, range.start_ms)?
        } else {
            result::range_value(value, grid)?
        }
    };
    guard.check("expression evaluation")?;
    Ok(QueryResult {
        value,
        annotations: evaluator.annotations,
        stats: QueryStats {
            total_samples: evaluator.samples.total(),
            peak_samples: evaluator.samples.peak(),
            series_fetched: data.series_count() as u64,
        },
    })
}

/// Prometheus's documented name of a value type (in error messages).
fn documented_type(value_type: ValueType) -> &'static str {
    match value_type {
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
    }
}
