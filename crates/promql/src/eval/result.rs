//! The final value of a query: delayed name removal (Prometheus's `cleanupMetricLabels`:
//! `__name__` goes from every element marked `drop_name`, then two elements with the same
//! labels are an error, or, in a matrix, series that do not overlap in time merge) and the
//! shape the API returns.

use norn_model::Labels;
use norn_model::labels::METRIC_NAME;

use crate::error::PromqlError;
use crate::value::{FPoint, Sample, Series, Value};

use super::fast_hash::{FastMap, FastSet};
use super::grid::{Grid, RangeVector, StepValues, duplicate_labelset, window_slice};

/// The labels that describe the metric rather than the series, removed together with the
/// name (Prometheus's `schema.IsMetadataLabel`: name, type and unit).
const METADATA_LABELS: &[&str] = &[METRIC_NAME, "__type__", "__unit__"];

/// Returns true for the metric name and the metric's type and unit labels.
pub(crate) fn is_metadata_label(name: &str) -> bool {
    METADATA_LABELS.contains(&name)
}

/// Returns `labels` without the metric name (nor the metric's type and unit).
pub(crate) fn without_name(labels: &Labels) -> Result<Labels, PromqlError> {
    Labels::new(
        labels
            .iter()
            .filter(|label| !is_metadata_label(label.name))
            .map(|label| (label.name, label.value)),
    )
    .map_err(|error| PromqlError::Internal(error.to_string()))
}

/// Shapes an instant query's scalar, string or vector.
pub(crate) fn instant_value(value: StepValues, ts: i64) -> Result<Value, PromqlError> {
    Ok(match value {
        StepValues::Scalar(values) => Value::Scalar {
            t: ts,
            f: values.first().copied().unwrap_or(f64::NAN),
        },
        StepValues::String(s) => Value::String { t: ts, s },
        StepValues::Vector(series) => {
            let mut vector = Vec::with_capacity(series.len());
            for series in series {
                let Some(point) = series.floats.first() else {
                    continue;
                };
                let metric = if series.drop_name {
                    without_name(&series.metric)?
                } else {
                    series.metric
                };
                vector.push(Sample {
                    metric,
                    t: ts,
                    f: point.f,
                    drop_name: false,
                });
            }
            let mut seen = FastSet::with_capacity_and_hasher(vector.len(), Default::default());
            if !vector.iter().all(|sample| seen.insert(&sample.metric)) {
                return Err(duplicate_labelset());
            }
            Value::Vector(vector)
        }
    })
}

/// Shapes a range query's result: a matrix sorted by labels (a scalar becomes one
/// unlabeled series).
pub(crate) fn range_value(value: StepValues, grid: Grid) -> Result<Value, PromqlError> {
    let series = match value {
        StepValues::Scalar(values) => vec![Series {
            metric: Labels::default(),
            floats: grid
                .times()
                .zip(values)
                .map(|(t, f)| FPoint { t, f })
                .collect(),
            drop_name: false,
        }],
        StepValues::Vector(series) => series,
        StepValues::String(_) => {
            return Err(PromqlError::Internal(
                "a range query evaluated to a string".to_owned(),
            ));
        }
    };
    Ok(Value::Matrix(clean_matrix(series)?))
}

/// Shapes an instant query over a range vector: each series' points in the window at `ts`.
pub(crate) fn instant_matrix(range: RangeVector, ts: i64) -> Result<Value, PromqlError> {
    let window = range.window(ts);
    let series = range
        .series
        .into_iter()
        .filter_map(|series| {
            let floats = window_slice(&series.floats, window).to_vec();
            (!floats.is_empty()).then_some(Series { floats, ..series })
        })
        .collect();
    Ok(Value::Matrix(clean_matrix(series)?))
}

/// Removes names marked for removal, merges series left with the same labels (an error if
/// they overlap in time) and sorts by labels.
fn clean_matrix(series: Vec<Series>) -> Result<Vec<Series>, PromqlError> {
    let mut merged: Vec<Series> = Vec::with_capacity(series.len());
    let mut index: FastMap<Labels, usize> =
        FastMap::with_capacity_and_hasher(series.len(), Default::default());
    let mut needs_sort = Vec::new();
    for series in series {
        let metric = if series.drop_name {
            without_name(&series.metric)?
        } else {
            series.metric
        };
        match index.get(&metric) {
            Some(&slot) => {
                merged[slot].floats.extend(series.floats);
                needs_sort.push(slot);
            }
            None => {
                index.insert(metric.clone(), merged.len());
                merged.push(Series {
                    metric,
                    floats: series.floats,
                    drop_name: false,
                });
            }
        }
    }
    for slot in needs_sort {
        let floats = &mut merged[slot].floats;
        floats.sort_by_key(|point| point.t);
        if floats.windows(2).any(|pair| pair[0].t == pair[1].t) {
            return Err(duplicate_labelset());
        }
    }
    merged.sort_by(|a, b| a.metric.cmp(&b.metric));
    Ok(merged)
}
