//! Per-tenant token buckets for the ingestion and request rate limits.
//!
//! A bucket holds up to `burst` tokens and refills at `rate` per second; a request taking `n`
//! tokens passes only if `n` are there (so a request larger than the burst never passes, as
//! with Mimir's limiter). Under the `global` strategy the distributor divides the tenant's rate
//! by the number of healthy distributors in the distributor ring, so the cluster as a whole
//! admits the configured rate; the burst is not divided, as in Mimir. Buckets follow limit
//! changes from the runtime configuration on the next request.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// How a tenant's rate is shared between distributors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateStrategy {
    /// Every distributor admits the whole rate.
    Local,
    /// The rate is divided by the number of healthy distributors.
    Global,
}

impl RateStrategy {
    /// Parses `local` or `global`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "local" => Some(Self::Local),
            "global" => Some(Self::Global),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
    rate: f64,
    burst: f64,
}

/// Token buckets, one per tenant.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Takes `n` tokens from the tenant's bucket at `now_ms` if it has them. `rate` is per
    /// second for this distributor; a rate of 0 or less means no limit.
    pub fn allow(&self, tenant: &str, now_ms: i64, n: f64, rate: f64, burst: f64) -> bool {
        if rate <= 0.0 || !rate.is_finite() {
            return true;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = match buckets.get_mut(tenant) {
            Some(bucket) => bucket,
            None => buckets.entry(tenant.to_owned()).or_insert(Bucket {
                tokens: burst,
                updated_ms: now_ms,
                rate,
                burst,
            }),
        };
        if bucket.rate != rate || bucket.burst != burst {
            bucket.rate = rate;
            bucket.burst = burst;
            bucket.tokens = bucket.tokens.min(burst);
        }
        let elapsed = (now_ms - bucket.updated_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated_ms = now_ms.max(bucket.updated_ms);
        if n <= bucket.tokens {
            bucket.tokens -= n;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_at_the_rate() {
        let limiter = RateLimiter::default();
        assert!(limiter.allow("a", 0, 100.0, 10.0, 100.0));
        assert!(!limiter.allow("a", 0, 1.0, 10.0, 100.0), "bucket empty");
        assert!(
            limiter.allow("b", 0, 50.0, 10.0, 100.0),
            "tenants are separate"
        );
        // One second later 10 tokens are back.
        assert!(!limiter.allow("a", 1_000, 11.0, 10.0, 100.0));
        assert!(limiter.allow("a", 1_000, 10.0, 10.0, 100.0));
        // More than the burst never passes.
        assert!(!limiter.allow("c", 0, 101.0, 10.0, 100.0));
        // Zero rate means unlimited.
        assert!(limiter.allow("d", 0, 1e12, 0.0, 0.0));
    }

    #[test]
    fn limit_changes_apply_to_existing_buckets() {
        let limiter = RateLimiter::default();
        assert!(limiter.allow("a", 0, 100.0, 10.0, 100.0));
        // A smaller burst caps the refill.
        assert!(!limiter.allow("a", 100_000, 60.0, 10.0, 50.0));
        assert!(limiter.allow("a", 100_000, 50.0, 10.0, 50.0));
    }
}
