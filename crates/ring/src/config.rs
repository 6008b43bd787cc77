//! The `ingester.ring` and `distributor.ring` configuration blocks, with Mimir's keys and flags.
//!
//! Keys, flags and defaults follow Mimir's `pkg/ingester/ingester_ring.go` and
//! `pkg/distributor/distributor_ring.go`, with these deviations:
//! - `replication_factor` defaults to **1** (Mimir: 3): Norn's default is a single process,
//!   and with RF 3 a lone ingester can never reach the write quorum of 2;
//! - `kvstore.store` defaults to `inmemory` (Mimir: `memberlist`) and only `inmemory` is
//!   accepted until the cluster backends land;
//! - `instance_addr` defaults to `127.0.0.1` (Mimir auto-detects a private interface).
//!
//! The specs' YAML paths are relative to the `ring` block; the server nests them under
//! `ingester.ring` / `distributor.ring`.

use std::sync::Arc;

use norn_common::Duration;
use norn_common::config::{ConfigSection, FlagKind, FlagSpec, nest};
use serde::{Deserialize, Serialize};

use crate::client::RingClient;
use crate::kv::Kv;
use crate::lifecycler::LifecyclerConfig;
use crate::ring::RingOptions;

/// The ring key of the ingester ring (Mimir's `ingester.IngesterRingKey`).
pub const INGESTER_RING_KEY: &str = "ring";
/// The ring key of the distributor ring (Mimir's `distributor.DistributorRingKey`).
pub const DISTRIBUTOR_RING_KEY: &str = "distributor";
/// The KV stores `kvstore.store` accepts today.
pub const SUPPORTED_KV_STORES: &[&str] = &["inmemory"];
/// Tokens each distributor owns: its ring is for membership only (Mimir's `ringNumTokens`).
pub const DISTRIBUTOR_NUM_TOKENS: usize = 1;

/// Which KV store holds a ring, and under which key prefix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KvStoreConfig {
    /// The backend: `inmemory` (one process).
    pub store: String,
    /// Prefixed to every ring key in the store.
    pub prefix: String,
}

impl Default for KvStoreConfig {
    fn default() -> Self {
        Self {
            store: "inmemory".into(),
            prefix: "collectors/".into(),
        }
    }
}

impl KvStoreConfig {
    /// Returns the full KV key of the ring `ring_key` (`prefix` + key, as dskit's prefixed
    /// client builds it).
    pub fn key(&self, ring_key: &str) -> String {
        format!("{}{ring_key}", self.prefix)
    }

    fn validate(&self, section: &str, flag_prefix: &str) -> Result<(), String> {
        if !SUPPORTED_KV_STORES.contains(&self.store.as_str()) {
            return Err(format!(
                "{section}.kvstore.store (-{flag_prefix}.store) is {:?}; supported: {} \
                 (etcd and memberlist are not available yet)",
                self.store,
                SUPPORTED_KV_STORES.join(", ")
            ));
        }
        Ok(())
    }
}

/// Returns `configured` unless it is empty, else [`default_instance_id`].
fn resolve_instance_id(configured: &str) -> String {
    match configured.trim() {
        "" => default_instance_id(),
        id => id.to_owned(),
    }
}

/// Returns the hostname, Mimir's default instance ID: `/proc/sys/kernel/hostname`, else
/// `$HOSTNAME`, else `norn`.
pub fn default_instance_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "norn".to_owned())
}

/// The ingester ring: how ingesters register and how everyone reads the ring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngesterRingConfig {
    /// The KV store holding the ring.
    pub kvstore: KvStoreConfig,
    /// How often an ingester heartbeats; 0 disables heartbeats.
    pub heartbeat_period: Duration,
    /// An ingester silent for longer is skipped for reads and writes; 0 disables the check.
    pub heartbeat_timeout: Duration,
    /// How many ingesters each series is written to.
    pub replication_factor: usize,
    /// Replicate each series across distinct availability zones.
    pub zone_awareness_enabled: bool,
    /// Tokens each ingester owns.
    pub num_tokens: usize,
    /// This ingester's ID in the ring.
    pub instance_id: String,
    /// The address this ingester advertises in the ring.
    pub instance_addr: String,
    /// This ingester's availability zone.
    pub instance_availability_zone: String,
    /// Remove the ingester from the ring on a clean shutdown.
    pub unregister_on_shutdown: bool,
}

