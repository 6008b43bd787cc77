//! The promqltest scripting language (Prometheus's `promql/promqltest`): `load`,
//! `load_with_nhcb`, `clear` and `eval` commands with their `expect` lines and expected
//! results, parsed into a [`Script`].
//!
//! The grammar follows Prometheus's `test.go`: lines are trimmed, `#` lines are comments,
//! a command's block ends at the first blank line, `eval` bodies hold `expect …` lines, an
//! optional `expect range vector from … to … step …` or `expect string "…"` line, then
//! either one number (a scalar result) or series lines. The deprecated forms
//! (`eval_fail`, `eval_warn`, `eval_info`, `eval_ordered`, `expected_fail_message`,
//! `expected_fail_regexp`) are accepted too.
//!
//! One deliberate difference: Norn's annotations carry no position (Prometheus appends
//! `" (1:23)"`, the place in the query text). Expected warning/info messages have that
//! suffix removed, and a `regex:` pattern has a trailing position pattern
//! (`\(1:21\)`, `\([0-9]+:[0-9]+\)`) removed, before comparing.

use norn_model::Labels;
use regex::Regex;

use super::duration::parse_duration_ms;
use super::series::{SequenceValue, parse_quoted, parse_series_description};

/// Why a script could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ScriptError {
    /// The 1-based line of the script where the problem is.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed script: its commands in order.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// The commands, in the order they run.
    pub commands: Vec<Command>,
}

/// One command of a script.
#[derive(Clone, Debug)]
pub enum Command {
    /// `load <interval>` or `load_with_nhcb <interval>`.
    Load(LoadCommand),
    /// `clear`: forget every series.
    Clear,
    /// `eval …`: run a query and check its result.
    Eval(Box<EvalCommand>),
}

/// A `load` block.
#[derive(Clone, Debug)]
pub struct LoadCommand {
    /// The 1-based line of the `load` header.
    pub line: usize,
    /// The distance between consecutive values, in milliseconds (the first is at time 0).
    pub interval_ms: i64,
    /// True for `load_with_nhcb`: classic histogram series (`_bucket`, `_count`, `_sum`)
    /// are also converted to native histograms with custom buckets.
    pub with_nhcb: bool,
    /// The series to add.
    pub series: Vec<super::series::SeriesDescription>,
}

/// When an `eval` runs its query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalTiming {
    /// `eval instant at <time>`.
    Instant {
        /// Evaluation time, milliseconds.
        at_ms: i64,
    },
    /// `eval range from <start> to <end> step <step>`.
    Range {
        /// First step, milliseconds.
        start_ms: i64,
        /// Last step, milliseconds (inclusive).
        end_ms: i64,
        /// Step, milliseconds.
        step_ms: i64,
    },
}

/// The time grid of an instant query that returns a range vector
/// (`expect range vector from <start> to <end> step <step>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeVectorGrid {
    /// Time of the first expected point, milliseconds.
    pub start_ms: i64,
    /// Time of the last possible point and the query's evaluation time, milliseconds.
    pub end_ms: i64,
    /// Distance between expected points, milliseconds.
    pub step_ms: i64,
}

/// How an expected error or annotation message is matched.
#[derive(Clone, Debug)]
pub enum MessageMatch {
    /// Any message (`expect warn` without `msg:`/`regex:`).
    Any,
    /// Exactly this text (`msg:`).
    Exact(String),
    /// A regular expression matching anywhere in the message (`regex:`).
    Pattern(Regex),
}

impl MessageMatch {
    /// Returns true when `message` satisfies this expectation.
    pub fn matches(&self, message: &str) -> bool {
        match self {
            MessageMatch::Any => true,
            MessageMatch::Exact(expected) => expected == message,
            MessageMatch::Pattern(regex) => regex.is_match(message),
        }
    }

    /// Describes the expectation for failure reports.
    pub fn describe(&self) -> String {
        match self {
            MessageMatch::Any => "any message".to_owned(),
            MessageMatch::Exact(expected) => format!("message {expected:?}"),
            MessageMatch::Pattern(regex) => format!("pattern {:?}", regex.as_str()),
        }
    }
}

/// One expected series of an `eval`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedSeries {
    /// The labels the result series must have.
    pub labels: Labels,
    /// Its values: one for an instant vector, one per step for a range.
    pub values: Vec<SequenceValue>,
    /// 1-based position among the result lines (checked when the result is ordered).
    pub position: usize,
}

