//! `api/v1/query` and `api/v1/query_range`: parameters checked as Prometheus checks them,
//! then the query evaluated by the engine over [`TenantQueryable`] for the request's tenants.
//!
//! How a query runs:
//! 1. it waits for one of `-querier.max-concurrent` slots (`norn_querier_queued_queries`);
//! 2. it evaluates on a blocking-pool thread (PromQL evaluation is CPU-bound between its
//!    storage reads; on the runtime's worker threads a few heavy queries would stall every
//!    other request), driving the engine's future there with the runtime's handle, under the
//!    timeout: the smaller of `-querier.timeout` and the request's `timeout`, counted from the
//!    start of evaluation;
//! 3. if the client goes away first, the server drops the request's future: a drop guard then
//!    triggers the query's [`CancelToken`] (the engine stops at its next check) and a
//!    cancellation token that ends any storage read in progress, and counts
//!    `norn_querier_queries_canceled_total`. The evaluation slot and
//!    `norn_querier_inflight_queries` are released when the evaluation has really stopped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use norn_common::time::now_ms;
use norn_http::Tenants;
use norn_model::TenantId;
use norn_promql::{CancelToken, PromqlError, QueryOptions, QueryRange, QueryResult, Value};
use tokio_util::sync::CancellationToken;

use crate::api::QueryApi;
use crate::api::errors::ApiError;
use crate::api::json::{self, Notes};
use crate::api::params::{Params, parse_duration};
use crate::metrics::QuerierMetrics;
use crate::query_limits::QueryLimits;
use crate::queryable::TenantQueryable;

/// Prometheus's cap on the points of one series in a range query.
pub(crate) const MAX_POINTS_PER_SERIES: i64 = 11_000;

const NANOS_PER_MS: i64 = 1_000_000;

/// The stage named when the querier's own timer stops a query.
const EVALUATION_STAGE: &str = "expression evaluation";

/// What to evaluate.
#[derive(Clone, Debug)]
struct Evaluation {
    query: String,
    range: QueryRange,
    options: QueryOptions,
    timeout: Duration,
}

/// How long a query waited and evaluated.
#[derive(Clone, Copy, Debug, Default)]
struct Timings {
    queued: Duration,
    evaluating: Duration,
}

/// `GET|POST <prefix>/api/v1/query`.
pub(crate) async fn instant(
    State(api): State<Arc<QueryApi>>,
    Tenants(tenants): Tenants,
    params: Params,
) -> Response {
    let outcome = instant_query(&api, tenants, &params).await;
    finish(&api.metrics, "query", outcome)
}

/// `GET|POST <prefix>/api/v1/query_range`.
pub(crate) async fn range(
    State(api): State<Arc<QueryApi>>,
    Tenants(tenants): Tenants,
    params: Params,
) -> Response {
    let outcome = range_query(&api, tenants, &params).await;
    finish(&api.metrics, "query_range", outcome)
}

/// Counts the outcome and turns it into the response.
fn finish(
    metrics: &QuerierMetrics,
    endpoint: &str,
    outcome: Result<(Response, Option<f64>), (ApiError, Option<f64>)>,
) -> Response {
    match outcome {
        Ok((response, seconds)) => {
            metrics.observe(endpoint, "success", seconds);
            response
        }
        Err((error, seconds)) => {
            metrics.observe(endpoint, error.kind().as_str(), seconds);
            error.into_response()
        }
    }
}

type Outcome = Result<(Response, Option<f64>), (ApiError, Option<f64>)>;

fn unevaluated(error: ApiError) -> (ApiError, Option<f64>) {
    (error, None)
}

async fn instant_query(api: &Arc<QueryApi>, tenants: Vec<TenantId>, params: &Params) -> Outcome {
    let limit = params.limit().map_err(unevaluated)?;
    let time = params.time_or("time", now_ms()).map_err(unevaluated)?;
    let timeout = request_timeout(api, params).map_err(unevaluated)?;
    let lookback = lookback_delta(params).map_err(unevaluated)?;
    let query = params.get("query");
    api.engine
        .parse(query)
        .map_err(|error| unevaluated(ApiError::from(error)))?;
    let evaluation = Evaluation {
        query: query.to_owned(),
        range: QueryRange::instant(time),
        options: QueryOptions {
            lookback_delta_ms: lookback,
            cancel: CancelToken::new(),
            timeout: Some(timeout),
        },
        timeout,
    };
    answer(api, tenants, evaluation, limit, params.get("stats")).await
}

