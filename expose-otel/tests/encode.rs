//! The encoding itself: numbers, the JSON mapping, delta state, and a property test that
//! random registries encode to requests satisfying the OTLP rules.

use std::collections::HashSet;

use std::time::Duration;

use prism_core::{
    Counter, CounterFn, Family, FloatCounter, FloatGauge, Gauge, Histogram, HistogramValue, Kind,
    ManualClock, Metric, Registry, Summary, Value, WindowedHistogram,
};
use prism_otel::proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prism_otel::proto::tonic::metrics::v1::{
    metric, number_data_point, HistogramDataPoint, NumberDataPoint, SummaryDataPoint,
};
use prism_otel::{encode, json, protobuf, Encoder, Resource, Temporality};
use proptest::prelude::*;
use prost::Message;

fn registry() -> Registry {
    Registry::builder().self_telemetry(false).build()
}

fn points(request: &ExportMetricsServiceRequest, name: &str) -> Vec<NumberDataPoint> {
    let m = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name}"));
    match m.data.as_ref().unwrap() {
        metric::Data::Sum(s) => s.data_points.clone(),
        metric::Data::Gauge(g) => g.data_points.clone(),
        other => panic!("{other:?}"),
    }
}

fn data<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> &'a metric::Data {
    request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .and_then(|m| m.data.as_ref())
        .unwrap_or_else(|| panic!("{name}"))
}

/// The histogram points of a metric, and its temporality.
fn histogram_points(
    request: &ExportMetricsServiceRequest,
    name: &str,
) -> (Vec<HistogramDataPoint>, i32) {
    match data(request, name) {
        metric::Data::Histogram(h) => (h.data_points.clone(), h.aggregation_temporality),
        other => panic!("{other:?}"),
    }
}

fn summary_points(request: &ExportMetricsServiceRequest, name: &str) -> Vec<SummaryDataPoint> {
    match data(request, name) {
        metric::Data::Summary(s) => s.data_points.clone(),
        other => panic!("{other:?}"),
    }
}

fn value(p: &NumberDataPoint) -> number_data_point::Value {
    p.value.unwrap()
}

#[test]
fn integers_stay_integers_and_floats_doubles() {
    let r = registry();
    r.register("big", "Past i64::MAX.", CounterFn::new(|| u64::MAX))
        .unwrap();
    r.register("edge", "At i64::MAX.", CounterFn::new(|| i64::MAX as u64))
        .unwrap();
    r.register("neg", "Negative.", Gauge::new())
        .unwrap()
        .set(i64::MIN);
    let f = r.register("f", "Float.", FloatGauge::new()).unwrap();
    f.set(f64::NEG_INFINITY);
    r.register("fc", "Float counter.", FloatCounter::new())
        .unwrap()
        .add(0.1);
    let req = encode(&r, &Resource::new("t"));
    use number_data_point::Value::{AsDouble, AsInt};
    assert_eq!(value(&points(&req, "big")[0]), AsDouble(u64::MAX as f64));
    assert_eq!(value(&points(&req, "edge")[0]), AsInt(i64::MAX));
    assert_eq!(value(&points(&req, "neg")[0]), AsInt(i64::MIN));
    assert_eq!(value(&points(&req, "f")[0]), AsDouble(f64::NEG_INFINITY));
    assert_eq!(value(&points(&req, "fc")[0]), AsDouble(0.1));
}

