//! What the HA tracker stores in the KV store, and under which key.
//!
//! Norn's encoding (not Mimir's protobuf `ReplicaDesc`): one key per (tenant, cluster),
//! `<prefix><tenant>/<cluster>`, holding a JSON object
//! `{"replica": "...", "received_at_ms": 0, "elected_at_ms": 0, "elected_changes": 0}`.
//! Tenant IDs cannot contain `/`, so the first `/` after the prefix separates the tenant from
//! the cluster (which may contain `/`). Unknown JSON fields are ignored, so a later version can
//! add fields without breaking older distributors.

use norn_ring::kv::KvError;
use serde::{Deserialize, Serialize};

/// The elected replica of one HA cluster, as stored in the KV store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaDesc {
    /// The replica whose samples are accepted.
    pub replica: String,
    /// When a sample from the elected replica was last recorded in the KV store (Unix ms).
    pub received_at_ms: i64,
    /// When this replica was elected (Unix ms).
    pub elected_at_ms: i64,
    /// How many times the elected replica changed since the entry was created.
    pub elected_changes: u64,
}

impl ReplicaDesc {
    /// Encodes the descriptor as stored under `key`.
    pub fn encode(&self, key: &str) -> Result<Vec<u8>, KvError> {
        serde_json::to_vec(self).map_err(|error| KvError::Invalid {
            key: key.to_owned(),
            reason: error.to_string(),
        })
    }

    /// Decodes the value stored under `key`.
    pub fn decode(key: &str, bytes: &[u8]) -> Result<Self, KvError> {
        serde_json::from_slice(bytes).map_err(|error| KvError::Invalid {
            key: key.to_owned(),
            reason: format!("not an HA tracker replica descriptor: {error}"),
        })
    }

    /// Whether `self` is a later state of the entry than `older`: the same replica seen more
    /// recently, or a later election. Every write derives from the previous value, so this
    /// order is the KV store's write order; it keeps a stale notification from rolling the
    /// cache back (the rule Mimir uses to merge replica descriptors).
    pub(crate) fn supersedes(&self, older: &ReplicaDesc) -> bool {
        if self.replica == older.replica {
            self.received_at_ms > older.received_at_ms
        } else {
            (self.elected_at_ms, self.received_at_ms) > (older.elected_at_ms, older.received_at_ms)
        }
    }
}

/// Returns the key of a (tenant, cluster) entry.
pub(crate) fn replica_key(prefix: &str, tenant: &str, cluster: &str) -> String {
    format!("{prefix}{tenant}/{cluster}")
}

/// Splits a key into (tenant, cluster); `None` for keys outside the prefix or without a `/`.
pub(crate) fn parse_replica_key<'a>(prefix: &str, key: &'a str) -> Option<(&'a str, &'a str)> {
    let (tenant, cluster) = key.strip_prefix(prefix)?.split_once('/')?;
    (!tenant.is_empty()).then_some((tenant, cluster))
}
