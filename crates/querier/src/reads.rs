//! The metadata reads of the HTTP API (series, label names, label values, metric metadata)
//! over one tenant or several (`a|b`), with Mimir's federation rules for them
//! (`pkg/querier/tenantfederation/merge_queryable.go`):
//!
//! - matchers on `__tenant_id__` choose the tenants and are not sent on;
//! - label names of a federated read include `__tenant_id__`; a tenant's own `__tenant_id__`
//!   label shows as `original___tenant_id__`;
//! - the values of `__tenant_id__` are the chosen tenants' IDs; the values of
//!   `original___tenant_id__` are the tenants' own `__tenant_id__` values.
//!
//! A read naming a single tenant bypasses all of this.

use std::collections::BTreeSet;

use norn_model::{Labels, Matcher, TenantId};
use norn_rpc::MetricMetadata;

use crate::error::QueryError;
use crate::federation::{ORIGINAL_TENANT_LABEL, TENANT_LABEL, filter_tenants, with_tenant_label};
use crate::ingesters::IngesterQuerier;
use crate::merge::{union_metadata, union_strings};

/// Returns the distinct label sets of the series matching `matchers` with samples in
/// `[mint, maxt]`, sorted, each with `__tenant_id__` in a federated read. Only indexes are
/// read, no chunk.
pub async fn series(
    ingesters: &IngesterQuerier,
    tenants: &[TenantId],
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
) -> Result<Vec<Labels>, QueryError> {
    if let [only] = tenants {
        return ingesters.series(only, matchers, mint, maxt).await;
    }
    let (selected, forwarded) = filter_tenants(tenants, matchers)?;
    let forwarded = &forwarded;
    let per_tenant = futures::future::try_join_all(selected.iter().map(|tenant| async move {
        ingesters
            .series(tenant, forwarded, mint, maxt)
            .await?
            .iter()
            .map(|labels| Ok(with_tenant_label(labels, tenant)?))
            .collect::<Result<Vec<_>, QueryError>>()
    }))
    .await?;
    // The tenant label makes every set distinct, so this only sorts.
    let mut all: Vec<Labels> = per_tenant.into_iter().flatten().collect();
    all.sort_unstable();
    Ok(all)
}

/// Returns the label names of the series matching `matchers` (all series when empty), sorted.
pub async fn label_names(
    ingesters: &IngesterQuerier,
    tenants: &[TenantId],
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
) -> Result<Vec<String>, QueryError> {
    if let [only] = tenants {
        return ingesters.label_names(only, matchers, mint, maxt).await;
    }
    let (selected, forwarded) = filter_tenants(tenants, matchers)?;
    if selected.is_empty() {
        return Ok(Vec::new());
    }
    let forwarded = &forwarded;
    let answers = futures::future::try_join_all(selected.iter().map(|tenant| async move {
        let names = ingesters.label_names(tenant, forwarded, mint, maxt).await?;
        Ok::<_, QueryError>(
            names
                .into_iter()
                .map(|name| {
                    if name == TENANT_LABEL {
                        ORIGINAL_TENANT_LABEL.to_owned()
                    } else {
                        name
                    }
                })
                .collect::<Vec<_>>(),
        )
    }))
    .await?;
    let mut names: BTreeSet<String> = union_strings(answers).into_iter().collect();
    names.insert(TENANT_LABEL.to_owned());
    Ok(names.into_iter().collect())
}

/// Returns the values of label `name` in the series matching `matchers`, sorted.
pub async fn label_values(
    ingesters: &IngesterQuerier,
    tenants: &[TenantId],
    name: &str,
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
) -> Result<Vec<String>, QueryError> {
    if let [only] = tenants {
        return ingesters
            .label_values(only, name, matchers, mint, maxt)
            .await;
    }
    let (selected, forwarded) = filter_tenants(tenants, matchers)?;
    if name == TENANT_LABEL {
        let mut ids: Vec<String> = selected.iter().map(|t| t.as_str().to_owned()).collect();
        ids.sort_unstable();
        return Ok(ids);
    }
    let asked = if name == ORIGINAL_TENANT_LABEL {
        TENANT_LABEL
    } else {
        name
    };
    let forwarded = &forwarded;
    let answers = futures::future::try_join_all(selected.iter().map(|tenant| async move {
        ingesters
            .label_values(tenant, asked, forwarded, mint, maxt)
            .await
    }))
    .await?;
    Ok(union_strings(answers))
}

