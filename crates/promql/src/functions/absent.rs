//! `absent` and `absent_over_time`: a single sample of value 1 when the argument has no
//! data, labelled with what the argument's selector pinned down by equality matchers.

use norn_model::Labels;
use norn_model::labels::METRIC_NAME;
use promql_parser::label::MatchOp;
use promql_parser::parser::{Expr, VectorSelector};

use super::FunctionCall;
use super::common::{matrix_arg, output, vector_arg};
use crate::error::PromqlError;
use crate::value::Vector;

/// The labels an absent result carries: each label matched by exactly one `=` matcher
/// (and by no other matcher) of the selector, never `__name__`. Any other expression
/// gives no labels (Prometheus's `createLabelsForAbsentFunction`). Parentheses around
/// the argument do not count (Prometheus removes them before evaluating).
pub(crate) fn absent_labels(expression: Option<&Expr>) -> Result<Labels, PromqlError> {
    let mut expression = expression;
    while let Some(Expr::Paren(paren)) = expression {
        expression = Some(&*paren.expr);
    }
    let selector: &VectorSelector = match expression {
        Some(Expr::VectorSelector(selector)) => selector,
        Some(Expr::MatrixSelector(matrix)) => &matrix.vs,
        _ => return Ok(Labels::default()),
    };
    // Matchers in order: the first `=` on a name sets it; any later matcher on the same
    // name (or a first non-`=` one) removes it for good.
    let mut pinned: Vec<(&str, &str)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for matcher in &selector.matchers.matchers {
        let name = matcher.name.as_str();
        if name == METRIC_NAME {
            continue;
        }
        let first_equality = matches!(matcher.op, MatchOp::Equal) && !seen.contains(&name);
        pinned.retain(|(pinned_name, _)| *pinned_name != name);
        if first_equality {
            pinned.push((name, matcher.value.as_str()));
            seen.push(name);
        }
    }
    Labels::new(pinned).map_err(|error| PromqlError::Internal(format!("absent labels: {error}")))
}

/// `absent(v)`: nothing when `v` has a sample, else one sample of value 1.
pub(crate) fn absent(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    if !vector_arg(call, 0)?.is_empty() {
        return Ok(Vector::new());
    }
    let labels = absent_labels(call.arg_exprs.first().map(|expression| &**expression))?;
    Ok(vec![output(labels, call.ts, 1.0, false)])
}

/// `absent_over_time(v range-vector)`: nothing when any series has a point in the window,
/// else one sample of value 1.
pub(crate) fn absent_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let (series, _) = matrix_arg(call, 0)?;
    if series.iter().any(|one| !one.floats.is_empty()) {
        return Ok(Vector::new());
    }
    let labels = absent_labels(call.arg_exprs.first().map(|expression| &**expression))?;
    Ok(vec![output(labels, call.ts, 1.0, true)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_of(query: &str) -> Vec<(String, String)> {
        let parsed = promql_parser::parser::parse(query);
        let Ok(Expr::Call(call)) = parsed else {
            panic!("{query} should parse as a call");
        };
        let labels = absent_labels(call.args.args.first().map(|arg| &**arg));
        let Ok(labels) = labels else {
            panic!("labels of {query}");
        };
        labels
            .iter()
            .map(|label| (label.name.to_owned(), label.value.to_owned()))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn equality_matchers_become_labels() {
        assert_eq!(labels_of("absent(nonexistent)"), pairs(&[]));
        assert_eq!(
            labels_of(
                r#"absent(nonexistent{job="testjob", instance="testinstance", method=~".x"})"#
            ),
            pairs(&[("instance", "testinstance"), ("job", "testjob")])
        );
        assert_eq!(
            labels_of(r#"absent(nonexistent{job="testjob",job="testjob2",foo="bar"})"#),
            pairs(&[("foo", "bar")])
        );
        assert_eq!(
            labels_of(r#"absent(nonexistent{job="testjob",job=~"testjob2",foo="bar"})"#),
            pairs(&[("foo", "bar")])
        );
        assert_eq!(
            labels_of(r#"absent(nonexistent{job="a",job="b",job="c",foo="bar"})"#),
            pairs(&[("foo", "bar")])
        );
        assert_eq!(
            labels_of(
                r#"absent_over_time(x{handler="/foo", instance="127.0.0.1", handler="/bar"}[5m])"#
            ),
            pairs(&[("instance", "127.0.0.1")])
        );
        assert_eq!(
            labels_of(r#"absent(sum(nonexistent{job="x"}))"#),
            pairs(&[])
        );
        assert_eq!(
            labels_of(r#"absent_over_time(x{job="x"}[5m:1m])"#),
            pairs(&[])
        );
    }
}
