//! Assigning each input sample to its output group: `by (…)` keeps only the listed labels,
//! `without (…)` drops the listed labels and the metric name, as Prometheus's
//! `generateGroupingKey`/`generateGroupingLabels` do. Groups are numbered in order of first
//! appearance so the output order is deterministic.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher};

use norn_model::Labels;
use norn_model::labels::{Label, METRIC_NAME};

use super::Grouping;
use crate::error::PromqlError;

/// The groups met so far at one step, with each group's label set.
#[derive(Debug)]
pub(super) struct Groups<'a> {
    grouping: Grouping<'a>,
    /// Hash of a group's labels → indexes of the groups with that hash.
    by_hash: HashMap<u64, Vec<usize>>,
    /// Each group's labels, by group index.
    labels: Vec<Labels>,
}

impl<'a> Groups<'a> {
    /// Returns an empty set of groups for `grouping`.
    pub(super) fn new(grouping: Grouping<'a>) -> Self {
        Self {
            grouping,
            by_hash: HashMap::new(),
            labels: Vec::new(),
        }
    }

    /// Returns the index of the group `metric` belongs to, creating the group when it is
    /// new (indexes count up from 0 in order of first appearance).
    pub(super) fn group_of(&mut self, metric: &Labels) -> Result<usize, PromqlError> {
        let grouping = self.grouping;
        let mut hasher = DefaultHasher::new();
        for label in metric.iter().filter(|label| keeps(grouping, label)) {
            hasher.write(label.name.as_bytes());
            hasher.write_u8(0xff);
            hasher.write(label.value.as_bytes());
            hasher.write_u8(0xff);
        }
        let candidates = self.by_hash.entry(hasher.finish()).or_default();
        for &index in candidates.iter() {
            let same = metric
                .iter()
                .filter(|label| keeps(grouping, label))
                .eq(self.labels[index].iter());
            if same {
                return Ok(index);
            }
        }
        let labels = Labels::new(
            metric
                .iter()
                .filter(|label| keeps(grouping, label))
                .map(|label| (label.name, label.value)),
        )
        .map_err(|error| PromqlError::Internal(format!("grouping labels: {error}")))?;
        let index = self.labels.len();
        self.labels.push(labels);
        candidates.push(index);
        Ok(index)
    }

    /// Returns the number of groups.
    pub(super) fn len(&self) -> usize {
        self.labels.len()
    }

    /// Returns each group's labels, by group index.
    pub(super) fn into_labels(self) -> Vec<Labels> {
        self.labels
    }
}

/// True when `label` is part of the group identity under `grouping`.
fn keeps(grouping: Grouping<'_>, label: &Label<'_>) -> bool {
    match grouping {
        Grouping::By(names) => names.iter().any(|name| name == label.name),
        Grouping::Without(names) => {
            label.name != METRIC_NAME && !names.iter().any(|name| name == label.name)
        }
    }
}