async fn range_query(api: &Arc<QueryApi>, tenants: Vec<TenantId>, params: &Params) -> Outcome {
    let limit = params.limit().map_err(unevaluated)?;
    let start = params.time("start").map_err(unevaluated)?;
    let end = params.time("end").map_err(unevaluated)?;
    if end < start {
        return Err(unevaluated(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        )));
    }
    let step_ns = parse_duration(params.get("step"))
        .map_err(|error| unevaluated(ApiError::invalid_param("step", error)))?;
    if step_ns <= 0 {
        return Err(unevaluated(ApiError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        )));
    }
    let span_ns = i128::from(end - start) * i128::from(NANOS_PER_MS);
    if span_ns / i128::from(step_ns) > i128::from(MAX_POINTS_PER_SERIES) {
        return Err(unevaluated(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        )));
    }
    let timeout = request_timeout(api, params).map_err(unevaluated)?;
    let lookback = lookback_delta(params).map_err(unevaluated)?;
    let query = params.get("query");
    api.engine
        .parse(query)
        .map_err(|error| unevaluated(ApiError::from(error)))?;
    let limits = QueryLimits::for_tenants(&api.overrides, &tenants);
    limits
        .check_total_length(start, end)
        .map_err(|message| unevaluated(ApiError::bad_data(message)))?;
    let evaluation = Evaluation {
        query: query.to_owned(),
        range: QueryRange {
            start_ms: start,
            end_ms: end,
            // The engine works in milliseconds; a sub-millisecond step is one millisecond.
            step_ms: (step_ns / NANOS_PER_MS).max(1),
        },
        options: QueryOptions {
            lookback_delta_ms: lookback,
            cancel: CancelToken::new(),
            timeout: Some(timeout),
        },
        timeout,
    };
    answer(api, tenants, evaluation, limit, params.get("stats")).await
}

/// The effective timeout: the request's `timeout` (if any) capped by `-querier.timeout`.
fn request_timeout(api: &QueryApi, params: &Params) -> Result<Duration, ApiError> {
    let configured = api.config.timeout();
    Ok(match params.duration("timeout")? {
        Some(nanos) => Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)).min(configured),
        None => configured,
    })
}

/// The request's `lookback_delta`, in milliseconds (`None`: the configured one).
fn lookback_delta(params: &Params) -> Result<Option<i64>, ApiError> {
    let text = params.get("lookback_delta");
    if text.is_empty() {
        return Ok(None);
    }
    let nanos = parse_duration(text).map_err(|error| {
        ApiError::bad_data(format!("error parsing lookback delta duration: {error}"))
    })?;
    Ok(Some(nanos / NANOS_PER_MS).filter(|ms| *ms > 0))
}

/// Evaluates and renders the answer.
async fn answer(
    api: &Arc<QueryApi>,
    tenants: Vec<TenantId>,
    evaluation: Evaluation,
    limit: usize,
    stats: &str,
) -> Outcome {
    let (result, timings) = evaluate(api, tenants, evaluation).await;
    let seconds = Some(timings.evaluating.as_secs_f64());
    let result = result.map_err(|error| {
        if matches!(
            error,
            PromqlError::Internal(_)
                | PromqlError::Storage(
                    norn_promql::StorageError::Unavailable(_)
                        | norn_promql::StorageError::Corrupt(_)
                )
        ) {
            tracing::warn!(%error, "query failed");
        }
        (ApiError::from(error), seconds)
    })?;
    Ok((render(result, limit, stats, timings), seconds))
}

/// Cancels a query whose request is dropped before the answer (the client went away).
struct CancelOnDrop {
    metrics: QuerierMetrics,
    /// Stops the engine at its next check.
    engine: CancelToken,
    /// Ends a storage read the evaluation is waiting for.
    reads: CancellationToken,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.engine.cancel();
        self.reads.cancel();
        self.metrics.canceled();
        tracing::debug!("query abandoned by its client: canceled");
    }
}

