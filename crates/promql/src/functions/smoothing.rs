//! `double_exponential_smoothing` (Holt's linear method; Prometheus 3's name for the old
//! `holt_winters`), with Prometheus's validation of the smoothing and trend factors.

use super::FunctionCall;
use super::common::{matrix_arg, output, scalar_arg};
use crate::error::PromqlError;
use crate::value::{FPoint, Vector};

/// `double_exponential_smoothing(v range-vector, sf scalar, tf scalar)`.
pub(crate) fn double_exponential_smoothing(
    call: &mut FunctionCall<'_>,
) -> Result<Vector, PromqlError> {
    let (series, _) = matrix_arg(call, 0)?;
    let smoothing_factor = scalar_arg(call, 1)?;
    let trend_factor = scalar_arg(call, 2)?;
    let mut out = Vector::with_capacity(series.len());
    for one in series {
        // Prometheus validates once per series it is called for (NaN passes the check).
        if smoothing_factor <= 0.0 || smoothing_factor >= 1.0 {
            return Err(PromqlError::Execution(format!(
                "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
                go_format_fixed6(smoothing_factor)
            )));
        }
        if trend_factor <= 0.0 || trend_factor >= 1.0 {
            return Err(PromqlError::Execution(format!(
                "invalid trend factor. Expected: 0 < tf < 1, got: {}",
                go_format_fixed6(trend_factor)
            )));
        }
        if let Some(value) = smooth(&one.floats, smoothing_factor, trend_factor) {
            out.push(output(one.metric.clone(), call.ts, value, true));
        }
    }
    Ok(out)
}

/// The last smoothed value of `points`, or `None` with fewer than two points.
pub(crate) fn smooth(points: &[FPoint], smoothing_factor: f64, trend_factor: f64) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let mut previous_smoothed = 0.0;
    let mut smoothed = points[0].f;
    let mut trend = points[1].f - points[0].f;
    for (index, point) in points.iter().enumerate().skip(1) {
        let scaled_value = smoothing_factor * point.f;
        // The trend at the previous index (the initial trend for the first step).
        if index > 1 {
            trend = trend_factor * (smoothed - previous_smoothed) + (1.0 - trend_factor) * trend;
        }
        let scaled_previous = (1.0 - smoothing_factor) * (smoothed + trend);
        previous_smoothed = smoothed;
        smoothed = scaled_value + scaled_previous;
    }
    Some(smoothed)
}

/// Go's `%f`: six decimals, `NaN`, `+Inf`, `-Inf`.
fn go_format_fixed6(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{value:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_is_smoothed_to_itself() {
        // On y = 10 t the initial trend equals the slope and stays exact.
        let points: Vec<FPoint> = (0..10)
            .map(|i| FPoint {
                t: i,
                f: 10.0 * i as f64,
            })
            .collect();
        let value = smooth(&points, 0.5, 0.5).unwrap_or_default();
        assert!((value - 90.0).abs() < 1e-9);
    }

    #[test]
    fn smoothing_by_hand() {
        // sf = tf = 0.5, points 0, 2, 3.
        // i=1: s = 0.5×2 + 0.5×(0 + 2) = 2.
        // i=2: b = 0.5×(2 − 0) + 0.5×2 = 2; s = 0.5×3 + 0.5×(2 + 2) = 3.5.
        let points = [
            FPoint { t: 0, f: 0.0 },
            FPoint { t: 1, f: 2.0 },
            FPoint { t: 2, f: 3.0 },
        ];
        assert_eq!(smooth(&points, 0.5, 0.5), Some(3.5));
        assert_eq!(smooth(&points[..1], 0.5, 0.5), None);
    }

    #[test]
    fn factors_format_like_go() {
        assert_eq!(go_format_fixed6(1.0), "1.000000");
        assert_eq!(go_format_fixed6(f64::INFINITY), "+Inf");
    }
}
