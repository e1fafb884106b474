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
//! | `"otel_metric_overflow=true": 5` in a family's top map (for a scoped family, in the map of its first own label, inside the constant labels' maps) | `x{otel_metric_overflow="true"} 5` (with the constant labels, if any) |
//! | a key `_` + `_*otel_metric_overflow=true` in that map | that label value, one `_` removed (prism-json adds one to any such value of the family's first own label) |
//! | a histogram or summary series: `{"count", "sum", "min", "max", "p50", "p90", "p99", "p999"}` (see [`Schema::set_kind`]) | count and sum (a histogram has no buckets in JSON), a summary's quantiles; min and max are checked to be numbers or null |
//! | `null` | a non-finite value, NaN or an infinity ([`Number::NonFinite`]) |
//!
//! Strict: the document is one JSON object; `NaN`, `Infinity` and repeated keys are errors,
//! as is a value of the wrong depth or type.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::model::{Family, Kind, Labels, Number, Point, Samples, Series};
use crate::read::{OtelNames, ReadError};

/// Label names per family, in the order prism-json nests their values, and the mapping of
/// OTLP's names to core names ([`OtelNames`]): what a reader needs from the registry.
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
    /// Families whose series are objects: histograms and summaries.
    distributions: BTreeMap<String, Kind>,
    /// How many of a family's first label names are a scope's constant labels.
    consts: BTreeMap<String, usize>,
    /// How OTLP's names map to the core names; the translation unless set.
    otel: OtelNames,
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

    /// Marks a family as a histogram or summary, whose series prism-json writes as
    /// `{"count", "sum", "min", "max", "p50", "p90", "p99", "p999"}` objects.
    pub fn set_kind(&mut self, family: &str, kind: Kind) {
        if matches!(kind, Kind::Histogram | Kind::Summary) {
            self.distributions.insert(family.to_owned(), kind);
        } else {
            self.distributions.remove(family);
        }
    }

    /// Says that the first `count` label names of a family are the constant labels of the
    /// scope it was registered through: prism-json writes its overflow series inside their
    /// maps, beside the family's first own label.
    pub fn set_const_labels(&mut self, family: &str, count: usize) {
        if count == 0 {
            self.consts.remove(family);
        } else {
            self.consts.insert(family.to_owned(), count);
        }
    }

    /// How many of a family's first label names are constant labels (0 unless
    /// [`set_const_labels`](Self::set_const_labels) said otherwise).
    pub fn const_labels(&self, family: &str) -> usize {
        self.consts.get(family).copied().unwrap_or(0)
    }

    /// The kind of a family marked by [`set_kind`](Self::set_kind) as a distribution.
    pub fn distribution(&self, family: &str) -> Option<Kind> {
        self.distributions.get(family).copied()
    }

    /// How an OTLP read's names map to core names ([`OtelNames`]): the registry's own for a
    /// schema [`of_snapshot`](Self::of_snapshot), the OpenTelemetry-to-Prometheus
    /// translation otherwise.
    pub fn otel_names(&self) -> &OtelNames {
        &self.otel
    }

    /// Sets the mapping of OTLP's names ([`otel_names`](Self::otel_names)).
    pub fn set_otel_names(&mut self, names: OtelNames) {
        self.otel = names;
    }

    /// The schema of a registry: its descriptors, self-telemetry included.
    pub fn of_registry(registry: &prism_core::Registry) -> Self {
        Self::of_snapshot(&registry.snapshot())
    }

    /// The schema of one read of a registry.
    pub fn of_snapshot(snapshot: &prism_core::Snapshot) -> Self {
        let mut schema = Schema::default();
        for family in &snapshot.families {
            let d = &family.descriptor;
            schema.insert(d.name(), d.label_names().iter().cloned());
            schema.set_const_labels(d.name(), d.const_labels().len());
            match d.kind() {
                prism_core::Kind::Histogram => schema.set_kind(d.name(), Kind::Histogram),
                prism_core::Kind::Summary => schema.set_kind(d.name(), Kind::Summary),
                _ => {}
            }
        }
        schema.otel = OtelNames::of_snapshot(snapshot);
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
        let leaf = Leaf(schema.distribution(&key));
        let consts = schema.const_labels(&key).min(label_names.len());
        let series = family_series(&value, label_names, consts, leaf)
            .map_err(|m| err(format!("{key:?}: {m}")))?;
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

fn number(value: &Json) -> Result<Number, String> {
    match value {
        Json::Number(n) => Ok(*n),
        Json::Null => Ok(Number::NonFinite),
        other => Err(format!("expected a number or null, found {other}")),
    }
}

/// How a family's series are written: a number, or a distribution object.
#[derive(Clone, Copy)]
struct Leaf(Option<Kind>);

/// prism-json's quantile keys and the quantiles they stand for.
const QUANTILE_KEYS: [(&str, f64); 4] =
    [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)];

