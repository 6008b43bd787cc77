//! The series notation of promqltest scripts (Prometheus's "series description", also used
//! by `promtool test rules`): a metric (`name{label="value", …}`, `{label="value"}` or just
//! `name`) followed by a sequence of values in expanding notation.
//!
//! | item            | values                                                     |
//! |-----------------|------------------------------------------------------------|
//! | `5`, `-1.5e3`   | one value (`Inf`, `-Inf`, `NaN` too)                       |
//! | `stale`         | one stale marker                                           |
//! | `_`             | one omitted step                                           |
//! | `_xN`           | N omitted steps                                            |
//! | `AxN`           | N+1 copies of A                                            |
//! | `A+BxN`/`A-BxN` | N+1 values A, A±B, …: B is *added repeatedly*, as Prometheus does, so rounding matches |
//! | `{{…}}`, `{{…}}xN`, `{{…}}+{{…}}xN` | native histograms (kept as text: Norn stores floats only) |

use norn_model::Labels;

use crate::value::STALE_NAN_BITS;

/// One position of a sequence.
#[derive(Clone, Debug, PartialEq)]
pub enum SequenceValue {
    /// No sample at this step (`_`).
    Omitted,
    /// A float sample (a stale marker is the stale NaN).
    Float(f64),
    /// A native histogram, as written between `{{` and `}}`.
    Histogram(String),
}

impl SequenceValue {
    /// Returns true for a native histogram.
    pub fn is_histogram(&self) -> bool {
        matches!(self, SequenceValue::Histogram(_))
    }
}

/// A series line: labels and the values at consecutive steps.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesDescription {
    /// The series' labels (the metric name is `__name__`).
    pub labels: Labels,
    /// One entry per step.
    pub values: Vec<SequenceValue>,
}

/// Parses a series line such as `metric{l="v"} 1+2x3 _ stale`.
pub fn parse_series_description(line: &str) -> Result<SeriesDescription, String> {
    let (labels, rest) = parse_metric(line)?;
    let values = parse_sequence(rest)?;
    Ok(SeriesDescription { labels, values })
}

/// Parses the metric part at the start of `text`; returns the labels and the rest.
pub(crate) fn parse_metric(text: &str) -> Result<(Labels, &str), String> {
    let text = text.trim_start();
    let name_end = text
        .char_indices()
        .find(|&(index, c)| !is_name_char(c, index == 0))
        .map_or(text.len(), |(index, _)| index);
    let mut name = text[..name_end].to_owned();
    let mut rest = &text[name_end..];
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(inside) = rest.strip_prefix('{') {
        let (braced_pairs, braced_name, after) = parse_label_list(inside)?;
        pairs = braced_pairs;
        if let Some(quoted_name) = braced_name {
            if !name.is_empty() {
                return Err(format!("metric name given twice in {text:?}"));
            }
            name = quoted_name;
        }
        rest = after;
    } else if name.is_empty() {
        return Err(format!("expected a metric name or '{{' in {text:?}"));
    }
    if !name.is_empty() {
        if pairs.iter().any(|(label, _)| label == "__name__") {
            return Err(format!("metric name given twice in {text:?}"));
        }
        pairs.push(("__name__".to_owned(), name));
    }
    let labels = Labels::new(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .map_err(|error| format!("invalid labels in {text:?}: {error}"))?;
    Ok((labels, rest))
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

type LabelList<'a> = (Vec<(String, String)>, Option<String>, &'a str);

/// Parses `l="v", …}` (the opening brace already consumed). A quoted string standing
/// alone is the metric name (Prometheus 3's `{"metric.name"}` syntax).
fn parse_label_list(mut text: &str) -> Result<LabelList<'_>, String> {
    let mut pairs = Vec::new();
    let mut quoted_name = None;
    loop {
        text = text.trim_start();
        if let Some(after) = text.strip_prefix('}') {
            return Ok((pairs, quoted_name, after));
        }
        let (label, after_label) = if text.starts_with(['"', '\'', '`']) {
            parse_quoted_prefix(text)?
        } else {
            let end = text
                .char_indices()
                .find(|&(index, c)| {
                    !(c.is_ascii_alphabetic() || c == '_' || (index > 0 && c.is_ascii_digit()))
                })
                .map_or(text.len(), |(index, _)| index);
            if end == 0 {
                return Err(format!("expected a label name at {text:?}"));
            }
            (text[..end].to_owned(), &text[end..])
        };
        text = after_label.trim_start();
        if let Some(after_equals) = text.strip_prefix('=') {
            let (value, after_value) = parse_quoted_prefix(after_equals.trim_start())?;
            pairs.push((label, value));
            text = after_value.trim_start();
        } else if quoted_name.is_none() {
            quoted_name = Some(label);
        } else {
            return Err(format!("expected '=' at {text:?}"));
        }
        if let Some(after_comma) = text.strip_prefix(',') {
            text = after_comma;
        } else if !text.starts_with('}') {
            return Err(format!("expected ',' or '}}' at {text:?}"));
        }
    }
}