/// What an `eval` expects its query to return.
#[derive(Clone, Debug, PartialEq)]
pub enum ExpectedResult {
    /// Series (an instant vector or a matrix). Empty: the result must be empty.
    Series(Vec<ExpectedSeries>),
    /// A scalar with this value.
    Scalar(f64),
}

/// An `eval` command with everything it expects.
#[derive(Clone, Debug)]
pub struct EvalCommand {
    /// The 1-based line of the `eval` header.
    pub line: usize,
    /// The query.
    pub expr: String,
    /// Instant or range, with times.
    pub timing: EvalTiming,
    /// `Some` when the query must fail; every entry must match the error message.
    pub fail: Option<Vec<MessageMatch>>,
    /// `eval_warn`: at least one warning is required.
    pub require_warnings: bool,
    /// `eval_info`: at least one info is required.
    pub require_infos: bool,
    /// `expect warn` lines: each must match a warning, and each warning must match one.
    pub warnings: Vec<MessageMatch>,
    /// `expect info` lines, as for warnings.
    pub infos: Vec<MessageMatch>,
    /// `expect no_warn`.
    pub no_warnings: bool,
    /// `expect no_info`.
    pub no_infos: bool,
    /// `expect ordered` / `eval_ordered`: vector elements must come in the listed order.
    pub ordered: bool,
    /// The expected value.
    pub expected: ExpectedResult,
    /// `expect string "…"`: the expected string result (Prometheus compares a string
    /// result with `""` when the line is absent).
    pub expected_string: Option<String>,
    /// `expect range vector …`: the instant query returns a matrix on this grid.
    pub range_vector: Option<RangeVectorGrid>,
    /// True when the instant query must not be re-checked as a range query (a string or
    /// range-vector result).
    pub exclude_from_range_query: bool,
}

impl EvalCommand {
    /// Returns true when an expected value is a native histogram.
    pub fn expects_histograms(&self) -> bool {
        match &self.expected {
            ExpectedResult::Series(series) => series
                .iter()
                .any(|s| s.values.iter().any(SequenceValue::is_histogram)),
            ExpectedResult::Scalar(_) => false,
        }
    }

    /// Returns the time an instant query runs at (the range-vector grid's end when given).
    pub fn instant_time_ms(&self) -> Option<i64> {
        match self.timing {
            EvalTiming::Instant { at_ms } => {
                Some(self.range_vector.map_or(at_ms, |grid| grid.end_ms))
            }
            EvalTiming::Range { .. } => None,
        }
    }
}

impl Script {
    /// Parses a script.
    pub fn parse(text: &str) -> Result<Script, ScriptError> {
        let lines: Vec<&str> = text
            .split('\n')
            .map(|line| {
                let line = line.trim();
                if line.starts_with('#') { "" } else { line }
            })
            .collect();
        let mut commands = Vec::new();
        let mut index = 0;
        while index < lines.len() {
            let line = lines[index];
            if line.is_empty() {
                index += 1;
                continue;
            }
            let word = first_word(line).to_ascii_lowercase();
            let (next, command) = if word == "clear" {
                (index + 1, Command::Clear)
            } else if word.starts_with("load") {
                let (next, load) = parse_load(&lines, index)?;
                (next, Command::Load(load))
            } else if word.starts_with("eval") {
                let (next, eval) = parse_eval(&lines, index)?;
                (next, Command::Eval(Box::new(eval)))
            } else {
                return Err(error(index, format!("invalid command {line:?}")));
            };
            commands.push(command);
            index = next;
        }
        Ok(Script { commands })
    }

    /// Returns the `eval` commands.
    pub fn evals(&self) -> impl Iterator<Item = &EvalCommand> + '_ {
        self.commands.iter().filter_map(|command| match command {
            Command::Eval(eval) => Some(eval.as_ref()),
            _ => None,
        })
    }
}

fn error(index: usize, message: impl Into<String>) -> ScriptError {
    ScriptError {
        line: index + 1,
        message: message.into(),
    }
}

fn first_word(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or("")
}

/// Splits off the first whitespace-separated word; returns it and the trimmed rest.
fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(end) => (&text[..end], text[end..].trim_start()),
        None => (text, ""),
    }
}

