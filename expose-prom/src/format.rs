//! The text formats, their `Content-Type`s, and [`Format::negotiate`], which picks one from
//! an `Accept` header exactly as Prometheus' Go client does.

/// `Content-Type` of the Prometheus text format, version 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `Content-Type` of the OpenMetrics text format, version 1.0.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `Content-Type` of the OpenMetrics text answered as version 0.0.1, the version a request
/// for OpenMetrics without a version gets.
pub const OPENMETRICS_0_0_1_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=0.0.1; charset=utf-8";

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
/// // OpenMetrics without a version is answered as 0.0.1, as client_golang does:
/// let older = Format::negotiate("application/openmetrics-text");
/// assert_eq!(older, Format::OpenMetrics0_0_1);
/// assert_eq!(older.openmetrics_version(), Some("0.0.1"));
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
    /// The same OpenMetrics text, answered as version 0.0.1
    /// ([`OPENMETRICS_0_0_1_CONTENT_TYPE`]): client_golang writes both versions with one
    /// encoder, and so does this crate; only the `Content-Type` differs.
    OpenMetrics0_0_1,
}

impl Format {
    /// The `Content-Type` a response in this format carries.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => PROMETHEUS_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::OpenMetrics0_0_1 => OPENMETRICS_0_0_1_CONTENT_TYPE,
        }
    }

    /// The OpenMetrics version this format is answered as (`"1.0.0"` or `"0.0.1"`), or
    /// `None` for the Prometheus 0.0.4 format.
    pub const fn openmetrics_version(self) -> Option<&'static str> {
        match self {
            Format::Prometheus => None,
            Format::OpenMetrics => Some("1.0.0"),
            Format::OpenMetrics0_0_1 => Some("0.0.1"),
        }
    }

    /// Whether the body is OpenMetrics text, whichever version it is answered as.
    pub const fn is_openmetrics(self) -> bool {
        self.openmetrics_version().is_some()
    }

    /// The format with the body this one has: every OpenMetrics version renders as
    /// [`Format::OpenMetrics`].
    pub(crate) const fn body(self) -> Format {
        match self {
            Format::Prometheus => Format::Prometheus,
            Format::OpenMetrics | Format::OpenMetrics0_0_1 => Format::OpenMetrics,
        }
    }

    /// Picks the format to answer a request whose (first) `Accept` header is `accept`.
    ///
    /// The rule is client_golang's: `expfmt.NegotiateIncludingOpenMetrics` of
    /// prometheus/common 0.70, which `promhttp` uses and Prometheus' scraper is written
    /// against, parsing with `goautoneg`:
    ///
    /// - The header is split at `,` into media ranges and the ranges are ordered by their
    ///   `q` weight, highest first, ties in header order. The weight only orders: a range
    ///   with `q=0` still matches if no range before it does.
    /// - The first range that names a format wins: `text/plain` with `version` `0.0.4` or
    ///   none gives [`Format::Prometheus`]; `application/openmetrics-text` with `version`
    ///   `1.0.0` gives [`Format::OpenMetrics`], with `0.0.1` or none
    ///   [`Format::OpenMetrics0_0_1`]. Wildcards (`*/*`, `text/*`) name no format.
    /// - Types, parameter names and values are compared case-sensitively, values unquoted
    ///   as written (`version="1.0.0"` is not `1.0.0`), and a `q` that is not a number
    ///   weighs 0 (Go's `strconv.ParseFloat`).
    /// - When no range matches, the answer is [`Format::Prometheus`]: a scraper always gets
    ///   a body it can read.
    ///
    /// Protobuf ranges, which client_golang can answer, are skipped: this crate writes
    /// text only. Go sorts with an insertion sort up to 12 ranges and an unstable sort
    /// beyond; this function gives the insertion sort's answer for any length (a `q` of
    /// `NaN`, which compares with nothing, included). The `escaping` parameter Go appends
    /// to its `Content-Type` is left out: it says how names outside
    /// `[a-zA-Z_:][a-zA-Z0-9_:]*` were rewritten, and prism accepts no such name.
    pub fn negotiate(accept: &str) -> Format {
        // After goautoneg's sort, a range whose type and subtype are both concrete passes
        // every wildcard range, and two concrete ranges are ordered by weight alone, stably;
        // a NaN weight compares with nothing, so no concrete range crosses one. The first
        // match is therefore the heaviest match before the first NaN-weighted concrete
        // range, else that range if it matches, and so on.
        let mut best: Option<(f32, Format)> = None;
        for range in Split::new(accept, ',') {
            let Some(range) = MediaRange::parse(range) else {
                continue;
            };
            let concrete = range.kind != "*" && range.subtype != "*";
            if concrete && range.q.is_nan() {
                if let Some((_, format)) = best {
                    return format;
                }
                if let Some(format) = range.format() {
                    return format;
                }
                continue;
            }
            let Some(format) = range.format() else {
                continue;
            };
            if best.is_none_or(|(q, _)| range.q > q) {
                best = Some((range.q, format));
            }
        }
        best.map_or(Format::Prometheus, |(_, format)| format)
    }
}

