//! An immutable snapshot of the ring and the replica placement on it.
//!
//! [`Ring`] is built once per ring change (the [`crate::client::RingClient`] rebuilds it on
//! every KV update) and then only read: the write path calls [`Ring::get_into`] once per
//! series, so lookups binary-search a precomputed sorted `(token, instance)` array and
//! allocate nothing beyond the caller's reusable buffer.
//!
//! The placement mirrors dskit (`ring/ring.go` `findInstancesForKey`, and
//! `ring/replication_strategy.go` `defaultReplicationStrategy.Filter`):
//! - a key is owned by the first token strictly **greater** than the key (dskit's
//!   `searchToken`), wrapping around; replicas are the owners of the following tokens;
//! - the walk collects `replication_factor` distinct instances, or all of them when the ring
//!   has fewer; with zone awareness at most one instance per zone is taken;
//! - an instance whose state the operation does not want (e.g. a `LEAVING` one for a write)
//!   is taken but *extends* the set by one, so the key still reaches RF wanted replicas;
//! - the set is then filtered to healthy instances; the quorum is `max(RF, set size) / 2 + 1`
//!   and `max_errors = healthy - quorum`. Fewer healthy instances than the quorum is an error.
//!   Note that, as in dskit, a ring with fewer instances than RF still needs a quorum of RF:
//!   RF 3 with a single instance fails (hence Norn's default RF of 1).
//!
//! Read-only instances (dskit only honours them through shuffle sharding) are skipped
//! entirely by writes, so their keys move to the next instance, and are read normally.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::desc::{InstanceDesc, InstanceState, RingDesc};
use crate::error::RingError;

/// How many zones the placement tracks on the stack before it allocates counters.
const ZONES_ON_STACK: usize = 8;

/// The size of the token space: a token owns the distance from the previous token.
const TOKEN_SPACE: f64 = 4_294_967_296.0;

/// How the ring is read: replication factor, health timeout and zone awareness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingOptions {
    /// How many instances each key is replicated to (values below 1 are read as 1).
    pub replication_factor: usize,
    /// An instance whose last heartbeat is older than this is unhealthy; zero disables it.
    pub heartbeat_timeout: Duration,
    /// Place the replicas of a key in distinct availability zones.
    pub zone_awareness_enabled: bool,
}

impl Default for RingOptions {
    fn default() -> Self {
        Self {
            replication_factor: 1,
            heartbeat_timeout: Duration::from_secs(60),
            zone_awareness_enabled: false,
        }
    }
}

/// What a replication set is for, which decides which instances are healthy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Writing: only `ACTIVE`, non-read-only instances with a fresh heartbeat take writes.
    Write,
    /// Reading: `ACTIVE` and `LEAVING` instances (read-only ones too) with a fresh heartbeat.
    Read,
}

impl Operation {
    /// Returns true when an instance in `state` can serve this operation.
    pub fn is_state_healthy(self, state: InstanceState) -> bool {
        match self {
            Operation::Write => state == InstanceState::Active,
            Operation::Read => matches!(state, InstanceState::Active | InstanceState::Leaving),
        }
    }

    /// Returns true when picking an instance in `state` should not count towards the
    /// replication factor, so the walk picks one more instance (dskit's
    /// `ShouldExtendReplicaSetOnState`): writes extend past anything not `ACTIVE`, reads past
    /// anything neither `ACTIVE` nor `LEAVING`.
    pub fn extends_replica_set(self, state: InstanceState) -> bool {
        !self.is_state_healthy(state)
    }

    /// Returns true when the operation can use `instance` at `now_ms`.
    pub fn is_healthy(
        self,
        instance: &InstanceDesc,
        heartbeat_timeout: Duration,
        now_ms: i64,
    ) -> bool {
        self.is_state_healthy(instance.state)
            && !(self == Operation::Write && instance.read_only)
            && instance.is_heartbeat_healthy(heartbeat_timeout, now_ms)
    }

    /// Returns true when the placement walk skips `instance` altogether for this operation.
    fn skips(self, instance: &InstanceDesc) -> bool {
        self == Operation::Write && instance.read_only
    }
}

/// The instances an operation on one key (or on the whole ring) goes to, and how many of them
/// may fail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationSet {
    /// The healthy instances to contact.
    pub instances: Vec<InstanceDesc>,
    /// How many of them may fail while the operation still succeeds.
    pub max_errors: usize,
    /// How many zones may fail entirely (zone-aware whole-ring sets only; else 0).
    pub max_unavailable_zones: usize,
}

impl ReplicationSet {
    /// Returns how many instances must succeed (`instances - max_errors`).
    pub fn quorum(&self) -> usize {
        self.instances.len().saturating_sub(self.max_errors)
    }

    /// Returns true when an instance of the set has address `addr`.
    pub fn includes(&self, addr: &str) -> bool {
        self.instances.iter().any(|instance| instance.addr == addr)
    }

