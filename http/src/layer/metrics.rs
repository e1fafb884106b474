//! Every metric the layer registers, in one place: its Prometheus name, help, unit and
//! labels, and beside each the OpenTelemetry name, unit and attribute names the HTTP
//! semantic conventions (stable) give it.
//!
//! The Prometheus names are what the OpenTelemetry-to-Prometheus translation makes of the
//! OpenTelemetry ones: dots become underscores and the unit is spelled out as a suffix
//! (`s` is `_seconds`, `By` is `_bytes`, a `{request}` annotation adds nothing).

use std::sync::Arc;

use prism_core::{Error, Family, Histogram, Metadata, Registry, UpDownCounter};

/// `http.request.method`: see [`method_label`](super::method_label).
pub const LABEL_METHOD: &str = "http_request_method";
/// `http.route`: the matched route template, never the raw path.
pub const LABEL_ROUTE: &str = "http_route";
/// `http.response.status_code`: empty when no response was sent.
pub const LABEL_STATUS: &str = "http_response_status_code";
/// `error.type`: empty when the request succeeded; see [`ErrorType`](super::ErrorType).
pub const LABEL_ERROR: &str = "error_type";
/// `url.scheme`: `http` or `https`.
pub const LABEL_SCHEME: &str = "url_scheme";

/// One metric of the layer: its name, help, unit and labels in Prometheus terms, and its
/// name, unit and attributes in OpenTelemetry terms, label `i` being attribute `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    /// The name registered in the prism registry, as Prometheus text prints it.
    pub prometheus: &'static str,
    /// The Prometheus unit suffix of that name (`seconds`, `bytes`), if any.
    pub prometheus_unit: Option<&'static str>,
    /// Help text.
    pub help: &'static str,
    /// The label names, in the order the layer passes their values.
    pub labels: &'static [&'static str],
    /// The OpenTelemetry instrument name.
    pub otel: &'static str,
    /// The OpenTelemetry (UCUM) unit.
    pub otel_unit: &'static str,
    /// The OpenTelemetry attribute names, `otel_attributes[i]` for `labels[i]`.
    pub otel_attributes: &'static [&'static str],
}

const REQUEST_LABELS: &[&str] = &[
    LABEL_METHOD,
    LABEL_ROUTE,
    LABEL_STATUS,
    LABEL_ERROR,
    LABEL_SCHEME,
];
const REQUEST_ATTRIBUTES: &[&str] = &[
    "http.request.method",
    "http.route",
    "http.response.status_code",
    "error.type",
    "url.scheme",
];

/// `http.server.request.duration`: from the request's arrival to the end (or drop) of its
/// response body.
pub const REQUEST_DURATION: MetricSpec = MetricSpec {
    prometheus: "http_server_request_duration_seconds",
    prometheus_unit: Some("seconds"),
    help: "Duration of HTTP server requests.",
    labels: REQUEST_LABELS,
    otel: "http.server.request.duration",
    otel_unit: "s",
    otel_attributes: REQUEST_ATTRIBUTES,
};

/// `http.server.active_requests`: requests whose response has not finished. The route is
/// not known when a request arrives, so this one has the method and scheme only.
pub const ACTIVE_REQUESTS: MetricSpec = MetricSpec {
    prometheus: "http_server_active_requests",
    prometheus_unit: None,
    help: "Number of active HTTP server requests.",
    labels: &[LABEL_METHOD, LABEL_SCHEME],
    otel: "http.server.active_requests",
    otel_unit: "{request}",
    otel_attributes: &["http.request.method", "url.scheme"],
};

/// `http.server.request.body.size`: the request body's length where the request says it
/// (`Content-Length`, or an empty body); a request with a chunked body is not recorded.
pub const REQUEST_BODY_SIZE: MetricSpec = MetricSpec {
    prometheus: "http_server_request_body_size_bytes",
    prometheus_unit: Some("bytes"),
    help: "Size of HTTP server request bodies.",
    labels: REQUEST_LABELS,
    otel: "http.server.request.body.size",
    otel_unit: "By",
    otel_attributes: REQUEST_ATTRIBUTES,
};

/// `http.server.response.body.size`: the data bytes of the response body that were sent.
pub const RESPONSE_BODY_SIZE: MetricSpec = MetricSpec {
    prometheus: "http_server_response_body_size_bytes",
    prometheus_unit: Some("bytes"),
    help: "Size of HTTP server response bodies.",
    labels: REQUEST_LABELS,
    otel: "http.server.response.body.size",
    otel_unit: "By",
    otel_attributes: REQUEST_ATTRIBUTES,
};

/// Every metric the layer registers besides the per-request statistics.
pub const METRICS: [MetricSpec; 4] = [
    REQUEST_DURATION,
    ACTIVE_REQUESTS,
    REQUEST_BODY_SIZE,
    RESPONSE_BODY_SIZE,
];

/// The prefix of the histogram of each declared per-request statistic:
/// `http_server_request_stat_<name>`, labelled by method and route.
pub const STAT_PREFIX: &str = "http_server_request_stat_";

