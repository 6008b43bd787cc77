//! The `querier:` block of the configuration: the PromQL engine's settings and how many
//! queries run at once, with Mimir's keys, flags and defaults (`pkg/querier/engine/config.go`).
//!
//! Per-tenant query limits (fetched series and chunks, query lengths, lookback, the ingester
//! window) are not here: they live in the `limits:` block so runtime overrides can change them
//! per tenant.

use std::time::Duration as StdDuration;

use norn_common::Duration;
use norn_common::config::{ConfigSection, FlagKind, FlagSpec};
use norn_promql::EngineOptions;
use serde::{Deserialize, Serialize};

/// The querier's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuerierConfig {
    /// How many queries evaluate at once; more wait for a free slot.
    pub max_concurrent: u32,
    /// How long a query may evaluate.
    pub timeout: Duration,
    /// The most samples one query may hold in memory at once; 0 disables the limit.
    pub max_samples: u64,
    /// How far back an instant selector looks for a sample.
    pub lookback_delta: Duration,
    /// Whether Prometheus's experimental PromQL functions are accepted.
    pub promql_experimental_functions_enabled: bool,
}

impl Default for QuerierConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 20,
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            lookback_delta: Duration::from_secs(300),
            promql_experimental_functions_enabled: false,
        }
    }
}

impl QuerierConfig {
    /// Returns the engine options these settings describe.
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            lookback_delta_ms: i64::try_from(self.lookback_delta.get().as_millis())
                .unwrap_or(i64::MAX),
            max_samples: usize::try_from(self.max_samples).unwrap_or(usize::MAX),
            timeout: self.timeout.get(),
            enable_experimental_functions: self.promql_experimental_functions_enabled,
        }
    }

    /// Returns the query timeout.
    pub fn timeout(&self) -> StdDuration {
        self.timeout.get()
    }
}

impl ConfigSection for QuerierConfig {
    fn specs() -> Vec<FlagSpec> {
        vec![
            FlagSpec::new(
                "max_concurrent",
                "querier.max-concurrent",
                FlagKind::Uint,
                "The maximum number of queries (query and query_range requests) evaluated at the same time by this querier; further queries wait for a free slot.",
            ),
            FlagSpec::new(
                "timeout",
                "querier.timeout",
                FlagKind::Duration,
                "The timeout for a query's evaluation; a request's timeout parameter may only shorten it.",
            ),
            FlagSpec::new(
                "max_samples",
                "querier.max-samples",
                FlagKind::Uint,
                "Maximum number of samples a single query can load into memory; 0 disables the limit.",
            ),
            FlagSpec::new(
                "lookback_delta",
                "querier.lookback-delta",
                FlagKind::Duration,
                "Time since the last sample after which a time series is considered stale and ignored by expression evaluations; a request's lookback_delta parameter overrides it.",
            ),
            FlagSpec::new(
                "promql_experimental_functions_enabled",
                "querier.promql-experimental-functions-enabled",
                FlagKind::Bool,
                "Enable experimental PromQL functions.",
            ),
        ]
    }

    fn validate(&self) -> Result<(), String> {
        if self.max_concurrent == 0 {
            return Err(
                "querier.max_concurrent (-querier.max-concurrent) must be at least 1".into(),
            );
        }
        if self.timeout.is_zero() {
            return Err("querier.timeout (-querier.timeout) must be greater than 0".into());
        }
        if self.lookback_delta.is_zero() {
            return Err(
                "querier.lookback_delta (-querier.lookback-delta) must be greater than 0".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_mimirs_and_become_engine_options() {
        let config = QuerierConfig::default();
        assert!(config.validate().is_ok());
        let options = config.engine_options();
        assert_eq!(options, EngineOptions::default());
        assert_eq!(config.max_concurrent, 20);
    }

    #[test]
    fn nonsense_is_refused_with_the_flag_name() {
        let zero = QuerierConfig {
            max_concurrent: 0,
            ..QuerierConfig::default()
        };
        assert!(
            zero.validate()
                .unwrap_err()
                .contains("-querier.max-concurrent")
        );
        let no_timeout = QuerierConfig {
            timeout: Duration::default(),
            ..QuerierConfig::default()
        };
        assert!(
            no_timeout
                .validate()
                .unwrap_err()
                .contains("-querier.timeout")
        );
    }
}
