//! The JSON Prometheus's HTTP API answers with, written byte for byte as Prometheus writes it
//! (`util/jsonutil/marshal.go`):
//!
//! - sample values are strings formatted as Go's `strconv.FormatFloat(v, 'f', -1, 64)`, or
//!   `'e'` when `|v| < 1e-6` or `|v| >= 1e21` (`"1.5"`, `"1e-07"`, `"1e+21"`), with `NaN`,
//!   `+Inf` and `-Inf` spelled so;
//! - timestamps are numbers of seconds with the milliseconds as exactly three decimals when
//!   there are any (`1700000000.123`, `1.500`, `4`);
//! - the envelope is `{"status":"success","data":…}` plus `warnings` and `infos` when there
//!   are any.

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use norn_model::Labels;
use norn_model::labels::METRIC_NAME;
use norn_promql::{FPoint, Value};

/// Formats a sample value as Prometheus does (without the quotes).
pub(crate) fn format_value(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        // Rust writes `1.5e-7`; Go writes `1.5e-07`: a signed exponent of at least 2 digits.
        let text = format!("{value:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs());
    }
    // Rust's shortest round-trip digits in plain notation, as Go's 'f' with precision -1.
    format!("{value}")
}

/// Formats a millisecond timestamp as Prometheus's JSON number of seconds.
pub(crate) fn format_timestamp(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let magnitude = ms.unsigned_abs();
    let fraction = magnitude % 1000;
    if fraction == 0 {
        format!("{sign}{}", magnitude / 1000)
    } else {
        format!("{sign}{}.{fraction:03}", magnitude / 1000)
    }
}

/// Appends `text` as a JSON string.
pub(crate) fn push_string(out: &mut String, text: &str) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Go's encoder escapes these for HTML safety; clients decode either form.
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(character));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a label set as a JSON object, leaving out `__name__` when `drop_name` is set.
pub(crate) fn push_labels(out: &mut String, labels: &Labels, drop_name: bool) {
    out.push('{');
    let mut first = true;
    for label in labels.iter() {
        if drop_name && label.name == METRIC_NAME {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        push_string(out, label.name);
        out.push(':');
        push_string(out, label.value);
    }
    out.push('}');
}

/// Appends `[<seconds>,"<value>"]`.
fn push_point(out: &mut String, point: FPoint) {
    out.push('[');
    out.push_str(&format_timestamp(point.t));
    out.push_str(",\"");
    out.push_str(&format_value(point.f));
    out.push_str("\"]");
}

/// Renders `{"resultType":…,"result":…` (without the closing brace, so stats may follow).
pub(crate) fn push_query_data(out: &mut String, value: &Value) {
    out.push_str("{\"resultType\":\"");
    out.push_str(value.type_name());
    out.push_str("\",\"result\":");
    match value {
        Value::Scalar { t, f } => push_point(out, FPoint { t: *t, f: *f }),
        Value::String { t, s } => {
            out.push('[');
            out.push_str(&format_timestamp(*t));
            out.push(',');
            push_string(out, s);
            out.push(']');
        }
        Value::Vector(samples) => {
            out.push('[');
            for (index, sample) in samples.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(out, &sample.metric, sample.drop_name);
                out.push_str(",\"value\":");
                push_point(
                    out,
                    FPoint {
                        t: sample.t,
                        f: sample.f,
                    },
                );
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            out.push('[');
            for (index, one) in series.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(out, &one.metric, one.drop_name);
                out.push_str(",\"values\":[");
                for (position, point) in one.floats.iter().enumerate() {
                    if position > 0 {
                        out.push(',');
                    }
                    push_point(out, *point);
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
}

/// Warnings and infos to send beside the data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Notes {
    /// `warnings`.
    pub(crate) warnings: Vec<String>,
    /// `infos`.
    pub(crate) infos: Vec<String>,
}

/// Builds the success envelope around already-rendered `data` JSON.
pub(crate) fn success_body(data: &str, notes: &Notes) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str("{\"status\":\"success\",\"data\":");
    out.push_str(data);
    for (key, list) in [("warnings", &notes.warnings), ("infos", &notes.infos)] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(out, ",\"{key}\":[");
        for (index, text) in list.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            push_string(&mut out, text);
        }
        out.push(']');
    }
    out.push('}');
    out
}

