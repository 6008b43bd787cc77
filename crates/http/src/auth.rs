//! Built-in per-tenant credentials: HTTP basic auth and bearer tokens mapped to tenants.
//!
//! Mimir authenticates nothing itself: a gateway in front of it checks credentials and sets
//! `X-Scope-OrgID`. Norn can do the common case itself, so a small installation needs no
//! gateway. The `auth:` block lists credentials, each granting one or more tenants:
//!
//! ```yaml
//! auth:
//!   credentials:
//!     - tenants: [team-a]        # the tenant IDs this credential may act as
//!       username: alice          # basic auth, with password
//!       password: s3cret
//!     - tenants: [team-b, team-c]
//!       token: abc123            # bearer token
//! ```
//!
//! The runtime configuration file may add a `credentials:` list of the same shape (reloaded
//! without a restart); see `norn-limits`. With no credential anywhere nothing changes. With at
//! least one, [`TenantResolver`](crate::TenantResolver) refuses every tenant-scoped request that
//! does not carry a matching `Authorization` header, and checks `X-Scope-OrgID` against the
//! tenants the credential grants.
//!
//! - [`credential`]: [`Credential`], one validated credential, and the list checks.
//! - [`set`]: [`CredentialSet`], the credentials in force indexed for constant-time checks.

pub mod credential;
pub mod set;

#[cfg(test)]
mod tests;

use norn_common::config::{ConfigSection, FlagKind, FlagSpec};
use serde::{Deserialize, Serialize};

pub use credential::{Credential, CredentialError, check_unique, serialize_redacted};
pub use set::{CredentialSet, CredentialSource};

/// The `auth:` block: credentials checked on every tenant-scoped request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The credentials; empty (the default) means requests need none.
    pub credentials: Vec<Credential>,
}

impl ConfigSection for AuthConfig {
    /// The list itself, and the keys of its elements under `credentials[]` (secrets marked for
    /// redaction on `/config`).
    fn specs() -> Vec<FlagSpec> {
        vec![
            FlagSpec::yaml_only(
                "credentials",
                FlagKind::List,
                "Credentials accepted on every tenant-scoped request, each a mapping with tenants and either username and password (HTTP basic auth) or token (bearer token). Empty disables the check; the runtime configuration file may add more.",
            ),
            FlagSpec::yaml_only(
                "credentials[].tenants",
                FlagKind::List,
                "Tenant IDs the credential may act as. A request may name any of them in X-Scope-OrgID; without the header the credential acts as its only tenant.",
            ),
            FlagSpec::yaml_only(
                "credentials[].username",
                FlagKind::String,
                "HTTP basic-auth username (unique, without ':'); needs password.",
            ),
            FlagSpec::yaml_only(
                "credentials[].password",
                FlagKind::String,
                "HTTP basic-auth password of username.",
            )
            .secret(),
            FlagSpec::yaml_only(
                "credentials[].token",
                FlagKind::String,
                "Bearer token (unique, printable ASCII), sent as Authorization: Bearer <token>; instead of username and password.",
            )
            .secret(),
        ]
    }

    fn validate(&self) -> Result<(), String> {
        check_unique(&self.credentials, "auth.credentials")
    }
}
