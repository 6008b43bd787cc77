//! The root configuration: every component's section under one tree.
//!
//! YAML keys and flags follow Mimir's names for what Norn implements. A value comes from the
//! defaults, then the YAML file (`-config.file`, with `${VAR:default}` expansion under
//! `-config.expand-env`), then flags. [`RootConfig::specs`] lists every key; the configuration
//! reference in `docs/configuration.md` is generated from it and a test keeps it in sync.

use norn_blocks::BlocksStorageConfig;
use norn_common::Duration;
use norn_common::config::{
    self, CommandLine, ConfigError, ConfigSection, FlagKind, FlagSpec, nest,
};
use norn_compactor::CompactorConfig;
use norn_distributor::DistributorConfig;
use norn_http::auth::AuthConfig;
use norn_ingester::IngesterConfig;
use norn_limits::{Limits, RuntimeConfigConfig};
use norn_model::TenantId;
use norn_querier::QuerierConfig;
use serde::{Deserialize, Serialize};

use crate::modules;

/// The whole configuration of a Norn process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RootConfig {
    /// Comma-separated list of modules to run (`all`, `write`, `read`, `backend` or roles).
    pub target: String,
    /// Whether requests must name their tenant in `X-Scope-OrgID`.
    pub multitenancy_enabled: bool,
    /// The tenant of every request when multitenancy is disabled.
    pub no_auth_tenant: String,
    /// Where the HTTP APIs live.
    pub api: ApiConfig,
    /// The HTTP server and logging.
    pub server: ServerConfig,
    /// Reads across several tenants.
    pub tenant_federation: TenantFederationConfig,
    /// Default per-tenant limits.
    pub limits: Limits,
    /// The runtime configuration file with per-tenant overrides.
    pub runtime_config: RuntimeConfigConfig,
    /// Blocks storage: bucket backend and local directories.
    pub blocks_storage: BlocksStorageConfig,
    /// The compactor.
    pub compactor: CompactorConfig,
    /// The distributor: push limits, its ring, HA deduplication.
    pub distributor: DistributorConfig,
    /// The ingester: its ring, instance limits, active series.
    pub ingester: IngesterConfig,
    /// The querier: the PromQL engine and query concurrency.
    pub querier: QuerierConfig,
    /// Built-in credentials (basic auth and bearer tokens mapped to tenants).
    pub auth: AuthConfig,
}

impl Default for RootConfig {
    fn default() -> Self {
        Self {
            target: "all".into(),
            multitenancy_enabled: true,
            no_auth_tenant: "anonymous".into(),
            api: ApiConfig::default(),
            server: ServerConfig::default(),
            tenant_federation: TenantFederationConfig::default(),
            limits: Limits::default(),
            runtime_config: RuntimeConfigConfig::default(),
            blocks_storage: BlocksStorageConfig::default(),
            compactor: CompactorConfig::default(),
            distributor: DistributorConfig::default(),
            ingester: IngesterConfig::default(),
            querier: QuerierConfig::default(),
            auth: AuthConfig::default(),
        }
    }
}

/// The `api:` block: where the Prometheus-compatible read API is served.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// The path prefix of the Prometheus HTTP API (`/prometheus`).
    pub prometheus_http_prefix: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            prometheus_http_prefix: crate::run::PROMETHEUS_PREFIX.into(),
        }
    }
}

impl ApiConfig {
    /// Returns the prefix without a trailing `/` (empty for the root).
    pub fn prometheus_prefix(&self) -> &str {
        self.prometheus_http_prefix.trim_end_matches('/')
    }
}

impl ConfigSection for ApiConfig {
    fn specs() -> Vec<FlagSpec> {
        vec![FlagSpec::new(
            "prometheus_http_prefix",
            "http.prometheus-http-prefix",
            FlagKind::String,
            "HTTP URL path under which the Prometheus API (query, query_range, series, labels, metadata, remote read, ...) is served; Grafana's Prometheus data source URL is http://<host>:<port><prefix>.",
        )]
    }

