//! The lifecycler: registers this process's instance in a ring and keeps its entry current.
//!
//! It follows dskit's `Lifecycler` (`ring/lifecycler.go`) without its state machine actor:
//! - [`Lifecycler::register`] adds the instance with `num_tokens` random tokens no other
//!   instance holds, or — after a restart — takes its existing entry over, keeping its tokens,
//!   registration time and read-only flag (dskit's `initRing`); a restarted instance whose
//!   token count changed gets topped up or trimmed;
//! - every write (heartbeat, state or read-only change) stamps the heartbeat; if the entry has
//!   vanished (forgotten, or the store lost it) it is re-added with this instance's tokens and
//!   a new registration time (dskit's `updateConsul`);
//! - [`Lifecycler::stop`] moves to `LEAVING`, then unregisters when configured to.
//!
//! All changes are compare-and-swaps on the ring key, so concurrent lifecyclers never lose
//! each other's entries.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rand::Rng;
use rand::seq::SliceRandom;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::desc::{
    InstanceDesc, InstanceState, RingDesc, decode_kv_value, encode_kv_value, now_ms,
};
use crate::error::RingError;
use crate::kv::Kv;

/// What the lifecycler registers and how often it heartbeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecyclerConfig {
    /// The KV key holding the ring (prefix included).
    pub ring_key: String,
    /// This instance's ID, unique in the ring.
    pub instance_id: String,
    /// The address other components reach this instance at.
    pub addr: String,
    /// This instance's availability zone; empty without zones.
    pub zone: String,
    /// How many tokens to own.
    pub num_tokens: usize,
    /// How often [`Lifecycler::run_heartbeats`] heartbeats; zero disables heartbeats.
    pub heartbeat_period: Duration,
    /// Whether [`Lifecycler::stop`] removes the instance from the ring.
    pub unregister_on_shutdown: bool,
}

/// What this process knows of its own entry, kept so the entry can be rebuilt if lost.
#[derive(Clone, Debug)]
struct LocalInstance {
    state: InstanceState,
    tokens: Vec<u32>,
    registered_ms: i64,
    read_only: bool,
}

/// Registers one instance in a ring and keeps its entry current.
#[derive(Debug)]
pub struct Lifecycler {
    config: LifecyclerConfig,
    kv: Arc<dyn Kv>,
    local: Mutex<LocalInstance>,
    unregister_on_shutdown: AtomicBool,
}

impl Lifecycler {
    /// Returns a lifecycler for `config` on `kv`; nothing is written until
    /// [`Lifecycler::register`].
    pub fn new(config: LifecyclerConfig, kv: Arc<dyn Kv>) -> Self {
        let unregister_on_shutdown = AtomicBool::new(config.unregister_on_shutdown);
        Self {
            config,
            kv,
            local: Mutex::new(LocalInstance {
                state: InstanceState::Pending,
                tokens: Vec::new(),
                registered_ms: 0,
                read_only: false,
            }),
            unregister_on_shutdown,
        }
    }

    /// Returns the configuration.
    pub fn config(&self) -> &LifecyclerConfig {
        &self.config
    }

    /// Returns this instance's ID.
    pub fn instance_id(&self) -> &str {
        &self.config.instance_id
    }

    /// Returns the KV key of the ring.
    pub fn ring_key(&self) -> &str {
        &self.config.ring_key
    }

    /// Returns this instance's state as last written.
    pub fn state(&self) -> InstanceState {
        self.lock_local().state
    }

    /// Returns this instance's tokens, sorted.
    pub fn tokens(&self) -> Vec<u32> {
        self.lock_local().tokens.clone()
    }

    /// Returns whether this instance is read-only.
    pub fn read_only(&self) -> bool {
        self.lock_local().read_only
    }

    /// Returns when this instance registered, unix milliseconds (0 before registering).
    pub fn registered_ms(&self) -> i64 {
        self.lock_local().registered_ms
    }

    /// Returns whether [`Lifecycler::stop`] will unregister the instance.
    pub fn unregister_on_shutdown(&self) -> bool {
        self.unregister_on_shutdown.load(Ordering::Relaxed)
    }

    /// Sets whether [`Lifecycler::stop`] will unregister the instance (Mimir's
    /// `/ingester/unregister-on-shutdown`).
    pub fn set_unregister_on_shutdown(&self, enabled: bool) {
        self.unregister_on_shutdown
            .store(enabled, Ordering::Relaxed);
    }