/// Parses a `load` block starting at `index`; returns the index after it.
fn parse_load(lines: &[&str], index: usize) -> Result<(usize, LoadCommand), ScriptError> {
    let (word, interval) = split_word(lines[index]);
    let with_nhcb = match word {
        "load" => false,
        "load_with_nhcb" => true,
        _ => {
            return Err(error(
                index,
                "invalid load command. (load[_with_nhcb] <step:duration>)",
            ));
        }
    };
    let interval_ms = parse_duration_ms(interval)
        .map_err(|e| error(index, format!("invalid step definition {interval:?}: {e}")))?;
    let mut series = Vec::new();
    let mut next = index + 1;
    while next < lines.len() && !lines[next].is_empty() {
        let line = lines[next];
        // Start-timestamp lines (`metric@st …`): Norn stores no start timestamps.
        if !first_word(line).ends_with("@st") {
            series.push(parse_series_description(line).map_err(|e| error(next, e))?);
        }
        next += 1;
    }
    Ok((
        next,
        LoadCommand {
            line: index + 1,
            interval_ms,
            with_nhcb,
            series,
        },
    ))
}

/// The modifier of a deprecated `eval_<modifier>` header.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LegacyModifier {
    None,
    Fail,
    Warn,
    Info,
    Ordered,
}

fn parse_eval_header(
    line: &str,
    index: usize,
) -> Result<(LegacyModifier, EvalTiming, String), ScriptError> {
    let invalid = || {
        error(
            index,
            "invalid evaluation command. Must be either 'eval[_fail|_warn|_info|_ordered] instant [at <offset:duration>] <query>' or 'eval[_fail|_warn|_info] range from <from> to <to> step <step> <query>'",
        )
    };
    let (word, rest) = split_word(line);
    let modifier = match word {
        "eval" => LegacyModifier::None,
        "eval_fail" => LegacyModifier::Fail,
        "eval_warn" => LegacyModifier::Warn,
        "eval_info" => LegacyModifier::Info,
        "eval_ordered" => LegacyModifier::Ordered,
        _ => return Err(invalid()),
    };
    let duration = |text: &str, what: &str| {
        parse_duration_ms(text)
            .map_err(|e| error(index, format!("invalid {what} definition {text:?}: {e}")))
    };
    let (kind, rest) = split_word(rest);
    match kind {
        "instant" => {
            let (at, rest) = split_word(rest);
            let (time, expr) = split_word(rest);
            if at != "at" || expr.is_empty() {
                return Err(invalid());
            }
            let at_ms = duration(time, "timestamp")?;
            Ok((modifier, EvalTiming::Instant { at_ms }, expr.to_owned()))
        }
        "range" if modifier != LegacyModifier::Ordered => {
            let (from, rest) = split_word(rest);
            let (start, rest) = split_word(rest);
            let (to, rest) = split_word(rest);
            let (end, rest) = split_word(rest);
            let (step_word, rest) = split_word(rest);
            let (step, expr) = split_word(rest);
            if from != "from" || to != "to" || step_word != "step" || expr.is_empty() {
                return Err(invalid());
            }
            let start_ms = duration(start, "start timestamp")?;
            let end_ms = duration(end, "end timestamp")?;
            let step_ms = duration(step, "step")?;
            if end_ms < start_ms {
                return Err(error(
                    index,
                    format!(
                        "invalid test definition, end timestamp ({end}) is before start timestamp ({start})"
                    ),
                ));
            }
            Ok((
                modifier,
                EvalTiming::Range {
                    start_ms,
                    end_ms,
                    step_ms,
                },
                expr.to_owned(),
            ))
        }
        _ => Err(invalid()),
    }
}

