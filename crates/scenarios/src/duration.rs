//! Duration strings in scenario files: `"200ns"`, `"1.5us"`, `"10ms"`, `"2s"`.
//!
//! The syntax is Go's `time.ParseDuration` (so a value can be pasted between a
//! scenario and the generated Go program): one or more decimal numbers, each
//! with a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`), as in `"1m30s"`.
//! Unlike Go, a scenario rejects what the model cannot represent exactly:
//! negative values, fractions of a nanosecond, and a bare number without a
//! unit (Go accepts only `"0"` that way; here even zero needs one, `"0s"`).
//! The largest value is Go's largest `time.Duration`, `i64::MAX` nanoseconds.

use sim_core::time::{MICROSECOND_NS, MILLISECOND_NS, SECOND_NS};

/// The units a duration may use, longest spelling first where one is a prefix
/// of another (`ms` before `m`), each with its length in nanoseconds.
const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", MICROSECOND_NS),
    ("µs", MICROSECOND_NS), // U+00B5 MICRO SIGN
    ("μs", MICROSECOND_NS), // U+03BC GREEK SMALL LETTER MU
    ("ms", MILLISECOND_NS),
    ("s", SECOND_NS),
    ("m", 60 * SECOND_NS),
    ("h", 3600 * SECOND_NS),
];

const UNIT_HINT: &str = "use one of ns, us (or µs), ms, s, m, h, like \"50ms\" or \"1.5us\"";

/// More fraction digits than this can never give a whole number of
/// nanoseconds once trailing zeros are removed (no unit has enough factors of
/// 2 and 5), and fewer keeps the arithmetic inside `u128`.
const MAX_FRACTION_DIGITS: usize = 24;

/// Parses a scenario duration into integer nanoseconds. The error text is
/// meant to follow `field: ` in a [`crate::ScenarioError`].
pub fn parse_duration_ns(text: &str) -> Result<u64, String> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if body.is_empty() {
        return Err(format!(
            "empty duration {text:?} (expected a number with a unit: {UNIT_HINT})"
        ));
    }
    let too_long = || {
        format!(
            "duration {text:?} is too long (at most {}ns, Go's largest time.Duration)",
            i64::MAX
        )
    };
    let mut total_ns: u128 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_digits, after_int) = rest.split_at(int_len);
        let (frac_digits, after_number) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after_dot.len());
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(format!(
                "invalid duration {text:?}: expected a number at {rest:?} ({UNIT_HINT})"
            ));
        }
        let unit_len = after_number
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("missing unit in duration {text:?} ({UNIT_HINT})"));
        }
        let Some(&(_, unit_ns)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "unknown unit {unit:?} in duration {text:?} ({UNIT_HINT})"
            ));
        };
        let unit_ns = u128::from(unit_ns);

        // Digits past u128 are certainly too long; leading zeros are harmless.
        let int_value: u128 = match int_digits.trim_start_matches('0') {
            "" => 0,
            digits => digits.parse().map_err(|_| too_long())?,
        };
        let frac_digits = frac_digits.trim_end_matches('0');
        let frac_ns = if frac_digits.is_empty() {
            0
        } else {
            let not_whole = || {
                format!(
                    "duration {text:?} is not a whole number of nanoseconds \
                     (the model counts time in integer ns)"
                )
            };
            if frac_digits.len() > MAX_FRACTION_DIGITS {
                return Err(not_whole());
            }
            let numerator = frac_digits.parse::<u128>().map_err(|_| not_whole())? * unit_ns;
            let denominator = 10u128.pow(frac_digits.len() as u32);
            if numerator % denominator != 0 {
                return Err(not_whole());
            }
            numerator / denominator
        };
        total_ns = int_value
            .checked_mul(unit_ns)
            .and_then(|ns| ns.checked_add(frac_ns))
            .and_then(|ns| ns.checked_add(total_ns))
            .ok_or_else(too_long)?;
        if total_ns > i64::MAX as u128 {
            return Err(too_long());
        }
        rest = after_unit;
    }
    if negative && total_ns != 0 {
        return Err(format!(
            "negative duration {text:?} (durations must be >= 0)"
        ));
    }
    // Bounded by i64::MAX above.
    Ok(total_ns as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_converts_to_nanoseconds() {
        assert_eq!(parse_duration_ns("200ns"), Ok(200));
        assert_eq!(parse_duration_ns("1.5us"), Ok(1_500));
        assert_eq!(parse_duration_ns("1.5µs"), Ok(1_500));
        assert_eq!(parse_duration_ns("1.5μs"), Ok(1_500));
        assert_eq!(parse_duration_ns("10ms"), Ok(10_000_000));
        assert_eq!(parse_duration_ns("2s"), Ok(2_000_000_000));
        assert_eq!(parse_duration_ns("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration_ns("1h"), Ok(3_600_000_000_000));
        assert_eq!(parse_duration_ns("0s"), Ok(0));
        assert_eq!(parse_duration_ns(".5ms"), Ok(500_000));
        assert_eq!(parse_duration_ns("2.ms"), Ok(2_000_000));
        assert_eq!(parse_duration_ns("0.000000001s"), Ok(1));
        assert_eq!(
            parse_duration_ns("1.000000000000000000000000000000s"),
            Ok(SECOND_NS)
        );
        assert_eq!(parse_duration_ns("+3ms"), Ok(3_000_000));
        assert_eq!(parse_duration_ns("-0s"), Ok(0));
    }

    #[test]
    fn the_largest_go_duration_is_accepted_and_one_more_is_not() {
        assert_eq!(
            parse_duration_ns("9223372036854775807ns"),
            Ok(i64::MAX as u64)
        );
        let e = parse_duration_ns("9223372036854775808ns").unwrap_err();
        assert!(e.contains("too long"), "{e}");
        let e = parse_duration_ns("99999999999999999999999999999999999999999999h").unwrap_err();
        assert!(e.contains("too long"), "{e}");
        let e = parse_duration_ns("5000000h").unwrap_err();
        assert!(e.contains("too long"), "{e}");
    }

    #[test]
    fn values_the_model_cannot_represent_are_rejected_with_the_reason() {
        let cases = [
            (
                "-5ms",
                "negative duration \"-5ms\" (durations must be >= 0)",
            ),
            ("50", "missing unit in duration \"50\""),
            ("0", "missing unit in duration \"0\""),
            ("1.5ns", "not a whole number of nanoseconds"),
            ("0.0000000001s", "not a whole number of nanoseconds"),
            (
                "1.0000000000000000000000000001s",
                "not a whole number of nanoseconds",
            ),
            ("10 ms", "unknown unit \" ms\""),
            ("10sec", "unknown unit \"sec\""),
            ("ms", "expected a number at \"ms\""),
            ("", "empty duration"),
            ("-", "empty duration"),
            ("1..5s", "missing unit in duration \"1..5s\""),
        ];
        for (text, expected) in cases {
            let e = parse_duration_ns(text).unwrap_err();
            assert!(e.contains(expected), "{text:?}: {e}");
        }
    }
}
