//! [`PrismRecorder`]: the `metrics::Recorder` that registers prism families.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use crossbeam_utils::CachePadded;
use hashbrown::HashTable;
use metrics::{Key, KeyName, Label, Metadata, SharedString, Unit};
use prism_core::{
    Error, Family, Histogram, HistogramConfig, Metadata as PrismMetadata, Metric, Registry,
    DEFAULT_BOUNDS_SECONDS, DEFAULT_CARDINALITY_LIMIT,
};
use thread_local::ThreadLocal;

use crate::names;
use crate::refused::{Refusal, Refusals};
use crate::series::{
    CounterCell, CounterSeries, GaugeCell, GaugeSeries, HistogramCell, HistogramSeries,
};
use crate::table::{same, Table};

/// Default of [`PrismRecorderBuilder::max_names`].
pub const DEFAULT_MAX_NAMES: usize = 10_000;

/// Label values of up to this many labels are gathered on the stack.
const STACK_LABELS: usize = 8;

/// A `metrics::Recorder` that puts every metric into a prism [`Registry`].
///
/// Each metric name becomes one family, registered on its first use: `counter!` a family
/// of counters (`u64`), `gauge!` of float gauges, `histogram!` of histograms, labelled by
/// the key's label names (sorted), with the recorder's cardinality limit (default 2000) and
/// an overflow series past it. Cloning shares the recorder.
///
/// See the crate docs for the naming rule, units, descriptions and what is refused.
#[derive(Clone)]
pub struct PrismRecorder {
    shared: Arc<Shared>,
}

struct Shared {
    registry: Registry,
    /// Original metric name -> what it became. Read on every call without a lock; replaced
    /// whole (copy on write) under `write` when a name is first used.
    names: ArcSwap<Names>,
    /// Bumped after each replacement of `names`.
    version: AtomicU64,
    /// Each thread's copy of `names` and the version it was loaded at: a call reads its
    /// own copy (no shared cache line is written) while the version has not moved. A copy
    /// keeps its table alive until the thread's next call: at most one old table per
    /// thread that used the recorder. Padded: every call writes its entry's borrow flag.
    local: ThreadLocal<CachePadded<RefCell<Local>>>,
    write: Mutex<Pending>,
    refusals: Refusals,
    limit: usize,
    max_names: usize,
}

type Names = Table<Slot>;

struct Local {
    version: u64,
    names: Arc<Names>,
    /// Keys this thread used more than once, by `metrics`' own key hash (computed when the
    /// key was built, at compile time for a macro's static key), with the series each
    /// became: a repeated call costs one probe and a key comparison instead of the name
    /// and label lookups. Series are never removed from the recorder's families, so an
    /// entry stays right for the recorder's life.
    cache: HashTable<Cached>,
    /// The hashes of recent misses, one per slot: a key is cached on its second miss, so
    /// that a stream of keys used once each (unbounded label values) costs no key copies.
    seen: Box<[u64; SEEN_SLOTS]>,
}

/// Most keys a thread's cache holds; it is emptied when full.
const MAX_CACHED: usize = 1024;
/// Slots of a thread's recent-miss filter.
const SEEN_SLOTS: usize = 256;

struct Cached {
    key: Key,
    handle: Handle,
}

/// The shared state of a series, as `metrics` handles are made from it.
#[derive(Clone)]
enum Handle {
    Counter(Arc<CounterCell>),
    Gauge(Arc<GaugeCell>),
    Histogram(Arc<HistogramCell>),
}

impl Local {
    fn new(version: u64, names: Arc<Names>) -> Self {
        Self {
            version,
            names,
            cache: HashTable::new(),
            seen: Box::new([0; SEEN_SLOTS]),
        }
    }

    #[inline]
    fn cached(&self, key: &Key) -> Option<&Handle> {
        if self.cache.is_empty() {
            return None;
        }
        self.cache
            .find(key.get_hash(), |c| same_key(&c.key, key))
            .map(|c| &c.handle)
    }

