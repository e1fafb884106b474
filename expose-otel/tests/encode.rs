//! The encoding itself: numbers, the JSON mapping, delta state, and a property test that
//! random registries encode to requests satisfying the OTLP rules.

use std::collections::HashSet;

use prism_core::{Counter, CounterFn, Family, FloatCounter, FloatGauge, Gauge, Registry, Value};
use prism_otel::proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prism_otel::proto::tonic::metrics::v1::{metric, number_data_point, NumberDataPoint};
use prism_otel::{encode, json, Encoder, Resource, Temporality};
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

/// One family of a random registry.
#[derive(Debug, Clone)]
enum Spec {
    Counter(Vec<(Vec<String>, u64)>, usize),
    FloatCounter(Vec<(Vec<String>, f64)>),
    Gauge(Vec<(Vec<String>, i64)>),
    FloatGauge(Vec<(Vec<String>, f64)>),
    Fn(u64),
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
        }
    }
    r
}

fn check_rules(req: &ExportMetricsServiceRequest, snapshot: &prism_core::Snapshot) {
    let mut names = HashSet::new();
    let mut total_points = 0;
    let sm = &req.resource_metrics[0].scope_metrics[0];
    for m in &sm.metrics {
        assert!(names.insert(m.name.clone()), "unique metric names");
        let family = snapshot.family(&m.name).expect("a family of the registry");
        let pts = match m.data.as_ref().expect("data") {
            metric::Data::Sum(s) => {
                assert!(s.is_monotonic);
                assert_eq!(s.aggregation_temporality, 2);
                &s.data_points
            }
            metric::Data::Gauge(g) => &g.data_points,
            other => panic!("{other:?}"),
        };
        assert!(!pts.is_empty(), "no empty metrics");
        assert_eq!(pts.len(), family.series.len());
        for (p, s) in pts.iter().zip(&family.series) {
            let mut keys = HashSet::new();
            for kv in &p.attributes {
                assert!(keys.insert(kv.key.clone()), "unique attribute keys");
                assert!(kv.value.as_ref().and_then(|v| v.value.as_ref()).is_some());
            }
            assert!(
                p.time_unix_nano > 0 && p.start_time_unix_nano > 0,
                "non-zero times"
            );
            assert!(p.start_time_unix_nano <= p.time_unix_nano, "start <= time");
            let v = p.value.expect("a value");
            if !family.descriptor.name().starts_with("prism_") {
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
                    ) => {
                        assert!(a.to_bits() == d.to_bits() || (a.is_nan() && d.is_nan()))
                    }
                    (a, b) => panic!("{a:?} sent as {b:?}"),
                }
            }
            total_points += 1;
        }
    }
    let expected: usize = snapshot.families.iter().map(|f| f.series.len()).sum();
    assert_eq!(total_points, expected, "every series, nothing else");
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
        let via_json = json::from_slice(&json::to_vec(&req)).unwrap();
        prop_assert_eq!(via_json.encode_to_vec(), req.encode_to_vec());
    }
}
