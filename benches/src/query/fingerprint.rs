//! Result fingerprints: a hash of a Prometheus API answer that is equal for equal answers from
//! different servers, so a benchmark run can tell whether the targets agreed.
//!
//! The answer is reduced to a canonical text before hashing: series label sets sorted by label
//! name (`name="value"` joined by commas), the series sorted, timestamps in milliseconds, values
//! quantised (see [`quantize`]; `NaN`, `+Inf`, `-Inf` kept, `-0` is `0`), label and label-value
//! lists sorted. So server-side ordering, float formatting and differences in the last bits
//! (summation order) do not matter; a different series, point or value does. The hash is 64-bit
//! FNV-1a, printed as 16 hex digits.

use serde_json::Value;

/// What a response reduced to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fingerprint {
    /// FNV-1a of the canonical answer, 16 hex digits.
    pub hash: String,
    /// `success`, `error:<errorType>`, or `invalid` (not Prometheus JSON).
    pub outcome: String,
    /// Series in the result (entries for label, label-value and series lists).
    pub series: usize,
    /// Points over all series (1 per vector sample or scalar).
    pub points: usize,
}

/// Fingerprints a response body of the Prometheus HTTP API.
pub fn fingerprint(body: &[u8]) -> Fingerprint {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let Some(json) = parsed else {
        return finish(
            "invalid".to_owned(),
            vec![String::from_utf8_lossy(body).into_owned()],
            0,
        );
    };
    match json["status"].as_str() {
        Some("success") => {}
        Some("error") => {
            let error_type = json["errorType"].as_str().unwrap_or("unknown");
            // The message wording differs between servers; the error type is what must match.
            return finish(format!("error:{error_type}"), Vec::new(), 0);
        }
        _ => return finish("invalid".to_owned(), vec![json.to_string()], 0),
    }
    let data = &json["data"];
    let (lines, points) = match data["resultType"].as_str() {
        Some("vector") => canonical_vector(&data["result"]),
        Some("matrix") => canonical_matrix(&data["result"]),
        Some("scalar") => (vec![format!("scalar {}", point(&data["result"]))], 1),
        Some("string") => (vec![format!("string {}", data["result"])], 1),
        _ => canonical_list(data),
    };
    finish("success".to_owned(), lines, points)
}

fn finish(outcome: String, mut lines: Vec<String>, points: usize) -> Fingerprint {
    lines.sort_unstable();
    let mut hash = Fnv1a::default();
    hash.write(outcome.as_bytes());
    for line in &lines {
        hash.write(b"\n");
        hash.write(line.as_bytes());
    }
    Fingerprint {
        hash: format!("{:016x}", hash.0),
        outcome,
        series: lines.len(),
        points,
    }
}

fn canonical_vector(result: &Value) -> (Vec<String>, usize) {
    let items = result.as_array().map(Vec::as_slice).unwrap_or_default();
    let lines: Vec<String> = items
        .iter()
        .map(|item| format!("{} {}", labels(&item["metric"]), point(&item["value"])))
        .collect();
    let points = lines.len();
    (lines, points)
}

fn canonical_matrix(result: &Value) -> (Vec<String>, usize) {
    let items = result.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut points = 0;
    let lines = items
        .iter()
        .map(|item| {
            let values = item["values"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            points += values.len();
            let rendered: Vec<String> = values.iter().map(point).collect();
            format!("{} {}", labels(&item["metric"]), rendered.join(" "))
        })
        .collect();
    (lines, points)
}

/// `labels`, `label/<name>/values` (strings) and `series` (label objects) answers.
fn canonical_list(data: &Value) -> (Vec<String>, usize) {
    let items = data.as_array().map(Vec::as_slice).unwrap_or_default();
    let lines: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::String(text) => text.clone(),
            Value::Object(_) => labels(item),
            other => other.to_string(),
        })
        .collect();
    let points = lines.len();
    (lines, points)
}

/// `{a="1",b="2"}` with names sorted.
fn labels(metric: &Value) -> String {
    let mut pairs: Vec<String> = metric
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(name, value)| format!("{name}={}", value))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort_unstable();
    format!("{{{}}}", pairs.join(","))
}

/// `[<seconds>, "<value>"]` as `<value>@<milliseconds>`.
fn point(pair: &Value) -> String {
    let millis = pair[0]
        .as_f64()
        .map_or(0, |seconds| (seconds * 1000.0).round() as i64);
    let value = pair[1].as_str().unwrap_or_default();
    format!("{}@{millis}", quantize(value))
}

