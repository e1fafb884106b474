//! prism-json's `/debug/vars` document back into [`Samples`], through serde_json, strictly.
//!
//! JSON carries values and nothing else: no kind, help or unit, and label values without
//! label names. The label names come from a [`Schema`] (the registry's descriptors, or
//! another format's read), and the mapping prism-json documents is undone:
//!
//! | JSON | samples |
//! |---|---|
//! | `"x": 3` | family `x`, one series without labels |
//! | `"x": {"GET": {"200": 3}}` with labels `method`, `code` | `x{code="200",method="GET"} 3` |
//! | `"x": {}` | family `x` without series |
//! | `"otel_metric_overflow=true": 5` in a family's top map (leading `_` added by prism-json while a label value takes that key) | `x{otel_metric_overflow="true"} 5` |
//! | `null` | a non-finite value, NaN or an infinity ([`Number::NonFinite`]) |
//!
//! Strict: the document is one JSON object; `NaN`, `Infinity` and repeated keys are errors,
//! as is a value of the wrong depth or type.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::model::{Family, Labels, Number, Point, Samples, Series};
use crate::read::ReadError;

/// Label names per family, in the order prism-json nests their values.
///
/// ```
/// use prism_conformance::read::Schema;
/// let mut schema = Schema::default();
/// schema.insert("http_requests", ["method", "code"]);
/// assert_eq!(schema.labels("http_requests"), Some(&["method".to_owned(), "code".to_owned()][..]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    families: BTreeMap<String, Vec<String>>,
}

impl Schema {
    /// Adds a family and its label names, in nesting order.
    pub fn insert<S: Into<String>>(&mut self, family: &str, labels: impl IntoIterator<Item = S>) {
        self.families.insert(
            family.to_owned(),
            labels.into_iter().map(Into::into).collect(),
        );
    }

    /// The label names of a family.
    pub fn labels(&self, family: &str) -> Option<&[String]> {
        self.families.get(family).map(Vec::as_slice)
    }

    /// The schema of a registry: its descriptors, self-telemetry included.
    pub fn of_registry(registry: &prism_core::Registry) -> Self {
        let mut schema = Schema::default();
        for family in registry.snapshot().families {
            schema.insert(
                family.descriptor.name(),
                family.descriptor.label_names().iter().cloned(),
            );
        }
        schema
    }
}

/// What to do with a top-level key the schema does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// It is an error: the document holds a family the registry does not.
    Error,
    /// It is skipped: a live service's `/debug/vars` has `cmdline`, `memstats` and
    /// Go-style variables beside its families.
    Skip,
}

/// Reads a `/debug/vars` document.
///
/// ```
/// use prism_conformance::read::{read_json, Schema, Unknown};
/// use prism_conformance::{Labels, Number, Point};
///
/// let mut schema = Schema::default();
/// schema.insert("requests", ["method"]);
/// schema.insert("ratio", Vec::<String>::new());
/// let doc = br#"{"ratio": null, "requests": {"GET": 3, "otel_metric_overflow=true": 9}}"#;
/// let samples = read_json(doc, &schema, Unknown::Error)?;
/// let requests = &samples.family("requests").unwrap().series;
/// assert_eq!(requests[&Labels::new([("method", "GET")])].point, Point::Number(Number::Int(3)));
/// assert_eq!(requests[&Labels::overflow()].point, Point::Number(Number::Int(9)));
/// assert!(read_json(br#"{"a": NaN}"#, &schema, Unknown::Skip).is_err());
/// assert!(read_json(br#"{"ratio": 1, "ratio": 2}"#, &schema, Unknown::Error).is_err());
/// # Ok::<(), prism_conformance::read::ReadError>(())
/// ```
pub fn read_json(bytes: &[u8], schema: &Schema, unknown: Unknown) -> Result<Samples, ReadError> {
    let err = |m: String| ReadError::new("json", m);
    let doc: Json = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
    let Json::Object(entries) = doc else {
        return Err(err("the document is not an object".into()));
    };
    let mut out = Samples::default();
    for (key, value) in entries {
        let Some(label_names) = schema.labels(&key) else {
            match unknown {
                Unknown::Error => {
                    return Err(err(format!("key {key:?} is no family of the registry")))
                }
                Unknown::Skip => continue,
            }
        };
        let series =
            family_series(&value, label_names).map_err(|m| err(format!("{key:?}: {m}")))?;
        out.families.insert(
            key.clone(),
            Family {
                name: key,
                kind: None,
                help: None,
                unit: None,
                series,
            },
        );
    }
    Ok(out)
}