    /// Returns the IDs of the instances, in set order.
    pub fn ids(&self) -> Vec<&str> {
        self.instances
            .iter()
            .map(|instance| instance.id.as_str())
            .collect()
    }

    /// Returns the addresses of the instances, in set order.
    pub fn addresses(&self) -> Vec<&str> {
        self.instances
            .iter()
            .map(|instance| instance.addr.as_str())
            .collect()
    }

    /// Returns how many distinct zones the instances are in.
    pub fn zone_count(&self) -> usize {
        let mut zones: Vec<&str> = self
            .instances
            .iter()
            .map(|instance| instance.zone.as_str())
            .collect();
        zones.sort_unstable();
        zones.dedup();
        zones.len()
    }
}

/// An immutable, indexed snapshot of a [`RingDesc`].
#[derive(Debug)]
pub struct Ring {
    desc: Arc<RingDesc>,
    options: RingOptions,
    /// Every instance, sorted by ID; the "instance index" of this API points in here.
    instances: Vec<InstanceDesc>,
    /// `(token, instance index)`, sorted by token, one entry per token.
    tokens: Vec<(u32, u32)>,
    /// Every distinct zone (the empty zone included), sorted.
    zones: Vec<String>,
    /// The index in `zones` of each instance's zone.
    instance_zone: Vec<usize>,
    /// Per zone, the instances owning tokens (what a read walk can find).
    readable_per_zone: Vec<usize>,
    /// Per zone, the non-read-only instances owning tokens (what a write walk can find).
    writable_per_zone: Vec<usize>,
    /// Instances owning tokens.
    readable_count: usize,
    /// Non-read-only instances owning tokens.
    writable_count: usize,
    /// The fraction of the token space each instance owns.
    ownership: Vec<f64>,
}

impl Ring {
    /// Indexes `desc` for lookups with `options`.
    pub fn new(desc: Arc<RingDesc>, options: RingOptions) -> Ring {
        let instances: Vec<InstanceDesc> = desc
            .instances
            .iter()
            .map(|(id, instance)| {
                let mut instance = instance.clone();
                instance.id.clone_from(id);
                instance
            })
            .collect();

        let mut zones: Vec<String> = instances.iter().map(|i| i.zone.clone()).collect();
        zones.sort_unstable();
        zones.dedup();
        let instance_zone: Vec<usize> = instances
            .iter()
            .map(|instance| zones.binary_search(&instance.zone).unwrap_or_default())
            .collect();

        let mut tokens: Vec<(u32, u32)> = Vec::new();
        for (index, instance) in instances.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            tokens.extend(instance.tokens.iter().map(|&token| (token, index)));
        }
        // A token claimed twice (a conflict only gossip could create) goes to the instance
        // whose ID sorts first, so every reader resolves it the same way.
        tokens.sort_unstable();
        tokens.dedup_by_key(|(token, _)| *token);

        let mut readable_per_zone = vec![0; zones.len()];
        let mut writable_per_zone = vec![0; zones.len()];
        let (mut readable_count, mut writable_count) = (0, 0);
        // An instance counts as reachable when it owns a token of the merged array.
        let mut owns_tokens = vec![false; instances.len()];
        for &(_, index) in &tokens {
            owns_tokens[index as usize] = true;
        }
        for ((instance, &zone), &owns) in instances.iter().zip(&instance_zone).zip(&owns_tokens) {
            if !owns {
                continue;
            }
            readable_per_zone[zone] += 1;
            readable_count += 1;
            if !instance.read_only {
                writable_per_zone[zone] += 1;
                writable_count += 1;
            }
        }

