//! Request parameters as Prometheus's HTTP API reads them (`web/api/v1/api.go`): the URL query
//! and, for a form-encoded body, the body (body values first, as Go's `Request.Form`), with
//! its time, duration, limit and `match[]` syntaxes.
//!
//! - times: Unix seconds as a float (`1700000000.123`, rounded to milliseconds) or RFC 3339
//!   (`2023-11-14T22:13:20.123Z`, `…+01:00`);
//! - durations: seconds as a float (`15`, `0.5`) or Prometheus's `1h30m` syntax
//!   (`y w d h m s ms`, integers, units in that order);
//! - `match[]`: series selectors (`up`, `{job="a"}`, `{a="1" or b="2"}`), one matcher set per
//!   selector and `or` branch.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use norn_http::body::read_limited;
use norn_model::{MatchType, Matcher};
use promql_parser::label::MatchOp;
use promql_parser::parser::Expr;

use crate::api::errors::ApiError;

/// The largest form body accepted (Go's `ParseForm` limit: 10 MB).
pub(crate) const MAX_FORM_BYTES: usize = 10 << 20;

/// Prometheus's `MinTime` (the default start of optional ranges), in milliseconds.
pub(crate) const MIN_TIME_MS: i64 = (i64::MIN / 1000 + 62_135_596_801) * 1000;
/// Prometheus's `MaxTime` (the default end of optional ranges), in milliseconds.
pub(crate) const MAX_TIME_MS: i64 = (i64::MAX / 1000 - 62_135_596_801) * 1000 + 999;

/// The parameters of one request, in Go's `Request.Form` order.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `query` (an URL query string) and, after it, nothing else.
    #[cfg(test)]
    pub(crate) fn from_query(query: &str) -> Result<Self, ApiError> {
        let mut params = Self::default();
        params.extend(query)?;
        Ok(params)
    }

    fn extend(&mut self, text: &str) -> Result<(), ApiError> {
        for pair in text.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            self.pairs.push((unescape(name)?, unescape(value)?));
        }
        Ok(())
    }

    /// Returns the first value of `name`, or `""` (Go's `FormValue`).
    pub(crate) fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Returns every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Reads time parameter `name`, or `default` when it is missing or empty.
    pub(crate) fn time_or(&self, name: &str, default: i64) -> Result<i64, ApiError> {
        let value = self.get(name);
        if value.is_empty() {
            return Ok(default);
        }
        parse_time(value).map_err(|error| {
            ApiError::invalid_param(name, format!("invalid time value for '{name}': {error}"))
        })
    }

    /// Reads a required time parameter (as `query_range` reads `start` and `end`).
    pub(crate) fn time(&self, name: &str) -> Result<i64, ApiError> {
        parse_time(self.get(name)).map_err(|error| ApiError::invalid_param(name, error))
    }

    /// Reads an optional duration parameter, in nanoseconds.
    pub(crate) fn duration(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let value = self.get(name);
        if value.is_empty() {
            return Ok(None);
        }
        parse_duration(value)
            .map(Some)
            .map_err(|error| ApiError::invalid_param(name, error))
    }

    /// Reads `limit` as Prometheus does: missing is 0 (no limit), negative is an error.
    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        let value = self.get("limit");
        if value.is_empty() {
            return Ok(0);
        }
        let limit: i64 = value.parse().map_err(|_| {
            ApiError::invalid_param(
                "limit",
                format!("strconv.Atoi: parsing {value:?}: invalid syntax"),
            )
        })?;
        usize::try_from(limit)
            .map_err(|_| ApiError::invalid_param("limit", "limit must be non-negative"))
    }

    /// Reads the `match[]` selectors into matcher sets.
    pub(crate) fn matcher_sets(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        parse_matcher_sets(&self.all("match[]")).map_err(ApiError::bad_data)
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let mut params = Params::default();
        let is_form = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| {
                media
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let has_body = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
        if has_body && is_form {
            let bytes = read_limited(Body::new(body), MAX_FORM_BYTES)
                .await
                .map_err(|error| {
                    ApiError::bad_data(format!("error parsing form values: {}", error.message))
                })?;
            params
                .extend(&String::from_utf8_lossy(&bytes))
                .map_err(|error| {
                    ApiError::bad_data(format!("error parsing form values: {}", error.message()))
                })?;
        }
        if let Some(query) = parts.uri.query() {
            params.extend(query).map_err(|error| {
                ApiError::bad_data(format!("error parsing form values: {}", error.message()))
            })?;
        }
        Ok(params)
    }
}

