//! The one rule that turns a `metrics` key name or label name into a prism name, and the
//! mapping of `metrics::Unit` to prism units.
//!
//! # The rule
//!
//! Applied to every metric name and label name, valid or not (a valid name comes out as it
//! went in, except as said in the last two points):
//!
//! 1. every character outside `[a-zA-Z0-9_:]` (outside `[a-zA-Z0-9_]` for label names)
//!    becomes one `_`: `http.requests` -> `http_requests`, `cache-hits` -> `cache_hits`;
//! 2. a name that starts with a digit gets a `_` in front: `5xx` -> `_5xx`;
//! 3. a run of `_` at the start of the name becomes one `_`: `__internal` -> `_internal`
//!    (names starting `__` are reserved by Prometheus);
//! 4. counter names lose one trailing `_total`: the Prometheus and OpenMetrics renderers add
//!    it back, so `requests_total` still prints as `requests_total`.
//!
//! This is the rule OpenTelemetry's Prometheus exporters apply, with the leading `_` runs
//! folded so that no name lands in the reserved `__` space. A name that is still refused
//! after it (an empty one, `_` alone, or a label name prism reserves) is refused by the
//! recorder and counted; two different names that map to one prism name are a collision,
//! also refused and counted (see the crate docs).

use std::borrow::Cow;

/// Maps a metric name by the rule (points 1 to 3; the counter suffix is [`strip_total`]).
pub(crate) fn metric_name(name: &str) -> Cow<'_, str> {
    map(name, true)
}

/// Maps a label name by the rule.
pub(crate) fn label_name(name: &str) -> Cow<'_, str> {
    map(name, false)
}

/// Point 4: a counter's name without one trailing `_total`.
pub(crate) fn strip_total(name: &str) -> &str {
    match name.strip_suffix("_total") {
        Some(stem) if !stem.is_empty() => stem,
        _ => name,
    }
}

fn allowed(c: char, colon: bool) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':')
}

fn map(name: &str, colon: bool) -> Cow<'_, str> {
    let valid_chars = name.chars().all(|c| allowed(c, colon));
    let digit_first = name.starts_with(|c: char| c.is_ascii_digit());
    if valid_chars && !digit_first && !name.starts_with("__") {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 1);
    if digit_first {
        out.push('_');
    }
    for c in name.chars() {
        let c = if allowed(c, colon) { c } else { '_' };
        // Point 3: no second `_` while everything so far is `_`.
        if c == '_' && !out.is_empty() && out.bytes().all(|b| b == b'_') {
            continue;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// The prism unit of a `metrics` unit: its `as_str` name (`seconds`, `bytes`,
/// `count_per_second`...), except `Count`, which is no unit at all (a count is what a
/// metric without a unit holds).
pub(crate) fn unit(unit: metrics::Unit) -> Option<&'static str> {
    match unit {
        metrics::Unit::Count => None,
        other => Some(other.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        assert_eq!(metric_name("http_requests"), "http_requests");
        assert_eq!(metric_name("http.requests"), "http_requests");
        assert_eq!(metric_name("cache-hits"), "cache_hits");
        assert_eq!(metric_name("ns:name"), "ns:name");
        assert_eq!(label_name("ns:name"), "ns_name");
        assert_eq!(metric_name("5xx"), "_5xx");
        assert_eq!(metric_name("__internal"), "_internal");
        assert_eq!(metric_name("..x"), "_x");
        assert_eq!(metric_name("a__b"), "a__b");
        assert_eq!(metric_name("läuft"), "l_uft");
        assert_eq!(metric_name(""), "");
        assert_eq!(metric_name("."), "_");
        assert_eq!(strip_total("requests_total"), "requests");
        assert_eq!(strip_total("_total"), "_total");
        assert_eq!(strip_total("total"), "total");
    }

    #[test]
    fn units() {
        assert_eq!(unit(metrics::Unit::Seconds), Some("seconds"));
        assert_eq!(unit(metrics::Unit::Bytes), Some("bytes"));
        assert_eq!(unit(metrics::Unit::Count), None);
        assert_eq!(
            unit(metrics::Unit::CountPerSecond),
            Some("count_per_second")
        );
    }
}
