//! OpenTelemetry names beside the Prometheus ones: the rules an OpenTelemetry metric name,
//! unit and attribute name follow, and the OpenTelemetry-to-Prometheus translation that
//! gives the Prometheus name, unit and label names of a metric registered by its
//! OpenTelemetry name ([`Metadata::otel`](crate::Metadata::otel)).
//!
//! Every family has both sets of names: [`Descriptor::otel_name`](crate::Descriptor::otel_name),
//! [`otel_unit`](crate::Descriptor::otel_unit) and
//! [`attribute_names`](crate::Descriptor::attribute_names) beside
//! [`name`](crate::Descriptor::name), [`unit`](crate::Descriptor::unit) and
//! [`label_names`](crate::Descriptor::label_names). OTLP renders the first, Prometheus
//! text and JSON the second.
//!
//! # The translation
//!
//! It follows the OpenTelemetry specification's "Prometheus and OpenMetrics Compatibility"
//! (section "OTLP Metric points to Prometheus", metric metadata) and the translator that
//! the OpenTelemetry Collector and Prometheus share (`github.com/prometheus/otlptranslator`,
//! formerly `opentelemetry-collector-contrib/pkg/translator/prometheus`):
//!
//! 1. Every character outside `[a-zA-Z0-9:]` splits the name: dots, dashes, slashes and
//!    runs of underscores become one `_`; leading and trailing ones go.
//! 2. The unit's Prometheus word is appended unless the name already ends with it: `s` is
//!    `seconds`, `By` is `bytes`, `ms` `milliseconds`, ... ([`prometheus_unit`]); a unit
//!    `a/b` is `<a>_per_<b>`; an annotation in braces (`{request}`) is no unit; `1` is no
//!    unit, except on a gauge, which gets `ratio`.
//! 3. A counter loses a trailing `total`: prism's Prometheus formats add `_total` to every
//!    counter, as the translation does.
//! 4. An attribute name becomes a label name by rule 1 (invalid characters to `_`, runs of
//!    `_` to one), prefixed with `key_` if it starts with a digit.
//!
//! The translator also drops `total` and `ratio` words from the middle of a name; prism
//! keeps them, so that the Prometheus name always reads as the OpenTelemetry one. The unit
//! is appended when the name does not end with it (the specification's rule since it
//! required the unit as a suffix), not when the word appears anywhere in the name.
//!
//! ```
//! use prism_core::{otel, Kind};
//! let (name, unit) = otel::prometheus_name("http.server.request.duration", "s", Kind::Histogram)?;
//! assert_eq!(name, "http_server_request_duration_seconds");
//! assert_eq!(unit.as_deref(), Some("seconds"));
//! assert_eq!(otel::prometheus_label_name("http.request.method"), "http_request_method");
//! # Ok::<(), prism_core::Error>(())
//! ```

use crate::error::Error;
use crate::metric::Kind;
use crate::name::OVERFLOW_ATTRIBUTE;

/// Longest OpenTelemetry metric name, in bytes (the API specification's instrument name
/// limit).
pub const MAX_OTEL_NAME_BYTES: usize = 255;
/// Longest OpenTelemetry unit, in bytes (the API specification's limit).
pub const MAX_OTEL_UNIT_BYTES: usize = 63;
/// Longest attribute name accepted, in bytes. Each is printed on every series; the bound
/// keeps one careless name from dominating every render.
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 255;

/// UCUM units and their Prometheus words, as the translator maps them.
const UNITS: &[(&str, &str)] = &[
    ("d", "days"),
    ("h", "hours"),
    ("min", "minutes"),
    ("s", "seconds"),
    ("ms", "milliseconds"),
    ("us", "microseconds"),
    ("ns", "nanoseconds"),
    ("By", "bytes"),
    ("KiBy", "kibibytes"),
    ("MiBy", "mebibytes"),
    ("GiBy", "gibibytes"),
    // Spelled as the translator spells it, so that the names agree with its output.
    ("TiBy", "tibibytes"),
    ("KBy", "kilobytes"),
    ("MBy", "megabytes"),
    ("GBy", "gigabytes"),
    ("TBy", "terabytes"),
    ("m", "meters"),
    ("V", "volts"),
    ("A", "amperes"),
    ("J", "joules"),
    ("W", "watts"),
    ("g", "grams"),
    ("Cel", "celsius"),
    ("Hz", "hertz"),
    ("%", "percent"),
];

/// The denominators of a `a/b` unit, singular.
const PER_UNITS: &[(&str, &str)] = &[
    ("s", "second"),
    ("min", "minute"),
    ("h", "hour"),
    ("d", "day"),
    ("w", "week"),
    ("mo", "month"),
    ("y", "year"),
];

