//! Query preparation: what every selector of the tree needs from storage over the whole
//! query (Prometheus's `FindMinMaxTime`/`getTimeRangesForSelector`: offsets, `@`,
//! lookback, ranges and enclosing subqueries), the matchers it selects with, the
//! concurrent fetch, and which subtrees are step-invariant (Prometheus's
//! `preprocessExprHelper`).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use norn_model::{MatchType, Matcher};
use promql_parser::label::{MatchOp, Matcher as ParsedMatcher};
use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};

use crate::engine::{Guard, QueryRange};
use crate::error::PromqlError;
use crate::queryable::{Queryable, SelectHints, StoredSeries};

/// The subquery step used when a subquery gives none (Prometheus's default evaluation
/// interval, which `promqltest` and Mimir use: one minute).
pub(crate) const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

/// Functions whose result depends on the evaluation time even when their arguments do not
/// (Prometheus's `AtModifierUnsafeFunctions`).
const AT_MODIFIER_UNSAFE_FUNCTIONS: &[&str] = &[
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

/// Functions whose value is fixed for a whole query (Prometheus folds them to numbers).
pub(crate) const QUERY_CONSTANT_FUNCTIONS: &[&str] = &["start", "end", "range", "step"];

/// Returns a duration in milliseconds.
pub(crate) fn duration_ms(duration: &Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Returns an optional offset in milliseconds (negative offsets look forward).
pub(crate) fn offset_ms(offset: &Option<Offset>) -> i64 {
    match offset {
        None => 0,
        Some(Offset::Pos(duration)) => duration_ms(duration),
        Some(Offset::Neg(duration)) => -duration_ms(duration),
    }
}

/// Returns the time an `@` modifier pins evaluation to, in milliseconds; `start()` and
/// `end()` are the query's.
pub(crate) fn at_ms(at: &Option<AtModifier>, query: QueryRange) -> Option<i64> {
    match at {
        None => None,
        Some(AtModifier::Start) => Some(query.start_ms),
        Some(AtModifier::End) => Some(query.end_ms),
        Some(AtModifier::At(time)) => Some(match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => duration_ms(&after),
            Err(before) => -duration_ms(&before.duration()),
        }),
    }
}

/// Returns `expr` without enclosing parentheses.
pub(crate) fn unwrap_parens(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(paren) = expr {
        expr = &paren.expr;
    }
    expr
}

/// Returns the identity of an expression node (its address: the tree is borrowed,
/// unchanged, for the whole evaluation).
pub(crate) fn expr_key(expr: &Expr) -> usize {
    expr as *const Expr as usize
}

/// Returns the identity of a selector node (see [`expr_key`]).
pub(crate) fn selector_key(selector: &VectorSelector) -> usize {
    selector as *const VectorSelector as usize
}

/// One selection to make from storage.
#[derive(Debug)]
struct Selection {
    /// The selector it feeds.
    key: usize,
    /// One matcher list per `or` alternative (usually one).
    matcher_sets: Vec<Vec<Matcher>>,
    hints: SelectHints,
}

/// The series every selector of the query selected, by selector.
#[derive(Debug, Default)]
pub(crate) struct SelectedData {
    by_selector: HashMap<usize, Vec<StoredSeries>>,
}

impl SelectedData {
    /// Returns the series selected for `selector`.
    pub(crate) fn series(&self, selector: &VectorSelector) -> &[StoredSeries] {
        self.by_selector
            .get(&selector_key(selector))
            .map_or(&[], Vec::as_slice)
    }

    /// Records the series selected for the selector with key `key`.
    pub(crate) fn insert(&mut self, key: usize, series: Vec<StoredSeries>) {
        self.by_selector.insert(key, series);
    }

    /// Returns how many series were selected in all.
    pub(crate) fn series_count(&self) -> usize {
        self.by_selector.values().map(Vec::len).sum()
    }
}

/// Enclosing subqueries' contribution to a selector's time range.
#[derive(Clone, Copy, Debug, Default)]
struct SubqueryContext {
    offset: i64,
    range: i64,
    at: Option<i64>,
    step: Option<i64>,
}

/// Walks `expr` and lists the selections its selectors need.
fn plan_selections(
    expr: &Expr,
    query: QueryRange,
    lookback_delta_ms: i64,
) -> Result<Vec<Selection>, PromqlError> {
    let mut selections = Vec::new();
    let mut planner = Planner {
        query,
        lookback_delta_ms,
        selections: &mut selections,
    };
    planner.walk(expr, SubqueryContext::default(), None)?;
    Ok(selections)
}

struct Planner<'a> {
    query: QueryRange,
    lookback_delta_ms: i64,
    selections: &'a mut Vec<Selection>,
}

