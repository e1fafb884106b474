//! Property tests: random registries (any label values and help text, any floats, any
//! integers) rendered in both formats and read back by a small reader written here from the
//! format specs; what it reads must equal a snapshot of the registry.

use proptest::prelude::*;

use prism_core::{
    Counter, Family, FloatCounter, FloatGauge, Gauge, Kind, Metadata, Registry, Value,
};
use prism_prom::{render, Format};

/// One sample line: its name, its labels in order, its value as printed.
type ReadSample = (String, Vec<(String, String)>, String);

#[derive(Debug, Default)]
struct ReadFamily {
    name: String,
    help: Option<String>,
    kind: Option<String>,
    unit: Option<String>,
    samples: Vec<ReadSample>,
}

/// Undoes text-format escaping: `\\`, `\n`, and `\"` where the format escapes quotes.
fn unescape(s: &str, quotes: bool) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            other => panic!("bad escape \\{other:?} in {s:?}"),
        }
    }
    out
}

/// Splits `{k="v",...} value` (or ` value`) into labels and value.
fn labels_and_value(rest: &str) -> (Vec<(String, String)>, String) {
    let mut labels = Vec::new();
    let mut rest = rest;
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            let (key, after) = rest.split_once("=\"").expect("label key");
            // The value runs to the first quote not escaped by a backslash.
            let bytes = after.as_bytes();
            let mut i = 0;
            while bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            labels.push((key.to_owned(), unescape(&after[..i], true)));
            rest = &after[i + 1..];
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            } else {
                rest = rest.strip_prefix('}').expect("closing brace");
                break;
            }
        }
    }
    let value = rest.strip_prefix(' ').expect("space before value");
    assert!(!value.contains(' ') && !value.is_empty(), "value {value:?}");
    (labels, value.to_owned())
}

fn read(text: &str, format: Format) -> Vec<ReadFamily> {
    let om = format == Format::OpenMetrics;
    let mut families: Vec<ReadFamily> = Vec::new();
    let body = if om {
        text.strip_suffix("# EOF\n").expect("ends with # EOF")
    } else {
        text
    };
    assert!(body.is_empty() || body.ends_with('\n'));
    for line in body.lines() {
        if let Some(meta) = line.strip_prefix("# ") {
            let (keyword, rest) = meta.split_once(' ').unwrap();
            let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
            let new_family = match families.last() {
                Some(last) => last.name != name,
                None => true,
            };
            if new_family {
                families.push(ReadFamily {
                    name: name.to_owned(),
                    ..Default::default()
                });
            }
            let family = families.last_mut().unwrap();
            match keyword {
                "HELP" => family.help = Some(unescape(value, om)),
                "TYPE" => family.kind = Some(value.to_owned()),
                "UNIT" => family.unit = Some(value.to_owned()),
                other => panic!("unknown metadata {other}"),
            }
            continue;
        }
        let split = line.find(['{', ' ']).expect("sample name");
        let (labels, value) = labels_and_value(&line[split..]);
        families
            .last_mut()
            .expect("sample after metadata")
            .samples
            .push((line[..split].to_owned(), labels, value));
    }
    families
}

fn same(printed: &str, value: &Value) -> bool {
    match *value {
        Value::Counter(v) => printed == v.to_string(),
        Value::Gauge(v) => printed == v.to_string(),
        Value::CounterF64(v) | Value::GaugeF64(v) => match printed {
            "NaN" => v.is_nan(),
            "+Inf" => v == f64::INFINITY,
            "-Inf" => v == f64::NEG_INFINITY,
            _ => printed
                .parse::<f64>()
                .is_ok_and(|p| p.to_bits() == v.to_bits()),
        },
        _ => false,
    }
}

#[derive(Debug, Clone)]
enum Values {
    Counter(Vec<u64>),
    FloatCounter(Vec<f64>),
    Gauge(Vec<i64>),
    FloatGauge(Vec<f64>),
}

#[derive(Debug, Clone)]
struct Spec {
    help: String,
    unit: bool,
    labels: usize,
    label_values: Vec<Vec<String>>,
    values: Values,
}

