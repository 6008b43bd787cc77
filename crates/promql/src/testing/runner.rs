//! Runs a [`Script`] against an [`Engine`] over a [`MemStorage`], eval by eval, the way
//! Prometheus's `promqltest` does:
//!
//! - an instant `eval` runs its query at the eval time, then (unless excluded) again as a
//!   range query from t-1m to t+1m step 1m whose middle step must give the same result,
//!   then the same for each `@` variant (the `at_modifier` module);
//! - a range `eval` runs one range query;
//! - an expected failure passes when the query fails with a matching message;
//! - annotations are checked only as far as `expect warn|info|no_warn|no_info` lines (or
//!   `eval_warn`/`eval_info`) ask.
//!
//! Evals that need native histograms are not run: they are reported apart
//! ([`EvalStatus::NeedsNativeHistograms`], see the `classify` module). A panic inside the
//! engine fails that eval only.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use norn_model::Labels;

use super::at_modifier::at_modifier_variants;
use super::block_on::block_on;
use super::classify::native_histogram_reason;
use super::compare::{Grid, check_matrix_sorted, compare_result, format_expected, format_value};
use super::script::{Command, EvalCommand, EvalTiming, LoadCommand, MessageMatch, Script};
use super::series::SequenceValue;
use super::store::MemStorage;
use crate::engine::{Engine, EngineOptions, QueryOptions, QueryRange, QueryResult};
use crate::error::PromqlError;
use crate::value::{FPoint, Value};

/// How a script is run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Re-run every instant eval as a range query around its time (Prometheus does).
    pub range_mode_check: bool,
    /// Re-run every instant eval with `@` modifiers at other times (Prometheus does).
    pub at_modifier_variants: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            range_mode_check: true,
            at_modifier_variants: true,
        }
    }
}

/// Returns an engine configured as promqltest configures Prometheus's: 5m lookback,
/// experimental functions on, a 50M sample limit and a 100s timeout.
pub fn conformance_engine() -> Engine {
    Engine::new(EngineOptions {
        lookback_delta_ms: 5 * 60 * 1000,
        max_samples: 50_000_000,
        timeout: Duration::from_secs(100),
        enable_experimental_functions: true,
    })
}

/// Why an eval failed, with what was expected and what the engine returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalFailure {
    /// What differs.
    pub message: String,
    /// The expectation, one series per line.
    pub expected: String,
    /// The engine's answer (value, or error), one series per line.
    pub got: String,
}

/// The outcome of one eval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalStatus {
    /// Everything matched.
    Passed,
    /// Something did not.
    Failed(EvalFailure),
    /// Not run: the eval needs native histograms, which Norn does not store.
    NeedsNativeHistograms(String),
}

/// One eval's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalOutcome {
    /// The 1-based line of the `eval` header.
    pub line: usize,
    /// The query.
    pub expr: String,
    /// The outcome.
    pub status: EvalStatus,
}

/// Counts of a report's outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// Evals that passed.
    pub passed: usize,
    /// Evals that failed.
    pub failed: usize,
    /// Evals set apart because they need native histograms.
    pub native_histograms: usize,
}

impl OutcomeCounts {
    /// All evals.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.native_histograms
    }

    /// Adds `other` to these counts.
    pub fn add(&mut self, other: OutcomeCounts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.native_histograms += other.native_histograms;
    }
}

/// The outcomes of every eval of a script, in script order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptReport {
    /// One entry per eval.
    pub outcomes: Vec<EvalOutcome>,
}

impl ScriptReport {
    /// Counts passed, failed and native-histogram evals.
    pub fn counts(&self) -> OutcomeCounts {
        let mut counts = OutcomeCounts::default();
        for outcome in &self.outcomes {
            match outcome.status {
                EvalStatus::Passed => counts.passed += 1,
                EvalStatus::Failed(_) => counts.failed += 1,
                EvalStatus::NeedsNativeHistograms(_) => counts.native_histograms += 1,
            }
        }
        counts
    }

    /// Returns the failed evals with their failure.
    pub fn failures(&self) -> impl Iterator<Item = (&EvalOutcome, &EvalFailure)> + '_ {
        self.outcomes
            .iter()
            .filter_map(|outcome| match &outcome.status {
                EvalStatus::Failed(failure) => Some((outcome, failure)),
                _ => None,
            })
    }
}