/// Parses an `eval` block starting at `index`; returns the index after it.
fn parse_eval(lines: &[&str], index: usize) -> Result<(usize, EvalCommand), ScriptError> {
    let (modifier, timing, expr) = parse_eval_header(lines[index], index)?;
    let mut command = EvalCommand {
        line: index + 1,
        expr,
        timing,
        fail: (modifier == LegacyModifier::Fail).then(Vec::new),
        require_warnings: modifier == LegacyModifier::Warn,
        require_infos: modifier == LegacyModifier::Info,
        warnings: Vec::new(),
        infos: Vec::new(),
        no_warnings: false,
        no_infos: false,
        ordered: modifier == LegacyModifier::Ordered,
        expected: ExpectedResult::Series(Vec::new()),
        expected_string: None,
        range_vector: None,
        exclude_from_range_query: false,
    };
    let is_instant = matches!(timing, EvalTiming::Instant { .. });
    let mut fail_lines = 0;
    let mut position = 0;
    let mut next = index + 1;
    while next < lines.len() && !lines[next].is_empty() {
        let line = lines[next];
        let current = next;
        next += 1;
        position += 1;
        if let Some(fail) = command.fail.as_mut() {
            if let Some(message) = line.strip_prefix("expected_fail_message") {
                fail.push(MessageMatch::Exact(message.trim().to_owned()));
                break;
            }
            if let Some(pattern) = line.strip_prefix("expected_fail_regexp") {
                let regex = Regex::new(pattern.trim()).map_err(|e| {
                    error(
                        current,
                        format!("invalid regexp {pattern:?} for expected_fail_regexp: {e}"),
                    )
                })?;
                fail.push(MessageMatch::Pattern(regex));
                break;
            }
        }
        if let Some(grid) = line.strip_prefix("expect range vector") {
            command.range_vector =
                Some(parse_range_vector_grid(grid).map_err(|e| error(current, e))?);
            command.exclude_from_range_query = true;
            continue;
        }
        if let Some(literal) = line.strip_prefix("expect string") {
            if literal.trim().is_empty() {
                return Err(error(
                    current,
                    "expected string literal not valid - a quoted string literal is required",
                ));
            }
            let value = parse_quoted(literal).map_err(|e| {
                error(
                    current,
                    format!("expected string literal not valid - check that the string is correctly quoted: {e}"),
                )
            })?;
            command.expected_string = Some(value);
            command.exclude_from_range_query = true;
            continue;
        }
        if first_word(line) == "expect" {
            position -= 1;
            parse_expect_line(line, &mut command, &mut fail_lines)
                .map_err(|e| error(current, e))?;
            continue;
        }
        if let Some(value) = parse_go_number(line) {
            command.expected = ExpectedResult::Scalar(value);
            break;
        }
        let series = parse_series_description(line).map_err(|e| error(current, e))?;
        if series.values.len() > 1 && is_instant && command.range_vector.is_none() {
            return Err(error(
                current,
                "expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query",
            ));
        }
        let expected = ExpectedSeries {
            labels: series.labels,
            values: series.values,
            position,
        };
        match &mut command.expected {
            ExpectedResult::Series(all) => {
                // As in Prometheus (expectations are keyed by label set), a repeated label
                // set replaces the earlier line.
                all.retain(|s| s.labels != expected.labels);
                all.push(expected);
            }
            ExpectedResult::Scalar(_) => command.expected = ExpectedResult::Series(vec![expected]),
        }
    }
    Ok((next, command))
}

fn parse_range_vector_grid(text: &str) -> Result<RangeVectorGrid, String> {
    let (from, rest) = split_word(text);
    let (start, rest) = split_word(rest);
    let (to, rest) = split_word(rest);
    let (end, rest) = split_word(rest);
    let (step_word, step) = split_word(rest);
    if from != "from" || to != "to" || step_word != "step" || step.is_empty() {
        return Err(format!("invalid range vector definition {text:?}"));
    }
    let start_ms = parse_duration_ms(start)?;
    let end_ms = parse_duration_ms(end)?;
    let step_ms = parse_duration_ms(step)?;
    if end_ms < start_ms {
        return Err(format!(
            "invalid test definition, end timestamp ({end}) is before start timestamp ({start})"
        ));
    }
    Ok(RangeVectorGrid {
        start_ms,
        end_ms,
        step_ms,
    })
}