fn spec() -> impl Strategy<Value = Spec> {
    let values = prop_oneof![
        prop::collection::vec(any::<u64>(), 0..12).prop_map(Values::Counter),
        prop::collection::vec(0.0..1e300f64, 0..12).prop_map(Values::FloatCounter),
        prop::collection::vec(any::<i64>(), 0..12).prop_map(Values::Gauge),
        prop::collection::vec(any::<f64>(), 0..12).prop_map(Values::FloatGauge),
    ];
    (
        any::<String>().prop_map(|h| h.replace('\0', "")),
        any::<bool>(),
        0usize..4,
        prop::collection::vec(prop::collection::vec(any::<String>(), 3), 12),
        values,
    )
        .prop_map(|(help, unit, labels, label_values, values)| Spec {
            help,
            unit,
            labels,
            label_values,
            values,
        })
}

fn build(specs: &[Spec]) -> Registry {
    let r = Registry::builder().self_telemetry(false).build();
    for (i, s) in specs.iter().enumerate() {
        let name = if s.unit {
            format!("f{i}_bytes")
        } else {
            format!("f{i}")
        };
        let meta = || {
            let m = Metadata::new(name.clone(), s.help.clone());
            if s.unit {
                m.unit("bytes")
            } else {
                m
            }
        };
        let names: Vec<String> = (0..s.labels).map(|l| format!("l{l}")).collect();
        let key = |j: usize| s.label_values[j][..s.labels].to_vec();
        match &s.values {
            Values::Counter(vs) => {
                let f = r
                    .register_with(meta(), Family::<Counter>::new(names))
                    .unwrap();
                for (j, v) in vs.iter().enumerate() {
                    f.get(&key(j)).add(*v / 2);
                }
            }
            Values::FloatCounter(vs) => {
                let f = r
                    .register_with(meta(), Family::<FloatCounter>::new(names))
                    .unwrap();
                for (j, v) in vs.iter().enumerate() {
                    f.get(&key(j)).add(*v);
                }
            }
            Values::Gauge(vs) => {
                let f = r
                    .register_with(meta(), Family::<Gauge>::new(names))
                    .unwrap();
                for (j, v) in vs.iter().enumerate() {
                    f.get(&key(j)).set(*v);
                }
            }
            Values::FloatGauge(vs) => {
                let f = r
                    .register_with(meta(), Family::<FloatGauge>::new(names))
                    .unwrap();
                for (j, v) in vs.iter().enumerate() {
                    f.get(&key(j)).set(*v);
                }
            }
        }
    }
    r
}

fn check(registry: &Registry, format: Format) -> Result<(), TestCaseError> {
    let om = format == Format::OpenMetrics;
    let text = render(registry, format);
    let read = read(&text, format);
    let snapshot = registry.snapshot();
    let expected: Vec<_> = snapshot
        .families
        .iter()
        .filter(|f| !f.series.is_empty())
        .collect();
    prop_assert_eq!(read.len(), expected.len());
    for (got, family) in read.iter().zip(expected) {
        let d = &family.descriptor;
        let counter = d.kind() == Kind::Counter;
        let total = format!("{}_total", d.name());
        let family_name = if counter && !om {
            total.as_str()
        } else {
            d.name()
        };
        prop_assert_eq!(&got.name, family_name);
        prop_assert_eq!(got.help.as_deref(), Some(d.help()));
        prop_assert_eq!(
            got.kind.as_deref(),
            Some(if counter { "counter" } else { "gauge" })
        );
        prop_assert_eq!(got.unit.as_deref(), if om { d.unit() } else { None });
        let per_series = if counter && om { 2 } else { 1 };
        prop_assert_eq!(got.samples.len(), family.series.len() * per_series);
        for (i, series) in family.series.iter().enumerate() {
            let (name, labels, value) = &got.samples[i * per_series];
            prop_assert_eq!(name, if counter { &total } else { d.name() });
            let want: Vec<(String, String)> = d
                .label_names()
                .iter()
                .cloned()
                .zip(series.label_values.iter().cloned())
                .collect();
            prop_assert_eq!(labels, &want);
            prop_assert!(
                same(value, &series.value),
                "{} printed for {:?}",
                value,
                series.value
            );
            if per_series == 2 {
                let (name, created_labels, _) = &got.samples[i * 2 + 1];
                prop_assert_eq!(name, &format!("{}_created", d.name()));
                prop_assert_eq!(created_labels, &want);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_registries_read_back_equal_in_both_formats(
        specs in prop::collection::vec(spec(), 0..6)
    ) {
        let registry = build(&specs);
        check(&registry, Format::Prometheus)?;
        check(&registry, Format::OpenMetrics)?;
    }
}
