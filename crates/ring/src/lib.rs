//! The hash ring (layer 3): instances with tokens and states, replication sets, zone awareness,
//! and the KV backends (in-memory for one process, a real membership/KV engine across nodes).
//!
//! - [`token`]: the ring token of a series (Mimir's FNV hash of tenant and labels).
//! - [`desc`]: the ring descriptor stored in the KV store (instances, states, tokens).
//! - [`ring`]: an immutable snapshot with replica placement and the quorum rules.
//! - [`lifecycler`]: registers this process's instance and heartbeats it.
//! - [`client`]: keeps the latest snapshot of a ring key current through a KV watch.
//! - [`status`]: the ring page (HTML and JSON) and its "forget" action.
//! - [`config`]: the `ingester.ring` and `distributor.ring` configuration blocks.
//! - [`kv`]: the KV contract and the in-memory store.

pub mod client;
pub mod config;
pub mod desc;
pub mod error;
pub mod kv;
pub mod lifecycler;
pub mod ring;
pub mod status;
pub mod token;

pub use client::RingClient;
pub use config::{
    DISTRIBUTOR_RING_KEY, DistributorRingConfig, INGESTER_RING_KEY, IngesterRingConfig,
    KvStoreConfig,
};
pub use desc::{InstanceDesc, InstanceState, RingDesc, now_ms};
pub use error::RingError;
pub use kv::{InMemoryKv, Kv, KvError};
pub use lifecycler::{Lifecycler, LifecyclerConfig};
pub use ring::{Operation, ReplicationSet, Ring, RingOptions};
pub use token::{token_for, token_for_tenant};
