//! The `@` variants Prometheus's promqltest runs for every instant `eval`
//! (`atModifierTestCases`): every selector and subquery without an `@` gets `@ <eval time>`
//! (the inside of subqueries is left alone), and the query must give the same result when
//! evaluated at other times: -10t, 0, t/5, t and 10t (or -1s, 0, 1s when t is 0). Queries
//! using functions whose result depends on the evaluation time itself (`time()`,
//! `timestamp()`, the date functions, `predict_linear`, `start()`/`end()`/`range()`/`step()`)
//! get no variants.
//!
//! The rewritten query is printed with `promql-parser`'s `Display`, then re-parsed and
//! compared with the rewritten tree (up to matcher order and empty `by ()`/`ignoring ()`,
//! which `Display` normalises); a variant whose text does not round-trip is skipped, so a
//! printing limitation never shows up as an engine failure.

use std::time::{Duration, SystemTime};

use promql_parser::label::{Matcher as ParserMatcher, Matchers};
use promql_parser::parser::{AtModifier, BinModifier, Expr, LabelModifier, VectorSelector};

/// Functions whose result changes with the evaluation time even when their arguments do
/// not (Prometheus's `AtModifierUnsafeFunctions`).
const TIME_DEPENDENT_FUNCTIONS: [&str; 15] = [
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "end",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "range",
    "start",
    "step",
    "time",
    "timestamp",
];

/// Placeholder time printed in place of the real one, then replaced: `Display` cannot print
/// times before 1970.
const PLACEHOLDER_MS: i64 = 987_654_321_123;

/// One rewritten query and the time to evaluate it at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AtVariant {
    /// The query with `@` modifiers added.
    pub(crate) expr: String,
    /// Evaluation time, milliseconds.
    pub(crate) eval_ms: i64,
}

/// Returns the `@` variants of `query` evaluated at `ts_ms` (none when the query does not
/// parse, uses a time-dependent function, or cannot be printed faithfully).
pub(crate) fn at_modifier_variants(query: &str, ts_ms: i64) -> Vec<AtVariant> {
    let Ok(original) = crate::parse::parse(query, true) else {
        return Vec::new();
    };
    let (Some(placeholder), Some(real_time)) = (system_time(PLACEHOLDER_MS), system_time(ts_ms))
    else {
        return Vec::new();
    };
    let mut printed_tree = original.clone();
    if set_at_modifiers(&mut printed_tree, &placeholder) {
        return Vec::new();
    }
    let mut expected_tree = original;
    set_at_modifiers(&mut expected_tree, &real_time);
    let text = printed_tree
        .to_string()
        .replace(&format_seconds(PLACEHOLDER_MS), &format_seconds(ts_ms));
    let Ok(mut reparsed) = promql_parser::parser::parse(&text) else {
        return Vec::new();
    };
    normalize(&mut reparsed);
    normalize(&mut expected_tree);
    if reparsed != expected_tree {
        return Vec::new();
    }
    let eval_times: Vec<i64> = if ts_ms == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * ts_ms, 0, ts_ms / 5, ts_ms, 10 * ts_ms]
    };
    eval_times
        .into_iter()
        .map(|eval_ms| AtVariant {
            expr: text.clone(),
            eval_ms,
        })
        .collect()
}

fn system_time(ms: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(magnitude)
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// Seconds with three decimals, as `promql-parser` prints an `@` time.
fn format_seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let magnitude = ms.unsigned_abs();
    format!("@ {sign}{}.{:03}", magnitude / 1000, magnitude % 1000)
}

