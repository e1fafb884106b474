//! The recorder end to end: macro calls through `metrics::with_local_recorder`, read back
//! from the registry and rendered in every format.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use prism_core::{Registry, Value};
use prism_metrics::{PrismRecorder, Refusal};
use prism_prom::{render, Format};

fn setup() -> (Registry, PrismRecorder) {
    let registry = Registry::new();
    let recorder = PrismRecorder::new(&registry).unwrap();
    (registry, recorder)
}

fn value(registry: &Registry, name: &str, labels: &[&str]) -> Value {
    let snapshot = registry.snapshot();
    let family = snapshot
        .family(name)
        .unwrap_or_else(|| panic!("no family {name}"));
    family
        .series(labels)
        .unwrap_or_else(|| panic!("no series {labels:?} in {name}"))
        .value
        .clone()
}

#[test]
fn every_kind_lands_in_a_family_and_every_format_agrees() {
    let (registry, recorder) = setup();
    metrics::with_local_recorder(&recorder, || {
        counter!("requests", "method" => "GET", "code" => "200").increment(3);
        counter!("requests", "method" => "POST", "code" => "500").increment(1);
        gauge!("temperature", "room" => "lab").set(21.5);
        gauge!("temperature", "room" => "lab").decrement(0.5);
        histogram!("latency_seconds").record(0.0015);
        histogram!("latency_seconds").record(std::time::Duration::from_millis(20));
    });
    // Family label names are sorted: code, method.
    assert_eq!(
        value(&registry, "requests", &["200", "GET"]),
        Value::Counter(3)
    );
    assert_eq!(
        value(&registry, "temperature", &["lab"]),
        Value::GaugeF64(21.0)
    );
    let Value::Histogram(h) = value(&registry, "latency_seconds", &[]) else {
        panic!("not a histogram")
    };
    assert_eq!(h.count(), 2);
    assert!((h.sum() - 0.0215).abs() < 1e-9, "sum {}", h.sum());
    let text = render(&registry, Format::Prometheus);
    assert!(text.contains("requests_total{code=\"200\",method=\"GET\"} 3\n"));
    assert!(text.contains("latency_seconds_bucket{le=\"0.0025\"} 1\n"));
    assert!(text.contains("latency_seconds_count 2\n"));
    let json = prism_json::render_to_string(&registry);
    assert!(json.contains("\"temperature\""), "{json}");
    prism_conformance::assert_conformant(&registry);
}

#[test]
fn label_order_does_not_matter() {
    let (registry, recorder) = setup();
    metrics::with_local_recorder(&recorder, || {
        counter!("hits", "a" => "1", "b" => "2").increment(1);
        counter!("hits", "b" => "2", "a" => "1").increment(1);
    });
    assert_eq!(value(&registry, "hits", &["1", "2"]), Value::Counter(2));
    assert_eq!(recorder.refused(Refusal::LabelNames), 0);
}

#[test]
fn names_are_mapped_by_the_rule_and_collisions_are_refused() {
    let (registry, recorder) = setup();
    metrics::with_local_recorder(&recorder, || {
        counter!("http.requests", "http.method" => "GET").increment(1);
        counter!("5xx-errors").increment(2);
        counter!("__private").increment(3);
        counter!("jobs_total").increment(4);
        // `http_requests` maps to the name `http.requests` took: refused, counted.
        counter!("http_requests", "http_method" => "GET").increment(100);
        counter!("jobs").increment(100);
    });
    assert_eq!(
        value(&registry, "http_requests", &["GET"]),
        Value::Counter(1)
    );
    let snapshot = registry.snapshot();
    assert_eq!(
        snapshot
            .family("http_requests")
            .unwrap()
            .descriptor
            .label_names(),
        ["http_method"]
    );
    assert_eq!(value(&registry, "_5xx_errors", &[]), Value::Counter(2));
    assert_eq!(value(&registry, "_private", &[]), Value::Counter(3));
    assert_eq!(value(&registry, "jobs", &[]), Value::Counter(4));
    assert_eq!(recorder.refused(Refusal::Collision), 2);
    let text = render(&registry, Format::Prometheus);
    assert!(text.contains("jobs_total 4\n"));
    assert!(text.contains("prism_metrics_refused_total{reason=\"collision\"} 2\n"));
    prism_conformance::assert_conformant(&registry);
}

