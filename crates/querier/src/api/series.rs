//! `api/v1/series`, `api/v1/labels`, `api/v1/label/{name}/values` and `api/v1/metadata`:
//! reads of series, label names and values, and metric metadata, with Prometheus's
//! parameters (`match[]`, `start`, `end`, `limit`) and answers.
//!
//! Ranges: `start` and `end` default to Prometheus's `MinTime`/`MaxTime`, then
//! `max_query_lookback` and `query_ingesters_within` cut them (a range left empty answers
//! nothing). `/series` counts its distinct series against `max_fetched_series_per_query`.
//! `limit` keeps the first `limit` entries and adds the warning
//! `results truncated due to limit`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use norn_common::time::now_ms;
use norn_http::Tenants;
use norn_model::{Labels, Matcher, TenantId};
use serde_json::json;

use crate::api::QueryApi;
use crate::api::errors::{ApiError, ErrorType};
use crate::api::json::{self, Notes};
use crate::api::params::{MAX_TIME_MS, MIN_TIME_MS, Params};
use crate::query_limits::{QueryLimits, max_series_message};
use crate::reads;

const TRUNCATED: &str = "results truncated due to limit";

/// The range a metadata read covers after the tenants' limits, or `None` when empty.
fn read_range(
    api: &QueryApi,
    tenants: &[TenantId],
    params: &Params,
) -> Result<(QueryLimits, Option<(i64, i64)>), ApiError> {
    let start = params.time_or("start", MIN_TIME_MS)?;
    let end = params.time_or("end", MAX_TIME_MS)?;
    let limits = QueryLimits::for_tenants(&api.overrides, tenants);
    Ok((limits, limits.metadata_range(now_ms(), start, end)))
}

/// Keeps the first `limit` entries (0: all) and notes the truncation.
fn apply_limit<T>(entries: &mut Vec<T>, limit: usize, notes: &mut Notes) {
    if limit > 0 && entries.len() > limit {
        entries.truncate(limit);
        notes.warnings.push(TRUNCATED.to_owned());
    }
}

/// `GET|POST <prefix>/api/v1/series`.
pub(crate) async fn series(
    State(api): State<Arc<QueryApi>>,
    Tenants(tenants): Tenants,
    params: Params,
) -> Result<Response, ApiError> {
    if params.all("match[]").is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let limit = params.limit()?;
    let (limits, range) = read_range(&api, &tenants, &params)?;
    let sets = params
        .matcher_sets()
        .map_err(|error| ApiError::invalid_param("match[]", error.message()))?;
    let mut found: BTreeSet<Labels> = BTreeSet::new();
    if let Some((start, end)) = range {
        for set in &sets {
            found.extend(reads::series(&api.ingesters, &tenants, set, start, end).await?);
        }
    }
    let cap = limits.max_fetched_series;
    if cap > 0 && found.len() as u64 > cap {
        return Err(ApiError::new(ErrorType::Execution, max_series_message(cap)));
    }
    let mut found: Vec<Labels> = found.into_iter().collect();
    let mut notes = Notes::default();
    apply_limit(&mut found, limit, &mut notes);
    let mut data = String::from("[");
    for (index, labels) in found.iter().enumerate() {
        if index > 0 {
            data.push(',');
        }
        json::push_labels(&mut data, labels, false);
    }
    data.push(']');
    Ok(json::success(&data, &notes))
}

/// `GET|POST <prefix>/api/v1/labels`.
pub(crate) async fn label_names(
    State(api): State<Arc<QueryApi>>,
    Tenants(tenants): Tenants,
    params: Params,
) -> Result<Response, ApiError> {
    let limit = params.limit()?;
    let (_, range) = read_range(&api, &tenants, &params)?;
    let sets = params.matcher_sets()?;
    let mut names = Vec::new();
    if let Some((start, end)) = range {
        names = union(&sets, |set| {
            let api = Arc::clone(&api);
            let tenants = tenants.clone();
            async move { reads::label_names(&api.ingesters, &tenants, &set, start, end).await }
        })
        .await?;
    }
    let mut notes = Notes::default();
    apply_limit(&mut names, limit, &mut notes);
    Ok(json::success_value(&json!(names), &notes))
}

