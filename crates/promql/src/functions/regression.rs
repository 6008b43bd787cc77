//! `deriv` and `predict_linear`: a least-squares line through the points of a window
//! (Prometheus's `linearRegression`, Kahan-compensated sums, x in seconds relative to an
//! intercept time).

use super::FunctionCall;
use super::common::{kahan_inc, matrix_arg, output, scalar_arg};
use crate::error::PromqlError;
use crate::value::{FPoint, Vector};

/// Fits `y = slope × x + intercept` with `x` the seconds since `intercept_ms`. A constant
/// series has slope 0 (or NaN for a constant infinity).
pub(crate) fn linear_regression(points: &[FPoint], intercept_ms: i64) -> (f64, f64) {
    let Some(first) = points.first() else {
        return (f64::NAN, f64::NAN);
    };
    let initial = first.f;
    let mut constant = true;
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    for (index, point) in points.iter().enumerate() {
        if constant && index > 0 && point.f != initial {
            constant = false;
        }
        n += 1.0;
        let x = (point.t - intercept_ms) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(point.f, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * point.f, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if constant {
        if initial.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, initial);
    }
    let sum_x = sum_x + c_x;
    let sum_y = sum_y + c_y;
    let sum_xy = sum_xy + c_xy;
    let sum_x2 = sum_x2 + c_x2;
    let covariance = sum_xy - sum_x * sum_y / n;
    let variance = sum_x2 - sum_x * sum_x / n;
    let slope = covariance / variance;
    let intercept = sum_y / n - slope * sum_x / n;
    (slope, intercept)
}

/// `deriv(v range-vector)`: the per-second slope of the fitted line.
pub(crate) fn deriv(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let (series, _) = matrix_arg(call, 0)?;
    let mut out = Vector::with_capacity(series.len());
    for one in series {
        if one.floats.len() < 2 {
            continue;
        }
        // An intercept time near the points avoids losing precision (Prometheus #2674).
        let (slope, _) = linear_regression(&one.floats, one.floats[0].t);
        out.push(output(one.metric.clone(), call.ts, slope, true));
    }
    Ok(out)
}

/// `predict_linear(v range-vector, t scalar)`: the fitted line's value `t` seconds after
/// the evaluation time.
pub(crate) fn predict_linear(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let (series, _) = matrix_arg(call, 0)?;
    let seconds = scalar_arg(call, 1)?;
    let mut out = Vector::with_capacity(series.len());
    for one in series {
        if one.floats.len() < 2 {
            continue;
        }
        let (slope, intercept) = linear_regression(&one.floats, call.ts);
        out.push(output(
            one.metric.clone(),
            call.ts,
            slope * seconds + intercept,
            true,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_through_points_on_a_line_recovers_it() {
        // y = 2x + 3 with x in seconds.
        let points: Vec<FPoint> = (0..5)
            .map(|i| FPoint {
                t: i * 1000,
                f: 2.0 * i as f64 + 3.0,
            })
            .collect();
        let (slope, intercept) = linear_regression(&points, 0);
        assert!((slope - 2.0).abs() < 1e-12);
        assert!((intercept - 3.0).abs() < 1e-12);
        // Intercept at t = 10 s is the line's value there.
        let (_, at_ten) = linear_regression(&points, 10_000);
        assert!((at_ten - 23.0).abs() < 1e-9);
    }

    #[test]
    fn constant_series_has_zero_slope_and_infinite_constant_has_nan() {
        let flat = [FPoint { t: 0, f: 4.0 }, FPoint { t: 1000, f: 4.0 }];
        assert_eq!(linear_regression(&flat, 0), (0.0, 4.0));
        let infinite = [
            FPoint {
                t: 0,
                f: f64::INFINITY,
            },
            FPoint {
                t: 1000,
                f: f64::INFINITY,
            },
        ];
        let (slope, intercept) = linear_regression(&infinite, 0);
        assert!(slope.is_nan() && intercept.is_nan());
    }
}
