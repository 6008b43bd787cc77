//! The Prometheus data model as Norn uses it everywhere (layer 0): tenant identifiers now;
//! labels, matchers, samples, series and block identifiers arrive with the TSDB engine.
//!
//! This crate stays pure: no I/O, no async runtime, so every layer may depend on it.

pub mod tenant;

pub use tenant::{TenantId, TenantIdError};
