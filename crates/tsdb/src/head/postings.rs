//! The head's inverted index: for every label name and value, the series carrying it.
//!
//! Names and values live in sorted maps, so label-name and label-value lookups come out in
//! order without sorting. A value carried by a single series (instance IDs, pod names) stores
//! that series' ref inline instead of a bitmap, which keeps high-cardinality labels cheap;
//! shared values get a roaring bitmap.

use std::collections::BTreeMap;

use roaring::RoaringTreemap;

use norn_model::labels::Labels;

use crate::series::SeriesRef;

/// The series of one label value.
#[derive(Debug)]
enum ValuePostings {
    One(SeriesRef),
    Many(RoaringTreemap),
}

impl ValuePostings {
    fn insert(&mut self, series_ref: SeriesRef) {
        match self {
            Self::One(existing) if *existing == series_ref => {}
            Self::One(existing) => {
                let mut bitmap = RoaringTreemap::new();
                bitmap.insert(*existing);
                bitmap.insert(series_ref);
                *self = Self::Many(bitmap);
            }
            Self::Many(bitmap) => {
                bitmap.insert(series_ref);
            }
        }
    }

    /// Removes the ref; returns true when no series is left.
    fn remove(&mut self, series_ref: SeriesRef) -> bool {
        match self {
            Self::One(existing) => *existing == series_ref,
            Self::Many(bitmap) => {
                bitmap.remove(series_ref);
                bitmap.is_empty()
            }
        }
    }

    fn add_to(&self, out: &mut RoaringTreemap) {
        match self {
            Self::One(series_ref) => {
                out.insert(*series_ref);
            }
            Self::Many(bitmap) => *out |= bitmap,
        }
    }
}

/// Label name → label value → series.
#[derive(Debug, Default)]
pub(crate) struct MemPostings {
    names: BTreeMap<Box<str>, BTreeMap<Box<str>, ValuePostings>>,
    all: RoaringTreemap,
}

impl MemPostings {
    /// Indexes a new series.
    pub(crate) fn add(&mut self, series_ref: SeriesRef, labels: &Labels) {
        for label in labels.iter() {
            let values = self.names.entry(label.name.into()).or_default();
            match values.get_mut(label.value) {
                Some(postings) => postings.insert(series_ref),
                None => {
                    values.insert(label.value.into(), ValuePostings::One(series_ref));
                }
            }
        }
        self.all.insert(series_ref);
    }

    /// Removes a series.
    pub(crate) fn remove(&mut self, series_ref: SeriesRef, labels: &Labels) {
        for label in labels.iter() {
            let Some(values) = self.names.get_mut(label.name) else {
                continue;
            };
            if values
                .get_mut(label.value)
                .is_some_and(|postings| postings.remove(series_ref))
            {
                values.remove(label.value);
            }
            if values.is_empty() {
                self.names.remove(label.name);
            }
        }
        self.all.remove(series_ref);
    }

    /// Returns the label names in order.
    pub(crate) fn label_names(&self) -> Vec<String> {
        self.names.keys().map(|name| name.to_string()).collect()
    }

    /// Returns the values of `name` in order.
    pub(crate) fn label_values(&self, name: &str) -> Vec<String> {
        self.names
            .get(name)
            .map(|values| values.keys().map(|value| value.to_string()).collect())
            .unwrap_or_default()
    }

    /// Returns the series with `name` set to any of `values`.
    pub(crate) fn postings(&self, name: &str, values: &[&str]) -> RoaringTreemap {
        let mut out = RoaringTreemap::new();
        if let Some(by_value) = self.names.get(name) {
            for value in values {
                if let Some(postings) = by_value.get(*value) {
                    postings.add_to(&mut out);
                }
            }
        }
        out
    }

    /// Returns every series.
    pub(crate) fn all(&self) -> &RoaringTreemap {
        &self.all
    }

    /// Returns the number of indexed series.
    pub(crate) fn len(&self) -> u64 {
        self.all.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_lookup_and_remove() {
        let mut postings = MemPostings::default();
        let a = Labels::new([("__name__", "up"), ("job", "a")]).unwrap();
        let b = Labels::new([("__name__", "up"), ("job", "b")]).unwrap();
        postings.add(1, &a);
        postings.add(2, &b);
        assert_eq!(postings.label_names(), vec!["__name__", "job"]);
        assert_eq!(postings.label_values("job"), vec!["a", "b"]);
        assert_eq!(
            postings
                .postings("__name__", &["up"])
                .iter()
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(
            postings
                .postings("job", &["b", "c"])
                .iter()
                .collect::<Vec<_>>(),
            vec![2]
        );
        postings.remove(1, &a);
        assert_eq!(postings.label_values("job"), vec!["b"]);
        assert_eq!(
            postings
                .postings("__name__", &["up"])
                .iter()
                .collect::<Vec<_>>(),
            vec![2]
        );
        postings.remove(2, &b);
        assert!(postings.label_names().is_empty());
        assert_eq!(postings.len(), 0);
    }
}