    /// Caches `handle` for `key` if the key missed recently too.
    fn remember(&mut self, key: &Key, handle: Handle) {
        let hash = key.get_hash();
        let seen = &mut self.seen[(hash % SEEN_SLOTS as u64) as usize];
        if *seen != hash {
            *seen = hash;
            return;
        }
        if self.cache.len() >= MAX_CACHED {
            self.cache.clear();
        }
        self.cache.insert_unique(
            hash,
            Cached {
                key: key.clone(),
                handle,
            },
            |c| c.key.get_hash(),
        );
    }
}

/// `cached == key` as `metrics` defines it (the same name and the same labels in any
/// order), for `cached`, a key the cache holds.
///
/// The common cases first. A macro's static key is the same `'static` name and label
/// slice on every call, and the cached copy of a borrowed key points at them too: the same
/// address and length is the same content, since what `cached` points to lives as long as
/// the cache entry (`'static` data, or data the copy owns or shares) and is never written.
/// Otherwise labels in the same order are compared without sorting them first.
#[inline]
fn same_key(cached: &Key, key: &Key) -> bool {
    if cached.get_hash() != key.get_hash() {
        return false;
    }
    let (a, b) = (cached.labels().as_slice(), key.labels().as_slice());
    let same_name = std::ptr::eq(cached.name(), key.name()) || same(cached.name(), key.name());
    if !same_name || a.len() != b.len() {
        return false;
    }
    if std::ptr::eq(a, b) {
        return true;
    }
    let in_order = a
        .iter()
        .zip(b)
        .all(|(x, y)| same(x.key(), y.key()) && same(x.value(), y.value()));
    in_order || cached == key
}

/// What a metric name became.
#[derive(Clone)]
enum Slot {
    Counter(Arc<Labelled<CounterSeries>>),
    Gauge(Arc<Labelled<GaugeSeries>>),
    Histogram(Arc<Labelled<HistogramSeries>>),
    /// Refused by name: every use is counted again, under this reason.
    Refused(Refusal),
}

/// A registered family and the original label names of its key, in the family's order.
struct Labelled<M: Metric> {
    family: Family<M>,
    labels: Box<[Box<str>]>,
}

/// Descriptions not yet applied, by original metric name, and what registration needs
/// under one lock.
#[derive(Default)]
struct Pending {
    descriptions: HashMap<String, Description>,
}

struct Description {
    unit: Option<Unit>,
    help: SharedString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FacadeKind {
    Counter,
    Gauge,
    Histogram,
}

/// Options for a [`PrismRecorder`]: made by [`PrismRecorder::builder`].
#[derive(Debug, Clone)]
pub struct PrismRecorderBuilder {
    registry: Registry,
    limit: usize,
    max_names: usize,
}

impl PrismRecorderBuilder {
    /// The cardinality limit of every family the recorder registers (default 2000, at most
    /// [`MAX_CARDINALITY_LIMIT`](prism_core::MAX_CARDINALITY_LIMIT)).
    pub fn cardinality_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The most metric names the recorder keeps (default [`DEFAULT_MAX_NAMES`]), refused
    /// ones included. Past it, calls with a new name are refused
    /// ([`Refusal::TooManyNames`]): names built from unbounded data (`format!("user.{id}")`)
    /// cannot take the process's memory. Each new name copies the name table, so the cost
    /// of reaching the limit grows with its square: about a reference count per name
    /// already there.
    pub fn max_names(mut self, max: usize) -> Self {
        self.max_names = max;
        self
    }

