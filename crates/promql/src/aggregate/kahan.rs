//! Kahan–Neumaier compensated summation, as Prometheus 3's `kahansum.Inc`: the running sum
//! and a separate compensation term that recovers the low-order bits plain addition loses.

/// Adds `increment` to `sum` with compensation `compensation`; returns the new sum and the
/// new compensation. The compensation resets to 0 once the sum is infinite (so `Inf` does
/// not turn into `NaN` when the compensation is added back).
pub(crate) fn kahan_inc(increment: f64, sum: f64, compensation: f64) -> (f64, f64) {
    let total = sum + increment;
    let compensation = if total.is_infinite() {
        0.0
    } else if sum.abs() >= increment.abs() {
        compensation + ((sum - total) + increment)
    } else {
        compensation + ((increment - total) + sum)
    };
    (total, compensation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_small_terms_lost_next_to_large_ones() {
        let mut state = (0.0, 0.0);
        for value in [1.0, 1e100, 1.0, -1e100] {
            state = kahan_inc(value, state.0, state.1);
        }
        assert_eq!(state.0 + state.1, 2.0);
    }

    #[test]
    fn infinite_sum_drops_the_compensation() {
        let (sum, compensation) = kahan_inc(f64::INFINITY, 1.0, 0.5);
        assert_eq!(sum, f64::INFINITY);
        assert_eq!(compensation, 0.0);
    }
}
