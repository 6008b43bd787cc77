//! Durations in configuration files and flags, spelled as Go and Prometheus spell them.
//!
//! Mimir's configuration accepts `500ms`, `15s`, `1h30m` and, for retention-like keys, `7d`,
//! `2w` or `1y`. [`Duration`] parses all of these, formats itself back in the shortest exact
//! form (`1h30m`, `0s`), and (de)serializes as that string, so `/config` shows what a user would
//! write.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration with Go/Prometheus string syntax.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (examples: 500ms, 15s, 1h30m, 7d)")]
pub struct ParseDurationError {
    input: String,
    reason: &'static str,
}

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
    ("d", 86_400 * 1_000_000_000),
    ("w", 7 * 86_400 * 1_000_000_000),
    ("y", 365 * 86_400 * 1_000_000_000),
];

impl Duration {
    /// Returns a duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    /// Returns a duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self(std::time::Duration::from_millis(millis))
    }

    /// Returns the standard-library duration.
    pub const fn get(self) -> std::time::Duration {
        self.0
    }

    /// Returns true for a zero duration, which many limits read as "disabled".
    pub const fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl From<std::time::Duration> for Duration {
    fn from(value: std::time::Duration) -> Self {
        Self(value)
    }
}

impl From<Duration> for std::time::Duration {
    fn from(value: Duration) -> Self {
        value.0
    }
}

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason| ParseDurationError {
            input: input.to_owned(),
            reason,
        };
        let text = input.trim();
        if text.is_empty() {
            return Err(error("empty string"));
        }
        if text == "0" {
            return Ok(Self::default());
        }
        if text.starts_with('-') {
            return Err(error("negative durations are not allowed"));
        }
        let mut rest = text.strip_prefix('+').unwrap_or(text);
        let mut total_nanos: u128 = 0;
        while !rest.is_empty() {
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if number_len == 0 {
                return Err(error("expected a number"));
            }
            let (number, after_number) = rest.split_at(number_len);
            let unit_len = after_number
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(after_number.len());
            let (unit, after_unit) = after_number.split_at(unit_len);
            if unit.is_empty() {
                return Err(error("missing unit (one of ns, us, ms, s, m, h, d, w, y)"));
            }
            let Some(&(_, unit_nanos)) = UNITS.iter().find(|(name, _)| *name == unit) else {
                return Err(error(
                    "unknown unit (use one of ns, us, ms, s, m, h, d, w, y)",
                ));
            };
            let nanos = parse_scaled(number, unit_nanos).ok_or_else(|| error("bad number"))?;
            total_nanos = total_nanos
                .checked_add(nanos)
                .ok_or_else(|| error("too large"))?;
            rest = after_unit;
        }
        let secs = u64::try_from(total_nanos / 1_000_000_000).map_err(|_| error("too large"))?;
        let subsec = (total_nanos % 1_000_000_000) as u32;
        Ok(Self(std::time::Duration::new(secs, subsec)))
    }
}

/// Multiplies a decimal string such as `1.5` by `scale` without going through floats.
fn parse_scaled(number: &str, scale: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if fraction.contains('.') {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(scale)?;
    let mut divisor: u128 = 1;
    for digit in fraction.chars() {
        divisor = divisor.checked_mul(10)?;
        let digit = u128::from(digit.to_digit(10)?);
        value = value.checked_add(digit.checked_mul(scale)? / divisor)?;
    }
    Some(value)
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0s");
        }
        for (name, unit_nanos) in [
            ("h", 3_600_000_000_000u128),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
            ("ns", 1),
        ] {
            let count = nanos / unit_nanos;
            if count > 0 {
                write!(f, "{count}{name}")?;
                nanos %= unit_nanos;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 15s, 1h30m or 7d")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Duration, E> {
                value.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Duration, E> {
                if value == 0 {
                    Ok(Duration::default())
                } else {
                    Err(E::custom(format!(
                        "invalid duration {value}: a number needs a unit, such as {value}s"
                    )))
                }
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Duration, E> {
                match u64::try_from(value) {
                    Ok(value) => self.visit_u64(value),
                    Err(_) => Err(E::custom("negative durations are not allowed")),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::time::Duration {
        text.parse::<Duration>().unwrap().get()
    }

    #[test]
    fn parses_go_and_prometheus_forms() {
        assert_eq!(parse("15s"), std::time::Duration::from_secs(15));
        assert_eq!(parse("1h30m"), std::time::Duration::from_secs(5400));
        assert_eq!(parse("500ms"), std::time::Duration::from_millis(500));
        assert_eq!(parse("1.5h"), std::time::Duration::from_secs(5400));
        assert_eq!(parse("7d"), std::time::Duration::from_secs(7 * 86400));
        assert_eq!(parse("2w"), std::time::Duration::from_secs(14 * 86400));
        assert_eq!(parse("1y"), std::time::Duration::from_secs(365 * 86400));
        assert_eq!(parse("0"), std::time::Duration::ZERO);
        assert_eq!(parse("1h0m0s"), std::time::Duration::from_secs(3600));
    }

    #[test]
    fn rejects_bad_input_with_a_hint() {
        for bad in ["", "10", "-5s", "5x", "s", "1..5s", "ms5"] {
            let error = bad.parse::<Duration>().unwrap_err().to_string();
            assert!(error.contains("invalid duration"), "{bad}: {error}");
        }
    }

    #[test]
    fn formats_in_shortest_exact_form_and_round_trips() {
        for (text, shown) in [
            ("90s", "1m30s"),
            ("2h", "2h"),
            ("0s", "0s"),
            ("1d", "24h"),
            ("1500ms", "1s500ms"),
        ] {
            let value: Duration = text.parse().unwrap();
            assert_eq!(value.to_string(), shown);
            assert_eq!(shown.parse::<Duration>().unwrap(), value);
        }
    }
}
