//! One credential: the tenants it may act as and its secret, a basic-auth user or a token.
//!
//! In YAML a credential is `{tenants: [...], username: ..., password: ...}` or
//! `{tenants: [...], token: ...}`. [`Credential`] deserializes through that raw shape and
//! validates it on the way in, so a value of this type is always usable; the checks that span
//! a whole list (no username or token twice) are [`check_unique`]'s. Secrets never appear in
//! `Debug` output, and [`serialize_redacted`] writes a list with its secrets masked.

use std::collections::HashMap;
use std::fmt;

use norn_model::tenant::{TenantId, TenantIdError};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a redacted secret looks like, as on `/config`.
const REDACTED: &str = "********";

/// A validated credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    tenants: Vec<TenantId>,
    secret: Secret,
}

/// The secret half of a credential.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Secret {
    /// HTTP basic auth.
    Basic { username: String, password: String },
    /// `Authorization: Bearer <token>`.
    Bearer { token: String },
}

/// Why a credential was rejected; the message says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// `tenants` is missing or empty.
    #[error("tenants is empty: list the tenant IDs this credential may act as")]
    NoTenants,
    /// A tenant ID breaks the tenant ID rules.
    #[error("tenants: {0}")]
    InvalidTenant(#[from] TenantIdError),
    /// Neither a username/password pair nor a token.
    #[error("no secret: give username and password (basic auth) or token (bearer token)")]
    NoSecret,
    /// Both a username/password pair and a token.
    #[error("give either username and password (basic auth) or token (bearer token), not both")]
    BothSecrets,
    /// A password without a username.
    #[error("password is set but username is empty")]
    MissingUsername,
    /// A username without a password.
    #[error("username {0:?} has no password")]
    MissingPassword(String),
    /// A username basic auth cannot carry.
    #[error("username {0:?} contains ':', which basic auth cannot carry")]
    ColonInUsername(String),
    /// A token that cannot travel in an `Authorization` header.
    #[error(
        "token must be printable ASCII without spaces, as it is sent in `Authorization: Bearer <token>`"
    )]
    InvalidToken,
}

/// The YAML shape of a credential.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawCredential {
    tenants: Vec<String>,
    username: String,
    password: String,
    token: String,
}

impl RawCredential {
    fn validate(self) -> Result<Credential, CredentialError> {
        if self.tenants.is_empty() {
            return Err(CredentialError::NoTenants);
        }
        let mut tenants = self
            .tenants
            .iter()
            .map(|id| TenantId::new(id))
            .collect::<Result<Vec<_>, _>>()?;
        tenants.sort();
        tenants.dedup();
        let basic = !self.username.is_empty() || !self.password.is_empty();
        let secret = match (basic, self.token.is_empty()) {
            (true, false) => return Err(CredentialError::BothSecrets),
            (false, true) => return Err(CredentialError::NoSecret),
            (false, false) => {
                if !self.token.bytes().all(|byte| byte.is_ascii_graphic()) {
                    return Err(CredentialError::InvalidToken);
                }
                Secret::Bearer { token: self.token }
            }
            (true, true) => {
                if self.username.is_empty() {
                    return Err(CredentialError::MissingUsername);
                }
                if self.password.is_empty() {
                    return Err(CredentialError::MissingPassword(self.username));
                }
                if self.username.contains(':') {
                    return Err(CredentialError::ColonInUsername(self.username));
                }
                Secret::Basic {
                    username: self.username,
                    password: self.password,
                }
            }
        };
        Ok(Credential { tenants, secret })
    }
}

impl Credential {
    /// Returns a basic-auth credential for `tenants`, validated as the YAML form is.
    pub fn basic(
        tenants: &[&str],
        username: &str,
        password: &str,
    ) -> Result<Self, CredentialError> {
        RawCredential {
            tenants: tenants.iter().map(|id| (*id).to_owned()).collect(),
            username: username.to_owned(),
            password: password.to_owned(),
            token: String::new(),
        }
        .validate()
    }

