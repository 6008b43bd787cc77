//! The runtime configuration file: per-tenant `overrides:` and extra `credentials:`, reloaded
//! without a restart.
//!
//! The file (or a comma-separated list of files, merged left to right as Mimir does) looks like:
//!
//! ```yaml
//! overrides:
//!   tenant-a:
//!     ingestion_rate: 50000
//!     max_global_series_per_user: 2000000
//! credentials:            # same shape as the `auth.credentials` block of the main config
//!   - tenants: [tenant-a]
//!     token: abc123
//! ```
//!
//! A tenant's override starts from the `limits:` block of the main configuration and replaces
//! only the keys it names. The runtime `credentials:` are added to the main configuration's
//! (a username or token present in both takes the runtime grant); merging several files
//! replaces the list as a whole, like any non-mapping value. A credential that fails
//! validation (see `norn_http::auth`) refuses the whole file, as a bad override does.
//! [`Overrides::credential_source`] hands the credentials in force to the HTTP tenant resolver.
//!
//! [`RuntimeConfigService`] loads the file on start (a broken file then fails start-up) and
//! polls it every period; a file that fails to read or parse is logged, counted in
//! `norn_runtime_config_reload_failures_total`, and ignored, so the last good configuration
//! stays in force. Unchanged content (same SHA-256) is not parsed again.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use norn_common::Duration;
use norn_common::config::{self, ConfigSection, FlagKind, FlagSpec};
use norn_common::service::{Service, ServiceError};
use norn_http::auth::{self, Credential, CredentialSet, CredentialSource};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::limits::Limits;

/// The `runtime_config:` block: where the runtime file is and how often it is read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfigConfig {
    /// Comma-separated list of runtime files; empty disables runtime configuration.
    pub file: String,
    /// How often the files are read again.
    pub period: Duration,
}

impl Default for RuntimeConfigConfig {
    fn default() -> Self {
        Self {
            file: String::new(),
            period: Duration::from_secs(10),
        }
    }
}

impl ConfigSection for RuntimeConfigConfig {
    fn specs() -> Vec<FlagSpec> {
        vec![
            FlagSpec::new(
                "file",
                "runtime-config.file",
                FlagKind::String,
                "Comma-separated list of YAML files with per-tenant overrides, merged left to right; empty disables runtime configuration.",
            ),
            FlagSpec::new(
                "period",
                "runtime-config.reload-period",
                FlagKind::Duration,
                "How often the runtime configuration files are read again.",
            ),
        ]
    }

    fn validate(&self) -> Result<(), String> {
        if !self.file.is_empty() && self.period.is_zero() {
            return Err(
                "runtime_config.period (-runtime-config.reload-period) must be greater than 0"
                    .into(),
            );
        }
        Ok(())
    }
}

