//! Shared plumbing every Norn crate may use (layer 1).
//!
//! - [`service`]: the service lifecycle (New → Starting → Running → Stopping →
//!   Terminated/Failed) and the [`service::ServiceManager`] that starts services in dependency
//!   order and stops them in reverse order, after dskit's services package.
//! - [`config`]: the configuration vocabulary shared by every component: Mimir-style command line
//!   flags mapped onto YAML paths, YAML loading with `${VAR:default}` expansion, and the rule
//!   that a config value comes from defaults, then the YAML file, then flags.
//! - [`fs`]: directory checks the data-owning roles run on start.
//! - [`duration`]: durations written the way Go and Prometheus write them (`15s`, `1h30m`).

pub mod config;
pub mod duration;
pub mod fs;
pub mod service;
pub mod time;

pub use duration::Duration;