impl Planner<'_> {
    fn walk(
        &mut self,
        expr: &Expr,
        context: SubqueryContext,
        func: Option<&str>,
    ) -> Result<(), PromqlError> {
        match expr {
            Expr::Aggregate(aggregate) => {
                let name = aggregate.op.to_string();
                if let Some(param) = &aggregate.param {
                    self.walk(param, context, Some(&name))?;
                }
                self.walk(&aggregate.expr, context, Some(&name))
            }
            Expr::Unary(unary) => self.walk(&unary.expr, context, func),
            Expr::Binary(binary) => {
                self.walk(&binary.lhs, context, None)?;
                self.walk(&binary.rhs, context, None)
            }
            Expr::Paren(paren) => self.walk(&paren.expr, context, func),
            Expr::Subquery(subquery) => {
                let offset = offset_ms(&subquery.offset);
                let range = duration_ms(&subquery.range);
                let inner = match at_ms(&subquery.at, self.query) {
                    Some(at) => SubqueryContext {
                        offset,
                        range,
                        at: Some(at),
                        step: None,
                    },
                    None => SubqueryContext {
                        offset: context.offset + offset,
                        range: context.range + range,
                        at: context.at,
                        step: None,
                    },
                };
                let step = subquery
                    .step
                    .as_ref()
                    .map_or(DEFAULT_SUBQUERY_STEP_MS, duration_ms);
                self.walk(
                    &subquery.expr,
                    SubqueryContext {
                        step: Some(step),
                        ..inner
                    },
                    func,
                )
            }
            Expr::Call(call) => {
                for arg in &call.args.args {
                    self.walk(arg, context, Some(call.func.name))?;
                }
                Ok(())
            }
            Expr::VectorSelector(selector) => self.add(selector, 0, context, func),
            Expr::MatrixSelector(matrix) => {
                self.add(&matrix.vs, duration_ms(&matrix.range), context, func)
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Ok(()),
            Expr::Extension(_) => Err(PromqlError::Internal(
                "extension expressions are not supported".to_owned(),
            )),
        }
    }

    /// Adds the selection of `selector`, read over `range` (0 for an instant selector).
    fn add(
        &mut self,
        selector: &VectorSelector,
        range: i64,
        context: SubqueryContext,
        func: Option<&str>,
    ) -> Result<(), PromqlError> {
        let (mut start, mut end) = match context.at {
            Some(at) => (at, at),
            None => (self.query.start_ms, self.query.end_ms),
        };
        match at_ms(&selector.at, self.query) {
            Some(at) => {
                start = at;
                end = at;
            }
            None => {
                start -= context.offset + context.range;
                end -= context.offset;
            }
        }
        if range == 0 {
            start -= self.lookback_delta_ms - 1;
        } else {
            start -= range - 1;
        }
        let offset = offset_ms(&selector.offset);
        let hints = SelectHints {
            start_ms: start - offset,
            end_ms: end - offset,
            step_ms: context.step.unwrap_or(self.query.step_ms),
            range_ms: range,
            func: func.map(str::to_owned),
        };
        self.selections.push(Selection {
            key: selector_key(selector),
            matcher_sets: build_matchers(selector)?,
            hints,
        });
        Ok(())
    }
}

/// The parsed matchers of a selector, one list per `or` alternative, the metric name
/// written before the braces becoming a `__name__` equality matcher.
fn parsed_matcher_sets(selector: &VectorSelector) -> Vec<Vec<&ParsedMatcher>> {
    if selector.matchers.or_matchers.is_empty() {
        vec![selector.matchers.matchers.iter().collect()]
    } else {
        selector
            .matchers
            .or_matchers
            .iter()
            .map(|set| set.iter().chain(&selector.matchers.matchers).collect())
            .collect()
    }
}

/// Builds Norn matchers for a selector (regexes anchored as Prometheus does).
pub(crate) fn build_matchers(selector: &VectorSelector) -> Result<Vec<Vec<Matcher>>, PromqlError> {
    parsed_matcher_sets(selector)
        .into_iter()
        .map(|set| {
            let mut matchers = Vec::with_capacity(set.len() + 1);
            if let Some(name) = &selector.name {
                matchers.push(norn_matcher(
                    MatchType::Equal,
                    norn_model::labels::METRIC_NAME,
                    name,
                )?);
            }
            for matcher in set {
                let kind = match matcher.op {
                    MatchOp::Equal => MatchType::Equal,
                    MatchOp::NotEqual => MatchType::NotEqual,
                    MatchOp::Re(_) => MatchType::Regex,
                    MatchOp::NotRe(_) => MatchType::NotRegex,
                };
                matchers.push(norn_matcher(kind, &matcher.name, &matcher.value)?);
            }
            Ok(matchers)
        })
        .collect()
}

/// Builds one matcher. Go's regexp reads a `{` that starts no valid repetition as a
/// literal brace where Rust's refuses it, so such a pattern is retried with those braces
/// escaped (as the parser crate does when it validates the pattern).
fn norn_matcher(kind: MatchType, name: &str, value: &str) -> Result<Matcher, PromqlError> {
    Matcher::new(kind, name, value).or_else(|error| {
        let escaped = escape_literal_braces(value);
        match kind {
            MatchType::Regex | MatchType::NotRegex if escaped != value => {
                Matcher::new(kind, name, escaped)
                    .map_err(|_| PromqlError::BadData(error.to_string()))
            }
            _ => Err(PromqlError::BadData(error.to_string())),
        }
    })
}

