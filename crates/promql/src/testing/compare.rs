//! Comparing a query's value with an `eval`'s expectations, with the rules of Prometheus's
//! `promqltest` (`compareResult`): floats are equal within a relative error of 1e-6
//! (`util/almost.Equal`, where NaN equals NaN), vector elements match by label set in any
//! order unless the eval is ordered, a matrix must be sorted by labels and its points sit
//! on the eval's time grid, and every expected series must be present.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use norn_model::Labels;

use super::script::{EvalCommand, ExpectedResult, ExpectedSeries};
use super::series::SequenceValue;
use crate::value::{Matrix, Value, Vector, is_stale_nan};

/// The relative error allowed between an expected and an actual value (Prometheus's
/// `defaultEpsilon`).
pub const DEFAULT_EPSILON: f64 = 0.000_001;

/// Returns true when `a` and `b` are equal within the relative error `epsilon`, as
/// Prometheus's `almost.Equal`: two NaNs are equal (whatever their bits), values near zero
/// are compared against the smallest normal float.
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let min_normal = f64::MIN_POSITIVE;
    let abs_sum = a.abs() + b.abs();
    let difference = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return difference < epsilon * min_normal;
    }
    difference / abs_sum.min(f64::MAX) < epsilon
}

/// Where the points of an expected matrix sit: point `i` at `start_ms + i * step_ms`, none
/// after `end_ms` (an instant query without `expect range vector` has no end: it can match
/// only a matrix without points, as in Prometheus).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grid {
    pub(crate) start_ms: i64,
    pub(crate) end_ms: Option<i64>,
    pub(crate) step_ms: i64,
}

/// Compares `value` with what `command` expects; the error says what differs.
pub(crate) fn compare_result(
    command: &EvalCommand,
    value: &Value,
    grid: Grid,
) -> Result<(), String> {
    match value {
        Value::Matrix(matrix) => compare_matrix(command, matrix, grid),
        Value::Vector(vector) => compare_vector(command, vector),
        Value::Scalar { f, .. } => match command.expected {
            ExpectedResult::Scalar(expected) if almost_equal(expected, *f, DEFAULT_EPSILON) => {
                Ok(())
            }
            ExpectedResult::Scalar(expected) => Err(format!(
                "expected scalar {} but got {}",
                format_float(expected),
                format_float(*f)
            )),
            ExpectedResult::Series(_) => Err(format!(
                "expected vector or matrix result, but got scalar {}",
                format_float(*f)
            )),
        },
        Value::String { s, .. } => {
            let expected = command.expected_string.as_deref().unwrap_or("");
            if expected == s {
                Ok(())
            } else {
                Err(format!("expected string {expected:?} but got {s:?}"))
            }
        }
    }
}

fn expected_by_labels(command: &EvalCommand) -> BTreeMap<&Labels, &ExpectedSeries> {
    match &command.expected {
        ExpectedResult::Series(series) => series.iter().map(|s| (&s.labels, s)).collect(),
        ExpectedResult::Scalar(_) => BTreeMap::new(),
    }
}

/// Fails when a matrix is not sorted by labels (range results always are).
pub(crate) fn check_matrix_sorted(matrix: &Matrix) -> Result<(), String> {
    for (index, pair) in matrix.windows(2).enumerate() {
        if pair[0].metric > pair[1].metric {
            return Err(format!(
                "matrix results should always be sorted by labels, but matrix is not sorted: series at index {} with labels {} sorts before series at index {index} with labels {}",
                index + 1,
                pair[1].metric,
                pair[0].metric
            ));
        }
    }
    Ok(())
}