    /// Builds the recorder and registers `prism_metrics_refused` in the registry (or
    /// shares the one registered there by another recorder).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCardinalityLimit`] for a limit of 0 or above the maximum; an error
    /// from the registry when `prism_metrics_refused` is taken by something else.
    pub fn build(self) -> Result<PrismRecorder, Error> {
        // The same check every family's builder makes, once here rather than on first use.
        Family::<prism_core::Counter>::builder(["x"])
            .cardinality_limit(self.limit)
            .build()?;
        let refusals = Refusals::register(&self.registry)?;
        Ok(PrismRecorder {
            shared: Arc::new(Shared {
                registry: self.registry,
                names: ArcSwap::from_pointee(Names::default()),
                version: AtomicU64::new(0),
                local: ThreadLocal::new(),
                write: Mutex::new(Pending::default()),
                refusals,
                limit: self.limit,
                max_names: self.max_names,
            }),
        })
    }
}

impl PrismRecorder {
    /// A recorder into `registry` with the default options.
    ///
    /// # Errors
    ///
    /// When `prism_metrics_refused` is registered in `registry` as something else.
    pub fn new(registry: &Registry) -> Result<Self, Error> {
        Self::builder(registry).build()
    }

    /// Starts a recorder into `registry` with options.
    pub fn builder(registry: &Registry) -> PrismRecorderBuilder {
        PrismRecorderBuilder {
            registry: registry.clone(),
            limit: DEFAULT_CARDINALITY_LIMIT,
            max_names: DEFAULT_MAX_NAMES,
        }
    }

    /// The registry the metrics land in.
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    /// How many times `reason` was counted (the value of
    /// `prism_metrics_refused{reason="..."}`).
    pub fn refused(&self, reason: Refusal) -> u64 {
        self.shared.refusals.counter(reason).get()
    }

    /// Installs the recorder as the process's global `metrics` recorder.
    ///
    /// # Errors
    ///
    /// When a global recorder is already installed (the `metrics` crate allows one per
    /// process). The error gives the recorder back. In tests, use
    /// `metrics::with_local_recorder(&recorder, || ...)` instead.
    pub fn install(self) -> Result<(), metrics::SetRecorderError<PrismRecorder>> {
        metrics::set_global_recorder(self)
    }
}

impl fmt::Debug for PrismRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrismRecorder")
            .field("registry", &self.shared.registry)
            .field("names", &self.shared.names.load().len())
            .field("cardinality_limit", &self.shared.limit)
            .finish()
    }
}

impl<M: Metric> Labelled<M> {
    /// The series of `key`'s label values, `None` when its label names are not the
    /// family's.
    #[inline]
    fn get(&self, key: &Key) -> Option<M> {
        let n = self.labels.len();
        if key.labels().len() != n {
            return None;
        }
        if n <= STACK_LABELS {
            let mut values = [""; STACK_LABELS];
            self.values(key, &mut values[..n])?;
            Some(self.family.get(&values[..n]))
        } else {
            let mut values = vec![""; n];
            self.values(key, &mut values)?;
            Some(self.family.get(&values))
        }
    }

    /// Fills `out` with `key`'s label values in the family's order.
    #[inline]
    fn values<'k>(&self, key: &'k Key, out: &mut [&'k str]) -> Option<()> {
        // The common case: the key lists its labels in the family's order.
        let mut in_order = true;
        for ((label, name), slot) in key.labels().zip(self.labels.iter()).zip(out.iter_mut()) {
            if !same(label.key(), name) {
                in_order = false;
                break;
            }
            *slot = label.value();
        }
        if in_order {
            return Some(());
        }
        for (name, slot) in self.labels.iter().zip(out.iter_mut()) {
            *slot = key.labels().find(|l| same(l.key(), name))?.value();
        }
        Some(())
    }
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        // Every change to `Pending` and `names` completes before the guard drops.
        self.write.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn refuse(&self, reason: Refusal) {
        self.refusals.count(reason);
    }

