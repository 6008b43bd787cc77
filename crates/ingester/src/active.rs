//! Active series: series that received a sample within the idle timeout (20m by default).
//!
//! Mimir counts these for `cortex_ingester_active_series` and the cardinality API. The
//! tracker keeps the last push time per series, keyed by the series' reference in the
//! tenant's head, in lock stripes so concurrent pushes rarely meet. Refs are never reused
//! within a head, and the tracker is memory-only: after a restart a series becomes active
//! again with its next sample, as in Mimir.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

const STRIPES: usize = 64;

/// Last-seen times of a tenant's series.
#[derive(Debug)]
pub struct ActiveSeries {
    stripes: Box<[Mutex<HashMap<u64, i64>>]>,
    active: AtomicU64,
}

impl Default for ActiveSeries {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(HashMap::new())).collect(),
            active: AtomicU64::new(0),
        }
    }
}

impl ActiveSeries {
    /// Records that the series `series_ref` received a sample at `now_ms`.
    pub fn touch(&self, series_ref: u64, now_ms: i64) {
        let mut stripe = self.stripes[series_ref as usize % STRIPES]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if stripe.insert(series_ref, now_ms).is_none() {
            self.active.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records many series at once, taking each stripe's lock once.
    pub fn touch_all(&self, series_refs: &[u64], now_ms: i64) {
        let mut by_stripe: [Vec<u64>; STRIPES] = std::array::from_fn(|_| Vec::new());
        for &series_ref in series_refs {
            by_stripe[series_ref as usize % STRIPES].push(series_ref);
        }
        let mut added = 0;
        for (index, refs) in by_stripe.iter().enumerate() {
            if refs.is_empty() {
                continue;
            }
            let mut stripe = self.stripes[index]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for &series_ref in refs {
                if stripe.insert(series_ref, now_ms).is_none() {
                    added += 1;
                }
            }
        }
        self.active.fetch_add(added, Ordering::Relaxed);
    }

    /// Forgets series last seen before `cutoff_ms` and returns how many stay active.
    pub fn purge(&self, cutoff_ms: i64) -> u64 {
        let mut removed = 0;
        for stripe in self.stripes.iter() {
            let mut stripe = stripe.lock().unwrap_or_else(PoisonError::into_inner);
            let before = stripe.len();
            stripe.retain(|_, last_seen| *last_seen >= cutoff_ms);
            removed += (before - stripe.len()) as u64;
        }
        self.active.fetch_sub(removed, Ordering::Relaxed) - removed
    }

    /// Returns how many series are active (as of the last purge).
    pub fn active(&self) -> u64 {
        self.active.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_touch_once_and_purges_idle_series() {
        let active = ActiveSeries::default();
        active.touch(1, 1_000);
        active.touch(1, 2_000);
        active.touch_all(&[2, 3, 1, 65], 3_000);
        assert_eq!(active.active(), 4);
        active.touch(2, 10_000);
        // Everything but series 2 was last seen at 3s.
        assert_eq!(active.purge(5_000), 1);
        assert_eq!(active.active(), 1);
        active.touch(1, 11_000);
        assert_eq!(active.active(), 2);
        assert_eq!(active.purge(20_000), 0);
    }
}
