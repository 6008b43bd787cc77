//! `label_replace` and `label_join`: rewrite one label of every sample, leaving values
//! alone. Setting `__name__` makes the name stay (`drop_name = false`), as in Prometheus.

use norn_model::labels::METRIC_NAME;
use regex::Regex;

use super::FunctionCall;
use super::common::{output, string_arg, vector_arg, with_label};
use crate::error::PromqlError;
use crate::value::{Sample, Vector};

/// Prometheus 3's label-name rule (UTF-8 names): any non-empty valid UTF-8 string. Bytes
/// that were not valid UTF-8 in the query's Go string literal arrive as U+FFFD (see
/// `crate::parse`).
fn is_valid_label_name(name: &str) -> bool {
    !name.is_empty() && !crate::parse::is_invalid_utf8_marker(name)
}

/// Compiles `pattern` anchored at both ends with `.` matching newlines, as Prometheus's
/// `^(?s:pattern)$`.
pub(crate) fn anchored_regex(pattern: &str) -> Option<Regex> {
    Regex::new(&format!("^(?s:{pattern})$")).ok()
}

/// The output for one input sample whose label `name` becomes `value`.
fn relabeled(sample: &Sample, ts: i64, name: &str, value: &str) -> Result<Sample, PromqlError> {
    let metric = with_label(&sample.metric, name, value)?;
    let drop_name = name != METRIC_NAME && sample.drop_name;
    Ok(output(metric, ts, sample.f, drop_name))
}

/// `label_replace(v, dst, replacement, src, regex)`: where `regex` matches the whole
/// value of `src`, sets `dst` to `replacement` with `$1`/`${name}` expanded (an empty
/// result removes `dst`); other samples pass unchanged.
pub(crate) fn label_replace(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let destination = string_arg(call, 1)?;
    let replacement = string_arg(call, 2)?;
    let source = string_arg(call, 3)?;
    let pattern = string_arg(call, 4)?;
    let regex = anchored_regex(pattern).ok_or_else(|| {
        PromqlError::Execution(format!(
            "invalid regular expression in label_replace(): {pattern}"
        ))
    })?;
    if !is_valid_label_name(destination) {
        return Err(PromqlError::Execution(format!(
            "invalid destination label name in label_replace(): {destination}"
        )));
    }
    let input = vector_arg(call, 0)?;
    let mut out = Vector::with_capacity(input.len());
    for sample in input {
        let source_value = sample.metric.get(source);
        match regex.captures(source_value) {
            Some(captures) => {
                let mut value = String::new();
                captures.expand(replacement, &mut value);
                out.push(relabeled(sample, call.ts, destination, &value)?);
            }
            None => out.push(output(
                sample.metric.clone(),
                call.ts,
                sample.f,
                sample.drop_name,
            )),
        }
    }
    Ok(out)
}

/// `label_join(v, dst, separator, src...)`: sets `dst` to the values of the `src` labels
/// joined by `separator` (absent labels count as empty; an empty result removes `dst`).
pub(crate) fn label_join(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let destination = string_arg(call, 1)?;
    let separator = string_arg(call, 2)?;
    let sources = (3..call.args.len())
        .map(|index| string_arg(call, index))
        .collect::<Result<Vec<&str>, PromqlError>>()?;
    if let Some(invalid) = sources.iter().find(|name| !is_valid_label_name(name)) {
        return Err(PromqlError::Execution(format!(
            "invalid source label name in label_join(): {invalid}"
        )));
    }
    if !is_valid_label_name(destination) {
        return Err(PromqlError::Execution(format!(
            "invalid destination label name in label_join(): {destination}"
        )));
    }
    let input = vector_arg(call, 0)?;
    input
        .iter()
        .map(|sample| {
            let joined = sources
                .iter()
                .map(|name| sample.metric.get(name))
                .collect::<Vec<&str>>()
                .join(separator);
            relabeled(sample, call.ts, destination, &joined)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored_and_dot_matches_newline() {
        let regex = anchored_regex("a.c")
            .map(|r| (r.is_match("abc"), r.is_match("xabc"), r.is_match("a\nc")));
        assert_eq!(regex, Some((true, false, true)));
        assert!(anchored_regex("(.*").is_none());
    }

    #[test]
    fn expansion_follows_go_template_rules() {
        let Some(regex) = anchored_regex("source-(?P<kind>[a-z]+)-(\\d+)") else {
            panic!("valid regex");
        };
        let Some(captures) = regex.captures("source-value-10") else {
            panic!("matches");
        };
        let expand = |template: &str| {
            let mut out = String::new();
            captures.expand(template, &mut out);
            out
        };
        assert_eq!(expand("$1"), "value");
        assert_eq!(expand("${2}x"), "10x");
        // `$2x` names a group "2x", which does not exist: empty.
        assert_eq!(expand("$2x"), "");
        assert_eq!(expand("$kind-$$"), "value-$");
    }
}