    /// The series of `key`: from this thread's key cache, else through the slot of the
    /// key's name in this thread's copy of the name table (`miss`), registering the name's
    /// family on its first use. `hit` takes the cached handle when it is of the kind asked.
    #[inline]
    fn series<T>(
        &self,
        key: &Key,
        kind: FacadeKind,
        hit: impl Fn(&Handle) -> Option<T>,
        miss: impl FnOnce(&Slot) -> Result<T, Refusal>,
        handle: impl Fn(&T) -> Handle,
    ) -> Result<T, Refusal> {
        let local = self.local.get_or(|| {
            let version = self.version.load(Ordering::Acquire);
            CachePadded::new(RefCell::new(Local::new(version, self.names.load_full())))
        });
        // Neither closure calls back into the recorder, so the borrow is free; should that
        // ever change, the shared table serves the inner call.
        let Ok(mut local) = local.try_borrow_mut() else {
            let names = self.names.load();
            return match names.get(key.name()) {
                Some(slot) => miss(slot),
                None => miss(&self.register(key, kind)),
            };
        };
        if let Some(found) = local.cached(key).and_then(&hit) {
            return Ok(found);
        }
        let version = self.version.load(Ordering::Acquire);
        if local.version != version {
            local.names = self.names.load_full();
            local.version = version;
        }
        let found = match local.names.get(key.name()) {
            Some(slot) => miss(slot),
            None => miss(&self.register(key, kind)),
        };
        if let Ok(series) = &found {
            local.remember(key, handle(series));
        }
        found
    }

    /// The slot of `key`'s name, registering its family on first use.
    #[cold]
    fn register(&self, key: &Key, kind: FacadeKind) -> Slot {
        let mut pending = self.pending();
        let current = self.names.load();
        if let Some(slot) = current.get(key.name()) {
            return slot.clone();
        }
        if current.len() >= self.max_names {
            return Slot::Refused(Refusal::TooManyNames);
        }
        let description = pending.descriptions.remove(key.name());
        let slot = self
            .new_family(key, kind, description)
            .unwrap_or_else(Slot::Refused);
        self.names
            .store(Arc::new(current.with(key.name(), slot.clone())));
        // After the store: a thread that sees the new version loads at least this table.
        self.version.fetch_add(1, Ordering::Release);
        slot
    }

    /// Maps the key by the rule and registers its family.
    fn new_family(
        &self,
        key: &Key,
        kind: FacadeKind,
        description: Option<Description>,
    ) -> Result<Slot, Refusal> {
        let mapped = names::metric_name(key.name());
        let name = match kind {
            FacadeKind::Counter => names::strip_total(&mapped),
            _ => &mapped,
        };
        let mut labels: Vec<(String, Box<str>)> = key
            .labels()
            .map(|l: &Label| (names::label_name(l.key()).into_owned(), l.key().into()))
            .collect();
        labels.sort();
        if labels.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(Refusal::Collision);
        }
        let (help, unit) = match &description {
            Some(d) => (d.help.as_ref(), d.unit),
            None => ("", None),
        };
        let mut unit = unit.and_then(names::unit);
        if let Some(u) = unit {
            let carried = name
                .strip_suffix(u)
                .is_some_and(|stem| stem.len() > 1 && stem.ends_with('_'));
            if !carried {
                self.refuse(Refusal::UnitNotInName);
                unit = None;
            }
        }
        let label_names: Vec<String> = labels.iter().map(|(m, _)| m.clone()).collect();
        let originals: Box<[Box<str>]> = labels.into_iter().map(|(_, o)| o).collect();
        let meta = |help: &str| {
            let meta = PrismMetadata::new(name, help);
            match unit {
                Some(u) => meta.unit(u),
                None => meta,
            }
        };
        let register = |help: &str| -> Result<Slot, Error> {
            Ok(match kind {
                FacadeKind::Counter => Slot::Counter(Arc::new(Labelled {
                    family: self
                        .registry
                        .register_with(meta(help), builder(&label_names, self.limit).build()?)?,
                    labels: originals.clone(),
                })),
                FacadeKind::Gauge => Slot::Gauge(Arc::new(Labelled {
                    family: self
                        .registry
                        .register_with(meta(help), builder(&label_names, self.limit).build()?)?,
                    labels: originals.clone(),
                })),
                FacadeKind::Histogram => {
                    let config = histogram_config(unit);
                    let refused = self.refusals.counter(Refusal::HistogramValue).clone();
                    let family = builder(&label_names, self.limit)
                        .build_with(move || HistogramSeries::new(&config, refused.clone()))?;
                    Slot::Histogram(Arc::new(Labelled {
                        family: self.registry.register_with(meta(help), family)?,
                        labels: originals.clone(),
                    }))
                }
            })
        };
        match register(help) {
            Ok(slot) => Ok(slot),
            Err(Error::InvalidHelp { .. }) => {
                self.refuse(Refusal::InvalidHelp);
                register("").map_err(|e| Refusal::of(&e))
            }
            Err(e) => Err(Refusal::of(&e)),
        }
    }

    /// Keeps a description for the name's first use. Help and unit do not depend on the
    /// kind, so a description applies whichever macro described the name.
    fn describe(&self, name: KeyName, unit: Option<Unit>, help: SharedString) {
        let mut pending = self.pending();
        if self.names.load().get(name.as_str()).is_some() {
            self.refuse(Refusal::LateDescription);
            return;
        }
        pending
            .descriptions
            .insert(name.as_str().to_owned(), Description { unit, help });
    }
}

