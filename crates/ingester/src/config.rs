//! The `ingester:` configuration block: ring membership, instance protections and
//! active-series tracking, with Mimir's keys, flags and defaults.

use norn_common::Duration;
use norn_common::config::{ConfigSection, FlagKind, FlagSpec, nest};
use norn_ring::config::IngesterRingConfig;
use serde::{Deserialize, Serialize};

/// Settings of the ingester role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngesterConfig {
    /// The ingester ring: how this ingester registers and how series are replicated.
    pub ring: IngesterRingConfig,
    /// Protections of this instance, whatever the tenants' limits.
    pub instance_limits: InstanceLimits,
    /// Track active series and export them per tenant.
    pub active_series_metrics_enabled: bool,
    /// How often active series are recounted and idle ones forgotten.
    pub active_series_metrics_update_period: Duration,
    /// A series that received nothing for this long is no longer active.
    pub active_series_metrics_idle_timeout: Duration,
    /// How long metric metadata is kept after it was last received.
    pub metadata_retain_period: Duration,
}

/// Per-instance protections; 0 disables each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstanceLimits {
    /// Samples per second this ingester accepts across tenants.
    pub max_ingestion_rate: f64,
    /// Tenants this ingester holds.
    pub max_tenants: u64,
    /// Series this ingester holds across tenants.
    pub max_series: u64,
    /// Push requests handled at once.
    pub max_inflight_push_requests: u64,
}

impl Default for IngesterConfig {
    fn default() -> Self {
        Self {
            ring: IngesterRingConfig::default(),
            instance_limits: InstanceLimits::default(),
            active_series_metrics_enabled: true,
            active_series_metrics_update_period: Duration::from_secs(60),
            active_series_metrics_idle_timeout: Duration::from_secs(20 * 60),
            metadata_retain_period: Duration::from_secs(10 * 60),
        }
    }
}

impl Default for InstanceLimits {
    fn default() -> Self {
        Self {
            max_ingestion_rate: 0.0,
            max_tenants: 0,
            max_series: 0,
            max_inflight_push_requests: 30_000,
        }
    }
}

impl ConfigSection for IngesterConfig {
    fn specs() -> Vec<FlagSpec> {
        let mut specs = nest("ring", IngesterRingConfig::specs());
        specs.extend(nest(
            "instance_limits",
            vec![
                FlagSpec::new(
                    "max_ingestion_rate",
                    "ingester.instance-limits.max-ingestion-rate",
                    FlagKind::Float,
                    "Samples per second this ingester accepts across all tenants; 0 disables the limit.",
                ),
                FlagSpec::new(
                    "max_tenants",
                    "ingester.instance-limits.max-tenants",
                    FlagKind::Uint,
                    "Tenants this ingester holds; 0 disables the limit.",
                ),
                FlagSpec::new(
                    "max_series",
                    "ingester.instance-limits.max-series",
                    FlagKind::Uint,
                    "Series this ingester holds across all tenants; 0 disables the limit.",
                ),
                FlagSpec::new(
                    "max_inflight_push_requests",
                    "ingester.instance-limits.max-inflight-push-requests",
                    FlagKind::Uint,
                    "Push requests this ingester handles at once; 0 disables the limit.",
                ),
            ],
        ));
        specs.extend([
            FlagSpec::new(
                "active_series_metrics_enabled",
                "ingester.active-series-metrics-enabled",
                FlagKind::Bool,
                "Track active series and export cortex_ingester_active_series per tenant.",
            ),
            FlagSpec::new(
                "active_series_metrics_update_period",
                "ingester.active-series-metrics-update-period",
                FlagKind::Duration,
                "How often active series are recounted.",
            ),
            FlagSpec::new(
                "active_series_metrics_idle_timeout",
                "ingester.active-series-metrics-idle-timeout",
                FlagKind::Duration,
                "A series that received no sample for this long is no longer active.",
            ),
            FlagSpec::new(
                "metadata_retain_period",
                "ingester.metadata-retain-period",
                FlagKind::Duration,
                "How long metric metadata is kept after it was last received.",
            ),
        ]);
        specs
    }

    fn validate(&self) -> Result<(), String> {
        self.ring.validate()?;
        let rate = self.instance_limits.max_ingestion_rate;
        if !(rate.is_finite() && rate >= 0.0) {
            return Err("ingester.instance_limits.max_ingestion_rate (-ingester.instance-limits.max-ingestion-rate) must be a non-negative number".into());
        }
        if self.active_series_metrics_update_period.is_zero() {
            return Err("ingester.active_series_metrics_update_period (-ingester.active-series-metrics-update-period) must be greater than 0".into());
        }
        Ok(())
    }
}
