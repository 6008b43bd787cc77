//! Shared HTTP plumbing for every role (layer 3), on axum.
//!
//! - [`tenant`]: the `X-Scope-OrgID` extractors ([`Tenant`] for writes, [`Tenants`] for reads
//!   that may federate `a|b`), with Mimir's validation rules and status codes, and the
//!   credentials check in front of them.
//! - [`auth`]: built-in per-tenant credentials (HTTP basic auth, bearer tokens): the `auth:`
//!   config block ([`AuthConfig`]) and the set of credentials in force ([`CredentialSet`]).
//! - [`body`]: reading a request body under a size limit and undoing gzip or snappy.
//! - [`middleware`]: request logging (method, path, tenant, status, duration) and the request
//!   metrics Mimir's dashboards read.
//! - [`error`]: [`HttpError`], the plain-text error response the write path and admin
//!   endpoints answer with.

pub mod auth;
pub mod body;
pub mod error;
pub mod middleware;
pub mod tenant;

pub use auth::{AuthConfig, Credential, CredentialSet, CredentialSource};
pub use error::HttpError;
pub use middleware::HttpMetrics;
pub use tenant::{Tenant, TenantResolver, Tenants};
