//! Per-series validation of incoming writes: labels, sample timestamps and metric metadata,
//! with Mimir's rules, order of checks and messages (`pkg/distributor/validate.go`).
//!
//! [`SeriesValidator`] is built once per tenant from its [`Limits`] and checks one series,
//! sample or metadata entry at a time. A valid input costs no allocation; only building a
//! [`ValidationError`] allocates. Every error carries its [`ErrorId`] (for the discard counter
//! and the HTTP status) and a client-facing message ending in `(err-norn-<id>)`, plus the
//! adjust-hint naming the flag when a per-tenant limit is the cause.
//!
//! What Mimir does before validating, and this module therefore assumes or mirrors:
//! - Labels with an empty value are dropped (Prometheus reads `{foo=""}` as "no `foo`"), so
//!   they are ignored here: not counted, not checked, not shown in messages.
//!   [`norn_model::Labels::new`] drops them when the series is stored.
//! - Labels are sorted by name, silently: an unsorted series is not an error. Duplicates are
//!   found in any order. (`labels-not-sorted` is only an ingester's safety net.)
//! - Help texts are truncated to `max_metadata_length`, never rejected:
//!   [`SeriesValidator::truncate_help`].

mod format;
mod messages;
mod names;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use norn_limits::{ErrorId, Limits};
use norn_model::labels::METRIC_NAME;

pub use format::format_series;
use names::NameScheme;

/// Up to this many labels an unsorted series is checked for duplicates pairwise, without
/// allocating; larger unsorted series sort a copy of their names.
const PAIRWISE_DUPLICATE_CHECK_MAX: usize = 64;

/// Why a series, sample or metadata entry was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// The error ID (also selects the discard counter's `reason`).
    pub id: ErrorId,
    /// The client-facing message, already ending in the ID suffix and, for limit errors, the
    /// hint naming the flag.
    pub message: String,
}

/// Validates series, samples and metadata against one tenant's limits.
#[derive(Clone, Debug)]
pub struct SeriesValidator {
    scheme: NameScheme,
    max_label_names_per_series: usize,
    max_label_name_length: usize,
    max_label_value_length: usize,
    max_metadata_length: usize,
    creation_grace_period_ms: i64,
    /// 0 disables the check.
    past_grace_period_ms: i64,
    enforce_metadata_metric_name: bool,
}

impl SeriesValidator {
    /// Precomputes the checks from a tenant's limits. `name_validation_scheme` `legacy` selects
    /// Prometheus 2's character sets; anything else (`utf8`, the default) accepts any
    /// non-empty UTF-8 name.
    pub fn new(limits: &Limits) -> Self {
        Self {
            scheme: NameScheme::from_config(&limits.name_validation_scheme),
            max_label_names_per_series: to_usize(limits.max_label_names_per_series),
            max_label_name_length: to_usize(limits.max_label_name_length),
            max_label_value_length: to_usize(limits.max_label_value_length),
            max_metadata_length: to_usize(limits.max_metadata_length),
            creation_grace_period_ms: to_millis(limits.creation_grace_period),
            past_grace_period_ms: to_millis(limits.past_grace_period),
            enforce_metadata_metric_name: limits.enforce_metadata_metric_name,
        }
    }

    /// Validates a series' labels, given in wire order, and returns the first error in
    /// Mimir's order of checks: metric name present, metric name valid, label count, then per
    /// label its name's validity, name length, value length (both in bytes, as Mimir's
    /// `len()`), and duplicate names. Empty-valued labels are ignored; order is not checked.
    pub fn validate_labels<'a>(
        &self,
        labels: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<(), ValidationError> {
        let present = labels.filter(|(_, value)| !value.is_empty());
        let metric_name = present
            .clone()
            .find_map(|(name, value)| (name == METRIC_NAME).then_some(value));
        let Some(metric_name) = metric_name else {
            return Err(messages::missing_metric_name());
        };
        if !self.scheme.is_valid_metric_name(metric_name) {
            return Err(messages::invalid_metric_name(metric_name));
        }
        let count = present.clone().count();
        if count > self.max_label_names_per_series {
            let series = format_series(present);
            return Err(messages::too_many_labels(
                count,
                self.max_label_names_per_series,
                &series,
            ));
        }

        let mut previous: Option<&str> = None;
        let mut sorted = true;
        for (name, value) in present.clone() {
            if !self.scheme.is_valid_label_name(name) {
                return Err(messages::invalid_label(name, &format_series(present)));
            }
            if name.len() > self.max_label_name_length {
                return Err(messages::label_name_too_long(name, &format_series(present)));
            }
            if value.len() > self.max_label_value_length {
                let series = format_series(present);
                return Err(messages::label_value_too_long(name, value, &series));
            }
            match previous.map(|previous| previous.cmp(name)) {
                Some(Ordering::Equal) => {
                    return Err(messages::duplicate_label(name, &format_series(present)));
                }
                Some(Ordering::Greater) => sorted = false,
                Some(Ordering::Less) | None => {}
            }
            previous = Some(name);
        }
        if !sorted && let Some(name) = first_duplicate_name(present.clone(), count) {
            return Err(messages::duplicate_label(name, &format_series(present)));
        }
        Ok(())
    }

