//! The corpus scenario `scalable_and_windowed`: the core read, which every format is
//! compared with, holds exactly the values the types document (every scalable counter exact
//! once its step is over, the windows by the manual clock), and OTLP carries an up-down
//! counter as a non-monotonic cumulative `Sum`, which the other formats show as a gauge.

use prism_conformance::corpus;
use prism_conformance::{
    expected, Format, Kind, Labels, MetricType, Number, Point, Samples, Scenario,
};
use serde_json::Value;

fn scenario() -> Scenario {
    corpus::scenarios()
        .expect("the corpus parses")
        .into_iter()
        .find(|s| s.name == "scalable_and_windowed")
        .expect("the scenario is in the corpus")
}

fn samples() -> Samples {
    let registry = scenario().apply().expect("the scenario applies");
    expected(&registry.snapshot()).expect("every value has a mapping")
}

fn point<'a>(samples: &'a Samples, family: &str, labels: &[(&str, &str)]) -> &'a Point {
    let f = samples
        .family(family)
        .unwrap_or_else(|| panic!("no family {family}"));
    let labels = Labels::new(labels.iter().copied());
    &f.series
        .get(&labels)
        .unwrap_or_else(|| panic!("{family}: no series {labels}: {:?}", f.series.keys()))
        .point
}

fn number(samples: &Samples, family: &str, labels: &[(&str, &str)]) -> Number {
    match point(samples, family, labels) {
        Point::Number(n) => *n,
        other => panic!("{family}: not a number: {other}"),
    }
}

#[track_caller]
fn assert_int(samples: &Samples, family: &str, labels: &[(&str, &str)], want: i128) {
    match number(samples, family, labels) {
        Number::Int(got) => assert_eq!(got, want, "{family} {labels:?}"),
        other => panic!("{family} {labels:?}: {other} is not an integer"),
    }
}

#[track_caller]
fn assert_float(samples: &Samples, family: &str, labels: &[(&str, &str)], want: f64) {
    match number(samples, family, labels) {
        // Bit for bit: the rate is one division, the same one written here.
        Number::Float(got) => assert_eq!(got.to_bits(), want.to_bits(), "{family}: {got}"),
        other => panic!("{family} {labels:?}: {other} is not a float"),
    }
}

#[test]
fn up_down_counters_read_as_integer_gauges() {
    let s = samples();
    for family in ["connections", "queue_depth"] {
        assert_eq!(s.family(family).unwrap().kind, Some(Kind::Gauge));
    }
    assert_int(&s, "connections", &[], 3 - 1 + 10 - 4 - 20);
    assert_int(&s, "queue_depth", &[("queue", "a")], 6);
    assert_int(&s, "queue_depth", &[("queue", "b")], -1);
    assert_eq!(
        s.family("queue_depth").unwrap().series.len(),
        2,
        "c removed"
    );
}

#[test]
fn scalable_counters_are_exact_after_each_step() {
    let s = samples();
    for family in [
        "sharded_requests",
        "sharded_by_route",
        "per_cpu_events",
        "per_cpu_by_class",
        "striped_bytes",
        "striped_by_key",
        "sloppy_sent",
        "sloppy_by_peer",
        "numa_allocs",
        "numa_by_pool",
        "per_thread_parsed",
        "per_thread_by_worker",
    ] {
        assert_eq!(
            s.family(family).unwrap().kind,
            Some(Kind::Counter),
            "{family}"
        );
    }
    assert_int(&s, "sharded_requests", &[], 1005);
    assert_int(&s, "sharded_by_route", &[("route", "/")], 3);
    assert_int(&s, "sharded_by_route", &[("route", "/api")], 4);
    assert_int(
        &s,
        "sharded_by_route",
        &[("otel_metric_overflow", "true")],
        5 + 1,
    );
    assert_int(&s, "per_cpu_events", &[], (1 << 53) + 2);
    assert_int(&s, "per_cpu_by_class", &[("class", "a")], 100);
    assert_int(&s, "per_cpu_by_class", &[("class", "")], 7);
    assert_int(&s, "striped_bytes", &[], u64::MAX.into());
    assert_int(&s, "striped_by_key", &[("key", "x")], 1000);
    assert_int(&s, "striped_by_key", &[("key", "y")], 2);
    // 10 incs and an add of 3, each below the batch and flushed by the local's drop, and
    // an add of 100 flushed at once.
    assert_int(&s, "sloppy_sent", &[], 113);
    assert_int(&s, "sloppy_by_peer", &[("peer", "p1")], 6);
    assert_int(&s, "sloppy_by_peer", &[("peer", "p2")], 1);
    assert_int(&s, "numa_allocs", &[], 43);
    assert_int(&s, "numa_by_pool", &[("pool", "y")], 2);
    assert_eq!(
        s.family("numa_by_pool").unwrap().series.len(),
        1,
        "x removed"
    );
    // 51 writers, one after the other, all on one cell that keeps its count.
    assert_int(&s, "per_thread_parsed", &[], 75);
    assert_int(&s, "per_thread_by_worker", &[("worker", "w0")], 10);
    assert_int(&s, "per_thread_by_worker", &[("worker", "w1")], 1);
    assert_int(&s, "per_thread_by_worker", &[("worker", "w2")], 1);
}

