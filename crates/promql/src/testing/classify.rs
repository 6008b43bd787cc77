//! Which evals need native histograms. Norn stores floats only, so an eval is set apart
//! (neither passed nor failed) when its expected output holds a native histogram
//! (`{{…}}`), or when one of its query's selectors matches a series that held native
//! histograms when it was loaded (written in `{{…}}` notation, or converted from a classic
//! histogram by `load_with_nhcb`).

use norn_model::Labels;
use promql_parser::label::Matcher as ParserMatcher;
use promql_parser::parser::{Expr, VectorSelector};

use super::script::EvalCommand;
use super::store::MemStorage;

/// Returns why `command` needs native histograms, or `None` when it can be scored.
pub(crate) fn native_histogram_reason(command: &EvalCommand, store: &MemStorage) -> Option<String> {
    if command.expects_histograms() {
        return Some("expected output holds native histograms".to_owned());
    }
    let Ok(expr) = crate::parse::parse(&command.expr, true) else {
        return histogram_name_in_text(&command.expr, store);
    };
    let mut selectors = Vec::new();
    collect_selectors(&expr, &mut selectors);
    selectors.iter().find_map(|selector| {
        store
            .histogram_series()
            .find(|labels| selector_matches(selector, labels))
            .map(|labels| format!("selector {selector} matches native histogram series {labels}"))
    })
}

/// For a query `promql-parser` cannot read (syntax it does not know, such as the
/// histogram trim operators `</` and `>/`): is the metric name of a histogram series one of
/// the query's words?
fn histogram_name_in_text(query: &str, store: &MemStorage) -> Option<String> {
    let words: std::collections::BTreeSet<&str> = query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| !word.is_empty())
        .collect();
    store
        .histogram_series()
        .find(|labels| words.contains(labels.metric_name()))
        .map(|labels| {
            format!(
                "the query (which promql-parser cannot read) names native histogram series {labels}"
            )
        })
}

/// Collects every vector selector of `expr` (those inside range selectors too).
pub(crate) fn collect_selectors<'a>(expr: &'a Expr, selectors: &mut Vec<&'a VectorSelector>) {
    match expr {
        Expr::Aggregate(aggregate) => {
            collect_selectors(&aggregate.expr, selectors);
            if let Some(param) = &aggregate.param {
                collect_selectors(param, selectors);
            }
        }
        Expr::Unary(unary) => collect_selectors(&unary.expr, selectors),
        Expr::Binary(binary) => {
            collect_selectors(&binary.lhs, selectors);
            collect_selectors(&binary.rhs, selectors);
        }
        Expr::Paren(paren) => collect_selectors(&paren.expr, selectors),
        Expr::Subquery(subquery) => collect_selectors(&subquery.expr, selectors),
        Expr::VectorSelector(selector) => selectors.push(selector),
        Expr::MatrixSelector(matrix) => selectors.push(&matrix.vs),
        Expr::Call(call) => {
            for arg in &call.args.args {
                collect_selectors(arg, selectors);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Returns true when `selector` selects a series with `labels` (time ignored).
pub(crate) fn selector_matches(selector: &VectorSelector, labels: &Labels) -> bool {
    let matches_all = |matchers: &[ParserMatcher]| {
        matchers
            .iter()
            .all(|matcher| matcher.is_match(labels.get(&matcher.name)))
    };
    if selector
        .name
        .as_deref()
        .is_some_and(|name| name != labels.metric_name())
    {
        return false;
    }
    let matchers = &selector.matchers;
    if !matches_all(&matchers.matchers) {
        return false;
    }
    matchers.or_matchers.is_empty() || matchers.or_matchers.iter().any(|group| matches_all(group))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::script::Script;
    use crate::value::FPoint;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    fn selectors_of(query: &str) -> Vec<String> {
        let expr = promql_parser::parser::parse(query).unwrap();
        let mut selectors = Vec::new();
        collect_selectors(&expr, &mut selectors);
        selectors.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn collects_selectors_everywhere() {
        let found = selectors_of(
            r#"sum by (x) (rate(a[5m])) / on(x) group_left max_over_time(b{y="1"}[1m:10s]) + topk(scalar(c), -d) or label_replace(e, "a", "b", "c", "d")"#,
        );
        assert_eq!(found.len(), 5, "{found:?}");
    }

    #[test]
    fn selectors_match_names_matchers_and_or_groups() {
        let check = |query: &str, pairs: &[(&str, &str)]| {
            let expr = promql_parser::parser::parse(query).unwrap();
            let mut selectors = Vec::new();
            collect_selectors(&expr, &mut selectors);
            selector_matches(selectors[0], &labels(pairs))
        };
        assert!(check("m", &[("__name__", "m"), ("a", "1")]));
        assert!(!check("m", &[("__name__", "n")]));
        assert!(check(r#"m{a=~"1|2"}"#, &[("__name__", "m"), ("a", "2")]));
        assert!(!check(r#"m{a!="1"}"#, &[("__name__", "m"), ("a", "1")]));
        assert!(check(r#"{__name__=~"m.*"}"#, &[("__name__", "mx")]));
        assert!(check(r#"m{b=""}"#, &[("__name__", "m")]));
        assert!(check(r#"{a="1" or b="2"}"#, &[("b", "2")]));
        assert!(!check(r#"{a="1" or b="2"}"#, &[("b", "3")]));
    }

    #[test]
    fn classifies_by_expected_output_and_selected_series() {
        let mut store = MemStorage::new();
        store.add(labels(&[("__name__", "floats")]), [FPoint { t: 0, f: 1.0 }]);
        store.add_histogram_series(labels(&[("__name__", "hist"), ("job", "a")]));
        let script = Script::parse(
            "eval instant at 0 floats\n  floats 1\n\neval instant at 0 sum(hist)\n  {} 1\n\neval instant at 0 {job=\"a\"}\n\neval instant at 0 floats\n  floats {{count:1}}\n\neval instant at 0 hist{job=\"b\"}\n",
        )
        .unwrap();
        let reasons: Vec<Option<String>> = script
            .evals()
            .map(|e| native_histogram_reason(e, &store))
            .collect();
        assert!(reasons[0].is_none());
        assert!(reasons[1].as_deref().unwrap().contains("hist"));
        assert!(reasons[2].is_some());
        assert!(reasons[3].as_deref().unwrap().contains("expected output"));
        assert!(
            reasons[4].is_none(),
            "a selector that matches no histogram series"
        );

        let unparsable = Script::parse(
            "eval instant at 0 histogram_count(hist >/ 2)\n\neval instant at 0 floats >/ 2\n",
        )
        .unwrap();
        let reasons: Vec<Option<String>> = unparsable
            .evals()
            .map(|e| native_histogram_reason(e, &store))
            .collect();
        assert!(reasons[0].as_deref().unwrap().contains("cannot read"));
        assert!(reasons[1].is_none());
    }
}