/// goautoneg's `nextSplitElement` as an iterator: the pieces of `s` between `sep`s, where
/// a trailing separator ends the string without an empty last piece.
struct Split<'a> {
    rest: &'a str,
    sep: char,
}

impl<'a> Split<'a> {
    fn new(s: &'a str, sep: char) -> Self {
        Self { rest: s, sep }
    }
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let (piece, rest) = self.rest.split_once(self.sep).unwrap_or((self.rest, ""));
        self.rest = rest;
        Some(piece)
    }
}

/// One range of an `Accept` header as goautoneg's `ParseAccept` reads it.
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: f32,
    version: Option<&'a str>,
}

impl<'a> MediaRange<'a> {
    /// `None` for a range goautoneg drops: no `/` (unless it is `*`), or two of them.
    fn parse(range: &'a str) -> Option<Self> {
        // goautoneg trims spaces only, not tabs.
        let trim = |s: &'a str| s.trim_matches(' ');
        let range = trim(range);
        let (media, params) = range.split_once(';').unwrap_or((range, ""));
        let (kind, subtype) = match media.split_once('/') {
            None | Some((_, "")) => {
                let kind = trim(media.strip_suffix('/').unwrap_or(media));
                if kind != "*" {
                    return None;
                }
                (kind, "*")
            }
            Some((kind, subtype)) => {
                let (subtype, extra) = subtype.split_once('/').unwrap_or((subtype, ""));
                if !extra.is_empty() {
                    return None;
                }
                (trim(kind), trim(subtype))
            }
        };
        let mut parsed = Self {
            kind,
            subtype,
            q: 1.0,
            version: None,
        };
        for param in Split::new(params, ';') {
            // `name=value`, where a second `=` may only end it, or the parameter is dropped.
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let (value, extra) = value.split_once('=').unwrap_or((value, ""));
            if !extra.is_empty() {
                continue;
            }
            match trim(name) {
                // Untrimmed, as Go parses it; a failed parse weighs 0.
                "q" => parsed.q = value.parse().unwrap_or(0.0),
                "version" => parsed.version = Some(trim(value)),
                _ => {}
            }
        }
        Some(parsed)
    }