/// Runs every command of `script` on a fresh [`MemStorage`]; blocks until done.
pub fn run_script(script: &Script, engine: &Engine, options: &RunOptions) -> ScriptReport {
    let mut store = MemStorage::new();
    let mut report = ScriptReport::default();
    for command in &script.commands {
        match command {
            Command::Clear => store.clear(),
            Command::Load(load) => apply_load(&mut store, load),
            Command::Eval(eval) => {
                let status = match native_histogram_reason(eval, &store) {
                    Some(reason) => EvalStatus::NeedsNativeHistograms(reason),
                    None => {
                        let runner = EvalRunner {
                            engine,
                            store: &store,
                            options,
                            command: eval,
                        };
                        match catch_unwind(AssertUnwindSafe(|| runner.run())) {
                            Ok(Ok(())) => EvalStatus::Passed,
                            Ok(Err(failure)) => EvalStatus::Failed(failure),
                            Err(panic) => EvalStatus::Failed(EvalFailure {
                                message: format!(
                                    "the engine panicked: {}",
                                    panic_message(panic.as_ref())
                                ),
                                expected: format_expected(eval),
                                got: "panic".to_owned(),
                            }),
                        }
                    }
                };
                report.outcomes.push(EvalOutcome {
                    line: eval.line,
                    expr: eval.expr.clone(),
                    status,
                });
            }
        }
    }
    report
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// Adds a `load` block's series to the store (values at 0, interval, 2·interval, …).
pub(crate) fn apply_load(store: &mut MemStorage, load: &LoadCommand) {
    for series in &load.series {
        let mut samples = Vec::with_capacity(series.values.len());
        let mut has_histograms = false;
        let mut t: i64 = 0;
        for value in &series.values {
            match value {
                SequenceValue::Float(f) => samples.push(FPoint { t, f: *f }),
                SequenceValue::Histogram(_) => has_histograms = true,
                SequenceValue::Omitted => {}
            }
            t = t.saturating_add(load.interval_ms);
        }
        store.add(series.labels.clone(), samples);
        if has_histograms {
            store.add_histogram_series(series.labels.clone());
        }
        if load.with_nhcb
            && let Some(histogram) = nhcb_series_labels(&series.labels)
        {
            store.add_histogram_series(histogram);
        }
    }
}

/// The native-histogram series `load_with_nhcb` derives from a classic histogram series
/// (`x_bucket` with a numeric `le`, `x_count`, `x_sum` → `x` without `le`), as Prometheus's
/// `convertnhcb` names it.
fn nhcb_series_labels(labels: &Labels) -> Option<Labels> {
    let name = labels.metric_name();
    let base = if let Some(base) = name.strip_suffix("_bucket") {
        let le = labels
            .get("le")
            .parse::<f64>()
            .ok()
            .or_else(|| match labels.get("le") {
                "+Inf" | "Inf" => Some(f64::INFINITY),
                _ => None,
            })?;
        if le.is_nan() {
            return None;
        }
        base
    } else {
        name.strip_suffix("_count")
            .or_else(|| name.strip_suffix("_sum"))?
    };
    let pairs = labels.iter().filter_map(|label| match label.name {
        "le" => None,
        "__name__" => Some((label.name, base)),
        _ => Some((label.name, label.value)),
    });
    Labels::new(pairs).ok()
}

/// Runs one eval.
struct EvalRunner<'a> {
    engine: &'a Engine,
    store: &'a MemStorage,
    options: &'a RunOptions,
    command: &'a EvalCommand,
}

/// An engine answer with how it was obtained, for failure messages.
type Answer = Result<QueryResult, PromqlError>;