#[test]
fn windowed_histograms_read_as_summaries_of_their_window_with_lifetime_count_and_sum() {
    let s = samples();
    for family in ["recent_latency_seconds", "recent_payload_bytes"] {
        assert_eq!(s.family(family).unwrap().kind, Some(Kind::Summary));
    }
    let summary = |family, labels: &[(&str, &str)]| match point(&s, family, labels) {
        Point::Summary {
            count,
            sum,
            quantiles,
        } => (*count, *sum, quantiles.clone()),
        other => panic!("{family}: not a summary: {other}"),
    };
    // 1 ms and 2 ms at t = 0 s, 3 ms at 10 s; at 30 s the window (3 slots of 10 s) holds
    // only the 3 ms. Quantiles are HDR values: within 0.1% of 3 ms (3 significant digits).
    let (count, sum, quantiles) = summary("recent_latency_seconds", &[]);
    assert_eq!((count, sum), (3, Number::Float(0.006)));
    assert_eq!(quantiles.len(), 4);
    for (q, v) in quantiles {
        let v = v.as_f64();
        assert!((v - 0.003).abs() <= 0.003 * 1e-3, "p{q} = {v}");
    }
    // Bytes, unit scale 1: 100 and 200 five minutes before 300; the window holds the 300.
    let (count, sum, quantiles) = summary("recent_payload_bytes", &[("route", "/")]);
    assert_eq!((count, sum), (3, Number::Float(600.0)));
    assert!(
        quantiles.iter().all(|(_, v)| *v == Number::Float(300.0)),
        "{quantiles:?}"
    );
    // A window that emptied: the lifetime count and sum stay, no quantile has a value.
    let (count, sum, quantiles) = summary("recent_payload_bytes", &[("route", "/old")]);
    assert_eq!((count, sum), (1, Number::Float(5.0)));
    assert!(quantiles.is_empty(), "{quantiles:?}");
}

#[test]
fn windowed_rates_are_the_complete_slots_events_per_second() {
    let s = samples();
    assert_eq!(s.family("events_rate").unwrap().kind, Some(Kind::Gauge));
    // 60 events in the first second of a 60 s window.
    assert_float(&s, "events_rate", &[], 1.0);
    // The running second is left out.
    assert_float(&s, "quiet_rate", &[], 0.0);
    // 7 events over 4 slots of 0.5 s.
    assert_float(&s, "burst_rate", &[], 3.5);
    assert_float(&s, "peer_rate", &[("peer", "a")], 7.0 / 60.0);
    assert_float(&s, "peer_rate", &[("peer", "b")], 1.0 / 60.0);
    assert_float(&s, "peer_rate", &[("peer", "c")], 0.0);
}

#[test]
fn otlp_carries_up_down_counters_as_non_monotonic_cumulative_sums() {
    let registry = scenario().apply().expect("applies");
    let bytes = Format::OtlpJson.render(&registry);
    let request: Value = serde_json::from_slice(&bytes).expect("OTLP JSON");
    let metrics: Vec<&Value> = request["resourceMetrics"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rm| rm["scopeMetrics"].as_array().into_iter().flatten())
        .flat_map(|sm| sm["metrics"].as_array().into_iter().flatten())
        .collect();
    let metric = |name: &str| {
        *metrics
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no metric {name}"))
    };
    for name in ["connections", "queue_depth"] {
        let sum = &metric(name)["sum"];
        assert!(sum.is_object(), "{name} is a Sum: {}", metric(name));
        // proto3 JSON leaves a false out.
        assert_ne!(sum["isMonotonic"], Value::Bool(true), "{name}");
        assert_eq!(sum["aggregationTemporality"], 2, "{name}: cumulative");
    }
    assert_eq!(metric("sharded_requests")["sum"]["isMonotonic"], true);
    assert!(metric("events_rate")["gauge"].is_object());
    assert!(metric("recent_latency_seconds")["summary"].is_object());
}

#[test]
fn every_new_type_is_registered_on_its_own_and_in_a_family() {
    let scenario = scenario();
    let types = [
        "up_down_counter",
        "sharded_counter",
        "per_cpu_counter",
        "striped_counter",
        "sloppy_counter",
        "numa_counter",
        "per_thread_counter",
        "windowed_histogram",
        "windowed_rate",
    ];
    for t in types {
        let metric: MetricType = serde_json::from_value(Value::from(t)).expect("a type");
        let of_type: Vec<_> = scenario
            .families
            .iter()
            .filter(|f| f.metric == metric)
            .collect();
        assert!(of_type.iter().any(|f| f.labels.is_none()), "{t} on its own");
        assert!(
            of_type.iter().any(|f| f.labels.is_some()),
            "{t} in a family"
        );
    }
}
