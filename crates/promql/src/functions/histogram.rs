//! Histogram functions over classic histograms (one float series per bucket, upper bound
//! in the `le` label): `histogram_quantile`, `histogram_quantiles` and
//! `histogram_fraction`, with Prometheus's `BucketQuantile`/`BucketFraction` (bucket
//! coalescing, monotonicity fixing) and annotations. Norn stores no native histograms, so
//! `histogram_count`/`sum`/`avg`/`stddev`/`stdvar`, which read only native histograms,
//! always answer with an empty vector.

use std::collections::HashMap;

use norn_model::Labels;

use super::FunctionCall;
use super::common::{
    go_format_g, go_quote, metric_name, output, scalar_arg, string_arg, vector_arg, with_label,
    without_labels,
};
use super::over_time::invalid_quantile_message;
use crate::annotations::Annotations;
use crate::error::PromqlError;
use crate::value::{Sample, Vector};

/// The label holding a bucket's upper bound.
const BUCKET_LABEL: &str = "le";

/// Relative differences between adjacent buckets below this are floating-point noise and
/// are ignored (Prometheus's `smallDeltaTolerance`).
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// The info for buckets whose counts had to be made monotonic.
const FORCED_MONOTONICITY: &str = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)";

/// One bucket of a classic histogram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bucket {
    /// The bucket's upper bound (`le`).
    pub upper_bound: f64,
    /// The cumulative count of observations up to the bound.
    pub count: f64,
}

/// One classic histogram of a vector: its labels without `le`, and its buckets.
struct ClassicHistogram {
    metric: Labels,
    buckets: Vec<Bucket>,
}

/// Adds `suffix` naming the metric, as Prometheus's `maybeAddMetricName`.
fn with_metric_name(message: String, name: &str) -> String {
    if name.is_empty() {
        message
    } else {
        format!("{message} for metric name {}", go_quote(name))
    }
}

/// Groups the samples of `input` into classic histograms by their labels without `le`,
/// warning about samples whose `le` is missing or not a number.
fn group_buckets(
    input: &[Sample],
    annotations: &mut Annotations,
) -> Result<Vec<ClassicHistogram>, PromqlError> {
    let mut histograms: Vec<ClassicHistogram> = Vec::new();
    let mut index_by_labels: HashMap<Labels, usize> = HashMap::new();
    for sample in input {
        let bound_text = sample.metric.get(BUCKET_LABEL);
        let Some(upper_bound) = parse_go_float(bound_text) else {
            annotations.warn(with_metric_name(
                format!(
                    "bucket label \"le\" is missing or has a malformed value of {}",
                    go_quote(bound_text)
                ),
                metric_name(&sample.metric),
            ));
            continue;
        };
        let metric = without_labels(&sample.metric, &[BUCKET_LABEL])?;
        let bucket = Bucket {
            upper_bound,
            count: sample.f,
        };
        match index_by_labels.get(&metric) {
            Some(&index) => histograms[index].buckets.push(bucket),
            None => {
                index_by_labels.insert(metric.clone(), histograms.len());
                histograms.push(ClassicHistogram {
                    metric,
                    buckets: vec![bucket],
                });
            }
        }
    }
    Ok(histograms)
}

/// Parses a bucket bound as Go's `strconv.ParseFloat` (decimal and exponent forms,
/// `Inf`/`+Inf`/`-Inf`/`NaN` in any case; a finite number too large for a float is an
/// error there, not an infinity).
fn parse_go_float(text: &str) -> Option<f64> {
    if text.is_empty() || text.contains('_') {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    if value.is_infinite() && !text.to_ascii_lowercase().contains("inf") {
        return None;
    }
    Some(value)
}

/// What [`bucket_quantile`] found besides the quantile.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct QuantileOutcome {
    /// The quantile.
    pub value: f64,
    /// True when some bucket count had to be raised to keep the counts monotonic.
    pub forced_monotonicity: bool,
}

