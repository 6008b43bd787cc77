//! The catalogue of write-path error IDs Norn returns to clients.
//!
//! Every message a client sees for a rejected write ends with `(err-norn-<id>)`, Mimir's
//! convention (`pkg/util/globalerror/user.go`) with Norn's prefix: the suffixes are Mimir's, so
//! runbooks and searches written for `err-mimir-<id>` carry over. Errors caused by a limit also
//! name the flag that adjusts it (`To adjust the related per-tenant limit, configure -<flag>,
//! or contact your service administrator.`); [`limit_error_message`] builds both forms.
//!
//! [`ErrorId::discard_reason`] gives the `reason` label Mimir puts on the discard counters
//! (`cortex_discarded_samples_total`, `cortex_discarded_metadata_total`) for the same failure,
//! and [`format_timestamp`] (from `norn-common`) renders a sample timestamp as Mimir's messages do (RFC 3339, UTC).
//! The catalogue lives in this layer-3 crate because both the distributor and the ingester
//! produce these errors and neither may depend on the other.

pub use norn_common::time::format_timestamp;
use std::fmt;

/// The prefix of every error ID as the client sees it (`err-mimir-` in Mimir).
pub const ERROR_ID_PREFIX: &str = "err-norn-";

/// A write-path error ID.
///
/// The IDs are immutable once released: they appear in client-visible messages and in the
/// discard counters' `reason` label, so a variant may be added but never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorId {
    // --- Series validation (distributor) ---
    /// The series has no `__name__` label (or only an empty one).
    MissingMetricName,
    /// The metric name is not valid under the tenant's name validation scheme.
    InvalidMetricName,
    /// The series has more labels than `max_label_names_per_series`.
    MaxLabelNamesPerSeries,
    /// A label name is not valid under the tenant's name validation scheme.
    InvalidLabel,
    /// A label value is not valid UTF-8.
    InvalidLabelValue,
    /// A label name is longer than `max_label_name_length` bytes.
    LabelNameTooLong,
    /// A label value is longer than `max_label_value_length` bytes.
    LabelValueTooLong,
    /// Two labels of the series share a name.
    DuplicateLabelNames,
    /// The labels reached an ingester unsorted. The distributor sorts labels before sending,
    /// as Mimir does, so only an ingester's safety net reports this.
    LabelsNotSorted,
    /// The sample's timestamp is later than now + `creation_grace_period`.
    TooFarInFuture,
    /// The sample's timestamp is earlier than now - `past_grace_period`.
    TooFarInPast,
    /// Norn-specific: the series carries native histogram samples, which Norn does not store
    /// yet.
    NativeHistogramUnsupported,

    // --- Metadata validation (distributor) ---
    /// Metric metadata without a metric family name.
    MetadataMissingMetricName,
    /// Metric metadata whose metric family name is longer than `max_metadata_length`.
    MetadataMetricNameTooLong,
    /// Metric metadata whose unit is longer than `max_metadata_length`. (A help text that is
    /// too long is truncated, not rejected, as Mimir does.)
    MetadataUnitTooLong,

    // --- Per-tenant series and metadata limits (ingester) ---
    /// The tenant reached `max_global_series_per_user`.
    MaxSeriesPerUser,
    /// The metric reached `max_global_series_per_metric`.
    MaxSeriesPerMetric,
    /// The tenant reached `max_global_metadata_per_user`.
    MaxMetadataPerUser,
    /// The metric reached `max_global_metadata_per_metric`.
    MaxMetadataPerMetric,

    // --- Sample ingestion (ingester) ---
    /// A newer sample of the series was already ingested.
    SampleOutOfOrder,
    /// A sample with the same timestamp but a different value was already ingested.
    SampleDuplicateTimestamp,
    /// The sample is older than the head block accepts. Mimir reports TSDB's "out of bounds"
    /// under this ID too; there is no separate `sample-out-of-bounds` ID.
    SampleTimestampTooOld,

    // --- Per-tenant rate limits (distributor) ---
    /// The tenant exceeded its ingestion rate (samples per second).
    TenantMaxIngestionRate,
    /// The tenant exceeded its push request rate.
    TenantMaxRequestRate,
    /// The tenant has more HA clusters than `ha_max_clusters`.
    TenantTooManyHaClusters,

    // --- Per-instance protections ---
    /// The push body is larger than the distributor accepts.
    DistributorMaxWriteMessageSize,
    /// The distributor has too many push requests in flight.
    DistributorMaxInflightPushRequests,
    /// The ingester holds as many in-memory series as it may.
    IngesterMaxSeries,
    /// The ingester holds as many tenants as it may.
    IngesterMaxTenants,
    /// The ingester has too many push requests in flight.
    IngesterMaxInflightPushRequests,
    /// The ingester exceeded its samples ingestion rate.
    IngesterMaxIngestionRate,
}

