//! The ring descriptor stored in the KV store: every instance with its state, zone and tokens.
//!
//! The model follows dskit's `ring.Desc`/`InstanceDesc` (`ring/model.go`): an instance has an
//! ID, an address, a zone, a state, sorted tokens, the time of its last heartbeat and of its
//! registration, and a read-only flag. Timestamps are unix **milliseconds** (dskit keeps
//! seconds).
//!
//! The bytes under the ring key are **Norn's own encoding** — JSON of [`RingDesc`] — not
//! dskit's protobuf, so a Norn ring cannot be shared with Mimir processes (nor is it meant to).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::RingError;
use crate::kv::KvError;

pub use norn_common::time::now_ms;

/// Where an instance is in its lifecycle (dskit's `InstanceState`, without `LEFT`, which only
/// gossip needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstanceState {
    /// Registered, not yet serving.
    Pending,
    /// Taking its tokens; not written to yet.
    Joining,
    /// Serving reads and writes.
    Active,
    /// Shutting down: still read from, no longer written to.
    Leaving,
}

impl InstanceState {
    /// Returns the state as the ring page and the JSON show it (`ACTIVE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "PENDING",
            InstanceState::Joining => "JOINING",
            InstanceState::Active => "ACTIVE",
            InstanceState::Leaving => "LEAVING",
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InstanceState {
    type Err = RingError;

    /// Parses `PENDING`, `JOINING`, `ACTIVE` or `LEAVING` (any case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_uppercase().as_str() {
            "PENDING" => Ok(InstanceState::Pending),
            "JOINING" => Ok(InstanceState::Joining),
            "ACTIVE" => Ok(InstanceState::Active),
            "LEAVING" => Ok(InstanceState::Leaving),
            _ => Err(RingError::InvalidDesc(format!(
                "unknown instance state {text:?} (expected PENDING, JOINING, ACTIVE or LEAVING)"
            ))),
        }
    }
}

/// One instance of the ring.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceDesc {
    /// The instance ID, unique in the ring (the key it is stored under).
    pub id: String,
    /// The address other components reach it at.
    pub addr: String,
    /// The availability zone; empty when zones are not used.
    #[serde(default)]
    pub zone: String,
    /// The lifecycle state.
    pub state: InstanceState,
    /// The tokens it owns, sorted ascending.
    #[serde(default)]
    pub tokens: Vec<u32>,
    /// The last heartbeat, unix milliseconds.
    #[serde(default)]
    pub heartbeat_ms: i64,
    /// When it first registered, unix milliseconds; 0 if unknown.
    #[serde(default)]
    pub registered_ms: i64,
    /// Read-only instances are queried but receive no writes (for scale-down).
    #[serde(default)]
    pub read_only: bool,
}

impl InstanceDesc {
    /// Returns true when the last heartbeat is at most `timeout` old at `now_ms`. A zero
    /// timeout disables the check, as Mimir's `heartbeat_timeout: 0` does.
    pub fn is_heartbeat_healthy(&self, timeout: Duration, now_ms: i64) -> bool {
        if timeout.is_zero() {
            return true;
        }
        let timeout_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        now_ms.saturating_sub(self.heartbeat_ms) <= timeout_ms
    }
}

/// The whole ring as stored under one KV key: instances by ID.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingDesc {
    /// Every registered instance, keyed by its ID.
    #[serde(default)]
    pub instances: BTreeMap<String, InstanceDesc>,
}

impl RingDesc {
    /// Returns an empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes the ring (Norn's JSON encoding; see the module docs).
    pub fn to_bytes(&self) -> Result<Vec<u8>, RingError> {
        serde_json::to_vec(self).map_err(|error| RingError::InvalidDesc(error.to_string()))
    }

    /// Decodes a ring written by [`RingDesc::to_bytes`]. Each instance's ID is set from its
    /// key and its tokens are sorted and deduplicated, as dskit normalises a descriptor on read.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RingError> {
        let mut desc: RingDesc = serde_json::from_slice(bytes)
            .map_err(|error| RingError::InvalidDesc(error.to_string()))?;
        for (id, instance) in &mut desc.instances {
            instance.id.clone_from(id);
            normalize_tokens(&mut instance.tokens);
        }
        Ok(desc)
    }

    /// Adds `instance`, replacing any instance with the same ID; its tokens are sorted.
    pub fn add_instance(&mut self, mut instance: InstanceDesc) {
        normalize_tokens(&mut instance.tokens);
        self.instances.insert(instance.id.clone(), instance);
    }

    /// Removes the instance `id` and returns it, if it was there.
    pub fn remove_instance(&mut self, id: &str) -> Option<InstanceDesc> {
        self.instances.remove(id)
    }

    /// Returns every token owned by any instance, sorted and deduplicated.
    pub fn tokens_taken(&self) -> Vec<u32> {
        let mut tokens: Vec<u32> = self
            .instances
            .values()
            .flat_map(|instance| instance.tokens.iter().copied())
            .collect();
        normalize_tokens(&mut tokens);
        tokens
    }

    /// Returns the tokens owned by instances other than `id`, sorted and deduplicated.
    pub fn tokens_taken_by_others(&self, id: &str) -> Vec<u32> {
        let mut tokens: Vec<u32> = self
            .instances
            .values()
            .filter(|instance| instance.id != id)
            .flat_map(|instance| instance.tokens.iter().copied())
            .collect();
        normalize_tokens(&mut tokens);
        tokens
    }
}

