//! Float formatting the way Go spells it, for the texts Prometheus builds with Go's
//! formatting: `count_values` labels (`strconv.FormatFloat(f, 'f', -1, 64)`) and the numbers
//! inside warnings and errors (`%g` / `%v`).

/// Formats `value` as Go's `strconv.FormatFloat(value, 'f', -1, 64)`: the shortest digits
/// that round-trip, never an exponent; `+Inf`, `-Inf`, `NaN`.
pub(crate) fn format_go_f(value: f64) -> String {
    if let Some(special) = special_spelling(value) {
        return special.to_owned();
    }
    // Rust's `Display` prints the same shortest round-trip digits without an exponent.
    format!("{value}")
}

/// Formats `value` as Go's `%g` (and `%v`) with the shortest precision: exponent form when
/// the decimal exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`), plain otherwise;
/// `+Inf`, `-Inf`, `NaN`.
pub(crate) fn format_go_g(value: f64) -> String {
    if let Some(special) = special_spelling(value) {
        return special.to_owned();
    }
    let (negative, digits, exponent) = shortest_digits(value);
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exponent < 0 { '-' } else { '+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
        return out;
    }
    // Plain form: the decimal point sits after `exponent + 1` digits.
    let point = exponent + 1;
    if point <= 0 {
        out.push('0');
    } else {
        for index in 0..point as usize {
            out.push(digits.as_bytes().get(index).map_or('0', |b| *b as char));
        }
    }
    let fraction_digits = digits.len() as i32 - point;
    if fraction_digits > 0 {
        out.push('.');
        for offset in 0..fraction_digits {
            let index = point + offset;
            let digit = usize::try_from(index)
                .ok()
                .and_then(|index| digits.as_bytes().get(index))
                .map_or('0', |b| *b as char);
            out.push(digit);
        }
    }
    out
}

/// Go's spelling of the non-finite values, or `None` for a finite one.
fn special_spelling(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value == f64::INFINITY {
        Some("+Inf")
    } else if value == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// Splits a finite value into its sign, its shortest round-trip significant digits (no
/// trailing zeros, at least one digit) and its decimal exponent (value = d.ddd × 10^exp).
fn shortest_digits(value: f64) -> (bool, String, i32) {
    let negative = value.is_sign_negative();
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent = exponent.parse::<i32>().unwrap_or(0);
    (negative, digits, exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_matches_go_spellings() {
        let cases = [
            (1.1, "1.1"),
            (-1.1, "-1.1"),
            (1.0, "1"),
            (0.0, "0"),
            (-0.0, "-0"),
            (100000.0, "100000"),
            (999999.5, "999999.5"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1e20, "1e+20"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (9.223372036854776e18, "9.223372036854776e+18"),
            (1e100, "1e+100"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_go_g(value), expected, "value {value:e}");
        }
    }

    #[test]
    fn f_matches_go_spellings() {
        let cases = [
            (6.0, "6"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (1e21, "1000000000000000000000"),
            (1e-7, "0.0000001"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_go_f(value), expected);
        }
    }
}
