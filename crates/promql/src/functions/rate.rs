//! `rate`, `increase` and `delta` (Prometheus's `extrapolatedRate`: counter-reset
//! correction and extrapolation towards the window's edges), and `irate`/`idelta` (the
//! last two points only).

use norn_model::Labels;

use super::common::{matrix_arg, metric_name, output};
use super::{FunctionCall, Window};
use crate::annotations::Annotations;
use crate::error::PromqlError;
use crate::value::{FPoint, Vector};

/// Suffixes of metric names that are counters by convention; `rate`/`increase` on any
/// other name get an info annotation.
const COUNTER_SUFFIXES: [&str; 4] = ["_total", "_sum", "_count", "_bucket"];

/// `rate` (`is_counter`, `is_rate`), `increase` (`is_counter`) and `delta` (neither).
pub(crate) fn extrapolated_rate(
    call: &mut FunctionCall<'_>,
    is_counter: bool,
    is_rate: bool,
) -> Result<Vector, PromqlError> {
    let (series, window) = matrix_arg(call, 0)?;
    let mut out = Vector::with_capacity(series.len());
    for one in series {
        let Some(value) = extrapolated_value(&one.floats, window, is_counter, is_rate) else {
            continue;
        };
        if is_counter {
            counter_name_info(&one.metric, call.annotations);
        }
        out.push(output(one.metric.clone(), call.ts, value, true));
    }
    Ok(out)
}

/// The info `rate`/`increase` give for a metric whose name does not look like a counter's.
fn counter_name_info(metric: &Labels, annotations: &mut Annotations) {
    let name = metric_name(metric);
    if !name.is_empty() && !COUNTER_SUFFIXES.iter().any(|suffix| name.ends_with(suffix)) {
        annotations.info(format!(
            "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
            super::common::go_quote(name)
        ));
    }
}

/// One function of this module as a computation over one series' window, for an
/// evaluator that walks each series across all steps. Every output drops the metric name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RateKernel {
    /// `rate`, `increase`, `delta` ([`extrapolated_value`]).
    Extrapolated {
        /// Counter-reset correction and the zero bound (`rate`, `increase`).
        is_counter: bool,
        /// Per second (`rate`).
        is_rate: bool,
    },
    /// `irate` (`is_rate`) and `idelta` ([`last_two_value`]).
    LastTwo {
        /// Per second, with counter resets (`irate`).
        is_rate: bool,
    },
}

impl RateKernel {
    /// Returns the kernel of the function `name`, if it is one of this module's.
    pub(crate) fn of(name: &str) -> Option<Self> {
        Some(match name {
            "rate" => Self::Extrapolated {
                is_counter: true,
                is_rate: true,
            },
            "increase" => Self::Extrapolated {
                is_counter: true,
                is_rate: false,
            },
            "delta" => Self::Extrapolated {
                is_counter: false,
                is_rate: false,
            },
            "irate" => Self::LastTwo { is_rate: true },
            "idelta" => Self::LastTwo { is_rate: false },
            _ => return None,
        })
    }

    /// Returns the function's value over the window's `points` (stale markers removed), or
    /// `None` when it has no output for them.
    pub(crate) fn value(self, points: &[FPoint], window: Window) -> Option<f64> {
        match self {
            Self::Extrapolated {
                is_counter,
                is_rate,
            } => extrapolated_value(points, window, is_counter, is_rate),
            Self::LastTwo { is_rate } => last_two_value(points, is_rate),
        }
    }

    /// Adds the annotations the function gives for a series labelled `metric` that had an
    /// output.
    pub(crate) fn annotate(self, metric: &Labels, annotations: &mut Annotations) {
        if let Self::Extrapolated {
            is_counter: true, ..
        } = self
        {
            counter_name_info(metric, annotations);
        }
    }
}

