//! Parsing, through the `promql-parser` crate (GreptimeDB's port of Prometheus's grammar),
//! with the checks Prometheus adds on top: experimental functions (and the experimental
//! aggregations `limitk`/`limit_ratio`) are refused unless enabled, with Prometheus's
//! messages, and every error is shaped as Prometheus's `parse error: …`.

use promql_parser::parser::token::{T_LIMIT_RATIO, T_LIMITK};
use promql_parser::parser::{Expr, VectorMatchFillValues};

use crate::error::PromqlError;

mod go_strings;

pub(crate) use go_strings::is_invalid_utf8_marker;

/// Functions Prometheus marks `Experimental: true` (promql/parser/functions.go). The
/// parser crate carries its own flag too; either one gates a function.
const EXPERIMENTAL_FUNCTIONS: &[&str] = &[
    "double_exponential_smoothing",
    "end",
    "histogram_quantiles",
    "info",
    "mad_over_time",
    "max_of",
    "min_of",
    "range",
    "sort_by_label",
    "sort_by_label_desc",
    "start",
    "start_timestamp",
    "step",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
];

/// Parses `query` into an expression tree. Experimental functions are refused unless
/// `experimental_functions` is set, with Prometheus's message.
pub fn parse(query: &str, experimental_functions: bool) -> Result<Expr, PromqlError> {
    let expr = promql_parser::parser::parse(&go_strings::rewrite_invalid_literals(query))
        .map_err(|message| PromqlError::Parse(format!("parse error: {message}")))?;
    if !experimental_functions && let Some(refusal) = first_experimental_use(&expr) {
        let position = refusal
            .needle
            .and_then(|needle| position_of(query, needle))
            .map(|(line, column)| format!("{line}:{column}: "))
            .unwrap_or_default();
        return Err(PromqlError::Parse(format!(
            "{position}parse error: {}",
            refusal.message
        )));
    }
    Ok(expr)
}

/// Why a query needs the experimental-functions flag.
struct Refusal<'a> {
    /// Prometheus's message.
    message: String,
    /// Text to look for in the query to report a position.
    needle: Option<&'a str>,
}

/// Returns the first use of an experimental function, aggregation or modifier, in
/// evaluation order.
fn first_experimental_use(expr: &Expr) -> Option<Refusal<'_>> {
    match expr {
        Expr::Aggregate(aggregate) => {
            let op = aggregate.op.id();
            if op == T_LIMITK || op == T_LIMIT_RATIO {
                return Some(Refusal {
                    message: format!(
                        "{}() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
                        aggregate.op
                    ),
                    needle: None,
                });
            }
            aggregate
                .param
                .as_deref()
                .and_then(first_experimental_use)
                .or_else(|| first_experimental_use(&aggregate.expr))
        }
        Expr::Unary(unary) => first_experimental_use(&unary.expr),
        Expr::Binary(binary) => {
            let fills = binary
                .modifier
                .as_ref()
                .map(|modifier| &modifier.fill_values);
            if fills.is_some_and(|fills| *fills != VectorMatchFillValues::default()) {
                return Some(Refusal {
                    message: "binop fill modifiers are experimental and not enabled".to_owned(),
                    needle: None,
                });
            }
            first_experimental_use(&binary.lhs).or_else(|| first_experimental_use(&binary.rhs))
        }
        Expr::Paren(paren) => first_experimental_use(&paren.expr),
        Expr::Subquery(subquery) => first_experimental_use(&subquery.expr),
        Expr::Call(call) => {
            let name = call.func.name;
            if call.func.experimental || EXPERIMENTAL_FUNCTIONS.contains(&name) {
                return Some(Refusal {
                    message: format!("function {name:?} is not enabled"),
                    needle: Some(name),
                });
            }
            call.args
                .args
                .iter()
                .find_map(|arg| first_experimental_use(arg))
        }
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::Extension(_) => None,
    }
}

/// Returns the 1-based line and column of the first call of `function` in `query`
/// (the name followed by an opening parenthesis), as Prometheus reports positions.
fn position_of(query: &str, function: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(found) = query[from..].find(function) {
        let start = from + found;
        let end = start + function.len();
        let preceded_by_word = query[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let followed_by_paren = query[end..].trim_start().starts_with('(');
        if !preceded_by_word && followed_by_paren {
            let before = &query[..start];
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |index| index + 1);
            let column = query[line_start..start].chars().count() + 1;
            return Some((line, column));
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<Expr, PromqlError>) -> String {
        match result {
            Err(PromqlError::Parse(message)) => message,
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn experimental_functions_are_refused_unless_enabled() {
        assert_eq!(
            message(parse("mad_over_time(foo[5m])", false)),
            r#"1:1: parse error: function "mad_over_time" is not enabled"#
        );
        assert_eq!(
            message(parse("1 + sort_by_label(foo, \"a\")", false)),
            r#"1:5: parse error: function "sort_by_label" is not enabled"#
        );
        assert!(parse("mad_over_time(foo[5m])", true).is_ok());
        assert!(parse("rate(foo[5m])", false).is_ok());
    }

    #[test]
    fn experimental_aggregations_are_refused_unless_enabled() {
        assert_eq!(
            message(parse("limitk(1, foo)", false)),
            "parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions"
        );
        assert!(message(parse("sum(limit_ratio(0.5, foo))", false)).contains("limit_ratio()"));
        assert!(parse("limitk(1, foo)", true).is_ok());
        assert_eq!(
            message(parse("a + fill(0) b", false)),
            "parse error: binop fill modifiers are experimental and not enabled"
        );
        assert!(parse("a + fill(0) b", true).is_ok());
    }

    #[test]
    fn parser_errors_are_shaped_like_prometheus() {
        assert_eq!(
            message(parse("rate(foo)", false)),
            "parse error: expected type matrix in call to function 'rate', got vector"
        );
    }
}
