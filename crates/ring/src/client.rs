//! The ring client: the latest [`Ring`] snapshot of one ring key, kept current by a KV watch.
//!
//! Readers call [`RingClient::ring`] (an `Arc` clone under a read lock) and work on an
//! immutable snapshot; the watch task rebuilds the snapshot on every change of the key and
//! swaps it in. This is dskit's `Ring` service (`ring/ring.go` `loop`/`updateRingState`) split
//! into an immutable index and a small holder. Changes arriving in a burst (many heartbeats)
//! are coalesced: only the newest value is indexed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::desc::RingDesc;
use crate::error::RingError;
use crate::kv::{Kv, KvChange};
use crate::ring::{Ring, RingOptions};

/// How long the watch task waits before watching again after the KV refused or ended a watch.
const REWATCH_DELAY: Duration = Duration::from_secs(1);

/// Holds the latest snapshot of one ring; clones share it.
#[derive(Clone, Debug)]
pub struct RingClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    kv: Arc<dyn Kv>,
    ring_key: String,
    options: RingOptions,
    current: watch::Sender<Arc<Ring>>,
}

impl RingClient {
    /// Returns a client of the ring under `ring_key` (prefix included); its snapshot is empty
    /// until [`RingClient::start`] or the watch loads the ring.
    pub fn new(kv: Arc<dyn Kv>, ring_key: impl Into<String>, options: RingOptions) -> Self {
        let (current, _) = watch::channel(Arc::new(Ring::empty(options)));
        Self {
            inner: Arc::new(Inner {
                kv,
                ring_key: ring_key.into(),
                options,
                current,
            }),
        }
    }

    /// Returns the KV key of the ring.
    pub fn ring_key(&self) -> &str {
        &self.inner.ring_key
    }

    /// Returns the options snapshots are built with.
    pub fn options(&self) -> RingOptions {
        self.inner.options
    }

    /// Returns the KV store the ring lives in (for [`crate::status::forget`]).
    pub fn kv(&self) -> &Arc<dyn Kv> {
        &self.inner.kv
    }

    /// Loads the ring as it is now.
    pub async fn start(&self) -> Result<(), RingError> {
        let value = self.inner.kv.get(&self.inner.ring_key).await?;
        let desc = match value {
            Some(bytes) => RingDesc::from_bytes(&bytes)?,
            None => RingDesc::default(),
        };
        self.publish(desc);
        Ok(())
    }

    /// Spawns the task that follows the ring key until `stop` is cancelled, rebuilding the
    /// snapshot on every change. A watch the KV refuses or ends is re-established.
    pub fn spawn_watch(&self, stop: CancellationToken) -> JoinHandle<()> {
        let client = self.clone();
        tokio::spawn(async move { client.watch(stop).await })
    }

    /// Returns the latest snapshot.
    pub fn ring(&self) -> Arc<Ring> {
        Arc::clone(&self.inner.current.borrow())
    }

    /// Returns the descriptor of the latest snapshot.
    pub fn desc(&self) -> Arc<RingDesc> {
        Arc::clone(self.ring().desc())
    }