    /// Registers the instance in `state`: a new instance takes `num_tokens` free random
    /// tokens; an instance already in the ring (a restart) keeps its tokens, registration time
    /// and read-only flag.
    pub async fn register(&self, state: InstanceState) -> Result<(), RingError> {
        let key = self.config.ring_key.as_str();
        let now = now_ms();
        let mut written: Option<InstanceDesc> = None;
        self.kv
            .cas(key, &mut |current| {
                let mut desc = decode_kv_value(key, current)?;
                let instance = match desc.instances.get(&self.config.instance_id) {
                    Some(existing) => InstanceDesc {
                        tokens: self.fit_tokens(existing.tokens.clone(), &desc),
                        registered_ms: if existing.registered_ms > 0 {
                            existing.registered_ms
                        } else {
                            now
                        },
                        read_only: existing.read_only,
                        ..self.entry(state, Vec::new(), now, now, false)
                    },
                    None => {
                        let tokens = self.fit_tokens(Vec::new(), &desc);
                        self.entry(state, tokens, now, now, false)
                    }
                };
                desc.add_instance(instance.clone());
                written = Some(instance);
                encode_kv_value(key, &desc)
            })
            .await?;
        if let Some(instance) = written {
            let mut local = self.lock_local();
            local.state = instance.state;
            local.tokens = instance.tokens;
            local.registered_ms = instance.registered_ms;
            local.read_only = instance.read_only;
        }
        Ok(())
    }

    /// Changes the instance's state and writes it with a fresh heartbeat.
    pub async fn set_state(&self, state: InstanceState) -> Result<(), RingError> {
        self.lock_local().state = state;
        self.write_entry().await
    }

    /// Marks the instance read-only (no writes, still queried) or writable again.
    pub async fn set_read_only(&self, read_only: bool) -> Result<(), RingError> {
        self.lock_local().read_only = read_only;
        self.write_entry().await
    }

    /// Stamps the instance's heartbeat, re-adding the entry if it vanished.
    pub async fn heartbeat(&self) -> Result<(), RingError> {
        self.write_entry().await
    }

