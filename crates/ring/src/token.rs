//! The ring token of a series or a tenant: where on the 32-bit ring a key lands.
//!
//! The distributor places each series by hashing the tenant ID and then every label name and
//! value, in order, with the 32-bit FNV hash. This is Mimir's `ShardByAllLabelAdapters`
//! (`pkg/mimirpb`), reached from the distributor's `tokenForLabels`. Mimir's `HashAdd32` is
//! the FNV-**1** variant (multiply by the prime, then XOR the byte — the order of Go's
//! `hash/fnv.New32`), not FNV-1a, even though the brief of this crate said FNV-1a: the token
//! must equal Mimir's so the same series lands on the same place, so FNV-1 it is.
//!
//! The hash is not length-prefixed: `("ab", "c")` and `("a", "bc")` hash the same, as in Mimir.

/// The 32-bit FNV offset basis.
const FNV32_OFFSET_BASIS: u32 = 2_166_136_261;
/// The 32-bit FNV prime.
const FNV32_PRIME: u32 = 16_777_619;

/// Adds `bytes` to a running 32-bit FNV-1 hash (Mimir's `HashAdd32`).
fn fnv1_32_add(mut hash: u32, bytes: &[u8]) -> u32 {
    for &byte in bytes {
        hash = hash.wrapping_mul(FNV32_PRIME);
        hash ^= u32::from(byte);
    }
    hash
}

/// Returns the token of a tenant alone (Mimir's `ShardByUser`): the seed every series token of
/// that tenant starts from.
pub fn token_for_tenant(tenant: &str) -> u32 {
    fnv1_32_add(FNV32_OFFSET_BASIS, tenant.as_bytes())
}

/// Returns the token of a series: the tenant, then each label's name and value in the order
/// given (Mimir's `ShardByAllLabelAdapters`). Labels must be in the series' canonical (sorted)
/// order for two writers of the same series to agree.
pub fn token_for<'a>(tenant: &str, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> u32 {
    labels
        .into_iter()
        .fold(token_for_tenant(tenant), |hash, (name, value)| {
            let hash = fnv1_32_add(hash, name.as_bytes());
            fnv1_32_add(hash, value.as_bytes())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1 32 computed step by step from its definition: start at the offset basis, then for
    /// each byte multiply by the prime (mod 2^32) and XOR the byte in.
    fn fnv1_by_definition(bytes: &[u8]) -> u32 {
        let mut hash: u64 = 2_166_136_261;
        for &byte in bytes {
            hash = (hash * 16_777_619) % (1 << 32);
            hash ^= u64::from(byte);
        }
        u32::try_from(hash).unwrap()
    }

    #[test]
    fn matches_published_fnv1_vectors() {
        // Vectors from the FNV reference test suite (FNV-1, 32 bit).
        assert_eq!(token_for_tenant(""), 0x811c_9dc5);
        assert_eq!(token_for_tenant("a"), 0x050c_5d7e);
        assert_eq!(token_for_tenant("foobar"), 0x31f0_b262);
    }

    #[test]
    fn one_byte_by_hand() {
        // "a" = 0x61: 0x811c9dc5 * 0x01000193 mod 2^32 = 0x050c5d1f; XOR 0x61 = 0x050c5d7e.
        let multiplied = 0x811c_9dc5_u32.wrapping_mul(0x0100_0193);
        assert_eq!(multiplied, 0x050c_5d1f);
        assert_eq!(multiplied ^ 0x61, token_for_tenant("a"));
    }

    #[test]
    fn series_token_is_tenant_then_names_and_values_in_order() {
        let labels = [("__name__", "up"), ("job", "node")];
        let expected = fnv1_by_definition(b"user-1__name__upjobnode");
        assert_eq!(token_for("user-1", labels), expected);
        assert_eq!(expected, 0xd803_da21);
        // The order matters, the tenant matters.
        let reversed = [("job", "node"), ("__name__", "up")];
        assert_ne!(token_for("user-1", reversed), expected);
        assert_ne!(token_for("user-2", labels), expected);
        // No labels: the tenant's token.
        assert_eq!(token_for("user-1", []), token_for_tenant("user-1"));
    }
}