/// The semantic conventions' advised bounds for `http.server.request.duration`, seconds.
pub const DURATION_BOUNDS_SECONDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Export bounds of the body-size histograms, bytes: powers of 4 from 64 B to 64 MiB.
pub const BODY_SIZE_BOUNDS_BYTES: [f64; 11] = [
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

/// The registered families. Cloning shares them.
#[derive(Debug, Clone)]
pub(crate) struct HttpMetrics {
    pub(crate) duration: Family<Histogram>,
    pub(crate) active: Family<UpDownCounter>,
    pub(crate) request_size: Family<Histogram>,
    pub(crate) response_size: Family<Histogram>,
    /// One histogram family per declared statistic, in declaration order.
    pub(crate) stats: Arc<[Family<Histogram>]>,
}

impl HttpMetrics {
    /// Registers every family into `registry`, each with `limit` series at most.
    pub(crate) fn register(
        registry: &Registry,
        limit: usize,
        stat_names: &[Box<str>],
    ) -> Result<Self, Error> {
        // Durations in ns, 1 us to 1 h at 3 digits: 0.1 % relative error, exported in s.
        let duration_config = Histogram::builder()
            .lowest(1_000)
            .highest(3_600_000_000_000)
            .buckets(DURATION_BOUNDS_SECONDS)
            .config()?;
        // Sizes in bytes up to 64 GiB at 2 digits: 1 % is plenty for a size, and a third of
        // the memory of 3 digits per series.
        let size_config = Histogram::builder()
            .lowest(1)
            .highest(1 << 36)
            .significant_digits(2)
            .unit_scale(1.0)
            .buckets(BODY_SIZE_BOUNDS_BYTES)
            .config()?;
        let stat_config = Histogram::builder()
            .lowest(1)
            .highest(1 << 40)
            .significant_digits(2)
            .unit_scale(1.0)
            .buckets([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 1000.0])
            .config()?;

        let histograms = |spec: &MetricSpec, config: &prism_core::HistogramConfig| {
            let config = config.clone();
            let family = Family::builder(spec.labels.iter().copied())
                .cardinality_limit(limit)
                .build_with(move || config.build())?;
            registry.register_with(metadata(spec), family)
        };
        let duration = histograms(&REQUEST_DURATION, &duration_config)?;
        let request_size = histograms(&REQUEST_BODY_SIZE, &size_config)?;
        let response_size = histograms(&RESPONSE_BODY_SIZE, &size_config)?;
        let active = registry.register_with(
            metadata(&ACTIVE_REQUESTS),
            Family::<UpDownCounter>::builder(ACTIVE_REQUESTS.labels.iter().copied())
                .cardinality_limit(limit)
                .build()?,
        )?;
        let stats = stat_names
            .iter()
            .map(|name| {
                let config = stat_config.clone();
                registry.register(
                    &format!("{STAT_PREFIX}{name}"),
                    &format!("Per-request statistic `{name}`, as handlers counted it."),
                    Family::builder([LABEL_METHOD, LABEL_ROUTE])
                        .cardinality_limit(limit)
                        .build_with(move || config.build())?,
                )
            })
            .collect::<Result<Arc<[_]>, Error>>()?;
        Ok(Self {
            duration,
            active,
            request_size,
            response_size,
            stats,
        })
    }
}

fn metadata(spec: &MetricSpec) -> Metadata {
    let meta = Metadata::new(spec.prometheus, spec.help);
    match spec.prometheus_unit {
        Some(unit) => meta.unit(unit),
        None => meta,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Prometheus name of each metric is the OpenTelemetry-to-Prometheus translation of
    /// its OpenTelemetry name and unit, and every label is its attribute with `.` as `_`.
    #[test]
    fn prometheus_names_translate_the_otel_names() {
        for spec in METRICS {
            let unit = match spec.otel_unit {
                "s" => Some("seconds"),
                "By" => Some("bytes"),
                u if u.starts_with('{') => None,
                u => panic!("unit {u} has no translation here"),
            };
            assert_eq!(spec.prometheus_unit, unit, "{}", spec.otel);
            let mut name = spec.otel.replace('.', "_");
            if let Some(unit) = unit {
                name = format!("{name}_{unit}");
            }
            assert_eq!(spec.prometheus, name);
            assert_eq!(spec.labels.len(), spec.otel_attributes.len());
            for (label, attribute) in spec.labels.iter().zip(spec.otel_attributes) {
                assert_eq!(*label, attribute.replace('.', "_"));
            }
        }
    }

    #[test]
    fn registers_every_family_once() {
        let registry = Registry::new();
        HttpMetrics::register(&registry, 100, &["db_calls".into()]).unwrap();
        let read = registry.snapshot();
        for spec in METRICS {
            assert!(
                read.family(spec.prometheus).is_some(),
                "{}",
                spec.prometheus
            );
        }
        assert!(read.family("http_server_request_stat_db_calls").is_some());
        // A second layer on the same registry is refused with the name it would clash on.
        let again = HttpMetrics::register(&registry, 100, &[]).unwrap_err();
        assert!(
            again.to_string().contains(REQUEST_DURATION.prometheus),
            "{again}"
        );
    }
}