    /// Heartbeats every `heartbeat_period` until `stop` is cancelled; failures are logged and
    /// retried at the next period.
    pub async fn run_heartbeats(&self, stop: CancellationToken) {
        let period = self.config.heartbeat_period;
        if period.is_zero() {
            stop.cancelled().await;
            return;
        }
        let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticker.tick() => {
                    if let Err(error) = self.heartbeat().await {
                        tracing::warn!(
                            ring_key = %self.config.ring_key,
                            instance_id = %self.config.instance_id,
                            %error,
                            "ring heartbeat failed"
                        );
                    }
                }
            }
        }
    }

    /// Removes the instance from the ring; removing an absent instance is not an error.
    pub async fn unregister(&self) -> Result<(), RingError> {
        let key = self.config.ring_key.as_str();
        let id = self.config.instance_id.as_str();
        self.kv
            .cas(key, &mut |current| {
                let mut desc = decode_kv_value(key, current)?;
                if desc.remove_instance(id).is_none() {
                    return Ok(None);
                }
                encode_kv_value(key, &desc)
            })
            .await?;
        Ok(())
    }

    /// Shuts the instance down in the ring: `LEAVING`, then unregistered if configured.
    pub async fn stop(&self) -> Result<(), RingError> {
        self.set_state(InstanceState::Leaving).await?;
        if self.unregister_on_shutdown() {
            self.unregister().await?;
        }
        Ok(())
    }

    /// Writes the local view of the entry with a fresh heartbeat.
    async fn write_entry(&self) -> Result<(), RingError> {
        let key = self.config.ring_key.as_str();
        let now = now_ms();
        let mut written: Option<InstanceDesc> = None;
        self.kv
            .cas(key, &mut |current| {
                let mut desc = decode_kv_value(key, current)?;
                let local = self.lock_local().clone();
                let instance = match desc.instances.get(&self.config.instance_id) {
                    // The ring holds the truth about tokens and registration.
                    Some(existing) => InstanceDesc {
                        tokens: existing.tokens.clone(),
                        registered_ms: existing.registered_ms,
                        ..self.entry(local.state, Vec::new(), now, 0, local.read_only)
                    },
                    // Gone: come back with our tokens, registered anew (the instance was out of
                    // the ring for a while, so its history there restarts).
                    None => {
                        let tokens = self.fit_tokens(local.tokens, &desc);
                        self.entry(local.state, tokens, now, now, local.read_only)
                    }
                };
                desc.add_instance(instance.clone());
                written = Some(instance);
                encode_kv_value(key, &desc)
            })
            .await?;
        if let Some(instance) = written {
            let mut local = self.lock_local();
            local.tokens = instance.tokens;
            local.registered_ms = instance.registered_ms;
        }
        Ok(())
    }

    /// Returns this instance's entry with the given variable parts.
    fn entry(
        &self,
        state: InstanceState,
        tokens: Vec<u32>,
        heartbeat_ms: i64,
        registered_ms: i64,
        read_only: bool,
    ) -> InstanceDesc {
        InstanceDesc {
            id: self.config.instance_id.clone(),
            addr: self.config.addr.clone(),
            zone: self.config.zone.clone(),
            state,
            tokens,
            heartbeat_ms,
            registered_ms,
            read_only,
        }
    }

    /// Returns `tokens` without the ones other instances hold, topped up with free random
    /// tokens or trimmed (randomly, so the instance keeps a spread) to `num_tokens`, sorted.
    fn fit_tokens(&self, mut tokens: Vec<u32>, desc: &RingDesc) -> Vec<u32> {
        let taken = desc.tokens_taken_by_others(&self.config.instance_id);
        tokens.retain(|token| taken.binary_search(token).is_err());
        tokens.sort_unstable();
        tokens.dedup();
        let wanted = self.config.num_tokens;
        let mut rng = rand::rng();
        if tokens.len() > wanted {
            tokens.shuffle(&mut rng);
            tokens.truncate(wanted);
        } else if tokens.len() < wanted {
            let mut chosen: BTreeSet<u32> = tokens.iter().copied().collect();
            while chosen.len() < wanted {
                let candidate: u32 = rng.random();
                if taken.binary_search(&candidate).is_err() {
                    chosen.insert(candidate);
                }
            }
            tokens = chosen.into_iter().collect();
        }
        tokens.sort_unstable();
        tokens
    }

    fn lock_local(&self) -> MutexGuard<'_, LocalInstance> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::InMemoryKv;

    fn config(id: &str) -> LifecyclerConfig {
        LifecyclerConfig {
            ring_key: "collectors/ring".into(),
            instance_id: id.into(),
            addr: format!("{id}:9095"),
            zone: "zone-a".into(),
            num_tokens: 16,
            heartbeat_period: Duration::from_secs(15),
            unregister_on_shutdown: true,
        }
    }

    async fn read_desc(kv: &InMemoryKv) -> RingDesc {
        match kv.get("collectors/ring").await.unwrap() {
            Some(bytes) => RingDesc::from_bytes(&bytes).unwrap(),
            None => RingDesc::default(),
        }
    }

    async fn set_heartbeat(kv: &InMemoryKv, id: &str, heartbeat_ms: i64) {
        let id = id.to_owned();
        kv.cas("collectors/ring", &mut |current| {
            let mut desc = decode_kv_value("collectors/ring", current)?;
            desc.instances.get_mut(&id).unwrap().heartbeat_ms = heartbeat_ms;
            encode_kv_value("collectors/ring", &desc)
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn register_takes_free_tokens_and_describes_the_instance() {
        let kv = InMemoryKv::new();
        let first = Lifecycler::new(config("ing-1"), Arc::new(kv.clone()));
        let second = Lifecycler::new(config("ing-2"), Arc::new(kv.clone()));
        first.register(InstanceState::Active).await.unwrap();
        second.register(InstanceState::Joining).await.unwrap();

        let desc = read_desc(&kv).await;
        let one = &desc.instances["ing-1"];
        let two = &desc.instances["ing-2"];
        assert_eq!(one.tokens.len(), 16);
        assert!(
            one.tokens.windows(2).all(|pair| pair[0] < pair[1]),
            "sorted"
        );
        assert_eq!(one.tokens, first.tokens());
        assert!(one.tokens.iter().all(|token| !two.tokens.contains(token)));
        assert_eq!(one.state, InstanceState::Active);
        assert_eq!(two.state, InstanceState::Joining);
        assert_eq!(one.addr, "ing-1:9095");
        assert_eq!(one.zone, "zone-a");
        assert!(one.heartbeat_ms > 0 && one.registered_ms > 0);
        assert_eq!(first.state(), InstanceState::Active);
        assert_eq!(first.registered_ms(), one.registered_ms);
    }

    #[tokio::test]
    async fn restart_keeps_tokens_registration_and_read_only() {
        let kv = InMemoryKv::new();
        let before = Lifecycler::new(config("ing-1"), Arc::new(kv.clone()));
        before.register(InstanceState::Active).await.unwrap();
        before.set_read_only(true).await.unwrap();
        let registered = read_desc(&kv).await.instances["ing-1"].registered_ms;

        let after = Lifecycler::new(config("ing-1"), Arc::new(kv.clone()));
        after.register(InstanceState::Active).await.unwrap();
        let entry = read_desc(&kv).await.instances["ing-1"].clone();
        assert_eq!(entry.tokens, before.tokens());
        assert_eq!(after.tokens(), before.tokens());
        assert_eq!(entry.registered_ms, registered);
        assert!(entry.read_only && after.read_only());

        // A restart with more tokens configured keeps the old ones and adds the difference.
        let mut bigger = config("ing-1");
        bigger.num_tokens = 20;
        let grown = Lifecycler::new(bigger, Arc::new(kv.clone()));
        grown.register(InstanceState::Active).await.unwrap();
        let tokens = read_desc(&kv).await.instances["ing-1"].tokens.clone();
        assert_eq!(tokens.len(), 20);
        assert!(before.tokens().iter().all(|token| tokens.contains(token)));
    }

    #[tokio::test]
    async fn heartbeat_and_state_changes_are_written() {
        let kv = InMemoryKv::new();
        let lifecycler = Lifecycler::new(config("ing-1"), Arc::new(kv.clone()));
        lifecycler.register(InstanceState::Joining).await.unwrap();
        set_heartbeat(&kv, "ing-1", 1).await;
        lifecycler.heartbeat().await.unwrap();
        let entry = read_desc(&kv).await.instances["ing-1"].clone();
        assert!(entry.heartbeat_ms > 1, "heartbeat stamped");
        assert_eq!(entry.tokens, lifecycler.tokens());

        lifecycler.set_state(InstanceState::Active).await.unwrap();
        assert_eq!(
            read_desc(&kv).await.instances["ing-1"].state,
            InstanceState::Active
        );
        assert_eq!(lifecycler.state(), InstanceState::Active);
        lifecycler.set_read_only(true).await.unwrap();
        assert!(read_desc(&kv).await.instances["ing-1"].read_only);
        lifecycler.set_read_only(false).await.unwrap();
        assert!(!read_desc(&kv).await.instances["ing-1"].read_only);
    }

    #[tokio::test]
    async fn a_forgotten_instance_comes_back_with_its_tokens_on_heartbeat() {
        let kv = InMemoryKv::new();
        let lifecycler = Lifecycler::new(config("ing-1"), Arc::new(kv.clone()));
        lifecycler.register(InstanceState::Active).await.unwrap();
        let tokens = lifecycler.tokens();
        crate::status::forget(&kv, "collectors/ring", "ing-1")
            .await
            .unwrap();
        assert!(read_desc(&kv).await.instances.is_empty());
        lifecycler.heartbeat().await.unwrap();
        let entry = read_desc(&kv).await.instances["ing-1"].clone();
        assert_eq!(entry.tokens, tokens);
        assert_eq!(entry.state, InstanceState::Active);
    }

    #[tokio::test]
    async fn stop_leaves_then_unregisters_when_configured() {
        let kv = InMemoryKv::new();
        let kept = Lifecycler::new(config("ing-1"), Arc::new(kv.clone()));
        let removed = Lifecycler::new(config("ing-2"), Arc::new(kv.clone()));
        kept.register(InstanceState::Active).await.unwrap();
        removed.register(InstanceState::Active).await.unwrap();
        assert!(kept.unregister_on_shutdown());
        kept.set_unregister_on_shutdown(false);
        assert!(!kept.unregister_on_shutdown());

        kept.stop().await.unwrap();
        removed.stop().await.unwrap();
        let desc = read_desc(&kv).await;
        assert_eq!(desc.instances["ing-1"].state, InstanceState::Leaving);
        assert!(!desc.instances.contains_key("ing-2"));

        kept.unregister().await.unwrap();
        kept.unregister().await.unwrap();
        assert!(read_desc(&kv).await.instances.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn run_heartbeats_stamps_until_stopped() {
        let kv = InMemoryKv::new();
        let mut fast = config("ing-1");
        fast.heartbeat_period = Duration::from_secs(1);
        let lifecycler = Arc::new(Lifecycler::new(fast, Arc::new(kv.clone())));
        lifecycler.register(InstanceState::Active).await.unwrap();
        set_heartbeat(&kv, "ing-1", 1).await;
        let mut changes = kv.watch_prefix("collectors/ring").await.unwrap();

        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let lifecycler = Arc::clone(&lifecycler);
            let stop = stop.clone();
            async move { lifecycler.run_heartbeats(stop).await }
        });
        loop {
            let (_, value) = changes.recv().await.unwrap();
            let desc = RingDesc::from_bytes(&value.unwrap()).unwrap();
            if desc.instances["ing-1"].heartbeat_ms > 1 {
                break;
            }
        }
        stop.cancel();
        task.await.unwrap();
    }
}