    /// The format this range names, if any.
    fn format(&self) -> Option<Format> {
        match (self.kind, self.subtype, self.version.unwrap_or("")) {
            ("text", "plain", "0.0.4" | "") => Some(Format::Prometheus),
            ("application", "openmetrics-text", "1.0.0") => Some(Format::OpenMetrics),
            ("application", "openmetrics-text", "0.0.1" | "") => Some(Format::OpenMetrics0_0_1),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Format::{OpenMetrics, OpenMetrics0_0_1, Prometheus};

    /// `Accept` values and client_golang's answer to each (prometheus/common 0.70,
    /// `expfmt.NegotiateIncludingOpenMetrics`, with goautoneg's `ParseAccept`), the rule
    /// that gives it in the comment.
    #[test]
    fn accept_headers_get_client_golang_s_answer() {
        let table: &[(&str, Format)] = &[
            // No header, or nothing that names a format: the text format.
            ("", Prometheus),
            ("application/json", Prometheus),
            ("garbage", Prometheus),
            (",,;;==", Prometheus),
            // Wildcards name no format: the fallback answers them.
            ("*/*", Prometheus),
            ("*", Prometheus),
            ("text/*", Prometheus),
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                Prometheus,
            ),
            // `text/plain` with version 0.0.4 or none.
            ("text/plain", Prometheus),
            ("text/plain;version=0.0.4", Prometheus),
            // `version=1.0.0` of text/plain is not 0.0.4; nothing else matches: fallback.
            ("text/plain;version=1.0.0", Prometheus),
            // OpenMetrics: 1.0.0 by name, 0.0.1 by name or with no version.
            ("application/openmetrics-text;version=1.0.0", OpenMetrics),
            (
                "application/openmetrics-text; version=0.0.1",
                OpenMetrics0_0_1,
            ),
            ("application/openmetrics-text", OpenMetrics0_0_1),
            (
                "application/openmetrics-text;version=0.0.1;charset=utf-8",
                OpenMetrics0_0_1,
            ),
            ("application/openmetrics-text;version=2.0.0", Prometheus),
            // Heaviest first.
            (
                "text/plain;q=0.2, application/openmetrics-text;version=1.0.0;q=0.9",
                OpenMetrics,
            ),
            (
                "application/openmetrics-text;q=0.2, text/plain;q=0.9",
                Prometheus,
            ),
            // Equal weights keep header order (a stable sort of up to 12 ranges).
            (
                "text/plain;q=0.5, application/openmetrics-text;q=0.5",
                Prometheus,
            ),
            (
                "application/openmetrics-text;q=0.5, text/plain;q=0.5",
                OpenMetrics0_0_1,
            ),
            // A concrete range sorts before every wildcard, whatever their weights, and
            // the wildcard matches nothing anyway.
            ("*/*, application/openmetrics-text;q=0.5", OpenMetrics0_0_1),
            (
                "text/*;q=0.9, application/openmetrics-text;version=1.0.0;q=0.1",
                OpenMetrics,
            ),
            // The weight orders, it does not refuse: q=0 still matches.
            ("application/openmetrics-text;q=0", OpenMetrics0_0_1),
            (
                "application/openmetrics-text;q=0, text/plain;q=0.1",
                Prometheus,
            ),
            // A `q` Go cannot parse weighs 0; one above 1 is kept.
            ("application/openmetrics-text;q=abc", OpenMetrics0_0_1),
            (
                "application/openmetrics-text;q=abc, text/plain;q=0.001",
                Prometheus,
            ),
            (
                "text/plain, application/openmetrics-text;version=1.0.0;q=1.5",
                OpenMetrics,
            ),
            // Case-sensitive types and parameter names; values are not unquoted.
            ("Application/OpenMetrics-Text", Prometheus),
            ("TEXT/PLAIN, application/openmetrics-text", OpenMetrics0_0_1),
            (
                "application/openmetrics-text;Version=1.0.0",
                OpenMetrics0_0_1,
            ),
            ("application/openmetrics-text;version=\"1.0.0\"", Prometheus),
            (
                "application/openmetrics-text;Q=0, text/plain;q=0.5",
                OpenMetrics0_0_1,
            ),
            // Spaces around the range, its type and its values are trimmed; a tab is not.
            (
                "  application/openmetrics-text ; version= 1.0.0 ",
                OpenMetrics,
            ),
            ("\tapplication/openmetrics-text", Prometheus),
            // A parameter without exactly one `=` is dropped, as is `a/b/c`.
            (
                "application/openmetrics-text;version==1.0.0;q=0.1, text/plain;q=0.2",
                Prometheus,
            ),
            ("application/openmetrics-text;version=1.0.0=", OpenMetrics),
            (
                "text/plain/x, application/openmetrics-text;version=1.0.0;q=0.1",
                OpenMetrics,
            ),
            // NaN compares with nothing: no concrete range sorts across it.
            (
                "application/openmetrics-text;version=1.0.0;q=NaN, text/plain",
                OpenMetrics,
            ),
            (
                "text/plain;q=0.1, application/openmetrics-text;q=NaN, \
                 application/openmetrics-text;version=1.0.0",
                Prometheus,
            ),
            (
                "application/json;q=NaN, text/plain;q=0.1, \
                 application/openmetrics-text;version=1.0.0",
                OpenMetrics,
            ),
            (
                "*/*;q=NaN, text/plain;q=0.1, application/openmetrics-text",
                OpenMetrics0_0_1,
            ),
            // Protobuf, which this crate does not write, is skipped.
            (
                "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                 encoding=delimited",
                Prometheus,
            ),
        ];
        for &(accept, expected) in table {
            assert_eq!(Format::negotiate(accept), expected, "Accept: {accept:?}");
        }
    }

    #[test]
    fn prometheus_scrape_headers_get_openmetrics_1_0_0() {
        // Prometheus 2.42 (the Debian package the integration tests run).
        let v2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                  version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(v2), OpenMetrics);
        // Prometheus 3 with its default scrape_protocols (protobuf first, which we skip).
        let v3 = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
                  encoding=delimited;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,\
                  application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=1.0.0;\
                  escaping=allow-utf-8;q=0.2,text/plain;version=0.0.4;q=0.1,*/*;q=0.05";
        assert_eq!(Format::negotiate(v3), OpenMetrics);
        // Prometheus configured with `scrape_protocols: [PrometheusText0.0.4]`.
        assert_eq!(Format::negotiate("text/plain;version=0.0.4"), Prometheus);
    }

    #[test]
    fn each_format_names_its_version_and_body() {
        assert_eq!(Prometheus.openmetrics_version(), None);
        assert_eq!(OpenMetrics.openmetrics_version(), Some("1.0.0"));
        assert_eq!(OpenMetrics0_0_1.openmetrics_version(), Some("0.0.1"));
        assert!(!Prometheus.is_openmetrics());
        assert!(OpenMetrics0_0_1.is_openmetrics());
        assert_eq!(OpenMetrics0_0_1.body(), OpenMetrics);
        assert_eq!(Prometheus.body(), Prometheus);
        for format in [Prometheus, OpenMetrics, OpenMetrics0_0_1] {
            let ct = format.content_type();
            match format.openmetrics_version() {
                Some(v) => assert!(
                    ct.starts_with("application/openmetrics-text; version=")
                        && ct.contains(&format!("version={v};")),
                    "{ct}"
                ),
                None => assert_eq!(ct, PROMETHEUS_CONTENT_TYPE),
            }
        }
    }

    #[test]
    fn goautoneg_splits_drop_a_trailing_separator_only() {
        let pieces: Vec<_> = Split::new("a,,b,", ',').collect();
        assert_eq!(pieces, ["a", "", "b"]);
        assert_eq!(Split::new("", ',').count(), 0);
    }
}
