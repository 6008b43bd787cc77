//! Per-tenant limits and their runtime overrides (layer 3).
//!
//! - [`Limits`]: the `limits:` block of the configuration, the defaults every tenant gets.
//! - [`runtime`]: the runtime configuration file (`-runtime-config.file`) whose `overrides:`
//!   replace limits per tenant. It is polled every `-runtime-config.reload-period` and reloaded
//!   without a restart; a broken file never takes effect, the last good one stays.
//! - [`Overrides`]: the handle the roles ask for a tenant's effective limits.

pub mod discards;
pub mod error_id;
pub mod limits;
pub mod runtime;

pub use discards::DiscardMetrics;
pub use error_id::ErrorId;
pub use limits::Limits;
pub use runtime::{
    Overrides, RuntimeConfig, RuntimeConfigConfig, RuntimeConfigError, RuntimeConfigMetrics,
    RuntimeConfigService,
};
