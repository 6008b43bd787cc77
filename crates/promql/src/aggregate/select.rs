//! The aggregations that pick input samples instead of computing new ones: `topk`,
//! `bottomk`, `limitk` and `limit_ratio`, as Prometheus 3's `aggregationK`. The chosen
//! samples keep their labels, value and name-dropping flag; only `t` becomes the step's time.

use std::cmp::Ordering;

use norn_model::Labels;

use crate::annotations::Annotations;
use crate::error::PromqlError;
use crate::value::{Sample, Vector};

use super::Grouping;
use super::goformat::format_go_g;
use super::goheap;
use super::grouping::Groups;
use super::numeric::nan_first_order;

/// Which selection to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Selection {
    /// `topk`: the k largest values per group, largest first, NaN last.
    TopK,
    /// `bottomk`: the k smallest values per group, smallest first, NaN last.
    BottomK,
    /// `limitk`: the first k samples per group, in input order.
    LimitK,
    /// `limit_ratio`: a deterministic, hash-based sample of each group.
    LimitRatio,
}

/// `float64(math.MaxInt64)` in Go: a k at or above it cannot be converted to an int64.
const MAX_INT64_AS_F64: f64 = 9_223_372_036_854_775_807.0;

/// Picks samples of `input` per group according to `selection` and its parameter.
pub(super) fn select(
    selection: Selection,
    param: f64,
    grouping: Grouping<'_>,
    input: &[Sample],
    ts: i64,
    annotations: &mut Annotations,
) -> Result<Vector, PromqlError> {
    let mut groups = Groups::new(grouping);
    let chosen = select_positions(
        selection,
        param,
        input.len(),
        |index| groups.group_of(&input[index].metric),
        |index| input[index].f,
        |ratio, index| ratio_keeps(ratio, &input[index].metric),
        annotations,
    )?;
    Ok(chosen
        .into_iter()
        .map(|index| Sample {
            t: ts,
            ..input[index].clone()
        })
        .collect())
}

/// The heart of [`select`] over `len` samples known by position: `group_of` numbers each
/// sample's group (from 0, in order of first appearance, asked once per sample in order),
/// `value` gives its value and `keeps(ratio, position)` tells whether `limit_ratio` keeps
/// it. Returns the chosen positions in output order.
pub(super) fn select_positions(
    selection: Selection,
    param: f64,
    len: usize,
    mut group_of: impl FnMut(usize) -> Result<usize, PromqlError>,
    value: impl Fn(usize) -> f64,
    keeps: impl Fn(f64, usize) -> bool,
    annotations: &mut Annotations,
) -> Result<Vec<usize>, PromqlError> {
    let limit = match selection {
        Selection::LimitRatio => match ratio_limit(param, annotations)? {
            Some(ratio) => Limit::Ratio(ratio),
            None => return Ok(Vec::new()),
        },
        _ => match count_limit(param, len)? {
            Some(k) => Limit::Count(k),
            None => return Ok(Vec::new()),
        },
    };
    let mut heaps: Vec<Vec<usize>> = Vec::new();
    let value = |index: &usize| value(*index);
    let ascending_heap = |a: &usize, b: &usize| value(a).is_nan() || value(a) < value(b);
    let descending_heap = |a: &usize, b: &usize| value(a).is_nan() || value(a) > value(b);
    for index in 0..len {
        let group = group_of(index)?;
        if group == heaps.len() {
            let chosen = match limit {
                Limit::Ratio(ratio) if !keeps(ratio, index) => Vec::new(),
                _ => vec![index],
            };
            heaps.push(chosen);
            continue;
        }
        let f = value(&index);
        let heap = &mut heaps[group];
        match (selection, limit) {
            (Selection::TopK, Limit::Count(k)) => {
                if heap.len() < k {
                    goheap::push(heap, index, ascending_heap);
                } else if replaces_top(value(&heap[0]), f, |top, new| top < new) {
                    heap[0] = index;
                    if k > 1 {
                        goheap::fix(heap, 0, ascending_heap);
                    }
                }
            }
            (Selection::BottomK, Limit::Count(k)) => {
                if heap.len() < k {
                    goheap::push(heap, index, descending_heap);
                } else if replaces_top(value(&heap[0]), f, |top, new| top > new) {
                    heap[0] = index;
                    if k > 1 {
                        goheap::fix(heap, 0, descending_heap);
                    }
                }
            }
            (Selection::LimitK, Limit::Count(k)) => {
                if heap.len() < k {
                    goheap::push(heap, index, ascending_heap);
                }
            }
            (_, Limit::Ratio(ratio)) => {
                if keeps(ratio, index) {
                    goheap::push(heap, index, ascending_heap);
                }
            }
            (_, Limit::Count(_)) => {}
        }
    }
    let mut output = Vec::new();
    for mut heap in heaps {
        match selection {
            Selection::TopK if heap.len() > 1 => goheap::sort(
                &mut heap,
                |a, b| ascending_heap(b, a),
                |a, b| nan_first_order(value(b), value(a)),
            ),
            Selection::BottomK if heap.len() > 1 => goheap::sort(
                &mut heap,
                |a, b| descending_heap(b, a),
                |a, b| nan_last_order(value(a), value(b)),
            ),
            _ => {}
        }
        output.extend(heap);
    }
    Ok(output)
}