/// Parses a Go-style quoted string (`"…"` or `'…'` with escapes, or a raw `` `…` ``) at the
/// start of `text`; returns the unquoted value and the rest.
pub(crate) fn parse_quoted_prefix(text: &str) -> Result<(String, &str), String> {
    let mut chars = text.char_indices();
    let Some((_, quote)) = chars.next() else {
        return Err("expected a quoted string, found the end of the line".to_owned());
    };
    if !matches!(quote, '"' | '\'' | '`') {
        return Err(format!("expected a quoted string at {text:?}"));
    }
    let mut value = String::new();
    while let Some((index, c)) = chars.next() {
        if c == quote {
            return Ok((value, &text[index + c.len_utf8()..]));
        }
        if c != '\\' || quote == '`' {
            value.push(c);
            continue;
        }
        let Some((_, escaped)) = chars.next() else {
            break;
        };
        let simple = match escaped {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' | '"' | '\'' => Some(escaped),
            _ => None,
        };
        if let Some(c) = simple {
            value.push(c);
            continue;
        }
        let (digits, radix) = match escaped {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => return Err(format!("unknown escape sequence \\{escaped} in {text:?}")),
        };
        let mut code: u32 = if radix == 8 {
            escaped.to_digit(8).unwrap_or(0)
        } else {
            0
        };
        for _ in 0..digits {
            let digit = chars
                .next()
                .and_then(|(_, d)| d.to_digit(radix))
                .ok_or_else(|| format!("invalid escape sequence in {text:?}"))?;
            code = code * radix + digit;
        }
        value.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    Err(format!("unterminated quoted string {text:?}"))
}

/// Parses a whole quoted string (nothing may follow the closing quote).
pub(crate) fn parse_quoted(text: &str) -> Result<String, String> {
    let (value, rest) = parse_quoted_prefix(text.trim())?;
    if !rest.trim().is_empty() {
        return Err(format!("unexpected text after the string: {rest:?}"));
    }
    Ok(value)
}

/// Parses a sequence of values in expanding notation.
pub fn parse_sequence(text: &str) -> Result<Vec<SequenceValue>, String> {
    let mut cursor = Cursor { text, position: 0 };
    let mut values = Vec::new();
    loop {
        cursor.skip_whitespace();
        if cursor.at_end() {
            return Ok(values);
        }
        let item_start = cursor.position;
        cursor.parse_item(&mut values)?;
        if !cursor.at_end() && !cursor.peek().is_some_and(char::is_whitespace) {
            return Err(format!(
                "unexpected {:?} in sequence item starting at {:?}",
                cursor.rest(),
                &text[item_start..]
            ));
        }
    }
}

/// Reads a sequence item by item.
struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.text[self.position..]
    }

    fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.position += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.position += prefix.len();
            true
        } else {
            false
        }
    }

    fn eat_ignore_case(&mut self, word: &str) -> bool {
        let rest = self.rest();
        if rest.len() >= word.len()
            && rest.as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes())
        {
            self.position += word.len();
            true
        } else {
            false
        }
    }

    /// Reads `xN` if present.
    fn repetitions(&mut self) -> Result<Option<usize>, String> {
        if !self.eat("x") {
            return Ok(None);
        }
        let digits: usize = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a repetition count at {:?}", self.rest()));
        }
        let count = self.rest()[..digits]
            .parse()
            .map_err(|_| format!("invalid repetition count at {:?}", self.rest()))?;
        self.position += digits;
        Ok(Some(count))
    }

    fn parse_item(&mut self, values: &mut Vec<SequenceValue>) -> Result<(), String> {
        if self.rest().starts_with("{{") {
            return self.parse_histogram_item(values);
        }
        if self.eat("_") {
            let count = self.repetitions()?.unwrap_or(1);
            values.extend(std::iter::repeat_n(SequenceValue::Omitted, count));
            return Ok(());
        }
        let first = self.number()?;
        if let Some(count) = self.repetitions()? {
            values.extend(std::iter::repeat_n(SequenceValue::Float(first), count + 1));
            return Ok(());
        }
        let sign = match self.peek() {
            Some('+') => 1.0,
            Some('-') => -1.0,
            _ => {
                values.push(SequenceValue::Float(first));
                return Ok(());
            }
        };
        self.position += 1;
        let increment = sign * self.unsigned_number()?;
        let Some(count) = self.repetitions()? else {
            return Err(format!(
                "expected 'x<count>' after the increment at {:?}",
                self.rest()
            ));
        };
        let mut current = first;
        values.push(SequenceValue::Float(current));
        for _ in 0..count {
            current += increment;
            values.push(SequenceValue::Float(current));
        }
        Ok(())
    }

    fn parse_histogram_item(&mut self, values: &mut Vec<SequenceValue>) -> Result<(), String> {
        let first = self.histogram()?;
        if let Some(count) = self.repetitions()? {
            values.extend(std::iter::repeat_n(
                SequenceValue::Histogram(first),
                count + 1,
            ));
            return Ok(());
        }
        if (self.rest().starts_with("+{{") || self.rest().starts_with("-{{")) && self.eat_any_sign()
        {
            let increment = self.histogram()?;
            let Some(count) = self.repetitions()? else {
                return Err(format!("expected 'x<count>' after {{{{{increment}}}}}"));
            };
            values.extend(std::iter::repeat_n(
                SequenceValue::Histogram(first),
                count + 1,
            ));
            return Ok(());
        }
        values.push(SequenceValue::Histogram(first));
        Ok(())
    }

    fn eat_any_sign(&mut self) -> bool {
        self.eat("+") || self.eat("-")
    }

    fn histogram(&mut self) -> Result<String, String> {
        if !self.eat("{{") {
            return Err(format!("expected '{{{{' at {:?}", self.rest()));
        }
        let Some(end) = self.rest().find("}}") else {
            return Err(format!("unterminated histogram {:?}", self.rest()));
        };
        let inner = self.rest()[..end].trim().to_owned();
        self.position += end + 2;
        Ok(inner)
    }

    /// A signed number or `stale`.
    fn number(&mut self) -> Result<f64, String> {
        if self.eat_ignore_case("stale") {
            return Ok(f64::from_bits(STALE_NAN_BITS));
        }
        if self.eat("-") {
            return Ok(-self.unsigned_number()?);
        }
        let _ = self.eat("+");
        self.unsigned_number()
    }

    /// `Inf`, `NaN` or a decimal number (`1`, `1.5`, `.5`, `1e-3`).
    fn unsigned_number(&mut self) -> Result<f64, String> {
        if self.eat_ignore_case("inf") {
            return Ok(f64::INFINITY);
        }
        if self.eat_ignore_case("nan") {
            return Ok(f64::NAN);
        }
        let bytes = self.rest().as_bytes();
        let mut end = 0;
        while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
            end += 1;
        }
        if end > 0 && end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
            let mut exponent_end = end + 1;
            if exponent_end < bytes.len()
                && (bytes[exponent_end] == b'+' || bytes[exponent_end] == b'-')
            {
                exponent_end += 1;
            }
            let digits_start = exponent_end;
            while exponent_end < bytes.len() && bytes[exponent_end].is_ascii_digit() {
                exponent_end += 1;
            }
            if exponent_end > digits_start {
                end = exponent_end;
            }
        }
        let token = &self.rest()[..end];
        let number = token
            .parse::<f64>()
            .map_err(|_| format!("expected a number at {:?}", self.rest()))?;
        self.position += end;
        Ok(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::is_stale_nan;

    fn floats(text: &str) -> Vec<Option<f64>> {
        parse_sequence(text)
            .unwrap()
            .into_iter()
            .map(|value| match value {
                SequenceValue::Float(f) => Some(f),
                SequenceValue::Omitted => None,
                SequenceValue::Histogram(h) => panic!("unexpected histogram {h}"),
            })
            .collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn expands_increments_and_repetitions() {
        assert_eq!(
            floats("1+2x3"),
            [Some(1.0), Some(3.0), Some(5.0), Some(7.0)]
        );
        assert_eq!(
            floats("-1-1x4"),
            [Some(-1.0), Some(-2.0), Some(-3.0), Some(-4.0), Some(-5.0)]
        );
        assert_eq!(floats("5x2"), [Some(5.0); 3]);
        assert_eq!(floats("0x0"), [Some(0.0)]);
        assert_eq!(floats("1 _ 2"), [Some(1.0), None, Some(2.0)]);
        assert_eq!(floats("_x3 1"), [None, None, None, Some(1.0)]);
        assert_eq!(
            floats("1.5e3 -2 +3 .5"),
            [Some(1500.0), Some(-2.0), Some(3.0), Some(0.5)]
        );
    }

    #[test]
    fn increments_accumulate_like_prometheus() {
        let values = floats("0+0.1x10");
        let mut expected: f64 = 0.0;
        for (step, value) in values.iter().enumerate() {
            if step > 0 {
                expected += 0.1;
            }
            assert_eq!(value.unwrap().to_bits(), expected.to_bits());
        }
        assert_eq!(values.len(), 11);
    }

    #[test]
    fn reads_special_values() {
        let values = floats("Inf -Inf NaN stale inf nan +Inf");
        assert_eq!(values[0], Some(f64::INFINITY));
        assert_eq!(values[1], Some(f64::NEG_INFINITY));
        assert!(values[2].unwrap().is_nan() && !is_stale_nan(values[2].unwrap()));
        assert!(is_stale_nan(values[3].unwrap()));
        assert_eq!(values[4], Some(f64::INFINITY));
        assert!(values[5].unwrap().is_nan());
        assert_eq!(values[6], Some(f64::INFINITY));
    }

    #[test]
    fn keeps_histograms_as_text() {
        let values = parse_sequence("1 {{schema:1 sum:3 count:22 buckets:[5 10 7]}} {{count:1}}x2 {{count:1}}+{{count:2}}x1 _").unwrap();
        assert_eq!(values.len(), 8);
        assert_eq!(values[0], SequenceValue::Float(1.0));
        assert_eq!(
            values[1],
            SequenceValue::Histogram("schema:1 sum:3 count:22 buckets:[5 10 7]".into())
        );
        assert!(values[2..7].iter().all(SequenceValue::is_histogram));
        assert_eq!(values[7], SequenceValue::Omitted);
    }

    #[test]
    fn rejects_malformed_items() {
        assert!(parse_sequence("1+2").is_err());
        assert!(parse_sequence("abc").is_err());
        assert!(parse_sequence("1x").is_err());
        assert!(parse_sequence("{{count:1").is_err());
        assert!(parse_sequence("1,2").is_err());
        assert!(parse_sequence("10+-1x2").is_err());
        assert!(parse_sequence("stale x2").is_err());
    }

    #[test]
    fn parses_metrics() {
        let series = parse_series_description(r#"metric{l="v", b='x'} 1 2"#).unwrap();
        assert_eq!(
            series.labels,
            labels(&[("__name__", "metric"), ("b", "x"), ("l", "v")])
        );
        assert_eq!(series.values.len(), 2);
        let series = parse_series_description(r#"{} 1"#).unwrap();
        assert!(series.labels.is_empty());
        let series = parse_series_description(r#"{job="a",} 1"#).unwrap();
        assert_eq!(series.labels, labels(&[("job", "a")]));
        let series = parse_series_description("up 0+1x2").unwrap();
        assert_eq!(series.labels, labels(&[("__name__", "up")]));
        assert_eq!(series.values.len(), 3);
        let series = parse_series_description(r#"{"my.metric", "a.b"="c\n"} 1"#).unwrap();
        assert_eq!(
            series.labels,
            labels(&[("__name__", "my.metric"), ("a.b", "c\n")])
        );
        let series = parse_series_description(r#"m{a="x\"y\\z"}"#).unwrap();
        assert_eq!(series.labels.get("a"), "x\"y\\z");
        assert!(series.values.is_empty());
        assert!(parse_series_description("1 2").is_err());
        assert!(parse_series_description(r#"m{a="b" 1"#).is_err());
    }

    #[test]
    fn unquotes_go_strings() {
        assert_eq!(parse_quoted(r#""a\tb""#).unwrap(), "a\tb");
        assert_eq!(parse_quoted("`raw\\n`").unwrap(), "raw\\n");
        assert_eq!(parse_quoted(r#"" Foo ""#).unwrap(), " Foo ");
        assert_eq!(parse_quoted(r#""\x41\u00e9""#).unwrap(), "Aé");
        assert!(parse_quoted(r#""open"#).is_err());
        assert!(parse_quoted(r#""a" b"#).is_err());
    }
}