/// Escapes every `{` of `pattern` that does not open a repetition (`{n}`, `{n,}`, `{n,m}`).
fn escape_literal_braces(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
            }
            '{' if !opens_repetition(&pattern[index + 1..]) => out.push_str("\\{"),
            _ => out.push(c),
        }
    }
    out
}

/// Returns true when `rest` (the text after a `{`) is `n}`, `n,}` or `n,m}`.
fn opens_repetition(rest: &str) -> bool {
    let Some(end) = rest.find('}') else {
        return false;
    };
    let body = &rest[..end];
    let (min, max) = body.split_once(',').unwrap_or((body, "0"));
    !min.is_empty()
        && min.chars().all(|c| c.is_ascii_digit())
        && max.chars().all(|c| c.is_ascii_digit())
}

/// Plans and performs every selection of `expr` concurrently.
pub(crate) async fn prepare(
    queryable: &dyn Queryable,
    expr: &Expr,
    query: QueryRange,
    lookback_delta_ms: i64,
    guard: &Guard,
) -> Result<SelectedData, PromqlError> {
    let selections = plan_selections(expr, query, lookback_delta_ms)?;
    guard.check("query preparation")?;
    let fetches = selections.iter().map(|selection| async move {
        let mut merged: Vec<StoredSeries> = Vec::new();
        for matchers in &selection.matcher_sets {
            let series = queryable.select(matchers, &selection.hints).await?;
            merged.extend(series);
        }
        if selection.matcher_sets.len() > 1 {
            merged.sort_by(|a, b| a.labels.cmp(&b.labels));
            merged.dedup_by(|a, b| a.labels == b.labels);
        }
        Ok::<_, PromqlError>((selection.key, merged))
    });
    let fetched = futures::future::try_join_all(fetches).await?;
    guard.check("query preparation")?;
    let mut data = SelectedData::default();
    for (key, series) in fetched {
        data.insert(key, series);
    }
    Ok(data)
}

/// Returns the nodes evaluated once and repeated over every step because nothing in them
/// depends on the evaluation time (Prometheus wraps them in `StepInvariantExpr`).
pub(crate) fn step_invariant_nodes(expr: &Expr) -> HashSet<usize> {
    let mut wrapped = HashSet::new();
    let (_, wrap) = invariance(expr, &mut wrapped);
    if wrap {
        wrapped.insert(expr_key(expr));
    }
    wrapped
}

/// Returns (is the subtree step-invariant, should it be wrapped), wrapping children that
/// are invariant under a parent that is not.
fn invariance(expr: &Expr, wrapped: &mut HashSet<usize>) -> (bool, bool) {
    match expr {
        Expr::VectorSelector(selector) => {
            let invariant = selector.at.is_some();
            (invariant, invariant)
        }
        Expr::Aggregate(aggregate) => invariance(&aggregate.expr, wrapped),
        Expr::Binary(binary) => {
            let (lhs_invariant, lhs_wrap) = invariance(&binary.lhs, wrapped);
            let (rhs_invariant, rhs_wrap) = invariance(&binary.rhs, wrapped);
            if lhs_invariant && rhs_invariant {
                return (true, true);
            }
            if lhs_wrap {
                wrapped.insert(expr_key(unwrap_parens(&binary.lhs)));
            }
            if rhs_wrap {
                wrapped.insert(expr_key(unwrap_parens(&binary.rhs)));
            }
            (false, false)
        }
        Expr::Call(call) => {
            let name = call.func.name;
            if QUERY_CONSTANT_FUNCTIONS.contains(&name) {
                return (true, false);
            }
            let mut invariant = !AT_MODIFIER_UNSAFE_FUNCTIONS.contains(&name);
            let mut timestamp_of_invariant_selectors = name == "timestamp";
            let mut wraps = Vec::with_capacity(call.args.args.len());
            for arg in &call.args.args {
                let arg = unwrap_parens(arg);
                let (arg_invariant, arg_wrap) = invariance(arg, wrapped);
                invariant &= arg_invariant;
                if !arg_invariant || !matches!(arg, Expr::VectorSelector(_)) {
                    timestamp_of_invariant_selectors = false;
                }
                wraps.push((arg, arg_wrap));
            }
            if invariant || timestamp_of_invariant_selectors {
                return (true, true);
            }
            for (arg, wrap) in wraps {
                if wrap {
                    wrapped.insert(expr_key(arg));
                }
            }
            (false, false)
        }
        Expr::MatrixSelector(matrix) => (matrix.vs.at.is_some(), false),
        Expr::Subquery(subquery) => {
            let (inner_invariant, _) = invariance(&subquery.expr, wrapped);
            if inner_invariant {
                wrapped.insert(expr_key(unwrap_parens(&subquery.expr)));
            }
            (subquery.at.is_some(), false)
        }
        Expr::Paren(paren) => invariance(&paren.expr, wrapped),
        Expr::Unary(unary) => invariance(&unary.expr, wrapped),
        Expr::StringLiteral(_) | Expr::NumberLiteral(_) => (true, false),
        Expr::Extension(_) => (false, false),
    }
}