/// A family builder with the recorder's limit.
fn builder<M: Metric>(label_names: &[String], limit: usize) -> prism_core::FamilyBuilder<M> {
    Family::builder(label_names.iter().cloned()).cardinality_limit(limit)
}

/// The histogram of a unit: time units and no unit record nanoseconds and export in the
/// unit (values in seconds are what `metrics` makes of a `Duration`); every other unit
/// records thousandths of it.
fn histogram_config(unit: Option<&str>) -> HistogramConfig {
    let time = |per_second: f64| {
        Histogram::builder()
            // 1 / (ns per unit), not `per_second * 1e-9`: the exported values then come
            // out of one division (see `HistogramConfig`), without a rounding error.
            .unit_scale(1.0 / (1e9 / per_second))
            // Bounds in the unit, cut to 9 decimals so that `0.0025 * 1e3` prints `2.5`.
            .buckets(DEFAULT_BOUNDS_SECONDS.map(|b| (b * per_second * 1e9).round() / 1e9))
            .shards(1)
            .config()
    };
    let config = match unit {
        None | Some("seconds") => time(1.0),
        Some("milliseconds") => time(1e3),
        Some("microseconds") => time(1e6),
        Some("nanoseconds") => time(1e9),
        Some(_) => Histogram::builder()
            .unit_scale(1e-3)
            .highest(1_000_000_000_000_000)
            .buckets((0..10).map(|e| 10f64.powi(e)))
            .shards(1)
            .config(),
    };
    // Every configuration above is valid; the default is the fallback a type needs.
    config.unwrap_or_default()
}