impl RuntimeConfigConfig {
    /// Returns the configured files (the comma-separated list, trimmed).
    pub fn files(&self) -> Vec<String> {
        self.file
            .split(',')
            .map(str::trim)
            .filter(|file| !file.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The parsed content of the runtime configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RuntimeConfig {
    /// Effective limits of each tenant that has an override.
    pub overrides: BTreeMap<String, Arc<Limits>>,
    /// Credentials added to the main configuration's (serialized with secrets redacted, as
    /// `/runtime_config` shows this struct).
    #[serde(
        serialize_with = "auth::serialize_redacted",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credentials: Vec<Credential>,
}

/// The runtime file's `credentials:` key, deserialized on its own so errors name it.
#[derive(Deserialize)]
struct RuntimeCredentials {
    credentials: Vec<Credential>,
}

fn credentials_from(value: Value) -> Result<Vec<Credential>, RuntimeConfigError> {
    let mut top = serde_yaml_ng::Mapping::new();
    top.insert(Value::String("credentials".into()), value);
    let parsed: RuntimeCredentials =
        config::from_value(Value::Mapping(top)).map_err(RuntimeConfigError::Invalid)?;
    auth::check_unique(&parsed.credentials, "credentials").map_err(RuntimeConfigError::Invalid)?;
    Ok(parsed.credentials)
}

/// Why a runtime configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeConfigError {
    /// A file could not be read.
    #[error("cannot read runtime config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not YAML.
    #[error("runtime config file {path}: {detail}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message with line and column.
        detail: String,
    },
    /// The merged content does not fit the runtime configuration.
    #[error("runtime config: {0}")]
    Invalid(String),
}

/// Parses the runtime files' texts (path, text), merged left to right, on top of `defaults`.
pub fn parse_runtime_config(
    files: &[(String, String)],
    defaults: &Limits,
) -> Result<RuntimeConfig, RuntimeConfigError> {
    let mut merged = Value::Null;
    for (path, text) in files {
        let value: Value =
            serde_yaml_ng::from_str(text).map_err(|error| RuntimeConfigError::Syntax {
                path: path.clone(),
                detail: error.to_string(),
            })?;
        if !value.is_null() {
            config::merge_values(&mut merged, value);
        }
    }
    let mut runtime = RuntimeConfig::default();
    let Value::Mapping(top) = merged else {
        return match merged {
            Value::Null => Ok(runtime),
            _ => Err(RuntimeConfigError::Invalid(
                "the file must be a mapping with `overrides:` and/or `credentials:` keys".into(),
            )),
        };
    };
    for (key, value) in top {
        match key.as_str() {
            Some("overrides") => {
                let tenants = match value {
                    Value::Null => continue,
                    Value::Mapping(tenants) => tenants,
                    _ => {
                        return Err(RuntimeConfigError::Invalid(
                            "overrides must map tenant IDs to limits".into(),
                        ));
                    }
                };
                for (tenant, tenant_limits) in tenants {
                    let tenant = match tenant {
                        Value::String(tenant) => tenant,
                        Value::Number(number) => number.to_string(),
                        other => {
                            return Err(RuntimeConfigError::Invalid(format!(
                                "overrides: tenant ID {other:?} is not a string"
                            )));
                        }
                    };
                    norn_model::tenant::validate_tenant_id(&tenant).map_err(|error| {
                        RuntimeConfigError::Invalid(format!("overrides: {error}"))
                    })?;
                    let limits = tenant_limits_from(&tenant, tenant_limits, defaults)?;
                    runtime.overrides.insert(tenant, Arc::new(limits));
                }
            }
            Some("credentials") => {
                if !value.is_null() {
                    runtime.credentials = credentials_from(value)?;
                }
            }
            other => {
                return Err(RuntimeConfigError::Invalid(format!(
                    "unknown key {:?}; the runtime configuration accepts: overrides, credentials",
                    other.unwrap_or("(not a string)")
                )));
            }
        }
    }
    Ok(runtime)
}

fn tenant_limits_from(
    tenant: &str,
    overlay: Value,
    defaults: &Limits,
) -> Result<Limits, RuntimeConfigError> {
    let invalid =
        |detail: String| RuntimeConfigError::Invalid(format!("overrides.{tenant}: {detail}"));
    let mut tree = config::to_value(defaults).map_err(|error| invalid(error.to_string()))?;
    if !overlay.is_null() {
        if !overlay.is_mapping() {
            return Err(invalid(
                "expected a mapping of limit names to values".into(),
            ));
        }
        config::merge_values(&mut tree, overlay);
    }
    let limits: Limits = config::from_value(tree).map_err(invalid)?;
    limits.validate().map_err(invalid)?;
    Ok(limits)
}

/// The handle roles use to read a tenant's effective limits; cheap to clone.
#[derive(Clone, Debug)]
pub struct Overrides {
    defaults: Arc<Limits>,
    runtime: Arc<RwLock<Arc<RuntimeConfig>>>,
}

impl Overrides {
    /// Returns a handle with `defaults` for every tenant and no runtime overrides yet.
    pub fn new(defaults: Limits) -> Self {
        Self {
            defaults: Arc::new(defaults),
            runtime: Arc::new(RwLock::new(Arc::new(RuntimeConfig::default()))),
        }
    }

    /// Returns the effective limits of `tenant`.
    pub fn limits(&self, tenant: &str) -> Arc<Limits> {
        self.current()
            .overrides
            .get(tenant)
            .cloned()
            .unwrap_or_else(|| Arc::clone(&self.defaults))
    }

    /// Returns the defaults (the `limits:` block).
    pub fn defaults(&self) -> &Limits {
        &self.defaults
    }

