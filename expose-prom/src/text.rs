//! The few pieces of text the bridge writes itself, where prometheus-client's output is not
//! what the formats require: OpenMetrics HELP escaping, canonical non-finite values, and
//! `_created` timestamps.

/// Appends `help` escaped for an OpenMetrics `# HELP` line: backslash, newline and double
/// quote become `\\`, `\n` and `\"` (OpenMetrics 1.0, "escaped-string").
///
/// prometheus-client writes OpenMetrics HELP text unescaped, so a newline in it ends the line
/// early and corrupts the exposition; the bridge hands it this escaped text instead.
pub(crate) fn escape_openmetrics_help(help: &str, out: &mut String) {
    let mut rest = help;
    while let Some(at) = rest.find(['\\', '\n', '"']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            _ => "\\\"",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// Appends a label value escaped as both text formats require: backslash, double quote
/// and newline become `\\`, `\"` and `\n`. (prometheus-client escapes the label values
/// of everything it encodes the same way; this is for the summaries the bridge writes.)
pub(crate) fn escape_label_value(value: &str, out: &mut String) {
    let mut rest = value;
    while let Some(at) = rest.find(['\\', '\n', '"']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            _ => "\\\"",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// Appends a float in both text formats: shortest round-trip digits (`0.1`, `3.0`,
/// `1e300`), non-finite values as `NaN`, `+Inf`, `-Inf`.
pub(crate) fn push_float(v: f64, out: &mut String) {
    use std::fmt::Write as _;
    if v.is_finite() {
        // `Debug` prints the shortest digits that read back to `v`, with an exponent for
        // very large and very small values; both parsers read that.
        let _ = write!(out, "{v:?}");
    } else {
        out.push_str(non_finite(v));
    }
}

/// The canonical spelling of a non-finite value in both text formats: `NaN`, `+Inf`,
/// `-Inf` (as client_golang and the Python client write them; docs/architecture.md, "Values").
pub(crate) fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// Appends a Unix time in nanoseconds as decimal seconds, exactly: `1700000000.5`,
/// `1700000000.000000001`, `1700000000`.
///
/// Written from the integer rather than through `f64`, which at today's epoch seconds
/// keeps only about a quarter of a microsecond and would print a created time that is
/// not the one recorded.
pub(crate) fn push_unix_seconds(nanos: u64, out: &mut String) {
    const NANOS_PER_SECOND: u64 = 1_000_000_000;
    let (seconds, mut fraction) = (nanos / NANOS_PER_SECOND, nanos % NANOS_PER_SECOND);
    out.push_str(itoa::Buffer::new().format(seconds));
    if fraction == 0 {
        return;
    }
    // `.` and nine digits, then the trailing zeros cut off: one pass, no allocation, and
    // only divisions by a constant (which compile to multiplications).
    let mut digits = *b".000000000";
    for slot in digits[1..].iter_mut().rev() {
        *slot = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    let len = digits
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(1, |last| last + 1);
    out.push_str(std::str::from_utf8(&digits[..len]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn help(s: &str) -> String {
        let mut out = String::new();
        escape_openmetrics_help(s, &mut out);
        out
    }

    fn seconds(nanos: u64) -> String {
        let mut out = String::new();
        push_unix_seconds(nanos, &mut out);
        out
    }

    #[test]
    fn openmetrics_help_escapes_backslash_newline_and_quote() {
        assert_eq!(help(""), "");
        assert_eq!(help("plain text"), "plain text");
        assert_eq!(help(r#"a\b"#), r#"a\\b"#);
        assert_eq!(help("a\nb"), r#"a\nb"#);
        assert_eq!(help(r#"say "hi""#), r#"say \"hi\""#);
        assert_eq!(help("\\\n\"λ\r\t"), "\\\\\\n\\\"λ\r\t");
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline_only() {
        let mut out = String::new();
        escape_label_value("a\\b \"c\"\nd\0λ\r", &mut out);
        assert_eq!(out, "a\\\\b \\\"c\\\"\\nd\0λ\r");
    }

    #[test]
    fn floats_print_shortest_and_read_back() {
        for (v, text) in [
            (0.1, "0.1"),
            (3.0, "3.0"),
            (-0.0, "-0.0"),
            (1e300, "1e300"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            let mut out = String::new();
            push_float(v, &mut out);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn non_finite_values_are_spelled_canonically() {
        assert_eq!(non_finite(f64::NAN), "NaN");
        assert_eq!(non_finite(-f64::NAN), "NaN");
        assert_eq!(non_finite(f64::INFINITY), "+Inf");
        assert_eq!(non_finite(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn unix_seconds_are_exact() {
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1), "0.000000001");
        assert_eq!(seconds(1_000_000_000), "1");
        assert_eq!(seconds(1_700_000_000_500_000_000), "1700000000.5");
        assert_eq!(seconds(1_700_000_000_000_000_001), "1700000000.000000001");
        assert_eq!(seconds(1_700_000_000_123_456_789), "1700000000.123456789");
        assert_eq!(seconds(1_700_000_000_010_000_000), "1700000000.01");
        assert_eq!(seconds(u64::MAX), "18446744073.709551615");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn unix_seconds_read_back_to_the_same_nanoseconds(nanos in any::<u64>()) {
            let text = seconds(nanos);
            let (s, f) = text.split_once('.').unwrap_or((&text, ""));
            prop_assert!(f.len() <= 9 && !f.ends_with('0'));
            let back = s.parse::<u64>().unwrap() * 1_000_000_000
                + format!("{f:0<9}").parse::<u64>().unwrap();
            prop_assert_eq!(back, nanos);
        }

        #[test]
        fn escaped_help_has_no_raw_newline_and_unescapes_back(s in any::<String>()) {
            let escaped = help(&s);
            prop_assert!(!escaped.contains('\n'));
            let mut back = String::new();
            let mut chars = escaped.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('n') => back.push('\n'),
                        Some(other) => back.push(other),
                        None => prop_assert!(false, "dangling backslash"),
                    }
                } else {
                    prop_assert!(c != '"', "raw quote");
                    back.push(c);
                }
            }
            prop_assert_eq!(back, s);
        }
    }
}