fn compare_matrix(command: &EvalCommand, matrix: &Matrix, grid: Grid) -> Result<(), String> {
    if command.ordered {
        return Err("expected ordered result, but query returned a matrix".to_owned());
    }
    if let ExpectedResult::Scalar(_) = command.expected {
        return Err(format!(
            "expected scalar result, but got matrix {}",
            format_value(&Value::Matrix(matrix.clone()))
        ));
    }
    check_matrix_sorted(matrix)?;
    let expected = expected_by_labels(command);
    let mut seen = BTreeSet::new();
    for series in matrix {
        let Some(expectation) = expected.get(&series.metric) else {
            return Err(format!(
                "unexpected metric {} in result, has {}",
                series.metric,
                format_points(series)
            ));
        };
        seen.insert(&series.metric);
        let mut expected_points = Vec::new();
        let mut expected_histograms = 0;
        for (index, value) in expectation.values.iter().enumerate() {
            let t = i64::try_from(index)
                .ok()
                .and_then(|i| i.checked_mul(grid.step_ms))
                .and_then(|offset| offset.checked_add(grid.start_ms));
            let Some(t) = t.filter(|t| grid.end_ms.is_some_and(|end| *t <= end)) else {
                return Err(format!(
                    "expected {} points for {}, but query time range cannot return this many points",
                    expectation.values.len(),
                    series.metric
                ));
            };
            match value {
                SequenceValue::Float(f) => expected_points.push((t, *f)),
                SequenceValue::Histogram(_) => expected_histograms += 1,
                SequenceValue::Omitted => {}
            }
        }
        if expected_points.len() != series.floats.len() || expected_histograms > 0 {
            return Err(format!(
                "expected {} float points and {expected_histograms} histogram points for {}, but got {}",
                expected_points.len(),
                series.metric,
                format_points(series)
            ));
        }
        for (index, ((t, f), actual)) in expected_points.iter().zip(&series.floats).enumerate() {
            if *t != actual.t {
                return Err(format!(
                    "expected float value at index {index} for {} to have timestamp {t}, but it had timestamp {} (result has {})",
                    series.metric,
                    actual.t,
                    format_points(series)
                ));
            }
            if !almost_equal(actual.f, *f, DEFAULT_EPSILON) {
                return Err(format!(
                    "expected float value at index {index} (t={t}) for {} to be {}, but got {} (result has {})",
                    series.metric,
                    format_float(*f),
                    format_float(actual.f),
                    format_points(series)
                ));
            }
        }
    }
    for labels in expected.keys() {
        if !seen.contains(labels) {
            return Err(format!("expected metric {labels} not found"));
        }
    }
    Ok(())
}

fn compare_vector(command: &EvalCommand, vector: &Vector) -> Result<(), String> {
    if let ExpectedResult::Scalar(_) = command.expected {
        return Err(format!(
            "expected scalar result, but got vector {}",
            format_value(&Value::Vector(vector.clone()))
        ));
    }
    let expected = expected_by_labels(command);
    let mut seen = BTreeSet::new();
    for (index, sample) in vector.iter().enumerate() {
        let Some(expectation) = expected.get(&sample.metric) else {
            return Err(format!(
                "unexpected metric {} in result, has value {}",
                sample.metric,
                format_float(sample.f)
            ));
        };
        if command.ordered && expectation.position != index + 1 {
            return Err(format!(
                "expected metric {} with {} at position {} but was at {}",
                sample.metric,
                format_sequence(&expectation.values),
                expectation.position,
                index + 1
            ));
        }
        let expected_value = match expectation.values.first() {
            Some(SequenceValue::Float(f)) => *f,
            // Prometheus compares an omitted value as 0.
            Some(SequenceValue::Omitted) => 0.0,
            Some(SequenceValue::Histogram(histogram)) => {
                return Err(format!(
                    "expected histogram {{{{{histogram}}}}} for {} but got float value {}",
                    sample.metric,
                    format_float(sample.f)
                ));
            }
            None => return Err(format!("no expected value given for {}", sample.metric)),
        };
        if !almost_equal(expected_value, sample.f, DEFAULT_EPSILON) {
            return Err(format!(
                "expected {} for {} but got {}",
                format_float(expected_value),
                sample.metric,
                format_float(sample.f)
            ));
        }
        seen.insert(&sample.metric);
    }
    for (labels, expectation) in &expected {
        if !seen.contains(labels) {
            return Err(format!(
                "expected metric {labels} with {} not found",
                format_sequence(&expectation.values)
            ));
        }
    }
    Ok(())
}

/// Formats a float as Prometheus prints sample values (`+Inf`, `NaN`, `stale` for the
/// stale marker).
pub fn format_float(value: f64) -> String {
    if is_stale_nan(value) {
        "stale".to_owned()
    } else if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        value.to_string()
    }
}

fn format_sequence(values: &[SequenceValue]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|value| match value {
            SequenceValue::Omitted => "_".to_owned(),
            SequenceValue::Float(f) => format_float(*f),
            SequenceValue::Histogram(h) => format!("{{{{{h}}}}}"),
        })
        .collect();
    parts.join(" ")
}

fn format_points(series: &crate::value::Series) -> String {
    let points: Vec<String> = series
        .floats
        .iter()
        .map(|point| format!("{} @{}", format_float(point.f), point.t))
        .collect();
    format!(
        "{} float point(s) [{}]",
        series.floats.len(),
        points.join(", ")
    )
}