/// Checks an OpenTelemetry metric name: an ASCII letter, then letters, digits, `_`, `.`,
/// `-` or `/`, at most [`MAX_OTEL_NAME_BYTES`] in all (the OpenTelemetry API's instrument
/// name syntax).
///
/// ```
/// assert!(prism_core::otel::validate_otel_name("http.server.request.duration").is_ok());
/// assert!(prism_core::otel::validate_otel_name("9lives").is_err());
/// assert!(prism_core::otel::validate_otel_name("a b").is_err());
/// ```
pub fn validate_otel_name(name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidOtelName {
            name: name.to_owned(),
            reason,
        })
    };
    let mut bytes = name.bytes();
    match bytes.next() {
        None => return bad("it is empty"),
        Some(b) if !b.is_ascii_alphabetic() => return bad("it must start with an ASCII letter"),
        Some(_) => {}
    }
    if !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/')) {
        return bad("it may only hold ASCII letters, digits, `_`, `.`, `-` and `/`");
    }
    if name.len() > MAX_OTEL_NAME_BYTES {
        return bad("it is longer than 255 bytes");
    }
    Ok(())
}

/// Checks an OpenTelemetry unit: empty (no unit), or at most [`MAX_OTEL_UNIT_BYTES`] of
/// printable ASCII without spaces (UCUM's case-sensitive syntax: `s`, `By`, `1`,
/// `{request}`, `By/s`).
pub fn validate_otel_unit(family: &str, unit: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidOtelUnit {
            family: family.to_owned(),
            unit: unit.to_owned(),
            reason,
        })
    };
    if unit.len() > MAX_OTEL_UNIT_BYTES {
        return bad("it is longer than 63 bytes");
    }
    if !unit.bytes().all(|b| b.is_ascii_graphic()) {
        return bad("it may only hold printable ASCII characters, without spaces");
    }
    Ok(())
}

/// Checks an attribute name given for a family registered by its OpenTelemetry name: at
/// most [`MAX_ATTRIBUTE_NAME_BYTES`] of printable ASCII without spaces, holding a letter
/// or digit, not `otel.metric.overflow`.
pub fn validate_attribute_name(family: &str, attribute: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidAttributeName {
            family: family.to_owned(),
            attribute: attribute.to_owned(),
            reason,
        })
    };
    if attribute.len() > MAX_ATTRIBUTE_NAME_BYTES {
        return bad("it is longer than 255 bytes");
    }
    if !attribute.bytes().all(|b| b.is_ascii_graphic()) {
        return bad("it may only hold printable ASCII characters, without spaces");
    }
    if !attribute.bytes().any(|b| b.is_ascii_alphanumeric()) {
        return bad("it holds no letter or digit, so no Prometheus label name comes from it");
    }
    if attribute == OVERFLOW_ATTRIBUTE {
        return bad("it marks the overflow series and is reserved");
    }
    Ok(())
}

/// The Prometheus word of a UCUM unit: `s` is `seconds`, `By/s` is `bytes_per_second`;
/// `None` for no unit, `1` and an annotation (`{request}`). A unit not in the table is
/// kept, its characters outside `[a-zA-Z0-9:]` turned to `_`.
///
/// ```
/// use prism_core::otel::prometheus_unit;
/// assert_eq!(prometheus_unit("ms").as_deref(), Some("milliseconds"));
/// assert_eq!(prometheus_unit("By/s").as_deref(), Some("bytes_per_second"));
/// assert_eq!(prometheus_unit("{request}"), None);
/// assert_eq!(prometheus_unit("1"), None);
/// ```
pub fn prometheus_unit(unit: &str) -> Option<String> {
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main.trim(), Some(per.trim())),
        None => (unit.trim(), None),
    };
    let word = |u: &str, table: &[(&str, &str)]| -> Option<String> {
        if u.is_empty() || u.contains(['{', '}']) {
            return None;
        }
        let w = table
            .iter()
            .find(|(ucum, _)| *ucum == u)
            .map_or(u, |(_, word)| word);
        let w = tokens(w).collect::<Vec<_>>().join("_");
        (!w.is_empty()).then_some(w)
    };
    let main = if main == "1" { None } else { word(main, UNITS) };
    let per = per.and_then(|p| word(p, PER_UNITS));
    match (main, per) {
        (Some(m), Some(p)) => Some(format!("{m}_per_{p}")),
        (Some(m), None) => Some(m),
        (None, Some(p)) => Some(format!("per_{p}")),
        (None, None) => None,
    }
}

