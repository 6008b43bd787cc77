//! `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`. They order only an instant
//! query's result (a range query's series are ordered by labels anyway; the evaluator
//! adds Prometheus's "sort is ineffective" warning there). `sort_by_label` compares label
//! values in natural ("human") order, as the `facette/natsort` package Prometheus uses.

use std::cmp::Ordering;

use super::FunctionCall;
use super::common::{output, string_arg, vector_arg};
use crate::error::PromqlError;
use crate::value::{Sample, Vector};

/// Copies the input to the output at the step time, flags unchanged.
fn passthrough(input: &[Sample], ts: i64) -> Vector {
    input
        .iter()
        .map(|sample| output(sample.metric.clone(), ts, sample.f, sample.drop_name))
        .collect()
}

/// Orders by value with NaN last (ascending, or descending when `descending`).
fn by_value(a: f64, b: f64, descending: bool) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            let ordering = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
    }
}

/// `sort` (ascending) and `sort_desc`: by value, NaN last either way.
pub(crate) fn sort(call: &mut FunctionCall<'_>, descending: bool) -> Result<Vector, PromqlError> {
    let input = vector_arg(call, 0)?;
    let mut out = passthrough(input, call.ts);
    if call.instant_query {
        out.sort_by(|a, b| by_value(a.f, b.f, descending));
    }
    Ok(out)
}

/// `sort_by_label(v, label...)` and `sort_by_label_desc`: by the named labels' values in
/// natural order, ties broken by the whole label set.
pub(crate) fn sort_by_label(
    call: &mut FunctionCall<'_>,
    descending: bool,
) -> Result<Vector, PromqlError> {
    let input = vector_arg(call, 0)?;
    let names = (1..call.args.len())
        .map(|index| string_arg(call, index))
        .collect::<Result<Vec<&str>, PromqlError>>()?;
    let mut out = passthrough(input, call.ts);
    if !call.instant_query {
        return Ok(out);
    }
    out.sort_by(|a, b| {
        let ordering = names
            .iter()
            .map(|name| natural_cmp(a.metric.get(name), b.metric.get(name)))
            .find(|ordering| *ordering != Ordering::Equal)
            .unwrap_or_else(|| a.metric.cmp(&b.metric));
        if descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    Ok(out)
}

/// Compares two strings in natural order: runs of digits compare as numbers (leading
/// zeros ignored, longer runs are larger), everything else byte by byte.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    if natural_less(a.as_bytes(), b.as_bytes()) {
        Ordering::Less
    } else if natural_less(b.as_bytes(), a.as_bytes()) {
        Ordering::Greater
    } else {
        // Different strings equal in natural order (e.g. "01" and "1"): fall back to bytes
        // so the ordering stays total.
        a.cmp(b)
    }
}

/// Returns true when `a` precedes `b` in `natsort.Compare`'s order.
fn natural_less(a: &[u8], b: &[u8]) -> bool {
    let (mut position_a, mut position_b) = (0, 0);
    loop {
        if position_a >= a.len() {
            return position_b < b.len();
        }
        if position_b >= b.len() {
            return false;
        }
        let (byte_a, byte_b) = (a[position_a], b[position_b]);
        if byte_a.is_ascii_digit() && byte_b.is_ascii_digit() {
            let (start_a, length_a) = digit_run(a, position_a);
            let (start_b, length_b) = digit_run(b, position_b);
            if length_a != length_b {
                return length_a < length_b;
            }
            let run_a = &a[start_a..start_a + length_a];
            let run_b = &b[start_b..start_b + length_b];
            match run_a.cmp(run_b) {
                Ordering::Less => return true,
                Ordering::Greater => return false,
                Ordering::Equal => {
                    position_a = start_a + length_a;
                    position_b = start_b + length_b;
                    continue;
                }
            }
        }
        if byte_a == byte_b {
            position_a += 1;
            position_b += 1;
            continue;
        }
        return byte_a < byte_b;
    }
}

/// The digit run starting at `position` with leading zeros skipped (a run of zeros keeps
/// its last one): its start and length, as natsort scans it.
fn digit_run(text: &[u8], position: usize) -> (usize, usize) {
    let mut start = position;
    let mut length = 1;
    loop {
        if start + length >= text.len() {
            break;
        }
        let next = text[start + length];
        if text[start] == b'0' {
            // Skip a leading zero; the next byte becomes the run's first (natsort does
            // this even when that byte is not a digit).
            start += 1;
            continue;
        }
        if next.is_ascii_digit() {
            length += 1;
        } else {
            break;
        }
    }
    (start, length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn natural_order_compares_numbers_numerically() {
        let mut values = vec!["10", "2", "100", "1", "21", "3", "0", "12", "11", "20"];
        values.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            values,
            ["0", "1", "2", "3", "10", "11", "12", "20", "21", "100"]
        );
        let mut instances = vec!["4m600", "4m5", "4m1000"];
        instances.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(instances, ["4m5", "4m600", "4m1000"]);
        let mut releases = vec!["1.2.3", "1.11.3", "1.111.3"];
        releases.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(releases, ["1.2.3", "1.11.3", "1.111.3"]);
        assert_eq!(natural_cmp("abc", "abd"), Ordering::Less);
        assert_eq!(natural_cmp("ab", "abc"), Ordering::Less);
    }

    #[test]
    fn value_order_puts_nan_last() {
        let mut values = [3.0, f64::NAN, 1.0, 2.0];
        values.sort_by(|a, b| by_value(*a, *b, false));
        assert_eq!(&values[..3], &[1.0, 2.0, 3.0]);
        assert!(values[3].is_nan());
        values.sort_by(|a, b| by_value(*a, *b, true));
        assert_eq!(&values[..3], &[3.0, 2.0, 1.0]);
        assert!(values[3].is_nan());
    }

    proptest! {
        #[test]
        fn natural_order_is_antisymmetric(a in "[a-c0-9]{0,6}", b in "[a-c0-9]{0,6}") {
            prop_assert_eq!(natural_cmp(&a, &b), natural_cmp(&b, &a).reverse());
        }

        #[test]
        fn sorting_values_is_a_permutation(values in proptest::collection::vec(-1e6f64..1e6, 0..40)) {
            let mut sorted = values.clone();
            sorted.sort_by(|a, b| by_value(*a, *b, false));
            prop_assert!(sorted.windows(2).all(|pair| pair[0] <= pair[1]));
            let mut expected = values;
            expected.sort_by(|a, b| a.total_cmp(b));
            let mut actual = sorted;
            actual.sort_by(|a, b| a.total_cmp(b));
            prop_assert_eq!(actual, expected);
        }
    }
}
