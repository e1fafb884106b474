//! The bridge into opentelemetry_sdk: a registry's families read back through the SDK's
//! in-memory exporter, equal to the registry.

use std::collections::BTreeMap;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, PeriodicReader, SdkMeterProvider, Temporality,
};
use prism_core::{
    Counter, Family, FloatCounter, FloatGauge, Gauge, GaugeFn, Histogram, Metadata, Registry,
    Summary, WindowedHistogram,
};
use prism_otel::Bridge;

/// name -> (kind, monotonic, unit, description, attributes -> value as text)
type Read = BTreeMap<String, (String, bool, String, String, BTreeMap<String, String>)>;

fn attributes<'a>(kvs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> String {
    let mut a: Vec<String> = kvs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
    a.sort();
    a.join(",")
}

fn points<T: Copy + ToString + std::fmt::Debug>(
    data: &MetricData<T>,
) -> (String, bool, BTreeMap<String, String>) {
    match data {
        MetricData::Sum(s) => {
            assert_eq!(s.temporality(), Temporality::Cumulative);
            (
                "sum".to_owned(),
                s.is_monotonic(),
                s.data_points()
                    .map(|p| (attributes(p.attributes()), p.value().to_string()))
                    .collect(),
            )
        }
        MetricData::Gauge(g) => (
            "gauge".to_owned(),
            false,
            g.data_points()
                .map(|p| (attributes(p.attributes()), p.value().to_string()))
                .collect(),
        ),
        other => panic!("unexpected {other:?}"),
    }
}

fn collect(provider: &SdkMeterProvider, exporter: &InMemoryMetricExporter) -> Read {
    exporter.reset();
    provider.force_flush().unwrap();
    let finished = exporter.get_finished_metrics().unwrap();
    let last = finished.last().expect("one collection");
    let mut out = Read::new();
    for scope in last.scope_metrics() {
        for m in scope.metrics() {
            let (kind, monotonic, points) = match m.data() {
                AggregatedMetrics::U64(d) => points(d),
                AggregatedMetrics::I64(d) => points(d),
                AggregatedMetrics::F64(d) => points(d),
            };
            out.insert(
                m.name().to_owned(),
                (
                    kind,
                    monotonic,
                    m.unit().to_owned(),
                    m.description().to_owned(),
                    points,
                ),
            );
        }
    }
    out
}