    fn validate(&self) -> Result<(), String> {
        let prefix = &self.prometheus_http_prefix;
        let valid_characters = prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
        if !prefix.is_empty() && (!prefix.starts_with('/') || !valid_characters) {
            return Err(format!(
                "api.prometheus_http_prefix (-http.prometheus-http-prefix) is {prefix:?}; it must be empty or a path starting with / made of letters, digits, -, _, . and /"
            ));
        }
        if prefix.contains("//") {
            return Err(format!(
                "api.prometheus_http_prefix (-http.prometheus-http-prefix) is {prefix:?}; it must not contain empty segments"
            ));
        }
        Ok(())
    }
}

/// The `server:` block: where the HTTP server listens, how it stops, how it logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The address to listen on; empty means every interface.
    pub http_listen_address: String,
    /// The HTTP port.
    pub http_listen_port: u32,
    /// How long shutdown may take before the process gives up on stuck services.
    pub graceful_shutdown_timeout: Duration,
    /// The lowest log level written: debug, info, warn or error.
    pub log_level: String,
    /// The log format: logfmt or json.
    pub log_format: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            http_listen_address: String::new(),
            http_listen_port: 8080,
            graceful_shutdown_timeout: Duration::from_secs(30),
            log_level: "info".into(),
            log_format: "logfmt".into(),
        }
    }
}

/// Log levels `-log.level` accepts.
pub const LOG_LEVELS: &[&str] = &["debug", "info", "warn", "error"];
/// Log formats `-log.format` accepts.
pub const LOG_FORMATS: &[&str] = &["logfmt", "json"];

impl ConfigSection for ServerConfig {
    fn specs() -> Vec<FlagSpec> {
        vec![
            FlagSpec::new(
                "http_listen_address",
                "server.http-listen-address",
                FlagKind::String,
                "HTTP server listen address; empty listens on every interface.",
            ),
            FlagSpec::new(
                "http_listen_port",
                "server.http-listen-port",
                FlagKind::Uint,
                "HTTP server listen port.",
            ),
            FlagSpec::new(
                "graceful_shutdown_timeout",
                "server.graceful-shutdown-timeout",
                FlagKind::Duration,
                "Time allowed for services to stop after SIGTERM or SIGINT before the process exits with an error.",
            ),
            FlagSpec::new(
                "log_level",
                "log.level",
                FlagKind::String,
                "Only log messages with the given severity or above: debug, info, warn, error.",
            ),
            FlagSpec::new(
                "log_format",
                "log.format",
                FlagKind::String,
                "Output log messages in the given format: logfmt, json.",
            ),
        ]
    }

    fn validate(&self) -> Result<(), String> {
        if self.http_listen_port > u32::from(u16::MAX) {
            return Err(format!(
                "server.http_listen_port (-server.http-listen-port) is {}; it must be between 0 and 65535",
                self.http_listen_port
            ));
        }
        if !LOG_LEVELS.contains(&self.log_level.as_str()) {
            return Err(format!(
                "server.log_level (-log.level) is {:?}; use one of {}",
                self.log_level,
                LOG_LEVELS.join(", ")
            ));
        }
        if !LOG_FORMATS.contains(&self.log_format.as_str()) {
            return Err(format!(
                "server.log_format (-log.format) is {:?}; use one of {}",
                self.log_format,
                LOG_FORMATS.join(", ")
            ));
        }
        self.listen_address()?;
        Ok(())
    }
}

impl ServerConfig {
    /// Returns the socket address to bind, or why the configured address is not one.
    pub fn listen_address(&self) -> Result<std::net::SocketAddr, String> {
        let host = if self.http_listen_address.is_empty() {
            "0.0.0.0"
        } else {
            self.http_listen_address.as_str()
        };
        let port =
            u16::try_from(self.http_listen_port).map_err(|_| "port out of range".to_owned())?;
        let ip: std::net::IpAddr = host.parse().map_err(|_| {
            format!(
                "server.http_listen_address (-server.http-listen-address) is {host:?}; it must be an IP address such as 127.0.0.1 or ::1, or empty for every interface"
            )
        })?;
        Ok(std::net::SocketAddr::new(ip, port))
    }
}

/// The `tenant_federation:` block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantFederationConfig {
    /// Whether reads may name several tenants as `a|b`.
    pub enabled: bool,
}