/// Parses `expect <type> [msg|regex: <text>]` into `command`.
fn parse_expect_line(
    line: &str,
    command: &mut EvalCommand,
    fail_lines: &mut usize,
) -> Result<(), String> {
    let invalid = || {
        "invalid expect statement, must match `expect <type> <match_type>: <string>` format"
            .to_owned()
    };
    let (_, rest) = split_word(line);
    let (kind, rest) = split_word(rest);
    let matcher = if rest.is_empty() {
        MessageMatch::Any
    } else if let Some(message) = rest.strip_prefix("msg:") {
        let message = message.trim();
        if message.is_empty() {
            return Err(invalid());
        }
        MessageMatch::Exact(message.to_owned())
    } else if let Some(pattern) = rest.strip_prefix("regex:") {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            return Err(invalid());
        }
        let regex =
            Regex::new(pattern).map_err(|e| format!("invalid regex {pattern} for {kind}: {e}"))?;
        MessageMatch::Pattern(regex)
    } else {
        return Err(invalid());
    };
    match kind {
        "ordered" => command.ordered = true,
        "fail" => {
            *fail_lines += 1;
            if *fail_lines > 1 {
                return Err(
                    "invalid expect lines, multiple expect fail lines are not allowed".to_owned(),
                );
            }
            command.fail.get_or_insert_with(Vec::new).push(matcher);
        }
        "warn" => command.warnings.push(without_position(matcher)?),
        "info" => command.infos.push(without_position(matcher)?),
        "no_warn" => command.no_warnings = true,
        "no_info" => command.no_infos = true,
        _ => return Err(format!("invalid expected error/annotation type {kind}")),
    }
    if !command.infos.is_empty() && command.no_infos {
        return Err("invalid expect lines, info and no_info cannot be used together".to_owned());
    }
    if !command.warnings.is_empty() && command.no_warnings {
        return Err("invalid expect lines, warn and no_warn cannot be used together".to_owned());
    }
    Ok(())
}

/// Removes the query position Prometheus appends to annotations (Norn has none).
fn without_position(matcher: MessageMatch) -> Result<MessageMatch, String> {
    Ok(match matcher {
        MessageMatch::Exact(message) => {
            MessageMatch::Exact(strip_position_suffix(&message).to_owned())
        }
        MessageMatch::Pattern(regex) => {
            let stripped = strip_position_pattern(regex.as_str());
            if stripped.len() == regex.as_str().len() {
                MessageMatch::Pattern(regex)
            } else {
                MessageMatch::Pattern(
                    Regex::new(stripped).map_err(|e| format!("invalid regex {stripped}: {e}"))?,
                )
            }
        }
        MessageMatch::Any => MessageMatch::Any,
    })
}

/// `"text (1:23)"` → `"text"`; anything else is returned unchanged.
pub(crate) fn strip_position_suffix(message: &str) -> &str {
    let Some(body) = message.strip_suffix(')') else {
        return message;
    };
    let Some(open) = body.rfind(" (") else {
        return message;
    };
    let position = &body[open + 2..];
    let is_position = position
        .split_once(':')
        .is_some_and(|(line, column)| is_digits(line) && is_digits(column));
    if is_position { &body[..open] } else { message }
}

