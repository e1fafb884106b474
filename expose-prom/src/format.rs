//! The two text formats, their `Content-Type`s, and [`Format::negotiate`], which picks one
//! from an `Accept` header the way Prometheus' own client libraries do.

/// `Content-Type` of the Prometheus text format, version 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `Content-Type` of the OpenMetrics text format, version 1.0.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A text exposition format.
///
/// ```
/// use prism_prom::Format;
///
/// // What Prometheus 2.x sends when it scrapes:
/// let accept = "application/openmetrics-text;version=1.0.0,\
///               application/openmetrics-text;version=0.0.1;q=0.75,\
///               text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(Format::negotiate(accept), Format::OpenMetrics);
/// // curl, a browser, or no header at all:
/// assert_eq!(Format::negotiate("*/*"), Format::Prometheus);
/// assert_eq!(Format::negotiate(""), Format::Prometheus);
/// assert_eq!(Format::OpenMetrics.content_type(),
///            "application/openmetrics-text; version=1.0.0; charset=utf-8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// The Prometheus text format, version 0.0.4: what every scraper reads. Counters are
    /// typed and sampled as `<name>_total`; no `_created`, no `# EOF`.
    #[default]
    Prometheus,
    /// OpenMetrics 1.0.0 text: counters typed as `<name>` and sampled as `<name>_total`
    /// with a `<name>_created` line per series, `# UNIT` lines, and `# EOF` at the end.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` a response in this format carries.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => PROMETHEUS_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }

    /// Picks the format to answer a request with this `Accept` header.
    ///
    /// The rule is client_golang's (`expfmt.NegotiateIncludingOpenMetrics`), which
    /// Prometheus' scraper is written against: the acceptable media ranges are taken in
    /// order of their `q` weight (ties in header order), and the first one this crate can
    /// produce wins:
    ///
    /// - `application/openmetrics-text` with `version` `1.0.0`, `0.0.1` or none: OpenMetrics
    ///   (the body is 1.0.0; both versions parse it);
    /// - `text/plain` with `version` `0.0.4` or none, `text/*` and `*/*`: Prometheus 0.0.4.
    ///
    /// A range with `q=0` is refused. Anything else (protobuf, a text version this crate does
    /// not write, a malformed range) is skipped, and when nothing matches the answer is the
    /// Prometheus 0.0.4 format, as in client_golang: a scraper always gets a body it can read.
    pub fn negotiate(accept: &str) -> Format {
        let mut best: Option<(u16, Format)> = None;
        for range in accept.split(',') {
            let Some((format, weight)) = parse_range(range) else {
                continue;
            };
            // Strictly greater: on a tie the earlier range in the header wins.
            let better = match best {
                None => true,
                Some((w, _)) => weight > w,
            };
            if weight > 0 && better {
                best = Some((weight, format));
            }
        }
        best.map_or(Format::Prometheus, |(_, format)| format)
    }
}

/// One media range of an `Accept` header: the format it selects and its weight in
/// thousandths (`q=0.5` is 500), or `None` if it selects no format this crate writes.
fn parse_range(range: &str) -> Option<(Format, u16)> {
    let mut parts = range.split(';');
    let media = parts.next()?.trim();
    let (kind, subtype) = media.split_once('/')?;
    let (kind, subtype) = (kind.trim(), subtype.trim());
    let mut version: Option<&str> = None;
    let mut weight = 1000;
    for param in parts {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match name.trim() {
            n if n.eq_ignore_ascii_case("q") => weight = parse_q(value)?,
            n if n.eq_ignore_ascii_case("version") => version = Some(value),
            _ => {}
        }
    }
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let format = if is(kind, "application") && is(subtype, "openmetrics-text") {
        match version {
            None | Some("1.0.0") | Some("0.0.1") => Format::OpenMetrics,
            Some(_) => return None,
        }
    } else if is(kind, "text") && is(subtype, "plain") {
        match version {
            None | Some("0.0.4") => Format::Prometheus,
            Some(_) => return None,
        }
    } else if (is(kind, "text") || kind == "*") && subtype == "*" {
        Format::Prometheus
    } else {
        return None;
    };
    Some((format, weight))
}

/// Parses a `q` value (`0`, `0.5`, `1.000`) into thousandths; `None` if it is not one.
pub(crate) fn parse_q(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths = 0u16;
    for (i, digit) in frac.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][i];
    }
    let q = whole + thousandths;
    (q <= 1000).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_scrape_headers_get_openmetrics() {
        // Prometheus 2.42 (the Debian package the integration tests run).
        let v2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                  version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(v2), Format::OpenMetrics);
        // Prometheus 3 with its default scrape_protocols (protobuf first, which we skip).
        let v3 = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                  encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,\
                  application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=1.0.0;\
                  escaping=allow-utf-8;q=0.2,text/plain;version=0.0.4;q=0.1,*/*;q=0.05";
        assert_eq!(Format::negotiate(v3), Format::OpenMetrics);
        // Prometheus configured with `scrape_protocols: [PrometheusText0.0.4]`.
        assert_eq!(
            Format::negotiate("text/plain;version=0.0.4"),
            Format::Prometheus
        );
    }

    #[test]
    fn weights_order_and_ties_keep_header_order() {
        assert_eq!(
            Format::negotiate("application/openmetrics-text;q=0.2, text/plain;q=0.9"),
            Format::Prometheus
        );
        assert_eq!(
            Format::negotiate("text/plain;q=0.2, application/openmetrics-text;q=0.9"),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate("text/plain;q=0.5, application/openmetrics-text;q=0.5"),
            Format::Prometheus
        );
        assert_eq!(
            Format::negotiate("application/openmetrics-text;q=0.5, text/plain;q=0.5"),
            Format::OpenMetrics
        );
    }

    #[test]
    fn refused_unknown_and_malformed_ranges_fall_back_to_0_0_4() {
        for accept in [
            "",
            "application/json",
            "application/openmetrics-text;q=0",
            "application/openmetrics-text;version=2.0.0",
            "application/openmetrics-text;q=abc",
            "application/openmetrics-text;q=1.5",
            "application/openmetrics-text;q=0.0001",
            "text/plain;version=1.0.0",
            "garbage",
            ",,;;==",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily",
        ] {
            assert_eq!(Format::negotiate(accept), Format::Prometheus, "{accept:?}");
        }
    }

    #[test]
    fn case_spaces_and_quotes_are_tolerated() {
        assert_eq!(
            Format::negotiate(" Application/OpenMetrics-Text ; Version=\"1.0.0\" ; Q=1 "),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate("TEXT/*"), Format::Prometheus);
        assert_eq!(
            Format::negotiate("application/openmetrics-text;version=0.0.1;charset=utf-8"),
            Format::OpenMetrics
        );
    }

    #[test]
    fn q_values_parse_to_thousandths() {
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("1.001"), None);
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.05"), Some(50));
        assert_eq!(parse_q("0.123"), Some(123));
        assert_eq!(parse_q("0."), Some(0));
        assert_eq!(parse_q("2"), None);
        assert_eq!(parse_q("-1"), None);
        assert_eq!(parse_q("0.1234"), None);
        assert_eq!(parse_q(""), None);
    }
}