#[test]
fn json_follows_the_otlp_json_rules() {
    let r = registry();
    r.register("jobs", "Jobs.", Counter::new()).unwrap().add(5);
    let g = r.register("ratio", "Ratio.", FloatGauge::new()).unwrap();
    g.set(f64::INFINITY);
    let req = encode(&r, &Resource::new("t"));
    let text = String::from_utf8(json::to_vec(&req)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let metrics = &v["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
    let sum = &metrics[0]["sum"];
    assert_eq!(sum["aggregationTemporality"], 2, "enums are integers");
    assert_eq!(sum["isMonotonic"], true);
    let point = &sum["dataPoints"][0];
    assert_eq!(point["asInt"], "5", "int64 is a string");
    assert!(point["timeUnixNano"].is_string());
    assert!(point["startTimeUnixNano"].is_string());
    assert_eq!(metrics[1]["gauge"]["dataPoints"][0]["asDouble"], "Infinity");
    assert_eq!(
        v["resourceMetrics"][0]["scopeMetrics"][0]["scope"]["name"],
        "prism"
    );
    let back = json::from_slice(text.as_bytes()).unwrap();
    assert_eq!(back.encode_to_vec(), req.encode_to_vec());
}

#[test]
fn delta_state_stays_bounded_while_exports_fail() {
    let r = registry();
    let f = r
        .register(
            "churn",
            "Series come and go.",
            Family::<Counter>::new(["id"]),
        )
        .unwrap();
    let mut enc = Encoder::new(Resource::new("t")).with_temporality(Temporality::Delta);
    for round in 0..200 {
        f.get(&[round.to_string()]).inc();
        if round >= 3 {
            assert!(f.remove(&[(round - 3).to_string()]));
        }
        enc.encode(&r); // never committed: the collector is down
        assert!(
            enc.tracked_series() <= 3,
            "round {round}: {}",
            enc.tracked_series()
        );
    }
}

#[test]
fn delta_points_are_changes_since_the_last_commit() {
    let r = registry();
    let c = r.register("jobs", "Jobs.", Counter::new()).unwrap();
    let g = r.register("depth", "Depth.", Gauge::new()).unwrap();
    let mut enc = Encoder::new(Resource::new("t")).with_temporality(Temporality::Delta);
    c.add(10);
    g.set(3);
    let first = enc.encode(&r);
    enc.commit();
    c.add(4);
    let second = enc.encode(&r);
    let p1 = &points(&first, "jobs")[0];
    let p2 = &points(&second, "jobs")[0];
    use number_data_point::Value::AsInt;
    assert_eq!((value(p1), value(p2)), (AsInt(10), AsInt(4)));
    assert_eq!(p2.start_time_unix_nano, p1.time_unix_nano);
    assert_eq!(
        value(&points(&second, "depth")[0]),
        AsInt(3),
        "gauges are levels"
    );
    match &second.resource_metrics[0].scope_metrics[0].metrics[1].data {
        Some(metric::Data::Sum(s)) => assert_eq!(s.aggregation_temporality, 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn up_down_counters_are_cumulative_non_monotonic_sums_in_every_mode() {
    let r = registry();
    let open = r
        .register(
            "open_connections",
            "Open.",
            prism_core::UpDownCounter::new(),
        )
        .unwrap();
    let queued = r
        .register(
            "queued",
            "Queued.",
            Family::<prism_core::UpDownCounter>::new(["queue"]),
        )
        .unwrap();
    r.register("level", "Set, not added.", Gauge::new())
        .unwrap()
        .set(7);
    open.add(5);
    open.dec();
    queued.get(&["a"]).add(-2);
    for temporality in [Temporality::Cumulative, Temporality::Delta] {
        let mut enc = Encoder::new(Resource::new("t")).with_temporality(temporality);
        for round in 0..2 {
            let request = enc.encode(&r);
            enc.commit();
            for (name, expected) in [("open_connections", 4), ("queued", -2)] {
                match data(&request, name) {
                    metric::Data::Sum(s) => {
                        assert!(!s.is_monotonic, "{name}");
                        assert_eq!(s.aggregation_temporality, 2, "{name}: cumulative, always");
                        assert_eq!(
                            value(&s.data_points[0]),
                            number_data_point::Value::AsInt(expected),
                            "{name}, round {round}: the level, not a change"
                        );
                    }
                    other => panic!("{name}: {other:?}"),
                }
            }
            assert!(matches!(data(&request, "level"), metric::Data::Gauge(_)));
        }
    }
}

/// A histogram of plain numbers (no unit scaling) with these bounds.
fn numbers(bounds: &[f64]) -> prism_core::HistogramConfig {
    Histogram::builder()
        .unit_scale(1.0)
        .highest(1_000_000)
        .shards(2)
        .buckets(bounds.iter().copied())
        .config()
        .unwrap()
}

fn attribute_pairs(p: &HistogramDataPoint) -> Vec<(String, String)> {
    p.attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                format!("{:?}", kv.value.as_ref().unwrap().value.as_ref().unwrap()),
            )
        })
        .collect()
}

#[test]
fn histograms_carry_bounds_per_bucket_counts_and_extremes() {
    let r = registry();
    let config = numbers(&[10.0, 100.0]);
    let family = r
        .register(
            "size_bytes",
            "Sizes, by route.",
            Family::builder(["route"])
                .cardinality_limit(1)
                .build_with({
                    let config = config.clone();
                    move || config.build()
                })
                .unwrap(),
        )
        .unwrap();
    for v in [5, 50, 50, 500] {
        family.get(&["/a"]).record(v);
    }
    family.get(&["/b"]).record(7); // past the limit: the overflow series
    family.get(&["/c"]).record(70);
    r.register("empty_bytes", "Nothing recorded.", config.build())
        .unwrap();

    let req = encode(&r, &Resource::new("t"));
    let snapshot = r.snapshot();
    let (pts, temporality) = histogram_points(&req, "size_bytes");
    assert_eq!(temporality, 2, "cumulative");
    assert_eq!(pts.len(), 2);
    let a = &pts[0];
    assert_eq!(
        attribute_pairs(a),
        [("route".to_owned(), "StringValue(\"/a\")".to_owned())]
    );
    assert_eq!(a.explicit_bounds, [10.0, 100.0]);
    assert_eq!(a.bucket_counts, [1, 2, 1], "per bucket, not cumulative");
    assert_eq!((a.count, a.sum), (4, Some(605.0)));
    assert_eq!((a.min, a.max), (Some(5.0), Some(500.0)));
    let family_read = snapshot.family("size_bytes").unwrap();
    assert_eq!(
        a.start_time_unix_nano,
        family_read.series(&["/a"]).unwrap().created_unix_nanos
    );
    assert!(a.start_time_unix_nano <= a.time_unix_nano && a.start_time_unix_nano > 0);
    let overflow = &pts[1];
    assert_eq!(
        attribute_pairs(overflow),
        [(
            "otel.metric.overflow".to_owned(),
            "BoolValue(true)".to_owned()
        )]
    );
    assert_eq!(overflow.bucket_counts, [1, 1, 0]);
    assert_eq!((overflow.count, overflow.sum), (2, Some(77.0)));
    assert_eq!((overflow.min, overflow.max), (Some(7.0), Some(70.0)));

    let (empty, _) = histogram_points(&req, "empty_bytes");
    assert_eq!(empty.len(), 1);
    assert!(empty[0].attributes.is_empty());
    assert_eq!(empty[0].bucket_counts, [0, 0, 0]);
    assert_eq!(empty[0].explicit_bounds, [10.0, 100.0]);
    assert_eq!((empty[0].count, empty[0].sum), (0, Some(0.0)));
    assert_eq!(
        (empty[0].min, empty[0].max),
        (None, None),
        "nothing recorded"
    );

    // Both carried through the JSON mapping and back.
    let text = json::to_vec(&req);
    let back = json::from_slice(&text).unwrap();
    assert_eq!(back.encode_to_vec(), req.encode_to_vec());
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert!(
        !String::from_utf8_lossy(&text).contains("null"),
        "unset min and max are left out, not null"
    );
    let m = &v["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
    let h = m
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "size_bytes")
        .unwrap();
    let p = &h["histogram"]["dataPoints"][0];
    assert_eq!(h["histogram"]["aggregationTemporality"], 2);
    assert_eq!(p["count"], "4", "fixed64 is a string");
    assert_eq!(p["bucketCounts"], serde_json::json!(["1", "2", "1"]));
    assert_eq!(p["explicitBounds"], serde_json::json!([10.0, 100.0]));
    assert_eq!(
        (p["sum"].as_f64(), p["min"].as_f64(), p["max"].as_f64()),
        (Some(605.0), Some(5.0), Some(500.0))
    );
}

#[test]
fn summaries_carry_count_sum_and_the_quantiles_of_the_window() {
    let r = registry();
    let clock = ManualClock::new();
    let window = r
        .register(
            "latency_seconds",
            "Latency over the last minutes.",
            WindowedHistogram::builder()
                .slots(2)
                .slot_duration(Duration::from_secs(60))
                .clock(clock.clone())
                .build()
                .unwrap(),
        )
        .unwrap();
    r.register("idle_seconds", "Nothing yet.", Summary::new())
        .unwrap();
    for ms in 1..=100u64 {
        window.record(ms * 1_000_000);
    }
    let req = encode(&r, &Resource::new("t"));
    let Value::Summary(read) = window.read() else {
        panic!("a window reads as a summary")
    };
    let pts = summary_points(&req, "latency_seconds");
    assert_eq!(pts.len(), 1);
    assert_eq!((pts[0].count, pts[0].sum), (100, read.sum()));
    assert!((pts[0].sum - 5.05).abs() < 1e-9);
    let quantiles: Vec<(f64, f64)> = pts[0]
        .quantile_values
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    let want: Vec<(f64, f64)> = read.quantiles().map(|(q, v)| (q, v.unwrap())).collect();
    assert_eq!(quantiles, want);
    assert_eq!(
        quantiles.iter().map(|q| q.0).collect::<Vec<_>>(),
        [0.5, 0.9, 0.99, 0.999]
    );
    assert!(
        (quantiles[0].1 - 0.050).abs() < 0.050 * 1e-3,
        "{quantiles:?}"
    );

    let idle = summary_points(&req, "idle_seconds");
    assert_eq!((idle[0].count, idle[0].sum), (0, 0.0));
    assert!(idle[0].quantile_values.is_empty(), "no quantile of nothing");

    // Two slots later the window is empty: its quantiles go, the totals stay.
    clock.advance(Duration::from_secs(120));
    let later = encode(&r, &Resource::new("t"));
    let pts = summary_points(&later, "latency_seconds");
    assert_eq!(pts[0].count, 100);
    assert!(
        pts[0].quantile_values.is_empty(),
        "{:?}",
        pts[0].quantile_values
    );
}

/// A histogram or summary of fixed parts, for values core's own kinds never produce.
#[derive(Clone)]
struct Fixed(Kind, HistogramValue);

impl Metric for Fixed {
    const KIND: Kind = Kind::Histogram;
    fn read(&self) -> Value {
        match self.0 {
            Kind::Summary => Value::Summary(Box::new(self.1.clone())),
            _ => Value::Histogram(Box::new(self.1.clone())),
        }
    }
}

#[derive(Clone)]
struct FixedSummary(HistogramValue);

impl Metric for FixedSummary {
    const KIND: Kind = Kind::Summary;
    fn read(&self) -> Value {
        Value::Summary(Box::new(self.0.clone()))
    }
}

#[test]
fn non_finite_histogram_and_summary_doubles_survive_json() {
    let r = registry();
    let odd = HistogramValue::from_parts(
        vec![-1.5, 2.0],
        vec![1, 0, 1],
        f64::NAN,
        Some(f64::NEG_INFINITY),
        Some(f64::INFINITY),
        [
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(-0.0),
            Some(f64::NEG_INFINITY),
        ],
    )
    .unwrap();
    r.register("odd", "Odd doubles.", Fixed(Kind::Histogram, odd.clone()))
        .unwrap();
    r.register("odd_summary", "Odd doubles.", FixedSummary(odd))
        .unwrap();
    // A histogram family reading a summary value: a mismatch, left out rather than guessed.
    r.register(
        "mismatch",
        "Wrong kind.",
        Fixed(
            Kind::Summary,
            HistogramValue::from_parts(vec![], vec![0], 0.0, None, None, [None; 4]).unwrap(),
        ),
    )
    .unwrap();
    let req = encode(&r, &Resource::new("t"));
    let text = String::from_utf8(json::to_vec(&req)).unwrap();
    for s in [
        r#""sum":"NaN""#,
        r#""min":"-Infinity""#,
        r#""max":"Infinity""#,
        r#""value":"Infinity""#,
        r#""value":"-Infinity""#,
    ] {
        assert!(text.contains(s), "{s} in {text}");
    }
    let back = json::from_slice(text.as_bytes()).unwrap();
    assert_eq!(
        back.encode_to_vec(),
        req.encode_to_vec(),
        "bit for bit, NaN included"
    );
    let (h, _) = histogram_points(&back, "odd");
    assert!(h[0].sum.unwrap().is_nan());
    assert_eq!(h[0].explicit_bounds, [-1.5, 2.0]);
    let s = summary_points(&back, "odd_summary");
    assert!(s[0].sum.is_nan() && s[0].quantile_values[0].value.is_nan());
    assert_eq!(s[0].quantile_values[3].value, f64::NEG_INFINITY);
    assert!(req.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .all(|m| m.name != "mismatch"));
}

#[test]
fn histogram_deltas_lose_nothing_across_a_failed_export() {
    let r = registry();
    let family = r
        .register(
            "size_bytes",
            "Sizes.",
            Family::builder(["route"])
                .cardinality_limit(1)
                .build_with({
                    let config = numbers(&[10.0, 100.0]);
                    move || config.build()
                })
                .unwrap(),
        )
        .unwrap();
    let window = r
        .register("w", "A window.", WindowedHistogram::new())
        .unwrap();
    let mut enc = Encoder::new(Resource::new("t")).with_temporality(Temporality::Delta);
    family.get(&["/a"]).record(5);
    family.get(&["/b"]).record(500); // overflow
    window.record(1_000);
    let first = enc.encode(&r);
    enc.commit();
    let (p1, temporality) = histogram_points(&first, "size_bytes");
    assert_eq!(temporality, 1, "delta");
    assert_eq!(
        (p1[0].count, p1[0].sum, p1[0].bucket_counts.clone()),
        (1, Some(5.0), vec![1, 0, 0])
    );
    assert_eq!(
        (p1[0].min, p1[0].max),
        (None, None),
        "min and max are not deltas"
    );
    let created = r
        .snapshot()
        .family("size_bytes")
        .unwrap()
        .series(&["/a"])
        .unwrap()
        .created_unix_nanos;
    assert_eq!(
        p1[0].start_time_unix_nano, created,
        "the first delta starts at the series' start"
    );

    family.get(&["/a"]).record(50);
    family.get(&["/b"]).record(50);
    let failed = enc.encode(&r); // never delivered: no commit
    assert_eq!(histogram_points(&failed, "size_bytes").0[0].count, 1);
    family.get(&["/a"]).record(500);
    family.get(&["/a"]).record(7);
    family.get(&["/c"]).record(8);
    let third = enc.encode(&r);
    enc.commit();
    let (p3, _) = histogram_points(&third, "size_bytes");
    assert_eq!(
        (p3[0].count, p3[0].sum, p3[0].bucket_counts.clone()),
        (3, Some(557.0), vec![1, 1, 1]),
        "both intervals"
    );
    assert_eq!(
        p3[0].start_time_unix_nano, p1[0].time_unix_nano,
        "from the last delivered export"
    );
    assert_eq!(
        (p3[1].count, p3[1].sum, p3[1].bucket_counts.clone()),
        (2, Some(58.0), vec![1, 1, 0]),
        "overflow too"
    );
    for p in &p3 {
        assert_eq!(p.count, p.bucket_counts.iter().sum::<u64>());
        assert_eq!((p.min, p.max), (None, None));
    }
    // Summaries have no temporality: sent as read.
    let s = summary_points(&third, "w");
    assert_eq!(s[0].count, 1);

    let quiet = enc.encode(&r);
    let (p4, _) = histogram_points(&quiet, "size_bytes");
    assert_eq!(
        (p4[0].count, p4[0].sum, p4[0].bucket_counts.clone()),
        (0, Some(0.0), vec![0, 0, 0])
    );
    assert_eq!(p4[0].start_time_unix_nano, p3[0].time_unix_nano);
}

/// The one-pass protobuf writer against prost where lengths take 1, 2 and 3 bytes, doubles
/// are -0.0 or NaN, strings are empty, and fields this crate never sets go through prost.
#[test]
fn protobuf_writer_equals_prost() {
    use prism_otel::proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    let r = registry();
    let long = "x".repeat(300);
    let f = r
        .register(
            &"n".repeat(200),
            &long,
            Family::<FloatGauge>::new(["a", "b"]),
        )
        .unwrap();
    for i in 0..3000 {
        f.get(&[long.clone(), i.to_string()]).set(-0.0);
    }
    f.get(&["", ""]).set(f64::NAN);
    r.register("neg", "Negative.", Gauge::new())
        .unwrap()
        .set(-1);
    let h = r.register("h", "", numbers(&[0.5, 1.0]).build()).unwrap();
    h.record(0);
    r.register("s", "", Summary::from(numbers(&[]).build()))
        .unwrap()
        .record(0);
    for temporality in [Temporality::Cumulative, Temporality::Delta] {
        let mut req = Encoder::new(Resource::new("t").with_attribute("k", ""))
            .with_temporality(temporality)
            .encode(&r);
        assert_eq!(protobuf::to_vec(&req), req.encode_to_vec());
        let metrics = &mut req.resource_metrics[0].scope_metrics[0].metrics;
        let other = |key: &str, value| KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            key_strindex: 0,
        };
        metrics[0]
            .metadata
            .push(other("m", any_value::Value::IntValue(-5)));
        if let Some(metric::Data::Gauge(g)) = &mut metrics[0].data {
            g.data_points[0]
                .attributes
                .push(other("d", any_value::Value::DoubleValue(-0.0)));
            g.data_points[1].attributes[0].key_strindex = 3;
            g.data_points[2].flags = 1;
            g.data_points[3].value = None;
        }
        let mut empty = metrics[1].clone();
        empty.data = None;
        metrics.push(empty);
        assert_eq!(protobuf::to_vec(&req), req.encode_to_vec());
    }
}

/// One family of a random registry.
#[derive(Debug, Clone)]
enum Spec {
    Counter(Vec<(Vec<String>, u64)>, usize),
    FloatCounter(Vec<(Vec<String>, f64)>),
    Gauge(Vec<(Vec<String>, i64)>),
    FloatGauge(Vec<(Vec<String>, f64)>),
    Fn(u64),
    /// Bounds, cardinality limit, and values recorded per label set.
    Histogram(Vec<f64>, usize, Vec<(Vec<String>, Vec<u64>)>),
    Summary(Vec<(Vec<String>, Vec<u64>)>),
}

/// Strictly increasing bounds, none included, from a few that cross the recorded range.
fn bounds() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::btree_set(0u32..2000, 0..6)
        .prop_map(|set| set.into_iter().map(|b| f64::from(b) * 0.5).collect())
}

