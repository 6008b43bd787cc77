//! The engine's front door: parse a query, fetch what its selectors need from a
//! [`Queryable`], evaluate, and return the value with its annotations and statistics.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::annotations::Annotations;
use crate::error::PromqlError;
use crate::queryable::Queryable;
use crate::value::Value;

/// Engine settings shared by every query.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus's
    /// `--query.lookback-delta`, Mimir's `-querier.lookback-delta`): 5 minutes.
    pub lookback_delta_ms: i64,
    /// The most samples a query may hold in memory at once (`-querier.max-samples`):
    /// 50,000,000. 0 means unlimited.
    pub max_samples: usize,
    /// How long a query may run (`-querier.timeout`): 2 minutes.
    pub timeout: Duration,
    /// Whether Prometheus's experimental functions are accepted
    /// (`--enable-feature=promql-experimental-functions`; Mimir's
    /// `-querier.promql-experimental-functions-enabled`). Default false.
    pub enable_experimental_functions: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            enable_experimental_functions: false,
        }
    }
}

/// Cancels a running query from elsewhere (a client that disconnected, a shutdown).
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Returns a token that is not canceled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every query holding a clone of this token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Returns true once [`CancelToken::cancel`] was called.
    pub fn is_canceled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Per-query settings.
#[derive(Clone, Debug, Default)]
pub struct QueryOptions {
    /// Overrides the engine's lookback delta for this query (the API's `lookback_delta`).
    pub lookback_delta_ms: Option<i64>,
    /// Cancels the query when triggered.
    pub cancel: CancelToken,
    /// Overrides the engine's timeout for this query (the API's `timeout`, capped by the
    /// engine's).
    pub timeout: Option<Duration>,
}

/// What a query costs (returned as `stats` when the API asks for them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Samples read from storage and looked at by selectors, summed over steps.
    pub total_samples: u64,
    /// The most samples held in memory at one time.
    pub peak_samples: u64,
    /// Series fetched from storage.
    pub series_fetched: u64,
}

/// A query's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// The value: a scalar, string or vector for instant queries, a matrix for range
    /// queries (series sorted by labels).
    pub value: Value,
    /// Warnings and infos.
    pub annotations: Annotations,
    /// Statistics.
    pub stats: QueryStats,
}

/// The time grid a query is evaluated on, in milliseconds. An instant query has
/// `start_ms == end_ms` and `step_ms == 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryRange {
    /// The first evaluation time.
    pub start_ms: i64,
    /// The last evaluation time (inclusive).
    pub end_ms: i64,
    /// The distance between evaluation times (0 for an instant query).
    pub step_ms: i64,
}

impl QueryRange {
    /// An instant query at `ts_ms`.
    pub fn instant(ts_ms: i64) -> Self {
        Self {
            start_ms: ts_ms,
            end_ms: ts_ms,
            step_ms: 0,
        }
    }

    /// Returns true for an instant query.
    pub fn is_instant(&self) -> bool {
        self.step_ms == 0
    }
}

/// Limits and cancellation, checked while evaluating.
#[derive(Clone, Debug)]
pub(crate) struct Guard {
    cancel: CancelToken,
    deadline: Instant,
    /// The sample limit (0: unlimited).
    pub(crate) max_samples: usize,
}

impl Guard {
    /// Fails with `Canceled`/`Timeout` when the query must stop; `stage` names where
    /// (`"expression evaluation"`, `"query preparation"`).
    pub(crate) fn check(&self, stage: &'static str) -> Result<(), PromqlError> {
        if self.cancel.is_canceled() {
            return Err(PromqlError::Canceled(stage));
        }
        if Instant::now() >= self.deadline {
            return Err(PromqlError::Timeout(stage));
        }
        Ok(())
    }
}

/// The PromQL engine.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    options: EngineOptions,
}

impl Engine {
    /// Returns an engine with `options`.
    pub fn new(options: EngineOptions) -> Self {
        Self { options }
    }

    /// Returns the engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Parses `query` the way this engine would, without evaluating it.
    pub fn parse(&self, query: &str) -> Result<promql_parser::parser::Expr, PromqlError> {
        crate::parse::parse(query, self.options.enable_experimental_functions)
    }

    /// Evaluates `query` at one time.
    pub async fn instant_query(
        &self,
        queryable: &dyn Queryable,
        query: &str,
        ts_ms: i64,
        options: &QueryOptions,
    ) -> Result<QueryResult, PromqlError> {
        self.run(queryable, query, QueryRange::instant(ts_ms), options)
            .await
    }

    /// Evaluates `query` at every step from `start_ms` to `end_ms` (inclusive).
    pub async fn range_query(
        &self,
        queryable: &dyn Queryable,
        query: &str,
        range: QueryRange,
        options: &QueryOptions,
    ) -> Result<QueryResult, PromqlError> {
        if range.step_ms <= 0 {
            return Err(PromqlError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".to_owned(),
            ));
        }
        if range.end_ms < range.start_ms {
            return Err(PromqlError::BadData(
                "end timestamp must not be before start time".to_owned(),
            ));
        }
        self.run(queryable, query, range, options).await
    }

    async fn run(
        &self,
        queryable: &dyn Queryable,
        query: &str,
        range: QueryRange,
        options: &QueryOptions,
    ) -> Result<QueryResult, PromqlError> {
        let expr = self.parse(query)?;
        let timeout = options
            .timeout
            .map_or(self.options.timeout, |t| t.min(self.options.timeout));
        let guard = Guard {
            cancel: options.cancel.clone(),
            deadline: Instant::now() + timeout,
            max_samples: self.options.max_samples,
        };
        let lookback_delta_ms = options
            .lookback_delta_ms
            .filter(|l| *l > 0)
            .unwrap_or(self.options.lookback_delta_ms);
        crate::eval::evaluate(queryable, &expr, range, lookback_delta_ms, &guard).await
    }
}