/// Decodes the value a compare-and-swap hands over: no value is an empty ring.
pub(crate) fn decode_kv_value(key: &str, value: Option<&[u8]>) -> Result<RingDesc, KvError> {
    match value {
        None => Ok(RingDesc::default()),
        Some(bytes) => RingDesc::from_bytes(bytes).map_err(|error| KvError::Invalid {
            key: key.to_owned(),
            reason: error.to_string(),
        }),
    }
}

/// Encodes `desc` as the value a compare-and-swap stores.
pub(crate) fn encode_kv_value(key: &str, desc: &RingDesc) -> Result<Option<Vec<u8>>, KvError> {
    desc.to_bytes().map(Some).map_err(|error| KvError::Invalid {
        key: key.to_owned(),
        reason: error.to_string(),
    })
}

fn normalize_tokens(tokens: &mut Vec<u32>) {
    tokens.sort_unstable();
    tokens.dedup();
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn instance(id: &str, zone: &str, tokens: &[u32]) -> InstanceDesc {
        InstanceDesc {
            id: id.into(),
            addr: format!("{id}:9095"),
            zone: zone.into(),
            state: InstanceState::Active,
            tokens: tokens.to_vec(),
            heartbeat_ms: 1_000_000,
            registered_ms: 1_000,
            read_only: false,
        }
    }

    #[test]
    fn state_serde_and_display_use_upper_case_names() {
        for (state, name) in [
            (InstanceState::Pending, "PENDING"),
            (InstanceState::Joining, "JOINING"),
            (InstanceState::Active, "ACTIVE"),
            (InstanceState::Leaving, "LEAVING"),
        ] {
            assert_eq!(state.to_string(), name);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{name}\"")
            );
            assert_eq!(name.parse::<InstanceState>().unwrap(), state);
            assert_eq!(name.to_lowercase().parse::<InstanceState>().unwrap(), state);
        }
        assert!("LEFT".parse::<InstanceState>().is_err());
    }

    #[test]
    fn add_remove_and_tokens_taken() {
        let mut desc = RingDesc::new();
        desc.add_instance(instance("b", "", &[30, 10, 20, 10]));
        desc.add_instance(instance("a", "", &[5, 25]));
        assert_eq!(
            desc.instances["b"].tokens,
            vec![10, 20, 30],
            "sorted, deduped"
        );
        assert_eq!(desc.tokens_taken(), vec![5, 10, 20, 25, 30]);
        assert_eq!(desc.tokens_taken_by_others("a"), vec![10, 20, 30]);
        assert_eq!(desc.remove_instance("a").unwrap().id, "a");
        assert!(desc.remove_instance("a").is_none());
        assert_eq!(desc.tokens_taken(), vec![10, 20, 30]);
    }

    #[test]
    fn decoding_sets_ids_from_keys_and_sorts_tokens() {
        let json = br#"{"instances":{"ing-1":{"id":"stale","addr":"a:1","state":"LEAVING","tokens":[9,3,3]}}}"#;
        let desc = RingDesc::from_bytes(json).unwrap();
        let instance = &desc.instances["ing-1"];
        assert_eq!(instance.id, "ing-1");
        assert_eq!(instance.tokens, vec![3, 9]);
        assert_eq!(instance.state, InstanceState::Leaving);
        assert_eq!(instance.zone, "");
        assert!(!instance.read_only);
        let error = RingDesc::from_bytes(b"not json").unwrap_err();
        assert!(matches!(error, RingError::InvalidDesc(_)), "{error}");
    }

    #[test]
    fn heartbeat_health_respects_timeout_and_zero_disables_it() {
        let mut desc = instance("a", "", &[1]);
        desc.heartbeat_ms = 10_000;
        let timeout = Duration::from_secs(60);
        assert!(desc.is_heartbeat_healthy(timeout, 10_000 + 60_000));
        assert!(!desc.is_heartbeat_healthy(timeout, 10_000 + 60_001));
        assert!(desc.is_heartbeat_healthy(Duration::ZERO, i64::MAX));
    }

    fn arb_state() -> impl Strategy<Value = InstanceState> {
        prop_oneof![
            Just(InstanceState::Pending),
            Just(InstanceState::Joining),
            Just(InstanceState::Active),
            Just(InstanceState::Leaving),
        ]
    }

    fn arb_instance() -> impl Strategy<Value = InstanceDesc> {
        (
            "[a-z0-9-]{1,12}",
            ".{0,20}",
            "[a-z]{0,3}",
            arb_state(),
            proptest::collection::btree_set(any::<u32>(), 0..20),
            any::<i64>(),
            any::<i64>(),
            any::<bool>(),
        )
            .prop_map(
                |(id, addr, zone, state, tokens, heartbeat_ms, registered_ms, read_only)| {
                    InstanceDesc {
                        id,
                        addr,
                        zone,
                        state,
                        tokens: tokens.into_iter().collect(),
                        heartbeat_ms,
                        registered_ms,
                        read_only,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn encoding_round_trips(instances in proptest::collection::vec(arb_instance(), 0..8)) {
            let mut desc = RingDesc::new();
            for instance in instances {
                desc.add_instance(instance);
            }
            let decoded = RingDesc::from_bytes(&desc.to_bytes().unwrap()).unwrap();
            prop_assert_eq!(decoded, desc);
        }

        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = RingDesc::from_bytes(&bytes);
        }
    }
}
