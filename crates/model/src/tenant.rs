//! Tenant identifiers and the rules they follow.
//!
//! Every request belongs to a tenant named by the `X-Scope-OrgID` header. The rules are
//! Mimir's (dskit's `tenant.ValidTenantID`): at most 150 bytes of `A-Z a-z 0-9 ! - _ . * ' ( )`,
//! not `.` or `..` (they would escape the tenant's folder in the bucket), and not the reserved
//! `__mimir_cluster`. Several tenants joined by `|` form a federated read.

use std::fmt;

/// The longest tenant ID accepted, in bytes.
pub const MAX_TENANT_ID_LENGTH: usize = 150;

/// The separator between tenants of a federated read (`a|b`).
pub const TENANT_SEPARATOR: char = '|';

/// A validated tenant ID.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(String);

/// Why a tenant ID was rejected; the message matches Mimir's wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TenantIdError {
    /// The ID is empty.
    #[error("tenant ID is empty")]
    Empty,
    /// The ID is longer than [`MAX_TENANT_ID_LENGTH`].
    #[error("tenant ID is too long: max {MAX_TENANT_ID_LENGTH} characters")]
    TooLong,
    /// The ID contains a character outside the allowed set.
    #[error("tenant ID '{id}' contains unsupported character '{character}'")]
    UnsupportedCharacter {
        /// The offending ID.
        id: String,
        /// The first character not allowed.
        character: char,
    },
    /// The ID is `.` or `..`.
    #[error("tenant ID is '.' or '..'")]
    Dots,
    /// The ID is reserved for internal use.
    #[error("tenant ID '{0}' is reserved")]
    Reserved(String),
}

impl TenantId {
    /// Validates `id` and wraps it.
    pub fn new(id: &str) -> Result<Self, TenantIdError> {
        validate_tenant_id(id)?;
        Ok(Self(id.to_owned()))
    }

    /// Returns the ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Checks one tenant ID against Mimir's rules.
pub fn validate_tenant_id(id: &str) -> Result<(), TenantIdError> {
    if id.is_empty() {
        return Err(TenantIdError::Empty);
    }
    if id.len() > MAX_TENANT_ID_LENGTH {
        return Err(TenantIdError::TooLong);
    }
    if let Some(character) = id.chars().find(|c| !is_supported_character(*c)) {
        return Err(TenantIdError::UnsupportedCharacter {
            id: id.to_owned(),
            character,
        });
    }
    if id == "." || id == ".." {
        return Err(TenantIdError::Dots);
    }
    if id == "__mimir_cluster" {
        return Err(TenantIdError::Reserved(id.to_owned()));
    }
    Ok(())
}

fn is_supported_character(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '!' | '-' | '_' | '.' | '*' | '\'' | '(' | ')')
}

/// Splits a header value such as `b|a|b` into validated IDs, sorted and de-duplicated.
pub fn parse_tenant_ids(header: &str) -> Result<Vec<TenantId>, TenantIdError> {
    let mut ids = header
        .split(TENANT_SEPARATOR)
        .map(TenantId::new)
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_mimir_character_set() {
        for id in [
            "anonymous",
            "team-a",
            "A_b.c*d'e(f)!",
            "1",
            &"x".repeat(150),
        ] {
            assert!(TenantId::new(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn rejects_with_mimir_messages() {
        assert_eq!(
            TenantId::new("a/b").unwrap_err().to_string(),
            "tenant ID 'a/b' contains unsupported character '/'"
        );
        assert_eq!(
            TenantId::new(&"x".repeat(151)).unwrap_err().to_string(),
            "tenant ID is too long: max 150 characters"
        );
        assert_eq!(TenantId::new("."), Err(TenantIdError::Dots));
        assert_eq!(TenantId::new(".."), Err(TenantIdError::Dots));
        assert_eq!(TenantId::new(""), Err(TenantIdError::Empty));
        assert!(matches!(
            TenantId::new("__mimir_cluster"),
            Err(TenantIdError::Reserved(_))
        ));
        assert!(TenantId::new("tenant with space").is_err());
    }

    #[test]
    fn federated_ids_are_sorted_and_unique() {
        let ids = parse_tenant_ids("b|a|b").unwrap();
        let names: Vec<&str> = ids.iter().map(TenantId::as_str).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(parse_tenant_ids("a||b").is_err());
    }
}
