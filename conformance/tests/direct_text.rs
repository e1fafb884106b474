//! prism-prom writes Prometheus and OpenMetrics text directly; prometheus-client's text
//! encoders are its oracle. On every scenario of the corpus and on thousands of random
//! registries of every kind, in every text format, with `_created` on and off, the direct
//! text is byte for byte what prometheus-client writes (completed as the bridge completes
//! it: `_created` lines, canonical `+Inf`/`-Inf`).

use prism_conformance::{corpus, FamilySpec, MetricType, Op, OverflowSpec, Scenario, Step};
use prism_core::Registry;
use prism_prom::{Format, Renderer};
use proptest::prelude::*;
use serde_json::{json, Value};

const FORMATS: [Format; 3] = [
    Format::Prometheus,
    Format::OpenMetrics,
    Format::OpenMetrics0_0_1,
];

/// The first difference between the direct text and prometheus-client's, if any.
fn difference(registry: &Registry) -> Option<String> {
    for format in FORMATS {
        for created in [true, false] {
            let direct = Renderer::new(registry.clone())
                .openmetrics_created(created)
                .render(format);
            let oracle = Renderer::new(registry.clone())
                .openmetrics_created(created)
                .via_prometheus_client()
                .render(format);
            if direct != oracle {
                let line = direct
                    .lines()
                    .zip(oracle.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(direct.lines().count().min(oracle.lines().count()));
                return Some(format!(
                    "{format:?}, created {created}: line {line} differs\n\
                     direct: {:?}\noracle: {:?}\n--- direct ---\n{direct}\n--- oracle ---\n{oracle}",
                    direct.lines().nth(line),
                    oracle.lines().nth(line),
                ));
            }
        }
    }
    None
}

#[test]
fn the_corpus_renders_as_prometheus_client_renders_it() {
    let scenarios = corpus::scenarios().expect("the corpus parses");
    assert!(
        scenarios.len() >= 10,
        "the corpus has {} scenarios",
        scenarios.len()
    );
    for scenario in &scenarios {
        let registry = scenario
            .apply()
            .unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
        if let Some(diff) = difference(&registry) {
            panic!("scenario {}: {diff}", scenario.name);
        }
    }
}

/// Label values with the characters both formats escape, non-ASCII, and near-misses of
/// the overflow marker.
fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,4}",
        "[\\\\\"\n a-zλ{}=,]{0,6}",
        Just("otel_metric_overflow=true".to_owned()),
        any::<String>().prop_map(|s| s.replace('\0', "")),
    ]
}

fn value_for(t: MetricType) -> BoxedStrategy<Value> {
    match t {
        MetricType::Counter => (0u64..u64::MAX / 4).prop_map(|v| json!(v)).boxed(),
        MetricType::Gauge | MetricType::UpDownCounter => {
            any::<i64>().prop_map(|v| json!(v)).boxed()
        }
        MetricType::FloatCounter => {
            prop_oneof![(0.0..1e300f64).prop_map(|v| json!(v)), Just(json!("+Inf")),].boxed()
        }
        MetricType::FloatGauge => prop_oneof![
            any::<f64>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(|v| json!(v)),
            Just(json!("NaN")),
            Just(json!("+Inf")),
            Just(json!("-Inf")),
        ]
        .boxed(),
        MetricType::Histogram | MetricType::Summary => {
            (0u64..1_000_000_000_000).prop_map(|v| json!(v)).boxed()
        }
        _ => (0u64..1000).prop_map(|v| json!(v)).boxed(),
    }
}

fn family(index: usize) -> impl Strategy<Value = (FamilySpec, Vec<Step>)> {
    let types = prop_oneof![
        Just(MetricType::Counter),
        Just(MetricType::FloatCounter),
        Just(MetricType::Gauge),
        Just(MetricType::FloatGauge),
        Just(MetricType::UpDownCounter),
        Just(MetricType::Histogram),
        Just(MetricType::Summary),
    ];
    // Bucket layouts: core's default, Go-style bounds on both sides of 1e-4 and 1e6, or one.
    let buckets = prop_oneof![
        Just(None),
        Just(Some(vec![0.00005, 0.001, 0.25, 1.0, 10.0, 2.5e6])),
        Just(Some(vec![1.0])),
    ];
    (
        types,
        prop::option::of(0usize..3),
        any::<bool>(),
        any::<String>(),
        prop::option::of(1usize..4),
        buckets,
    )
        .prop_flat_map(move |(t, labels, unit, help, limit, buckets)| {
            let arity = labels.unwrap_or(0);
            let series = prop::collection::vec(
                (prop::collection::vec(label_value(), arity), value_for(t)),
                0..6,
            );
            let name = if unit {
                format!("f{index}_bytes")
            } else {
                format!("f{index}")
            };
            let histogram = matches!(t, MetricType::Histogram | MetricType::Summary);
            let spec = FamilySpec {
                name: name.clone(),
                help: help.replace('\0', ""),
                unit: unit.then(|| "bytes".to_owned()),
                metric: t,
                labels: labels.map(|n| (0..n).map(|i| format!("l{i}")).collect()),
                cardinality_limit: labels.and(limit),
                overflow: labels.map(|_| OverflowSpec::Series),
                cap: None,
                value: None,
                buckets: buckets.filter(|_| t == MetricType::Histogram),
                otel: false,
                // Whole recorded units, exported in thousandths: bounds and sums with
                // fractions.
                unit_scale: histogram.then_some(1e-3),
                slots: None,
                slot_seconds: None,
            };
            series.prop_map(move |series| {
                let op = match t {
                    MetricType::Gauge | MetricType::FloatGauge => Op::Set,
                    MetricType::Histogram | MetricType::Summary => Op::Observe,
                    _ => Op::Add,
                };
                let steps = series
                    .into_iter()
                    .map(|(values, v)| Step {
                        op,
                        family: spec.name.clone(),
                        labels: labels.map(|_| values),
                        value: Some(v),
                        repeat: None,
                    })
                    .collect();
                (spec.clone(), steps)
            })
        })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (any::<bool>(), 0usize..5).prop_flat_map(|(telemetry, n)| {
        let families: Vec<_> = (0..n).map(family).collect();
        families.prop_map(move |fs| {
            let (families, steps): (Vec<_>, Vec<_>) = fs.into_iter().unzip();
            Scenario {
                name: "random".to_owned(),
                description: String::new(),
                self_telemetry: telemetry,
                families,
                steps: steps.into_iter().flatten().collect(),
            }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_registries_render_as_prometheus_client_renders_them(s in scenario()) {
        let registry = s.apply().map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Some(diff) = difference(&registry) {
            prop_assert!(false, "{}\n{:#?}", diff, s);
        }
    }
}