/// Prometheus's `BucketQuantile`: the φ-quantile of a classic histogram, interpolated
/// linearly inside the bucket it falls in (from 0 for the lowest bucket when its bound is
/// positive). NaN without a `+Inf` bucket, with fewer than two buckets after coalescing,
/// without observations, or for NaN φ; -Inf for φ < 0 and +Inf for φ > 1.
pub(crate) fn bucket_quantile(phi: f64, buckets: &mut Vec<Bucket>) -> QuantileOutcome {
    let result = |value| QuantileOutcome {
        value,
        forced_monotonicity: false,
    };
    if phi.is_nan() {
        return result(f64::NAN);
    }
    if phi < 0.0 {
        return result(f64::NEG_INFINITY);
    }
    if phi > 1.0 {
        return result(f64::INFINITY);
    }
    sort_by_bound(buckets);
    if buckets
        .last()
        .is_none_or(|last| last.upper_bound != f64::INFINITY)
    {
        return result(f64::NAN);
    }
    coalesce(buckets);
    let forced_monotonicity = ensure_monotonic(buckets, SMALL_DELTA_TOLERANCE);
    let outcome = |value| QuantileOutcome {
        value,
        forced_monotonicity,
    };
    if buckets.len() < 2 {
        return outcome(f64::NAN);
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return outcome(f64::NAN);
    }
    let mut rank = phi * observations;
    // The first bucket (excluding +Inf) whose count reaches the rank.
    let last_finite = buckets.len() - 1;
    let index = buckets[..last_finite].partition_point(|bucket| bucket.count < rank);
    if index == last_finite {
        return outcome(buckets[last_finite - 1].upper_bound);
    }
    if index == 0 && buckets[0].upper_bound <= 0.0 {
        return outcome(buckets[0].upper_bound);
    }
    let mut bucket_start = 0.0;
    let bucket_end = buckets[index].upper_bound;
    let mut count = buckets[index].count;
    if index > 0 {
        bucket_start = buckets[index - 1].upper_bound;
        count -= buckets[index - 1].count;
        rank -= buckets[index - 1].count;
    }
    outcome(bucket_start + (bucket_end - bucket_start) * (rank / count))
}