/// The UCUM unit of a Prometheus unit word, the default OpenTelemetry unit of a metric
/// registered by its Prometheus name: `seconds` is `s`, `bytes` is `By`, `ratio` is `1`,
/// `bytes_per_second` is `By/s`; a word not in the table is kept as is.
///
/// ```
/// use prism_core::otel::otel_unit;
/// assert_eq!(otel_unit("seconds"), "s");
/// assert_eq!(otel_unit("ratio"), "1");
/// assert_eq!(otel_unit("bytes_per_second"), "By/s");
/// assert_eq!(otel_unit("requests"), "requests");
/// ```
pub fn otel_unit(prometheus_unit: &str) -> String {
    let main = |w: &str| -> Option<&'static str> {
        if w == "ratio" {
            return Some("1");
        }
        UNITS.iter().find(|(_, word)| *word == w).map(|(u, _)| *u)
    };
    if let Some(u) = main(prometheus_unit) {
        return u.to_owned();
    }
    if let Some((m, p)) = prometheus_unit.split_once("_per_") {
        let per = PER_UNITS
            .iter()
            .find(|(_, word)| *word == p)
            .map(|(u, _)| *u);
        if let (Some(m), Some(p)) = (main(m), per) {
            return format!("{m}/{p}");
        }
    }
    prometheus_unit.to_owned()
}

/// The Prometheus name (without `_total`: the Prometheus formats add it to counters) and
/// Prometheus unit of a metric registered by its OpenTelemetry `name` and `unit`, as the
/// module docs describe. The name must be valid ([`validate_otel_name`]).
///
/// `kind` is the kind it is registered with; [`Kind::Gauge`] means an OpenTelemetry gauge,
/// whose unit `1` gives `_ratio`. An up-down counter, also a gauge to Prometheus, is a
/// non-monotonic sum to OpenTelemetry and gets no `_ratio`: its registration passes
/// `up_down` to the registry's own call of this rule.
///
/// ```
/// use prism_core::{otel::prometheus_name, Kind};
/// assert_eq!(prometheus_name("system.memory.utilization", "1", Kind::Gauge)?.0,
///            "system_memory_utilization_ratio");
/// assert_eq!(prometheus_name("http.server.requests", "{request}", Kind::Counter)?.0,
///            "http_server_requests");
/// # Ok::<(), prism_core::Error>(())
/// ```
pub fn prometheus_name(
    name: &str,
    unit: &str,
    kind: Kind,
) -> Result<(String, Option<String>), Error> {
    translate(name, unit, kind, false)
}

/// [`prometheus_name`] with the up-down flag of the registration.
pub(crate) fn translate(
    name: &str,
    unit: &str,
    kind: Kind,
    up_down: bool,
) -> Result<(String, Option<String>), Error> {
    validate_otel_name(name)?;
    let mut words: Vec<&str> = tokens(name).collect();
    if kind == Kind::Counter && words.last() == Some(&"total") {
        words.pop();
    }
    if words.is_empty() {
        return Err(Error::InvalidOtelName {
            name: name.to_owned(),
            reason: "its Prometheus name would be empty (a counter named `total` loses that \
                     word to the `_total` the formats add); give it a name that says what it \
                     counts",
        });
    }
    let gauge_ratio = kind == Kind::Gauge && !up_down && unit.trim() == "1";
    let unit_word = if gauge_ratio {
        Some("ratio".to_owned())
    } else {
        prometheus_unit(unit)
    };
    let mut out = words.join("_");
    if let Some(u) = &unit_word {
        let ends_with = out
            .strip_suffix(u.as_str())
            .is_some_and(|stem| stem.ends_with('_'));
        if !ends_with {
            out.push('_');
            out.push_str(u);
        }
    }
    Ok((out, unit_word))
}

/// The Prometheus label name of an attribute name: characters outside `[a-zA-Z0-9_]` and
/// runs of `_` become one `_`, and `key_` goes before a leading digit.
///
/// ```
/// use prism_core::otel::prometheus_label_name;
/// assert_eq!(prometheus_label_name("http.response.status_code"), "http_response_status_code");
/// assert_eq!(prometheus_label_name("2xx"), "key_2xx");
/// ```
pub fn prometheus_label_name(attribute: &str) -> String {
    let mut out = String::with_capacity(attribute.len());
    for c in attribute.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    }
    out
}

