//! A service's own prometheus-client `Registry`, with its own metrics, plus a prism registry
//! included through [`RegistryCollector`]: the combined text passes `promtool check
//! metrics` without a word and reads back, value for value, through prism-conformance's
//! strict readers in both dialects.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use prism_conformance::text::{parse, Dialect, Exposition};
use prism_core::{Counter, Family, FloatGauge, Gauge, Histogram, Metadata, Registry, Summary};
use prism_prom::{Format, RegistryCollector};
use prometheus_client::encoding::{prometheus_text, text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;
use prometheus_client::metrics::gauge::Gauge as PcGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram as PcHistogram};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Method {
    method: String,
}

/// The service's own metrics, registered into `registry` (the same handles may be
/// registered into several registries: prometheus-client metrics are shared clones).
struct Service {
    logins: PcCounter,
    requests: PcFamily<Method, PcCounter>,
    queue: PcGauge,
    latency: PcHistogram,
}

impl Service {
    fn new() -> Self {
        let s = Service {
            logins: PcCounter::default(),
            requests: PcFamily::default(),
            queue: PcGauge::default(),
            latency: PcHistogram::new(exponential_buckets(0.01, 2.0, 5)),
        };
        s.logins.inc_by(7);
        s.requests
            .get_or_create(&Method {
                method: "GET".into(),
            })
            .inc_by(3);
        s.queue.set(-2);
        s.latency.observe(0.03);
        s.latency.observe(0.5);
        s
    }

    fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register("logins", "Logins", self.logins.clone());
        registry.register("svc_requests", "Requests by method", self.requests.clone());
        registry.register("queue_depth", "Jobs waiting", self.queue.clone());
        registry.register("svc_latency_seconds", "Latency", self.latency.clone());
    }
}

/// A prism registry with self-telemetry, a labelled family with awkward label values, help
/// that needs escaping, a unit, a histogram, and a summary (which the collector leaves out).
fn prism_registry() -> Registry {
    let registry = Registry::new();
    registry
        .register("jobs", "Jobs run.", Counter::new())
        .unwrap()
        .add(3);
    let tasks = registry
        .register(
            "tasks",
            "Tasks by kind: \"quoted\", back\\slash,\nnew line.",
            Family::<Counter>::new(["kind"]),
        )
        .unwrap();
    tasks.get(&["plain"]).add(2);
    tasks.get(&["say \"hi\"\\n\n"]).inc();
    registry
        .register("workers", "Workers.", Gauge::new())
        .unwrap()
        .set(-4);
    registry
        .register_with(
            Metadata::new("room_temperature_celsius", "Temperature.").unit("celsius"),
            FloatGauge::new(),
        )
        .unwrap()
        .set(21.5);
    let h = registry
        .register("step_seconds", "Step time.", Histogram::new())
        .unwrap();
    h.record_duration(std::time::Duration::from_millis(20));
    h.record_duration(std::time::Duration::from_millis(700));
    registry
        .register("sizes", "Sizes.", Summary::from(Histogram::new()))
        .unwrap()
        .record(5);
    registry
}

fn openmetrics_text(service: &Service, prism: &Registry) -> String {
    let mut registry = prometheus_client::registry::Registry::default();
    service.register(&mut registry);
    registry.register_collector(Box::new(RegistryCollector::new(prism)));
    let mut out = String::new();
    text::encode(&mut out, &registry).unwrap();
    out
}

fn prometheus_text(service: &Service, prism: &Registry) -> String {
    let mut registry = prometheus_client::registry::Registry::default();
    service.register(&mut registry);
    registry.register_collector(Box::new(RegistryCollector::for_format(
        prism,
        Format::Prometheus,
    )));
    let mut out = String::new();
    prometheus_text::encode(&mut out, &registry).unwrap();
    out
}

fn value(exposition: &Exposition, sample: &str, labels: &[(&str, &str)]) -> String {
    let found = exposition
        .families
        .iter()
        .flat_map(|f| &f.samples)
        .find(|s| {
            s.name == sample
                && s.labels.len() == labels.len()
                && s.labels
                    .iter()
                    .zip(labels)
                    .all(|(a, b)| (&*a.0, &*a.1) == *b)
        });
    match found {
        Some(s) => s.value.text.clone(),
        None => panic!("no sample {sample} {labels:?} in {exposition:#?}"),
    }
}

/// A family's help; in 0.0.4 a counter family carries its `_total` name.
fn help<'a>(exposition: &'a Exposition, family: &str) -> &'a str {
    let total = format!("{family}_total");
    exposition
        .families
        .iter()
        .find(|f| f.name == family || f.name == total)
        .and_then(|f| f.help.as_deref())
        .unwrap_or_else(|| panic!("no help for {family}"))
}

/// Both dialects read back the service's values and prism's, help and labels unescaped.
fn check_values(exposition: &Exposition) {
    assert_eq!(value(exposition, "logins_total", &[]), "7");
    assert_eq!(
        value(exposition, "svc_requests_total", &[("method", "GET")]),
        "3"
    );
    assert_eq!(value(exposition, "queue_depth", &[]), "-2");
    assert_eq!(value(exposition, "svc_latency_seconds_count", &[]), "2");
    assert_eq!(value(exposition, "jobs_total", &[]), "3");
    assert_eq!(value(exposition, "tasks_total", &[("kind", "plain")]), "2");
    assert_eq!(
        value(exposition, "tasks_total", &[("kind", "say \"hi\"\\n\n")]),
        "1"
    );
    assert_eq!(
        help(exposition, "tasks"),
        "Tasks by kind: \"quoted\", back\\slash,\nnew line."
    );
    assert_eq!(value(exposition, "workers", &[]), "-4");
    assert_eq!(value(exposition, "room_temperature_celsius", &[]), "21.5");
    assert_eq!(value(exposition, "step_seconds_count", &[]), "2");
    assert_eq!(
        value(exposition, "step_seconds_bucket", &[("le", "+Inf")]),
        "2"
    );
    // prism's self-telemetry comes along.
    assert!(
        exposition
            .families
            .iter()
            .any(|f| f.name.starts_with("prism_")),
        "{exposition:#?}"
    );
    // The summary has no prometheus-client type: left out, not mangled.
    assert!(!exposition.families.iter().any(|f| f.name == "sizes"));
}

#[test]
fn combined_openmetrics_text_reads_back_strictly() {
    let (service, prism) = (Service::new(), prism_registry());
    let text = openmetrics_text(&service, &prism);
    let exposition = parse(text.as_bytes(), Dialect::OpenMetrics)
        .unwrap_or_else(|e| panic!("{e}\n--- text ---\n{text}"));
    check_values(&exposition);
    let unit = exposition
        .families
        .iter()
        .find(|f| f.name == "room_temperature_celsius")
        .and_then(|f| f.unit.as_deref());
    assert_eq!(unit, Some("celsius"), "{text}");
}

#[test]
fn combined_prometheus_text_reads_back_strictly() {
    let (service, prism) = (Service::new(), prism_registry());
    let text = prometheus_text(&service, &prism);
    let exposition = parse(text.as_bytes(), Dialect::Prometheus)
        .unwrap_or_else(|e| panic!("{e}\n--- text ---\n{text}"));
    check_values(&exposition);
}

#[test]
fn combined_prometheus_text_passes_promtool_without_a_word() {
    let promtool = support::tool("promtool");
    let (service, prism) = (Service::new(), prism_registry());
    let text = prometheus_text(&service, &prism);
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.trim().is_empty() && stderr.trim().is_empty(),
        "promtool complained:\n{stdout}{stderr}\n--- input ---\n{text}"
    );
}