/// Undoes URL form encoding: `+` is a space, `%XX` a byte.
fn unescape(text: &str) -> Result<String, ApiError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(index + 1..index + 3)
                    .and_then(|pair| std::str::from_utf8(pair).ok())
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| {
                        let end = (index + 3).min(bytes.len());
                        ApiError::bad_data(format!(
                            "invalid URL escape {:?}",
                            String::from_utf8_lossy(&bytes[index..end])
                        ))
                    })?;
                out.push(hex);
                index += 2;
            }
            other => out.push(other),
        }
        index += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Parses a time as Prometheus's `parseTime`: float Unix seconds or RFC 3339; returns
/// milliseconds.
pub(crate) fn parse_time(text: &str) -> Result<i64, String> {
    let invalid = || format!("cannot parse {text:?} to a valid timestamp");
    if let Some(seconds) = parse_go_float(text) {
        if !seconds.is_finite() {
            return Err(invalid());
        }
        let whole = seconds.trunc();
        let millis = ((seconds - whole) * 1000.0).round();
        let total = whole * 1000.0 + millis;
        if total < MIN_TIME_MS as f64 || total > MAX_TIME_MS as f64 {
            return Err(invalid());
        }
        return Ok(total as i64);
    }
    if let Some(ms) = parse_rfc3339(text) {
        return Ok(ms);
    }
    if text == min_time_formatted() {
        return Ok(MIN_TIME_MS);
    }
    if text == max_time_formatted() {
        return Ok(MAX_TIME_MS);
    }
    Err(invalid())
}

/// `MinTime` as Go formats it in RFC 3339 (clients send it back as a default).
fn min_time_formatted() -> String {
    norn_common::time::format_timestamp(MIN_TIME_MS)
}

/// `MaxTime` as Go formats it in RFC 3339 (nanoseconds `.999999999`).
fn max_time_formatted() -> String {
    let seconds = norn_common::time::format_timestamp(MAX_TIME_MS - 999);
    format!("{}.999999999Z", seconds.trim_end_matches('Z'))
}

/// Parses a float as Go's `strconv.ParseFloat` accepts the common forms: decimal and
/// exponent notation, `Inf`/`NaN` spellings; `_` separators and hex floats are refused.
fn parse_go_float(text: &str) -> Option<f64> {
    let trimmed = text.strip_prefix(['+', '-']).unwrap_or(text);
    let is_word = ["inf", "infinity", "nan"]
        .iter()
        .any(|word| trimmed.eq_ignore_ascii_case(word));
    let is_number = !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && trimmed.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !(is_word || is_number) {
        return None;
    }
    text.parse().ok()
}

/// Parses RFC 3339 with optional fractional seconds (Go's `time.RFC3339Nano` layout) into
/// milliseconds (the fraction truncated, as `timestamp.FromTime` does).
fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let year = digits(0..4)?;
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    let hour = digits(11..13)?;
    let minute = digits(14..16)?;
    let second = digits(17..19)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let length = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if length == 0 {
            return None;
        }
        let kept = &fraction[..length.min(3)];
        millis = kept.parse::<i64>().ok()? * 10_i64.pow(3 - kept.len() as u32);
        rest = &fraction[length..];
    }
    let offset_minutes = match rest {
        "Z" => 0,
        zone if zone.len() == 6 && zone.as_bytes()[3] == b':' => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours: i64 = zone.get(1..3)?.parse().ok()?;
            let minutes: i64 = zone.get(4..6)?.parse().ok()?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 60 + minutes)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Parses a duration as Prometheus's `parseDuration`: float seconds or `1h30m`; returns
/// nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    if let Some(seconds) = parse_go_float(text) {
        let nanos = seconds * 1e9;
        if nanos.is_nan() || nanos >= i64::MAX as f64 || nanos <= i64::MIN as f64 {
            return Err(format!(
                "cannot parse {text:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(nanos as i64);
    }
    parse_prometheus_duration(text)
        .map(|ms| ms.saturating_mul(1_000_000))
        .ok_or_else(|| format!("cannot parse {text:?} to a valid duration"))
}

/// Prometheus's `model.ParseDuration`: `[0-9]+` followed by a unit, units in the order
/// `y w d h m s ms`, each at most once; `0` alone is zero. Returns milliseconds.
pub(crate) fn parse_prometheus_duration(text: &str) -> Option<i64> {
    if text == "0" {
        return Some(0);
    }
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let length = rest.bytes().take_while(u8::is_ascii_digit).count();
        if length == 0 {
            return None;
        }
        let number: i64 = rest[..length].parse().ok()?;
        rest = &rest[length..];
        let unit_length = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        let unit = &rest[..unit_length];
        rest = &rest[unit_length..];
        let position = UNITS[next_unit..]
            .iter()
            .position(|(name, _)| *name == unit)?
            + next_unit;
        next_unit = position + 1;
        total = total.checked_add(number.checked_mul(UNITS[position].1)?)?;
    }
    Some(total)
}