        let mut ring = Ring {
            desc,
            options,
            ownership: vec![0.0; instances.len()],
            instances,
            tokens,
            zones,
            instance_zone,
            readable_per_zone,
            writable_per_zone,
            readable_count,
            writable_count,
        };
        ring.ownership = ring.compute_ownership();
        ring
    }

    /// Returns an empty ring.
    pub fn empty(options: RingOptions) -> Ring {
        Ring::new(Arc::new(RingDesc::default()), options)
    }

    /// Returns the descriptor this snapshot was built from.
    pub fn desc(&self) -> &Arc<RingDesc> {
        &self.desc
    }

    /// Returns the options this snapshot applies.
    pub fn options(&self) -> RingOptions {
        self.options
    }

    /// Returns the configured replication factor (at least 1).
    pub fn replication_factor(&self) -> usize {
        self.options.replication_factor.max(1)
    }

    /// Returns true when no instance owns a token, so no key can be placed.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Returns how many instances are registered (with or without tokens).
    pub fn instance_count(&self) -> usize {
        self.instances.len()
    }

    /// Returns every instance, sorted by ID; the position is the instance index.
    pub fn instances(&self) -> impl ExactSizeIterator<Item = &InstanceDesc> + '_ {
        self.instances.iter()
    }

    /// Returns the instance at `index`, as filled in by [`Ring::get_into`].
    ///
    /// # Panics
    ///
    /// Panics when `index` did not come from this snapshot.
    pub fn instance(&self, index: usize) -> &InstanceDesc {
        &self.instances[index]
    }

    /// Returns the index of the instance `id`, if registered.
    pub fn instance_index(&self, id: &str) -> Option<usize> {
        self.instances
            .binary_search_by(|instance| instance.id.as_str().cmp(id))
            .ok()
    }

    /// Returns the instance `id`, if registered.
    pub fn instance_by_id(&self, id: &str) -> Option<&InstanceDesc> {
        self.instance_index(id).map(|index| &self.instances[index])
    }

    /// Returns the non-empty availability zones of the registered instances, sorted.
    pub fn zones(&self) -> impl Iterator<Item = &str> + '_ {
        self.zones
            .iter()
            .map(String::as_str)
            .filter(|zone| !zone.is_empty())
    }

    /// Returns how many instances the operation can use at `now_ms`.
    pub fn healthy_instance_count(&self, op: Operation, now_ms: i64) -> usize {
        self.instances
            .iter()
            .filter(|instance| op.is_healthy(instance, self.options.heartbeat_timeout, now_ms))
            .count()
    }

    /// Returns the fraction (0 to 1) of the token space each instance owns, by instance ID.
    ///
    /// With zone awareness, as dskit's ring page does, each zone is its own full ring (an
    /// instance's share is of its zone's token space); otherwise the whole ring is one space.
    pub fn token_ownership(&self) -> BTreeMap<String, f64> {
        self.instances
            .iter()
            .zip(&self.ownership)
            .map(|(instance, &share)| (instance.id.clone(), share))
            .collect()
    }

    /// Returns the fraction of the token space the instance at `index` owns.
    ///
    /// # Panics
    ///
    /// Panics when `index` did not come from this snapshot.
    pub fn instance_ownership(&self, index: usize) -> f64 {
        self.ownership[index]
    }

    /// Returns the replication set of `key` for `op` at `now_ms`: the healthy replicas and how
    /// many may fail. See the module docs for the placement rules.
    pub fn get(&self, key: u32, op: Operation, now_ms: i64) -> Result<ReplicationSet, RingError> {
        let mut indices = Vec::with_capacity(self.replication_factor() + 1);
        let max_errors = self.get_into(key, op, now_ms, &mut indices)?;
        Ok(ReplicationSet {
            instances: indices
                .iter()
                .map(|&index| self.instances[index].clone())
                .collect(),
            max_errors,
            max_unavailable_zones: 0,
        })
    }

    /// Like [`Ring::get`], without cloning: clears `buf`, fills it with the instance indices
    /// of the healthy replicas (see [`Ring::instance`]) and returns `max_errors`. Reusing `buf`
    /// across calls makes the lookup allocation-free.
    pub fn get_into(
        &self,
        key: u32,
        op: Operation,
        now_ms: i64,
        buf: &mut Vec<usize>,
    ) -> Result<usize, RingError> {
        buf.clear();
        if self.tokens.is_empty() {
            return Err(RingError::EmptyRing);
        }
        self.collect_replicas(key, op, buf);
        self.keep_healthy(op, now_ms, buf)
    }

    /// Walks clockwise from the owner of `key`, pushing the candidate replicas into `buf`.
    fn collect_replicas(&self, key: u32, op: Operation, buf: &mut Vec<usize>) {
        let zone_aware = self.options.zone_awareness_enabled;
        let (reachable, reachable_per_zone) = match op {
            Operation::Write => (self.writable_count, &self.writable_per_zone),
            Operation::Read => (self.readable_count, &self.readable_per_zone),
        };

        // Per-zone counters, only when zone-aware: on the stack for the usual few zones.
        let zone_slots = if zone_aware { self.zones.len() } else { 0 };
        let mut found_on_stack = [0usize; ZONES_ON_STACK];
        let mut examined_on_stack = [0usize; ZONES_ON_STACK];
        let mut found_on_heap = Vec::new();
        let mut examined_on_heap = Vec::new();
        let (found, examined): (&mut [usize], &mut [usize]) = if zone_slots <= ZONES_ON_STACK {
            (
                &mut found_on_stack[..zone_slots],
                &mut examined_on_stack[..zone_slots],
            )
        } else {
            found_on_heap.resize(zone_slots, 0);
            examined_on_heap.resize(zone_slots, 0);
            (&mut found_on_heap[..], &mut examined_on_heap[..])
        };
        // The replication factor is the number of zones, so one replica per zone.
        const PER_ZONE: usize = 1;

        let mut wanted = self.replication_factor();
        let mut position = self.tokens.partition_point(|&(token, _)| token <= key);
        let mut iterations = 0;
        while buf.len() < reachable.min(wanted) && iterations < self.tokens.len() {
            if zone_aware && every_zone_done(&reachable_per_zone[..], found, examined, PER_ZONE) {
                break;
            }
            iterations += 1;
            if position >= self.tokens.len() {
                position = 0;
            }
            let index = self.tokens[position].1 as usize;
            position += 1;

            let instance = &self.instances[index];
            if op.skips(instance) || buf.contains(&index) {
                continue;
            }
            let zone = self.instance_zone[index];
            let counts_per_zone = zone_aware && !instance.zone.is_empty();
            if counts_per_zone {
                if found[zone] >= PER_ZONE {
                    continue;
                }
                examined[zone] += 1;
            }
            buf.push(index);
            if op.extends_replica_set(instance.state) {
                wanted += 1;
            } else if counts_per_zone {
                found[zone] += 1;
            }
        }
    }

    /// Drops the unhealthy candidates of `buf` and checks the quorum; returns `max_errors`.
    fn keep_healthy(
        &self,
        op: Operation,
        now_ms: i64,
        buf: &mut Vec<usize>,
    ) -> Result<usize, RingError> {
        let timeout = self.options.heartbeat_timeout;
        let is_healthy = |index: &usize| op.is_healthy(&self.instances[*index], timeout, now_ms);
        // A set extended past non-serving instances needs a quorum of its real size.
        let set_size = self.replication_factor().max(buf.len());
        let quorum = set_size / 2 + 1;
        let healthy = buf.iter().filter(|index| is_healthy(index)).count();
        if healthy < quorum {
            let unhealthy = buf
                .iter()
                .filter(|index| !is_healthy(index))
                .map(|&index| self.instances[index].addr.clone())
                .collect();
            buf.clear();
            return Err(RingError::TooManyUnhealthy {
                required: quorum,
                healthy,
                zone_aware: self.options.zone_awareness_enabled,
                unhealthy,
            });
        }
        buf.retain(is_healthy);
        Ok(healthy - quorum)
    }

    /// Returns every instance the operation can use at `now_ms`, tolerating no error
    /// (dskit's `GetAllHealthy`): for fan-outs where each instance holds distinct data.
    pub fn get_all_healthy(&self, op: Operation, now_ms: i64) -> ReplicationSet {
        ReplicationSet {
            instances: self
                .instances
                .iter()
                .filter(|instance| op.is_healthy(instance, self.options.heartbeat_timeout, now_ms))
                .cloned()
                .collect(),
            max_errors: 0,
            max_unavailable_zones: 0,
        }
    }

    /// Returns the set to query when every key may be on any instance — a querier reading
    /// all ingesters — with the failures that still leave every key readable (dskit's
    /// `GetReplicationSetForOperation`).
    ///
    /// Without zones, `max(instances, RF) - RF/2` instances must answer. With zones, up to
    /// `(min(zones, RF) / 2 + 1) - 1` zones may fail; instances of a zone with an unhealthy
    /// member are dropped (a zone is only as good as its worst instance).
    pub fn replication_set_for_operation(
        &self,
        op: Operation,
        now_ms: i64,
    ) -> Result<ReplicationSet, RingError> {
        if self.tokens.is_empty() {
            return Err(RingError::EmptyRing);
        }
        let timeout = self.options.heartbeat_timeout;
        let rf = self.replication_factor();
        let mut healthy = Vec::with_capacity(self.instances.len());
        let mut unhealthy = Vec::new();
        let mut failed_zones: Vec<usize> = Vec::new();
        for (index, instance) in self.instances.iter().enumerate() {
            if op.is_healthy(instance, timeout, now_ms) {
                healthy.push(instance.clone());
            } else {
                unhealthy.push(instance.addr.clone());
                failed_zones.push(self.instance_zone[index]);
            }
        }
        failed_zones.sort_unstable();
        failed_zones.dedup();

        if self.options.zone_awareness_enabled {
            let replicated_zones = self.zones.len().min(rf);
            let min_success_zones = replicated_zones / 2 + 1;
            let max_unavailable_zones = min_success_zones - 1;
            if failed_zones.len() > max_unavailable_zones {
                return Err(RingError::TooManyUnhealthy {
                    required: min_success_zones,
                    healthy: self.zones.len().saturating_sub(failed_zones.len()),
                    zone_aware: true,
                    unhealthy,
                });
            }
            healthy.retain(|instance| {
                let zone = self.zones.binary_search(&instance.zone).unwrap_or_default();
                failed_zones.binary_search(&zone).is_err()
            });
            Ok(ReplicationSet {
                instances: healthy,
                max_errors: 0,
                max_unavailable_zones: max_unavailable_zones - failed_zones.len(),
            })
        } else {
            let required = self.instances.len().max(rf) - rf / 2;
            if healthy.len() < required {
                return Err(RingError::TooManyUnhealthy {
                    required,
                    healthy: healthy.len(),
                    zone_aware: false,
                    unhealthy,
                });
            }
            Ok(ReplicationSet {
                max_errors: healthy.len() - required,
                instances: healthy,
                max_unavailable_zones: 0,
            })
        }
    }

    /// Computes each instance's share of the token space (per zone when zone-aware).
    fn compute_ownership(&self) -> Vec<f64> {
        let mut owned = vec![0u64; self.instances.len()];
        let zone_groups = if self.options.zone_awareness_enabled {
            self.zones.len()
        } else {
            1
        };
        for zone in 0..zone_groups {
            let in_group = |&&(_, index): &&(u32, u32)| {
                !self.options.zone_awareness_enabled || self.instance_zone[index as usize] == zone
            };
            let Some(&(mut previous, _)) = self.tokens.iter().rfind(in_group) else {
                continue;
            };
            for &(token, index) in self.tokens.iter().filter(in_group) {
                owned[index as usize] += token_distance(previous, token);
                previous = token;
            }
        }
        owned
            .into_iter()
            .map(|distance| distance as f64 / TOKEN_SPACE)
            .collect()
    }
}

