//! Metric metadata (type, help, unit) received with remote write, kept per tenant in memory.
//!
//! Mimir's ingesters hold metadata the same way: per metric family a small set of distinct
//! entries, each with the time it was last received, forgotten after the retain period, and
//! capped per tenant and per metric (`max_global_metadata_per_user` / `_per_metric`, converted
//! to local limits by the caller). The metadata API reads it back.

use std::collections::HashMap;

use norn_rpc::MetricMetadata;

/// Why an entry was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataRefusal {
    /// The tenant holds as many entries as its limit allows.
    PerUser(u64),
    /// The metric holds as many entries as its limit allows.
    PerMetric(u64),
}

/// One tenant's metadata.
#[derive(Debug, Default)]
pub struct MetadataStore {
    by_metric: HashMap<String, HashMap<MetricMetadata, i64>>,
    entries: u64,
}

impl MetadataStore {
    /// Stores or refreshes `entry` at `now_ms`; limits of 0 are unlimited.
    pub fn add(
        &mut self,
        entry: &MetricMetadata,
        now_ms: i64,
        per_user: u64,
        per_metric: u64,
    ) -> Result<(), MetadataRefusal> {
        if let Some(set) = self.by_metric.get_mut(&entry.metric_family) {
            if let Some(seen) = set.get_mut(entry) {
                *seen = now_ms;
                return Ok(());
            }
            if per_metric > 0 && set.len() as u64 >= per_metric {
                return Err(MetadataRefusal::PerMetric(per_metric));
            }
        }
        if per_user > 0 && self.entries >= per_user {
            return Err(MetadataRefusal::PerUser(per_user));
        }
        self.by_metric
            .entry(entry.metric_family.clone())
            .or_default()
            .insert(entry.clone(), now_ms);
        self.entries += 1;
        Ok(())
    }

    /// Forgets entries last received before `cutoff_ms`.
    pub fn purge(&mut self, cutoff_ms: i64) {
        let mut removed = 0;
        self.by_metric.retain(|_, set| {
            let before = set.len();
            set.retain(|_, seen| *seen >= cutoff_ms);
            removed += (before - set.len()) as u64;
            !set.is_empty()
        });
        self.entries -= removed;
    }

    /// Returns the entries, optionally of one metric, sorted by metric then content.
    pub fn list(&self, metric: Option<&str>) -> Vec<MetricMetadata> {
        let mut entries: Vec<MetricMetadata> = match metric {
            Some(metric) => self
                .by_metric
                .get(metric)
                .map(|set| set.keys().cloned().collect())
                .unwrap_or_default(),
            None => self
                .by_metric
                .values()
                .flat_map(|set| set.keys().cloned())
                .collect(),
        };
        entries.sort_by(|a, b| {
            (&a.metric_family, &a.metric_type, &a.help, &a.unit).cmp(&(
                &b.metric_family,
                &b.metric_type,
                &b.help,
                &b.unit,
            ))
        });
        entries
    }

    /// Returns the number of entries held.
    pub fn len(&self) -> u64 {
        self.entries
    }

    /// Returns true when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(metric: &str, help: &str) -> MetricMetadata {
        MetricMetadata {
            metric_family: metric.into(),
            metric_type: "counter".into(),
            help: help.into(),
            unit: String::new(),
        }
    }

    #[test]
    fn limits_refresh_and_purge() {
        let mut store = MetadataStore::default();
        store.add(&entry("a", "one"), 10, 3, 2).unwrap();
        store.add(&entry("a", "one"), 20, 3, 2).unwrap();
        store.add(&entry("a", "two"), 10, 3, 2).unwrap();
        assert_eq!(
            store.add(&entry("a", "three"), 10, 3, 2),
            Err(MetadataRefusal::PerMetric(2))
        );
        store.add(&entry("b", "one"), 10, 3, 2).unwrap();
        assert_eq!(
            store.add(&entry("c", "one"), 10, 3, 2),
            Err(MetadataRefusal::PerUser(3))
        );
        assert_eq!(store.len(), 3);
        assert_eq!(store.list(Some("a")).len(), 2);
        // Only a/one was refreshed after 15.
        store.purge(15);
        assert_eq!(store.list(None), vec![entry("a", "one")]);
        assert_eq!(store.len(), 1);
    }
}
