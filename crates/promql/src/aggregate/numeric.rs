//! The aggregations that reduce each group to one new sample: `sum`, `avg`, `count`, `min`,
//! `max`, `group`, `stddev`, `stdvar` and `quantile`, computed as Prometheus 3's
//! `aggregation` does (Kahan summation, direct mean with a switch to the incremental mean on
//! overflow, Welford's variance, NaN-skipping `min`/`max`).

use crate::annotations::Annotations;
use crate::error::PromqlError;
use crate::value::{Sample, Vector};

use super::Grouping;
use super::goformat::format_go_g;
use super::grouping::Groups;
use super::kahan::kahan_inc;

/// Which reduction to apply.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Reduction {
    /// `sum`.
    Sum,
    /// `avg`.
    Avg,
    /// `count`.
    Count,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `group`.
    Group,
    /// `stddev`.
    Stddev,
    /// `stdvar`.
    Stdvar,
    /// `quantile` with φ.
    Quantile(f64),
}

/// The running state of one group (Prometheus's `groupedAggregation`, floats only).
#[derive(Debug)]
struct GroupState {
    /// The running sum, minimum, maximum or squared-deviation sum.
    value: f64,
    /// The running mean (`avg` after overflow, `stddev`/`stdvar`).
    mean: f64,
    /// The Kahan compensation of `value` (or of `mean` once the mean is incremental).
    compensation: f64,
    /// How many samples the group holds.
    count: f64,
    /// True once `avg` switched to the incremental mean because the sum would overflow.
    incremental_mean: bool,
    /// Every value (`quantile`).
    values: Vec<f64>,
    /// True when any input sample of the group has its name dropped.
    drop_name: bool,
}

impl GroupState {
    /// Starts a group with its first sample (value `f`, name flag `drop_name`).
    fn first(reduction: Reduction, f: f64, drop_name: bool) -> Self {
        let value = match reduction {
            Reduction::Group => 1.0,
            Reduction::Stddev | Reduction::Stdvar if f.is_finite() => 0.0,
            Reduction::Stddev | Reduction::Stdvar => f64::NAN,
            _ => f,
        };
        let values = match reduction {
            Reduction::Quantile(_) => vec![f],
            _ => Vec::new(),
        };
        Self {
            value,
            mean: f,
            compensation: 0.0,
            count: 1.0,
            incremental_mean: false,
            values,
            drop_name,
        }
    }

    /// Adds a further sample (value `f`, name flag `drop_name`).
    fn add(&mut self, reduction: Reduction, f: f64, drop_name: bool) {
        self.drop_name |= drop_name;
        match reduction {
            Reduction::Sum => {
                (self.value, self.compensation) = kahan_inc(f, self.value, self.compensation);
            }
            Reduction::Avg => self.add_to_mean(f),
            Reduction::Count => self.count += 1.0,
            Reduction::Min => {
                if self.value > f || self.value.is_nan() {
                    self.value = f;
                }
            }
            Reduction::Max => {
                if self.value < f || self.value.is_nan() {
                    self.value = f;
                }
            }
            Reduction::Group => {}
            Reduction::Stddev | Reduction::Stdvar => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            Reduction::Quantile(_) => self.values.push(f),
        }
    }

    /// `avg`: sums directly (with Kahan compensation) while the sum stays finite, and from
    /// the first overflow on keeps an incremental mean instead.
    fn add_to_mean(&mut self, f: f64) {
        self.count += 1.0;
        if !self.incremental_mean {
            let (sum, compensation) = kahan_inc(f, self.value, self.compensation);
            if !sum.is_infinite() {
                (self.value, self.compensation) = (sum, compensation);
                return;
            }
            self.incremental_mean = true;
            self.mean = self.value / (self.count - 1.0);
            self.compensation /= self.count - 1.0;
        }
        let scale = (self.count - 1.0) / self.count;
        (self.mean, self.compensation) =
            kahan_inc(f / self.count, scale * self.mean, scale * self.compensation);
    }

    /// Returns the group's output value.
    fn finish(mut self, reduction: Reduction) -> f64 {
        match reduction {
            Reduction::Sum => self.value + self.compensation,
            Reduction::Avg if self.incremental_mean => self.mean + self.compensation,
            Reduction::Avg => self.value / self.count + self.compensation / self.count,
            Reduction::Count => self.count,
            Reduction::Stdvar => self.value / self.count,
            Reduction::Stddev => (self.value / self.count).sqrt(),
            Reduction::Quantile(phi) => quantile(phi, &mut self.values),
            Reduction::Min | Reduction::Max | Reduction::Group => self.value,
        }
    }
}

/// Reduces each group of `input` to one sample labelled with the group's labels.
pub(super) fn reduce(
    reduction: Reduction,
    grouping: Grouping<'_>,
    input: &[Sample],
    ts: i64,
    annotations: &mut Annotations,
) -> Result<Vector, PromqlError> {
    warn_about_parameter(reduction, annotations);
    let mut groups = Groups::new(grouping);
    let states = fold(
        reduction,
        input.iter().map(|sample| {
            let index = groups.group_of(&sample.metric)?;
            Ok((index, sample.f, sample.drop_name))
        }),
    )?;
    debug_assert_eq!(groups.len(), states.len());
    Ok(groups
        .into_labels()
        .into_iter()
        .zip(states)
        .map(|(metric, state)| Sample {
            metric,
            t: ts,
            drop_name: state.drop_name,
            f: state.finish(reduction),
        })
        .collect())
}

/// Warns when `quantile`'s φ is outside [0, 1] (at every step, whatever the input).
pub(super) fn warn_about_parameter(reduction: Reduction, annotations: &mut Annotations) {
    if let Reduction::Quantile(phi) = reduction
        && (phi.is_nan() || !(0.0..=1.0).contains(&phi))
    {
        annotations.warn(format!(
            "quantile value should be between 0 and 1, got {}",
            format_go_g(phi)
        ));
    }
}

/// Reduces samples given as `(group, value, drop_name)`, groups numbered from 0 in order
/// of first appearance, to one `(value, drop_name)` per group, by group number.
pub(super) fn reduce_numbered(
    reduction: Reduction,
    samples: impl Iterator<Item = (usize, f64, bool)>,
) -> Result<Vec<(f64, bool)>, PromqlError> {
    Ok(fold(reduction, samples.map(Ok))?
        .into_iter()
        .map(|state| {
            let drop_name = state.drop_name;
            (state.finish(reduction), drop_name)
        })
        .collect())
}

/// Folds samples given as `(group, value, drop_name)` into one state per group.
fn fold(
    reduction: Reduction,
    samples: impl Iterator<Item = Result<(usize, f64, bool), PromqlError>>,
) -> Result<Vec<GroupState>, PromqlError> {
    let mut states: Vec<GroupState> = Vec::new();
    for sample in samples {
        let (index, f, drop_name) = sample?;
        match states.get_mut(index) {
            Some(state) => state.add(reduction, f, drop_name),
            None => states.push(GroupState::first(reduction, f, drop_name)),
        }
    }
    Ok(states)
}

/// Prometheus's `quantile`: φ-quantile of `values` by linear interpolation between the
/// closest ranks; NaN values sort first; φ < 0 gives -Inf, φ > 1 gives +Inf, NaN φ or no
/// values give NaN.
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
    values.sort_by(|a, b| nan_first_order(*a, *b));
    let count = values.len() as f64;
    let rank = phi * (count - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(count - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// A total order on floats with every NaN before every number (Prometheus's value heap
/// treats NaN as the smallest value).
pub(super) fn nan_first_order(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}