impl Default for IngesterRingConfig {
    fn default() -> Self {
        Self {
            kvstore: KvStoreConfig::default(),
            heartbeat_period: Duration::from_secs(15),
            heartbeat_timeout: Duration::from_secs(60),
            replication_factor: 1,
            zone_awareness_enabled: false,
            num_tokens: 128,
            instance_id: String::new(),
            instance_addr: "127.0.0.1".into(),
            instance_availability_zone: String::new(),
            unregister_on_shutdown: true,
        }
    }
}

impl IngesterRingConfig {
    /// Returns how the ingester ring is read.
    pub fn ring_options(&self) -> RingOptions {
        RingOptions {
            replication_factor: self.replication_factor,
            heartbeat_timeout: self.heartbeat_timeout.get(),
            zone_awareness_enabled: self.zone_awareness_enabled,
        }
    }

    /// Returns the full KV key of `ring_key` (with `kvstore.prefix`).
    pub fn kv_key(&self, ring_key: &str) -> String {
        self.kvstore.key(ring_key)
    }

    /// Returns `instance_id`, or the hostname when it is empty.
    pub fn resolved_instance_id(&self) -> String {
        resolve_instance_id(&self.instance_id)
    }

    /// Returns the lifecycler of this ingester in the ring `ring_key` (normally
    /// [`INGESTER_RING_KEY`]); the key is prefixed with `kvstore.prefix`.
    pub fn lifecycler_config(&self, ring_key: &str) -> LifecyclerConfig {
        LifecyclerConfig {
            ring_key: self.kv_key(ring_key),
            instance_id: self.resolved_instance_id(),
            addr: self.instance_addr.clone(),
            zone: self.instance_availability_zone.clone(),
            num_tokens: self.num_tokens,
            heartbeat_period: self.heartbeat_period.get(),
            unregister_on_shutdown: self.unregister_on_shutdown,
        }
    }

    /// Returns a client of the ring `ring_key` in `kv`, under the same prefixed key the
    /// lifecycler writes.
    pub fn ring_client(&self, kv: Arc<dyn Kv>, ring_key: &str) -> RingClient {
        RingClient::new(kv, self.kv_key(ring_key), self.ring_options())
    }
}

impl ConfigSection for IngesterRingConfig {
    fn specs() -> Vec<FlagSpec> {
        use FlagKind::{Bool, Duration, String, Uint};
        let mut specs = nest(
            "kvstore",
            vec![
                FlagSpec::new(
                    "store",
                    "ingester.ring.store",
                    String,
                    "Backend storage to use for the ingester ring. Supported today: inmemory (etcd and memberlist come later).",
                ),
                FlagSpec::new(
                    "prefix",
                    "ingester.ring.prefix",
                    String,
                    "The prefix for the keys in the store. Should end with a /.",
                ),
            ],
        );
        specs.extend([
            FlagSpec::new(
                "heartbeat_period",
                "ingester.ring.heartbeat-period",
                Duration,
                "Period at which to heartbeat to the ring. 0 = disabled.",
            ),
            FlagSpec::new(
                "heartbeat_timeout",
                "ingester.ring.heartbeat-timeout",
                Duration,
                "The heartbeat timeout after which ingesters are skipped for reads/writes. 0 = never (timeout disabled).",
            ),
            FlagSpec::new(
                "replication_factor",
                "ingester.ring.replication-factor",
                Uint,
                "Number of ingesters that each time series is replicated to. Norn defaults to 1 (Mimir: 3) for single-process installs; a write needs RF/2+1 ingesters.",
            ),
            FlagSpec::new(
                "zone_awareness_enabled",
                "ingester.ring.zone-awareness-enabled",
                Bool,
                "True to enable the zone-awareness and replicate ingested samples across different availability zones.",
            ),
            FlagSpec::new(
                "num_tokens",
                "ingester.ring.num-tokens",
                Uint,
                "Number of tokens for each ingester.",
            ),
            FlagSpec::new(
                "instance_id",
                "ingester.ring.instance-id",
                String,
                "Instance ID to register in the ring; empty means the hostname.",
            ),
            FlagSpec::new(
                "instance_addr",
                "ingester.ring.instance-addr",
                String,
                "IP address to advertise in the ring.",
            ),
            FlagSpec::new(
                "instance_availability_zone",
                "ingester.ring.instance-availability-zone",
                String,
                "The availability zone where this instance is running.",
            ),
            FlagSpec::new(
                "unregister_on_shutdown",
                "ingester.ring.unregister-on-shutdown",
                Bool,
                "Unregister from the ring upon clean shutdown. It can be useful to disable for rolling restarts with consistent naming.",
            ),
        ]);
        specs
    }

