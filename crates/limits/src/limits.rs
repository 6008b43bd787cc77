//! The per-tenant limits block, with Mimir's keys, flags and defaults.
//!
//! These are the defaults for every tenant; the runtime configuration's `overrides:` replace
//! them per tenant. The keys are Mimir's, with Mimir's flags and defaults. They are accepted,
//! validated and reloaded now; the write path (distributor: rates and validation, ingester:
//! series limits) and the read path (querier: fetched series and chunks, query lengths and
//! lookback, the ingester query window) enforce them.

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
    /// Metric metadata entries a tenant may have across the cluster; 0 disables the limit.
    pub max_global_metadata_per_user: u64,
    /// Metadata entries one metric may have across the cluster; 0 disables the limit.
    pub max_global_metadata_per_metric: u64,
    /// Reject metadata without a metric family name.
    pub enforce_metadata_metric_name: bool,
    /// Which metric and label names are valid: `utf8` (Prometheus 3) or `legacy`
    /// (`[a-zA-Z_:][a-zA-Z0-9_:]*` for metric names, no colon in label names).
    pub name_validation_scheme: String,
    /// Deduplicate samples from HA Prometheus pairs for this tenant.
    pub accept_ha_samples: bool,
    /// The label naming a tenant's HA cluster.
    pub ha_cluster_label: String,
    /// The label naming the replica within an HA cluster; removed before storage.
    pub ha_replica_label: String,
    /// HA clusters a tenant may have; 0 disables the limit.
    pub ha_max_clusters: u64,
    /// Label names removed from every series before validation and storage.
    pub drop_labels: Vec<String>,
    /// Chunks one query may fetch from ingesters and storage; 0 disables the limit. The
    /// ingesters answer with samples, so the querier counts `ceil(samples / 120)` chunks per
    /// series (Prometheus's target of 120 samples per chunk).
    pub max_fetched_chunks_per_query: u64,
    /// Distinct series one query may fetch; 0 disables the limit.
    pub max_fetched_series_per_query: u64,
    /// How far back queries may read; older parts of a query's range are dropped (the query
    /// does not fail). 0 disables the limit.
    pub max_query_lookback: Duration,
    /// Longest time range one selection of a query may cover, checked in the querier;
    /// 0 disables the limit.
    pub max_partial_query_length: Duration,
    /// Longest `end - start` of a range query; 0 disables the limit.
    pub max_total_query_length: Duration,
    /// Queries are sent to the ingesters only for the part of their range within this
    /// duration of now; 0 sends every query to the ingesters.
    pub query_ingesters_within: Duration,
}

/// The name validation schemes `name_validation_scheme` accepts.
pub const NAME_VALIDATION_SCHEMES: &[&str] = &["utf8", "legacy"];

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
            max_global_metadata_per_user: 0,
            max_global_metadata_per_metric: 0,
            enforce_metadata_metric_name: true,
            name_validation_scheme: "utf8".into(),
            accept_ha_samples: false,
            ha_cluster_label: "cluster".into(),
            ha_replica_label: "__replica__".into(),
            ha_max_clusters: 100,
            drop_labels: Vec::new(),
            max_fetched_chunks_per_query: 2_000_000,
            max_fetched_series_per_query: 0,
            max_query_lookback: Duration::default(),
            max_partial_query_length: Duration::default(),
            max_total_query_length: Duration::default(),
            query_ingesters_within: Duration::from_secs(13 * 3600),
        }
    }
}

