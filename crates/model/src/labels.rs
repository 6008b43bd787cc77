//! Label sets: the identity of a series.
//!
//! A [`Labels`] is sorted by name, has unique names and never stores an empty value (Prometheus
//! treats an empty value as "label absent"). It is immutable and compact: all names and values
//! live in one string with one offset table, two allocations per series whatever its label
//! count. [`Labels::hash`] is Prometheus's `labels.Hash()` (xxHash64 of
//! `name 0xff value 0xff …`), so anything keyed by it (query sharding, series references in
//! remote read) agrees with Prometheus and Mimir. Ordering is Prometheus's `labels.Compare`.

use std::cmp::Ordering;
use std::fmt;

/// The label holding a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// Separator byte Prometheus puts after each name and value when hashing.
const HASH_SEPARATOR: u8 = 0xff;

/// One label of a set, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label<'a> {
    /// The label name.
    pub name: &'a str,
    /// The label value (never empty inside a [`Labels`]).
    pub value: &'a str,
}

/// An immutable, sorted set of labels.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels {
    /// Every name and value concatenated, in order.
    text: Box<str>,
    /// End offsets into `text`: `ends[2i]` ends name i, `ends[2i+1]` ends value i.
    ends: Box<[u32]>,
}

/// Why a label set could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelsError {
    /// Two labels share a name.
    #[error("duplicate label name {0:?}")]
    DuplicateName(String),
    /// A label name is empty.
    #[error("empty label name")]
    EmptyName,
    /// The label set is larger than 4 GiB.
    #[error("label set too large")]
    TooLarge,
}

impl Labels {
    /// Builds a label set from pairs in any order. Empty values are dropped; an empty or
    /// repeated name is an error.
    pub fn new<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, LabelsError> {
        let mut pairs: Vec<(&str, &str)> = pairs
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .collect();
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for window in pairs.windows(2) {
            if window[0].0 == window[1].0 {
                return Err(LabelsError::DuplicateName(window[0].0.to_owned()));
            }
        }
        if pairs.iter().any(|(name, _)| name.is_empty()) {
            return Err(LabelsError::EmptyName);
        }
        let size: usize = pairs
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum();
        if u32::try_from(size).is_err() {
            return Err(LabelsError::TooLarge);
        }
        let mut text = String::with_capacity(size);
        let mut ends = Vec::with_capacity(pairs.len() * 2);
        for (name, value) in pairs {
            text.push_str(name);
            ends.push(text.len() as u32);
            text.push_str(value);
            ends.push(text.len() as u32);
        }
        Ok(Self {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        })
    }

    /// Returns the number of labels.
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// Returns true for the empty label set.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Returns the labels in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Label<'_>> + '_ {
        (0..self.len()).map(move |index| self.label_at(index))
    }

    fn label_at(&self, index: usize) -> Label<'_> {
        let start = if index == 0 {
            0
        } else {
            self.ends[2 * index - 1] as usize
        };
        let name_end = self.ends[2 * index] as usize;
        let value_end = self.ends[2 * index + 1] as usize;
        Label {
            name: &self.text[start..name_end],
            value: &self.text[name_end..value_end],
        }
    }

    /// Returns the value of `name`, or `""` when the label is absent (Prometheus's rule).
    pub fn get(&self, name: &str) -> &str {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = (low + high) / 2;
            let label = self.label_at(middle);
            match label.name.cmp(name) {
                Ordering::Less => low = middle + 1,
                Ordering::Greater => high = middle,
                Ordering::Equal => return label.value,
            }
        }
        ""
    }

    /// Returns the metric name (`__name__`), or `""`.
    pub fn metric_name(&self) -> &str {
        self.get(METRIC_NAME)
    }

    /// Returns Prometheus's hash of the set: xxHash64 of every name and value, each followed
    /// by the byte 0xff.
    pub fn hash(&self) -> u64 {
        let mut hasher = xxhash_rust::xxh64::Xxh64::new(0);
        for label in self.iter() {
            hasher.update(label.name.as_bytes());
            hasher.update(&[HASH_SEPARATOR]);
            hasher.update(label.value.as_bytes());
            hasher.update(&[HASH_SEPARATOR]);
        }
        hasher.digest()
    }

    /// Returns the heap bytes this set holds (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.text.len() + self.ends.len() * std::mem::size_of::<u32>()
    }
}

impl Ord for Labels {
    /// Compares as Prometheus's `labels.Compare`: label by label, name then value; a set that
    /// is a prefix of the other sorts first.
    fn cmp(&self, other: &Self) -> Ordering {
        for (left, right) in self.iter().zip(other.iter()) {
            let order = left
                .name
                .cmp(right.name)
                .then_with(|| left.value.cmp(right.value));
            if order != Ordering::Equal {
                return order;
            }
        }
        self.len().cmp(&other.len())
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Labels {
    /// Formats as Prometheus does: `{__name__="up", job="a"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (index, label) in self.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", label.name, label.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn sorts_drops_empty_values_and_rejects_duplicates() {
        let set = labels(&[
            ("job", "a"),
            ("__name__", "up"),
            ("empty", ""),
            ("instance", "h:1"),
        ]);
        let names: Vec<&str> = set.iter().map(|label| label.name).collect();
        assert_eq!(names, ["__name__", "instance", "job"]);
        assert_eq!(set.get("job"), "a");
        assert_eq!(set.get("empty"), "");
        assert_eq!(set.get("zzz"), "");
        assert_eq!(set.metric_name(), "up");
        assert_eq!(
            set.to_string(),
            r#"{__name__="up", instance="h:1", job="a"}"#
        );
        assert_eq!(
            Labels::new([("a", "1"), ("a", "2")]),
            Err(LabelsError::DuplicateName("a".into()))
        );
        assert_eq!(Labels::new([("", "1")]), Err(LabelsError::EmptyName));
    }

    #[test]
    fn hash_is_xxhash64_of_prometheus_layout() {
        // xxHash64 of zero bytes with seed 0, the published reference value.
        assert_eq!(Labels::default().hash(), 0xef46_db37_51d8_e999);
        let set = labels(&[("a", "1"), ("b", "2")]);
        let expected = xxhash_rust::xxh64::xxh64(b"a\xff1\xffb\xff2\xff", 0);
        assert_eq!(set.hash(), expected);
        assert_ne!(set.hash(), labels(&[("a", "1b"), ("", "")]).hash());
    }

    #[test]
    fn ordering_follows_prometheus_compare() {
        let a = labels(&[("a", "1")]);
        let a_b = labels(&[("a", "1"), ("b", "1")]);
        let a2 = labels(&[("a", "2")]);
        let b = labels(&[("b", "0")]);
        let mut sets = vec![b.clone(), a2.clone(), a_b.clone(), a.clone()];
        sets.sort();
        assert_eq!(sets, [a, a_b, a2, b]);
    }

    proptest! {
        #[test]
        fn any_pairs_round_trip(pairs in prop::collection::btree_map("[a-z_]{1,8}", "[ -~]{0,12}", 0..12)) {
            let set = Labels::new(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
            let expected: Vec<(&str, &str)> =
                pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let actual: Vec<(&str, &str)> = set.iter().map(|label| (label.name, label.value)).collect();
            prop_assert_eq!(actual, expected);
            for (name, value) in &pairs {
                prop_assert_eq!(set.get(name), value.as_str());
            }
        }
    }
}
