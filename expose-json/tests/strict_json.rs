//! Every document parses with a strict JSON parser (serde_json: no NaN, no duplicate-free
//! guesswork) and reads back as what was put in, for random registries and variables
//! holding hostile keys and values.

use std::collections::BTreeMap;

use prism_core::{Counter, Family, FloatGauge, Gauge, Registry};
use prism_json::{go_lossy, Map, Var, Vars};
use proptest::prelude::*;
use serde_json::Value;

/// Strings that break naive writers: quotes, backslashes, control characters, the
/// JavaScript line separators, HTML, invalid UTF-8 made lossy, and long runs.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"\\\\<>&\u{0}-\u{1f}\u{7f}\u{2028}\u{2029}éa-z]{0,12}",
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(|b| go_lossy(&b).into_owned()),
        proptest::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        (0usize..3, ".{0,3}").prop_map(|(n, s)| s.repeat(10_000 / s.len().max(1) * n)),
        // First label values that read like JSON's overflow key.
        (0usize..3).prop_map(|n| "_".repeat(n) + prism_json::OVERFLOW_KEY),
    ]
}

#[derive(Debug, Clone)]
enum Entry {
    Int(i64),
    Float(f64),
    Str(String),
    Map(Vec<(String, i64)>),
    Json(Vec<(String, String)>),
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        any::<i64>().prop_map(Entry::Int),
        any::<f64>().prop_map(Entry::Float),
        hostile().prop_map(Entry::Str),
        proptest::collection::vec((hostile(), any::<i64>()), 0..6).prop_map(Entry::Map),
        proptest::collection::vec((hostile(), hostile()), 0..4).prop_map(Entry::Json),
    ]
}

/// Deserializes any JSON, failing unless every object's keys are strictly increasing in
/// byte order (serde_json's `Map` would sort and dedupe them, hiding both faults). The one
/// exception is the top-level `memstats`, which is Go's `runtime.MemStats` in Go's field
/// order (`tests/go_expvar.rs` checks that order against Go's own).
struct Sorted;

impl<'de> serde::Deserialize<'de> for Sorted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SortedVisitor { top: false })
    }
}

/// The whole document: [`Sorted`], with the top level's `memstats` exempt from ordering.
struct Document;

impl<'de> serde::Deserialize<'de> for Document {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SortedVisitor { top: true })
            .map(|Sorted| Document)
    }
}

struct SortedVisitor {
    top: bool,
}