/// `GET|POST <prefix>/api/v1/label/{name}/values`.
pub(crate) async fn label_values(
    State(api): State<Arc<QueryApi>>,
    Tenants(tenants): Tenants,
    name: Result<Path<String>, PathRejection>,
    params: Params,
) -> Result<Response, ApiError> {
    let raw = name.map_err(|rejection| {
        ApiError::bad_data(format!("invalid label name: {}", rejection.body_text()))
    })?;
    let name = unescape_label_name(&raw.0);
    if name.is_empty() {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let limit = params.limit()?;
    let (_, range) = read_range(&api, &tenants, &params)?;
    let sets = params.matcher_sets()?;
    let mut values = Vec::new();
    if let Some((start, end)) = range {
        values =
            union(&sets, |set| {
                let api = Arc::clone(&api);
                let tenants = tenants.clone();
                let name = name.clone();
                async move {
                    reads::label_values(&api.ingesters, &tenants, &name, &set, start, end).await
                }
            })
            .await?;
    }
    let mut notes = Notes::default();
    apply_limit(&mut values, limit, &mut notes);
    Ok(json::success_value(&json!(values), &notes))
}

/// Runs `read` once without matchers (no `match[]`) or once per matcher set, and returns
/// the sorted union of the answers.
async fn union<Read, Answer>(
    sets: &[Vec<Matcher>],
    read: Read,
) -> Result<Vec<String>, crate::error::QueryError>
where
    Read: Fn(Vec<Matcher>) -> Answer,
    Answer: std::future::Future<Output = Result<Vec<String>, crate::error::QueryError>>,
{
    if sets.len() <= 1 {
        return read(sets.first().cloned().unwrap_or_default()).await;
    }
    let mut all = BTreeSet::new();
    for set in sets {
        all.extend(read(set.clone()).await?);
    }
    Ok(all.into_iter().collect())
}

/// Undoes Prometheus's `U__` value-encoding escape of label names in paths
/// (`U__http_2e_method` → `http.method`, `__` → `_`); an invalid escape leaves the name as
/// it is, as Prometheus's `model.UnescapeName` does.
pub(crate) fn unescape_label_name(name: &str) -> String {
    let Some(escaped) = name.strip_prefix("U__") else {
        return name.to_owned();
    };
    let mut out = String::new();
    let mut chars = escaped.chars();
    while let Some(character) = chars.next() {
        if character != '_' {
            out.push(character);
            continue;
        }
        match chars.next() {
            None => return name.to_owned(),
            Some('_') => out.push('_'),
            Some(first) => {
                let mut code: u32 = 0;
                let mut digit = Some(first);
                let mut count = 0;
                loop {
                    match digit {
                        Some('_') => break,
                        Some(hex) if count < 6 => match hex.to_digit(16) {
                            Some(value) => code = code * 16 + value,
                            None => return name.to_owned(),
                        },
                        _ => return name.to_owned(),
                    }
                    count += 1;
                    digit = chars.next();
                }
                match char::from_u32(code) {
                    Some(decoded) => out.push(decoded),
                    None => return name.to_owned(),
                }
            }
        }
    }
    out
}

/// `GET|POST <prefix>/api/v1/metadata`.
pub(crate) async fn metadata(
    State(api): State<Arc<QueryApi>>,
    Tenants(tenants): Tenants,
    params: Params,
) -> Result<Response, ApiError> {
    let limit = signed_limit(&params, "limit")?;
    let limit_per_metric = signed_limit(&params, "limit_per_metric")?;
    let metric = params.get("metric");
    let metric = (!metric.is_empty()).then_some(metric);
    let entries = reads::metadata(&api.ingesters, &tenants, metric).await?;
    let mut families: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for entry in entries {
        let known = families.contains_key(&entry.metric_family);
        if !known && limit >= 0 && families.len() as i64 >= limit {
            continue;
        }
        let list = families.entry(entry.metric_family).or_default();
        if limit_per_metric > 0 && list.len() as i64 >= limit_per_metric {
            continue;
        }
        list.push(json!({
            "type": entry.metric_type,
            "help": entry.help,
            "unit": entry.unit,
        }));
    }
    Ok(json::success_value(&json!(families), &Notes::default()))
}

/// Reads a metadata limit as Prometheus and Mimir do: missing is -1 (no limit).
fn signed_limit(params: &Params, name: &str) -> Result<i64, ApiError> {
    let text = params.get(name);
    if text.is_empty() {
        return Ok(-1);
    }
    text.parse()
        .map_err(|_| ApiError::bad_data(format!("{name} must be a number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_label_names_are_decoded() {
        assert_eq!(unescape_label_name("job"), "job");
        assert_eq!(unescape_label_name("U__http_2e_method"), "http.method");
        assert_eq!(unescape_label_name("U__a__b"), "a_b");
        assert_eq!(unescape_label_name("U__"), "");
        assert_eq!(unescape_label_name("U__bad_zz_"), "U__bad_zz_");
        assert_eq!(unescape_label_name("U__open_2e"), "U__open_2e");
        assert_eq!(unescape_label_name("U___1f600_"), "\u{1f600}");
    }
}