fn labels(n: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-z\\-/ é\"\\\\]{0,6}", n)
}

fn series<T: std::fmt::Debug + Clone + 'static>(
    n: usize,
    v: BoxedStrategy<T>,
) -> impl Strategy<Value = Vec<(Vec<String>, T)>> {
    prop::collection::vec((labels(n), v), 0..12)
}

fn spec() -> impl Strategy<Value = (usize, Spec)> {
    (0usize..3).prop_flat_map(|n| {
        let f = prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            any::<f64>(),
            -1e6..1e6f64
        ];
        (
            Just(n),
            prop_oneof![
                (series(n, any::<u64>().boxed()), 1usize..6).prop_map(|(s, l)| Spec::Counter(s, l)),
                series(n, (0.0..1e12f64).boxed()).prop_map(Spec::FloatCounter),
                series(n, any::<i64>().boxed()).prop_map(Spec::Gauge),
                series(n, f.boxed()).prop_map(Spec::FloatGauge),
                any::<u64>().prop_map(Spec::Fn),
                (
                    bounds(),
                    1usize..4,
                    series(n, prop::collection::vec(0u64..2000, 0..20).boxed())
                )
                    .prop_map(|(b, l, s)| Spec::Histogram(b, l, s)),
                series(n, prop::collection::vec(0u64..2000, 0..20).boxed()).prop_map(Spec::Summary),
            ],
        )
    })
}

