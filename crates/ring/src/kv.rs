//! The key-value store the ring and the HA tracker keep shared state in.
//!
//! [`Kv`] is the one contract every backend implements: read, compare-and-swap, delete, list
//! and watch by prefix. Values are opaque bytes; the ring and the HA tracker encode their own
//! descriptors. [`InMemoryKv`] serves a single process (the default); cluster backends (etcd,
//! gossip) implement the same trait, so nothing above this module changes with the backend.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

/// Why a KV operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The backend could not be reached or refused the operation; retrying may help.
    #[error("kv store unavailable: {0}")]
    Unavailable(String),
    /// A compare-and-swap kept losing to concurrent writers.
    #[error("kv compare-and-swap on {key:?} gave up after {attempts} attempts")]
    CasRetriesExhausted {
        /// The contended key.
        key: String,
        /// How many times the update was tried.
        attempts: u32,
    },
    /// The stored value could not be decoded.
    #[error("kv value under {key:?} is invalid: {reason}")]
    Invalid {
        /// The key holding the value.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The update function refused to write; carries its reason.
    #[error("{0}")]
    Aborted(String),
}

/// The update a compare-and-swap applies: it gets the current value (or `None`) and returns
/// the value to store, `None` to leave the key as it is, or an error that aborts the swap.
pub type CasUpdate<'a> = dyn FnMut(Option<&[u8]>) -> Result<Option<Vec<u8>>, KvError> + Send + 'a;

/// A change seen by a watcher: the key and its new value, `None` once deleted.
pub type KvChange = (String, Option<Bytes>);

/// A key-value store with compare-and-swap and prefix watches.
#[async_trait]
pub trait Kv: Send + Sync + std::fmt::Debug + 'static {
    /// Returns the value under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, KvError>;

    /// Reads `key`, calls `update` with its value and stores what `update` returns. If another
    /// writer changed the key in between, `update` runs again on the newer value.
    async fn cas(&self, key: &str, update: &mut CasUpdate<'_>) -> Result<(), KvError>;

    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), KvError>;

    /// Returns the keys starting with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, KvError>;

    /// Watches every key starting with `prefix`. The receiver first gets the current value of
    /// each such key, then every later change, in order. Dropping the receiver ends the watch.
    async fn watch_prefix(
        &self,
        prefix: &str,
    ) -> Result<mpsc::UnboundedReceiver<KvChange>, KvError>;
}

/// A [`Kv`] held in the process's memory; clones share the same store.
#[derive(Clone, Debug, Default)]
pub struct InMemoryKv {
    inner: Arc<Mutex<Store>>,
}

#[derive(Debug, Default)]
struct Store {
    values: BTreeMap<String, Bytes>,
    watchers: Vec<(String, mpsc::UnboundedSender<KvChange>)>,
}

impl Store {
    fn notify(&mut self, key: &str, value: Option<Bytes>) {
        self.watchers.retain(|(prefix, sender)| {
            if !key.starts_with(prefix.as_str()) {
                return !sender.is_closed();
            }
            sender.send((key.to_owned(), value.clone())).is_ok()
        });
    }
}

impl InMemoryKv {
    /// Returns an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Kv for InMemoryKv {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, KvError> {
        Ok(self.lock().values.get(key).cloned())
    }

    async fn cas(&self, key: &str, update: &mut CasUpdate<'_>) -> Result<(), KvError> {
        // The store's lock is held across the update, so no writer can interleave and the
        // update runs exactly once.
        let mut store = self.lock();
        let current = store.values.get(key).cloned();
        if let Some(new_value) = update(current.as_deref())? {
            let new_value = Bytes::from(new_value);
            store.values.insert(key.to_owned(), new_value.clone());
            store.notify(key, Some(new_value));
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        let mut store = self.lock();
        if store.values.remove(key).is_some() {
            store.notify(key, None);
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        Ok(self
            .lock()
            .values
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, _)| key.clone())
            .collect())
    }

    async fn watch_prefix(
        &self,
        prefix: &str,
    ) -> Result<mpsc::UnboundedReceiver<KvChange>, KvError> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut store = self.lock();
        for (key, value) in store
            .values
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
        {
            // The receiver is alive: it is returned below.
            let _ = sender.send((key.clone(), Some(value.clone())));
        }
        store.watchers.push((prefix.to_owned(), sender));
        Ok(receiver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cas_get_list_delete_and_watch() {
        let kv = InMemoryKv::new();
        kv.cas("ring/a", &mut |current| {
            assert!(current.is_none());
            Ok(Some(b"1".to_vec()))
        })
        .await
        .unwrap();
        let mut watch = kv.watch_prefix("ring/").await.unwrap();
        assert_eq!(
            watch.recv().await.unwrap(),
            ("ring/a".to_owned(), Some(Bytes::from_static(b"1")))
        );
        kv.cas("ring/b", &mut |_| Ok(Some(b"2".to_vec())))
            .await
            .unwrap();
        kv.cas("other", &mut |_| Ok(Some(b"x".to_vec())))
            .await
            .unwrap();
        // An update returning None writes nothing and notifies nobody.
        kv.cas("ring/a", &mut |current| {
            assert_eq!(current, Some(&b"1"[..]));
            Ok(None)
        })
        .await
        .unwrap();
        kv.delete("ring/a").await.unwrap();
        assert_eq!(
            watch.recv().await.unwrap(),
            ("ring/b".to_owned(), Some(Bytes::from_static(b"2")))
        );
        assert_eq!(watch.recv().await.unwrap(), ("ring/a".to_owned(), None));
        assert_eq!(kv.list("ring/").await.unwrap(), ["ring/b"]);
        assert_eq!(kv.get("ring/a").await.unwrap(), None);
        let refused = kv
            .cas("ring/b", &mut |_| Err(KvError::Aborted("no".into())))
            .await;
        assert!(matches!(refused, Err(KvError::Aborted(_))));
    }
}
