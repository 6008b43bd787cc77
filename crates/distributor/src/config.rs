//! The `distributor:` configuration block, with Mimir's keys, flags and defaults.

use norn_common::Duration;
use norn_common::config::{ConfigSection, FlagKind, FlagSpec, nest};
use norn_ring::config::DistributorRingConfig;
use serde::{Deserialize, Serialize};

use crate::ha_tracker::HaTrackerConfig;
use crate::rate_limit::RateStrategy;

/// Settings of the distributor role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistributorConfig {
    /// The distributor ring (membership only: it divides global rate limits).
    pub ring: DistributorRingConfig,
    /// HA deduplication.
    pub ha_tracker: HaTrackerConfig,
    /// Largest push body accepted, compressed or decompressed, in bytes.
    pub max_recv_msg_size: u64,
    /// How long a push to the ingesters may take.
    pub remote_timeout: Duration,
    /// How per-tenant rate limits are shared: `global` (divided by the healthy distributors)
    /// or `local` (each distributor admits the whole rate).
    pub ingestion_rate_limit_strategy: String,
    /// Per-instance protections.
    pub instance_limits: DistributorInstanceLimits,
}

/// Per-instance protections of a distributor; 0 disables each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistributorInstanceLimits {
    /// Push requests handled at once.
    pub max_inflight_push_requests: u64,
}

impl Default for DistributorConfig {
    fn default() -> Self {
        Self {
            ring: DistributorRingConfig::default(),
            ha_tracker: HaTrackerConfig::default(),
            max_recv_msg_size: 100 << 20,
            remote_timeout: Duration::from_secs(2),
            ingestion_rate_limit_strategy: "global".into(),
            instance_limits: DistributorInstanceLimits::default(),
        }
    }
}

impl Default for DistributorInstanceLimits {
    fn default() -> Self {
        Self {
            max_inflight_push_requests: 2000,
        }
    }
}

impl DistributorConfig {
    /// Returns the rate-limit strategy (validated at load).
    pub fn rate_strategy(&self) -> RateStrategy {
        RateStrategy::parse(&self.ingestion_rate_limit_strategy).unwrap_or(RateStrategy::Global)
    }
}

impl ConfigSection for DistributorConfig {
    fn specs() -> Vec<FlagSpec> {
        let mut specs = nest("ring", DistributorRingConfig::specs());
        specs.extend(nest("ha_tracker", HaTrackerConfig::specs()));
        specs.extend([
            FlagSpec::new(
                "max_recv_msg_size",
                "distributor.max-recv-msg-size",
                FlagKind::Uint,
                "Largest push request accepted, compressed or decompressed, in bytes; larger ones are answered 413.",
            ),
            FlagSpec::new(
                "remote_timeout",
                "distributor.remote-timeout",
                FlagKind::Duration,
                "How long a push to the ingesters may take before it counts as failed.",
            ),
            FlagSpec::new(
                "ingestion_rate_limit_strategy",
                "distributor.ingestion-rate-limit-strategy",
                FlagKind::String,
                "How per-tenant rate limits are shared: global (divided by the healthy distributors in the distributor ring, Mimir's behaviour) or local (each distributor admits the whole rate).",
            ),
        ]);
        specs.extend(nest(
            "instance_limits",
            vec![FlagSpec::new(
                "max_inflight_push_requests",
                "distributor.instance-limits.max-inflight-push-requests",
                FlagKind::Uint,
                "Push requests this distributor handles at once; more are answered 503. 0 disables the limit.",
            )],
        ));
        specs
    }

    fn validate(&self) -> Result<(), String> {
        self.ring.validate()?;
        self.ha_tracker.validate()?;
        if RateStrategy::parse(&self.ingestion_rate_limit_strategy).is_none() {
            return Err(format!(
                "distributor.ingestion_rate_limit_strategy (-distributor.ingestion-rate-limit-strategy) is {:?}; valid values: global, local",
                self.ingestion_rate_limit_strategy
            ));
        }
        if self.max_recv_msg_size == 0 {
            return Err("distributor.max_recv_msg_size (-distributor.max-recv-msg-size) must be greater than 0".into());
        }
        if self.remote_timeout.is_zero() {
            return Err(
                "distributor.remote_timeout (-distributor.remote-timeout) must be greater than 0"
                    .into(),
            );
        }
        Ok(())
    }
}
