//! The Prometheus data model as Norn uses it everywhere (layer 0):
//!
//! - [`labels`]: compact, sorted label sets with Prometheus's hash and ordering.
//! - [`matcher`]: `=`, `!=`, `=~`, `!~` with Prometheus's anchored regex semantics.
//! - [`tenant`]: tenant identifiers and Mimir's rules for them.
//!
//! This crate stays pure: no I/O, no async runtime, so every layer may depend on it.

pub mod labels;
pub mod matcher;
pub mod tenant;

pub use labels::{Label, Labels, LabelsError};
pub use matcher::{MatchType, Matcher, MatcherError};
pub use tenant::{TenantId, TenantIdError};