/// Prometheus's `BucketFraction`: the estimated fraction of observations between `lower`
/// and `upper`, interpolating linearly inside buckets (never inside an infinite one).
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    sort_by_bound(buckets);
    if buckets
        .last()
        .is_none_or(|last| last.upper_bound != f64::INFINITY)
    {
        return f64::NAN;
    }
    coalesce(buckets);
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    // Positive buckets only are assumed to start at 0, otherwise at -Inf.
    let mut lower_bound = if buckets[0].upper_bound <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (index, bucket) in buckets.iter().enumerate() {
        if index > 0 {
            lower_bound = buckets[index - 1].upper_bound;
        }
        let upper_bound = bucket.upper_bound;
        let interpolate = |value: f64| {
            if lower_bound == f64::NEG_INFINITY {
                bucket.count
            } else {
                rank + (bucket.count - rank) * (value - lower_bound) / (upper_bound - lower_bound)
            }
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = bucket.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

/// Sorts buckets by upper bound.
fn sort_by_bound(buckets: &mut [Bucket]) {
    buckets.sort_by(|a, b| {
        a.upper_bound
            .partial_cmp(&b.upper_bound)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// Merges adjacent buckets with the same upper bound (e.g. `le="1"` and `le="1.0"`),
/// adding their counts. The buckets must be sorted.
fn coalesce(buckets: &mut Vec<Bucket>) {
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for bucket in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper_bound == bucket.upper_bound => last.count += bucket.count,
            _ => merged.push(*bucket),
        }
    }
    *buckets = merged;
}

/// Prometheus's `almost.Equal` for two bucket counts.
fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if crate::value::is_stale_nan(a) || crate::value::is_stale_nan(b) {
        return crate::value::is_stale_nan(a) && crate::value::is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let absolute_sum = a.abs() + b.abs();
    let difference = (a - b).abs();
    if a == 0.0 || b == 0.0 || absolute_sum < MIN_NORMAL {
        return difference < epsilon * MIN_NORMAL;
    }
    difference / absolute_sum.min(f64::MAX) < epsilon
}

/// Ignores numerically insignificant differences between adjacent counts and raises any
/// count below its predecessor. Returns true when a real decrease had to be removed.
fn ensure_monotonic(buckets: &mut [Bucket], tolerance: f64) -> bool {
    let mut forced = false;
    let Some(first) = buckets.first() else {
        return false;
    };
    let mut previous = first.count;
    for bucket in buckets.iter_mut().skip(1) {
        let current = bucket.count;
        if current == previous {
            continue;
        }
        if almost_equal(previous, current, tolerance) {
            bucket.count = previous;
            continue;
        }
        if current < previous {
            bucket.count = previous;
            forced = true;
            continue;
        }
        previous = current;
    }
    forced
}

/// Warns about φ outside [0, 1].
fn validate_quantile(phi: f64, annotations: &mut Annotations) {
    if phi.is_nan() || !(0.0..=1.0).contains(&phi) {
        annotations.warn(invalid_quantile_message(phi));
    }
}

/// Computes one quantile of one histogram, recording the monotonicity info.
fn quantile_of(phi: f64, histogram: &ClassicHistogram, annotations: &mut Annotations) -> f64 {
    let mut buckets = histogram.buckets.clone();
    let outcome = bucket_quantile(phi, &mut buckets);
    if outcome.forced_monotonicity {
        annotations.info(with_metric_name(
            FORCED_MONOTONICITY.to_owned(),
            metric_name(&histogram.metric),
        ));
    }
    outcome.value
}

/// `histogram_quantile(φ scalar, b instant-vector)`.
pub(crate) fn histogram_quantile(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let phi = scalar_arg(call, 0)?;
    let input = vector_arg(call, 1)?;
    validate_quantile(phi, call.annotations);
    let histograms = group_buckets(input, call.annotations)?;
    let mut out = Vector::with_capacity(histograms.len());
    for histogram in &histograms {
        let value = quantile_of(phi, histogram, call.annotations);
        out.push(output(histogram.metric.clone(), call.ts, value, true));
    }
    Ok(out)
}

/// `histogram_quantiles(b instant-vector, label string, φ scalar...)` (experimental):
/// one output per histogram and φ, the φ in label `label` (OpenMetrics float text).
pub(crate) fn histogram_quantiles(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let input = vector_arg(call, 0)?;
    let label = string_arg(call, 1)?;
    let phis = (2..call.args.len())
        .map(|index| scalar_arg(call, index))
        .collect::<Result<Vec<f64>, PromqlError>>()?;
    for &phi in &phis {
        validate_quantile(phi, call.annotations);
    }
    let histograms = group_buckets(input, call.annotations)?;
    let mut out = Vector::with_capacity(histograms.len() * phis.len());
    for &phi in &phis {
        let phi_text = open_metrics_float(phi);
        for histogram in &histograms {
            let value = quantile_of(phi, histogram, call.annotations);
            let metric = with_label(&histogram.metric, label, &phi_text)?;
            out.push(output(metric, call.ts, value, true));
        }
    }
    Ok(out)
}

/// Prometheus's `labels.FormatOpenMetricsFloat`: Go's `%g`, with `.0` appended to
/// integral values.
fn open_metrics_float(value: f64) -> String {
    if value == 0.0 {
        return "0.0".to_owned();
    }
    let text = go_format_g(value);
    if value.is_finite() && !text.contains(['.', 'e']) {
        format!("{text}.0")
    } else {
        text
    }
}

/// `histogram_fraction(lower scalar, upper scalar, b instant-vector)`.
pub(crate) fn histogram_fraction(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let lower = scalar_arg(call, 0)?;
    let upper = scalar_arg(call, 1)?;
    let input = vector_arg(call, 2)?;
    let histograms = group_buckets(input, call.annotations)?;
    Ok(histograms
        .into_iter()
        .map(|mut histogram| {
            let value = bucket_fraction(lower, upper, &mut histogram.buckets);
            output(histogram.metric, call.ts, value, true)
        })
        .collect())
}

/// `histogram_count`, `histogram_sum`, `histogram_avg`, `histogram_stddev`,
/// `histogram_stdvar`: they read native histograms only and ignore floats, and Norn has
/// no native histograms.
pub(crate) fn native_only(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    vector_arg(call, 0)?;
    Ok(Vector::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper_bound, count)| Bucket { upper_bound, count })
            .collect()
    }

    const INF: f64 = f64::INFINITY;

    #[test]
    fn quantile_interpolates_inside_the_bucket() {
        // 10 observations: 4 ≤ 1, 8 ≤ 2, all ≤ +Inf. Median rank 5 lies in (1, 2]:
        // 1 + (2 − 1) × (5 − 4)/(8 − 4) = 1.25.
        let mut input = buckets(&[(2.0, 8.0), (INF, 10.0), (1.0, 4.0)]);
        let outcome = bucket_quantile(0.5, &mut input);
        assert_eq!(outcome.value, 1.25);
        assert!(!outcome.forced_monotonicity);
        // In the lowest bucket, from 0: rank 2 → 0.5.
        assert_eq!(bucket_quantile(0.2, &mut input).value, 0.5);
        // Rank above the last finite bucket: its upper bound.
        assert_eq!(bucket_quantile(0.95, &mut input).value, 2.0);
    }

    #[test]
    fn quantile_special_cases() {
        let mut input = buckets(&[(1.0, 1.0), (INF, 2.0)]);
        assert_eq!(bucket_quantile(-0.5, &mut input).value, f64::NEG_INFINITY);
        assert_eq!(bucket_quantile(1.5, &mut input).value, f64::INFINITY);
        assert!(bucket_quantile(f64::NAN, &mut input).value.is_nan());
        let mut no_inf = buckets(&[(1.0, 1.0), (2.0, 2.0)]);
        assert!(bucket_quantile(0.5, &mut no_inf).value.is_nan());
        let mut only_inf = buckets(&[(INF, 2.0)]);
        assert!(bucket_quantile(0.5, &mut only_inf).value.is_nan());
        let mut empty = buckets(&[(1.0, 0.0), (INF, 0.0)]);
        assert!(bucket_quantile(0.5, &mut empty).value.is_nan());
        // A lowest bucket with a bound ≤ 0 returns that bound.
        let mut negative = buckets(&[(-1.0, 5.0), (INF, 10.0)]);
        assert_eq!(bucket_quantile(0.1, &mut negative).value, -1.0);
    }

    #[test]
    fn decreasing_counts_are_fixed_and_reported() {
        let mut input = buckets(&[(0.1, 2.0), (1.0, 1.0), (10.0, 5.0), (INF, 5.0)]);
        let outcome = bucket_quantile(0.5, &mut input);
        assert!(outcome.forced_monotonicity);
        // After fixing: 2, 2, 5, 5 → rank 2.5 in (1, 10]: 1 + 9 × 0.5/3 = 2.5.
        assert!((outcome.value - 2.5).abs() < 1e-12);
    }

    #[test]
    fn duplicate_bounds_are_coalesced() {
        let mut input = buckets(&[(1.0, 2.0), (1.0, 2.0), (INF, 8.0)]);
        // 4 ≤ 1 out of 8: median at exactly 1.
        assert_eq!(bucket_quantile(0.5, &mut input).value, 1.0);
    }

    #[test]
    fn fraction_interpolates() {
        // 10 observations: 4 in [0, 1], 4 in (1, 2], 2 above.
        let mut input = buckets(&[(1.0, 4.0), (2.0, 8.0), (INF, 10.0)]);
        assert_eq!(bucket_fraction(0.0, 1.0, &mut input), 0.4);
        assert_eq!(bucket_fraction(0.5, 1.5, &mut input), 0.4);
        assert_eq!(bucket_fraction(f64::NEG_INFINITY, INF, &mut input), 1.0);
        assert_eq!(bucket_fraction(2.0, 2.0, &mut input), 0.0);
        assert!(bucket_fraction(f64::NAN, 1.0, &mut input).is_nan());
    }

    #[test]
    fn bounds_parse_like_go() {
        assert_eq!(parse_go_float("+Inf"), Some(INF));
        assert_eq!(parse_go_float("0.1"), Some(0.1));
        assert_eq!(parse_go_float("1e3"), Some(1000.0));
        assert_eq!(parse_go_float(""), None);
        assert_eq!(parse_go_float("Hello World"), None);
        assert_eq!(parse_go_float("1e400"), None);
        assert_eq!(parse_go_float("-inf"), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn open_metrics_float_text() {
        assert_eq!(open_metrics_float(0.5), "0.5");
        assert_eq!(open_metrics_float(1.0), "1.0");
        assert_eq!(open_metrics_float(0.0), "0.0");
        assert_eq!(open_metrics_float(f64::NAN), "NaN");
        assert_eq!(open_metrics_float(INF), "+Inf");
    }
}