fn leaf(value: &Json) -> Result<Number, String> {
    match value {
        Json::Number(n) => Ok(*n),
        Json::Null => Ok(Number::NonFinite),
        other => Err(format!("expected a number or null, found {other}")),
    }
}

fn series(n: Number) -> Series {
    Series {
        point: Point::Number(n),
        created_unix_nanos: None,
    }
}

/// The overflow key: `otel_metric_overflow=true` behind any number of `_`.
fn is_overflow_key(key: &str) -> bool {
    key.trim_start_matches('_') == format!("{}=true", prism_core::OVERFLOW_LABEL)
}

fn family_series(value: &Json, names: &[String]) -> Result<BTreeMap<Labels, Series>, String> {
    let mut out = BTreeMap::new();
    if names.is_empty() {
        if let Json::Object(entries) = value {
            // A family without labels in object form: its series under "", and the
            // overflow series (refused lookups with the wrong number of values).
            for (key, v) in entries {
                let labels = if key.is_empty() {
                    Labels::default()
                } else if is_overflow_key(key) {
                    Labels::overflow()
                } else {
                    return Err(format!("unexpected key {key:?} in a family without labels"));
                };
                out.insert(labels, series(leaf(v)?));
            }
        } else {
            out.insert(Labels::default(), series(leaf(value)?));
        }
        return Ok(out);
    }
    let Json::Object(entries) = value else {
        return Err(format!(
            "expected an object nested {} deep, found {value}",
            names.len()
        ));
    };
    // prism-json adds `_` to the overflow key until no first label value equals it, so the
    // longest such key that exists is the overflow series.
    let overflow_key = entries
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| is_overflow_key(k))
        .max_by_key(|k| k.len());
    let mut path = Vec::with_capacity(names.len());
    for (key, v) in entries {
        if Some(key.as_str()) == overflow_key {
            out.insert(Labels::overflow(), series(leaf(v)?));
            continue;
        }
        path.push(key.as_str());
        walk(v, names, &mut path, &mut out)?;
        path.pop();
    }
    Ok(out)
}

fn walk<'a>(
    value: &'a Json,
    names: &[String],
    path: &mut Vec<&'a str>,
    out: &mut BTreeMap<Labels, Series>,
) -> Result<(), String> {
    if path.len() == names.len() {
        let labels = Labels::new(names.iter().map(String::as_str).zip(path.iter().copied()));
        out.insert(labels, series(leaf(value)?));
        return Ok(());
    }
    let Json::Object(entries) = value else {
        return Err(format!(
            "at {path:?}: expected an object for label {:?}, found {value}",
            names[path.len()]
        ));
    };
    for (key, v) in entries {
        path.push(key.as_str());
        walk(v, names, path, out)?;
        path.pop();
    }
    Ok(())
}

/// A JSON value that keeps integers exact and refuses repeated keys.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(n) => write!(f, "{n}"),
            Json::String(s) => write!(f, "the string {s:?}"),
            Json::Array(_) => f.write_str("an array"),
            Json::Object(_) => f.write_str("an object"),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Number(Number::Int(v.into())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Number(Number::Int(v.into())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
                Ok(Json::Number(Number::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Json, E> {
                Ok(Json::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Json, E> {
                Ok(Json::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries: Vec<(String, Json)> = Vec::new();
                let mut keys = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !keys.insert(key.clone()) {
                        return Err(de::Error::custom(format!("key {key:?} appears twice")));
                    }
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(Json::Object(entries))
            }
        }
        deserializer.deserialize_any(V)
    }
}
