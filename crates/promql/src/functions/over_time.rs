//! The `*_over_time` functions, which reduce each series' window to one value, and
//! `changes`/`resets`, which count events inside the window.

use super::FunctionCall;
use super::common::{go_format_g, kahan_inc, matrix_arg, output, scalar_arg};
use crate::error::PromqlError;
use crate::value::{FPoint, Vector};

/// Applies `reduce` to every series of the range argument at `matrix_index`. Outputs drop
/// the metric name unless `keep_name` (then they keep the input's flag).
fn reduce_each(
    call: &mut FunctionCall<'_>,
    matrix_index: usize,
    keep_name: bool,
    mut reduce: impl FnMut(&[FPoint]) -> Option<f64>,
) -> Result<Vector, PromqlError> {
    let (series, _) = matrix_arg(call, matrix_index)?;
    let mut out = Vector::with_capacity(series.len());
    for one in series {
        if one.floats.is_empty() {
            continue;
        }
        if let Some(value) = reduce(&one.floats) {
            let drop_name = !keep_name || one.drop_name;
            out.push(output(one.metric.clone(), call.ts, value, drop_name));
        }
    }
    Ok(out)
}

/// `avg_over_time`: the Kahan-compensated mean, switching to an incremental mean when the
/// running sum would overflow (Prometheus 3's algorithm).
pub(crate) fn avg_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| Some(mean(points)))
}

/// The mean as Prometheus 3's `avg_over_time` computes it.
pub(crate) fn mean(points: &[FPoint]) -> f64 {
    let Some(first) = points.first() else {
        return f64::NAN;
    };
    let (mut sum, mut count) = (first.f, 1.0);
    let (mut mean, mut compensation) = (0.0, 0.0);
    let mut incremental = false;
    for (index, point) in points.iter().enumerate().skip(1) {
        count = (index + 1) as f64;
        if !incremental {
            let (new_sum, new_compensation) = kahan_inc(point.f, sum, compensation);
            if !new_sum.is_infinite() {
                sum = new_sum;
                compensation = new_compensation;
                continue;
            }
            // The sum would overflow: continue with the incremental mean.
            incremental = true;
            mean = sum / (count - 1.0);
            compensation /= count - 1.0;
        }
        let keep = (count - 1.0) / count;
        (mean, compensation) = kahan_inc(point.f / count, keep * mean, keep * compensation);
    }
    if incremental {
        mean + compensation
    } else {
        sum / count + compensation / count
    }
}

/// `sum_over_time`: the Kahan-compensated sum.
pub(crate) fn sum_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        let (mut sum, mut compensation) = (0.0, 0.0);
        for point in points {
            (sum, compensation) = kahan_inc(point.f, sum, compensation);
        }
        Some(if sum.is_infinite() {
            sum
        } else {
            sum + compensation
        })
    })
}

/// `count_over_time`: the number of points.
pub(crate) fn count_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| Some(points.len() as f64))
}

/// `present_over_time`: 1 for every series with a point.
pub(crate) fn present_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |_| Some(1.0))
}

/// `min_over_time`: the smallest value; NaN only when every value is NaN.
pub(crate) fn min_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        Some(pick(points, |current, best| current < best || best.is_nan()).f)
    })
}

/// `max_over_time`: the largest value; NaN only when every value is NaN.
pub(crate) fn max_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        Some(pick(points, |current, best| current > best || best.is_nan()).f)
    })
}

/// `ts_of_min_over_time`: the time (seconds) of the last occurrence of the minimum.
pub(crate) fn ts_of_min_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        Some(seconds(
            pick(points, |current, best| current <= best || best.is_nan()).t,
        ))
    })
}

/// `ts_of_max_over_time`: the time (seconds) of the last occurrence of the maximum.
pub(crate) fn ts_of_max_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        Some(seconds(
            pick(points, |current, best| current >= best || best.is_nan()).t,
        ))
    })
}

/// Returns the point that wins when each point replaces the best so far whenever
/// `replaces(point, best)` (Prometheus's `compareOverTime`).
fn pick(points: &[FPoint], replaces: impl Fn(f64, f64) -> bool) -> FPoint {
    let mut best = points[0];
    for point in points {
        if replaces(point.f, best.f) {
            best = *point;
        }
    }
    best
}

/// Milliseconds to seconds.
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// `last_over_time`: the newest value; keeps the metric name.
pub(crate) fn last_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, true, |points| points.last().map(|point| point.f))
}

/// `first_over_time`: the oldest value; keeps the metric name.
pub(crate) fn first_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, true, |points| points.first().map(|point| point.f))
}

/// `ts_of_last_over_time`: the newest point's time in seconds.
pub(crate) fn ts_of_last_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        points.last().map(|point| seconds(point.t))
    })
}

/// `ts_of_first_over_time`: the oldest point's time in seconds.
pub(crate) fn ts_of_first_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        points.first().map(|point| seconds(point.t))
    })
}

/// The population variance with Kahan-compensated Welford updates, as Prometheus's
/// `varianceOverTime`.
pub(crate) fn variance(points: &[FPoint]) -> f64 {
    let mut count = 0.0;
    let (mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0);
    for point in points {
        count += 1.0;
        let delta = point.f - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (point.f - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// `stdvar_over_time`: the population variance.
pub(crate) fn stdvar_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| Some(variance(points)))
}

/// `stddev_over_time`: the population standard deviation.
pub(crate) fn stddev_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| Some(variance(points).sqrt()))
}