    fn validate(&self) -> Result<(), String> {
        self.kvstore.validate("ingester.ring", "ingester.ring")?;
        if self.replication_factor == 0 {
            return Err(
                "ingester.ring.replication_factor (-ingester.ring.replication-factor) must be at least 1"
                    .into(),
            );
        }
        if self.num_tokens == 0 {
            return Err(
                "ingester.ring.num_tokens (-ingester.ring.num-tokens) must be at least 1".into(),
            );
        }
        if self.zone_awareness_enabled && self.instance_availability_zone.is_empty() {
            return Err(
                "ingester.ring.zone_awareness_enabled is true but ingester.ring.instance_availability_zone \
                 (-ingester.ring.instance-availability-zone) is empty: set this instance's zone"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The distributor ring: distributors register for membership (the global ingestion rate
/// limit is divided by the number of healthy distributors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistributorRingConfig {
    /// The KV store holding the ring.
    pub kvstore: KvStoreConfig,
    /// How often a distributor heartbeats; 0 disables heartbeats.
    pub heartbeat_period: Duration,
    /// A distributor silent for longer is not counted as healthy; 0 disables the check.
    pub heartbeat_timeout: Duration,
    /// This distributor's ID in the ring.
    pub instance_id: String,
    /// The address this distributor advertises in the ring.
    pub instance_addr: String,
}

impl Default for DistributorRingConfig {
    fn default() -> Self {
        Self {
            kvstore: KvStoreConfig::default(),
            heartbeat_period: Duration::from_secs(15),
            heartbeat_timeout: Duration::from_secs(60),
            instance_id: String::new(),
            instance_addr: "127.0.0.1".into(),
        }
    }
}

impl DistributorRingConfig {
    /// Returns how the distributor ring is read (RF 1: membership only).
    pub fn ring_options(&self) -> RingOptions {
        RingOptions {
            replication_factor: 1,
            heartbeat_timeout: self.heartbeat_timeout.get(),
            zone_awareness_enabled: false,
        }
    }

    /// Returns the full KV key of `ring_key` (with `kvstore.prefix`).
    pub fn kv_key(&self, ring_key: &str) -> String {
        self.kvstore.key(ring_key)
    }

    /// Returns `instance_id`, or the hostname when it is empty.
    pub fn resolved_instance_id(&self) -> String {
        resolve_instance_id(&self.instance_id)
    }

    /// Returns the lifecycler of this distributor in the ring `ring_key` (normally
    /// [`DISTRIBUTOR_RING_KEY`]): one token, unregistered on shutdown.
    pub fn lifecycler_config(&self, ring_key: &str) -> LifecyclerConfig {
        LifecyclerConfig {
            ring_key: self.kv_key(ring_key),
            instance_id: self.resolved_instance_id(),
            addr: self.instance_addr.clone(),
            zone: String::new(),
            num_tokens: DISTRIBUTOR_NUM_TOKENS,
            heartbeat_period: self.heartbeat_period.get(),
            unregister_on_shutdown: true,
        }
    }

    /// Returns a client of the ring `ring_key` in `kv`, under the same prefixed key the
    /// lifecycler writes.
    pub fn ring_client(&self, kv: Arc<dyn Kv>, ring_key: &str) -> RingClient {
        RingClient::new(kv, self.kv_key(ring_key), self.ring_options())
    }
}

impl ConfigSection for DistributorRingConfig {
    fn specs() -> Vec<FlagSpec> {
        use FlagKind::{Duration, String};
        let mut specs = nest(
            "kvstore",
            vec![
                FlagSpec::new(
                    "store",
                    "distributor.ring.store",
                    String,
                    "Backend storage to use for the distributor ring. Supported today: inmemory (etcd and memberlist come later).",
                ),
                FlagSpec::new(
                    "prefix",
                    "distributor.ring.prefix",
                    String,
                    "The prefix for the keys in the store. Should end with a /.",
                ),
            ],
        );
        specs.extend([
            FlagSpec::new(
                "heartbeat_period",
                "distributor.ring.heartbeat-period",
                Duration,
                "Period at which to heartbeat to the ring. 0 = disabled.",
            ),
            FlagSpec::new(
                "heartbeat_timeout",
                "distributor.ring.heartbeat-timeout",
                Duration,
                "The heartbeat timeout after which distributors are considered unhealthy within the ring. 0 = never (timeout disabled).",
            ),
            FlagSpec::new(
                "instance_id",
                "distributor.ring.instance-id",
                String,
                "Instance ID to register in the ring; empty means the hostname.",
            ),
            FlagSpec::new(
                "instance_addr",
                "distributor.ring.instance-addr",
                String,
                "IP address to advertise in the ring.",
            ),
        ]);
        specs
    }

    fn validate(&self) -> Result<(), String> {
        self.kvstore
            .validate("distributor.ring", "distributor.ring")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use norn_common::config::{load, parse_command_line};

    fn nested_ingester_specs() -> Vec<FlagSpec> {
        nest("ring", IngesterRingConfig::specs())
    }

    #[test]
    fn ingester_defaults_follow_mimir_except_rf() {
        let config = IngesterRingConfig::default();
        assert_eq!(config.kvstore.store, "inmemory");
        assert_eq!(config.kvstore.prefix, "collectors/");
        assert_eq!(config.heartbeat_period, Duration::from_secs(15));
        assert_eq!(config.heartbeat_timeout, Duration::from_secs(60));
        assert_eq!(config.replication_factor, 1);
        assert!(!config.zone_awareness_enabled);
        assert_eq!(config.num_tokens, 128);
        assert_eq!(config.instance_id, "", "empty: the hostname at run time");
        assert_eq!(config.resolved_instance_id(), default_instance_id());
        assert_eq!(config.instance_addr, "127.0.0.1");
        assert_eq!(config.instance_availability_zone, "");
        assert!(config.unregister_on_shutdown);
        assert!(config.validate().is_ok());

        let options = config.ring_options();
        assert_eq!(options.replication_factor, 1);
        assert_eq!(
            options.heartbeat_timeout,
            std::time::Duration::from_secs(60)
        );
        let lifecycler = config.lifecycler_config(INGESTER_RING_KEY);
        assert_eq!(lifecycler.ring_key, "collectors/ring");
        assert_eq!(lifecycler.num_tokens, 128);
        assert_eq!(lifecycler.instance_id, default_instance_id());
        assert!(lifecycler.unregister_on_shutdown);
    }

    #[test]
    fn yaml_and_mimir_flags_set_every_key() {
        let yaml = "kvstore:\n  prefix: norn/\nreplication_factor: 3\nzone_awareness_enabled: true\n\
                    instance_availability_zone: zone-a\n";
        let line = parse_command_line(
            [
                "-ingester.ring.num-tokens=64",
                "-ingester.ring.heartbeat-period=5s",
                "-ingester.ring.heartbeat-timeout=30s",
                "-ingester.ring.instance-id=ing-7",
                "-ingester.ring.instance-addr=10.0.0.7:9095",
                "-ingester.ring.unregister-on-shutdown=false",
                "-ingester.ring.store=inmemory",
                "-ingester.ring.prefix=x/",
            ],
            &IngesterRingConfig::specs(),
        )
        .unwrap();
        let config: IngesterRingConfig = load(Some(("c.yaml", yaml)), &line.overrides).unwrap();
        assert_eq!(config.replication_factor, 3);
        assert!(config.zone_awareness_enabled);
        assert_eq!(config.num_tokens, 64);
        assert_eq!(config.heartbeat_period, Duration::from_secs(5));
        assert_eq!(config.heartbeat_timeout, Duration::from_secs(30));
        assert_eq!(config.instance_id, "ing-7");
        assert_eq!(config.instance_addr, "10.0.0.7:9095");
        assert!(!config.unregister_on_shutdown);
        assert_eq!(config.kvstore.prefix, "x/", "flag beats YAML");
        let lifecycler = config.lifecycler_config(INGESTER_RING_KEY);
        assert_eq!(lifecycler.ring_key, "x/ring");
        assert_eq!(lifecycler.zone, "zone-a");
        assert_eq!(lifecycler.addr, "10.0.0.7:9095");
        assert!(config.ring_options().zone_awareness_enabled);
    }

    #[test]
    fn specs_are_relative_to_the_ring_block() {
        let specs = nested_ingester_specs();
        let paths: Vec<&str> = specs.iter().map(|spec| spec.path.as_str()).collect();
        assert!(paths.contains(&"ring.kvstore.store"));
        assert!(paths.contains(&"ring.replication_factor"));
        let flags: Vec<&str> = specs.iter().filter_map(|spec| spec.flag).collect();
        for flag in [
            "ingester.ring.replication-factor",
            "ingester.ring.heartbeat-period",
            "ingester.ring.heartbeat-timeout",
            "ingester.ring.store",
            "ingester.ring.prefix",
            "ingester.ring.num-tokens",
            "ingester.ring.instance-id",
            "ingester.ring.instance-addr",
            "ingester.ring.instance-availability-zone",
            "ingester.ring.zone-awareness-enabled",
            "ingester.ring.unregister-on-shutdown",
        ] {
            assert!(flags.contains(&flag), "missing -{flag}");
        }
        let distributor: Vec<&str> = DistributorRingConfig::specs()
            .iter()
            .filter_map(|spec| spec.flag)
            .collect();
        assert_eq!(distributor.len(), 6);
        assert!(
            distributor
                .iter()
                .all(|flag| flag.starts_with("distributor.ring."))
        );
    }

    #[test]
    fn validation_names_the_key_and_the_fix() {
        let error = load::<IngesterRingConfig>(Some(("c.yaml", "kvstore: {store: etcd}")), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("ingester.ring.kvstore.store"), "{error}");
        assert!(
            error.contains("\"etcd\"") && error.contains("inmemory"),
            "{error}"
        );

        let error = load::<IngesterRingConfig>(Some(("c.yaml", "replication_factor: 0")), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("replication-factor"), "{error}");

        let error = load::<IngesterRingConfig>(Some(("c.yaml", "num_tokens: 0")), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("num-tokens"), "{error}");

        let error =
            load::<IngesterRingConfig>(Some(("c.yaml", "zone_awareness_enabled: true")), &[])
                .unwrap_err()
                .to_string();
        assert!(error.contains("instance_availability_zone"), "{error}");

        let error = load::<IngesterRingConfig>(Some(("c.yaml", "replicaton_factor: 2")), &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("replicaton_factor"), "{error}");

        let error =
            load::<DistributorRingConfig>(Some(("c.yaml", "kvstore: {store: memberlist}")), &[])
                .unwrap_err()
                .to_string();
        assert!(error.contains("distributor.ring.kvstore.store"), "{error}");
    }

    #[test]
    fn distributor_defaults_and_lifecycler() {
        let config = DistributorRingConfig::default();
        assert_eq!(config.kvstore, KvStoreConfig::default());
        assert_eq!(config.heartbeat_period, Duration::from_secs(15));
        assert_eq!(config.heartbeat_timeout, Duration::from_secs(60));
        assert_eq!(config.instance_addr, "127.0.0.1");
        assert!(config.validate().is_ok());
        let lifecycler = config.lifecycler_config(DISTRIBUTOR_RING_KEY);
        assert_eq!(lifecycler.ring_key, "collectors/distributor");
        assert_eq!(lifecycler.num_tokens, 1);
        let line = parse_command_line(
            [
                "-distributor.ring.instance-id=d-1",
                "-distributor.ring.heartbeat-timeout=2m",
            ],
            &DistributorRingConfig::specs(),
        )
        .unwrap();
        let config: DistributorRingConfig = load(None, &line.overrides).unwrap();
        assert_eq!(config.instance_id, "d-1");
        assert_eq!(
            config.ring_options().heartbeat_timeout,
            std::time::Duration::from_secs(120)
        );
    }

    #[tokio::test]
    async fn lifecycler_and_client_built_from_config_meet_on_the_same_key() {
        use crate::desc::InstanceState;
        use crate::kv::InMemoryKv;
        use crate::lifecycler::Lifecycler;

        let config = IngesterRingConfig {
            instance_id: "ing-1".into(),
            num_tokens: 4,
            ..IngesterRingConfig::default()
        };
        let kv: Arc<dyn Kv> = Arc::new(InMemoryKv::new());
        let lifecycler =
            Lifecycler::new(config.lifecycler_config(INGESTER_RING_KEY), Arc::clone(&kv));
        lifecycler.register(InstanceState::Active).await.unwrap();
        let client = config.ring_client(kv, INGESTER_RING_KEY);
        client.start().await.unwrap();
        assert_eq!(
            client.ring().instance_by_id("ing-1").unwrap().tokens.len(),
            4
        );
    }
}
