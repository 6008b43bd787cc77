//! The head's string table: every label name and value is stored once and series hold 32-bit
//! symbol IDs, two per label.
//!
//! Interning saves most of a series' label memory (a node_exporter series carries ~130 bytes
//! of label text, almost all of it shared with thousands of other series). Symbols are
//! reference-counted by the series using them and freed when the last such series is garbage
//! collected, so churn (pods, containers) does not grow the table forever; freed IDs are
//! reused. Label sets are materialised as [`Labels`] only where they leave the head (query
//! results, WAL records, blocks).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use norn_model::labels::Labels;

#[derive(Debug, Default)]
struct Inner {
    ids: HashMap<Arc<str>, u32>,
    /// String and reference count per ID; `None` for free IDs.
    entries: Vec<Option<(Arc<str>, u32)>>,
    free: Vec<u32>,
}

/// Interned label strings.
#[derive(Debug, Default)]
pub(crate) struct SymbolTable {
    inner: RwLock<Inner>,
}

impl SymbolTable {
    /// Interns every name and value of `labels` (one reference each) and returns the IDs.
    pub(crate) fn intern(&self, labels: &Labels) -> Box<[u32]> {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let mut ids = Vec::with_capacity(labels.len() * 2);
        for label in labels.iter() {
            for text in [label.name, label.value] {
                ids.push(inner.acquire(text));
            }
        }
        ids.into_boxed_slice()
    }

    /// Drops one reference to each ID, freeing symbols no series uses any more.
    pub(crate) fn release(&self, ids: &[u32]) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        for &id in ids {
            inner.release(id);
        }
    }

    /// Builds the label set of `ids`.
    pub(crate) fn labels(&self, ids: &[u32]) -> Labels {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let text = |id: u32| -> &str {
            inner
                .entries
                .get(id as usize)
                .and_then(Option::as_ref)
                .map_or("", |(text, _)| text)
        };
        let pairs = ids
            .chunks_exact(2)
            .map(|pair| (text(pair[0]), text(pair[1])));
        // The IDs came from a valid label set, so this cannot fail; an empty set is the
        // harmless answer if it somehow did.
        Labels::new(pairs).unwrap_or_default()
    }

    /// Returns true if `ids` spell exactly `labels`.
    pub(crate) fn equals(&self, ids: &[u32], labels: &Labels) -> bool {
        if ids.len() != labels.len() * 2 {
            return false;
        }
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let text = |id: u32| {
            inner
                .entries
                .get(id as usize)
                .and_then(Option::as_ref)
                .map(|(text, _)| &**text)
        };
        ids.chunks_exact(2).zip(labels.iter()).all(|(pair, label)| {
            text(pair[0]) == Some(label.name) && text(pair[1]) == Some(label.value)
        })
    }

    /// Returns the ID of `text`, if any series uses it.
    pub(crate) fn id_of(&self, text: &str) -> Option<u32> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.ids.get(text).copied()
    }

    /// Returns the strings of `ids`, sorted and distinct.
    pub(crate) fn strings_sorted(&self, ids: impl IntoIterator<Item = u32>) -> Vec<String> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut strings: Vec<String> = ids
            .into_iter()
            .filter_map(|id| inner.entries.get(id as usize).and_then(Option::as_ref))
            .map(|(text, _)| text.to_string())
            .collect();
        strings.sort_unstable();
        strings.dedup();
        strings
    }

    /// Returns the number of live symbols.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .ids
            .len()
    }
}

impl Inner {
    fn acquire(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            if let Some(Some((_, count))) = self.entries.get_mut(id as usize) {
                *count += 1;
            }
            return id;
        }
        let shared: Arc<str> = Arc::from(text);
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = Some((Arc::clone(&shared), 1));
                id
            }
            None => {
                self.entries.push(Some((Arc::clone(&shared), 1)));
                (self.entries.len() - 1) as u32
            }
        };
        self.ids.insert(shared, id);
        id
    }

    fn release(&mut self, id: u32) {
        let Some(slot) = self.entries.get_mut(id as usize) else {
            return;
        };
        let Some((text, count)) = slot.as_mut() else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            self.ids.remove(&**text);
            *slot = None;
            self.free.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_sets_round_trip_and_free_their_symbols() {
        let table = SymbolTable::default();
        let a = Labels::new([("__name__", "up"), ("job", "a")]).unwrap();
        let b = Labels::new([("__name__", "up"), ("job", "b")]).unwrap();
        let ids_a = table.intern(&a);
        let ids_b = table.intern(&b);
        assert_eq!(table.len(), 5, "__name__, up, job, a, b");
        assert_eq!(ids_a[..3], ids_b[..3]);
        assert_eq!(table.labels(&ids_a), a);
        assert!(table.equals(&ids_b, &b));
        assert!(!table.equals(&ids_a, &b));
        table.release(&ids_a);
        assert_eq!(table.len(), 4, "only `a` was unused");
        assert_eq!(table.labels(&ids_b), b);
        let c = Labels::new([("__name__", "up"), ("job", "c")]).unwrap();
        let ids_c = table.intern(&c);
        assert_eq!(ids_c[3], ids_a[3], "freed IDs are reused");
        table.release(&ids_b);
        table.release(&ids_c);
        assert_eq!(table.len(), 0);
    }
}
