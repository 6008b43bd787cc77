//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's semantics.
//!
//! A regex matches the *whole* value, and `.` matches newlines too: Prometheus compiles
//! `^(?s:<expr>)$`. A missing label has the value `""`, so `{env=""}` selects series without
//! `env` and `{env=~".*"}` selects every series. Like Prometheus's `FastRegexMatcher`, common
//! shapes skip the regex engine: a literal (`api`), a set of literals (`a|b|c`), a prefix
//! (`foo.*`), a suffix (`.*foo`), a substring (`.*foo.*`), `.*` and `.+`. The shapes are read
//! from the parsed regex, not from the text, so a pattern is only sped up when the fast path
//! is provably equivalent; anything else runs the compiled regex.

use std::fmt;

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

/// The four matcher operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchType {
    /// Returns the operator as PromQL writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }
}

/// Why a matcher could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid regular expression {pattern:?} for label {name}: {reason}")]
pub struct MatcherError {
    name: String,
    pattern: String,
    reason: String,
}

/// How a regex is evaluated.
#[derive(Clone, Debug)]
enum RegexShape {
    Literal(String),
    Set(Vec<String>),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Any,
    NonEmpty,
    Compiled(Regex),
}

impl RegexShape {
    fn matches(&self, value: &str) -> bool {
        match self {
            RegexShape::Literal(literal) => value == literal,
            RegexShape::Set(set) => set
                .binary_search_by(|item| item.as_str().cmp(value))
                .is_ok(),
            RegexShape::Prefix(prefix) => value.starts_with(prefix.as_str()),
            RegexShape::Suffix(suffix) => value.ends_with(suffix.as_str()),
            RegexShape::Contains(part) => value.contains(part.as_str()),
            RegexShape::Any => true,
            RegexShape::NonEmpty => !value.is_empty(),
            RegexShape::Compiled(regex) => regex.is_match(value),
        }
    }
}

/// A label matcher: a label name, an operator and a value or pattern.
#[derive(Clone, Debug)]
pub struct Matcher {
    kind: MatchType,
    name: String,
    value: String,
    shape: Option<RegexShape>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.name == other.name && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// Builds a matcher; regex operators compile (or fast-path) their pattern here.
    pub fn new(
        kind: MatchType,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let shape = match kind {
            MatchType::Regex | MatchType::NotRegex => {
                Some(regex_shape(&value).map_err(|reason| MatcherError {
                    name: name.clone(),
                    pattern: value.clone(),
                    reason,
                })?)
            }
            MatchType::Equal | MatchType::NotEqual => None,
        };
        Ok(Self {
            kind,
            name,
            value,
            shape,
        })
    }

    /// Returns the operator.
    pub fn kind(&self) -> MatchType {
        self.kind
    }

    /// Returns the label name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the value or pattern as written.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Returns whether `value` (`""` for an absent label) satisfies the matcher.
    pub fn matches(&self, value: &str) -> bool {
        match (self.kind, &self.shape) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regex, Some(shape)) => shape.matches(value),
            (MatchType::NotRegex, Some(shape)) => !shape.matches(value),
            (MatchType::Regex | MatchType::NotRegex, None) => false,
        }
    }

    /// Returns true if the matcher accepts the empty value, i.e. series without the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// Returns the literal values a positive matcher accepts, when they are a finite set
    /// (`=` or a `=~` of literals); the index uses this to look postings up directly.
    pub fn set_values(&self) -> Option<Vec<&str>> {
        match (self.kind, &self.shape) {
            (MatchType::Equal, _) => Some(vec![self.value.as_str()]),
            (MatchType::Regex, Some(RegexShape::Literal(literal))) => Some(vec![literal.as_str()]),
            (MatchType::Regex, Some(RegexShape::Set(set))) => {
                Some(set.iter().map(String::as_str).collect())
            }
            _ => None,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.kind.as_str(), self.value)
    }
}

/// Analyses `pattern` as Prometheus would run it (anchored, dot matches newline).
fn regex_shape(pattern: &str) -> Result<RegexShape, String> {
    let wrapped = format!("(?s:{pattern})");
    let hir = regex_syntax::parse(&wrapped).map_err(|error| error.to_string())?;
    if let Some(shape) = fast_shape(&hir) {
        return Ok(shape);
    }
    Regex::new(&format!("^{wrapped}$"))
        .map(RegexShape::Compiled)
        .map_err(|error| error.to_string())
}