fn build(specs: &[(usize, Spec)]) -> Registry {
    let r = Registry::new();
    for (i, (n, spec)) in specs.iter().enumerate() {
        let names: Vec<String> = (0..*n).map(|j| format!("l{j}")).collect();
        let name = format!("m{i}");
        match spec {
            Spec::Counter(series, limit) => {
                let f = r
                    .register(
                        &name,
                        "c",
                        Family::<Counter>::builder(names)
                            .cardinality_limit(*limit)
                            .build()
                            .unwrap(),
                    )
                    .unwrap();
                for (l, v) in series {
                    f.get(l).add(*v / 4);
                }
            }
            Spec::FloatCounter(series) => {
                let f = r
                    .register(&name, "fc", Family::<FloatCounter>::new(names))
                    .unwrap();
                for (l, v) in series {
                    f.get(l).add(*v);
                }
            }
            Spec::Gauge(series) => {
                let f = r.register(&name, "g", Family::<Gauge>::new(names)).unwrap();
                for (l, v) in series {
                    f.get(l).set(*v);
                }
            }
            Spec::FloatGauge(series) => {
                let f = r
                    .register(&name, "fg", Family::<FloatGauge>::new(names))
                    .unwrap();
                for (l, v) in series {
                    f.get(l).set(*v);
                }
            }
            Spec::Fn(v) => {
                let v = *v;
                r.register(&name, "fn", CounterFn::new(move || v)).unwrap();
            }
            Spec::Histogram(bounds, limit, series) => {
                let config = numbers(bounds);
                let f = r
                    .register(
                        &name,
                        "h",
                        Family::builder(names)
                            .cardinality_limit(*limit)
                            .build_with(move || config.build())
                            .unwrap(),
                    )
                    .unwrap();
                for (l, values) in series {
                    values.iter().for_each(|v| f.get(l).record(*v));
                }
            }
            Spec::Summary(series) => {
                let config = numbers(&[]);
                let f = r
                    .register(
                        &name,
                        "s",
                        Family::builder(names)
                            .build_with(move || Summary::from(config.build()))
                            .unwrap(),
                    )
                    .unwrap();
                for (l, values) in series {
                    values.iter().for_each(|v| f.get(l).record(*v));
                }
            }
        }
    }
    r
}

