//! Test support: an in-memory [`crate::Queryable`] ([`MemStorage`]) and a runner for
//! Prometheus's `promqltest` scripts, used by the conformance test and by other crates'
//! tests.
//!
//! ```text
//! let script = Script::parse(text)?;                       // ScriptError on bad syntax
//! let report = run_script(&script, &conformance_engine(), &RunOptions::default());
//! let counts = report.counts();                            // passed / failed / native histograms
//! ```
//!
//! - [`series`]: the series notation (`metric{l="v"} 1+2x3 _ stale`).
//! - [`script`]: commands, `expect` lines and expected results.
//! - [`compare`]: Prometheus's comparison rules (relative tolerance 1e-6, NaN equals NaN).
//! - `classify`: which evals need native histograms (counted apart, never run).
//! - `at_modifier`: the `@` variants promqltest runs for instant evals.
//! - [`runner`]: runs a script and reports per eval.

mod at_modifier;
mod block_on;
mod classify;
pub mod compare;
mod duration;
pub mod runner;
pub mod script;
pub mod series;
mod store;

pub use block_on::block_on;
pub use compare::{DEFAULT_EPSILON, almost_equal};
pub use duration::parse_duration_ms;
pub use runner::{
    EvalFailure, EvalOutcome, EvalStatus, OutcomeCounts, RunOptions, ScriptReport,
    conformance_engine, run_script,
};
pub use script::{
    Command, EvalCommand, EvalTiming, ExpectedResult, ExpectedSeries, LoadCommand, MessageMatch,
    RangeVectorGrid, Script, ScriptError,
};
pub use series::{SequenceValue, SeriesDescription, parse_series_description};
pub use store::MemStorage;
