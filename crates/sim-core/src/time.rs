//! Virtual time: integer nanoseconds since the simulated program started.
//!
//! The model never uses floating point for time. Durations and instants are
//! plain `u64` nanoseconds, named with an `_ns` suffix wherever they are stored.

/// One microsecond in nanoseconds.
pub const MICROSECOND_NS: u64 = 1_000;
/// One millisecond in nanoseconds.
pub const MILLISECOND_NS: u64 = 1_000_000;
/// One second in nanoseconds.
pub const SECOND_NS: u64 = 1_000_000_000;

/// Formats a duration for people: `750ns`, `12.5µs`, `3.25ms`, `1.5s`.
/// Used in reasons and summaries, never parsed back.
pub fn format_duration_ns(duration_ns: u64) -> String {
    fn trim(value: String) -> String {
        if value.contains('.') {
            value
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            value
        }
    }
    if duration_ns < MICROSECOND_NS {
        format!("{duration_ns}ns")
    } else if duration_ns < MILLISECOND_NS {
        format!("{}µs", trim(format!("{:.3}", duration_ns as f64 / 1e3)))
    } else if duration_ns < SECOND_NS {
        format!("{}ms", trim(format!("{:.3}", duration_ns as f64 / 1e6)))
    } else {
        format!("{}s", trim(format!("{:.3}", duration_ns as f64 / 1e9)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_in_the_largest_sensible_unit() {
        assert_eq!(format_duration_ns(750), "750ns");
        assert_eq!(format_duration_ns(12_500), "12.5µs");
        assert_eq!(format_duration_ns(10 * MILLISECOND_NS), "10ms");
        assert_eq!(format_duration_ns(1_500 * MILLISECOND_NS), "1.5s");
    }
}
