//! [`FetchLimiter`]: what one query fetched from the ingesters, checked against the tenant's
//! `max_fetched_series_per_query` and `max_fetched_chunks_per_query` while the chunks stream
//! in (Mimir's `QueryLimiter`).
//!
//! Series are counted once per label set (per tenant in a federated read), however many
//! replicas and selectors return them. Chunks are counted as received, replicas included,
//! as Mimir's distributor counts them: the limit bounds the work and memory a query causes,
//! and every replica's chunks are fetched.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use norn_model::TenantId;
use norn_rpc::ChunkSeries;

use crate::error::QueryError;

/// Counts the series and chunks one query fetched and refuses more than its limits.
#[derive(Debug, Default)]
pub struct FetchLimiter {
    max_series: u64,
    max_chunks: u64,
    series: Mutex<HashSet<u64>>,
    chunks: AtomicU64,
}

impl FetchLimiter {
    /// Returns a limiter with the given caps; 0 means unlimited.
    pub fn new(max_series: u64, max_chunks: u64) -> Self {
        Self {
            max_series,
            max_chunks,
            ..Self::default()
        }
    }

    /// Returns a limiter that only counts.
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Counts a batch of `tenant`'s series; fails once either limit is exceeded.
    pub fn add_batch(&self, tenant: &TenantId, batch: &[ChunkSeries]) -> Result<(), QueryError> {
        let chunks: u64 = batch.iter().map(|series| series.chunks.len() as u64).sum();
        let total_chunks = self.chunks.fetch_add(chunks, Ordering::Relaxed) + chunks;
        let series_count = {
            let mut series = self
                .series
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for one in batch {
                series.insert(series_key(tenant, one));
            }
            series.len() as u64
        };
        if self.max_series > 0 && series_count > self.max_series {
            return Err(QueryError::MaxSeriesPerQuery {
                limit: usize::try_from(self.max_series).unwrap_or(usize::MAX),
            });
        }
        if self.max_chunks > 0 && total_chunks > self.max_chunks {
            return Err(QueryError::MaxChunksPerQuery {
                limit: self.max_chunks,
            });
        }
        Ok(())
    }

    /// Returns the distinct series and the chunks counted so far.
    pub fn fetched(&self) -> (usize, u64) {
        let series = self
            .series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len();
        (series, self.chunks.load(Ordering::Relaxed))
    }
}

fn series_key(tenant: &TenantId, series: &ChunkSeries) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    tenant.as_str().hash(&mut hasher);
    series.labels.hash().hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use norn_model::Labels;

    use super::*;

    fn series(name: &str, samples: usize) -> ChunkSeries {
        let points: Vec<(i64, f64)> = (0..samples as i64).map(|t| (t, 1.0)).collect();
        ChunkSeries::from_samples(Labels::new([("__name__", name)]).unwrap(), &points).unwrap()
    }

    fn tenant(id: &str) -> TenantId {
        TenantId::new(id).unwrap()
    }

    #[test]
    fn series_count_once_per_tenant_and_chunks_every_time() {
        let limiter = FetchLimiter::unlimited();
        let batch = [series("a", 300), series("b", 1)];
        limiter.add_batch(&tenant("t1"), &batch).unwrap();
        limiter.add_batch(&tenant("t1"), &batch).unwrap();
        assert_eq!(limiter.fetched(), (2, 8));
        limiter.add_batch(&tenant("t2"), &batch[..1]).unwrap();
        assert_eq!(limiter.fetched(), (3, 11));
    }

    #[test]
    fn limits_refuse_the_batch_that_exceeds_them() {
        let limiter = FetchLimiter::new(2, 0);
        limiter
            .add_batch(&tenant("t"), &[series("a", 1), series("b", 1)])
            .unwrap();
        let error = limiter
            .add_batch(&tenant("t"), &[series("c", 1)])
            .unwrap_err();
        assert!(matches!(error, QueryError::MaxSeriesPerQuery { limit: 2 }));

        let limiter = FetchLimiter::new(0, 3);
        limiter
            .add_batch(&tenant("t"), &[series("a", 360)])
            .unwrap();
        let error = limiter
            .add_batch(&tenant("t"), &[series("a", 1)])
            .unwrap_err();
        assert!(error.to_string().contains("(limit: 3 chunks)"), "{error}");
        assert!(matches!(error, QueryError::MaxChunksPerQuery { limit: 3 }));
    }
}