/// Parses `match[]` selectors into matcher sets, with Prometheus's checks.
pub(crate) fn parse_matcher_sets(selectors: &[&str]) -> Result<Vec<Vec<Matcher>>, String> {
    let mut sets = Vec::new();
    for selector in selectors {
        let expr = promql_parser::parser::parse(selector)?;
        let Expr::VectorSelector(vector) = expr else {
            return Err(format!(
                "1:1: parse error: unexpected expression in series selector {selector:?}: a series selector is a metric name and/or label matchers such as up{{job=\"api\"}}"
            ));
        };
        let groups: Vec<&Vec<promql_parser::label::Matcher>> =
            if vector.matchers.or_matchers.is_empty() {
                vec![&vector.matchers.matchers]
            } else {
                vector.matchers.or_matchers.iter().collect()
            };
        for group in groups {
            let mut set = Vec::with_capacity(group.len() + 1);
            if let Some(name) = &vector.name {
                set.push(
                    Matcher::new(MatchType::Equal, norn_model::labels::METRIC_NAME, name)
                        .map_err(|error| error.to_string())?,
                );
            }
            for matcher in group {
                let kind = match matcher.op {
                    MatchOp::Equal => MatchType::Equal,
                    MatchOp::NotEqual => MatchType::NotEqual,
                    MatchOp::Re(_) => MatchType::Regex,
                    MatchOp::NotRe(_) => MatchType::NotRegex,
                };
                set.push(
                    Matcher::new(kind, &matcher.name, &matcher.value)
                        .map_err(|error| error.to_string())?,
                );
            }
            if set.iter().all(Matcher::matches_empty) {
                return Err("match[] must contain at least one non-empty matcher".to_owned());
            }
            sets.push(set);
        }
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn times_parse_as_prometheus_parses_them() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("1700000000.123"), Ok(1_700_000_000_123));
        assert_eq!(parse_time("1700000000.1239"), Ok(1_700_000_000_124));
        assert_eq!(parse_time("4"), Ok(4000));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(parse_time("1e3"), Ok(1_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_time("2023-11-14T22:13:20.123456Z"),
            Ok(1_700_000_000_123)
        );
        assert_eq!(
            parse_time("2023-11-14T23:13:20.5+01:00"),
            Ok(1_700_000_000_500)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
        for bad in [
            "",
            "now",
            "2023-02-30T00:00:00Z",
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13:20",
            "NaN",
            "Inf",
            "0x10",
            "1_000",
        ] {
            let error = parse_time(bad).unwrap_err();
            assert_eq!(error, format!("cannot parse {bad:?} to a valid timestamp"));
        }
        assert_eq!(parse_time(&min_time_formatted()), Ok(MIN_TIME_MS));
        assert_eq!(parse_time(&max_time_formatted()), Ok(MAX_TIME_MS));
    }

    #[test]
    fn durations_parse_as_prometheus_parses_them() {
        assert_eq!(parse_duration("15"), Ok(15_000_000_000));
        assert_eq!(parse_duration("0.5"), Ok(500_000_000));
        assert_eq!(parse_duration("5m"), Ok(300_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1d2h"), Ok(93_600_000_000_000));
        assert_eq!(parse_duration("100ms"), Ok(100_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("-10"), Ok(-10_000_000_000));
        for bad in ["", "1.5m", "30m1h", "1x", "m", "1h1h"] {
            assert_eq!(
                parse_duration(bad),
                Err(format!("cannot parse {bad:?} to a valid duration")),
            );
        }
        assert!(
            parse_duration("1e20")
                .unwrap_err()
                .contains("overflows int64")
        );
    }

    #[test]
    fn form_values_unescape_and_keep_order() {
        let params =
            Params::from_query("match%5B%5D=up&match[]=%7Bjob%3D%22a+b%22%7D&x=1&x=2&flag")
                .unwrap();
        assert_eq!(params.all("match[]"), ["up", "{job=\"a b\"}"]);
        assert_eq!(params.get("x"), "1");
        assert_eq!(params.get("flag"), "");
        assert_eq!(params.get("missing"), "");
        let error = Params::from_query("query=%zz").unwrap_err();
        assert!(error.message().contains("invalid URL escape"), "{error:?}");
    }

    #[test]
    fn limits_are_non_negative_integers() {
        assert_eq!(Params::from_query("").unwrap().limit().unwrap(), 0);
        assert_eq!(Params::from_query("limit=5").unwrap().limit().unwrap(), 5);
        assert!(Params::from_query("limit=-1").unwrap().limit().is_err());
        assert!(Params::from_query("limit=x").unwrap().limit().is_err());
    }

    #[test]
    fn selectors_become_matcher_sets() {
        let sets =
            parse_matcher_sets(&["up{job=~\"a|b\"}", "{x=\"1\" or y!=\"2\", z=\"3\"}"]).unwrap();
        assert_eq!(sets.len(), 3);
        assert_eq!(sets[0][0].name(), "__name__");
        assert_eq!(sets[0][1].kind(), MatchType::Regex);
        assert_eq!(sets[1].len(), 1);
        assert_eq!(sets[2].len(), 2);
        assert!(parse_matcher_sets(&["{job=~\".*\"}"]).is_err());
        assert!(parse_matcher_sets(&["sum(up)"]).is_err());
        assert!(parse_matcher_sets(&["up{"]).is_err());
        assert!(parse_matcher_sets(&[]).unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC{0,40}") {
            let _ = parse_time(&text);
            let _ = parse_duration(&text);
            let _ = Params::from_query(&text);
            let _ = parse_matcher_sets(&[text.as_str()]);
        }

        #[test]
        fn unix_milliseconds_round_trip(ms in -100_000_000_000_000i64..100_000_000_000_000i64) {
            let seconds = ms as f64 / 1000.0;
            prop_assert_eq!(parse_time(&format!("{seconds}")), Ok(ms));
            if ms >= 0 {
                let text = format!("{}.{:03}", ms / 1000, ms % 1000);
                prop_assert_eq!(parse_time(&text), Ok(ms));
                let rfc = norn_common::time::format_timestamp(ms);
                prop_assert_eq!(parse_time(&rfc), Ok(ms));
            }
        }
    }
}