impl ConfigSection for Limits {
    fn specs() -> Vec<FlagSpec> {
        use FlagKind::{Bool, Duration, Float, List, String, Uint};
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
            FlagSpec::new(
                "max_global_metadata_per_user",
                "ingester.max-global-metadata-per-user",
                Uint,
                "Metric metadata entries a tenant may have across all ingesters; 0 disables the limit.",
            ),
            FlagSpec::new(
                "max_global_metadata_per_metric",
                "ingester.max-global-metadata-per-metric",
                Uint,
                "Metadata entries one metric may have across all ingesters; 0 disables the limit.",
            ),
            FlagSpec::new(
                "enforce_metadata_metric_name",
                "validation.enforce-metadata-metric-name",
                Bool,
                "Reject metric metadata that has no metric family name.",
            ),
            FlagSpec::new(
                "name_validation_scheme",
                "validation.name-validation-scheme",
                String,
                "Which metric and label names are valid: utf8 (any UTF-8 text, as Prometheus 3 accepts) or legacy ([a-zA-Z_:][a-zA-Z0-9_:]* for metric names, [a-zA-Z_][a-zA-Z0-9_]* for label names).",
            ),
            FlagSpec::new(
                "accept_ha_samples",
                "distributor.ha-tracker.enable-for-all-users",
                Bool,
                "Deduplicate samples from HA Prometheus replicas: only the elected replica of each cluster is stored. Needs distributor.ha_tracker.enable_ha_tracker.",
            ),
            FlagSpec::new(
                "ha_cluster_label",
                "distributor.ha-tracker.cluster",
                String,
                "Label naming the HA cluster a sample comes from.",
            ),
            FlagSpec::new(
                "ha_replica_label",
                "distributor.ha-tracker.replica",
                String,
                "Label naming the replica within an HA cluster; removed before storage.",
            ),
            FlagSpec::new(
                "ha_max_clusters",
                "distributor.ha-tracker.max-clusters",
                Uint,
                "HA clusters a tenant may have; 0 disables the limit.",
            ),
            FlagSpec::new(
                "drop_labels",
                "distributor.drop-label",
                List,
                "Comma-separated label names removed from every series before validation and storage.",
            ),
            FlagSpec::new(
                "max_fetched_chunks_per_query",
                "querier.max-fetched-chunks-per-query",
                Uint,
                "Maximum number of chunks a single query may fetch from ingesters and long-term storage; 0 disables the limit. Ingesters answer with samples, so each series counts ceil(samples / 120) chunks (Prometheus's target chunk size).",
            ),
            FlagSpec::new(
                "max_fetched_series_per_query",
                "querier.max-fetched-series-per-query",
                Uint,
                "Maximum number of distinct series a single query may fetch from ingesters and long-term storage; 0 disables the limit.",
            ),
            FlagSpec::new(
                "max_query_lookback",
                "querier.max-query-lookback",
                Duration,
                "Limit how far back data (series, labels and metadata) can be queried, up until this duration ago. Queries reaching further back are not rejected: their range is cut to the allowed part. 0 disables the limit.",
            ),
            FlagSpec::new(
                "max_partial_query_length",
                "querier.max-partial-query-length",
                Duration,
                "Limit the time range of each selection a query makes in the querier (end - start, range selectors and lookback included); 0 disables the limit.",
            ),
            FlagSpec::new(
                "max_total_query_length",
                "query-frontend.max-total-query-length",
                Duration,
                "Limit the total time range (end - start) of a range query; 0 disables the limit.",
            ),
            FlagSpec::new(
                "query_ingesters_within",
                "querier.query-ingesters-within",
                Duration,
                "Maximum lookback beyond which queries are not sent to ingesters; 0 sends every query to the ingesters. Ingesters hold only recent data (blocks_storage.tsdb.retention_period, 13h), so the older part of a query is left to long-term storage.",
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
        if !NAME_VALIDATION_SCHEMES.contains(&self.name_validation_scheme.as_str()) {
            return Err(format!(
                "limits.name_validation_scheme (-validation.name-validation-scheme) is {:?}; valid values: {}",
                self.name_validation_scheme,
                NAME_VALIDATION_SCHEMES.join(", ")
            ));
        }
        if self.ha_cluster_label.is_empty() || self.ha_replica_label.is_empty() {
            return Err(
                "limits.ha_cluster_label and limits.ha_replica_label must not be empty".into(),
            );
        }
        Ok(())
    }
}
