//! How series and names are shown in validation messages, as Mimir shows them.
//!
//! Series use Mimir's `FromLabelAdaptersToString` layout: the metric name, then the other
//! labels in the order given, `name="value"` joined by `, ` inside braces (`up{job="a",
//! instance="h:1"}`); a series without other labels is just its name, one without any label
//! `{}`. Values are quoted like Go's `strconv.Quote`. Messages cut each quoted part to 200
//! characters, as Mimir's `%.200s` verbs do.

use std::fmt::Write as _;

use norn_model::labels::METRIC_NAME;

/// How many characters of a name, value or series a message shows (Mimir's `%.200s`).
pub(super) const MESSAGE_PART_CHARS: usize = 200;

/// Formats labels as Mimir does in error messages: `metric{a="b", c="d"}`.
///
/// The first `__name__` label supplies the metric name; every other label (a repeated
/// `__name__` included) follows in the order given, duplicates kept, so the text shows what
/// the client sent. Values are escaped like Go's `strconv.Quote` (quotes, backslashes, control
/// and invisible characters); names are written as they are. The result is not truncated.
pub fn format_series<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut text = String::new();
    let mut others = Vec::new();
    let mut has_metric_name = false;
    for (name, value) in labels {
        if name == METRIC_NAME && !has_metric_name {
            has_metric_name = true;
            text.push_str(value);
        } else {
            others.push((name, value));
        }
    }
    for (index, (name, value)) in others.iter().enumerate() {
        text.push_str(if index == 0 { "{" } else { ", " });
        text.push_str(name);
        text.push('=');
        push_go_quoted(&mut text, value);
    }
    if !others.is_empty() {
        text.push('}');
    }
    if text.is_empty() {
        text.push_str("{}");
    }
    text
}

/// Appends `value` in double quotes, escaped as Go's `strconv.Quote` escapes it: `\"`, `\\`,
/// the C escapes (`\n`, `\t`…), other ASCII controls as `\xNN`, and non-printable Unicode
/// (other controls, whitespace but the space, common invisible format characters) as
/// `\uNNNN` / `\UNNNNNNNN`.
fn push_go_quoted(out: &mut String, value: &str) {
    out.push('"');
    for character in value.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            ' ' => out.push(' '),
            _ if character.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(character));
            }
            _ if is_unprintable(character) => {
                let code = u32::from(character);
                let _ = if code <= 0xffff {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
            _ => out.push(character),
        }
    }
    out.push('"');
}

/// Approximates the complement of Go's `unicode.IsPrint` for non-ASCII characters: controls,
/// whitespace and separators, and the invisible format characters clients send by accident.
fn is_unprintable(character: char) -> bool {
    character.is_control()
        || character.is_whitespace()
        || matches!(
            character,
            '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
                | '\u{feff}'
        )
}

/// Returns the first `max_chars` characters of `text` (Go's `%.Ns` precision counts runes).
pub(super) fn truncate_chars(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text.get(..end).unwrap_or(text),
        None => text,
    }
}

/// Returns `…` when `text` is longer than [`MESSAGE_PART_CHARS`] characters, for messages
/// that mark the cut (Mimir's `getMetricAndEllipsis`).
pub(super) fn ellipsis_if_truncated(text: &str) -> &'static str {
    if text.chars().nth(MESSAGE_PART_CHARS).is_some() {
        "\u{2026}"
    } else {
        ""
    }
}

/// Drops non-ASCII characters and says so, as Mimir does for an invalid metric name.
pub(super) fn remove_non_ascii(text: &str) -> String {
    let ascii: String = text.chars().filter(char::is_ascii).collect();
    if ascii.len() == text.len() {
        ascii
    } else {
        ascii + " (non-ascii characters removed)"
    }
}
