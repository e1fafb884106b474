//! Exporter settings and the standard `OTEL_*` variables that set them: [`Protocol`],
//! [`Compression`], [`Temporality`] and [`ConfigError`].

// The settings feed only the exporter, built with a transport feature; the public enums
// and the error stay available to the encoder without one.
#![cfg_attr(not(any(feature = "http", feature = "grpc")), allow(dead_code))]

use std::fmt;
use std::time::Duration;

use crate::resource::parse_key_values;

/// How the exporter sends: OTLP over gRPC or over HTTP with a protobuf or JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// `grpc`: `MetricsService/Export` over HTTP/2, default endpoint `http://localhost:4317`.
    Grpc,
    /// `http/protobuf`: `POST /v1/metrics` with `application/x-protobuf`, default endpoint
    /// `http://localhost:4318`. The specification's default, and ours.
    HttpProtobuf,
    /// `http/json`: `POST /v1/metrics` with `application/json` (OTLP's JSON mapping).
    HttpJson,
}

impl Protocol {
    /// The value `OTEL_EXPORTER_OTLP_PROTOCOL` names it by.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        }
    }

    /// The endpoint used when none is configured.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://localhost:4317",
            Protocol::HttpProtobuf | Protocol::HttpJson => "http://localhost:4318/v1/metrics",
        }
    }

    fn parse(variable: &'static str, raw: &str) -> Result<Self, ConfigError> {
        match raw.trim() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "http/json" => Ok(Protocol::HttpJson),
            other => Err(ConfigError::invalid(
                variable,
                other,
                "expected `grpc`, `http/protobuf` or `http/json`",
            )),
        }
    }
}

/// Body compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Send bodies as they are (the default).
    #[default]
    None,
    /// gzip: `Content-Encoding: gzip` over HTTP, `grpc-encoding: gzip` over gRPC.
    Gzip,
}

impl Compression {
    fn parse(variable: &'static str, raw: &str) -> Result<Self, ConfigError> {
        match raw.trim() {
            "gzip" => Ok(Compression::Gzip),
            "none" | "" => Ok(Compression::None),
            other => Err(ConfigError::invalid(
                variable,
                other,
                "expected `gzip` or `none`",
            )),
        }
    }
}

/// How counters and histograms are reported (gauges and summaries are always sent as read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Temporality {
    /// Each point is the total since the series started (`start_time_unix_nano`). The
    /// default: a lost export loses nothing, the next one carries the totals.
    #[default]
    Cumulative,
    /// Each point is the change since the last export that succeeded. A failed export
    /// is not forgotten: the next point covers both intervals.
    Delta,
}

impl Temporality {
    fn parse(variable: &'static str, raw: &str) -> Result<Self, ConfigError> {
        // `lowmemory` asks for delta on synchronous counters and cumulative on up-down
        // counters; every prism counter is monotonic, so it is delta here.
        match raw.trim().to_ascii_lowercase().as_str() {
            "cumulative" => Ok(Temporality::Cumulative),
            "delta" | "lowmemory" => Ok(Temporality::Delta),
            _ => Err(ConfigError::invalid(
                variable,
                raw.trim(),
                "expected `cumulative`, `delta` or `lowmemory`",
            )),
        }
    }
}

/// A setting that could not be used, from the environment or a builder.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable (or builder setting) holds a value that cannot be used.
    Invalid {
        /// The variable, such as `OTEL_EXPORTER_OTLP_TIMEOUT`.
        variable: &'static str,
        /// The offending value (or entry of a list).
        value: String,
        /// What would be accepted.
        reason: String,
    },
    /// The exporter's own metrics could not be registered (a name is taken by a metric
    /// of another type).
    Telemetry(prism_core::Error),
    /// The background thread could not be started.
    Spawn(String),
}