    /// Validates a sample's timestamp against `now_ms`: later than now +
    /// `creation_grace_period` is `too-far-in-future`; when `past_grace_period` is set, earlier
    /// than now - `past_grace_period` is `too-far-in-past`. Both bounds are inclusive (a sample
    /// exactly at the bound passes), as in Mimir.
    pub fn validate_timestamp<'a>(
        &self,
        timestamp_ms: i64,
        now_ms: i64,
        labels: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<(), ValidationError> {
        if timestamp_ms > now_ms.saturating_add(self.creation_grace_period_ms) {
            let series = format_series(labels.filter(|(_, value)| !value.is_empty()));
            return Err(messages::too_far_in_future(timestamp_ms, &series));
        }
        if self.past_grace_period_ms > 0
            && timestamp_ms < now_ms.saturating_sub(self.past_grace_period_ms)
        {
            let series = format_series(labels.filter(|(_, value)| !value.is_empty()));
            return Err(messages::too_far_in_past(timestamp_ms, &series));
        }
        Ok(())
    }

    /// Validates one metric metadata entry: a missing family name (when
    /// `enforce_metadata_metric_name`), then a family name, then a unit longer than
    /// `max_metadata_length` bytes. `help` is never a reason to reject (Mimir truncates it
    /// instead; see [`truncate_help`](Self::truncate_help)); it is taken so callers pass the
    /// whole entry.
    pub fn validate_metadata(
        &self,
        metric_family: &str,
        help: &str,
        unit: &str,
    ) -> Result<(), ValidationError> {
        let _ = help;
        if self.enforce_metadata_metric_name && metric_family.is_empty() {
            return Err(messages::metadata_missing_metric_name());
        }
        if metric_family.len() > self.max_metadata_length {
            return Err(messages::metadata_metric_name_too_long(metric_family));
        }
        if unit.len() > self.max_metadata_length {
            return Err(messages::metadata_unit_too_long(unit, metric_family));
        }
        Ok(())
    }

    /// Returns `help` cut to at most `max_metadata_length` bytes, at a character boundary, as
    /// Mimir shortens over-long help texts before storing them.
    pub fn truncate_help<'h>(&self, help: &'h str) -> &'h str {
        if help.len() <= self.max_metadata_length {
            return help;
        }
        let mut end = self.max_metadata_length;
        while !help.is_char_boundary(end) {
            end -= 1;
        }
        help.get(..end).unwrap_or_default()
    }
}

/// Builds the `label-value-invalid` error for a label value that is not valid UTF-8, for a
/// decoder that reads raw bytes and wants Mimir's message rather than a decode error. Invalid
/// sequences are shown as U+FFFD.
pub fn invalid_label_value_error(
    label_name: &str,
    value: &[u8],
    metric_name: &str,
) -> ValidationError {
    messages::invalid_label_value(label_name, &String::from_utf8_lossy(value), metric_name)
}

/// Returns the first name that occurs twice among `labels` (`count` of them), in any order.
fn first_duplicate_name<'a>(
    labels: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    count: usize,
) -> Option<&'a str> {
    if count <= PAIRWISE_DUPLICATE_CHECK_MAX {
        for (index, (name, _)) in labels.clone().enumerate() {
            if labels
                .clone()
                .skip(index + 1)
                .any(|(other, _)| other == name)
            {
                return Some(name);
            }
        }
        return None;
    }
    let mut names: Vec<&str> = labels.map(|(name, _)| name).collect();
    names.sort_unstable();
    names
        .windows(2)
        .find(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
}

fn to_usize(limit: u32) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

fn to_millis(duration: norn_common::Duration) -> i64 {
    i64::try_from(duration.get().as_millis()).unwrap_or(i64::MAX)
}
