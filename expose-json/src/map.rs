//! Go's `expvar.Map`: [`Map`], a sorted string-keyed map of variables whose numeric entries
//! are also a labelled family in the core registry.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use prism_core::{Family, FloatGauge, Gauge, Kind, Metric, Overflow, Value};

use crate::format::{self, GoFormatter, Style};
use crate::var::{Float, Int, Var, MAX_DEPTH};

/// The label that carries a map's keys in Prometheus and OTLP.
pub const MAP_KEY_LABEL: &str = "key";

/// A map of variables with sorted keys, Go's `expvar.Map`.
///
/// In JSON it is an object, `{"a": 1, "b": 2}`, keys in byte order, as Go writes it. Its
/// [`Int`] and [`Float`] entries also form a gauge family labelled [`key`](MAP_KEY_LABEL)
/// in the registry it is published in, so `m.add("GET", 1)` shows up in Prometheus as
/// `m{key="GET"} 1`. Entries of other kinds (strings, nested maps, closures) are JSON only.
///
/// The family has a cardinality limit (default 2000, as every prism family); keys past it,
/// and keys holding NUL (which a label value cannot), stay in the JSON, as in Go, but are left
/// out of the other formats and counted in `prism_refused_label_sets{family="<name>"}`.
///
/// ```
/// use prism_json::{Map, StringVar, Var};
/// let m = Map::new();
/// m.add("b", 2);
/// m.add("a", 1);
/// m.add("a", 10);
/// m.add_float("pi", 3.25);
/// let s = StringVar::new();
/// s.set("x");
/// m.set("s", Var::String(s));
/// assert_eq!(m.to_string(), r#"{"a": 11, "b": 2, "pi": 3.25, "s": "x"}"#);
/// m.delete("b");
/// assert_eq!(m.keys(), ["a", "pi", "s"]);
/// m.init();
/// assert!(m.is_empty());
/// ```
#[derive(Clone)]
pub struct Map {
    inner: Arc<Inner>,
}

struct Inner {
    entries: RwLock<BTreeMap<Arc<str>, Var>>,
    family: Family<Cell>,
    /// What a series created by the family's `make` starts as; written under the entries'
    /// write lock just before the lookup that may create it.
    pending: Arc<Mutex<Num>>,
}

/// The numeric variable a family series reads.
#[derive(Clone, Default)]
enum Num {
    #[default]
    Empty,
    Int(Gauge),
    Float(FloatGauge),
}

/// One series of the map's family: a swappable pointer to the entry's variable, so that
/// `set` can put an existing [`Int`] in the map and share its value.
#[derive(Clone, Default)]
struct Cell(Arc<RwLock<Num>>);

impl Metric for Cell {
    const KIND: Kind = Kind::Gauge;

    fn read(&self) -> Value {
        match &*self.0.read().unwrap_or_else(PoisonError::into_inner) {
            Num::Int(g) => Value::Gauge(g.get()),
            Num::Float(g) => Value::GaugeF64(g.get()),
            // Only the never-read sink of a full family holds nothing.
            Num::Empty => Value::Gauge(0),
        }
    }
}

impl Default for Map {
    fn default() -> Self {
        Self::new()
    }
}

impl Map {
    /// An empty, unpublished map (Go's `new(expvar.Map).Init()`) whose family has the
    /// default cardinality limit.
    pub fn new() -> Self {
        match Self::build(prism_core::DEFAULT_CARDINALITY_LIMIT) {
            Ok(map) => map,
            // `build` refuses only a limit of 0 or above `MAX_CARDINALITY_LIMIT`.
            Err(_) => unreachable!("the default cardinality limit is valid"),
        }
    }

    /// An empty map whose family holds at most `limit` keys in the other formats.
    /// A limit of 0, or above [`MAX_CARDINALITY_LIMIT`](prism_core::MAX_CARDINALITY_LIMIT),
    /// is refused.
    pub fn with_cardinality_limit(limit: usize) -> Result<Self, prism_core::Error> {
        Self::build(limit)
    }

