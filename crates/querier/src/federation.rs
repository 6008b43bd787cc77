//! Tenant federation for reads naming several tenants (`X-Scope-OrgID: a|b`), with Mimir's
//! rules (`pkg/querier/tenantfederation`):
//!
//! - every series gets a `__tenant_id__` label naming its tenant; a series that already had
//!   one keeps that value as `original___tenant_id__` (not recursively: an existing
//!   `original___tenant_id__` is overwritten);
//! - matchers on `__tenant_id__` choose which tenants are read and are not sent on;
//!   matchers on `original___tenant_id__` are sent on as matchers on `__tenant_id__`;
//! - a read naming a single tenant bypasses all of this (no label is added), as Mimir does.

use norn_model::{Labels, LabelsError, Matcher, MatcherError, TenantId};

/// The label naming a series' tenant in a federated read.
pub const TENANT_LABEL: &str = "__tenant_id__";

/// Where a series' own `__tenant_id__` label goes in a federated read.
pub const ORIGINAL_TENANT_LABEL: &str = "original___tenant_id__";

/// Returns the tenants the `__tenant_id__` matchers keep (in the given order) and the
/// matchers to send to each tenant (those on `__tenant_id__` removed, those on
/// `original___tenant_id__` renamed to `__tenant_id__`).
pub fn filter_tenants(
    tenants: &[TenantId],
    matchers: &[Matcher],
) -> Result<(Vec<TenantId>, Vec<Matcher>), MatcherError> {
    let mut selected: Vec<TenantId> = tenants.to_vec();
    let mut forwarded = Vec::with_capacity(matchers.len());
    for matcher in matchers {
        match matcher.name() {
            TENANT_LABEL => selected.retain(|tenant| matcher.matches(tenant.as_str())),
            ORIGINAL_TENANT_LABEL => {
                forwarded.push(Matcher::new(matcher.kind(), TENANT_LABEL, matcher.value())?)
            }
            _ => forwarded.push(matcher.clone()),
        }
    }
    Ok((selected, forwarded))
}

/// Returns `labels` with `__tenant_id__` set to `tenant`, moving an existing `__tenant_id__`
/// value to `original___tenant_id__`.
pub fn with_tenant_label(labels: &Labels, tenant: &TenantId) -> Result<Labels, LabelsError> {
    let existing = labels.get(TENANT_LABEL);
    // An existing original label gives way to the moved one (Mimir's builder overwrites it).
    let clashes = !existing.is_empty();
    let kept = labels.iter().filter(|label| {
        label.name != TENANT_LABEL && (label.name != ORIGINAL_TENANT_LABEL || !clashes)
    });
    let moved = clashes.then_some((ORIGINAL_TENANT_LABEL, existing));
    Labels::new(
        kept.map(|label| (label.name, label.value))
            .chain(moved)
            .chain([(TENANT_LABEL, tenant.as_str())]),
    )
}

#[cfg(test)]
mod tests {
    use norn_model::MatchType;

    use super::*;

    fn tenants(ids: &[&str]) -> Vec<TenantId> {
        ids.iter().map(|id| TenantId::new(id).unwrap()).collect()
    }

    #[test]
    fn tenant_matchers_select_tenants_and_are_not_forwarded() {
        let matchers = vec![
            Matcher::new(MatchType::Equal, "__name__", "up").unwrap(),
            Matcher::new(MatchType::Regex, TENANT_LABEL, "team-(a|c)").unwrap(),
            Matcher::new(MatchType::NotEqual, ORIGINAL_TENANT_LABEL, "x").unwrap(),
        ];
        let (selected, forwarded) =
            filter_tenants(&tenants(&["team-a", "team-b", "team-c"]), &matchers).unwrap();
        assert_eq!(selected, tenants(&["team-a", "team-c"]));
        assert_eq!(
            forwarded,
            vec![
                Matcher::new(MatchType::Equal, "__name__", "up").unwrap(),
                Matcher::new(MatchType::NotEqual, TENANT_LABEL, "x").unwrap(),
            ]
        );
        let none = [Matcher::new(MatchType::Equal, TENANT_LABEL, "nobody").unwrap()];
        assert!(
            filter_tenants(&tenants(&["a", "b"]), &none)
                .unwrap()
                .0
                .is_empty()
        );
    }

    #[test]
    fn the_tenant_label_is_added_and_an_existing_one_kept_as_original() {
        let tenant = TenantId::new("team-a").unwrap();
        let plain = Labels::new([("__name__", "up")]).unwrap();
        assert_eq!(
            with_tenant_label(&plain, &tenant).unwrap(),
            Labels::new([("__name__", "up"), (TENANT_LABEL, "team-a")]).unwrap()
        );
        let clashing = Labels::new([
            ("__name__", "up"),
            (TENANT_LABEL, "inner"),
            (ORIGINAL_TENANT_LABEL, "older"),
        ])
        .unwrap();
        assert_eq!(
            with_tenant_label(&clashing, &tenant).unwrap(),
            Labels::new([
                ("__name__", "up"),
                (ORIGINAL_TENANT_LABEL, "inner"),
                (TENANT_LABEL, "team-a"),
            ])
            .unwrap()
        );
        // Without a clash, an existing original label stays.
        let original_only = Labels::new([(ORIGINAL_TENANT_LABEL, "kept")]).unwrap();
        assert_eq!(
            with_tenant_label(&original_only, &tenant)
                .unwrap()
                .get(ORIGINAL_TENANT_LABEL),
            "kept"
        );
    }
}