/// Which kind of limit an error ID reports, for the adjust-hint's wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitScope {
    /// A per-tenant limit (`limits:` block or runtime overrides): "the related per-tenant limit".
    Tenant,
    /// A per-instance protection (process configuration): "the related limit".
    Instance,
}

impl ErrorId {
    /// Every error ID, in declaration order.
    pub const ALL: &'static [ErrorId] = &[
        ErrorId::MissingMetricName,
        ErrorId::InvalidMetricName,
        ErrorId::MaxLabelNamesPerSeries,
        ErrorId::InvalidLabel,
        ErrorId::InvalidLabelValue,
        ErrorId::LabelNameTooLong,
        ErrorId::LabelValueTooLong,
        ErrorId::DuplicateLabelNames,
        ErrorId::LabelsNotSorted,
        ErrorId::TooFarInFuture,
        ErrorId::TooFarInPast,
        ErrorId::NativeHistogramUnsupported,
        ErrorId::MetadataMissingMetricName,
        ErrorId::MetadataMetricNameTooLong,
        ErrorId::MetadataUnitTooLong,
        ErrorId::MaxSeriesPerUser,
        ErrorId::MaxSeriesPerMetric,
        ErrorId::MaxMetadataPerUser,
        ErrorId::MaxMetadataPerMetric,
        ErrorId::SampleOutOfOrder,
        ErrorId::SampleDuplicateTimestamp,
        ErrorId::SampleTimestampTooOld,
        ErrorId::TenantMaxIngestionRate,
        ErrorId::TenantMaxRequestRate,
        ErrorId::TenantTooManyHaClusters,
        ErrorId::DistributorMaxWriteMessageSize,
        ErrorId::DistributorMaxInflightPushRequests,
        ErrorId::IngesterMaxSeries,
        ErrorId::IngesterMaxTenants,
        ErrorId::IngesterMaxInflightPushRequests,
        ErrorId::IngesterMaxIngestionRate,
    ];

    /// Returns the ID without its prefix, identical to Mimir's (e.g. `missing-metric-name`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorId::MissingMetricName => "missing-metric-name",
            ErrorId::InvalidMetricName => "metric-name-invalid",
            ErrorId::MaxLabelNamesPerSeries => "max-label-names-per-series",
            ErrorId::InvalidLabel => "label-invalid",
            ErrorId::InvalidLabelValue => "label-value-invalid",
            ErrorId::LabelNameTooLong => "label-name-too-long",
            ErrorId::LabelValueTooLong => "label-value-too-long",
            ErrorId::DuplicateLabelNames => "duplicate-label-names",
            ErrorId::LabelsNotSorted => "labels-not-sorted",
            ErrorId::TooFarInFuture => "too-far-in-future",
            ErrorId::TooFarInPast => "too-far-in-past",
            ErrorId::NativeHistogramUnsupported => "native-histogram-unsupported",
            ErrorId::MetadataMissingMetricName => "metadata-missing-metric-name",
            ErrorId::MetadataMetricNameTooLong => "metric-name-too-long",
            ErrorId::MetadataUnitTooLong => "unit-too-long",
            ErrorId::MaxSeriesPerUser => "max-series-per-user",
            ErrorId::MaxSeriesPerMetric => "max-series-per-metric",
            ErrorId::MaxMetadataPerUser => "max-metadata-per-user",
            ErrorId::MaxMetadataPerMetric => "max-metadata-per-metric",
            ErrorId::SampleOutOfOrder => "sample-out-of-order",
            ErrorId::SampleDuplicateTimestamp => "sample-duplicate-timestamp",
            ErrorId::SampleTimestampTooOld => "sample-timestamp-too-old",
            ErrorId::TenantMaxIngestionRate => "tenant-max-ingestion-rate",
            ErrorId::TenantMaxRequestRate => "tenant-max-request-rate",
            ErrorId::TenantTooManyHaClusters => "tenant-too-many-ha-clusters",
            ErrorId::DistributorMaxWriteMessageSize => "distributor-max-write-message-size",
            ErrorId::DistributorMaxInflightPushRequests => "distributor-max-inflight-push-requests",
            ErrorId::IngesterMaxSeries => "ingester-max-series",
            ErrorId::IngesterMaxTenants => "ingester-max-tenants",
            ErrorId::IngesterMaxInflightPushRequests => "ingester-max-inflight-push-requests",
            ErrorId::IngesterMaxIngestionRate => "ingester-max-ingestion-rate",
        }
    }

    /// Returns the suffix every message with this ID ends with: ` (err-norn-<id>)`.
    pub fn message_suffix(&self) -> String {
        format!(" ({ERROR_ID_PREFIX}{})", self.as_str())
    }

    /// Returns the `reason` label Mimir puts on its discard counter for this failure.
    ///
    /// Series and sample failures go to `cortex_discarded_samples_total`, metadata failures
    /// (`Metadata*`, `MaxMetadataPer*`) to `cortex_discarded_metadata_total`. The values are
    /// Mimir's, quirks included: distributor reasons use underscores, the ingester's TSDB
    /// reasons hyphens (`sample-out-of-order`, `new-value-for-timestamp`,
    /// `sample-out-of-bounds`), both rate limits share `rate_limited`, and metadata without a
    /// name counts as `missing_metric_name`. Per-instance protections are not counted as
    /// discards by Mimir (the client retries them); they return the ID with underscores, the
    /// form Mimir derives reasons from IDs with, for callers that want one anyway.
    pub fn discard_reason(&self) -> &'static str {
        match self {
            ErrorId::MissingMetricName | ErrorId::MetadataMissingMetricName => {
                "missing_metric_name"
            }
            ErrorId::InvalidMetricName => "metric_name_invalid",
            ErrorId::MaxLabelNamesPerSeries => "max_label_names_per_series",
            ErrorId::InvalidLabel => "label_invalid",
            ErrorId::InvalidLabelValue => "label_value_invalid",
            ErrorId::LabelNameTooLong => "label_name_too_long",
            ErrorId::LabelValueTooLong => "label_value_too_long",
            ErrorId::DuplicateLabelNames => "duplicate_label_names",
            ErrorId::LabelsNotSorted => "labels_not_sorted",
            ErrorId::TooFarInFuture => "too_far_in_future",
            ErrorId::TooFarInPast => "too_far_in_past",
            ErrorId::NativeHistogramUnsupported => "native_histogram_unsupported",
            ErrorId::MetadataMetricNameTooLong => "metric_name_too_long",
            ErrorId::MetadataUnitTooLong => "unit_too_long",
            ErrorId::MaxSeriesPerUser => "per_user_series_limit",
            ErrorId::MaxSeriesPerMetric => "per_metric_series_limit",
            ErrorId::MaxMetadataPerUser => "per_user_metadata_limit",
            ErrorId::MaxMetadataPerMetric => "per_metric_metadata_limit",
            ErrorId::SampleOutOfOrder => "sample-out-of-order",
            ErrorId::SampleDuplicateTimestamp => "new-value-for-timestamp",
            ErrorId::SampleTimestampTooOld => "sample-out-of-bounds",
            ErrorId::TenantMaxIngestionRate | ErrorId::TenantMaxRequestRate => "rate_limited",
            ErrorId::TenantTooManyHaClusters => "too_many_ha_clusters",
            ErrorId::DistributorMaxWriteMessageSize => "distributor_max_write_message_size",
            ErrorId::DistributorMaxInflightPushRequests => "distributor_max_inflight_push_requests",
            ErrorId::IngesterMaxSeries => "ingester_max_series",
            ErrorId::IngesterMaxTenants => "ingester_max_tenants",
            ErrorId::IngesterMaxInflightPushRequests => "ingester_max_inflight_push_requests",
            ErrorId::IngesterMaxIngestionRate => "ingester_max_ingestion_rate",
        }
    }

    /// Returns every flag (without the leading dash) the adjust-hint names, in order; empty
    /// for errors that no setting can lift. Per-tenant flags are those of
    /// [`Limits`](crate::Limits); per-instance flags are Mimir's process flags.
    pub fn limit_flags(&self) -> &'static [&'static str] {
        match self {
            ErrorId::MaxLabelNamesPerSeries => &["validation.max-label-names-per-series"],
            ErrorId::LabelNameTooLong => &["validation.max-length-label-name"],
            ErrorId::LabelValueTooLong => &["validation.max-length-label-value"],
            ErrorId::TooFarInFuture => &["validation.create-grace-period"],
            ErrorId::TooFarInPast => &["validation.past-grace-period"],
            ErrorId::MetadataMetricNameTooLong | ErrorId::MetadataUnitTooLong => {
                &["validation.max-metadata-length"]
            }
            ErrorId::MaxSeriesPerUser => &["ingester.max-global-series-per-user"],
            ErrorId::MaxSeriesPerMetric => &["ingester.max-global-series-per-metric"],
            ErrorId::MaxMetadataPerUser => &["ingester.max-global-metadata-per-user"],
            ErrorId::MaxMetadataPerMetric => &["ingester.max-global-metadata-per-metric"],
            ErrorId::TenantMaxIngestionRate => &[
                "distributor.ingestion-rate-limit",
                "distributor.ingestion-burst-size",
            ],
            ErrorId::TenantMaxRequestRate => &[
                "distributor.request-rate-limit",
                "distributor.request-burst-size",
            ],
            ErrorId::TenantTooManyHaClusters => &["distributor.ha-tracker.max-clusters"],
            ErrorId::DistributorMaxWriteMessageSize => &["distributor.max-recv-msg-size"],
            ErrorId::DistributorMaxInflightPushRequests => {
                &["distributor.instance-limits.max-inflight-push-requests"]
            }
            ErrorId::IngesterMaxSeries => &["ingester.instance-limits.max-series"],
            ErrorId::IngesterMaxTenants => &["ingester.instance-limits.max-tenants"],
            ErrorId::IngesterMaxInflightPushRequests => {
                &["ingester.instance-limits.max-inflight-push-requests"]
            }
            ErrorId::IngesterMaxIngestionRate => &["ingester.instance-limits.max-ingestion-rate"],
            ErrorId::MissingMetricName
            | ErrorId::InvalidMetricName
            | ErrorId::InvalidLabel
            | ErrorId::InvalidLabelValue
            | ErrorId::DuplicateLabelNames
            | ErrorId::LabelsNotSorted
            | ErrorId::NativeHistogramUnsupported
            | ErrorId::MetadataMissingMetricName
            | ErrorId::SampleOutOfOrder
            | ErrorId::SampleDuplicateTimestamp
            | ErrorId::SampleTimestampTooOld => &[],
        }
    }

    /// Returns the (first) flag the adjust-hint names, for limit errors.
    pub fn limit_flag(&self) -> Option<&'static str> {
        self.limit_flags().first().copied()
    }

    /// Returns whether the limit behind this error is per tenant or per instance; `None` for
    /// errors that are not about a limit.
    pub fn limit_scope(&self) -> Option<LimitScope> {
        match self {
            ErrorId::DistributorMaxWriteMessageSize
            | ErrorId::DistributorMaxInflightPushRequests
            | ErrorId::IngesterMaxSeries
            | ErrorId::IngesterMaxTenants
            | ErrorId::IngesterMaxInflightPushRequests
            | ErrorId::IngesterMaxIngestionRate => Some(LimitScope::Instance),
            _ if self.limit_flags().is_empty() => None,
            _ => Some(LimitScope::Tenant),
        }
    }
}

