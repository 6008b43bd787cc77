//! Go string semantics for PromQL string literals.
//!
//! In Prometheus a string literal is a Go string: a byte sequence in which `\xff` or `\377`
//! is one raw byte, so `"\xff"` is not valid UTF-8 and is refused wherever a label name is
//! expected. The `promql-parser` crate decodes `\xff` to the character U+00FF instead, which is
//! valid. Before parsing, every literal whose Go bytes are not valid UTF-8 is rewritten to a
//! literal holding the lossy UTF-8 conversion of those bytes, so each invalid byte becomes
//! U+FFFD (the replacement character). Label names containing U+FFFD are then refused
//! ([`is_invalid_utf8_marker`]), as Prometheus refuses the invalid bytes.

use std::borrow::Cow;

/// The character standing for bytes that were not valid UTF-8 in a Go string literal.
const REPLACEMENT: char = '\u{FFFD}';

/// Returns true when `text` came from a Go string literal that was not valid UTF-8.
pub(crate) fn is_invalid_utf8_marker(text: &str) -> bool {
    text.contains(REPLACEMENT)
}

/// Returns `query` with every quoted literal that decodes (by Go's rules) to invalid UTF-8
/// replaced by a double-quoted literal of its lossy conversion; other text is unchanged.
pub(crate) fn rewrite_invalid_literals(query: &str) -> Cow<'_, str> {
    let bytes = query.as_bytes();
    let mut out: Option<String> = None;
    let mut copied_to = 0;
    let mut index = 0;
    while index < bytes.len() {
        let quote = bytes[index];
        if quote == b'#' {
            // A comment runs to the end of the line; quotes in it are not literals.
            while index < bytes.len() && bytes[index] != b'\n' {
                index += 1;
            }
            continue;
        }
        if quote != b'"' && quote != b'\'' && quote != b'`' {
            index += 1;
            continue;
        }
        let Some(end) = literal_end(bytes, index) else {
            break;
        };
        if quote != b'`'
            && let Some(decoded) = go_decode(&query[index + 1..end])
            && std::str::from_utf8(&decoded).is_err()
        {
            let text = out.get_or_insert_with(String::new);
            text.push_str(&query[copied_to..index]);
            text.push('"');
            for ch in String::from_utf8_lossy(&decoded).chars() {
                match ch {
                    '"' => text.push_str("\\\""),
                    '\\' => text.push_str("\\\\"),
                    '\n' => text.push_str("\\n"),
                    other => text.push(other),
                }
            }
            text.push('"');
            copied_to = end + 1;
        }
        index = end + 1;
    }
    match out {
        Some(mut text) => {
            text.push_str(&query[copied_to..]);
            Cow::Owned(text)
        }
        None => Cow::Borrowed(query),
    }
}

/// Returns the index of the quote closing the literal opened at `start`.
fn literal_end(bytes: &[u8], start: usize) -> Option<usize> {
    let quote = bytes[start];
    let mut index = start + 1;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' if quote != b'`' => index += 2,
            byte if byte == quote => return Some(index),
            _ => index += 1,
        }
    }
    None
}

/// Decodes the body of a Go interpreted string literal into bytes; `None` when an escape is
/// malformed (the parser reports that).
fn go_decode(body: &str) -> Option<Vec<u8>> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] != b'\\' {
            out.push(bytes[index]);
            index += 1;
            continue;
        }
        let escape = *bytes.get(index + 1)?;
        index += 2;
        match escape {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'\\' | b'\'' | b'"' => out.push(escape),
            b'x' => {
                out.push(u8::from_str_radix(body.get(index..index + 2)?, 16).ok()?);
                index += 2;
            }
            b'0'..=b'7' => {
                let digits = body.get(index - 1..index + 2)?;
                out.push(u8::try_from(u32::from_str_radix(digits, 8).ok()?).ok()?);
                index += 2;
            }
            b'u' | b'U' => {
                let width = if escape == b'u' { 4 } else { 8 };
                let code = u32::from_str_radix(body.get(index..index + width)?, 16).ok()?;
                let mut buffer = [0; 4];
                out.extend_from_slice(char::from_u32(code)?.encode_utf8(&mut buffer).as_bytes());
                index += width;
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_literals_are_left_alone() {
        let query = r#"label_replace(m, "dst", "\x41\u00e9", "src", '(.*)') # "\xff""#;
        assert!(matches!(rewrite_invalid_literals(query), Cow::Borrowed(_)));
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let rewritten = rewrite_invalid_literals(r#"f(m, "a\xffz", 'q\"', "\377")"#);
        assert_eq!(rewritten, "f(m, \"a\u{FFFD}z\", 'q\\\"', \"\u{FFFD}\")");
        assert!(is_invalid_utf8_marker("a\u{FFFD}z"));
        assert!(!is_invalid_utf8_marker("az"));
    }

    #[test]
    fn go_escapes_decode_to_bytes() {
        assert_eq!(
            go_decode(r"\x41\101\n\u00e9"),
            Some(b"AA\n\xc3\xa9".to_vec())
        );
        assert_eq!(go_decode(r"\q"), None);
        assert_eq!(go_decode(r"\x4"), None);
    }
}