/// Returns true when every zone has its replica or has no instance left to look at (dskit's
/// `canStopLooking`).
fn every_zone_done(total: &[usize], found: &[usize], examined: &[usize], per_zone: usize) -> bool {
    total
        .iter()
        .zip(found.iter().zip(examined))
        .all(|(&total, (&found, &examined))| found >= per_zone || examined >= total)
}

/// Returns the token-space distance from `from` to `to` going clockwise; a token alone owns
/// the whole ring.
fn token_distance(from: u32, to: u32) -> u64 {
    if from < to {
        u64::from(to - from)
    } else {
        (1u64 << 32) - u64::from(from) + u64::from(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desc::tests::instance;
    use proptest::prelude::*;

    const NOW: i64 = 1_000_000;

    fn options(replication_factor: usize, zone_awareness_enabled: bool) -> RingOptions {
        RingOptions {
            replication_factor,
            heartbeat_timeout: Duration::from_secs(60),
            zone_awareness_enabled,
        }
    }

    fn ring_of(instances: Vec<InstanceDesc>, options: RingOptions) -> Ring {
        let mut desc = RingDesc::new();
        for instance in instances {
            desc.add_instance(instance);
        }
        Ring::new(Arc::new(desc), options)
    }

    /// a: 10, 40 — b: 20, 50 — c: 30, 60.
    fn three_instances() -> Vec<InstanceDesc> {
        vec![
            instance("a", "", &[10, 40]),
            instance("b", "", &[20, 50]),
            instance("c", "", &[30, 60]),
        ]
    }

    fn ids(set: &ReplicationSet) -> Vec<&str> {
        set.ids()
    }

    #[test]
    fn replicas_are_the_next_distinct_owners_clockwise() {
        let ring = ring_of(three_instances(), options(2, false));
        let set = ring.get(15, Operation::Write, NOW).unwrap();
        assert_eq!(ids(&set), ["b", "c"]);
        // A key equal to a token belongs to the next token, as in dskit.
        assert_eq!(
            ids(&ring.get(20, Operation::Write, NOW).unwrap()),
            ["c", "a"]
        );
        // Wrap-around past the last token.
        assert_eq!(
            ids(&ring.get(55, Operation::Write, NOW).unwrap()),
            ["c", "a"]
        );
        assert_eq!(
            ids(&ring.get(60, Operation::Write, NOW).unwrap()),
            ["a", "b"]
        );
        assert_eq!(
            ids(&ring.get(u32::MAX, Operation::Write, NOW).unwrap()),
            ["a", "b"]
        );
        assert_eq!(
            ids(&ring.get(0, Operation::Write, NOW).unwrap()),
            ["a", "b"]
        );
        // Distinct instances even when one owns consecutive tokens.
        let ring = ring_of(
            vec![instance("a", "", &[10, 11, 12]), instance("b", "", &[13])],
            options(2, false),
        );
        assert_eq!(
            ids(&ring.get(5, Operation::Write, NOW).unwrap()),
            ["a", "b"]
        );
    }

    #[test]
    fn quorum_and_max_errors_follow_the_replication_factor() {
        let ring = ring_of(three_instances(), options(3, false));
        let set = ring.get(15, Operation::Write, NOW).unwrap();
        assert_eq!(set.instances.len(), 3);
        assert_eq!(set.max_errors, 1);
        assert_eq!(set.quorum(), 2);

        let ring = ring_of(three_instances(), options(1, false));
        let set = ring.get(15, Operation::Write, NOW).unwrap();
        assert_eq!((ids(&set), set.max_errors), (vec!["b"], 0));
    }

    #[test]
    fn fewer_instances_than_rf_uses_all_with_a_quorum_of_rf() {
        let two = vec![instance("a", "", &[10]), instance("b", "", &[20])];
        let set = ring_of(two, options(3, false))
            .get(15, Operation::Write, NOW)
            .unwrap();
        assert_eq!(ids(&set), ["b", "a"]);
        assert_eq!(set.max_errors, 0, "quorum of RF 3 is 2");

        let one = vec![instance("a", "", &[10])];
        let error = ring_of(one, options(3, false))
            .get(15, Operation::Write, NOW)
            .unwrap_err();
        match error {
            RingError::TooManyUnhealthy {
                required, healthy, ..
            } => assert_eq!((required, healthy), (2, 1)),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn empty_ring_is_an_error() {
        let ring = Ring::empty(options(1, false));
        assert!(ring.is_empty());
        assert!(matches!(
            ring.get(1, Operation::Write, NOW),
            Err(RingError::EmptyRing)
        ));
        // Instances without tokens cannot own keys either.
        let ring = ring_of(vec![instance("a", "", &[])], options(1, false));
        assert!(ring.is_empty());
        assert_eq!(ring.instance_count(), 1);
        assert!(matches!(
            ring.get(1, Operation::Read, NOW),
            Err(RingError::EmptyRing)
        ));
        assert!(matches!(
            ring.replication_set_for_operation(Operation::Read, NOW),
            Err(RingError::EmptyRing)
        ));
    }

    #[test]
    fn stale_heartbeats_are_filtered_and_can_break_the_quorum() {
        let mut instances = three_instances();
        instances[1].heartbeat_ms = NOW - 61_000; // b
        let ring = ring_of(instances.clone(), options(3, false));
        let set = ring.get(15, Operation::Write, NOW).unwrap();
        assert_eq!(ids(&set), ["c", "a"]);
        assert_eq!(set.max_errors, 0);
        assert_eq!(ring.healthy_instance_count(Operation::Write, NOW), 2);
        assert_eq!(ring.healthy_instance_count(Operation::Read, NOW), 2);

        instances[2].heartbeat_ms = NOW - 61_000; // c too
        let ring = ring_of(instances, options(3, false));
        let error = ring.get(15, Operation::Write, NOW).unwrap_err();
        let text = error.to_string();
        assert!(matches!(
            error,
            RingError::TooManyUnhealthy {
                required: 2,
                healthy: 1,
                ..
            }
        ));
        assert!(text.contains("b:9095") && text.contains("c:9095"), "{text}");
        // A heartbeat exactly at the timeout is still healthy.
        let mut fresh = three_instances();
        fresh[1].heartbeat_ms = NOW - 60_000;
        let ring = ring_of(fresh, options(3, false));
        assert_eq!(
            ring.get(15, Operation::Write, NOW).unwrap().instances.len(),
            3
        );
    }

    #[test]
    fn leaving_instances_extend_writes_and_serve_reads() {
        // Walk from 15: b (LEAVING), c, a, then b/c/a again; d owns 70.
        let mut instances = three_instances();
        instances[1].state = InstanceState::Leaving;
        instances.push(instance("d", "", &[70]));
        let ring = ring_of(instances, options(2, false));

        let write = ring.get(15, Operation::Write, NOW).unwrap();
        // b is skipped for writes but extends the set: c and a take the writes; the set of 3
        // needs a quorum of 2.
        assert_eq!(ids(&write), ["c", "a"]);
        assert_eq!(write.max_errors, 0);

        let read = ring.get(15, Operation::Read, NOW).unwrap();
        assert_eq!(ids(&read), ["b", "c"]);
        assert_eq!(read.max_errors, 0);

        // Joining/pending instances extend reads too, and do not serve them.
        let mut instances = three_instances();
        instances[1].state = InstanceState::Joining;
        let ring = ring_of(instances, options(2, false));
        assert_eq!(
            ids(&ring.get(15, Operation::Read, NOW).unwrap()),
            ["c", "a"]
        );
    }

    #[test]
    fn read_only_instances_get_no_writes_but_serve_reads() {
        let mut instances = three_instances();
        instances[1].read_only = true; // b
        let ring = ring_of(instances, options(1, false));
        assert_eq!(ids(&ring.get(15, Operation::Write, NOW).unwrap()), ["c"]);
        assert_eq!(ids(&ring.get(15, Operation::Read, NOW).unwrap()), ["b"]);
        assert_eq!(ring.healthy_instance_count(Operation::Write, NOW), 2);
        assert_eq!(ring.healthy_instance_count(Operation::Read, NOW), 3);

        let only = ring_of(
            vec![InstanceDesc {
                read_only: true,
                ..instance("a", "", &[10])
            }],
            options(1, false),
        );
        assert!(matches!(
            only.get(1, Operation::Write, NOW),
            Err(RingError::TooManyUnhealthy {
                required: 1,
                healthy: 0,
                ..
            })
        ));
        assert_eq!(ids(&only.get(1, Operation::Read, NOW).unwrap()), ["a"]);
    }

    #[test]
    fn zone_aware_placement_takes_one_instance_per_zone() {
        // Walk from 0: a1 (z1), a2 (z1), b1 (z2), b2 (z2), c1 (z3).
        let instances = vec![
            instance("a1", "z1", &[10]),
            instance("a2", "z1", &[20]),
            instance("b1", "z2", &[30]),
            instance("b2", "z2", &[40]),
            instance("c1", "z3", &[50]),
        ];
        let ring = ring_of(instances.clone(), options(3, true));
        let set = ring.get(0, Operation::Write, NOW).unwrap();
        assert_eq!(ids(&set), ["a1", "b1", "c1"]);
        assert_eq!(set.zone_count(), 3);
        assert_eq!(set.max_errors, 1);
        assert_eq!(ring.zones().collect::<Vec<_>>(), ["z1", "z2", "z3"]);

        // Without zone awareness the same walk takes the next three instances.
        let ring = ring_of(instances.clone(), options(3, false));
        assert_eq!(
            ids(&ring.get(0, Operation::Write, NOW).unwrap()),
            ["a1", "a2", "b1"]
        );

        // A LEAVING instance extends within its zone: a1 leaving → a2 stands in for z1.
        let mut leaving = instances;
        leaving[0].state = InstanceState::Leaving;
        let ring = ring_of(leaving, options(3, true));
        let set = ring.get(0, Operation::Write, NOW).unwrap();
        assert_eq!(ids(&set), ["a2", "b1", "c1"]);
        assert_eq!(set.max_errors, 0, "a set of 4 needs 3");
    }

    #[test]
    fn zone_aware_with_fewer_zones_than_rf_stops_after_each_zone_is_served() {
        let instances = vec![
            instance("a1", "z1", &[10]),
            instance("a2", "z1", &[20]),
            instance("b1", "z2", &[30]),
        ];
        let ring = ring_of(instances, options(3, true));
        let set = ring.get(0, Operation::Write, NOW).unwrap();
        assert_eq!(ids(&set), ["a1", "b1"]);
        assert_eq!(set.max_errors, 0);
    }

    #[test]
    fn get_into_reuses_the_buffer_and_matches_get() {
        let ring = ring_of(three_instances(), options(2, false));
        let mut buf = vec![99, 98, 97];
        for key in [0, 15, 25, 35, 45, 55, 65, u32::MAX] {
            let max_errors = ring.get_into(key, Operation::Write, NOW, &mut buf).unwrap();
            let set = ring.get(key, Operation::Write, NOW).unwrap();
            let via_indices: Vec<&str> =
                buf.iter().map(|&i| ring.instance(i).id.as_str()).collect();
            assert_eq!(via_indices, set.ids());
            assert_eq!(max_errors, set.max_errors);
        }
        assert_eq!(ring.instance_index("b"), Some(1));
        assert_eq!(ring.instance_by_id("c").unwrap().addr, "c:9095");
        assert!(ring.instance_by_id("zz").is_none());
    }

    #[test]
    fn get_all_healthy_and_whole_ring_sets() {
        let mut instances = three_instances();
        instances[0].heartbeat_ms = 0; // a is stale
        instances[1].state = InstanceState::Leaving; // b
        let ring = ring_of(instances, options(3, false));
        assert_eq!(ring.get_all_healthy(Operation::Write, NOW).ids(), ["c"]);
        assert_eq!(ring.get_all_healthy(Operation::Read, NOW).ids(), ["b", "c"]);
        assert_eq!(ring.get_all_healthy(Operation::Read, NOW).max_errors, 0);

        // 3 instances, RF 3: 2 must answer.
        let set = ring
            .replication_set_for_operation(Operation::Read, NOW)
            .unwrap();
        assert_eq!((set.ids(), set.max_errors), (vec!["b", "c"], 0));
        assert!(
            ring.replication_set_for_operation(Operation::Write, NOW)
                .is_err()
        );

        let healthy = ring_of(three_instances(), options(3, false));
        let set = healthy
            .replication_set_for_operation(Operation::Read, NOW)
            .unwrap();
        assert_eq!(set.max_errors, 1);
    }

    #[test]
    fn zone_aware_whole_ring_set_drops_failed_zones() {
        let mut instances = vec![
            instance("a1", "z1", &[10]),
            instance("a2", "z1", &[20]),
            instance("b1", "z2", &[30]),
            instance("c1", "z3", &[40]),
        ];
        let ring = ring_of(instances.clone(), options(3, true));
        let set = ring
            .replication_set_for_operation(Operation::Read, NOW)
            .unwrap();
        assert_eq!((set.instances.len(), set.max_unavailable_zones), (4, 1));

        instances[0].heartbeat_ms = 0; // z1 has a failure
        let ring = ring_of(instances.clone(), options(3, true));
        let set = ring
            .replication_set_for_operation(Operation::Read, NOW)
            .unwrap();
        assert_eq!(
            (set.ids(), set.max_unavailable_zones),
            (vec!["b1", "c1"], 0)
        );

        instances[2].heartbeat_ms = 0; // and z2
        let ring = ring_of(instances, options(3, true));
        assert!(matches!(
            ring.replication_set_for_operation(Operation::Read, NOW),
            Err(RingError::TooManyUnhealthy {
                zone_aware: true,
                ..
            })
        ));
    }

    #[test]
    fn ownership_is_the_distance_from_the_previous_token() {
        let ring = ring_of(
            vec![instance("a", "", &[100]), instance("b", "", &[200])],
            options(1, false),
        );
        let shares = ring.token_ownership();
        assert!((shares["b"] - 100.0 / TOKEN_SPACE).abs() < 1e-12);
        assert!((shares["a"] - (TOKEN_SPACE - 100.0) / TOKEN_SPACE).abs() < 1e-12);
        let single = ring_of(vec![instance("a", "", &[5])], options(1, false));
        assert!((single.token_ownership()["a"] - 1.0).abs() < 1e-12);
        let no_tokens = ring_of(vec![instance("a", "", &[])], options(1, false));
        assert_eq!(no_tokens.token_ownership()["a"], 0.0);

        // Zone-aware: each zone is its own ring.
        let zoned = ring_of(
            vec![
                instance("a", "z1", &[100]),
                instance("b", "z1", &[300]),
                instance("c", "z2", &[200]),
            ],
            options(2, true),
        );
        let shares = zoned.token_ownership();
        assert!((shares["c"] - 1.0).abs() < 1e-12);
        assert!((shares["a"] + shares["b"] - 1.0).abs() < 1e-12);
        assert!((shares["b"] - 200.0 / TOKEN_SPACE).abs() < 1e-12);
        assert!((zoned.instance_ownership(2) - 1.0).abs() < 1e-12);
    }

    fn arb_ring() -> impl Strategy<Value = (Vec<InstanceDesc>, usize, bool)> {
        (
            proptest::collection::btree_map(
                "[a-z]{1,6}",
                (
                    0..4usize,
                    proptest::collection::btree_set(any::<u32>(), 1..6),
                ),
                1..10,
            ),
            1..6usize,
            any::<bool>(),
        )
            .prop_map(|(instances, rf, zone_aware)| {
                let instances = instances
                    .into_iter()
                    .map(|(id, (zone, tokens))| {
                        let tokens: Vec<u32> = tokens.into_iter().collect();
                        let zone = format!("zone-{zone}");
                        instance(&id, &zone, &tokens)
                    })
                    .collect();
                (instances, rf, zone_aware)
            })
    }

    proptest! {
        #[test]
        fn get_returns_distinct_replicas_deterministically(
            (instances, rf, zone_aware) in arb_ring(),
            key in any::<u32>(),
        ) {
            let zones: std::collections::BTreeSet<&str> =
                instances.iter().map(|i| i.zone.as_str()).collect();
            let expected = if zone_aware { rf.min(zones.len()) } else { rf.min(instances.len()) };
            let ring = ring_of(instances.clone(), options(rf, zone_aware));
            let result = ring.get(key, Operation::Write, NOW);
            // With fewer reachable replicas than the quorum of RF, the ring refuses.
            if expected < rf / 2 + 1 {
                prop_assert!(
                    matches!(result, Err(RingError::TooManyUnhealthy { .. })),
                    "expected a quorum error"
                );
                return Ok(());
            }
            let set = result.unwrap();
            prop_assert_eq!(set.instances.len(), expected);
            let mut distinct = set.ids();
            distinct.sort_unstable();
            distinct.dedup();
            prop_assert_eq!(distinct.len(), expected);
            if zone_aware {
                prop_assert_eq!(set.zone_count(), expected);
            }
            prop_assert_eq!(set.max_errors, expected - (rf.max(expected) / 2 + 1));
            // The first replica owns the first token above the key.
            let mut all: Vec<(u32, &str)> = instances
                .iter()
                .flat_map(|i| i.tokens.iter().map(move |&t| (t, i.id.as_str())))
                .collect();
            all.sort_unstable();
            let owner = all.iter().find(|(token, _)| *token > key).unwrap_or(&all[0]).1;
            prop_assert_eq!(set.instances[0].id.as_str(), owner);
            // Deterministic: a second lookup, and a second snapshot, agree.
            prop_assert_eq!(&ring.get(key, Operation::Write, NOW).unwrap(), &set);
            let again = ring_of(instances, options(rf, zone_aware));
            prop_assert_eq!(again.get(key, Operation::Write, NOW).unwrap(), set);
        }
    }
}
