//! The composition of Norn (layer 5): everything the `norn` binary runs.
//!
//! - [`config`]: [`RootConfig`], the whole configuration tree composed from each component's
//!   section, and [`config::load_from_args`] (defaults < YAML file < flags).
//! - [`modules`]: the module graph behind `-target` (which services run, in which order).
//! - [`run`](mod@run): builds the services and the HTTP router for a configuration and runs them
//!   until a stop request or a failure.
//! - [`api`]: the endpoints every process serves (`/ready`, `/metrics`, `/config`,
//!   `/runtime_config`, `/services`).
//! - [`http_server`]: the HTTP listener as a service.
//! - [`metrics`]: build info, process and service-state metrics.
//! - [`logging`]: the `tracing` subscriber (logfmt or JSON on stderr).

pub mod api;
pub mod config;
pub mod http_server;
pub mod logging;
pub mod metrics;
pub mod modules;
pub mod rings;
pub mod run;

pub use config::RootConfig;
pub use run::{RunError, run};

/// Norn's version, from the workspace manifest.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git revision Norn was built from (`unknown` outside a checkout).
pub const REVISION: &str = env!("NORN_GIT_REVISION");

/// The compiler that built Norn.
pub const RUSTC_VERSION: &str = env!("NORN_RUSTC_VERSION");
