//! Prometheus durations as promqltest scripts write them (`1m`, `1h30m`, `20s500ms`, `0`):
//! the grammar of Prometheus's `model.ParseDuration`, one number per unit, units in
//! descending order (`y` = 365d, `w` = 7d).

/// The units in the order they must appear, with their length in milliseconds.
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a duration into milliseconds. `0` alone is accepted; an empty string, a unit out
/// of order or a unit used twice is an error.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    if text == "0" {
        return Ok(0);
    }
    if text.is_empty() {
        return Err("empty duration string".to_owned());
    }
    let bytes = text.as_bytes();
    let mut position = 0;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    while position < bytes.len() {
        let digits_start = position;
        while position < bytes.len() && bytes[position].is_ascii_digit() {
            position += 1;
        }
        if position == digits_start {
            return Err(format!("not a valid duration string: {text:?}"));
        }
        let number: i64 = text[digits_start..position]
            .parse()
            .map_err(|_| format!("duration out of range: {text:?}"))?;
        let unit_start = position;
        while position < bytes.len() && bytes[position].is_ascii_alphabetic() {
            position += 1;
        }
        let unit = &text[unit_start..position];
        let Some(offset) = UNITS[next_unit..]
            .iter()
            .position(|(name, _)| *name == unit)
        else {
            return Err(format!("not a valid duration string: {text:?}"));
        };
        let (_, unit_ms) = UNITS[next_unit + offset];
        next_unit += offset + 1;
        total = number
            .checked_mul(unit_ms)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("duration out of range: {text:?}"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(parse_duration_ms("0s"), Ok(0));
        assert_eq!(parse_duration_ms("1ms"), Ok(1));
        assert_eq!(parse_duration_ms("5m"), Ok(300_000));
        assert_eq!(parse_duration_ms("1m30s"), Ok(90_000));
        assert_eq!(parse_duration_ms("20s500ms"), Ok(20_500));
        assert_eq!(parse_duration_ms("10s53ms"), Ok(10_053));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("1d"), Ok(86_400_000));
        assert_eq!(parse_duration_ms("1w"), Ok(7 * 86_400_000));
        assert_eq!(parse_duration_ms("1y"), Ok(365 * 86_400_000));
        assert_eq!(parse_duration_ms("1111111s"), Ok(1_111_111_000));
    }

    #[test]
    fn rejects_malformed_durations() {
        assert!(parse_duration_ms("").is_err());
        assert!(parse_duration_ms("5").is_err());
        assert!(parse_duration_ms("s").is_err());
        assert!(parse_duration_ms("1s1m").is_err());
        assert!(parse_duration_ms("1m1m").is_err());
        assert!(parse_duration_ms("1x").is_err());
        assert!(parse_duration_ms("-1m").is_err());
    }
}