impl ConfigError {
    pub(crate) fn invalid(variable: &'static str, value: &str, reason: &str) -> Self {
        ConfigError::Invalid {
            variable,
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid {
                variable,
                value,
                reason,
            } => write!(f, "{variable}: cannot use {value:?}: {reason}"),
            ConfigError::Telemetry(e) => write!(
                f,
                "registering the exporter's own metrics failed: {e} (pass another registry \
                 with `telemetry_registry`, or none)"
            ),
            ConfigError::Spawn(e) => write!(f, "starting the exporter thread failed: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Telemetry(e) => Some(e),
            _ => None,
        }
    }
}

/// Everything the exporter needs to send, as read from the environment or set in code.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) protocol: Protocol,
    /// The full URL: `/v1/metrics` included for HTTP.
    pub(crate) endpoint: String,
    pub(crate) headers: Vec<(String, String)>,
    /// One attempt's limit.
    pub(crate) timeout: Duration,
    pub(crate) compression: Compression,
    pub(crate) interval: Duration,
    /// One export's limit, retries included.
    pub(crate) export_timeout: Duration,
    pub(crate) temporality: Temporality,
}

/// `OTEL_EXPORTER_OTLP_TIMEOUT`'s default.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// `OTEL_METRIC_EXPORT_INTERVAL`'s default.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// `OTEL_METRIC_EXPORT_TIMEOUT`'s default.
pub(crate) const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for Settings {
    fn default() -> Self {
        Self {
            protocol: Protocol::HttpProtobuf,
            endpoint: Protocol::HttpProtobuf.default_endpoint().to_owned(),
            headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            compression: Compression::None,
            interval: DEFAULT_INTERVAL,
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
            temporality: Temporality::Cumulative,
        }
    }
}

/// The HTTP endpoint for a base URL such as `OTEL_EXPORTER_OTLP_ENDPOINT`: the base with
/// `v1/metrics` appended after exactly one `/`.
pub(crate) fn http_metrics_url(base: &str) -> String {
    format!("{}/v1/metrics", base.trim_end_matches('/'))
}

impl Settings {
    /// Reads the standard variables; a metrics-specific one wins over the general one.
    pub(crate) fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let pick = |specific: &'static str, general: &'static str| {
            get(specific)
                .map(|v| (specific, v))
                .or_else(|| get(general).map(|v| (general, v)))
        };
        let mut s = Settings::default();
        if let Some((var, raw)) = pick(
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ) {
            s.protocol = Protocol::parse(var, &raw)?;
        }
        s.endpoint = if let Some(url) = get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
            // The signal-specific endpoint is used as it is, path included.
            check_url("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", url.trim())?
        } else if let Some(base) = get("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let base = check_url("OTEL_EXPORTER_OTLP_ENDPOINT", base.trim())?;
            match s.protocol {
                Protocol::Grpc => base,
                Protocol::HttpProtobuf | Protocol::HttpJson => http_metrics_url(&base),
            }
        } else {
            s.protocol.default_endpoint().to_owned()
        };
        for var in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ] {
            if let Some(raw) = get(var) {
                for (k, v) in parse_key_values(var, &raw)? {
                    check_header(var, &k, &v)?;
                    let k = k.to_ascii_lowercase();
                    s.headers.retain(|(have, _)| *have != k);
                    s.headers.push((k, v));
                }
            }
        }
        if let Some((var, raw)) = pick(
            "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ) {
            s.timeout = parse_millis(var, &raw)?;
        }
        if let Some((var, raw)) = pick(
            "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
            "OTEL_EXPORTER_OTLP_COMPRESSION",
        ) {
            s.compression = Compression::parse(var, &raw)?;
        }
        if let Some(raw) = get("OTEL_METRIC_EXPORT_INTERVAL") {
            s.interval = parse_millis("OTEL_METRIC_EXPORT_INTERVAL", &raw)?;
        }
        if let Some(raw) = get("OTEL_METRIC_EXPORT_TIMEOUT") {
            s.export_timeout = parse_millis("OTEL_METRIC_EXPORT_TIMEOUT", &raw)?;
        }
        if let Some(raw) = get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE") {
            s.temporality =
                Temporality::parse("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", &raw)?;
        }
        Ok(s)
    }
}