/// Returns the metric metadata of the tenants (of one metric when `metric` is set), distinct
/// and sorted by metric family.
pub async fn metadata(
    ingesters: &IngesterQuerier,
    tenants: &[TenantId],
    metric: Option<&str>,
) -> Result<Vec<MetricMetadata>, QueryError> {
    if let [only] = tenants {
        return ingesters.metadata(only, metric).await;
    }
    let answers = futures::future::try_join_all(
        tenants
            .iter()
            .map(|tenant| async move { ingesters.metadata(tenant, metric).await }),
    )
    .await?;
    Ok(union_metadata(answers))
}

#[cfg(test)]
mod tests {
    use norn_model::MatchType;

    use super::*;
    use crate::testing::{FakeIngester, TestRing, series as fixture};

    fn tenants(ids: &[&str]) -> Vec<TenantId> {
        ids.iter().map(|id| TenantId::new(id).unwrap()).collect()
    }

    async fn ring() -> TestRing {
        let ring = TestRing::new(1).await;
        ring.add(
            "ing-1",
            FakeIngester::new()
                .with(
                    "a",
                    vec![
                        fixture(&[("__name__", "up"), ("job", "api")], &[(1, 1.0)]),
                        fixture(&[("__name__", "cpu"), (TENANT_LABEL, "inner")], &[(1, 1.0)]),
                    ],
                )
                .with(
                    "b",
                    vec![fixture(&[("__name__", "up"), ("job", "db")], &[(1, 1.0)])],
                )
                .with_metadata("a", &["up"])
                .with_metadata("b", &["up", "mem"]),
        )
        .await;
        ring
    }

    #[tokio::test]
    async fn a_single_tenant_read_is_plain() {
        let ring = ring().await;
        let ingesters = ring.querier().await;
        let names = label_names(&ingesters, &tenants(&["a"]), &[], 0, 10)
            .await
            .unwrap();
        assert_eq!(names, ["__name__", TENANT_LABEL, "job"]);
        let values = label_values(&ingesters, &tenants(&["b"]), "job", &[], 0, 10)
            .await
            .unwrap();
        assert_eq!(values, ["db"]);
    }

    #[tokio::test]
    async fn federated_reads_follow_mimirs_rules() {
        let ring = ring().await;
        let ingesters = ring.querier().await;
        let both = tenants(&["a", "b"]);
        let names = label_names(&ingesters, &both, &[], 0, 10).await.unwrap();
        assert_eq!(
            names,
            ["__name__", TENANT_LABEL, "job", ORIGINAL_TENANT_LABEL]
        );
        let ids = label_values(&ingesters, &both, TENANT_LABEL, &[], 0, 10)
            .await
            .unwrap();
        assert_eq!(ids, ["a", "b"]);
        let only_b = [Matcher::new(MatchType::Equal, TENANT_LABEL, "b").unwrap()];
        let ids = label_values(&ingesters, &both, TENANT_LABEL, &only_b, 0, 10)
            .await
            .unwrap();
        assert_eq!(ids, ["b"]);
        let jobs = label_values(&ingesters, &both, "job", &[], 0, 10)
            .await
            .unwrap();
        assert_eq!(jobs, ["api", "db"]);
        let originals = label_values(&ingesters, &both, ORIGINAL_TENANT_LABEL, &[], 0, 10)
            .await
            .unwrap();
        assert_eq!(originals, ["inner"]);
        let up = [Matcher::new(MatchType::Equal, "__name__", "up").unwrap()];
        let found = series(&ingesters, &both, &up, 0, 10).await.unwrap();
        let owners: Vec<&str> = found
            .iter()
            .map(|labels| labels.get(TENANT_LABEL))
            .collect();
        assert_eq!(owners, ["a", "b"]);
        let families: Vec<String> = metadata(&ingesters, &both, None)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| entry.metric_family)
            .collect();
        assert_eq!(families, ["mem", "up"]);
    }
}