/// The words of a name: its runs of `[a-zA-Z0-9:]`.
fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OTel name, unit, kind, up-down -> Prometheus core name (no `_total`) and unit.
    type Case<'a> = (&'a str, &'a str, Kind, bool, &'a str, Option<&'a str>);

    #[test]
    fn translation_table() {
        let cases: &[Case<'_>] = &[
            // The HTTP server semantic conventions (stable).
            (
                "http.server.request.duration",
                "s",
                Kind::Histogram,
                false,
                "http_server_request_duration_seconds",
                Some("seconds"),
            ),
            (
                "http.server.active_requests",
                "{request}",
                Kind::Gauge,
                true,
                "http_server_active_requests",
                None,
            ),
            (
                "http.server.request.body.size",
                "By",
                Kind::Histogram,
                false,
                "http_server_request_body_size_bytes",
                Some("bytes"),
            ),
            (
                "http.server.response.body.size",
                "By",
                Kind::Histogram,
                false,
                "http_server_response_body_size_bytes",
                Some("bytes"),
            ),
            // The translator's own examples.
            (
                "system.filesystem.usage",
                "By",
                Kind::Gauge,
                false,
                "system_filesystem_usage_bytes",
                Some("bytes"),
            ),
            (
                "system.network.dropped",
                "{packets}",
                Kind::Counter,
                false,
                "system_network_dropped",
                None,
            ),
            (
                "system.network.dropped",
                "packets",
                Kind::Counter,
                false,
                "system_network_dropped_packets",
                Some("packets"),
            ),
            (
                "system.memory.utilization",
                "1",
                Kind::Gauge,
                false,
                "system_memory_utilization_ratio",
                Some("ratio"),
            ),
            (
                "requests.count",
                "1",
                Kind::Counter,
                false,
                "requests_count",
                None,
            ),
            ("jobs.total", "", Kind::Counter, false, "jobs", None),
            ("jobs.total", "", Kind::Gauge, false, "jobs_total", None),
            (
                "process.cpu.time",
                "s",
                Kind::Counter,
                false,
                "process_cpu_time_seconds",
                Some("seconds"),
            ),
            (
                "network.io",
                "By/s",
                Kind::Gauge,
                false,
                "network_io_bytes_per_second",
                Some("bytes_per_second"),
            ),
            (
                "queue.latency",
                "ms",
                Kind::Summary,
                false,
                "queue_latency_milliseconds",
                Some("milliseconds"),
            ),
            // Already ends in its unit: not appended twice.
            (
                "request_duration_seconds",
                "s",
                Kind::Histogram,
                false,
                "request_duration_seconds",
                Some("seconds"),
            ),
            // The unit word elsewhere in the name is not its suffix: appended.
            (
                "seconds.before.birthday",
                "s",
                Kind::Gauge,
                false,
                "seconds_before_birthday_seconds",
                Some("seconds"),
            ),
            // Dashes, slashes and runs of `_` become one `_`.
            ("a-b/c__d.e", "", Kind::Gauge, false, "a_b_c_d_e", None),
            ("up", "", Kind::Gauge, false, "up", None),
        ];
        for &(name, unit, kind, up_down, want, want_unit) in cases {
            let (got, got_unit) = translate(name, unit, kind, up_down).unwrap();
            assert_eq!(got, want, "{name} {unit} {kind:?}");
            assert_eq!(got_unit.as_deref(), want_unit, "{name} {unit} {kind:?}");
        }
    }

    #[test]
    fn attribute_table() {
        for (attribute, label) in [
            ("http.request.method", "http_request_method"),
            ("http.route", "http_route"),
            ("http.response.status_code", "http_response_status_code"),
            ("error.type", "error_type"),
            ("url.scheme", "url_scheme"),
            ("a..b--c", "a_b_c"),
            ("method", "method"),
            ("9x", "key_9x"),
        ] {
            assert_eq!(prometheus_label_name(attribute), label);
        }
    }

    #[test]
    fn unit_round_trip() {
        for (prom, ucum) in [
            ("seconds", "s"),
            ("milliseconds", "ms"),
            ("bytes", "By"),
            ("ratio", "1"),
            ("percent", "%"),
            ("celsius", "Cel"),
            ("bytes_per_second", "By/s"),
            ("requests", "requests"),
        ] {
            assert_eq!(otel_unit(prom), ucum);
        }
        // Every Prometheus word of the table comes back from its UCUM unit.
        for (_, word) in UNITS {
            assert_eq!(prometheus_unit(&otel_unit(word)).as_deref(), Some(*word));
        }
    }

    #[test]
    fn refusals() {
        for name in ["", "9x", ".a", "a b", "a\u{e9}", "a{b}", &"a".repeat(256)] {
            assert!(matches!(
                validate_otel_name(name),
                Err(Error::InvalidOtelName { .. })
            ));
        }
        // A counter that is only `total` has no name left before `_total`.
        let err = translate("total", "", Kind::Counter, false).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        // A name that is its unit's word keeps it and gets the suffix.
        let (name, _) = translate("seconds", "s", Kind::Gauge, false).unwrap();
        assert_eq!(name, "seconds_seconds");
        assert!(validate_otel_unit("x", "a b").is_err());
        assert!(validate_otel_unit("x", &"s".repeat(64)).is_err());
        assert!(validate_otel_unit("x", "").is_ok());
        assert!(validate_attribute_name("x", "...").is_err());
        assert!(validate_attribute_name("x", "otel.metric.overflow").is_err());
        assert!(validate_attribute_name("x", "a b").is_err());
    }
}