    /// Returns a bearer-token credential for `tenants`, validated as the YAML form is.
    pub fn bearer(tenants: &[&str], token: &str) -> Result<Self, CredentialError> {
        RawCredential {
            tenants: tenants.iter().map(|id| (*id).to_owned()).collect(),
            token: token.to_owned(),
            ..RawCredential::default()
        }
        .validate()
    }

    /// Returns the tenants this credential may act as, sorted and de-duplicated.
    pub fn tenants(&self) -> &[TenantId] {
        &self.tenants
    }

    /// Returns the basic-auth username, or `None` for a bearer token.
    pub fn username(&self) -> Option<&str> {
        match &self.secret {
            Secret::Basic { username, .. } => Some(username),
            Secret::Bearer { .. } => None,
        }
    }

    pub(crate) fn secret(&self) -> &Secret {
        &self.secret
    }

    fn serialize_fields<S: Serializer>(
        &self,
        serializer: S,
        redact: bool,
    ) -> Result<S::Ok, S::Error> {
        let shown = |secret: &'_ str| -> String {
            if redact {
                REDACTED.to_owned()
            } else {
                secret.to_owned()
            }
        };
        let mut map = serializer.serialize_map(Some(3))?;
        let tenants: Vec<&str> = self.tenants.iter().map(TenantId::as_str).collect();
        map.serialize_entry("tenants", &tenants)?;
        match &self.secret {
            Secret::Basic { username, password } => {
                map.serialize_entry("username", username)?;
                map.serialize_entry("password", &shown(password))?;
            }
            Secret::Bearer { token } => map.serialize_entry("token", &shown(token))?,
        }
        map.end()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Credential");
        debug.field("tenants", &self.tenants);
        match &self.secret {
            Secret::Basic { username, .. } => debug
                .field("username", username)
                .field("password", &REDACTED),
            Secret::Bearer { .. } => debug.field("token", &REDACTED),
        };
        debug.finish()
    }
}

/// Writes the credential as its YAML shape, secrets included (the config must round-trip).
impl Serialize for Credential {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_fields(serializer, false)
    }
}

impl<'de> Deserialize<'de> for Credential {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawCredential::deserialize(deserializer)?
            .validate()
            .map_err(serde::de::Error::custom)
    }
}

struct RedactedCredential<'a>(&'a Credential);

impl Serialize for RedactedCredential<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_fields(serializer, true)
    }
}

/// Serializes `credentials` with every password and token shown as `********`.
///
/// Use it as `#[serde(serialize_with = "norn_http::auth::serialize_redacted")]` on a field
/// that is only ever displayed, never read back.
pub fn serialize_redacted<S: Serializer>(
    credentials: &[Credential],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(credentials.len()))?;
    for credential in credentials {
        seq.serialize_element(&RedactedCredential(credential))?;
    }
    seq.end()
}

/// Checks that no username and no token appears twice in `credentials`.
///
/// `path` names the list in messages, e.g. `auth.credentials` gives
/// `auth.credentials[2]: username "alice" is already used by auth.credentials[0]`.
pub fn check_unique(credentials: &[Credential], path: &str) -> Result<(), String> {
    let mut usernames: HashMap<&str, usize> = HashMap::new();
    let mut tokens: HashMap<&str, usize> = HashMap::new();
    for (index, credential) in credentials.iter().enumerate() {
        match &credential.secret {
            Secret::Basic { username, .. } => {
                if let Some(first) = usernames.insert(username, index) {
                    return Err(format!(
                        "{path}[{index}]: username {username:?} is already used by {path}[{first}]; usernames must be unique"
                    ));
                }
            }
            Secret::Bearer { token } => {
                if let Some(first) = tokens.insert(token, index) {
                    return Err(format!(
                        "{path}[{index}]: the token is already used by {path}[{first}]; tokens must be unique"
                    ));
                }
            }
        }
    }
    Ok(())
}