/// `"text \(1:21\)"` or `"text \([0-9]+:[0-9]+\)"` → `"text"`; anything else unchanged.
pub(crate) fn strip_position_pattern(pattern: &str) -> &str {
    let trimmed = pattern.trim_end();
    let Some(body) = trimmed.strip_suffix(r"\)") else {
        return pattern;
    };
    let Some(open) = body.rfind(r"\(") else {
        return pattern;
    };
    let position = &body[open + 2..];
    let looks_like_position = position.contains(':')
        && position.chars().all(|c| {
            c.is_ascii_digit() || matches!(c, ':' | '[' | ']' | '-' | '+' | '*' | '\\' | 'd')
        });
    if !looks_like_position {
        return pattern;
    }
    let mut head = body[..open].trim_end();
    for whitespace in [r"\s*", r"\s+", r"\s"] {
        if let Some(stripped) = head.strip_suffix(whitespace) {
            head = stripped.trim_end();
            break;
        }
    }
    head
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a whole line as a number the way Go's `strconv.ParseInt(s, 0, 64)` then
/// `strconv.ParseFloat(s, 64)` would (Prometheus's `parseNumber`).
pub(crate) fn parse_go_number(text: &str) -> Option<f64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits_no_underscore = digits.replace('_', "");
    let lower = digits_no_underscore.to_ascii_lowercase();
    let integer = if let Some(hex) = lower.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(octal) = lower.strip_prefix("0o") {
        i64::from_str_radix(octal, 8).ok()
    } else if let Some(binary) = lower.strip_prefix("0b") {
        i64::from_str_radix(binary, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else if !digits.contains('_')
        && !lower.is_empty()
        && lower.bytes().all(|b| b.is_ascii_digit())
    {
        lower.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(value) = integer {
        let value = value as f64;
        return Some(if negative { -value } else { value });
    }
    if text.contains('_') {
        return None;
    }
    let lower_text = text.to_ascii_lowercase();
    let unsigned = lower_text.trim_start_matches(['+', '-']);
    if unsigned.starts_with("inf") || unsigned.starts_with("nan") {
        if !matches!(unsigned, "inf" | "infinity" | "nan") {
            return None;
        }
    } else if !unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
    {
        return None;
    }
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    fn only_eval(script: &str) -> EvalCommand {
        let parsed = Script::parse(script).unwrap();
        let mut evals: Vec<EvalCommand> = parsed.evals().cloned().collect();
        assert_eq!(evals.len(), 1);
        evals.remove(0)
    }

    #[test]
    fn parses_commands_and_blocks() {
        let script = Script::parse(
            "# comment\nload 1m\n  a{x=\"1\"} 1+1x2\n  b 5\n# a comment ends a block, as in Prometheus\nclear\nload_with_nhcb 30s\n  h_bucket{le=\"1\"} 1\n",
        )
        .unwrap();
        assert_eq!(script.commands.len(), 3);
        let Command::Load(load) = &script.commands[0] else {
            panic!("not a load")
        };
        assert_eq!(load.line, 2);
        assert_eq!(load.interval_ms, 60_000);
        assert!(!load.with_nhcb);
        assert_eq!(load.series.len(), 2);
        assert_eq!(load.series[0].values.len(), 3);
        assert!(matches!(script.commands[1], Command::Clear));
        let Command::Load(load) = &script.commands[2] else {
            panic!("not a load")
        };
        assert!(load.with_nhcb);
        assert_eq!(load.interval_ms, 30_000);
    }

    #[test]
    fn parses_instant_eval_with_expectations() {
        let eval = only_eval(
            "eval instant at 1m30s sum by (env) (my_metric)\n  expect warn msg: PromQL warning: thing (1:5)\n  expect no_info\n  expect ordered\n  {env=\"prod\"} 5\n  {env=\"test\"} NaN\n",
        );
        assert_eq!(eval.line, 1);
        assert_eq!(eval.expr, "sum by (env) (my_metric)");
        assert_eq!(eval.timing, EvalTiming::Instant { at_ms: 90_000 });
        assert_eq!(eval.instant_time_ms(), Some(90_000));
        assert!(eval.ordered && eval.no_infos && !eval.no_warnings);
        assert!(eval.fail.is_none());
        assert_eq!(eval.warnings.len(), 1);
        assert!(
            eval.warnings[0].matches("PromQL warning: thing"),
            "position suffix stripped"
        );
        let ExpectedResult::Series(series) = &eval.expected else {
            panic!("not series")
        };
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].labels, labels(&[("env", "prod")]));
        assert_eq!(series[0].position, 1);
        assert_eq!(series[1].position, 2);
        assert!(matches!(series[1].values[0], SequenceValue::Float(f) if f.is_nan()));
    }

    #[test]
    fn parses_range_eval_scalars_strings_and_failures() {
        let eval =
            only_eval("eval range from 0 to 10m step 5m metric\n  metric{a=\"b\"} 1+1x2 _\n");
        assert_eq!(
            eval.timing,
            EvalTiming::Range {
                start_ms: 0,
                end_ms: 600_000,
                step_ms: 300_000
            }
        );
        assert_eq!(eval.instant_time_ms(), None);
        let ExpectedResult::Series(series) = &eval.expected else {
            panic!("not series")
        };
        assert_eq!(series[0].values.len(), 4);

        let eval = only_eval("eval instant at 0 1 + 1\n  2\n");
        assert_eq!(eval.expected, ExpectedResult::Scalar(2.0));
        let eval = only_eval("eval instant at 0 x\n  -Inf\n");
        assert_eq!(eval.expected, ExpectedResult::Scalar(f64::NEG_INFINITY));

        let eval = only_eval("eval instant at 0 \"a\"\n  expect string \" Foo \"\n");
        assert_eq!(eval.expected_string.as_deref(), Some(" Foo "));
        assert!(eval.exclude_from_range_query);

        let eval = only_eval(
            "eval instant at 0 x\n  expect fail msg:vector cannot contain metrics with the same labelset\n",
        );
        let fail = eval.fail.unwrap();
        assert!(fail[0].matches("vector cannot contain metrics with the same labelset"));
        assert!(!fail[0].matches("other"));

        let eval = only_eval("eval_fail instant at 0 x\n");
        assert!(eval.fail.unwrap()[0..].is_empty());
        let eval = only_eval("eval_fail instant at 0 x\n  expected_fail_regexp same label.*\n");
        assert!(eval.fail.unwrap()[0].matches("vector has the same labelset"));
        let eval = only_eval("eval_warn range from 0 to 1m step 1m x\n");
        assert!(eval.require_warnings);
        let eval = only_eval("eval_ordered instant at 0 x\n");
        assert!(eval.ordered);
        let eval = only_eval("eval instant at 0 x\n  expect fail\n");
        assert!(eval.fail.unwrap()[0].matches("anything"));
        let eval = only_eval("eval instant at 0 x\n  expect warn\n");
        assert_eq!(eval.warnings.len(), 1);
    }

    #[test]
    fn parses_range_vector_directive() {
        let eval = only_eval(
            "eval instant at 1m metric[1m]\n  expect range vector from 10s to 1m step 10s\n  metric 1 2 3 4 5 6\n",
        );
        assert_eq!(
            eval.range_vector,
            Some(RangeVectorGrid {
                start_ms: 10_000,
                end_ms: 60_000,
                step_ms: 10_000
            })
        );
        assert_eq!(eval.instant_time_ms(), Some(60_000));
        assert!(eval.exclude_from_range_query);
        let ExpectedResult::Series(series) = &eval.expected else {
            panic!("not series")
        };
        assert_eq!(
            series[0].position, 2,
            "the directive counts as a result line, as in Prometheus"
        );
    }

    #[test]
    fn rejects_invalid_scripts() {
        for (script, line) in [
            ("bogus\n", 1),
            ("load\n", 1),
            ("load 1x\n", 1),
            ("\neval instant at 0 x\n  a 1 2\n", 3),
            ("eval instant 0 x\n", 1),
            ("eval range from 1m to 0 step 1m x\n", 1),
            ("eval instant at 0 x\n  expect warn\n  expect no_warn\n", 3),
            ("eval instant at 0 x\n  expect fail\n  expect fail\n", 3),
            ("eval instant at 0 x\n  expect bogus\n", 2),
            ("eval instant at 0 x\n  expect warn msg:\n", 2),
            ("eval instant at 0 x\n  expect info regex: (\n", 2),
            ("eval instant at 0 x\n  expect string\n", 2),
            ("eval instant at 0 x\n  expect string abc\n", 2),
            ("load 1m\n  a 1 +\n", 2),
        ] {
            let error = Script::parse(script).expect_err(script);
            assert_eq!(error.line, line, "{script:?}: {error}");
        }
    }

    #[test]
    fn strips_positions_from_messages_and_patterns() {
        assert_eq!(
            strip_position_suffix("PromQL info: x (1:23)"),
            "PromQL info: x"
        );
        assert_eq!(
            strip_position_suffix("PromQL info: x (a:b)"),
            "PromQL info: x (a:b)"
        );
        assert_eq!(strip_position_suffix("no position"), "no position");
        assert_eq!(
            strip_position_pattern(r"got NaN \([0-9]+:[0-9]+\)"),
            "got NaN"
        );
        assert_eq!(
            strip_position_pattern(r"monotonicity .* \(1:21\)"),
            "monotonicity .*"
        );
        assert_eq!(
            strip_position_pattern(r"conflicting label"),
            "conflicting label"
        );
        assert_eq!(strip_position_pattern(r"group \(a\)"), r"group \(a\)");
        let eval = only_eval(
            "eval instant at 0 x\n  expect info regex: fixed for monotonicity .* \\(1:21\\)\n",
        );
        assert!(eval.infos[0].matches("PromQL info: fixed for monotonicity for metric name \"x\""));
    }

    #[test]
    fn parses_numbers_like_go() {
        assert_eq!(parse_go_number("1"), Some(1.0));
        assert_eq!(parse_go_number("-2.5"), Some(-2.5));
        assert_eq!(parse_go_number("1e3"), Some(1000.0));
        assert_eq!(parse_go_number("0x10"), Some(16.0));
        assert_eq!(parse_go_number("010"), Some(8.0));
        assert_eq!(parse_go_number("+Inf"), Some(f64::INFINITY));
        assert!(parse_go_number("NaN").unwrap().is_nan());
        assert_eq!(parse_go_number("{} 1"), None);
        assert_eq!(parse_go_number("metric 1"), None);
        assert_eq!(parse_go_number("infinite"), None);
        assert_eq!(parse_go_number(""), None);
    }
}
