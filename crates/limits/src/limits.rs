//! The per-tenant limits block, with Mimir's keys, flags and defaults.
//!
//! These are the defaults for every tenant; the runtime configuration's `overrides:` replace
//! them per tenant. The keys are Mimir's, with Mimir's flags and defaults. They are accepted,
//! validated and reloaded now; the write path (distributor: rates and validation, ingester:
//! series limits) enforces them.

use norn_common::Duration;
use norn_common::config::{ConfigSection, FlagKind, FlagSpec};
use serde::{Deserialize, Serialize};

/// Limits applied to one tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Samples per second a tenant may push (token bucket rate).
    pub ingestion_rate: f64,
    /// Samples a tenant may push at once above the rate (token bucket size).
    pub ingestion_burst_size: u64,
    /// Push requests per second a tenant may send; 0 disables the limit.
    pub request_rate: f64,
    /// Push requests a tenant may send at once above `request_rate`.
    pub request_burst_size: u64,
    /// Active series a tenant may have across the cluster; 0 disables the limit.
    pub max_global_series_per_user: u64,
    /// Active series one metric name may have across the cluster; 0 disables the limit.
    pub max_global_series_per_metric: u64,
    /// Labels one series may carry.
    pub max_label_names_per_series: u32,
    /// Longest label name, in bytes.
    pub max_label_name_length: u32,
    /// Longest label value, in bytes.
    pub max_label_value_length: u32,
    /// Longest metadata help/unit text, in bytes.
    pub max_metadata_length: u32,
    /// How far in the future a sample's timestamp may be.
    pub creation_grace_period: Duration,
    /// How far in the past a sample's timestamp may be; 0 disables the check.
    pub past_grace_period: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            ingestion_rate: 10_000.0,
            ingestion_burst_size: 200_000,
            request_rate: 0.0,
            request_burst_size: 0,
            max_global_series_per_user: 150_000,
            max_global_series_per_metric: 0,
            max_label_names_per_series: 30,
            max_label_name_length: 1024,
            max_label_value_length: 2048,
            max_metadata_length: 1024,
            creation_grace_period: Duration::from_secs(600),
            past_grace_period: Duration::default(),
        }
    }
}

impl ConfigSection for Limits {
    fn specs() -> Vec<FlagSpec> {
        use FlagKind::{Duration, Float, Uint};
        vec![
            FlagSpec::new(
                "ingestion_rate",
                "distributor.ingestion-rate-limit",
                Float,
                "Per-tenant ingestion rate limit in samples per second.",
            ),
            FlagSpec::new(
                "ingestion_burst_size",
                "distributor.ingestion-burst-size",
                Uint,
                "Per-tenant number of samples that may be pushed at once above the rate.",
            ),
            FlagSpec::new(
                "request_rate",
                "distributor.request-rate-limit",
                Float,
                "Per-tenant push request rate limit in requests per second; 0 disables it.",
            ),
            FlagSpec::new(
                "request_burst_size",
                "distributor.request-burst-size",
                Uint,
                "Per-tenant number of push requests allowed at once above the request rate.",
            ),
            FlagSpec::new(
                "max_global_series_per_user",
                "ingester.max-global-series-per-user",
                Uint,
                "Active series a tenant may have across all ingesters; 0 disables the limit.",
            ),
            FlagSpec::new(
                "max_global_series_per_metric",
                "ingester.max-global-series-per-metric",
                Uint,
                "Active series one metric name may have across all ingesters; 0 disables the limit.",
            ),
            FlagSpec::new(
                "max_label_names_per_series",
                "validation.max-label-names-per-series",
                Uint,
                "Maximum number of labels a series may carry.",
            ),
            FlagSpec::new(
                "max_label_name_length",
                "validation.max-length-label-name",
                Uint,
                "Maximum length of a label name, in bytes.",
            ),
            FlagSpec::new(
                "max_label_value_length",
                "validation.max-length-label-value",
                Uint,
                "Maximum length of a label value, in bytes.",
            ),
            FlagSpec::new(
                "max_metadata_length",
                "validation.max-metadata-length",
                Uint,
                "Maximum length of a metric's help or unit text, in bytes.",
            ),
            FlagSpec::new(
                "creation_grace_period",
                "validation.create-grace-period",
                Duration,
                "How far in the future a sample's timestamp may be before it is rejected.",
            ),
            FlagSpec::new(
                "past_grace_period",
                "validation.past-grace-period",
                Duration,
                "How far in the past a sample's timestamp may be before it is rejected; 0 disables the check.",
            ),
        ]
    }

    fn validate(&self) -> Result<(), String> {
        if !(self.ingestion_rate.is_finite() && self.ingestion_rate >= 0.0) {
            return Err("limits.ingestion_rate (-distributor.ingestion-rate-limit) must be a non-negative number".into());
        }
        if !(self.request_rate.is_finite() && self.request_rate >= 0.0) {
            return Err("limits.request_rate (-distributor.request-rate-limit) must be a non-negative number".into());
        }
        Ok(())
    }
}
