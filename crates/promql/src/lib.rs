//! PromQL with Prometheus 3.x semantics (layer 2), evaluated over a storage-agnostic
//! [`Queryable`] so the engine can be tested on its own.
//!
//! - [`parse`]: the `promql-parser` crate plus Prometheus's extra checks.
//! - [`engine`]: [`Engine`], its options, cancellation and results.
//! - `eval`: the tree walker (selectors, lookback, staleness, `offset`/`@`, subqueries,
//!   operators, vector matching, delayed name removal).
//! - `functions`, `aggregate`: functions and aggregation operators, one step at a time.
//! - [`value`], [`annotations`], [`error`], [`queryable`]: the shared vocabulary.
//! - [`testing`]: an in-memory [`Queryable`] and a parser for Prometheus's `promqltest`
//!   scripts, used by the conformance runner and by other crates' tests.

pub(crate) mod aggregate;
pub mod annotations;
pub mod engine;
pub mod error;
pub(crate) mod eval;
pub(crate) mod functions;
pub mod parse;
pub mod queryable;
pub mod testing;
pub mod value;

pub use annotations::Annotations;
pub use engine::{
    CancelToken, Engine, EngineOptions, QueryOptions, QueryRange, QueryResult, QueryStats,
};
pub use error::PromqlError;
pub use queryable::{Queryable, SelectHints, StorageError, StoredSeries};
pub use value::{FPoint, Matrix, Sample, Series, Value, Vector};