/// Rewrites what `Display` does not preserve but does not change the meaning: the order of
/// label matchers, `by ()` (no grouping) and `ignoring ()` (no exclusion).
fn normalize(expr: &mut Expr) {
    match expr {
        Expr::Aggregate(aggregate) => {
            if matches!(&aggregate.modifier, Some(LabelModifier::Include(labels)) if labels.labels.is_empty())
            {
                aggregate.modifier = None;
            }
            normalize(&mut aggregate.expr);
            if let Some(param) = aggregate.param.as_mut() {
                normalize(param);
            }
        }
        Expr::Unary(unary) => normalize(&mut unary.expr),
        Expr::Binary(binary) => {
            if let Some(modifier) = binary.modifier.as_mut()
                && matches!(&modifier.matching, Some(LabelModifier::Exclude(labels)) if labels.labels.is_empty())
            {
                modifier.matching = None;
            }
            if binary.modifier.as_ref() == Some(&BinModifier::default()) {
                binary.modifier = None;
            }
            normalize(&mut binary.lhs);
            normalize(&mut binary.rhs);
        }
        Expr::Paren(paren) => normalize(&mut paren.expr),
        Expr::Subquery(subquery) => normalize(&mut subquery.expr),
        Expr::VectorSelector(selector) => sort_matchers(selector),
        Expr::MatrixSelector(matrix) => sort_matchers(&mut matrix.vs),
        Expr::Call(call) => call.args.args.iter_mut().for_each(|arg| normalize(arg)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn sort_matchers(selector: &mut VectorSelector) {
    fn key(matcher: &ParserMatcher) -> (String, String, String) {
        (
            matcher.name.clone(),
            matcher.op.to_string(),
            matcher.value.clone(),
        )
    }
    let Matchers {
        matchers,
        or_matchers,
    } = &mut selector.matchers;
    matchers.sort_by_key(key);
    for group in or_matchers.iter_mut() {
        group.sort_by_key(key);
    }
    or_matchers.sort_by_key(|group| group.iter().map(key).collect::<Vec<_>>());
}

/// Adds `@ time` to every selector and subquery lacking one, outside subqueries. Returns
/// true when the query uses a time-dependent function (then it must not be varied).
fn set_at_modifiers(expr: &mut Expr, time: &SystemTime) -> bool {
    match expr {
        Expr::Aggregate(aggregate) => {
            let mut unsafe_found = set_at_modifiers(&mut aggregate.expr, time);
            if let Some(param) = aggregate.param.as_mut() {
                unsafe_found |= set_at_modifiers(param, time);
            }
            unsafe_found
        }
        Expr::Unary(unary) => set_at_modifiers(&mut unary.expr, time),
        Expr::Binary(binary) => {
            let left = set_at_modifiers(&mut binary.lhs, time);
            set_at_modifiers(&mut binary.rhs, time) || left
        }
        Expr::Paren(paren) => set_at_modifiers(&mut paren.expr, time),
        Expr::Subquery(subquery) => {
            if subquery.at.is_none() {
                subquery.at = Some(AtModifier::At(*time));
            }
            false
        }
        Expr::VectorSelector(selector) => {
            if selector.at.is_none() {
                selector.at = Some(AtModifier::At(*time));
            }
            false
        }
        Expr::MatrixSelector(matrix) => {
            if matrix.vs.at.is_none() {
                matrix.vs.at = Some(AtModifier::At(*time));
            }
            false
        }
        Expr::Call(call) => {
            let mut unsafe_found = TIME_DEPENDENT_FUNCTIONS.contains(&call.func.name);
            for arg in call.args.args.iter_mut() {
                unsafe_found |= set_at_modifiers(arg, time);
            }
            unsafe_found
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_at_to_selectors_outside_subqueries() {
        let variants = at_modifier_variants("sum(rate(a[5m])) + b offset 1m", 60_000);
        let times: Vec<i64> = variants.iter().map(|v| v.eval_ms).collect();
        assert_eq!(times, [-600_000, 0, 12_000, 60_000, 600_000]);
        let text = &variants[0].expr;
        assert!(text.contains("a[5m] @ 60.000"), "{text}");
        assert!(text.contains("b @ 60.000 offset 1m"), "{text}");

        let variants = at_modifier_variants("max_over_time(a[5m:1m]) + c @ 10", 0);
        assert_eq!(
            variants.iter().map(|v| v.eval_ms).collect::<Vec<_>>(),
            [-1000, 0, 1000]
        );
        let text = &variants[0].expr;
        assert!(text.contains("a[5m:1m] @ 0.000"), "{text}");
        assert!(text.contains("c @ 10.000"), "an existing @ is kept: {text}");
    }

    #[test]
    fn display_normalisations_do_not_prevent_variants() {
        for query in [
            r#"sum by () (m{b="1", a="2"})"#,
            r#"a + ignoring() b{z="1",y!="2"}"#,
            r#"absent(nonexistent{job="x", job="y", foo="bar"})"#,
        ] {
            assert_eq!(at_modifier_variants(query, 60_000).len(), 5, "{query}");
        }
    }

    #[test]
    fn negative_times_are_printed() {
        let variants = at_modifier_variants("a", -1500);
        assert!(
            variants[0].expr.contains("@ -1.500"),
            "{}",
            variants[0].expr
        );
    }

    #[test]
    fn time_dependent_queries_have_no_variants() {
        assert!(at_modifier_variants("time() - a", 60_000).is_empty());
        assert!(at_modifier_variants("timestamp(a)", 60_000).is_empty());
        assert!(at_modifier_variants("hour(a)", 60_000).is_empty());
        assert!(at_modifier_variants("not a query (", 60_000).is_empty());
        assert!(
            at_modifier_variants("1 + 2", 60_000).len() == 5,
            "literals are fine"
        );
    }
}