impl ConfigSection for TenantFederationConfig {
    fn specs() -> Vec<FlagSpec> {
        vec![FlagSpec::new(
            "enabled",
            "tenant-federation.enabled",
            FlagKind::Bool,
            "If enabled, read requests may name several tenants separated by | in X-Scope-OrgID.",
        )]
    }
}

impl ConfigSection for RootConfig {
    fn specs() -> Vec<FlagSpec> {
        let mut specs = vec![
            FlagSpec::new(
                "target",
                "target",
                FlagKind::String,
                "Comma-separated list of modules to run: all, write (distributor, ingester), read (query-frontend, querier), backend (store-gateway, compactor), or single roles: distributor, ingester, querier, query-frontend, store-gateway, compactor.",
            ),
            FlagSpec::new(
                "multitenancy_enabled",
                "auth.multitenancy-enabled",
                FlagKind::Bool,
                "When true, every request must name its tenant in the X-Scope-OrgID header; when false, every request belongs to the no-auth tenant.",
            ),
            FlagSpec::new(
                "no_auth_tenant",
                "auth.no-auth-tenant",
                FlagKind::String,
                "Tenant ID used for every request when multitenancy is disabled.",
            ),
        ];
        specs.extend(nest("api", ApiConfig::specs()));
        specs.extend(nest("server", ServerConfig::specs()));
        specs.extend(nest("tenant_federation", TenantFederationConfig::specs()));
        specs.extend(nest("limits", Limits::specs()));
        specs.extend(nest("runtime_config", RuntimeConfigConfig::specs()));
        specs.extend(nest("blocks_storage", BlocksStorageConfig::specs()));
        specs.extend(nest("compactor", CompactorConfig::specs()));
        specs.extend(nest("distributor", DistributorConfig::specs()));
        specs.extend(nest("ingester", IngesterConfig::specs()));
        specs.extend(nest("querier", QuerierConfig::specs()));
        specs.extend(nest("auth", AuthConfig::specs()));
        specs
    }

    fn validate(&self) -> Result<(), String> {
        modules::parse_target(&self.target)?;
        TenantId::new(&self.no_auth_tenant).map_err(|error| {
            format!("no_auth_tenant (-auth.no-auth-tenant) is not a valid tenant ID: {error}")
        })?;
        self.api.validate()?;
        self.server.validate()?;
        self.tenant_federation.validate()?;
        self.limits.validate()?;
        self.runtime_config.validate()?;
        self.blocks_storage.validate()?;
        self.compactor.validate()?;
        self.distributor.validate()?;
        self.ingester.validate()?;
        self.querier.validate()?;
        self.auth.validate()?;
        Ok(())
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Run Norn with this configuration.
    Run(Box<RootConfig>),
    /// Print this text (the flag list) and exit successfully.
    Help(String),
    /// Print the version and exit successfully.
    Version(String),
}

/// Parses `args` (without the program name), reads the config file and builds the config.
pub fn load_from_args<I, S>(
    args: I,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Invocation, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let specs = RootConfig::specs();
    let line: CommandLine = config::parse_command_line(args, &specs)?;
    if line.help {
        let defaults = config::to_value(&RootConfig::default())?;
        return Ok(Invocation::Help(config::render_help(&specs, &defaults)));
    }
    if line.version {
        return Ok(Invocation::Version(version_text()));
    }
    let text = match &line.config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
                path: path.clone(),
                source,
            })?;
            Some(if line.expand_env {
                config::expand_env(&text, env)
            } else {
                text
            })
        }
        None => None,
    };
    let file = match (&line.config_file, &text) {
        (Some(path), Some(text)) => Some((path.as_str(), text.as_str())),
        _ => None,
    };
    let root: RootConfig = config::load(file, &line.overrides)?;
    Ok(Invocation::Run(Box::new(root)))
}

/// Returns the text `-version` prints.
pub fn version_text() -> String {
    format!(
        "norn, version {} (revision: {})\n  build toolchain: {}",
        crate::VERSION,
        crate::REVISION,
        crate::RUSTC_VERSION
    )
}