fn fast_shape(hir: &Hir) -> Option<RegexShape> {
    let hir = strip_captures(hir);
    if let Some(literal) = as_literal(hir) {
        return Some(RegexShape::Literal(literal));
    }
    match hir.kind() {
        HirKind::Alternation(branches) => {
            let mut set = branches
                .iter()
                .map(|branch| as_literal(strip_captures(branch)))
                .collect::<Option<Vec<_>>>()?;
            set.sort();
            set.dedup();
            Some(RegexShape::Set(set))
        }
        HirKind::Class(Class::Unicode(class)) => {
            // The parser folds single-character alternations (`a|b`) into a class.
            let count: u32 = class
                .ranges()
                .iter()
                .map(|range| u32::from(range.end()) - u32::from(range.start()) + 1)
                .sum();
            if count > 16 {
                return None;
            }
            let set = class
                .ranges()
                .iter()
                .flat_map(|range| range.start()..=range.end())
                .map(String::from)
                .collect();
            Some(RegexShape::Set(set))
        }
        HirKind::Repetition(_) => match any_repetition(hir)? {
            0 => Some(RegexShape::Any),
            1 => Some(RegexShape::NonEmpty),
            _ => None,
        },
        HirKind::Concat(parts) => {
            let parts: Vec<&Hir> = parts.iter().map(strip_captures).collect();
            let is_any = |part: &Hir| any_repetition(part) == Some(0);
            match parts.as_slice() {
                [literal, tail] if is_any(tail) => as_literal(literal).map(RegexShape::Prefix),
                [head, literal] if is_any(head) => as_literal(literal).map(RegexShape::Suffix),
                [head, literal, tail] if is_any(head) && is_any(tail) => {
                    as_literal(literal).map(RegexShape::Contains)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn strip_captures(mut hir: &Hir) -> &Hir {
    while let HirKind::Capture(capture) = hir.kind() {
        hir = &capture.sub;
    }
    hir
}

fn as_literal(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Empty => Some(String::new()),
        HirKind::Literal(literal) => String::from_utf8(literal.0.to_vec()).ok(),
        _ => None,
    }
}

/// For `X*` / `X+` where X matches every character, returns the minimum repetition (0 or 1).
fn any_repetition(hir: &Hir) -> Option<u32> {
    let HirKind::Repetition(repetition) = hir.kind() else {
        return None;
    };
    if repetition.max.is_some() || repetition.min > 1 {
        return None;
    }
    let HirKind::Class(Class::Unicode(class)) = strip_captures(&repetition.sub).kind() else {
        return None;
    };
    let ranges = class.ranges();
    let covers_everything =
        ranges.len() == 1 && ranges[0].start() == '\0' && ranges[0].end() == char::MAX;
    covers_everything.then_some(repetition.min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(pattern: &str) -> Matcher {
        Matcher::new(MatchType::Regex, "l", pattern).unwrap()
    }

    fn shape_name(pattern: &str) -> &'static str {
        match regex(pattern).shape {
            Some(RegexShape::Literal(_)) => "literal",
            Some(RegexShape::Set(_)) => "set",
            Some(RegexShape::Prefix(_)) => "prefix",
            Some(RegexShape::Suffix(_)) => "suffix",
            Some(RegexShape::Contains(_)) => "contains",
            Some(RegexShape::Any) => "any",
            Some(RegexShape::NonEmpty) => "non-empty",
            Some(RegexShape::Compiled(_)) => "regex",
            None => "none",
        }
    }

    #[test]
    fn equality_and_absent_labels() {
        let equal = Matcher::new(MatchType::Equal, "env", "").unwrap();
        assert!(equal.matches(""), "{{env=\"\"}} selects series without env");
        assert!(!equal.matches("prod"));
        let not_equal = Matcher::new(MatchType::NotEqual, "env", "prod").unwrap();
        assert!(not_equal.matches("") && !not_equal.matches("prod"));
    }

    #[test]
    fn regexes_are_anchored_and_dot_matches_newline() {
        assert!(regex("b").matches("b"));
        assert!(!regex("b").matches("abc"), "anchored: no substring match");
        assert!(regex("a.c").matches("a\nc"));
        assert!(regex(".*").matches(""));
        assert!(!regex(".+").matches(""));
        assert!(regex("(?i)API").matches("api"));
        let not_regex = Matcher::new(MatchType::NotRegex, "l", "foo|bar").unwrap();
        assert!(not_regex.matches("baz") && !not_regex.matches("bar") && not_regex.matches(""));
    }

    #[test]
    fn fast_paths_are_recognised() {
        assert_eq!(shape_name("api"), "literal");
        assert_eq!(shape_name(""), "literal");
        assert_eq!(shape_name("foo|bar|baz"), "set");
        assert_eq!(shape_name("(foo|bar)"), "set");
        assert_eq!(shape_name("foo.*"), "prefix");
        assert_eq!(shape_name(".*foo"), "suffix");
        assert_eq!(shape_name(".*foo.*"), "contains");
        assert_eq!(shape_name(".*"), "any");
        assert_eq!(shape_name(".+"), "non-empty");
        assert_eq!(shape_name("fo+"), "regex");
        assert_eq!(shape_name("(?i)foo"), "regex");
        assert_eq!(regex("b|a|b").set_values(), Some(vec!["a", "b"]));
    }

    #[test]
    fn fast_paths_agree_with_the_regex_engine() {
        let patterns = [
            "api",
            "",
            "foo|bar|baz",
            "(foo|bar)",
            "foo.*",
            ".*foo",
            ".*foo.*",
            ".*",
            ".+",
            "a|",
            "a.*b",
            "[a-c]+",
            "x|xy|xyz",
            "ab.*c.*",
            "(?i)Foo",
            "\\.",
            "foo\\.bar.*",
            "b|a|b",
            "[xa]",
            "(?i)a",
        ];
        let inputs = [
            "", "api", "apix", "foo", "bar", "baz", "foobar", "xfoo", "xfooy", "a", "ab", "axb",
            "abc", "x", "xy", "xyz", "FOO", ".", "foo.bar", "foo.barx", "fooxbar", "a\nb", "\n",
        ];
        for pattern in patterns {
            let reference = Regex::new(&format!("^(?s:{pattern})$")).unwrap();
            let matcher = regex(pattern);
            for input in inputs {
                assert_eq!(
                    matcher.matches(input),
                    reference.is_match(input),
                    "{pattern:?} on {input:?}"
                );
            }
        }
    }

    #[test]
    fn bad_regex_is_a_clear_error() {
        let error = Matcher::new(MatchType::Regex, "job", "a(b")
            .unwrap_err()
            .to_string();
        assert!(error.contains("job") && error.contains("a(b"), "{error}");
    }
}