/// Quantises a sample value to 20 bits of binary mantissa (a relative step of about 1e-6),
/// printed as hex. Rounding in decimal would not do: data with few decimals gives "nice" results
/// such as `1.150625`, which sit exactly on a six-digit rounding tie, so a last-bit difference
/// of a differently ordered sum (`1.1506249999999998` against `1.1506250000000005`) flips the
/// rounded digit. Such values are never near a binary rounding boundary (`1 + k·2⁻²⁰ + 2⁻²¹`).
/// Go's special spellings are kept and negative zero is folded into zero.
pub fn quantize(text: &str) -> String {
    const KEPT_MANTISSA_BITS: u32 = 20;
    const DROPPED_BITS: u32 = 52 - KEPT_MANTISSA_BITS;
    match text {
        "NaN" | "+Inf" | "-Inf" => text.to_owned(),
        _ => match text.parse::<f64>() {
            Ok(0.0) => "0".to_owned(),
            Ok(value) if value.is_nan() => "NaN".to_owned(),
            Ok(value) if value.is_infinite() => {
                if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
            }
            Ok(value) => {
                let sign = if value < 0.0 { "-" } else { "" };
                // Exponent and mantissa bits of the magnitude, rounded half up at the kept
                // precision (a carry into the exponent is the correct rounding too).
                let magnitude = value.abs().to_bits();
                let rounded = (magnitude + (1 << (DROPPED_BITS - 1))) >> DROPPED_BITS;
                format!("{sign}{rounded:x}")
            }
            Err(_) => text.to_owned(),
        },
    }
}

/// 64-bit FNV-1a.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_answers_in_another_order_or_spelling_match() {
        let prometheus = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"job":"a","instance":"x"},"value":[1700000000,"0.30000000000000004"]},
            {"metric":{"instance":"y","job":"a"},"value":[1700000000,"2"]}]}}"#;
        let other = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"y","job":"a"},"value":[1700000000.000,"2.0"]},
            {"metric":{"instance":"x","job":"a"},"value":[1700000000,"0.3"]}]},"warnings":["w"]}"#;
        let left = fingerprint(prometheus);
        assert_eq!(left, fingerprint(other));
        assert_eq!(
            (left.series, left.points, left.outcome.as_str()),
            (2, 2, "success")
        );
    }

    #[test]
    fn a_different_value_label_or_point_changes_the_hash() {
        let base = fingerprint(
            br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"1"],[2,"2"]]}]}}"#,
        );
        for changed in [
            &br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"1"],[2,"2.01"]]}]}}"#[..],
            br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"2"},"values":[[1,"1"],[2,"2"]]}]}}"#,
            br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[1,"1"]]}]}}"#,
            br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
        ] {
            assert_ne!(fingerprint(changed).hash, base.hash);
        }
        assert_eq!(base.points, 2);
    }

    #[test]
    fn lists_errors_and_garbage_fingerprint_too() {
        let labels = fingerprint(br#"{"status":"success","data":["job","__name__","instance"]}"#);
        let reordered =
            fingerprint(br#"{"status":"success","data":["instance","job","__name__"]}"#);
        assert_eq!(labels, reordered);
        assert_eq!(labels.series, 3);
        let series = fingerprint(
            br#"{"status":"success","data":[{"__name__":"up","job":"a"},{"job":"b","__name__":"up"}]}"#,
        );
        assert_eq!(series.series, 2);
        let error = fingerprint(br#"{"status":"error","errorType":"bad_data","error":"x"}"#);
        assert_eq!(error.outcome, "error:bad_data");
        assert_eq!(
            error,
            fingerprint(br#"{"status":"error","errorType":"bad_data","error":"other words"}"#)
        );
        assert_eq!(fingerprint(b"404 page not found").outcome, "invalid");
    }

    #[test]
    fn values_quantise_to_about_a_millionth() {
        // The pair that differs in the last bits of a sum and straddles a decimal tie.
        assert_eq!(
            quantize("1.1506249999999998"),
            quantize("1.1506250000000005")
        );
        assert_eq!(quantize("2.0"), quantize("2"));
        assert_eq!(quantize("1e6"), quantize("1000000.0000001"));
        assert_ne!(quantize("1.0"), quantize("1.00001"));
        assert_ne!(quantize("-1.5"), quantize("1.5"));
        assert_eq!(quantize("-0"), "0");
        assert_eq!(quantize("+Inf"), "+Inf");
        assert_eq!(quantize("1e400"), "+Inf");
        assert_eq!(quantize("NaN"), "NaN");
    }
}
