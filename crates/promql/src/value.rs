//! The values PromQL computes with: scalars, strings, instant vectors and range vectors
//! (matrices), in the shapes Prometheus's engine uses, plus the stale-marker rule.

use norn_model::Labels;

/// The bit pattern of Prometheus's stale marker (a NaN that means "this series ended").
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Returns true when `value` is Prometheus's stale marker (compared by bits: any other NaN is
/// an ordinary sample value).
pub fn is_stale_nan(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// One float point of a series: a timestamp in milliseconds and a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FPoint {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value.
    pub f: f64,
}

/// One element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels. With delayed name removal the metric name stays here until the
    /// end of evaluation and `drop_name` says whether it goes.
    pub metric: Labels,
    /// The timestamp in milliseconds: the sample's own time when it comes straight from a
    /// vector selector, otherwise the evaluation step's time.
    pub t: i64,
    /// The value.
    pub f: f64,
    /// True when the metric name must be removed from `metric` before the result is
    /// returned (Prometheus's `DropName`, delayed name removal).
    pub drop_name: bool,
}

/// An instant vector: at most one sample per label set.
pub type Vector = Vec<Sample>;

/// One series of a range vector or of a range query's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series' labels (see [`Sample::metric`] about the name).
    pub metric: Labels,
    /// Points in time order.
    pub floats: Vec<FPoint>,
    /// True when the metric name must be removed before the result is returned.
    pub drop_name: bool,
}

/// A range vector, or the result of a range query: series in no particular order.
pub type Matrix = Vec<Series>;

/// A query result or intermediate value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar at a time (milliseconds).
    Scalar {
        /// Milliseconds since the Unix epoch.
        t: i64,
        /// The value.
        f: f64,
    },
    /// A string at a time (milliseconds).
    String {
        /// Milliseconds since the Unix epoch.
        t: i64,
        /// The string.
        s: String,
    },
    /// An instant vector.
    Vector(Vector),
    /// A range vector or range-query result.
    Matrix(Matrix),
}

impl Value {
    /// Returns Prometheus's name of the value's type (`scalar`, `string`, `vector`, `matrix`),
    /// as the HTTP API's `resultType` spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}
