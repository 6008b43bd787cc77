//! An exponentially weighted moving rate, as Mimir's `EWMARate`: events are counted with an
//! atomic add on the hot path and folded into the rate once per [`TICK`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How often [`EwmaRate::tick`] is expected to run.
pub const TICK: Duration = Duration::from_secs(1);

/// Weight of the newest interval (Mimir uses 0.2 for ingestion rates).
const ALPHA: f64 = 0.2;

/// A smoothed events-per-second rate.
#[derive(Debug, Default)]
pub struct EwmaRate {
    pending: AtomicU64,
    rate_bits: AtomicU64,
    started: AtomicBool,
}

impl EwmaRate {
    /// Counts `events`.
    pub fn add(&self, events: u64) {
        self.pending.fetch_add(events, Ordering::Relaxed);
    }

    /// Folds the events counted since the last tick into the rate.
    pub fn tick(&self) {
        let events = self.pending.swap(0, Ordering::Relaxed) as f64;
        let instant = events / TICK.as_secs_f64();
        let rate = if self.started.swap(true, Ordering::Relaxed) {
            let previous = self.rate();
            previous + ALPHA * (instant - previous)
        } else {
            instant
        };
        self.rate_bits.store(rate.to_bits(), Ordering::Relaxed);
    }

    /// Returns the rate in events per second.
    pub fn rate(&self) -> f64 {
        f64::from_bits(self.rate_bits.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_tick_sets_the_rate_then_it_decays() {
        let rate = EwmaRate::default();
        assert_eq!(rate.rate(), 0.0);
        rate.add(100);
        rate.tick();
        assert_eq!(rate.rate(), 100.0);
        rate.tick();
        assert!((rate.rate() - 80.0).abs() < 1e-9);
        rate.add(180);
        rate.tick();
        assert!((rate.rate() - 100.0).abs() < 1e-9);
    }
}
