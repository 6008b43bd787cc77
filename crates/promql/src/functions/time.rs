//! The calendar functions (`minute`, `hour`, `day_of_week`, `day_of_month`,
//! `day_of_year`, `days_in_month`, `month`, `year`), in UTC, with a proleptic Gregorian
//! civil-date conversion of their own (Howard Hinnant's `civil_from_days`).

use norn_model::Labels;

use super::FunctionCall;
use super::common::{go_float_to_int, output, vector_arg};
use crate::error::PromqlError;
use crate::value::Vector;

/// A UTC date and time of day, broken down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CivilTime {
    /// The year (proleptic Gregorian, astronomical numbering).
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to 31.
    pub day: u32,
    /// The hour, 0 to 23.
    pub hour: u32,
    /// The minute, 0 to 59.
    pub minute: u32,
    /// Days since Sunday, 0 to 6.
    pub weekday: u32,
    /// The day of the year, 1 to 366.
    pub year_day: u32,
}

const SECONDS_PER_DAY: i64 = 86_400;

/// Returns true for a Gregorian leap year.
fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Returns the number of days of `month` in `year`.
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Converts days since 1970-01-01 into (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days end each 400-year era.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Breaks Unix seconds down into UTC calendar fields.
pub(crate) fn civil_time(unix_seconds: i64) -> CivilTime {
    let days = unix_seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = unix_seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday (4).
    let weekday = (days + 4).rem_euclid(7) as u32;
    let days_before_month: u32 = (1..month).map(|m| days_in_month(year, m)).sum();
    CivilTime {
        year,
        month,
        day,
        hour: (second_of_day / 3600) as u32,
        minute: (second_of_day % 3600 / 60) as u32,
        weekday,
        year_day: days_before_month + day,
    }
}

/// The field of [`CivilTime`] a calendar function returns.
fn field(name: &str, time: &CivilTime) -> Result<f64, PromqlError> {
    Ok(match name {
        "minute" => f64::from(time.minute),
        "hour" => f64::from(time.hour),
        "day_of_week" => f64::from(time.weekday),
        "day_of_month" => f64::from(time.day),
        "day_of_year" => f64::from(time.year_day),
        "days_in_month" => f64::from(days_in_month(time.year, time.month)),
        "month" => f64::from(time.month),
        "year" => time.year as f64,
        other => {
            return Err(PromqlError::Internal(format!(
                "{other} is not a calendar function"
            )));
        }
    })
}

/// Evaluates the calendar function `call.name`: over each value of the argument read as
/// Unix seconds (names dropped), or over the step time when there is no argument.
pub(crate) fn calendar(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    if call.args.is_empty() {
        // Go's integer division truncates toward zero.
        let value = field(call.name, &civil_time(call.ts / 1000))?;
        return Ok(vec![output(Labels::default(), call.ts, value, false)]);
    }
    let input = vector_arg(call, 0)?;
    input
        .iter()
        .map(|sample| {
            let time = civil_time(go_float_to_int(sample.f));
            Ok(output(
                sample.metric.clone(),
                call.ts,
                field(call.name, &time)?,
                true,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        // 2006-01-02 22:04:05 UTC, a Monday.
        let time = civil_time(1_136_239_445);
        assert_eq!(
            time,
            CivilTime {
                year: 2006,
                month: 1,
                day: 2,
                hour: 22,
                minute: 4,
                weekday: 1,
                year_day: 2,
            }
        );
        // The epoch was a Thursday.
        assert_eq!(civil_time(0).weekday, 4);
        // 2016-02-29 23:59:59 and the next second.
        let leap_day = civil_time(1_456_790_399);
        assert_eq!((leap_day.month, leap_day.day), (2, 29));
        let march = civil_time(1_456_790_400);
        assert_eq!((march.month, march.day), (3, 1));
        assert_eq!(civil_time(1_483_191_420).year_day, 366);
        assert_eq!(civil_time(1_672_493_820).year_day, 365);
        // 1969-12-31 23:59:59.
        let before_epoch = civil_time(-1);
        assert_eq!(
            (
                before_epoch.year,
                before_epoch.month,
                before_epoch.day,
                before_epoch.hour
            ),
            (1969, 12, 31, 23)
        );
        assert_eq!(before_epoch.weekday, 3);
    }

    #[test]
    fn month_lengths() {
        assert_eq!(days_in_month(2016, 2), 29);
        assert_eq!(days_in_month(2017, 2), 28);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2021, 4), 30);
    }

    proptest! {
        #[test]
        fn consecutive_days_advance_the_calendar_by_one(days in -1_000_000i64..1_000_000) {
            let today = civil_time(days * SECONDS_PER_DAY);
            let tomorrow = civil_time((days + 1) * SECONDS_PER_DAY);
            prop_assert_eq!((today.weekday + 1) % 7, tomorrow.weekday);
            if tomorrow.day == 1 {
                prop_assert_eq!(today.day, days_in_month(today.year, today.month));
                if tomorrow.month == 1 {
                    prop_assert_eq!(tomorrow.year, today.year + 1);
                    prop_assert_eq!(tomorrow.year_day, 1);
                }
            } else {
                prop_assert_eq!(tomorrow.day, today.day + 1);
                prop_assert_eq!(tomorrow.year_day, today.year_day + 1);
            }
        }
    }
}