/// The φ-quantile of `values` as Prometheus's `quantile`: linear interpolation between
/// the closest ranks, NaNs sorted first, -Inf for φ < 0, +Inf for φ > 1.
pub(crate) fn quantile(phi: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || phi.is_nan() {
        return f64::NAN;
    }
    if phi < 0.0 {
        return f64::NEG_INFINITY;
    }
    if phi > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = phi * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (n - 1.0).min(lower + 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// The warning for a φ outside [0, 1] (or NaN), worded as Prometheus's.
pub(crate) fn invalid_quantile_message(phi: f64) -> String {
    format!(
        "quantile value should be between 0 and 1, got {}",
        go_format_g(phi)
    )
}

/// `quantile_over_time(φ scalar, v range-vector)`.
pub(crate) fn quantile_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let phi = scalar_arg(call, 0)?;
    let out = reduce_each(call, 1, false, |points| {
        let mut values: Vec<f64> = points.iter().map(|point| point.f).collect();
        Some(quantile(phi, &mut values))
    })?;
    if !out.is_empty() && (phi.is_nan() || !(0.0..=1.0).contains(&phi)) {
        call.annotations.warn(invalid_quantile_message(phi));
    }
    Ok(out)
}

/// `mad_over_time`: the median absolute deviation from the median; NaN when any value is
/// NaN (the median is undefined then).
pub(crate) fn mad_over_time(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        if points.iter().any(|point| point.f.is_nan()) {
            return Some(f64::NAN);
        }
        let mut values: Vec<f64> = points.iter().map(|point| point.f).collect();
        let median = quantile(0.5, &mut values);
        let mut deviations: Vec<f64> = points
            .iter()
            .map(|point| (point.f - median).abs())
            .collect();
        Some(quantile(0.5, &mut deviations))
    })
}

/// `changes`: how often the value changed between consecutive points (NaN to NaN is no
/// change).
pub(crate) fn changes(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        let count = points
            .windows(2)
            .filter(|pair| {
                let (previous, current) = (pair[0].f, pair[1].f);
                current != previous && !(current.is_nan() && previous.is_nan())
            })
            .count();
        Some(count as f64)
    })
}

/// `resets`: how often the value decreased between consecutive points.
pub(crate) fn resets(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    reduce_each(call, 0, false, |points| {
        let count = points
            .windows(2)
            .filter(|pair| pair[1].f < pair[0].f)
            .count();
        Some(count as f64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn points(values: &[f64]) -> Vec<FPoint> {
        values
            .iter()
            .enumerate()
            .map(|(index, &f)| FPoint {
                t: index as i64 * 1000,
                f,
            })
            .collect()
    }

    #[test]
    fn mean_and_variance_by_hand() {
        let values = points(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(mean(&values), 5.0);
        assert_eq!(variance(&values), 4.0);
    }

    #[test]
    fn mean_survives_sums_that_overflow() {
        let values = points(&[f64::MAX, f64::MAX, f64::MAX]);
        let result = mean(&values);
        assert!(result.is_finite());
        assert!((result / f64::MAX - 1.0).abs() < 1e-15);
    }

    #[test]
    fn quantile_interpolates_between_ranks() {
        let mut values = vec![4.0, 1.0, 3.0, 2.0];
        // rank 0.5 × 3 = 1.5 → between 2 and 3.
        assert_eq!(quantile(0.5, &mut values), 2.5);
        assert_eq!(quantile(0.0, &mut values), 1.0);
        assert_eq!(quantile(1.0, &mut values), 4.0);
        assert_eq!(quantile(-0.1, &mut values), f64::NEG_INFINITY);
        assert_eq!(quantile(1.1, &mut values), f64::INFINITY);
        assert!(quantile(f64::NAN, &mut values).is_nan());
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn min_and_max_skip_nan_unless_all_are_nan() {
        let values = points(&[f64::NAN, 3.0, 1.0, f64::NAN]);
        assert_eq!(pick(&values, |c, b| c < b || b.is_nan()).f, 1.0);
        assert_eq!(pick(&values, |c, b| c > b || b.is_nan()).f, 3.0);
        let all_nan = points(&[f64::NAN, f64::NAN]);
        assert!(pick(&all_nan, |c, b| c < b || b.is_nan()).f.is_nan());
    }

    #[test]
    fn ts_of_max_takes_the_last_occurrence() {
        let values = points(&[5.0, 1.0, 5.0, 2.0]);
        let best = pick(&values, |c, b| c >= b || b.is_nan());
        assert_eq!(best.t, 2000);
    }

    #[test]
    fn quantile_warning_text_matches_prometheus() {
        assert_eq!(
            invalid_quantile_message(-1.0),
            "quantile value should be between 0 and 1, got -1"
        );
        assert_eq!(
            invalid_quantile_message(f64::NAN),
            "quantile value should be between 0 and 1, got NaN"
        );
    }

    proptest! {
        #[test]
        fn sum_and_mean_of_constants(count in 1usize..200, value in -1e6f64..1e6) {
            let values = points(&vec![value; count]);
            let (mut sum, mut compensation) = (0.0, 0.0);
            for point in &values {
                (sum, compensation) = kahan_inc(point.f, sum, compensation);
            }
            let expected = value * count as f64;
            prop_assert!((sum + compensation - expected).abs() <= expected.abs() * 1e-12);
            prop_assert!((mean(&values) - value).abs() <= value.abs() * 1e-12);
            prop_assert!(variance(&values).abs() <= value.abs() * 1e-9 + 1e-9);
        }

        #[test]
        fn quantile_lies_between_min_and_max(
            mut values in proptest::collection::vec(-1e9f64..1e9, 1..50),
            phi in 0.0f64..=1.0,
        ) {
            let lowest = values.iter().copied().fold(f64::INFINITY, f64::min);
            let highest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let result = quantile(phi, &mut values);
            prop_assert!(result >= lowest - 1e-6 && result <= highest + 1e-6);
        }
    }
}
