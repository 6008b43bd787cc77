//! The credentials in force, indexed so that checking a request is cheap and leaks no secret.
//!
//! A [`CredentialSet`] is built once per change (start-up, runtime-file reload) from the
//! config's credentials and the runtime file's; a username or token in both takes the runtime
//! file's grant. It keeps SHA-256 digests of the secrets, not the secrets:
//!
//! - basic auth looks the username up (usernames are not secret), then compares the digest of
//!   the presented password with the stored one in constant time (`subtle`). An unknown user is
//!   compared against a fixed digest, so the time taken does not reveal which users exist; this
//!   is what Prometheus' exporter-toolkit does with its fake bcrypt hash.
//! - bearer tokens are found by the first 8 bytes of their digest, then every candidate's full
//!   digest is compared in constant time. Comparing digests of equal length also hides the
//!   length of the secret.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use axum::http::HeaderValue;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use norn_model::TenantId;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::credential::{Credential, Secret};

/// Where a [`TenantResolver`](crate::TenantResolver) reads the credentials in force, on every
/// request; it should return a cached set and rebuild it only when the credentials change.
pub type CredentialSource = Arc<dyn Fn() -> Arc<CredentialSet> + Send + Sync>;

/// Standard base64 for basic auth; padding is optional, as some clients leave it out.
const BASIC_AUTH_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

type SecretDigest = [u8; 32];

/// What an unknown username's password is compared against, so the comparison still happens.
const UNKNOWN_USER_DIGEST: SecretDigest = [0; 32];

#[derive(Clone)]
struct Grant {
    digest: SecretDigest,
    tenants: Vec<TenantId>,
}

/// The credentials in force; empty means requests need no credentials.
#[derive(Clone, Default)]
pub struct CredentialSet {
    users: HashMap<String, Grant>,
    tokens: HashMap<u64, Vec<Grant>>,
}

impl CredentialSet {
    /// Builds the set from the config's credentials and the runtime file's; for a username or
    /// token present in both, the runtime file's credential wins (and a later one within a
    /// list wins over an earlier one, which validation forbids anyway).
    pub fn new(static_credentials: &[Credential], runtime_credentials: &[Credential]) -> Self {
        let mut set = Self::default();
        for credential in static_credentials.iter().chain(runtime_credentials) {
            set.insert(credential);
        }
        set
    }

    fn insert(&mut self, credential: &Credential) {
        let tenants = credential.tenants().to_vec();
        match credential.secret() {
            Secret::Basic { username, password } => {
                let grant = Grant {
                    digest: digest(password.as_bytes()),
                    tenants,
                };
                self.users.insert(username.clone(), grant);
            }
            Secret::Bearer { token } => {
                let digest = digest(token.as_bytes());
                let candidates = self.tokens.entry(bucket(&digest)).or_default();
                candidates.retain(|candidate| candidate.digest != digest);
                candidates.push(Grant { digest, tenants });
            }
        }
    }

    /// Returns true when the set holds no credential (requests are then not checked).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }

    /// Returns how many credentials the set holds.
    pub fn len(&self) -> usize {
        self.users.len() + self.tokens.values().map(Vec::len).sum::<usize>()
    }

    /// Returns the tenants granted to the request's `Authorization` header value, or `None`
    /// when it is missing, malformed, of another scheme or matches no credential.
    ///
    /// Accepted forms: `Basic <base64 of username:password>` and `Bearer <token>` (the scheme
    /// in any case, as RFC 7235 allows).
    pub fn authenticate(&self, authorization: Option<&HeaderValue>) -> Option<&[TenantId]> {
        let value = authorization?.to_str().ok()?;
        let (scheme, rest) = value.trim_start().split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = BASIC_AUTH_BASE64.decode(rest).ok()?;
            let colon = decoded.iter().position(|&byte| byte == b':')?;
            self.check_password(&decoded[..colon], &decoded[colon + 1..])
        } else if scheme.eq_ignore_ascii_case("bearer") {
            self.check_token(rest)
        } else {
            None
        }
    }

    fn check_password(&self, username: &[u8], password: &[u8]) -> Option<&[TenantId]> {
        let grant = std::str::from_utf8(username)
            .ok()
            .and_then(|username| self.users.get(username));
        let expected = grant.map_or(&UNKNOWN_USER_DIGEST, |grant| &grant.digest);
        let matches = bool::from(digest(password).ct_eq(expected));
        grant
            .filter(|_| matches)
            .map(|grant| grant.tenants.as_slice())
    }

    fn check_token(&self, token: &str) -> Option<&[TenantId]> {
        let presented = digest(token.as_bytes());
        let candidates = self.tokens.get(&bucket(&presented))?;
        let mut found = None;
        // Every candidate is compared: no early exit on the first match.
        for candidate in candidates {
            if bool::from(candidate.digest.ct_eq(&presented)) {
                found = Some(candidate.tenants.as_slice());
            }
        }
        found
    }

    /// Returns a source that always yields this set (for credentials that never change).
    pub fn into_source(self) -> CredentialSource {
        let set = Arc::new(self);
        Arc::new(move || Arc::clone(&set))
    }
}

impl fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut usernames: Vec<&str> = self.users.keys().map(String::as_str).collect();
        usernames.sort_unstable();
        f.debug_struct("CredentialSet")
            .field("usernames", &usernames)
            .field("tokens", &self.tokens.values().map(Vec::len).sum::<usize>())
            .finish()
    }
}

fn digest(secret: &[u8]) -> SecretDigest {
    Sha256::digest(secret).into()
}

fn bucket(digest: &SecretDigest) -> u64 {
    let mut prefix = [0; 8];
    prefix.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(prefix)
}