impl<'de> serde::de::Visitor<'de> for SortedVisitor {
    type Value = Sorted;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Sorted, E> {
        Ok(Sorted)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Sorted, E> {
        Ok(Sorted)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Sorted, E> {
        Ok(Sorted)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Sorted, E> {
        Ok(Sorted)
    }
    fn visit_str<E>(self, _: &str) -> Result<Sorted, E> {
        Ok(Sorted)
    }
    fn visit_unit<E>(self) -> Result<Sorted, E> {
        Ok(Sorted)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Sorted, A::Error> {
        while seq.next_element::<Sorted>()?.is_some() {}
        Ok(Sorted)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Sorted, A::Error> {
        let mut last: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            if last
                .as_ref()
                .is_some_and(|l| l.as_bytes() >= key.as_bytes())
            {
                return Err(serde::de::Error::custom(format!(
                    "key {key:?} after {last:?}"
                )));
            }
            if self.top && key == "memstats" {
                map.next_value::<serde::de::IgnoredAny>()?;
            } else {
                map.next_value::<Sorted>()?;
            }
            last = Some(key);
        }
        Ok(Sorted)
    }
}

/// JSON equality where numbers compare by value: Go writes the float 0.0 as `0`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || ((x.is_f64() || y.is_f64())
                    && x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn float_json(v: f64) -> Value {
    // NaN and the infinities are null: the documented difference from Go.
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn documents_are_strict_json_and_read_back(
        entries in proptest::collection::vec((hostile(), entry()), 0..12),
        series in proptest::collection::vec((hostile(), hostile(), 0u64..1000), 0..20),
        gauge in any::<f64>(),
    ) {
        let registry = Registry::new();
        let requests = registry
            .register("requests", "Requests.", Family::<Counter>::builder(["a", "b"]).cardinality_limit(8).build().unwrap())
            .unwrap();
        let mut expected_series: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut overflow = 0u64;
        for (a, b, n) in &series {
            let key = (a.clone(), b.clone());
            // A value holding NUL is refused like one past the limit.
            let storable = !a.contains('\0') && !b.contains('\0');
            if storable && (expected_series.contains_key(&key) || expected_series.len() < 8) {
                *expected_series.entry(key).or_default() += n;
            } else {
                overflow += n;
            }
            requests.get(&[a, b]).add(*n);
        }
        registry.register("ratio", "A ratio.", FloatGauge::new()).unwrap().set(gauge);
        registry.register("depth", "A depth.", Gauge::new()).unwrap().set(-3);

        let vars = Vars::builder(&registry).build();
        let mut expected_vars: BTreeMap<String, Value> = BTreeMap::new();
        for (key, e) in entries {
            let (var, json): (Var, Value) = match e {
                Entry::Int(v) => {
                    let int = prism_json::Int::new();
                    int.set(v);
                    (int.into(), Value::from(v))
                }
                Entry::Float(v) => {
                    let f = prism_json::Float::new();
                    f.set(v);
                    (f.into(), float_json(v))
                }
                Entry::Str(s) => {
                    let sv = prism_json::StringVar::new();
                    sv.set(s.as_str());
                    (sv.into(), Value::String(s))
                }
                Entry::Map(kvs) => {
                    let m = Map::new();
                    let mut expect = serde_json::Map::new();
                    for (k, v) in kvs {
                        m.add(&k, v);
                        let sum = expect.get(&k).and_then(Value::as_i64).unwrap_or(0).wrapping_add(v);
                        expect.insert(k, Value::from(sum));
                    }
                    (m.into(), Value::Object(expect))
                }
                Entry::Json(kvs) => {
                    let obj: serde_json::Map<String, Value> =
                        kvs.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
                    let value = Value::Object(obj);
                    let returned = value.clone();
                    (prism_json::Func::new(move || returned.clone()).into(), value)
                }
            };
            // Keys that are taken (twice drawn, cmdline, a family's, a colliding metric
            // name) are refused; the document must hold exactly the accepted ones.
            if vars.publish(&key, var).is_ok() {
                expected_vars.insert(key, json);
            }
        }

        let doc = vars.render_to_string();
        let parsed: Value = serde_json::from_str(&doc)
            .map_err(|e| TestCaseError::fail(format!("{e}: {doc:?}")))?;
        let top = parsed.as_object().unwrap();

        // Every object, at every level, holds each key once and in byte order.
        serde_json::from_str::<Document>(&doc)
            .map_err(|e| TestCaseError::fail(format!("{e}: {doc:?}")))?;

        for (key, json) in &expected_vars {
            let got = top.get(key).unwrap_or(&Value::Null);
            prop_assert!(same(got, json), "variable {:?}: {} != {}", key, got, json);
        }
        prop_assert!(same(&top["ratio"], &float_json(gauge)));
        prop_assert_eq!(&top["depth"], &Value::from(-3));
        prop_assert!(top["cmdline"].is_array());
        prop_assert!(top["memstats"].is_object());
        // The overflow series is under the bare marker; first label values that read
        // like it carry one more `_`.
        let requests_json = top["requests"].as_object().unwrap();
        for ((a, b), n) in &expected_series {
            let first = if a.trim_start_matches('_') == prism_json::OVERFLOW_KEY {
                format!("_{a}")
            } else {
                a.clone()
            };
            prop_assert_eq!(&requests_json[&first][b], &Value::from(*n), "series {:?} {:?}", a, b);
        }
        let marker = requests_json.get(prism_json::OVERFLOW_KEY);
        if overflow > 0 {
            let expected = Value::from(overflow);
            prop_assert_eq!(marker, Some(&expected));
        } else {
            prop_assert_eq!(marker, None);
        }
        let first_values: std::collections::BTreeSet<&String> =
            expected_series.keys().map(|(a, _)| a).collect();
        prop_assert_eq!(requests_json.len(), first_values.len() + usize::from(overflow > 0));
        // The self-telemetry is in the document too.
        prop_assert!(top["prism_families"].is_number());
        prop_assert_eq!(
            &top["prism_refused_label_sets"]["requests"],
            &Value::from(requests.refused())
        );
    }
}

#[test]
fn nan_and_infinities_are_null_everywhere() {
    let registry = Registry::builder().self_telemetry(false).build();
    registry
        .register("nan", "NaN.", FloatGauge::new())
        .unwrap()
        .set(f64::NAN);
    registry
        .register("inf", "Inf.", FloatGauge::new())
        .unwrap()
        .set(f64::INFINITY);
    let vars = Vars::builder(&registry)
        .cmdline(false)
        .memstats(false)
        .build();
    vars.new_float("neg.inf").unwrap().set(f64::NEG_INFINITY);
    vars.new_map("m").unwrap().add_float("nan", f64::NAN);
    vars.publish_fn("f", || serde_json::json!([f64::NAN, 1.5]))
        .unwrap();
    vars.publish("g", prism_core::GaugeFn::new(|| f64::INFINITY))
        .unwrap();
    assert_eq!(
        vars.render_to_string(),
        "{\n\"f\": [null,1.5],\n\"g\": null,\n\"inf\": null,\n\"m\": {\"nan\": null},\n\"nan\": null,\n\"neg.inf\": null\n}\n"
    );
}