    fn build(limit: usize) -> Result<Self, prism_core::Error> {
        let pending = Arc::new(Mutex::new(Num::Empty));
        let make_from = pending.clone();
        let family = Family::builder([MAP_KEY_LABEL])
            .cardinality_limit(limit)
            .overflow(Overflow::Drop)
            .build_with(move || {
                let num = make_from
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                Cell(Arc::new(RwLock::new(num)))
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                entries: RwLock::default(),
                family,
                pending,
            }),
        })
    }

    /// Adds `delta` to the [`Int`] under `key`, creating it at 0 first. Does nothing if the
    /// entry is of another kind (as Go).
    pub fn add(&self, key: &str, delta: i64) {
        if let Some(found) = self.read().get(key) {
            if let Var::Int(v) = found {
                v.add(delta);
            }
            return;
        }
        let mut entries = self.write();
        let entry = entries.entry(Arc::from(key)).or_insert_with(|| {
            let v = Int::new();
            self.link(key, Num::Int(v.gauge().clone()));
            Var::Int(v)
        });
        if let Var::Int(v) = entry {
            v.add(delta);
        }
    }

    /// Adds `delta` to the [`Float`] under `key`, creating it at 0.0 first. Does nothing if
    /// the entry is of another kind (as Go).
    pub fn add_float(&self, key: &str, delta: f64) {
        if let Some(found) = self.read().get(key) {
            if let Var::Float(v) = found {
                v.add(delta);
            }
            return;
        }
        let mut entries = self.write();
        let entry = entries.entry(Arc::from(key)).or_insert_with(|| {
            let v = Float::new();
            self.link(key, Num::Float(v.gauge().clone()));
            Var::Float(v)
        });
        if let Var::Float(v) = entry {
            v.add(delta);
        }
    }

    /// Puts `var` under `key`, replacing what was there. An [`Int`] or [`Float`] put here
    /// shares its value with every other place it is held.
    pub fn set(&self, key: &str, var: impl Into<Var>) {
        let var = var.into();
        let mut entries = self.write();
        match &var {
            Var::Int(v) => self.link(key, Num::Int(v.gauge().clone())),
            Var::Float(v) => self.link(key, Num::Float(v.gauge().clone())),
            _ => {
                self.inner.family.remove(&[key]);
            }
        }
        entries.insert(Arc::from(key), var);
    }

    /// Removes `key`; says whether it was there.
    pub fn delete(&self, key: &str) -> bool {
        let mut entries = self.write();
        self.inner.family.remove(&[key]);
        entries.remove(key).is_some()
    }

    /// Removes every key (Go's `Init`), and returns the map for chaining.
    pub fn init(&self) -> &Self {
        let mut entries = self.write();
        self.inner.family.clear();
        entries.clear();
        self
    }

    /// The variable under `key`.
    pub fn get(&self, key: &str) -> Option<Var> {
        self.read().get(key).cloned()
    }

    /// Calls `f` on each entry in key order (Go's `Do`). `f` runs on a copy of the entry
    /// list, so it may update or even change this map.
    pub fn for_each(&self, mut f: impl FnMut(&str, &Var)) {
        for (key, var) in self.entries() {
            f(&key, &var);
        }
    }

    /// The entries, in key order.
    pub fn entries(&self) -> Vec<(Arc<str>, Var)> {
        self.read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The keys, in order.
    pub fn keys(&self) -> Vec<String> {
        self.read().keys().map(|k| k.to_string()).collect()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The family that carries the numeric entries to the registry.
    pub(crate) fn family(&self) -> &Family<impl Metric> {
        &self.inner.family
    }

    /// Points the family series of `key` at `num`. Called with the entries' write lock held,
    /// so `pending` and the series agree.
    fn link(&self, key: &str, num: Num) {
        let inner = &*self.inner;
        *inner.pending.lock().unwrap_or_else(PoisonError::into_inner) = num.clone();
        let cell = inner.family.get(&[key]);
        *cell.0.write().unwrap_or_else(PoisonError::into_inner) = num;
        *inner.pending.lock().unwrap_or_else(PoisonError::into_inner) = Num::Empty;
    }

    /// Writes `{"a": 1, "b": 2}`. Entries are copied out first, so no lock is held while a
    /// nested map or a closure is written.
    pub(crate) fn write_json<W: ?Sized + Write>(&self, w: &mut W, depth: usize) -> io::Result<()> {
        use serde_json::ser::Formatter;
        if depth > MAX_DEPTH {
            return w.write_all(b"null");
        }
        let mut f = GoFormatter::new(Style::Expvar);
        f.begin_object(w)?;
        for (i, (key, var)) in self.entries().iter().enumerate() {
            f.begin_object_key(w, i == 0)?;
            format::write_str(w, key, Style::Expvar)?;
            f.begin_object_value(w)?;
            var.write_json(w, depth + 1)?;
        }
        f.end_object(w)
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<Arc<str>, Var>> {
        // Each change is one BTreeMap call; a panic cannot leave it half-changed.
        self.inner
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<Arc<str>, Var>> {
        self.inner
            .entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prism_core::Registry;

    fn series(registry: &Registry, name: &str) -> Vec<(Vec<String>, Value)> {
        let snapshot = registry.snapshot();
        let family = snapshot.family(name).expect("registered");
        family
            .series
            .iter()
            .map(|s| (s.label_values.clone(), s.value.clone()))
            .collect()
    }

    #[test]
    fn numeric_entries_reach_the_registry_and_share_values() {
        let registry = Registry::builder().self_telemetry(false).build();
        let m = Map::new();
        registry
            .register("m", "A map.", m.family().clone())
            .unwrap();
        m.add("a", 2);
        m.add_float("f", 0.5);
        let shared = Int::new();
        shared.set(7);
        m.set("s", shared.clone());
        m.set("text", crate::StringVar::new());
        shared.add(1);
        assert_eq!(
            series(&registry, "m"),
            vec![
                (vec!["a".to_owned()], Value::Gauge(2)),
                (vec!["f".to_owned()], Value::GaugeF64(0.5)),
                (vec!["s".to_owned()], Value::Gauge(8)),
            ]
        );
        // Replacing a numeric entry by a string takes it out of the family.
        m.set("a", crate::StringVar::new());
        m.add("a", 5); // ignored: "a" is a string now
        assert_eq!(series(&registry, "m").len(), 2);
        // Replacing an int by another int points the series at the new one.
        let other = Int::new();
        other.set(100);
        m.set("s", other);
        assert!(series(&registry, "m").contains(&(vec!["s".to_owned()], Value::Gauge(100))));
        assert!(m.delete("f"));
        assert!(!m.delete("f"));
        assert_eq!(
            series(&registry, "m"),
            vec![(vec!["s".to_owned()], Value::Gauge(100))]
        );
        m.init();
        assert!(series(&registry, "m").is_empty());
        assert_eq!(m.to_string(), "{}");
    }

    #[test]
    fn kinds_do_not_mix_under_one_key() {
        let m = Map::new();
        m.add("n", 1);
        m.add_float("n", 1.5);
        m.add_float("x", 1.5);
        m.add("x", 1);
        assert_eq!(m.to_string(), r#"{"n": 1, "x": 1.5}"#);
    }

    #[test]
    fn keys_past_the_limit_stay_in_json_and_are_counted() {
        let registry = Registry::new();
        let m = Map::with_cardinality_limit(2).unwrap();
        registry
            .register("m", "A map.", m.family().clone())
            .unwrap();
        for k in ["a", "b", "c", "d"] {
            m.add(k, 1);
        }
        assert_eq!(m.len(), 4);
        assert_eq!(series(&registry, "m").len(), 2);
        let snapshot = registry.snapshot();
        let refused = snapshot.family("prism_refused_label_sets").unwrap();
        assert_eq!(refused.series(&["m"]).unwrap().value, Value::Counter(2));
        assert!(Map::with_cardinality_limit(0).is_err());
    }

    #[test]
    fn a_map_holding_itself_is_cut_off() {
        let m = Map::new();
        m.add("n", 1);
        m.set("self", m.clone());
        let out = m.to_string();
        assert!(out.starts_with(r#"{"n": 1, "self": {"n": 1, "self": "#));
        assert!(out.contains("null"));
        serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
        // Break the cycle so the test does not leak.
        m.init();
    }
}