impl Leaf {
    /// Whether `value` is one series (not a level of nesting).
    fn is_series(self, value: &Json) -> bool {
        match (self.0, value) {
            (None, Json::Object(_)) => false,
            (None, _) => true,
            (Some(_), Json::Object(entries)) => entries.iter().any(|(k, _)| k == "count"),
            (Some(_), _) => false,
        }
    }

    fn read(self, value: &Json) -> Result<Series, String> {
        let Some(kind) = self.0 else {
            return Ok(series(number(value)?));
        };
        let Json::Object(entries) = value else {
            return Err(format!("expected a {kind} object, found {value}"));
        };
        let mut count = None;
        let mut sum = None;
        let mut quantiles = Vec::new();
        for (k, v) in entries {
            match k.as_str() {
                "count" => match v {
                    Json::Number(Number::Int(c)) => {
                        count = Some(u64::try_from(*c).map_err(|_| format!("count {c}"))?)
                    }
                    other => return Err(format!("count is {other}, not an integer")),
                },
                "sum" => sum = Some(number(v)?),
                "min" | "max" => {
                    number(v)?;
                }
                q => {
                    let &(_, quantile) = QUANTILE_KEYS
                        .iter()
                        .find(|(name, _)| *name == q)
                        .ok_or_else(|| format!("unexpected key {q:?} in a {kind}"))?;
                    if *v != Json::Null {
                        quantiles.push((quantile, number(v)?));
                    }
                }
            }
        }
        let count = count.ok_or_else(|| format!("a {kind} without count"))?;
        let sum = sum.ok_or_else(|| format!("a {kind} without sum"))?;
        let point = match kind {
            // JSON has no buckets: the comparison leaves them out for this format.
            Kind::Histogram => Point::Histogram {
                count,
                sum,
                buckets: Vec::new(),
            },
            _ => Point::Summary {
                count,
                sum,
                quantiles,
            },
        };
        Ok(Series {
            point,
            created_unix_nanos: None,
        })
    }
}

fn series(n: Number) -> Series {
    Series {
        point: Point::Number(n),
        created_unix_nanos: None,
    }
}

/// `_*otel_metric_overflow=true`: the overflow key itself, or (with at least one `_`) a
/// first label value prism-json wrote with one `_` more.
fn overflow_shaped(key: &str) -> bool {
    key.trim_start_matches('_') == format!("{}=true", prism_core::OVERFLOW_LABEL)
}

fn family_series(
    value: &Json,
    names: &[String],
    consts: usize,
    leaf: Leaf,
) -> Result<BTreeMap<Labels, Series>, String> {
    let mut out = BTreeMap::new();
    walk(
        value,
        names,
        consts,
        leaf,
        &mut Vec::with_capacity(names.len()),
        &mut out,
    )?;
    Ok(out)
}

/// Reads the map at depth `path.len()`. The overflow series is in the map of the family's
/// first own label (depth `consts`), keyed by the bare marker; there, values shaped like
/// the marker carry one more `_`.
fn walk<'a>(
    value: &'a Json,
    names: &[String],
    consts: usize,
    leaf: Leaf,
    path: &mut Vec<&'a str>,
    out: &mut BTreeMap<Labels, Series>,
) -> Result<(), String> {
    let labels_of =
        |path: &[&str]| Labels::new(names.iter().map(String::as_str).zip(path.iter().copied()));
    let overflow_of = |path: &[&str]| {
        Labels::new(
            names
                .iter()
                .map(String::as_str)
                .zip(path.iter().copied())
                .chain([(prism_core::OVERFLOW_LABEL, "true")]),
        )
    };
    if path.len() == names.len() {
        if leaf.is_series(value) {
            out.insert(labels_of(path), leaf.read(value)?);
            return Ok(());
        }
        let Json::Object(entries) = value else {
            return Err(format!("at {path:?}: expected a value, found {value}"));
        };
        // A family without labels of its own in object form: its series under "", and the
        // overflow series (refused lookups with the wrong number of values).
        for (key, v) in entries {
            if key.is_empty() {
                out.insert(labels_of(path), leaf.read(v)?);
            } else if overflow_shaped(key) && !key.starts_with('_') && path.len() == consts {
                out.insert(overflow_of(path), leaf.read(v)?);
            } else {
                return Err(format!(
                    "at {path:?}: unexpected key {key:?} in a family without labels of its own"
                ));
            }
        }
        return Ok(());
    }
    let Json::Object(entries) = value else {
        return Err(format!(
            "at {path:?}: expected an object for label {:?}, found {value}",
            names[path.len()]
        ));
    };
    for (key, v) in entries {
        if path.len() == consts && overflow_shaped(key) {
            if !key.starts_with('_') {
                out.insert(overflow_of(path), leaf.read(v)?);
                continue;
            }
            // A value shaped like the overflow key: written with one more `_`.
            path.push(&key[1..]);
        } else {
            path.push(key.as_str());
        }
        walk(v, names, consts, leaf, path, out)?;
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
