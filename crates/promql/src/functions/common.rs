//! Helpers every function family shares: reading the evaluated arguments of a
//! [`FunctionCall`], building output samples, editing label sets, and Go's
//! number/string formatting where Prometheus's messages and labels depend on it.

use norn_model::Labels;
use norn_model::labels::METRIC_NAME;

use super::{FnArg, FunctionCall, Window};
use crate::error::PromqlError;
use crate::value::{Sample, Series};

/// Returns the instant-vector argument at `index`.
pub(crate) fn vector_arg<'a>(
    call: &FunctionCall<'a>,
    index: usize,
) -> Result<&'a [Sample], PromqlError> {
    match call.args.get(index) {
        Some(FnArg::Vector(samples)) => Ok(samples),
        other => Err(bad_argument(call.name, index, "an instant vector", other)),
    }
}

/// Returns the scalar argument at `index`.
pub(crate) fn scalar_arg(call: &FunctionCall<'_>, index: usize) -> Result<f64, PromqlError> {
    match call.args.get(index) {
        Some(FnArg::Scalar(value)) => Ok(*value),
        other => Err(bad_argument(call.name, index, "a scalar", other)),
    }
}

/// Returns the scalar argument at `index`, or `None` when the optional argument was not
/// written.
pub(crate) fn optional_scalar_arg(
    call: &FunctionCall<'_>,
    index: usize,
) -> Result<Option<f64>, PromqlError> {
    if call.args.len() <= index {
        return Ok(None);
    }
    scalar_arg(call, index).map(Some)
}

/// Returns the string argument at `index`.
pub(crate) fn string_arg<'a>(
    call: &FunctionCall<'a>,
    index: usize,
) -> Result<&'a str, PromqlError> {
    match call.args.get(index) {
        Some(FnArg::String(text)) => Ok(text),
        other => Err(bad_argument(call.name, index, "a string", other)),
    }
}

/// Returns the range-vector argument at `index`: its series and the step's window.
pub(crate) fn matrix_arg<'a>(
    call: &FunctionCall<'a>,
    index: usize,
) -> Result<(&'a [Series], Window), PromqlError> {
    match call.args.get(index) {
        Some(FnArg::Matrix { series, window }) => Ok((series, *window)),
        other => Err(bad_argument(call.name, index, "a range vector", other)),
    }
}

/// The internal error for an argument of the wrong kind (the parser's type checks make
/// this a bug in the evaluator, never a user error).
fn bad_argument(name: &str, index: usize, wanted: &str, got: Option<&FnArg<'_>>) -> PromqlError {
    let got = match got {
        None => "nothing",
        Some(FnArg::Vector(_)) => "an instant vector",
        Some(FnArg::Scalar(_)) => "a scalar",
        Some(FnArg::String(_)) => "a string",
        Some(FnArg::Matrix { .. }) => "a range vector",
    };
    PromqlError::Internal(format!(
        "function {name}: argument {index} should be {wanted}, got {got}"
    ))
}

/// Builds an output sample at the step time `ts`.
pub(crate) fn output(metric: Labels, ts: i64, value: f64, drop_name: bool) -> Sample {
    Sample {
        metric,
        t: ts,
        f: value,
        drop_name,
    }
}

/// The one-sample vector a scalar-returning function (`time`, `pi`, `scalar`, …) answers
/// with: empty labels, the value at `ts`.
pub(crate) fn scalar_output(ts: i64, value: f64) -> Vec<Sample> {
    vec![output(Labels::default(), ts, value, false)]
}

/// Returns `labels` with `name` set to `value`; an empty `value` removes the label (as
/// Prometheus's `labels.Builder.Set` does).
pub(crate) fn with_label(labels: &Labels, name: &str, value: &str) -> Result<Labels, PromqlError> {
    let pairs = labels
        .iter()
        .filter(|label| label.name != name)
        .map(|label| (label.name, label.value))
        .chain(std::iter::once((name, value)));
    Labels::new(pairs).map_err(|error| PromqlError::Internal(format!("building labels: {error}")))
}

/// Returns `labels` without the labels named in `names`.
pub(crate) fn without_labels(labels: &Labels, names: &[&str]) -> Result<Labels, PromqlError> {
    let pairs = labels
        .iter()
        .filter(|label| !names.contains(&label.name))
        .map(|label| (label.name, label.value));
    Labels::new(pairs).map_err(|error| PromqlError::Internal(format!("building labels: {error}")))
}

/// Returns the metric name of a label set (`""` when it has none).
pub(crate) fn metric_name(labels: &Labels) -> &str {
    labels.get(METRIC_NAME)
}