/// Formats a query value one series per line, for failure reports.
pub fn format_value(value: &Value) -> String {
    match value {
        Value::Scalar { f, .. } => format!("scalar {}", format_float(*f)),
        Value::String { s, .. } => format!("string {s:?}"),
        Value::Vector(vector) if vector.is_empty() => "empty vector".to_owned(),
        Value::Vector(vector) => {
            let lines: Vec<String> = vector
                .iter()
                .map(|sample| format!("{} {}", sample.metric, format_float(sample.f)))
                .collect();
            lines.join("\n")
        }
        Value::Matrix(matrix) if matrix.is_empty() => "empty matrix".to_owned(),
        Value::Matrix(matrix) => {
            let lines: Vec<String> = matrix
                .iter()
                .map(|series| {
                    let points: Vec<String> = series
                        .floats
                        .iter()
                        .map(|point| format!("{}@{}", format_float(point.f), point.t))
                        .collect();
                    format!("{} {}", series.metric, points.join(" "))
                })
                .collect();
            lines.join("\n")
        }
    }
}

/// Formats what an eval expects, one series per line, for failure reports.
pub fn format_expected(command: &EvalCommand) -> String {
    let mut text = String::new();
    if let Some(fail) = &command.fail {
        let matchers: Vec<String> = fail.iter().map(|m| m.describe()).collect();
        let _ = write!(
            text,
            "an error{}",
            if matchers.is_empty() {
                String::new()
            } else {
                format!(" matching {}", matchers.join(" and "))
            }
        );
        return text;
    }
    if let Some(expected) = &command.expected_string {
        return format!("string {expected:?}");
    }
    match &command.expected {
        ExpectedResult::Scalar(f) => format!("scalar {}", format_float(*f)),
        ExpectedResult::Series(series) if series.is_empty() => "empty result".to_owned(),
        ExpectedResult::Series(series) => {
            let lines: Vec<String> = series
                .iter()
                .map(|s| format!("{} {}", s.labels, format_sequence(&s.values)))
                .collect();
            lines.join("\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::script::Script;
    use crate::value::{FPoint, STALE_NAN_BITS, Sample, Series};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    fn eval(script: &str) -> EvalCommand {
        Script::parse(script)
            .unwrap()
            .evals()
            .next()
            .unwrap()
            .clone()
    }

    fn sample(pairs: &[(&str, &str)], f: f64) -> Sample {
        Sample {
            metric: labels(pairs),
            t: 0,
            f,
            drop_name: false,
        }
    }

    fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
        Series {
            metric: labels(pairs),
            floats: points.iter().map(|&(t, f)| FPoint { t, f }).collect(),
            drop_name: false,
        }
    }

    const INSTANT: Grid = Grid {
        start_ms: 0,
        end_ms: None,
        step_ms: 0,
    };

    #[test]
    fn almost_equal_uses_relative_tolerance() {
        assert!(almost_equal(1.0, 1.0, DEFAULT_EPSILON));
        assert!(almost_equal(1.0, 1.0 + 1e-7, DEFAULT_EPSILON));
        assert!(!almost_equal(1.0, 1.0 + 1e-5, DEFAULT_EPSILON));
        assert!(
            almost_equal(1e12, 1e12 + 1.0, DEFAULT_EPSILON),
            "relative, not absolute"
        );
        assert!(!almost_equal(1e-3, 1.1e-3, DEFAULT_EPSILON));
        assert!(almost_equal(
            f64::NAN,
            f64::from_bits(STALE_NAN_BITS),
            DEFAULT_EPSILON
        ));
        assert!(!almost_equal(f64::NAN, 1.0, DEFAULT_EPSILON));
        assert!(almost_equal(f64::INFINITY, f64::INFINITY, DEFAULT_EPSILON));
        assert!(!almost_equal(
            f64::INFINITY,
            f64::NEG_INFINITY,
            DEFAULT_EPSILON
        ));
        assert!(
            !almost_equal(0.0, 1e-300, DEFAULT_EPSILON),
            "zero only equals values below min-normal scale"
        );
        assert!(almost_equal(0.0, -0.0, DEFAULT_EPSILON));
    }

    #[test]
    fn vectors_match_unordered_by_labels() {
        let command = eval("eval instant at 0 x\n  {a=\"1\"} 1\n  {a=\"2\"} NaN\n");
        let good = Value::Vector(vec![
            sample(&[("a", "2")], f64::NAN),
            sample(&[("a", "1")], 1.0000001),
        ]);
        assert_eq!(compare_result(&command, &good, INSTANT), Ok(()));
        let wrong_value = Value::Vector(vec![
            sample(&[("a", "1")], 2.0),
            sample(&[("a", "2")], f64::NAN),
        ]);
        assert!(
            compare_result(&command, &wrong_value, INSTANT)
                .unwrap_err()
                .contains("expected 1")
        );
        let missing = Value::Vector(vec![sample(&[("a", "1")], 1.0)]);
        assert!(
            compare_result(&command, &missing, INSTANT)
                .unwrap_err()
                .contains("not found")
        );
        let extra = Value::Vector(vec![
            sample(&[("a", "1")], 1.0),
            sample(&[("a", "2")], f64::NAN),
            sample(&[("a", "3")], 1.0),
        ]);
        assert!(
            compare_result(&command, &extra, INSTANT)
                .unwrap_err()
                .contains("unexpected metric")
        );
    }

    #[test]
    fn ordered_vectors_check_positions() {
        let command = eval("eval instant at 0 x\n  expect ordered\n  {a=\"1\"} 1\n  {a=\"2\"} 2\n");
        let in_order = Value::Vector(vec![sample(&[("a", "1")], 1.0), sample(&[("a", "2")], 2.0)]);
        assert_eq!(compare_result(&command, &in_order, INSTANT), Ok(()));
        let swapped = Value::Vector(vec![sample(&[("a", "2")], 2.0), sample(&[("a", "1")], 1.0)]);
        assert!(
            compare_result(&command, &swapped, INSTANT)
                .unwrap_err()
                .contains("position")
        );
        let matrix = Value::Matrix(vec![]);
        assert!(compare_result(&command, &matrix, INSTANT).is_err());
    }

    #[test]
    fn empty_expectation_requires_empty_result() {
        let command = eval("eval instant at 0 x\n");
        assert_eq!(
            compare_result(&command, &Value::Vector(vec![]), INSTANT),
            Ok(())
        );
        assert_eq!(
            compare_result(&command, &Value::Matrix(vec![]), INSTANT),
            Ok(())
        );
        assert!(compare_result(&command, &Value::Vector(vec![sample(&[], 1.0)]), INSTANT).is_err());
        assert!(compare_result(&command, &Value::Scalar { t: 0, f: 1.0 }, INSTANT).is_err());
    }

    #[test]
    fn scalars_and_strings() {
        let command = eval("eval instant at 0 x\n  NaN\n");
        assert_eq!(
            compare_result(&command, &Value::Scalar { t: 0, f: f64::NAN }, INSTANT),
            Ok(())
        );
        assert!(compare_result(&command, &Value::Scalar { t: 0, f: 0.0 }, INSTANT).is_err());
        assert!(compare_result(&command, &Value::Vector(vec![]), INSTANT).is_err());
        let command = eval("eval instant at 0 \"a\"\n  expect string \"a\"\n");
        assert_eq!(
            compare_result(
                &command,
                &Value::String {
                    t: 0,
                    s: "a".into()
                },
                INSTANT
            ),
            Ok(())
        );
        assert!(
            compare_result(
                &command,
                &Value::String {
                    t: 0,
                    s: "b".into()
                },
                INSTANT
            )
            .is_err()
        );
    }

    #[test]
    fn matrices_follow_the_grid() {
        let command =
            eval("eval range from 0 to 2m step 1m x\n  {a=\"1\"} 1 _ 3\n  {a=\"2\"} 1+1x2\n");
        let grid = Grid {
            start_ms: 0,
            end_ms: Some(120_000),
            step_ms: 60_000,
        };
        let good = Value::Matrix(vec![
            series(&[("a", "1")], &[(0, 1.0), (120_000, 3.0)]),
            series(&[("a", "2")], &[(0, 1.0), (60_000, 2.0), (120_000, 3.0)]),
        ]);
        assert_eq!(compare_result(&command, &good, grid), Ok(()));
        let shifted = Value::Matrix(vec![
            series(&[("a", "1")], &[(0, 1.0), (60_000, 3.0)]),
            series(&[("a", "2")], &[(0, 1.0), (60_000, 2.0), (120_000, 3.0)]),
        ]);
        assert!(
            compare_result(&command, &shifted, grid)
                .unwrap_err()
                .contains("timestamp")
        );
        let unsorted = Value::Matrix(vec![
            series(&[("a", "2")], &[(0, 1.0), (60_000, 2.0), (120_000, 3.0)]),
            series(&[("a", "1")], &[(0, 1.0), (120_000, 3.0)]),
        ]);
        assert!(
            compare_result(&command, &unsorted, grid)
                .unwrap_err()
                .contains("sorted")
        );
        let too_long = Grid {
            end_ms: Some(60_000),
            ..grid
        };
        assert!(
            compare_result(&command, &good, too_long)
                .unwrap_err()
                .contains("cannot return")
        );
    }

    #[test]
    fn formats_values_and_expectations() {
        let value = Value::Vector(vec![sample(&[("a", "1")], f64::INFINITY)]);
        assert_eq!(format_value(&value), "{a=\"1\"} +Inf");
        let command = eval("eval range from 0 to 2m step 1m x\n  {a=\"1\"} 1 _ stale\n");
        assert_eq!(format_expected(&command), "{a=\"1\"} 1 _ stale");
    }
}
