//! Byte sizes in scenario files and on the command line: `"64B"`, `"4KiB"`,
//! `"32MiB"`, or a plain number of bytes.
//!
//! The syntax is Go's `GOMEMLIMIT` (`parseByteCount` in runtime/string.go),
//! so a value can be pasted between a scenario, the command line and the
//! environment of the generated Go program: a non-negative decimal integer,
//! optionally followed by one of the binary units `B`, `KiB`, `MiB`, `GiB`,
//! `TiB`, with nothing in between, and at most `i64::MAX` bytes. This parser
//! accepts exactly what Go accepts (a test checks it against the model's own
//! copy of Go's rules, `sim_gc::pacer::parse_gomemlimit`); what it adds is
//! the reason when a value is rejected: `"32MB"` is not a Go unit, `"1.5MiB"`
//! is not an integer, and so on.

/// The units, each with its size in bytes.
const UNITS: [(&str, u64); 5] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

const UNIT_HINT: &str = "a whole number of bytes with an optional unit B, KiB, MiB, GiB or TiB, like \"64B\" or \"32MiB\"";

/// The decimal spelling of a unit someone may write for a binary one.
fn binary_unit_for(unit: &str) -> Option<&'static str> {
    match unit.to_ascii_lowercase().as_str() {
        "b" | "byte" | "bytes" => Some("B"),
        "k" | "kb" | "kib" => Some("KiB"),
        "m" | "mb" | "mib" => Some("MiB"),
        "g" | "gb" | "gib" => Some("GiB"),
        "t" | "tb" | "tib" => Some("TiB"),
        _ => None,
    }
}

/// Parses a byte size in Go's `GOMEMLIMIT` syntax. The error text is meant
/// to follow `field: ` in a [`crate::ScenarioError`], or a flag name.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    if text.is_empty() {
        return Err(format!("empty byte size (expected {UNIT_HINT})"));
    }
    if text.contains(char::is_whitespace) {
        let joined: String = text.split_whitespace().collect();
        return Err(format!(
            "byte size {text:?} contains a space (Go reads {joined:?}, with nothing between the number and the unit)"
        ));
    }
    // Go reads the number with strconv.ParseInt, which takes a sign.
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let number_len = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    let (digits, unit) = body.split_at(number_len);
    if digits.is_empty() {
        return Err(format!(
            "invalid byte size {text:?}: expected a number first ({UNIT_HINT})"
        ));
    }
    if let Some(fraction) = unit.strip_prefix('.') {
        let frac_len = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        let unit_after = &fraction[frac_len..];
        let hint = match UNITS.iter().position(|(name, _)| *name == unit_after) {
            Some(i) if i > 0 => format!(
                ": write it in a smaller unit, like \"{}{}\"",
                exact_in(digits, &fraction[..frac_len], UNITS[i].1, UNITS[i - 1].1)
                    .unwrap_or_else(|| "N".to_string()),
                UNITS[i - 1].0
            ),
            _ => String::new(),
        };
        return Err(format!(
            "byte size {text:?} is not a whole number (Go's GOMEMLIMIT syntax takes integers only{hint})"
        ));
    }
    let Some(&(_, unit_bytes)) = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .or_else(|| unit.is_empty().then_some(&UNITS[0]))
    else {
        let hint = match binary_unit_for(unit) {
            Some(binary) => format!(
                " (Go's GOMEMLIMIT syntax has binary units only: write \"{digits}{binary}\" for {digits} × {} bytes)",
                match binary {
                    "B" => "1",
                    "KiB" => "1024",
                    "MiB" => "2^20",
                    "GiB" => "2^30",
                    _ => "2^40",
                }
            ),
            None if ["ns", "us", "µs", "ms", "s", "h"].contains(&unit) => {
                format!(" (this is a byte size, not a duration: expected {UNIT_HINT})")
            }
            None => format!(" (expected {UNIT_HINT})"),
        };
        return Err(format!("unknown unit {unit:?} in byte size {text:?}{hint}"));
    };
    let too_large = || {
        format!(
            "byte size {text:?} is too large (at most {} bytes, Go's largest GOMEMLIMIT)",
            i64::MAX
        )
    };
    let value: u64 = match digits.trim_start_matches('0') {
        "" => 0,
        significant => significant.parse().map_err(|_| too_large())?,
    };
    let bytes = value.checked_mul(unit_bytes).ok_or_else(too_large)?;
    if bytes > i64::MAX as u64 {
        return Err(too_large());
    }
    if negative && bytes != 0 {
        return Err(format!(
            "negative byte size {text:?} (byte sizes must be >= 0)"
        ));
    }
    Ok(bytes)
}