/// Renders `docs/configuration.md`: every key with its flag, type, default and meaning.
///
/// A test compares the file with this output, so the reference cannot drift from the code;
/// `NORN_UPDATE_DOCS=1 cargo test -p norn-server` rewrites it.
pub fn reference_markdown() -> Result<String, ConfigError> {
    use std::fmt::Write as _;
    let defaults = config::to_value(&RootConfig::default())?;
    let mut out = String::from(REFERENCE_INTRO);
    let mut current_section = String::new();
    for spec in RootConfig::specs() {
        let section = match spec.path.split_once('.') {
            Some((section, _)) => section.to_owned(),
            None => "(top level)".to_owned(),
        };
        if section != current_section {
            let _ = write!(
                out,
                "\n## `{section}`\n\n| YAML key | Flag | Type | Default | Meaning |\n| --- | --- | --- | --- | --- |\n"
            );
            current_section = section;
        }
        let flag = spec
            .flag
            .map(|flag| format!("`-{flag}`"))
            .unwrap_or_else(|| "(YAML only)".into());
        let default = config::format_default(config::get_path(&defaults, &spec.path));
        let _ = writeln!(
            out,
            "| `{}` | {flag} | {} | `{}` | {} |",
            spec.path,
            spec.kind.type_name(),
            default,
            spec.help.replace('|', "\\|")
        );
    }
    Ok(out)
}

const REFERENCE_INTRO: &str = "<!-- Generated from the configuration structs by `NORN_UPDATE_DOCS=1 cargo test -p norn-server`; do not edit by hand. -->
# Configuration reference

Norn reads one YAML file (`-config.file`) and command-line flags. A value comes from, in
increasing precedence: the default below, the YAML file, then the flag. Flags take the forms
`-flag=value`, `-flag value`, `--flag=value`, and `-flag` alone for a boolean (meaning true;
write `-flag=false` to turn one off), as Mimir's do.

- `-config.file <path>`: the YAML file to load. Keys are the dotted paths below, nested as YAML
  mappings (`server.http_listen_port` is `server:` then `http_listen_port:`).
- `-config.expand-env`: before parsing, replace `${VAR}` with the environment variable `VAR`,
  `${VAR:default}` with `VAR` or `default` when `VAR` is unset or empty, and `$VAR` likewise.
  A `$` that starts no variable is kept.
- `-help` prints every flag with its default; `-version` prints the version.

An unknown key, a value of the wrong type or a value out of range stops Norn before it binds a
port, with one line naming the key, the problem and (for the file) its line and column. Relative
paths are relative to the working directory.

`GET /config` shows the effective configuration (secrets shown as `********`),
`/config?mode=diff` only what differs from the defaults, `/config?mode=defaults` the defaults.

## Runtime configuration

The file named by `-runtime-config.file` (a comma-separated list is merged left to right) holds
per-tenant overrides of the `limits` keys below and is re-read every
`-runtime-config.reload-period` without a restart:

```yaml
overrides:
  tenant-a:
    ingestion_rate: 50000
    max_global_series_per_user: 2000000
```

A tenant's override starts from the `limits:` block and replaces only the keys it names. A file
that cannot be read or parsed is refused as a whole: the previous configuration stays in force,
the error is logged, `cortex_runtime_config_last_reload_successful` drops to 0 and
`norn_runtime_config_reload_failures_total` counts it. At start-up a broken runtime file stops
Norn. `GET /runtime_config` shows the configuration in force, `?mode=diff` only the overridden
keys.

The distributor and the ingester enforce the write-path `limits` keys; [write-path.md](write-path.md)
says how and with which error IDs. The querier enforces the query keys
(`max_fetched_series_per_query`, `max_fetched_chunks_per_query`, `max_query_lookback`,
`max_partial_query_length`, `max_total_query_length`, `query_ingesters_within`); a read over
several tenants (`a|b`) uses the smallest non-zero value of its tenants.

The runtime file may also hold `credentials:`, a list shaped like `auth.credentials` below; they
are added to the configured ones (a runtime credential with the same username or token wins)
and take effect on the next request after a reload:

```yaml
credentials:
  - tenants: [tenant-a]
    username: grafana
    password: s3cret
```
";

#[cfg(test)]
mod tests;
