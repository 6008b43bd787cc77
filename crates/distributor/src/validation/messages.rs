//! The validation errors and their messages, worded as Mimir words them
//! (`pkg/distributor/validate.go`), each ending in `(err-norn-<id>)` and, for per-tenant
//! limits, the hint naming the flag.
//!
//! Deviation from Mimir, on purpose: sample timestamps are shown in RFC 3339 (as Mimir's
//! ingester messages show them) rather than as raw milliseconds, and timestamp errors show
//! the whole series rather than only its metric name.

use norn_limits::ErrorId;
use norn_limits::error_id::{format_timestamp, limit_error_message};

use super::ValidationError;
use super::format::{MESSAGE_PART_CHARS, ellipsis_if_truncated, remove_non_ascii, truncate_chars};

/// Builds an error whose message is `core` plus the ID suffix and, when the ID has a flag,
/// the adjust-hint.
fn error(id: ErrorId, core: &str) -> ValidationError {
    ValidationError {
        id,
        message: limit_error_message(core, id),
    }
}

/// Mimir's `%.200s`.
fn cut(text: &str) -> &str {
    truncate_chars(text, MESSAGE_PART_CHARS)
}

pub(super) fn missing_metric_name() -> ValidationError {
    error(
        ErrorId::MissingMetricName,
        "received series has no metric name",
    )
}

pub(super) fn invalid_metric_name(metric_name: &str) -> ValidationError {
    let shown = remove_non_ascii(metric_name);
    error(
        ErrorId::InvalidMetricName,
        &format!(
            "received a series with invalid metric name: '{}'",
            cut(&shown)
        ),
    )
}

pub(super) fn too_many_labels(actual: usize, limit: usize, series: &str) -> ValidationError {
    error(
        ErrorId::MaxLabelNamesPerSeries,
        &format!(
            "received a series whose number of labels exceeds the limit (actual: {actual}, \
             limit: {limit}) series: '{}{}'",
            cut(series),
            ellipsis_if_truncated(series)
        ),
    )
}

pub(super) fn invalid_label(name: &str, series: &str) -> ValidationError {
    error(
        ErrorId::InvalidLabel,
        &format!(
            "received a series with an invalid label: '{}' series: '{}'",
            cut(name),
            cut(series)
        ),
    )
}

pub(super) fn label_name_too_long(name: &str, series: &str) -> ValidationError {
    error(
        ErrorId::LabelNameTooLong,
        &format!(
            "received a series whose label name length exceeds the limit, label: '{}' series: \
             '{}'",
            cut(name),
            cut(series)
        ),
    )
}

pub(super) fn label_value_too_long(name: &str, value: &str, series: &str) -> ValidationError {
    error(
        ErrorId::LabelValueTooLong,
        &format!(
            "received a series whose label value length exceeds the limit, label: '{name}', \
             value: '{}' (truncated) series: '{}'",
            cut(value),
            cut(series)
        ),
    )
}

pub(super) fn invalid_label_value(name: &str, value: &str, metric_name: &str) -> ValidationError {
    error(
        ErrorId::InvalidLabelValue,
        &format!(
            "received a series with invalid value in label '{}': '{}' metric: '{}'",
            cut(name),
            cut(value),
            cut(metric_name)
        ),
    )
}

pub(super) fn duplicate_label(name: &str, series: &str) -> ValidationError {
    error(
        ErrorId::DuplicateLabelNames,
        &format!(
            "received a series with duplicate label name, label: '{}' series: '{}'",
            cut(name),
            cut(series)
        ),
    )
}

pub(super) fn too_far_in_future(timestamp_ms: i64, series: &str) -> ValidationError {
    error(
        ErrorId::TooFarInFuture,
        &format!(
            "received a sample whose timestamp is too far in the future, timestamp: {} series: \
             '{}'",
            format_timestamp(timestamp_ms),
            cut(series)
        ),
    )
}

pub(super) fn too_far_in_past(timestamp_ms: i64, series: &str) -> ValidationError {
    error(
        ErrorId::TooFarInPast,
        &format!(
            "received a sample whose timestamp is too far in the past, timestamp: {} series: \
             '{}'",
            format_timestamp(timestamp_ms),
            cut(series)
        ),
    )
}

pub(super) fn metadata_missing_metric_name() -> ValidationError {
    error(
        ErrorId::MetadataMissingMetricName,
        "received a metric metadata with no metric name",
    )
}

pub(super) fn metadata_metric_name_too_long(metric_name: &str) -> ValidationError {
    error(
        ErrorId::MetadataMetricNameTooLong,
        &format!(
            "received a metric metadata whose metric name length exceeds the limit, metric \
             name: '{}'",
            cut(metric_name)
        ),
    )
}

pub(super) fn metadata_unit_too_long(unit: &str, metric_name: &str) -> ValidationError {
    error(
        ErrorId::MetadataUnitTooLong,
        &format!(
            "received a metric metadata whose unit name length exceeds the limit, unit: '{}' \
             metric name: '{}'",
            cut(unit),
            cut(metric_name)
        ),
    )
}