/// Milliseconds, at least 1: a zero interval or timeout would spin or never succeed.
fn parse_millis(variable: &'static str, raw: &str) -> Result<Duration, ConfigError> {
    match raw.trim().parse::<u64>() {
        Ok(0) => Err(ConfigError::invalid(
            variable,
            raw.trim(),
            "it must be at least 1 ms",
        )),
        Ok(ms) => Ok(Duration::from_millis(ms)),
        Err(_) => Err(ConfigError::invalid(
            variable,
            raw.trim(),
            "expected a whole number of milliseconds",
        )),
    }
}

/// An endpoint must be an absolute `http://` URL: TLS is not built in (see the README).
pub(crate) fn check_url(variable: &'static str, url: &str) -> Result<String, ConfigError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| ConfigError::invalid(variable, url, "it is not a URL"))?;
    match uri.scheme_str() {
        Some("http") if uri.host().is_some() => Ok(url.to_owned()),
        Some("https") => Err(ConfigError::invalid(
            variable,
            url,
            "https needs TLS, which prism-otel does not build in: send to a collector \
             over http (a local agent or sidecar), which forwards over TLS",
        )),
        _ => Err(ConfigError::invalid(
            variable,
            url,
            "expected an absolute http:// URL such as http://localhost:4318",
        )),
    }
}

pub(crate) fn check_header(
    variable: &'static str,
    key: &str,
    value: &str,
) -> Result<(), ConfigError> {
    if http::HeaderName::from_bytes(key.as_bytes()).is_err() {
        return Err(ConfigError::invalid(
            variable,
            key,
            "it is not a valid header name",
        ));
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err(ConfigError::invalid(
            variable,
            value,
            "it is not a valid header value",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(&move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_specifications() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.protocol, Protocol::HttpProtobuf);
        assert_eq!(s.endpoint, "http://localhost:4318/v1/metrics");
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.interval, Duration::from_secs(60));
        assert_eq!(s.export_timeout, Duration::from_secs(30));
        assert_eq!(s.compression, Compression::None);
        assert_eq!(s.temporality, Temporality::Cumulative);
        let grpc = settings(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
        assert_eq!(grpc.endpoint, "http://localhost:4317");
    }

    #[test]
    fn base_endpoint_gets_the_metrics_path_for_http_only() {
        for (base, want) in [
            ("http://c:4318", "http://c:4318/v1/metrics"),
            ("http://c:4318/", "http://c:4318/v1/metrics"),
            ("http://c:4318/otlp/", "http://c:4318/otlp/v1/metrics"),
        ] {
            let s = settings(&[("OTEL_EXPORTER_OTLP_ENDPOINT", base)]).unwrap();
            assert_eq!(s.endpoint, want);
        }
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap();
        assert_eq!(s.endpoint, "http://c:4317");
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9/custom"),
        ])
        .unwrap();
        assert_eq!(s.endpoint, "http://m:9/custom", "used as it is");
    }

    #[test]
    fn metrics_specific_variables_win() {
        let s = settings(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "250"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1,B=2"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "b=3,c=x%20y"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1500"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "700"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
        ])
        .unwrap();
        assert_eq!(s.protocol, Protocol::HttpJson);
        assert_eq!(s.timeout, Duration::from_millis(250));
        assert_eq!(s.compression, Compression::Gzip);
        assert_eq!(
            s.headers,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "3".to_owned()),
                ("c".to_owned(), "x y".to_owned())
            ]
        );
        assert_eq!(s.interval, Duration::from_millis(1500));
        assert_eq!(s.export_timeout, Duration::from_millis(700));
        assert_eq!(s.temporality, Temporality::Delta);
    }

    #[test]
    fn bad_values_name_the_variable_and_what_is_accepted() {
        for (var, value, hint) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "milliseconds"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0", "at least 1"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "gzip"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", "http://"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318", "TLS"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "bad header=1", "header name"),
            (
                "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                "sometimes",
                "delta",
            ),
        ] {
            let err = settings(&[(var, value)]).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
            assert!(err.contains(hint), "{err}");
        }
    }
}