/// Prometheus's `extrapolatedRate` over the float points of one window. `None` when
/// fewer than two points.
pub(crate) fn extrapolated_value(
    points: &[FPoint],
    window: Window,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    let (first, last) = match points {
        [first, .., last] => (first, last),
        _ => return None,
    };
    let mut result = last.f - first.f;
    if is_counter {
        for pair in points.windows(2) {
            if pair[1].f < pair[0].f {
                result += pair[0].f;
            }
        }
    }
    let intervals = (points.len() - 1) as f64;
    let mut duration_to_start = (first.t - window.start_ms) as f64 / 1000.0;
    let mut duration_to_end = (window.end_ms - last.t) as f64 / 1000.0;
    let sampled_interval = (last.t - first.t) as f64 / 1000.0;
    let average_interval = sampled_interval / intervals;
    let threshold = average_interval * 1.1;

    if duration_to_start >= threshold {
        duration_to_start = average_interval / 2.0;
    }
    if is_counter {
        // A counter cannot go below zero: extrapolate at most to where it would be zero.
        let mut duration_to_zero = duration_to_start;
        if result > 0.0 && first.f >= 0.0 {
            duration_to_zero = sampled_interval * (first.f / result);
        }
        if duration_to_zero < duration_to_start {
            duration_to_start = duration_to_zero;
        }
    }
    if duration_to_end >= threshold {
        duration_to_end = average_interval / 2.0;
    }

    let mut factor = if sampled_interval != 0.0 {
        (sampled_interval + duration_to_start + duration_to_end) / sampled_interval
    } else {
        1.0
    };
    if is_rate {
        factor /= window.range_ms() as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` (`is_rate`) and `idelta`: the difference of the last two points, per second
/// for `irate`, where a decrease counts as a counter reset for `irate`.
pub(crate) fn instant_value(
    call: &mut FunctionCall<'_>,
    is_rate: bool,
) -> Result<Vector, PromqlError> {
    let (series, _) = matrix_arg(call, 0)?;
    let mut out = Vector::with_capacity(series.len());
    for one in series {
        if let Some(value) = last_two_value(&one.floats, is_rate) {
            out.push(output(one.metric.clone(), call.ts, value, true));
        }
    }
    Ok(out)
}

/// `irate` (`is_rate`) or `idelta` over the last two of `points`; `None` with fewer than
/// two points or when both share a timestamp.
pub(crate) fn last_two_value(points: &[FPoint], is_rate: bool) -> Option<f64> {
    let [.., previous, last] = points else {
        return None;
    };
    let interval_ms = last.t - previous.t;
    if interval_ms == 0 {
        return None;
    }
    let mut value = last.f;
    if !is_rate || last.f >= previous.f || last.f.is_nan() || previous.f.is_nan() {
        // A gauge, or a counter without reset (NaN compares as "no reset").
        value = last.f - previous.f;
    }
    if is_rate {
        value /= interval_ms as f64 / 1000.0;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start_ms: i64, end_ms: i64) -> Window {
        Window { start_ms, end_ms }
    }

    fn points(values: &[(i64, f64)]) -> Vec<FPoint> {
        values.iter().map(|&(t, f)| FPoint { t, f }).collect()
    }

    #[test]
    fn rate_of_a_regular_counter_covering_the_window_is_the_slope() {
        // Samples every 10 s from 10 s to 60 s, increasing by 1 each; window (0, 60 s].
        let samples = points(&[
            (10_000, 1.0),
            (20_000, 2.0),
            (30_000, 3.0),
            (40_000, 4.0),
            (50_000, 5.0),
            (60_000, 6.0),
        ]);
        // Increase over 50 s is 5; the start gap (10 s) is below 1.1 × 10 s, so it
        // extrapolates to the start, but the zero point (10 s × 1/5 … = 10 s) limits it to
        // exactly 10 s: increase = 5 × 60/50 = 6, rate = 6/60 = 0.1.
        let rate = extrapolated_value(&samples, window(0, 60_000), true, true).unwrap_or_default();
        assert!((rate - 0.1).abs() < 1e-12);
        let increase = extrapolated_value(&samples, window(0, 60_000), true, false);
        assert!((increase.unwrap_or_default() - 6.0).abs() < 1e-12);
    }

    #[test]
    fn counter_resets_add_the_value_before_the_reset() {
        // 0 → 10 → 2 → 4: the reset adds 10, so the raw increase is 4 + 10 = 14.
        let samples = points(&[(0, 0.0), (10_000, 10.0), (20_000, 2.0), (30_000, 4.0)]);
        // Window exactly covers the samples (start exclusive just before 0).
        let increase = extrapolated_value(&samples, window(0, 30_000), true, false);
        assert_eq!(increase, Some(14.0));
        // delta ignores resets: 4 - 0.
        let delta = extrapolated_value(&samples, window(0, 30_000), false, false);
        assert_eq!(delta, Some(4.0));
    }

    #[test]
    fn extrapolation_stops_at_half_an_interval_when_samples_end_early() {
        // Samples at 0..=20 s every 10 s, window (−100 s, 100 s]: both gaps exceed
        // 1.1 × 10 s, so each side extends by 5 s: delta 2 × (20+10)/20 = 3.
        let samples = points(&[(0, 10.0), (10_000, 11.0), (20_000, 12.0)]);
        let delta = extrapolated_value(&samples, window(-100_000, 100_000), false, false);
        assert_eq!(delta, Some(3.0));
    }

    #[test]
    fn one_point_gives_no_rate() {
        assert_eq!(
            extrapolated_value(&points(&[(0, 1.0)]), window(-10, 0), true, true),
            None
        );
    }
}
