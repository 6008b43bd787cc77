//! The schedule of a run: which series and which scrape each request carries, its timestamp,
//! the connection that sends it, and which generation of a series churn has reached.
//!
//! Requests go in time order: every batch of scrape 0, then every batch of scrape 1, and so on.
//! Batch `b` of every scrape goes to sender `b % concurrency`, so a series always travels on the
//! same connection and its samples arrive in order — the reason Prometheus shards its remote
//! write queue by series. Receivers that refuse out-of-order samples (Prometheus 2.x by default)
//! therefore see none.

use std::ops::Range;

/// Milliseconds in an hour, the unit of `--churn`.
const HOUR_MS: u128 = 3_600_000;

/// The shape of a run, fixed before the first request is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Active series at any time.
    pub series: usize,
    /// Scrapes of every series.
    pub scrapes: usize,
    /// Series per request.
    pub batch: usize,
    /// Connections (sender threads).
    pub concurrency: usize,
    /// Timestamp of scrape 0, Unix milliseconds.
    pub start_ms: i64,
    /// Scrape interval in milliseconds.
    pub interval_ms: i64,
    /// Series replaced per hour of simulated time.
    pub churn_per_hour: u64,
}

/// One request of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// Scrape number, from 0.
    pub scrape: usize,
    /// Series slots the request carries.
    pub slots: Range<usize>,
    /// Timestamp of every sample in the request.
    pub timestamp_ms: i64,
    /// Index of the sender (connection) that sends it.
    pub sender: usize,
}

impl Plan {
    /// Requests needed for one scrape of every series.
    pub fn batches_per_scrape(&self) -> usize {
        self.series.div_ceil(self.batch.max(1))
    }

    /// Requests in the whole run.
    pub fn total_requests(&self) -> usize {
        self.batches_per_scrape().saturating_mul(self.scrapes)
    }

    /// Samples in the whole run.
    pub fn total_samples(&self) -> u64 {
        self.series as u64 * self.scrapes as u64
    }

    /// Senders that receive requests: fewer than `concurrency` when a scrape has fewer batches.
    pub fn active_senders(&self) -> usize {
        self.concurrency.min(self.batches_per_scrape()).max(1)
    }

    /// Timestamp of the last scrape.
    pub fn last_timestamp_ms(&self) -> i64 {
        self.timestamp_ms(self.scrapes.saturating_sub(1))
    }

    /// Timestamp of scrape `scrape`.
    pub fn timestamp_ms(&self, scrape: usize) -> i64 {
        self.start_ms
            .saturating_add(self.interval_ms.saturating_mul(scrape as i64))
    }

    /// The `index`-th request, `index < total_requests()`.
    pub fn request(&self, index: usize) -> RequestSpec {
        let per_scrape = self.batches_per_scrape().max(1);
        let scrape = index / per_scrape;
        let batch = index % per_scrape;
        let first = batch * self.batch;
        RequestSpec {
            scrape,
            slots: first..(first + self.batch).min(self.series),
            timestamp_ms: self.timestamp_ms(scrape),
            sender: batch % self.concurrency.max(1),
        }
    }

    /// Replacements churn has made by scrape `scrape` (series slots are replaced round-robin).
    pub fn replaced_by(&self, scrape: usize) -> u64 {
        let elapsed_ms = self.interval_ms.max(0) as u128 * scrape as u128;
        let replaced = self.churn_per_hour as u128 * elapsed_ms / HOUR_MS;
        u64::try_from(replaced).unwrap_or(u64::MAX)
    }

    /// Generation of series slot `slot` at scrape `scrape`: how often churn has replaced it.
    pub fn generation(&self, slot: usize, scrape: usize) -> u64 {
        let series = self.series.max(1) as u64;
        let replaced = self.replaced_by(scrape);
        replaced / series + u64::from((slot as u64) < replaced % series)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;

    use super::*;

    fn plan(series: usize, scrapes: usize, batch: usize, concurrency: usize) -> Plan {
        Plan {
            series,
            scrapes,
            batch,
            concurrency,
            start_ms: 1_000_000,
            interval_ms: 15_000,
            churn_per_hour: 0,
        }
    }

    proptest! {
        #[test]
        fn every_sample_is_planned_once_and_in_order_per_series(
            series in 1usize..300,
            scrapes in 1usize..6,
            batch in 1usize..80,
            concurrency in 1usize..6,
        ) {
            let plan = plan(series, scrapes, batch, concurrency);
            let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
            let mut sender_of_slot: BTreeMap<usize, usize> = BTreeMap::new();
            let mut last_time_of_slot: BTreeMap<usize, i64> = BTreeMap::new();
            for index in 0..plan.total_requests() {
                let request = plan.request(index);
                prop_assert!(request.sender < plan.active_senders());
                prop_assert!(!request.slots.is_empty());
                for slot in request.slots.clone() {
                    *seen.entry((slot, request.scrape)).or_default() += 1;
                    let sender = *sender_of_slot.entry(slot).or_insert(request.sender);
                    prop_assert_eq!(sender, request.sender);
                    let last = last_time_of_slot.insert(slot, request.timestamp_ms);
                    prop_assert!(last.is_none_or(|last| last < request.timestamp_ms));
                }
            }
            prop_assert_eq!(seen.len() as u64, plan.total_samples());
            prop_assert!(seen.values().all(|count| *count == 1));
        }
    }

    #[test]
    fn churn_replaces_series_round_robin() {
        let mut plan = plan(10, 1000, 5, 1);
        // 240 replacements per hour at 15s = one replacement per scrape.
        plan.churn_per_hour = 240;
        assert_eq!(plan.generation(0, 0), 0);
        assert_eq!(plan.generation(0, 1), 1);
        assert_eq!(plan.generation(1, 1), 0);
        assert_eq!(plan.generation(9, 10), 1);
        assert_eq!(plan.generation(0, 11), 2);
        let replaced: u64 = (0..10).map(|slot| plan.generation(slot, 25)).sum();
        assert_eq!(replaced, plan.replaced_by(25));
    }

    #[test]
    fn no_churn_keeps_generation_zero() {
        let plan = plan(10, 1000, 5, 1);
        assert_eq!(plan.generation(3, 999), 0);
        assert_eq!(plan.last_timestamp_ms(), 1_000_000 + 999 * 15_000);
    }
}