impl EvalRunner<'_> {
    fn run(&self) -> Result<(), EvalFailure> {
        match self.command.timing {
            EvalTiming::Range {
                start_ms,
                end_ms,
                step_ms,
            } => {
                let range = QueryRange {
                    start_ms,
                    end_ms,
                    step_ms,
                };
                let answer = self.range_query(&self.command.expr, range);
                let grid = Grid {
                    start_ms,
                    end_ms: Some(end_ms),
                    step_ms,
                };
                self.check_answer(answer, grid, "")
            }
            EvalTiming::Instant { .. } => {
                let ts_ms = self.command.instant_time_ms().unwrap_or(0);
                self.run_instant(&self.command.expr, ts_ms, "")?;
                if self.options.at_modifier_variants {
                    for variant in at_modifier_variants(&self.command.expr, ts_ms) {
                        let context =
                            format!("@ variant {:?} at {}ms: ", variant.expr, variant.eval_ms);
                        self.run_instant(&variant.expr, variant.eval_ms, &context)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn instant_query(&self, query: &str, ts_ms: i64) -> Answer {
        block_on(
            self.engine
                .instant_query(self.store, query, ts_ms, &QueryOptions::default()),
        )
    }

    fn range_query(&self, query: &str, range: QueryRange) -> Answer {
        block_on(
            self.engine
                .range_query(self.store, query, range, &QueryOptions::default()),
        )
    }

    fn failure(&self, message: String, got: String) -> EvalFailure {
        EvalFailure {
            message,
            expected: format_expected(self.command),
            got,
        }
    }

    fn run_instant(&self, query: &str, ts_ms: i64, context: &str) -> Result<(), EvalFailure> {
        let answer = self.instant_query(query, ts_ms);
        let grid = match self.command.range_vector {
            Some(range_vector) => Grid {
                start_ms: range_vector.start_ms,
                end_ms: Some(range_vector.end_ms),
                step_ms: range_vector.step_ms,
            },
            None => Grid {
                start_ms: ts_ms,
                end_ms: None,
                step_ms: 0,
            },
        };
        let Some(result) = self.check_answer_keep(answer, grid, context)? else {
            return Ok(());
        };
        if !self.options.range_mode_check
            || self.command.exclude_from_range_query
            || ["start()", "end()", "range()", "step()"]
                .iter()
                .any(|f| query.contains(f))
        {
            return Ok(());
        }
        let range = QueryRange {
            start_ms: ts_ms - 60_000,
            end_ms: ts_ms + 60_000,
            step_ms: 60_000,
        };
        let context = format!("{context}range mode (t-1m..t+1m step 1m): ");
        let matrix = match self.range_query(query, range) {
            Err(error) => {
                return Err(self.failure(
                    format!("{context}error evaluating query: {error}"),
                    format!("error: {error}"),
                ));
            }
            Ok(QueryResult {
                value: Value::Matrix(matrix),
                ..
            }) => matrix,
            Ok(other) => {
                return Err(self.failure(
                    format!(
                        "{context}a range query returned a {}",
                        other.value.type_name()
                    ),
                    format_value(&other.value),
                ));
            }
        };
        if self.command.ordered {
            return Ok(());
        }
        check_matrix_sorted(&matrix).map_err(|message| {
            self.failure(
                format!("{context}{message}"),
                format_value(&Value::Matrix(matrix.clone())),
            )
        })?;
        let vector: Vec<crate::value::Sample> = matrix
            .iter()
            .filter_map(|series| {
                series
                    .floats
                    .iter()
                    .find(|point| point.t == ts_ms)
                    .map(|point| crate::value::Sample {
                        metric: series.metric.clone(),
                        t: point.t,
                        f: point.f,
                        drop_name: false,
                    })
            })
            .collect();
        let step_value = match result.value {
            Value::Scalar { .. } => match vector.first() {
                Some(sample) => Value::Scalar {
                    t: ts_ms,
                    f: sample.f,
                },
                None => {
                    return Err(self.failure(
                        format!("{context}the instant query returned a scalar but the range query has no point at {ts_ms}"),
                        format_value(&Value::Matrix(matrix)),
                    ));
                }
            },
            _ => Value::Vector(vector),
        };
        compare_result(self.command, &step_value, grid).map_err(|message| {
            self.failure(format!("{context}{message}"), format_value(&step_value))
        })
    }

    fn check_answer(&self, answer: Answer, grid: Grid, context: &str) -> Result<(), EvalFailure> {
        self.check_answer_keep(answer, grid, context).map(|_| ())
    }

    /// Checks an answer against the failure, annotation and value expectations. Returns
    /// the result when the query succeeded (and was expected to).
    fn check_answer_keep(
        &self,
        answer: Answer,
        grid: Grid,
        context: &str,
    ) -> Result<Option<QueryResult>, EvalFailure> {
        let command = self.command;
        let result = match (answer, &command.fail) {
            (Err(error), Some(matchers)) => {
                let message = error.to_string();
                return match matchers.iter().find(|m| !m.matches(&message)) {
                    None => Ok(None),
                    Some(unmatched) => Err(self.failure(
                        format!(
                            "{context}expected error matching {} but got: {message}",
                            unmatched.describe()
                        ),
                        format!("error: {message}"),
                    )),
                };
            }
            (Err(error), None) => {
                return Err(self.failure(
                    format!("{context}error evaluating query: {error}"),
                    format!("error: {error}"),
                ));
            }
            (Ok(result), Some(_)) => {
                return Err(self.failure(
                    format!("{context}expected error evaluating query but got none"),
                    format_value(&result.value),
                ));
            }
            (Ok(result), None) => result,
        };
        self.check_annotations(&result).map_err(|message| {
            self.failure(format!("{context}{message}"), describe_result(&result))
        })?;
        compare_result(command, &result.value, grid).map_err(|message| {
            self.failure(format!("{context}{message}"), format_value(&result.value))
        })?;
        Ok(Some(result))
    }

    fn check_annotations(&self, result: &QueryResult) -> Result<(), String> {
        let command = self.command;
        let warnings: Vec<&str> = result.annotations.warnings().collect();
        let infos: Vec<&str> = result.annotations.infos().collect();
        if command.require_warnings && warnings.is_empty() {
            return Err("expected warnings but got none".to_owned());
        }
        if command.require_infos && infos.is_empty() {
            return Err("expected info annotations but got none".to_owned());
        }
        check_annotation_kind("warn", &command.warnings, &warnings)?;
        check_annotation_kind("info", &command.infos, &infos)?;
        if command.no_warnings && !warnings.is_empty() {
            return Err(format!("unexpected warning annotations: {warnings:?}"));
        }
        if command.no_infos && !infos.is_empty() {
            return Err(format!("unexpected info annotations: {infos:?}"));
        }
        Ok(())
    }
}

/// Every expectation must match an annotation, and every annotation an expectation.
fn check_annotation_kind(
    kind: &str,
    expected: &[MessageMatch],
    actual: &[&str],
) -> Result<(), String> {
    if expected.is_empty() {
        return Ok(());
    }
    if actual.is_empty() {
        return Err(format!("expected {kind} annotations but none were found"));
    }
    if let Some(unmatched) = expected
        .iter()
        .find(|e| !actual.iter().any(|a| e.matches(a)))
    {
        return Err(format!(
            "expected {kind} annotation matching {} but no matching annotation was found, found: {actual:?}",
            unmatched.describe()
        ));
    }
    if let Some(unexpected) = actual
        .iter()
        .find(|a| !expected.iter().any(|e| e.matches(a)))
    {
        return Err(format!("unexpected {kind} annotation {unexpected:?} found"));
    }
    Ok(())
}

fn describe_result(result: &QueryResult) -> String {
    let mut text = format_value(&result.value);
    for warning in result.annotations.warnings() {
        text.push_str(&format!("\nwarning: {warning}"));
    }
    for info in result.annotations.infos() {
        text.push_str(&format!("\ninfo: {info}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn loads_samples_on_the_interval_grid() {
        let script = Script::parse("load 1m\n  a 1 _ stale 4\n  h 1 {{count:1}}\n").unwrap();
        let mut store = MemStorage::new();
        let Command::Load(load) = &script.commands[0] else {
            panic!("not a load")
        };
        apply_load(&mut store, load);
        let selected = store.select_range(&[], i64::MIN, i64::MAX);
        assert_eq!(selected.len(), 1, "the histogram series is not selectable");
        let samples = selected[0].decode(|_| true).unwrap();
        let times: Vec<i64> = samples.iter().map(|p| p.t).collect();
        assert_eq!(times, [0, 120_000, 180_000]);
        assert!(crate::value::is_stale_nan(samples[1].f));
        assert_eq!(store.histogram_series().count(), 1);
    }

    #[test]
    fn nhcb_loads_record_converted_series() {
        let script = Script::parse(
            "load_with_nhcb 1m\n  x_bucket{le=\"0.1\", job=\"a\"} 1\n  x_bucket{le=\"+Inf\", job=\"a\"} 2\n  x_count{job=\"a\"} 2\n  y_bucket{le=\"bad\"} 1\n  z 1\n",
        )
        .unwrap();
        let mut store = MemStorage::new();
        let Command::Load(load) = &script.commands[0] else {
            panic!("not a load")
        };
        apply_load(&mut store, load);
        let histograms: Vec<&Labels> = store.histogram_series().collect();
        assert_eq!(histograms, [&labels(&[("__name__", "x"), ("job", "a")])]);
        assert_eq!(
            store.select_range(&[], 0, 0).len(),
            5,
            "the classic float series stay"
        );
    }

    #[test]
    fn annotation_expectations_match_both_ways() {
        let exact = |m: &str| MessageMatch::Exact(m.to_owned());
        assert_eq!(check_annotation_kind("warn", &[], &["x"]), Ok(()));
        assert_eq!(
            check_annotation_kind("warn", &[MessageMatch::Any], &["x", "y"]),
            Ok(())
        );
        assert!(check_annotation_kind("warn", &[MessageMatch::Any], &[]).is_err());
        assert!(check_annotation_kind("warn", &[exact("x")], &["x", "y"]).is_err());
        assert!(check_annotation_kind("warn", &[exact("x"), exact("z")], &["x"]).is_err());
        assert_eq!(
            check_annotation_kind("info", &[exact("x"), exact("y")], &["y", "x"]),
            Ok(())
        );
    }

    #[test]
    fn counts_outcomes() {
        let outcome = |status| EvalOutcome {
            line: 1,
            expr: "x".into(),
            status,
        };
        let report = ScriptReport {
            outcomes: vec![
                outcome(EvalStatus::Passed),
                outcome(EvalStatus::NeedsNativeHistograms("h".into())),
                outcome(EvalStatus::Failed(EvalFailure {
                    message: "m".into(),
                    expected: "e".into(),
                    got: "g".into(),
                })),
                outcome(EvalStatus::Passed),
            ],
        };
        let counts = report.counts();
        assert_eq!(
            (
                counts.passed,
                counts.failed,
                counts.native_histograms,
                counts.total()
            ),
            (2, 1, 1, 4)
        );
        assert_eq!(report.failures().count(), 1);
    }
}
