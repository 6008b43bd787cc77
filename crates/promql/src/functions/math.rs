//! Element-wise math on instant vectors (`abs`, `exp`, trigonometry, …), `clamp*`,
//! `round`, `timestamp`, and the scalar/vector conversions (`scalar`, `vector`, `max_of`,
//! `min_of`).

use norn_model::Labels;

use super::FunctionCall;
use super::common::{
    go_max, go_min, optional_scalar_arg, output, scalar_arg, scalar_output, vector_arg,
};
use crate::error::PromqlError;
use crate::value::Vector;

/// Returns the per-value function of an element-wise math function, or `None` when `name`
/// is not one.
pub(crate) fn element_wise(name: &str) -> Option<fn(f64) -> f64> {
    let function: fn(f64) -> f64 = match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sgn" => sign,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "rad" => |degrees| degrees * std::f64::consts::PI / 180.0,
        "deg" => |radians| radians * 180.0 / std::f64::consts::PI,
        _ => return None,
    };
    Some(function)
}

/// -1, 1, or the value itself for zeros and NaN.
fn sign(value: f64) -> f64 {
    if value < 0.0 {
        -1.0
    } else if value > 0.0 {
        1.0
    } else {
        value
    }
}

/// Applies `transform` to every value of the first argument; outputs drop the name.
fn map_values(
    call: &FunctionCall<'_>,
    transform: impl Fn(f64) -> f64,
) -> Result<Vector, PromqlError> {
    let input = vector_arg(call, 0)?;
    Ok(input
        .iter()
        .map(|sample| output(sample.metric.clone(), call.ts, transform(sample.f), true))
        .collect())
}

/// Evaluates an element-wise math function named by `call.name`.
pub(crate) fn apply_element_wise(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let transform = element_wise(call.name).ok_or_else(|| {
        PromqlError::Internal(format!("{} is not an element-wise function", call.name))
    })?;
    map_values(call, transform)
}

/// `round(v, to_nearest = 1)`: rounds to the nearest multiple, ties upwards.
pub(crate) fn round(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let to_nearest = optional_scalar_arg(call, 1)?.unwrap_or(1.0);
    // Prometheus multiplies by the inverse: it causes fewer precision surprises.
    let inverse = 1.0 / to_nearest;
    map_values(call, |value| (value * inverse + 0.5).floor() / inverse)
}

/// Clamps every value into `[min, max]`; nothing when `max < min`.
fn clamp_between(call: &FunctionCall<'_>, min: f64, max: f64) -> Result<Vector, PromqlError> {
    if max < min {
        return Ok(Vector::new());
    }
    map_values(call, |value| go_max(min, go_min(max, value)))
}

/// `clamp(v, min, max)`.
pub(crate) fn clamp(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let min = scalar_arg(call, 1)?;
    let max = scalar_arg(call, 2)?;
    clamp_between(call, min, max)
}

/// `clamp_min(v, min)`.
pub(crate) fn clamp_min(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let min = scalar_arg(call, 1)?;
    clamp_between(call, min, f64::INFINITY)
}

/// `clamp_max(v, max)`.
pub(crate) fn clamp_max(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let max = scalar_arg(call, 1)?;
    clamp_between(call, f64::NEG_INFINITY, max)
}

/// `timestamp(v)`: each sample's own time in seconds (the step time unless the argument
/// is a plain vector selector).
pub(crate) fn timestamp(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let input = vector_arg(call, 0)?;
    Ok(input
        .iter()
        .map(|sample| {
            output(
                sample.metric.clone(),
                call.ts,
                sample.t as f64 / 1000.0,
                true,
            )
        })
        .collect())
}

/// `start_timestamp(v)` (experimental): Norn stores no start timestamps, so the result is
/// always empty, as Prometheus's is without them.
pub(crate) fn start_timestamp(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    vector_arg(call, 0)?;
    Ok(Vector::new())
}

/// `scalar(v)`: the single element's value, NaN unless there is exactly one.
pub(crate) fn scalar(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let input = vector_arg(call, 0)?;
    let value = match input {
        [only] => only.f,
        _ => f64::NAN,
    };
    Ok(scalar_output(call.ts, value))
}

/// `vector(s)`: one sample without labels.
pub(crate) fn vector(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let value = scalar_arg(call, 0)?;
    Ok(vec![output(Labels::default(), call.ts, value, false)])
}

/// `max_of(a, b)` (experimental): the larger scalar, Go's `math.Max`.
pub(crate) fn max_of(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let value = go_max(scalar_arg(call, 0)?, scalar_arg(call, 1)?);
    Ok(scalar_output(call.ts, value))
}

/// `min_of(a, b)` (experimental): the smaller scalar, Go's `math.Min`.
pub(crate) fn min_of(call: &mut FunctionCall<'_>) -> Result<Vector, PromqlError> {
    let value = go_min(scalar_arg(call, 0)?, scalar_arg(call, 1)?);
    Ok(scalar_output(call.ts, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_keeps_zero_and_nan() {
        assert_eq!(sign(-3.0), -1.0);
        assert_eq!(sign(2.0), 1.0);
        assert!(sign(-0.0).is_sign_negative());
        assert!(sign(f64::NAN).is_nan());
    }

    #[test]
    fn every_listed_function_is_element_wise() {
        for name in [
            "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "sin", "cos",
            "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
            "rad", "deg",
        ] {
            assert!(element_wise(name).is_some(), "{name}");
        }
        assert!(element_wise("rate").is_none());
        let rad = element_wise("rad").map(|f| f(180.0));
        assert_eq!(rad, Some(std::f64::consts::PI));
        let deg = element_wise("deg").map(|f| f(std::f64::consts::PI));
        assert_eq!(deg, Some(180.0));
    }
}
