//! Which metric and label names are valid, per the tenant's `name_validation_scheme`.
//!
//! The rules are Prometheus's (`prometheus/common` `model.ValidationScheme`): under `utf8`
//! (Prometheus 3, Mimir's default) any non-empty UTF-8 string is a valid name; under `legacy`
//! metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*` and label names `[a-zA-Z_][a-zA-Z0-9_]*`.
//! Names arrive as `&str`, so they are UTF-8 already and only emptiness matters under `utf8`.

/// The name validation scheme of a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NameScheme {
    /// Any non-empty UTF-8 name.
    Utf8,
    /// Prometheus 2's ASCII character sets.
    Legacy,
}

impl NameScheme {
    /// Reads `limits.name_validation_scheme`; the config validation only lets `utf8` and
    /// `legacy` through, and anything but `legacy` means `utf8`.
    pub(super) fn from_config(scheme: &str) -> Self {
        if scheme == "legacy" {
            NameScheme::Legacy
        } else {
            NameScheme::Utf8
        }
    }

    /// Returns whether `name` is a valid metric name (the value of `__name__`).
    pub(super) fn is_valid_metric_name(self, name: &str) -> bool {
        match self {
            NameScheme::Utf8 => !name.is_empty(),
            NameScheme::Legacy => is_legacy_name(name, true),
        }
    }

    /// Returns whether `name` is a valid label name.
    pub(super) fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameScheme::Utf8 => !name.is_empty(),
            NameScheme::Legacy => is_legacy_name(name, false),
        }
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, with `:` also allowed anywhere when `allow_colon`.
fn is_legacy_name(name: &str, allow_colon: bool) -> bool {
    let Some((first, rest)) = name.as_bytes().split_first() else {
        return false;
    };
    let allowed =
        |byte: u8| byte.is_ascii_alphabetic() || byte == b'_' || (allow_colon && byte == b':');
    allowed(*first)
        && rest
            .iter()
            .all(|&byte| allowed(byte) || byte.is_ascii_digit())
}