    /// Returns a receiver that sees every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Ring>> {
        self.inner.current.subscribe()
    }

    /// Waits until a snapshot satisfies `condition` and returns it (e.g. "this instance is
    /// ACTIVE in the ring"); wrap in a timeout to bound the wait.
    pub async fn wait_until(&self, mut condition: impl FnMut(&Ring) -> bool) -> Arc<Ring> {
        let mut receiver = self.subscribe();
        loop {
            let ring = Arc::clone(&receiver.borrow_and_update());
            if condition(&ring) {
                return ring;
            }
            // The sender lives as long as `self`, so this only fails if it is being dropped.
            if receiver.changed().await.is_err() {
                return self.ring();
            }
        }
    }

    /// Indexes `desc` and makes it the current snapshot.
    fn publish(&self, desc: RingDesc) {
        let ring = Ring::new(Arc::new(desc), self.inner.options);
        self.inner.current.send_replace(Arc::new(ring));
    }

    /// Applies a new value of the ring key; a value that does not decode is logged and skipped.
    fn apply(&self, value: Option<Bytes>) {
        match value {
            None => self.publish(RingDesc::default()),
            Some(bytes) => match RingDesc::from_bytes(&bytes) {
                Ok(desc) => self.publish(desc),
                Err(error) => tracing::warn!(
                    ring_key = %self.inner.ring_key,
                    %error,
                    "ignoring a ring update that does not decode"
                ),
            },
        }
    }

    async fn watch(&self, stop: CancellationToken) {
        let key = self.inner.ring_key.as_str();
        loop {
            let watched = tokio::select! {
                () = stop.cancelled() => return,
                watched = self.inner.kv.watch_prefix(key) => watched,
            };
            match watched {
                Ok(changes) => {
                    if self.follow(changes, &stop).await {
                        return;
                    }
                    tracing::warn!(ring_key = %key, "ring watch ended; watching again");
                }
                Err(error) => {
                    tracing::warn!(ring_key = %key, %error, "cannot watch the ring; retrying");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(REWATCH_DELAY) => {}
            }
        }
    }

    /// Applies changes until the watch ends (returns false) or `stop` is cancelled (true).
    async fn follow(
        &self,
        mut changes: mpsc::UnboundedReceiver<KvChange>,
        stop: &CancellationToken,
    ) -> bool {
        let key = self.inner.ring_key.as_str();
        loop {
            let change = tokio::select! {
                () = stop.cancelled() => return true,
                change = changes.recv() => change,
            };
            let Some(change) = change else {
                return false;
            };
            // The watch is by prefix: keep only this key, and only its newest queued value.
            let mut latest = (change.0 == key).then_some(change.1);
            while let Ok((changed_key, value)) = changes.try_recv() {
                if changed_key == key {
                    latest = Some(value);
                }
            }
            if let Some(value) = latest {
                self.apply(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desc::InstanceState;
    use crate::kv::InMemoryKv;
    use crate::lifecycler::{Lifecycler, LifecyclerConfig};
    use crate::ring::Operation;

    const KEY: &str = "collectors/ring";

    /// Fails the test instead of hanging it if the watch never delivers.
    async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(30), future)
            .await
            .expect("the ring client never saw the expected change")
    }

    fn lifecycler(kv: &InMemoryKv, id: &str) -> Lifecycler {
        Lifecycler::new(
            LifecyclerConfig {
                ring_key: KEY.into(),
                instance_id: id.into(),
                addr: format!("{id}:9095"),
                zone: String::new(),
                num_tokens: 8,
                heartbeat_period: Duration::from_secs(15),
                unregister_on_shutdown: true,
            },
            Arc::new(kv.clone()),
        )
    }

    #[tokio::test]
    async fn start_loads_and_the_watch_follows_joins_and_leaves() {
        let kv = InMemoryKv::new();
        let client = RingClient::new(Arc::new(kv.clone()), KEY, RingOptions::default());
        client.start().await.unwrap();
        assert!(client.ring().is_empty());

        let first = lifecycler(&kv, "ing-1");
        first.register(InstanceState::Active).await.unwrap();
        client.start().await.unwrap();
        assert_eq!(client.ring().instance_count(), 1);
        assert_eq!(client.desc().instances.len(), 1);

        let stop = CancellationToken::new();
        let task = client.spawn_watch(stop.clone());
        let second = lifecycler(&kv, "ing-2");
        second.register(InstanceState::Active).await.unwrap();
        let ring = within(client.wait_until(|ring| ring.instance_by_id("ing-2").is_some())).await;
        assert_eq!(ring.instance_count(), 2);
        assert_eq!(
            ring.healthy_instance_count(Operation::Write, crate::desc::now_ms()),
            2
        );
        assert!(client.ring().instance_by_id("ing-2").is_some());

        // Keys that merely share the prefix are ignored.
        kv.cas("collectors/ring-other", &mut |_| {
            Ok(Some(b"garbage".to_vec()))
        })
        .await
        .unwrap();
        second.stop().await.unwrap();
        let ring = within(client.wait_until(|ring| ring.instance_by_id("ing-2").is_none())).await;
        assert_eq!(ring.instance_count(), 1);

        // Deleting the key empties the ring.
        kv.delete(KEY).await.unwrap();
        within(client.wait_until(|ring| ring.instance_count() == 0)).await;

        stop.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn undecodable_values_keep_the_previous_snapshot() {
        let kv = InMemoryKv::new();
        lifecycler(&kv, "ing-1")
            .register(InstanceState::Active)
            .await
            .unwrap();
        let client = RingClient::new(Arc::new(kv.clone()), KEY, RingOptions::default());
        let stop = CancellationToken::new();
        let task = client.spawn_watch(stop.clone());
        within(client.wait_until(|ring| ring.instance_count() == 1)).await;
        let mut updates = client.subscribe();
        kv.cas(KEY, &mut |_| Ok(Some(b"not json".to_vec())))
            .await
            .unwrap();
        lifecycler(&kv, "ing-2")
            .register(InstanceState::Active)
            .await
            .unwrap_err();
        // The bad value never became a snapshot: the next one is the rewritten, valid ring.
        kv.cas(KEY, &mut |_| {
            let mut desc = RingDesc::new();
            desc.add_instance(crate::desc::tests::instance("ing-3", "", &[1]));
            Ok(Some(desc.to_bytes().unwrap()))
        })
        .await
        .unwrap();
        within(updates.changed()).await.unwrap();
        assert!(updates.borrow().instance_by_id("ing-3").is_some());
        assert!(client.start().await.is_ok());
        stop.cancel();
        task.await.unwrap();
    }
}