    /// Returns the runtime configuration in force.
    pub fn current(&self) -> Arc<RuntimeConfig> {
        match self.runtime.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Returns a credential source for `TenantResolver::with_credentials`: the main
    /// configuration's `static_credentials` plus the runtime file's, as a [`CredentialSet`]
    /// rebuilt once per reload (requests in between share it).
    pub fn credential_source(&self, static_credentials: Vec<Credential>) -> CredentialSource {
        let cache = CredentialCache {
            overrides: self.clone(),
            static_credentials,
            built: RwLock::new(None),
        };
        Arc::new(move || cache.get())
    }

    fn replace(&self, runtime: RuntimeConfig) {
        let runtime = Arc::new(runtime);
        match self.runtime.write() {
            Ok(mut guard) => *guard = runtime,
            Err(poisoned) => *poisoned.into_inner() = runtime,
        }
    }
}

/// The credential set built for one runtime configuration, keyed by that configuration's
/// identity (the `Arc` is kept, so its address cannot be reused by a later one).
struct CredentialCache {
    overrides: Overrides,
    static_credentials: Vec<Credential>,
    built: RwLock<Option<(Arc<RuntimeConfig>, Arc<CredentialSet>)>>,
}

impl CredentialCache {
    fn get(&self) -> Arc<CredentialSet> {
        let runtime = self.overrides.current();
        {
            let built = match self.built.read() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some((key, set)) = built.as_ref()
                && Arc::ptr_eq(key, &runtime)
            {
                return Arc::clone(set);
            }
        }
        let set = Arc::new(CredentialSet::new(
            &self.static_credentials,
            &runtime.credentials,
        ));
        let mut built = match self.built.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *built = Some((runtime, Arc::clone(&set)));
        set
    }
}

/// Metrics of the runtime configuration, under the names Mimir's dashboards use.
#[derive(Clone, Debug, Default)]
pub struct RuntimeConfigMetrics {
    last_reload_successful: Gauge,
    last_reload_successful_timestamp: Gauge,
    config_hash: Family<Vec<(String, String)>, Gauge>,
    reload_failures: Counter,
}

impl RuntimeConfigMetrics {
    /// Registers the metrics in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "cortex_runtime_config_last_reload_successful",
            "Whether the last runtime-config reload attempt was successful",
            metrics.last_reload_successful.clone(),
        );
        registry.register(
            "cortex_runtime_config_last_reload_successful_timestamp_seconds",
            "Timestamp of the last successful runtime-config reload",
            metrics.last_reload_successful_timestamp.clone(),
        );
        registry.register(
            "cortex_runtime_config_hash",
            "Hash of the currently active runtime configuration, merged from all files",
            metrics.config_hash.clone(),
        );
        registry.register(
            "norn_runtime_config_reload_failures",
            "Runtime-config reloads that failed and kept the previous configuration",
            metrics.reload_failures.clone(),
        );
        metrics
    }
}

/// The service that loads and polls the runtime configuration files.
#[derive(Debug)]
pub struct RuntimeConfigService {
    config: RuntimeConfigConfig,
    overrides: Overrides,
    metrics: RuntimeConfigMetrics,
    last_hash: std::sync::Mutex<Option<String>>,
}

impl RuntimeConfigService {
    /// Returns a service that keeps `overrides` in sync with the files of `config`.
    pub fn new(
        config: RuntimeConfigConfig,
        overrides: Overrides,
        metrics: RuntimeConfigMetrics,
    ) -> Self {
        Self {
            config,
            overrides,
            metrics,
            last_hash: std::sync::Mutex::new(None),
        }
    }

    /// Reads and applies the files once. On error nothing changes and the error is returned.
    pub async fn reload(&self) -> Result<(), RuntimeConfigError> {
        let files = self.config.files();
        if files.is_empty() {
            // Nothing to load is not a failure: keep reload alerts quiet on such nodes.
            self.metrics.last_reload_successful.set(1);
            return Ok(());
        }
        let result = self.try_reload(&files).await;
        match &result {
            Ok(()) => {
                self.metrics.last_reload_successful.set(1);
                self.metrics
                    .last_reload_successful_timestamp
                    .set(unix_seconds());
            }
            Err(error) => {
                self.metrics.last_reload_successful.set(0);
                self.metrics.reload_failures.inc();
                tracing::warn!(error = %error, "runtime config reload failed, keeping the previous configuration");
            }
        }
        result
    }

    async fn try_reload(&self, files: &[String]) -> Result<(), RuntimeConfigError> {
        let mut texts = Vec::with_capacity(files.len());
        let mut hasher = Sha256::new();
        for path in files {
            let text = tokio::fs::read_to_string(path).await.map_err(|source| {
                RuntimeConfigError::Read {
                    path: path.clone(),
                    source,
                }
            })?;
            hasher.update(text.as_bytes());
            texts.push((path.clone(), text));
        }
        let hash: String = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        if self.last_hash() == Some(hash.clone()) {
            return Ok(());
        }
        let runtime = parse_runtime_config(&texts, self.overrides.defaults())?;
        self.overrides.replace(runtime);
        self.metrics.config_hash.clear();
        self.metrics
            .config_hash
            .get_or_create(&vec![("sha256".to_owned(), hash.clone())])
            .set(1);
        if let Ok(mut last) = self.last_hash.lock() {
            *last = Some(hash);
        }
        tracing::info!(files = ?files, "runtime config loaded");
        Ok(())
    }

    fn last_hash(&self) -> Option<String> {
        self.last_hash.lock().ok().and_then(|last| last.clone())
    }
}

fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[async_trait]
impl Service for RuntimeConfigService {
    async fn starting(&self, _stop: CancellationToken) -> Result<(), ServiceError> {
        self.reload()
            .await
            .map_err(|error| ServiceError::msg(error.to_string()))
    }

    async fn running(&self, stop: CancellationToken) -> Result<(), ServiceError> {
        if self.config.files().is_empty() {
            stop.cancelled().await;
            return Ok(());
        }
        let mut ticker = tokio::time::interval(self.config.period.get());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = ticker.tick() => {
                    // Failures are logged and counted inside; the previous config stays.
                    let _ = self.reload().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