/// Waits for a slot and evaluates on a blocking-pool thread; see the module documentation.
async fn evaluate(
    api: &Arc<QueryApi>,
    tenants: Vec<TenantId>,
    evaluation: Evaluation,
) -> (Result<QueryResult, PromqlError>, Timings) {
    let mut guard = CancelOnDrop {
        metrics: api.metrics.clone(),
        engine: evaluation.options.cancel.clone(),
        reads: CancellationToken::new(),
        armed: true,
    };
    let mut timings = Timings::default();
    let queued_at = Instant::now();
    let permit = {
        let _queued = api.metrics.queued();
        Arc::clone(&api.slots).acquire_owned().await
    };
    timings.queued = queued_at.elapsed();
    let Ok(permit) = permit else {
        guard.armed = false;
        return (
            Err(PromqlError::Internal(
                "the querier's evaluation slots are closed".to_owned(),
            )),
            timings,
        );
    };
    let limits = QueryLimits::for_tenants(&api.overrides, &tenants);
    let queryable = TenantQueryable::new(Arc::clone(&api.ingesters), tenants, limits, now_ms());
    let engine = api.engine.clone();
    let metrics = api.metrics.clone();
    let reads = guard.reads.clone();
    let runtime = tokio::runtime::Handle::current();
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let _evaluating = metrics.evaluating();
        let started = Instant::now();
        let run = async {
            if evaluation.range.is_instant() {
                engine
                    .instant_query(
                        &queryable,
                        &evaluation.query,
                        evaluation.range.start_ms,
                        &evaluation.options,
                    )
                    .await
            } else {
                engine
                    .range_query(
                        &queryable,
                        &evaluation.query,
                        evaluation.range,
                        &evaluation.options,
                    )
                    .await
            }
        };
        let result = runtime.block_on(async {
            let bounded = tokio::time::timeout(evaluation.timeout, run);
            match reads.run_until_cancelled(bounded).await {
                Some(Ok(result)) => result,
                Some(Err(_elapsed)) => Err(PromqlError::Timeout(EVALUATION_STAGE)),
                None => Err(PromqlError::Canceled(EVALUATION_STAGE)),
            }
        });
        (result, started.elapsed())
    });
    let joined = task.await;
    guard.armed = false;
    match joined {
        Ok((result, evaluating)) => {
            timings.evaluating = evaluating;
            (result, timings)
        }
        Err(error) => (
            Err(PromqlError::Internal(format!(
                "the query's evaluation task failed: {error}"
            ))),
            timings,
        ),
    }
}

/// Renders a successful query as Prometheus does, applying `limit` and `stats`.
fn render(result: QueryResult, limit: usize, stats: &str, timings: Timings) -> Response {
    let QueryResult {
        mut value,
        annotations,
        stats: query_stats,
    } = result;
    let mut notes = Notes {
        warnings: annotations.warnings().map(str::to_owned).collect(),
        infos: annotations.infos().map(str::to_owned).collect(),
    };
    if limit > 0 && truncate(&mut value, limit) {
        notes
            .warnings
            .push("results truncated due to limit".to_owned());
    }
    if !matches!(stats, "" | "true" | "all") {
        notes.warnings.push(format!(
            "value {stats:?} for parameter \"stats\" is deprecated and will be rejected in the next major release, use \"true\" or \"all\""
        ));
    }
    let mut data = String::new();
    json::push_query_data(&mut data, &value);
    if !stats.is_empty() {
        let queued = timings.queued.as_secs_f64();
        let evaluating = timings.evaluating.as_secs_f64();
        let stats = serde_json::json!({
            "timings": {
                "evalTotalTime": evaluating,
                "resultSortTime": 0.0,
                "queryPreparationTime": 0.0,
                "innerEvalTime": evaluating,
                "execQueueTime": queued,
                "execTotalTime": queued + evaluating,
            },
            "samples": {
                "totalQueryableSamples": query_stats.total_samples,
                "peakSamples": query_stats.peak_samples,
            },
        });
        data.push_str(",\"stats\":");
        data.push_str(&stats.to_string());
    }
    data.push('}');
    json::success(&data, &notes)
}

/// Keeps the first `limit` series of a vector or matrix; returns whether any were dropped.
fn truncate(value: &mut Value, limit: usize) -> bool {
    match value {
        Value::Vector(samples) if samples.len() > limit => {
            samples.truncate(limit);
            true
        }
        Value::Matrix(series) if series.len() > limit => {
            series.truncate(limit);
            true
        }
        _ => false,
    }
}