/// The attributes and times of one point, whatever its type.
fn check_point(
    attributes: &[prism_otel::proto::tonic::common::v1::KeyValue],
    start: u64,
    time: u64,
) {
    let mut keys = HashSet::new();
    for kv in attributes {
        assert!(keys.insert(kv.key.clone()), "unique attribute keys");
        assert!(kv.value.as_ref().and_then(|v| v.value.as_ref()).is_some());
    }
    assert!(time > 0 && start > 0, "non-zero times");
    assert!(start <= time, "start <= time");
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn check_rules(req: &ExportMetricsServiceRequest, snapshot: &prism_core::Snapshot) {
    let mut names = HashSet::new();
    let mut total_points = 0;
    let sm = &req.resource_metrics[0].scope_metrics[0];
    for m in &sm.metrics {
        assert!(names.insert(m.name.clone()), "unique metric names");
        let family = snapshot.family(&m.name).expect("a family of the registry");
        // Self-telemetry moves between the encoded read and the snapshot.
        let exact = !family.descriptor.name().starts_with("prism_");
        let n = match m.data.as_ref().expect("data") {
            metric::Data::Sum(s) => {
                assert!(s.is_monotonic);
                assert_eq!(s.aggregation_temporality, 2);
                check_numbers(&s.data_points, &family.series, exact)
            }
            metric::Data::Gauge(g) => check_numbers(&g.data_points, &family.series, exact),
            metric::Data::Histogram(h) => {
                assert_eq!(family.descriptor.kind(), Kind::Histogram);
                assert_eq!(h.aggregation_temporality, 2);
                assert_eq!(h.data_points.len(), family.series.len());
                for (p, s) in h.data_points.iter().zip(&family.series) {
                    check_point(&p.attributes, p.start_time_unix_nano, p.time_unix_nano);
                    assert_eq!(
                        p.bucket_counts.len(),
                        p.explicit_bounds.len() + 1,
                        "bounds + 1"
                    );
                    assert_eq!(
                        p.bucket_counts.iter().sum::<u64>(),
                        p.count,
                        "buckets add up"
                    );
                    assert!(p.explicit_bounds.windows(2).all(|w| w[0] < w[1]));
                    let Value::Histogram(h) = &s.value else {
                        panic!("{:?}", s.value)
                    };
                    assert_eq!(p.explicit_bounds, h.bounds());
                    assert_eq!(p.bucket_counts, h.bucket_counts());
                    assert_eq!(
                        (p.count, p.sum, p.min, p.max),
                        (h.count(), Some(h.sum()), h.min(), h.max())
                    );
                    if let (Some(min), Some(max)) = (p.min, p.max) {
                        assert!(min <= max);
                    }
                }
                h.data_points.len()
            }
            metric::Data::Summary(sum) => {
                assert_eq!(family.descriptor.kind(), Kind::Summary);
                assert_eq!(sum.data_points.len(), family.series.len());
                for (p, s) in sum.data_points.iter().zip(&family.series) {
                    check_point(&p.attributes, p.start_time_unix_nano, p.time_unix_nano);
                    let Value::Summary(h) = &s.value else {
                        panic!("{:?}", s.value)
                    };
                    assert_eq!((p.count, p.sum), (h.count(), h.sum()));
                    let want: Vec<(f64, f64)> =
                        h.quantiles().filter_map(|(q, v)| Some((q, v?))).collect();
                    let got: Vec<(f64, f64)> = p
                        .quantile_values
                        .iter()
                        .map(|q| (q.quantile, q.value))
                        .collect();
                    assert_eq!(got, want);
                    assert_eq!(got.is_empty(), p.count == 0);
                }
                sum.data_points.len()
            }
            other => panic!("{other:?}"),
        };
        assert!(n > 0, "no empty metrics");
        total_points += n;
    }
    let expected: usize = snapshot.families.iter().map(|f| f.series.len()).sum();
    assert_eq!(total_points, expected, "every series, nothing else");
}

fn check_numbers(
    pts: &[NumberDataPoint],
    series: &[prism_core::SeriesSnapshot],
    exact: bool,
) -> usize {
    assert_eq!(pts.len(), series.len());
    for (p, s) in pts.iter().zip(series) {
        check_point(&p.attributes, p.start_time_unix_nano, p.time_unix_nano);
        let v = p.value.expect("a value");
        if exact {
            match (&s.value, v) {
                (Value::Counter(c), number_data_point::Value::AsInt(i)) => {
                    assert_eq!(*c, i as u64)
                }
                (Value::Counter(c), number_data_point::Value::AsDouble(d)) => {
                    assert!(*c > i64::MAX as u64);
                    assert_eq!(d, *c as f64)
                }
                (Value::Gauge(g), number_data_point::Value::AsInt(i)) => assert_eq!(*g, i),
                (
                    Value::CounterF64(a) | Value::GaugeF64(a),
                    number_data_point::Value::AsDouble(d),
                ) => assert!(same(*a, d)),
                (a, b) => panic!("{a:?} sent as {b:?}"),
            }
        }
    }
    pts.len()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_registries_encode_to_valid_otlp(specs in prop::collection::vec(spec(), 0..8)) {
        let r = build(&specs);
        let mut enc = Encoder::new(Resource::new("prop"));
        let req = enc.encode(&r);
        let snapshot = r.snapshot();
        check_rules(&req, &snapshot);
        // The wire bytes and the JSON read back to the same request.
        let mut bytes = Vec::new();
        enc.encode_protobuf(&r, &mut bytes);
        let decoded = ExportMetricsServiceRequest::decode(&bytes[..]).unwrap();
        check_rules(&decoded, &r.snapshot());
        // The one-pass writer is prost's encoding, byte for byte.
        prop_assert_eq!(protobuf::to_vec(&req), req.encode_to_vec());
        let via_json = json::from_slice(&json::to_vec(&req)).unwrap();
        prop_assert_eq!(via_json.encode_to_vec(), req.encode_to_vec());
    }
}

/// A family registered by its OpenTelemetry name goes out under that name, its UCUM unit
/// and its dotted attribute names, in protobuf and in JSON; one registered by its
/// Prometheus name under that name, the UCUM form of its unit and its label names.
#[test]
fn otlp_carries_the_opentelemetry_names() {
    use prism_core::{Metadata, UpDownCounter};
    let r = registry();
    let duration = r
        .register_with(
            Metadata::otel(
                "http.server.request.duration",
                "s",
                "Duration of HTTP server requests.",
            ),
            Family::builder(["http.request.method", "http.route"])
                .build_with({
                    let config = numbers(&[1.0]);
                    move || config.build()
                })
                .unwrap(),
        )
        .unwrap();
    duration.get(&["GET", "/items/{id}"]).record(1);
    r.register_with(
        Metadata::otel(
            "http.server.active_requests",
            "{request}",
            "Active requests.",
        ),
        Family::<UpDownCounter>::new(["url.scheme"]),
    )
    .unwrap()
    .get(&["https"])
    .inc();
    r.register_with(
        Metadata::new("cpu_seconds", "CPU.").unit("seconds"),
        Family::<FloatCounter>::new(["mode"]),
    )
    .unwrap()
    .get(&["user"])
    .add(1.5);

    let request = encode(&r, &Resource::new("t"));
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    let names: Vec<(&str, &str)> = metrics
        .iter()
        .map(|m| (m.name.as_str(), m.unit.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("cpu_seconds", "s"),
            ("http.server.active_requests", "{request}"),
            ("http.server.request.duration", "s"),
        ]
    );
    let metric::Data::Histogram(h) = data(&request, "http.server.request.duration") else {
        panic!("a histogram")
    };
    assert_eq!(
        attribute_pairs(&h.data_points[0]),
        [
            (
                "http.request.method".to_owned(),
                r#"StringValue("GET")"#.to_owned()
            ),
            (
                "http.route".to_owned(),
                r#"StringValue("/items/{id}")"#.to_owned()
            ),
        ]
    );
    let keys = |name| -> Vec<String> {
        points(&request, name)[0]
            .attributes
            .iter()
            .map(|kv| kv.key.clone())
            .collect()
    };
    assert_eq!(keys("http.server.active_requests"), ["url.scheme"]);
    assert_eq!(keys("cpu_seconds"), ["mode"]);

    // The JSON mapping carries the same names.
    let body = Encoder::new(Resource::new("t")).encode_json(&r);
    let text = String::from_utf8(body).unwrap();
    for needle in [
        r#""name":"http.server.request.duration""#,
        r#""unit":"s""#,
        r#""key":"http.request.method""#,
        r#""unit":"{request}""#,
    ] {
        assert!(text.contains(needle), "{needle} not in {text}");
    }
    assert!(
        !text.contains("http_server_request_duration_seconds"),
        "{text}"
    );
}