/// `int.frac` units of `unit` bytes, counted in units of `smaller` bytes,
/// when that is a whole number.
fn exact_in(int: &str, frac: &str, unit: u64, smaller: u64) -> Option<String> {
    let scale = 10u128.checked_pow(frac.len() as u32)?;
    let whole: u128 = format!("{int}{frac}").parse().ok()?;
    let bytes_times_scale = whole.checked_mul(u128::from(unit))?;
    let per = scale.checked_mul(u128::from(smaller))?;
    (bytes_times_scale % per == 0).then(|| (bytes_times_scale / per).to_string())
}

/// A byte count the way people read it: the largest unit it is a whole
/// number of (`64B`, `4KiB`, `32MiB`), the inverse of [`parse_byte_size`].
pub fn format_byte_size(bytes: u64) -> String {
    let (name, size) = UNITS
        .iter()
        .rev()
        .find(|(_, size)| bytes.is_multiple_of(*size) && bytes >= *size)
        .copied()
        .unwrap_or(UNITS[0]);
    format!("{}{name}", bytes / size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_converts_to_bytes() {
        assert_eq!(parse_byte_size("0"), Ok(0));
        assert_eq!(parse_byte_size("64"), Ok(64));
        assert_eq!(parse_byte_size("64B"), Ok(64));
        assert_eq!(parse_byte_size("4KiB"), Ok(4096));
        assert_eq!(parse_byte_size("32MiB"), Ok(32 << 20));
        assert_eq!(parse_byte_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_byte_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_byte_size("007KiB"), Ok(7 << 10));
        assert_eq!(parse_byte_size("+8B"), Ok(8));
        assert_eq!(parse_byte_size("-0"), Ok(0));
        assert_eq!(parse_byte_size("-0MiB"), Ok(0));
    }

    #[test]
    fn the_largest_go_byte_count_is_accepted_and_one_more_is_not() {
        assert_eq!(parse_byte_size("9223372036854775807"), Ok(i64::MAX as u64));
        assert_eq!(parse_byte_size("8388607TiB"), Ok((8_388_607u64) << 40));
        for text in [
            "9223372036854775808",
            "8388608TiB",
            "99999999999999999999999999B",
        ] {
            let e = parse_byte_size(text).unwrap_err();
            assert!(e.contains("too large"), "{text}: {e}");
        }
    }

    #[test]
    fn rejected_values_say_why_and_what_to_write() {
        let cases = [
            ("", "empty byte size"),
            ("32MB", "write \"32MiB\" for 32 × 2^20 bytes"),
            ("4kb", "write \"4KiB\""),
            ("1G", "write \"1GiB\""),
            ("10 MiB", "contains a space (Go reads \"10MiB\""),
            ("1.5MiB", "not a whole number"),
            ("1.5MiB", "like \"1536KiB\""),
            ("-5MiB", "negative byte size \"-5MiB\""),
            ("MiB", "expected a number first"),
            ("12parsecs", "unknown unit \"parsecs\""),
            ("0x10", "unknown unit \"x10\""),
            ("10ms", "a byte size, not a duration"),
            ("1e6", "unknown unit \"e6\""),
        ];
        for (text, expected) in cases {
            let e = parse_byte_size(text).unwrap_err();
            assert!(e.contains(expected), "{text:?}: {e}");
        }
    }

    #[test]
    fn sizes_print_in_the_largest_exact_unit() {
        assert_eq!(format_byte_size(0), "0B");
        assert_eq!(format_byte_size(64), "64B");
        assert_eq!(format_byte_size(1536), "1536B");
        assert_eq!(format_byte_size(4096), "4KiB");
        assert_eq!(format_byte_size(32 << 20), "32MiB");
        assert_eq!(format_byte_size(3 << 30), "3GiB");
        for bytes in [1, 1000, 4096, 5 << 20, 1 << 40, i64::MAX as u64] {
            assert_eq!(parse_byte_size(&format_byte_size(bytes)), Ok(bytes));
        }
    }
}