/// Formats `value` as Go's `strconv.FormatFloat(value, 'g', -1, 64)` and `fmt`'s `%g`:
/// the shortest digits that round-trip, in exponent form when the decimal exponent is
/// below -4 or at least 6.
pub(crate) fn go_format_g(value: f64) -> String {
    go_format_float(value, 6)
}

/// Formats `value` with Go's shortest `'g'` formatting, switching to exponent form when
/// the decimal exponent is below -4 or at least `exponent_threshold`.
fn go_format_float(value: f64, exponent_threshold: i32) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value == 0.0 {
        return format!("{sign}0");
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, as Go's `-1` precision does.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if exponent < -4 || exponent >= exponent_threshold {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        );
    }
    let point = exponent + 1; // digits before the decimal point
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{text}")
}

/// Quotes `text` as Go's `%q` / `strconv.Quote` does for the strings Prometheus puts in
/// messages: double quotes, backslash escapes for quotes, backslashes and control
/// characters.
pub(crate) fn go_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{7}' => quoted.push_str("\\a"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            '\u{b}' => quoted.push_str("\\v"),
            c if (c as u32) < 0x80 && c.is_control() => {
                quoted.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                let code = c as u32;
                if code <= 0xffff {
                    quoted.push_str(&format!("\\u{code:04x}"));
                } else {
                    quoted.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Go's `math.Max`: `+Inf` wins over NaN, NaN wins over everything else, `+0` over `-0`.
pub(crate) fn go_max(x: f64, y: f64) -> f64 {
    if x == f64::INFINITY || y == f64::INFINITY {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// Go's `math.Min`: `-Inf` wins over NaN, NaN wins over everything else, `-0` over `+0`.
pub(crate) fn go_min(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY || y == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

/// Go's conversion `int64(value)` on amd64: truncation toward zero, and the "integer
/// indefinite" `i64::MIN` for NaN and values out of range.
pub(crate) fn go_float_to_int(value: f64) -> i64 {
    // 2^63 is exactly representable; everything in [-2^63, 2^63) converts.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if value.is_nan() || !(-LIMIT..LIMIT).contains(&value) {
        return i64::MIN;
    }
    value.trunc() as i64
}

/// One step of Kahan–Neumaier summation, as Prometheus's `kahansum.Inc`: adds `increment`
/// to `sum` with the running compensation `compensation`, returning both.
pub(crate) fn kahan_inc(increment: f64, sum: f64, compensation: f64) -> (f64, f64) {
    let total = sum + increment;
    let compensation = if total.is_infinite() {
        0.0
    } else if sum.abs() >= increment.abs() {
        compensation + ((sum - total) + increment)
    } else {
        compensation + ((increment - total) + sum)
    };
    (total, compensation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_formatting_matches_go() {
        // Values and the text Go's %g prints for them.
        let cases = [
            (0.5, "0.5"),
            (-1.0, "-1"),
            (2.0, "2"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123456.0, "123456"),
            (1e21, "1e+21"),
            (1234567.0, "1.234567e+06"),
            (100000.0, "100000"),
            (1.5e300, "1.5e+300"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (0.1, "0.1"),
            (-0.0, "-0"),
        ];
        for (value, text) in cases {
            assert_eq!(go_format_g(value), text, "formatting {value}");
        }
    }

    #[test]
    fn go_quote_escapes_like_strconv_quote() {
        assert_eq!(go_quote("Hello World"), "\"Hello World\"");
        assert_eq!(go_quote(""), "\"\"");
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(go_quote("\u{1}"), "\"\\x01\"");
    }

    #[test]
    fn go_min_max_treat_nan_and_infinities_like_go() {
        assert!(go_max(1.0, f64::NAN).is_nan());
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert!(go_min(f64::NAN, 1.0).is_nan());
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(go_max(-0.0, 0.0).is_sign_positive());
        assert!(go_min(0.0, -0.0).is_sign_negative());
        assert_eq!(go_max(1.0, 2.0), 2.0);
        assert_eq!(go_min(1.0, 2.0), 1.0);
    }

    #[test]
    fn float_to_int_truncates_and_saturates_like_go_amd64() {
        assert_eq!(go_float_to_int(1.9), 1);
        assert_eq!(go_float_to_int(-1.9), -1);
        assert_eq!(go_float_to_int(f64::NAN), i64::MIN);
        assert_eq!(go_float_to_int(1e300), i64::MIN);
    }

    #[test]
    fn kahan_summation_recovers_lost_low_bits() {
        let values = [1.0, 1e100, 1.0, -1e100];
        let (mut sum, mut compensation) = (0.0, 0.0);
        for value in values {
            (sum, compensation) = kahan_inc(value, sum, compensation);
        }
        assert_eq!(sum + compensation, 2.0);
    }
}