#[test]
fn families_cross_with_values_labels_units_and_overflow() {
    let registry = Registry::new();
    let requests = registry
        .register(
            "http_requests",
            "Requests.",
            Family::<Counter>::builder(["method"])
                .cardinality_limit(1)
                .build()
                .unwrap(),
        )
        .unwrap();
    requests.get(&["GET"]).add(5);
    requests.get(&["POST"]).add(2); // overflow
    let cpu = registry
        .register_with(
            Metadata::new("cpu_seconds", "CPU.").unit("seconds"),
            FloatCounter::new(),
        )
        .unwrap();
    cpu.add(0.5);
    registry
        .register_with(
            Metadata::otel(
                "db.client.connections.usage",
                "{connection}",
                "Connections.",
            ),
            Family::<Gauge>::new(["db.pool.name"]),
        )
        .unwrap()
        .get(&["main"])
        .set(3);
    let depth = registry
        .register("queue_depth", "Depth.", Gauge::new())
        .unwrap();
    depth.set(-4);
    let open = registry
        .register(
            "open_connections",
            "Open.",
            prism_core::UpDownCounter::new(),
        )
        .unwrap();
    open.add(3);
    let temp = registry
        .register("temperature", "Temp.", FloatGauge::new())
        .unwrap();
    temp.set(21.5);
    registry
        .register("huge", "Above i64::MAX.", GaugeFn::new(|| u64::MAX))
        .unwrap();
    registry
        .register("ns:colon", "A name the SDK refuses.", Counter::new())
        .unwrap()
        .inc();
    registry
        .register("later", "No series yet.", Family::<Counter>::new(["k"]))
        .unwrap();
    // Distributions cannot cross: listed as skipped, with or without series.
    registry
        .register("latency_seconds", "A histogram.", Histogram::new())
        .unwrap()
        .record(1_000);
    registry
        .register(
            "route_latency_seconds",
            "No series yet.",
            Family::<Histogram>::new(["route"]),
        )
        .unwrap();
    registry
        .register("recent_seconds", "A window.", WindowedHistogram::new())
        .unwrap()
        .record(1_000);
    registry
        .register("quantiles:seconds", "A summary.", Summary::new())
        .unwrap();

    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let mut bridge = Bridge::new(registry.clone(), &provider.meter("prism"));
    assert!(bridge.bridged().contains(&"http_requests"));
    assert!(
        bridge.bridged().contains(&"prism_updates"),
        "self-telemetry crosses too"
    );
    assert_eq!(bridge.pending(), ["later"]);
    let skipped: BTreeMap<&str, &str> = bridge
        .skipped()
        .iter()
        .map(|(n, r)| (n.as_str(), *r))
        .collect();
    assert_eq!(
        skipped.keys().copied().collect::<Vec<_>>(),
        [
            "latency_seconds",
            "ns:colon",
            "quantiles:seconds",
            "recent_seconds",
            "route_latency_seconds"
        ]
    );
    assert!(skipped["ns:colon"].contains("instrument names"));
    for name in [
        "latency_seconds",
        "quantiles:seconds",
        "recent_seconds",
        "route_latency_seconds",
    ] {
        assert!(
            skipped[name].contains("no observable histogram")
                && skipped[name].contains("prism_otel::Exporter"),
            "{name}: {}",
            skipped[name]
        );
    }

    let read = collect(&provider, &exporter);
    let m = &read["http_requests"];
    assert_eq!(
        (m.0.as_str(), m.1, m.3.as_str()),
        ("sum", true, "Requests.")
    );
    assert_eq!(
        m.4,
        BTreeMap::from([
            ("method=GET".to_owned(), "5".to_owned()),
            ("otel.metric.overflow=true".to_owned(), "2".to_owned()),
        ])
    );
    let cpu_read = &read["cpu_seconds"];
    assert_eq!((cpu_read.0.as_str(), cpu_read.2.as_str()), ("sum", "s"));
    assert_eq!(cpu_read.4[""], "0.5");
    let usage = &read["db.client.connections.usage"];
    assert_eq!(
        (usage.0.as_str(), usage.2.as_str()),
        ("gauge", "{connection}")
    );
    assert_eq!(usage.4["db.pool.name=main"], "3");
    assert_eq!(read["queue_depth"].4[""], "-4");
    assert_eq!(read["queue_depth"].0, "gauge");
    let up_down = &read["open_connections"];
    assert_eq!(
        (up_down.0.as_str(), up_down.1, up_down.4[""].as_str()),
        ("sum", false, "3"),
        "an up-down counter crosses as a non-monotonic sum"
    );
    assert_eq!(read["temperature"].4[""], "21.5");
    // Read first as a float (past i64::MAX), so the instrument is an f64 gauge.
    assert_eq!(read["huge"].4[""].parse::<f64>().unwrap(), u64::MAX as f64);
    assert!(!read.contains_key("ns:colon"));
    assert!(!read.contains_key("later"));
    assert!(!read.contains_key("latency_seconds") && !read.contains_key("recent_seconds"));

    // Updates show in the next collection; a family that gets a series joins on sync.
    requests.get(&["GET"]).add(1);
    depth.set(10);
    registry
        .get_or_register("later", "No series yet.", || Family::<Counter>::new(["k"]))
        .unwrap()
        .get(&["x"])
        .add(3);
    assert_eq!(bridge.sync(), 1);
    assert!(bridge.pending().is_empty());
    let read = collect(&provider, &exporter);
    assert_eq!(read["http_requests"].4["method=GET"], "6");
    assert_eq!(read["queue_depth"].4[""], "10");
    assert_eq!(read["later"].4["k=x"], "3");
    // Two collections in a row each read fresh values.
    temp.set(-1.0);
    let read = collect(&provider, &exporter);
    assert_eq!(read["temperature"].4[""], "-1");
    provider.shutdown().unwrap();
}