/// A 200 response with the success envelope around `data`.
pub(crate) fn success(data: &str, notes: &Notes) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        success_body(data, notes),
    )
        .into_response()
}

/// A 200 response with the success envelope around a serializable value.
pub(crate) fn success_value(data: &serde_json::Value, notes: &Notes) -> Response {
    success(&data.to_string(), notes)
}

#[cfg(test)]
mod tests {
    use norn_promql::{Sample, Series};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn values_are_formatted_like_go() {
        for (value, expected) in [
            (1.5, "1.5"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (100.0, "100"),
            (0.1, "0.1"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-07"),
            (1e-6, "0.000001"),
            (-2.5e25, "-2.5e+25"),
            (1e100, "1e+100"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (1234567.891, "1234567.891"),
        ] {
            assert_eq!(format_value(value), expected, "{value}");
        }
    }

    #[test]
    fn timestamps_have_three_decimals_when_needed() {
        assert_eq!(format_timestamp(4000), "4");
        assert_eq!(format_timestamp(1500), "1.500");
        assert_eq!(format_timestamp(1_700_000_000_123), "1700000000.123");
        assert_eq!(format_timestamp(5), "0.005");
        assert_eq!(format_timestamp(-1500), "-1.500");
    }

    #[test]
    fn results_render_in_prometheus_shape() {
        let labels = Labels::new([("__name__", "up"), ("job", "a\"<")]).unwrap();
        let vector = Value::Vector(vec![Sample {
            metric: labels.clone(),
            t: 1_700_000_000_123,
            f: 1.5,
            drop_name: false,
        }]);
        let mut out = String::new();
        push_query_data(&mut out, &vector);
        out.push('}');
        assert_eq!(
            out,
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a\"\u003c"},"value":[1700000000.123,"1.5"]}]}"#
        );
        let matrix = Value::Matrix(vec![Series {
            metric: labels,
            floats: vec![
                FPoint {
                    t: 1000,
                    f: f64::NAN,
                },
                FPoint { t: 2000, f: 2.0 },
            ],
            drop_name: true,
        }]);
        let mut out = String::new();
        push_query_data(&mut out, &matrix);
        assert_eq!(
            out,
            r#"{"resultType":"matrix","result":[{"metric":{"job":"a\"\u003c"},"values":[[1,"NaN"],[2,"2"]]}]"#
        );
        let mut out = String::new();
        push_query_data(&mut out, &Value::Scalar { t: 4000, f: 2.0 });
        assert_eq!(out, r#"{"resultType":"scalar","result":[4,"2"]"#);
        let mut out = String::new();
        push_query_data(
            &mut out,
            &Value::String {
                t: 4000,
                s: "hi".into(),
            },
        );
        assert_eq!(out, r#"{"resultType":"string","result":[4,"hi"]"#);
    }

    #[test]
    fn the_envelope_lists_notes_only_when_present() {
        assert_eq!(
            success_body("[]", &Notes::default()),
            r#"{"status":"success","data":[]}"#
        );
        let notes = Notes {
            warnings: vec!["w".into()],
            infos: vec!["i".into()],
        };
        assert_eq!(
            success_body("1", &notes),
            r#"{"status":"success","data":1,"warnings":["w"],"infos":["i"]}"#
        );
    }

    proptest! {
        #[test]
        fn finite_values_round_trip(bits in any::<u64>()) {
            let value = f64::from_bits(bits);
            prop_assume!(value.is_finite());
            let text = format_value(value);
            prop_assert_eq!(text.parse::<f64>().unwrap().to_bits(), value.to_bits());
        }

        #[test]
        fn strings_are_valid_json(text in "\\PC*") {
            let mut out = String::new();
            push_string(&mut out, &text);
            let parsed: String = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(parsed, text);
        }
    }
}