#[test]
fn other_label_names_and_other_kinds_are_refused_and_counted() {
    let (registry, recorder) = setup();
    metrics::with_local_recorder(&recorder, || {
        counter!("x", "a" => "1").increment(1);
        counter!("x", "b" => "1").increment(1);
        counter!("x").increment(1);
        gauge!("x", "a" => "1").set(5.0);
        histogram!("x", "a" => "1").record(1.0);
        // Still refused on every call, and still counted.
        counter!("x", "b" => "1").increment(1);
    });
    assert_eq!(value(&registry, "x", &["1"]), Value::Counter(1));
    assert_eq!(recorder.refused(Refusal::LabelNames), 3);
    assert_eq!(recorder.refused(Refusal::Kind), 2);
}

#[test]
fn names_still_invalid_after_the_rule_are_refused() {
    let (registry, recorder) = setup();
    metrics::with_local_recorder(&recorder, || {
        counter!("").increment(1);
        counter!(".").increment(1);
        counter!("_total").increment(1);
        counter!("ok", "otel_metric_overflow" => "x").increment(1);
        histogram!("h", "le" => "1").record(1.0);
        counter!("dup", "a.b" => "1", "a_b" => "2").increment(1);
    });
    assert_eq!(recorder.refused(Refusal::InvalidName), 3);
    assert_eq!(recorder.refused(Refusal::InvalidLabelName), 2);
    assert_eq!(recorder.refused(Refusal::Collision), 1);
    let snapshot = registry.snapshot();
    assert!(snapshot.family("ok").is_none());
    assert!(snapshot.family("dup").is_none());
    prism_conformance::assert_conformant(&registry);
}

#[test]
fn descriptions_give_help_and_unit_before_first_use() {
    let (registry, recorder) = setup();
    metrics::with_local_recorder(&recorder, || {
        describe_gauge!("memory_bytes", metrics::Unit::Bytes, "Resident memory.");
        describe_counter!("busy", metrics::Unit::Seconds, "Busy time.");
        describe_histogram!("size", "Sizes.\0");
        // Help and unit do not depend on the kind: a gauge's description fits a counter.
        describe_gauge!("retries", "Retries.");
        counter!("retries").increment(1);
        gauge!("memory_bytes").set(4096.0);
        counter!("busy").increment(1);
        histogram!("size").record(1.0);
        describe_gauge!("memory_bytes", metrics::Unit::Bytes, "Too late.");
    });
    let snapshot = registry.snapshot();
    let memory = &snapshot.family("memory_bytes").unwrap().descriptor;
    assert_eq!(memory.help(), "Resident memory.");
    assert_eq!(memory.unit(), Some("bytes"));
    let busy = &snapshot.family("busy").unwrap().descriptor;
    assert_eq!(busy.help(), "Busy time.");
    assert_eq!(busy.unit(), None);
    assert_eq!(snapshot.family("size").unwrap().descriptor.help(), "");
    assert_eq!(
        snapshot.family("retries").unwrap().descriptor.help(),
        "Retries."
    );
    assert_eq!(recorder.refused(Refusal::UnitNotInName), 1);
    assert_eq!(recorder.refused(Refusal::InvalidHelp), 1);
    assert_eq!(recorder.refused(Refusal::LateDescription), 1);
    let text = render(&registry, Format::OpenMetrics);
    assert!(text.contains("# UNIT memory_bytes bytes\n"), "{text}");
    prism_conformance::assert_conformant(&registry);
}

#[test]
fn counter_absolute_never_lowers_the_counter() {
    let (registry, recorder) = setup();
    metrics::with_local_recorder(&recorder, || {
        counter!("cpu").absolute(10);
        counter!("cpu").absolute(7);
        counter!("cpu").increment(1);
    });
    assert_eq!(value(&registry, "cpu", &[]), Value::Counter(11));
}