/// How many samples, or which share of them, a group keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Limit {
    /// At most this many (≥ 1).
    Count(usize),
    /// A ratio in [-1, 1], not 0.
    Ratio(f64),
}

/// Checks `topk`/`bottomk`/`limitk`'s k; `None` means the result is empty (k < 1, or no
/// input). k is truncated to an integer and capped at the input size.
fn count_limit(param: f64, input_len: usize) -> Result<Option<usize>, PromqlError> {
    if param < 1.0 {
        return Ok(None);
    }
    if param.is_nan() {
        return Err(PromqlError::Execution("Parameter value is NaN".to_owned()));
    }
    if param >= MAX_INT64_AS_F64 {
        return Err(PromqlError::Execution(format!(
            "Scalar value {} overflows int64",
            format_go_g(param)
        )));
    }
    let k = (param.trunc() as u64).min(input_len as u64) as usize;
    Ok((k >= 1).then_some(k))
}

/// Checks `limit_ratio`'s ratio, capping it to [-1, 1] with a warning; `None` means the
/// result is empty (ratio 0).
fn ratio_limit(param: f64, annotations: &mut Annotations) -> Result<Option<f64>, PromqlError> {
    if param == 0.0 {
        return Ok(None);
    }
    if param.is_nan() {
        return Err(PromqlError::Execution("Ratio value is NaN".to_owned()));
    }
    let capped = param.clamp(-1.0, 1.0);
    if capped != param {
        annotations.warn(format!(
            "ratio value should be between -1 and 1, got {}, capping to {}",
            format_go_g(param),
            format_go_g(capped)
        ));
    }
    Ok(Some(capped))
}

/// Prometheus's `HashRatioSampler`: a series' offset in [0, 1] is its label hash over
/// `u64::MAX`; a ratio r ≥ 0 keeps offsets below r, a negative r keeps offsets at or above
/// 1 + r (the complement of `limit_ratio(1 + r)`).
pub(super) fn ratio_keeps(ratio: f64, metric: &Labels) -> bool {
    ratio_keeps_hash(ratio, metric.hash())
}

/// [`ratio_keeps`] for a series whose label hash is `hash`.
pub(super) fn ratio_keeps_hash(ratio: f64, hash: u64) -> bool {
    let offset = hash as f64 / u64::MAX as f64;
    (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio)
}

/// True when a new value must replace the heap's top: it is better by `better`, or the top
/// is NaN and the new value is not.
fn replaces_top(top: f64, new: f64, better: impl Fn(f64, f64) -> bool) -> bool {
    better(top, new) || (top.is_nan() && !new.is_nan())
}

/// Ascending order with NaN after every number.
fn nan_last_order(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}