impl metrics::Recorder for PrismRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared.describe(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared.describe(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.shared.describe(key, unit, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
        let found = self.shared.series(
            key,
            FacadeKind::Counter,
            |handle| match handle {
                Handle::Counter(cell) => Some(cell.clone()),
                _ => None,
            },
            |slot| match slot {
                Slot::Counter(family) => family.get(key).map(|s| s.0).ok_or(Refusal::LabelNames),
                Slot::Refused(reason) => Err(*reason),
                _ => Err(Refusal::Kind),
            },
            |cell: &Arc<CounterCell>| Handle::Counter(cell.clone()),
        );
        match found {
            Ok(cell) => metrics::Counter::from_arc(cell),
            Err(reason) => {
                self.shared.refuse(reason);
                metrics::Counter::noop()
            }
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        let found = self.shared.series(
            key,
            FacadeKind::Gauge,
            |handle| match handle {
                Handle::Gauge(cell) => Some(cell.clone()),
                _ => None,
            },
            |slot| match slot {
                Slot::Gauge(family) => family.get(key).map(|s| s.0).ok_or(Refusal::LabelNames),
                Slot::Refused(reason) => Err(*reason),
                _ => Err(Refusal::Kind),
            },
            |cell: &Arc<GaugeCell>| Handle::Gauge(cell.clone()),
        );
        match found {
            Ok(cell) => metrics::Gauge::from_arc(cell),
            Err(reason) => {
                self.shared.refuse(reason);
                metrics::Gauge::noop()
            }
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        let found = self.shared.series(
            key,
            FacadeKind::Histogram,
            |handle| match handle {
                Handle::Histogram(cell) => Some(cell.clone()),
                _ => None,
            },
            |slot| match slot {
                Slot::Histogram(family) => family.get(key).map(|s| s.0).ok_or(Refusal::LabelNames),
                Slot::Refused(reason) => Err(*reason),
                _ => Err(Refusal::Kind),
            },
            |cell: &Arc<HistogramCell>| Handle::Histogram(cell.clone()),
        );
        match found {
            Ok(cell) => metrics::Histogram::from_arc(cell),
            Err(reason) => {
                self.shared.refuse(reason);
                metrics::Histogram::noop()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    static LABELS: [Label; 2] = [
        Label::from_static_parts("a", "1"),
        Label::from_static_parts("b", "2"),
    ];
    static KEY: Key = Key::from_static_parts("n", &LABELS);

    fn owned(name: &str, labels: &[(&str, &str)]) -> Key {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(k.to_string(), v.to_string()))
            .collect();
        Key::from_parts(name.to_owned(), labels)
    }

    #[test]
    fn a_static_key_and_its_copy_are_the_same_by_address() {
        let copy = KEY.clone();
        assert!(std::ptr::eq(
            copy.labels().as_slice(),
            KEY.labels().as_slice()
        ));
        assert!(same_key(&copy, &KEY));
        // An owned key with the same content is the same key, found by comparison.
        assert!(same_key(&copy, &owned("n", &[("a", "1"), ("b", "2")])));
        assert!(same_key(&copy, &owned("n", &[("b", "2"), ("a", "1")])));
        assert!(!same_key(&copy, &owned("n", &[("a", "1"), ("b", "3")])));
        assert!(!same_key(&copy, &owned("m", &[("a", "1"), ("b", "2")])));
    }

    proptest! {
        /// `same_key` is `metrics`' own key equality, whatever the order and content.
        #[test]
        fn same_key_is_key_equality(
            a in prop::collection::vec(("[ab]{1,2}", "[xy]{0,2}"), 0..4),
            b in prop::collection::vec(("[ab]{1,2}", "[xy]{0,2}"), 0..4),
            na in "[nm]", nb in "[nm]", rotate in 0usize..4,
        ) {
            fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
                v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect()
            }
            let (ka, kb) = (owned(&na, &pairs(&a)), owned(&nb, &pairs(&b)));
            prop_assert_eq!(same_key(&ka, &kb), ka == kb);
            let mut shuffled = a.clone();
            if !shuffled.is_empty() {
                let r = rotate % shuffled.len();
                shuffled.rotate_left(r);
            }
            let ks = owned(&na, &pairs(&shuffled));
            prop_assert_eq!(same_key(&ka, &ks), ka == ks);
            prop_assert!(same_key(&ka, &ka.clone()));
        }
    }

    #[test]
    fn a_key_is_cached_on_its_second_miss_and_the_cache_stays_bounded() {
        let mut local = Local::new(0, Arc::new(Names::default()));
        let cell = Arc::new(CounterCell::default());
        let key = owned("n", &[("a", "1")]);
        local.remember(&key, Handle::Counter(cell.clone()));
        assert!(local.cached(&key).is_none(), "cached on its first miss");
        local.remember(&key, Handle::Counter(cell.clone()));
        assert!(matches!(local.cached(&key), Some(Handle::Counter(c)) if Arc::ptr_eq(c, &cell)));
        for i in 0..3 * MAX_CACHED {
            let k = owned("n", &[("a", &i.to_string())]);
            local.remember(&k, Handle::Counter(cell.clone()));
            local.remember(&k, Handle::Counter(cell.clone()));
            assert!(local.cache.len() <= MAX_CACHED);
        }
    }
}