#[test]
fn histograms_scale_by_unit_and_refuse_values_without_a_bin() {
    let (registry, recorder) = setup();
    metrics::with_local_recorder(&recorder, || {
        describe_histogram!("payload_bytes", metrics::Unit::Bytes, "Payload sizes.");
        describe_histogram!("wait_milliseconds", metrics::Unit::Milliseconds, "Waits.");
        histogram!("payload_bytes").record(1500.0);
        histogram!("payload_bytes").record_many(0.5, 2);
        histogram!("wait_milliseconds").record(3.0);
        histogram!("payload_bytes").record(-1.0);
        histogram!("payload_bytes").record(f64::NAN);
        histogram!("payload_bytes").record(f64::INFINITY);
    });
    let Value::Histogram(h) = value(&registry, "payload_bytes", &[]) else {
        panic!()
    };
    assert_eq!(h.count(), 3);
    assert_eq!(h.sum(), 1501.0);
    let Value::Histogram(w) = value(&registry, "wait_milliseconds", &[]) else {
        panic!()
    };
    assert_eq!(w.sum(), 3.0);
    assert_eq!(recorder.refused(Refusal::HistogramValue), 3);
    let text = render(&registry, Format::Prometheus);
    assert!(
        text.contains("payload_bytes_bucket{le=\"1\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("wait_milliseconds_bucket{le=\"5\"} 1\n"),
        "{text}"
    );
    prism_conformance::assert_conformant(&registry);
}

#[test]
fn families_get_the_cardinality_limit_and_overflow() {
    let registry = Registry::new();
    let recorder = PrismRecorder::builder(&registry)
        .cardinality_limit(2)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        for user in ["a", "b", "c", "d"] {
            counter!("logins", "user" => user).increment(1);
        }
    });
    let snapshot = registry.snapshot();
    let logins = snapshot.family("logins").unwrap();
    assert_eq!(logins.series.len(), 3);
    assert!(logins.series.last().unwrap().overflow);
    assert_eq!(logins.series.last().unwrap().value, Value::Counter(2));
    let text = render(&registry, Format::Prometheus);
    assert!(text.contains("logins_total{otel_metric_overflow=\"true\"} 2\n"));
    assert!(text.contains("prism_refused_label_sets_total{family=\"logins\"} 2\n"));
    prism_conformance::assert_conformant(&registry);
}

#[test]
fn a_bad_limit_is_an_error() {
    let registry = Registry::new();
    assert!(PrismRecorder::builder(&registry)
        .cardinality_limit(0)
        .build()
        .is_err());
}

#[test]
fn two_recorders_share_one_registry() {
    let registry = Registry::new();
    let a = PrismRecorder::new(&registry).unwrap();
    let b = PrismRecorder::new(&registry).unwrap();
    metrics::with_local_recorder(&a, || counter!("from_a").increment(1));
    // b does not know a's families: the same name from b is a collision, counted once
    // in the shared family.
    metrics::with_local_recorder(&b, || counter!("from_a").increment(1));
    assert_eq!(value(&registry, "from_a", &[]), Value::Counter(1));
    assert_eq!(a.refused(Refusal::Collision), 1);
}

#[test]
fn a_third_party_crate_lands_in_the_registry() {
    let (registry, recorder) = setup();
    let collector = metrics_process::Collector::default();
    metrics::with_local_recorder(&recorder, || {
        collector.describe();
        collector.collect();
        collector.collect();
    });
    let snapshot = registry.snapshot();
    let memory = snapshot
        .family("process_resident_memory_bytes")
        .expect("metrics-process reports resident memory on Linux");
    assert_eq!(memory.descriptor.unit(), Some("bytes"));
    assert!(memory.series[0].value.as_f64() > 0.0);
    let cpu = snapshot.family("process_cpu_seconds").unwrap();
    assert_eq!(cpu.descriptor.unit(), Some("seconds"));
    assert_eq!(recorder.refused(Refusal::LateDescription), 0);
    let text = render(&registry, Format::OpenMetrics);
    assert!(text.contains("# TYPE process_cpu_seconds counter\n"));
    assert!(text.contains("process_cpu_seconds_total "));
    assert!(text.contains("# UNIT process_resident_memory_bytes bytes\n"));
    prism_conformance::assert_conformant(&registry);
}

#[test]
fn names_past_the_limit_are_refused_and_counted() {
    let registry = Registry::new();
    let recorder = PrismRecorder::builder(&registry)
        .max_names(3)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..5 {
            counter!(format!("user.{i}")).increment(1);
        }
        // Names already known keep working.
        counter!("user.0").increment(1);
    });
    assert_eq!(value(&registry, "user_0", &[]), Value::Counter(2));
    assert!(registry.snapshot().family("user_3").is_none());
    assert_eq!(recorder.refused(Refusal::TooManyNames), 2);
}

#[test]
fn threads_racing_on_new_names_share_one_family_each() {
    const NAMES: usize = 100;
    let (registry, recorder) = setup();
    let start = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (recorder, start) = (&recorder, &start);
            s.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    start.wait();
                    // Every thread asks for each new name at about the same moment.
                    for i in 0..NAMES {
                        counter!(format!("name.{i}"), "t" => "x").increment(1);
                    }
                })
            });
        }
    });
    for reason in Refusal::ALL {
        assert_eq!(recorder.refused(reason), 0, "{reason:?}");
    }
    for i in 0..NAMES {
        assert_eq!(
            value(&registry, &format!("name_{i}"), &["x"]),
            Value::Counter(4)
        );
    }
}