impl fmt::Display for ErrorId {
    /// Formats the full ID as the client sees it: `err-norn-<id>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ERROR_ID_PREFIX}{}", self.as_str())
    }
}

/// Builds a client-facing message: `<core> (err-norn-<id>)`, followed for limit errors by
/// Mimir's hint naming the flag(s): `. To adjust the related per-tenant limit, configure
/// -<flag>, or contact your service administrator.` Per-instance limits say "the related
/// limit"; several flags are listed as `-a, -b and -c` with "limits".
pub fn limit_error_message(core: &str, id: ErrorId) -> String {
    let flags = id.limit_flags();
    let mut message = format!("{core}{}", id.message_suffix());
    let Some((last, leading)) = flags.split_last() else {
        return message;
    };
    let scope = match id.limit_scope() {
        Some(LimitScope::Instance) => "",
        _ => "per-tenant ",
    };
    let plural = if leading.is_empty() { "" } else { "s" };
    message.push_str(&format!(
        ". To adjust the related {scope}limit{plural}, configure "
    ));
    for (index, flag) in leading.iter().enumerate() {
        if index > 0 {
            message.push_str(", ");
        }
        message.push('-');
        message.push_str(flag);
    }
    if !leading.is_empty() {
        message.push_str(" and ");
    }
    message.push('-');
    message.push_str(last);
    message.push_str(", or contact your service administrator.");
    message
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use norn_common::config::ConfigSection;

    use super::*;
    use crate::Limits;

    #[test]
    fn ids_and_reasons_are_unique_and_well_formed() {
        let ids: HashSet<&str> = ErrorId::ALL.iter().map(ErrorId::as_str).collect();
        assert_eq!(ids.len(), ErrorId::ALL.len(), "duplicate as_str");
        for id in ErrorId::ALL {
            let text = id.as_str();
            assert!(
                text.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{text} is not kebab-case"
            );
            assert!(!id.discard_reason().is_empty());
            assert_eq!(id.to_string(), format!("err-norn-{text}"));
        }
        // Only the documented shared reasons repeat.
        let mut reasons: Vec<&str> = ErrorId::ALL.iter().map(ErrorId::discard_reason).collect();
        reasons.sort_unstable();
        let repeated: Vec<&str> = reasons
            .windows(2)
            .filter(|pair| pair[0] == pair[1])
            .map(|pair| pair[0])
            .collect();
        assert_eq!(repeated, ["missing_metric_name", "rate_limited"]);
    }

    #[test]
    fn all_lists_every_variant_once() {
        let unique: HashSet<ErrorId> = ErrorId::ALL.iter().copied().collect();
        assert_eq!(unique.len(), ErrorId::ALL.len());
        // Each variant must be in ALL: this exhaustive match stops compiling when a variant is
        // added, pointing whoever adds it here and to ALL.
        for id in ErrorId::ALL {
            match id {
                ErrorId::MissingMetricName
                | ErrorId::InvalidMetricName
                | ErrorId::MaxLabelNamesPerSeries
                | ErrorId::InvalidLabel
                | ErrorId::InvalidLabelValue
                | ErrorId::LabelNameTooLong
                | ErrorId::LabelValueTooLong
                | ErrorId::DuplicateLabelNames
                | ErrorId::LabelsNotSorted
                | ErrorId::TooFarInFuture
                | ErrorId::TooFarInPast
                | ErrorId::NativeHistogramUnsupported
                | ErrorId::MetadataMissingMetricName
                | ErrorId::MetadataMetricNameTooLong
                | ErrorId::MetadataUnitTooLong
                | ErrorId::MaxSeriesPerUser
                | ErrorId::MaxSeriesPerMetric
                | ErrorId::MaxMetadataPerUser
                | ErrorId::MaxMetadataPerMetric
                | ErrorId::SampleOutOfOrder
                | ErrorId::SampleDuplicateTimestamp
                | ErrorId::SampleTimestampTooOld
                | ErrorId::TenantMaxIngestionRate
                | ErrorId::TenantMaxRequestRate
                | ErrorId::TenantTooManyHaClusters
                | ErrorId::DistributorMaxWriteMessageSize
                | ErrorId::DistributorMaxInflightPushRequests
                | ErrorId::IngesterMaxSeries
                | ErrorId::IngesterMaxTenants
                | ErrorId::IngesterMaxInflightPushRequests
                | ErrorId::IngesterMaxIngestionRate => {}
            }
        }
    }

    #[test]
    fn ids_match_mimir_suffixes() {
        let expected = [
            (ErrorId::MissingMetricName, "missing-metric-name"),
            (ErrorId::InvalidMetricName, "metric-name-invalid"),
            (ErrorId::InvalidLabel, "label-invalid"),
            (ErrorId::SampleTimestampTooOld, "sample-timestamp-too-old"),
            (ErrorId::MetadataMetricNameTooLong, "metric-name-too-long"),
            (ErrorId::MetadataUnitTooLong, "unit-too-long"),
            (
                ErrorId::TenantTooManyHaClusters,
                "tenant-too-many-ha-clusters",
            ),
            (ErrorId::IngesterMaxSeries, "ingester-max-series"),
        ];
        for (id, text) in expected {
            assert_eq!(id.as_str(), text);
        }
    }

    #[test]
    fn message_suffix_has_prefix_and_parentheses() {
        for id in ErrorId::ALL {
            let suffix = id.message_suffix();
            assert_eq!(suffix, format!(" (err-norn-{})", id.as_str()));
        }
    }

    #[test]
    fn per_tenant_flags_exist_in_limits_specs() {
        let flags: HashSet<&str> = Limits::specs()
            .iter()
            .filter_map(|spec| spec.flag)
            .collect();
        for id in ErrorId::ALL {
            if id.limit_scope() == Some(LimitScope::Tenant) {
                for flag in id.limit_flags() {
                    assert!(flags.contains(flag), "{id}: -{flag} is not a limits flag");
                }
            }
        }
        assert_eq!(
            ErrorId::LabelNameTooLong.limit_flag(),
            Some("validation.max-length-label-name")
        );
        assert_eq!(ErrorId::DuplicateLabelNames.limit_flag(), None);
        assert_eq!(ErrorId::DuplicateLabelNames.limit_scope(), None);
    }

    #[test]
    fn limit_message_without_flag_is_core_and_suffix() {
        assert_eq!(
            limit_error_message(
                "received series has no metric name",
                ErrorId::MissingMetricName
            ),
            "received series has no metric name (err-norn-missing-metric-name)"
        );
    }

    #[test]
    fn limit_message_names_the_per_tenant_flag() {
        assert_eq!(
            limit_error_message(
                "per-user series limit of 5 exceeded",
                ErrorId::MaxSeriesPerUser
            ),
            "per-user series limit of 5 exceeded (err-norn-max-series-per-user). To adjust the \
             related per-tenant limit, configure -ingester.max-global-series-per-user, or \
             contact your service administrator."
        );
    }

    #[test]
    fn limit_message_lists_several_flags() {
        let message = limit_error_message("rate", ErrorId::TenantMaxIngestionRate);
        assert!(message.ends_with(
            "(err-norn-tenant-max-ingestion-rate). To adjust the related per-tenant limits, \
             configure -distributor.ingestion-rate-limit and -distributor.ingestion-burst-size, \
             or contact your service administrator."
        ));
    }

    #[test]
    fn instance_limit_message_says_related_limit() {
        let message = limit_error_message("busy", ErrorId::IngesterMaxTenants);
        assert_eq!(
            message,
            "busy (err-norn-ingester-max-tenants). To adjust the related limit, configure \
             -ingester.instance-limits.max-tenants, or contact your service administrator."
        );
    }

    #[test]
    fn timestamps_format_as_rfc3339_nano() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_timestamp(1_741_352_642_887),
            "2025-03-07T13:04:02.887Z"
        );
        assert_eq!(
            format_timestamp(1_741_352_642_800),
            "2025-03-07T13:04:02.8Z"
        );
        assert_eq!(
            format_timestamp(1_741_352_642_050),
            "2025-03-07T13:04:02.05Z"
        );
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
        // 2000-02-29 (leap day of a century divisible by 400) and 2100-03-01 (2100 not leap).
        assert_eq!(format_timestamp(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_timestamp(4_107_542_400_000), "2100-03-01T00:00:00Z");
        assert_eq!(
            format_timestamp(253_402_300_799_999),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            format_timestamp(-62_167_219_200_000),
            "0000-01-01T00:00:00Z"
        );
        assert_eq!(
            format_timestamp(-62_167_219_200_001),
            "-0001-12-31T23:59:59.999Z"
        );
        // Extremes do not overflow.
        assert!(format_timestamp(i64::MAX).ends_with(".807Z"));
        assert!(format_timestamp(i64::MIN).starts_with('-'));
    }
}
