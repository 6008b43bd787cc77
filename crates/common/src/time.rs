//! Wall-clock helpers shared by every crate: the current time in Unix milliseconds and RFC 3339
//! formatting of millisecond timestamps, as Go prints them and Mimir shows them in messages,
//! status pages and JSON (`2025-03-07T13:04:02.887Z`).
//!
//! Formatting converts days since the epoch to a civil date with Howard Hinnant's
//! `civil_from_days` algorithm, which is exact for the proleptic Gregorian calendar; a
//! calendar crate would be a large dependency for one function.

use std::time::{SystemTime, UNIX_EPOCH};

/// Returns the current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

/// Formats a timestamp in milliseconds since the Unix epoch as Go's `time.RFC3339Nano` formats
/// it in UTC, which is how Mimir prints sample timestamps in its messages:
/// `2025-03-07T13:04:02.887Z`, trailing zeros of the fraction dropped (`…:02.8Z`, `…:02Z`).
/// Years outside 0000–9999 keep their sign and extra digits.
pub fn format_timestamp(timestamp_ms: i64) -> String {
    const MS_PER_DAY: i64 = 86_400_000;
    let days = timestamp_ms.div_euclid(MS_PER_DAY);
    let ms_of_day = timestamp_ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (second, millis) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
    let year = if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    let mut text = format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if millis != 0 {
        let fraction = format!("{millis:03}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
///
/// Howard Hinnant's `civil_from_days` (public-domain algorithm, "chrono-Compatible Low-Level
/// Date Algorithms"): shift the epoch to 0000-03-01 so leap days end each 400-year era, split
/// into era / day-of-era / year-of-era, then map the March-based day-of-year to month and day.
/// Exact for every `i64` day count a millisecond `i64` can produce.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11], 0 = March
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_timestamp(1_741_352_642_887),
            "2025-03-07T13:04:02.887Z"
        );
        assert_eq!(
            format_timestamp(1_741_352_642_800),
            "2025-03-07T13:04:02.8Z"
        );
        // A leap day and the end of a century year.
        assert_eq!(format_timestamp(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
        assert!(now_ms() > 1_700_000_000_000);
    }

    #[test]
    fn civil_from_days_round_trips_day_by_day() {
        // Walk four centuries day by day and check the calendar advances one day at a time.
        let (mut year, mut month, mut day) = civil_from_days(-200 * 365);
        for days in (-200 * 365 + 1)..(200 * 365) {
            let next = civil_from_days(days);
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let month_length = match month {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if day < month_length {
                (year, month, day + 1)
            } else if month < 12 {
                (year, month + 1, 1)
            } else {
                (year + 1, 1, 1)
            };
            assert_eq!(next, expected, "day {days}");
            (year, month, day) = next;
        }
    }
}
