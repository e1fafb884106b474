//! The [`Registry`]: registration with name checks, and the read path over everything
//! registered.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::Error;
use crate::family::Family;
use crate::metric::{Kind, Metric, Value};
use crate::name;
use crate::read::{Descriptor, Metadata, Sample, SampleLabels, Snapshot, SnapshotBuilder, Visitor};
use crate::telemetry;
use crate::time::now_unix_nanos;
pub(crate) use sealed::FamilyStats;

/// A set of named metric families, and the one read path every format renders from.
///
/// Cloning shares the registry. Registration checks names, label names, help, units and
/// clashes across formats, and returns an [`Error`] rather than panicking. Reading
/// ([`visit`](Registry::visit), [`snapshot`](Registry::snapshot)) holds the registry's lock
/// only to copy the list of families, and no lock at all while it reads their series.
///
/// ```
/// use prism_core::{Counter, Family, Gauge, Registry, Value};
///
/// let registry = Registry::new();
/// let jobs = registry.register("jobs", "Jobs run.", Counter::new())?;
/// let queue = registry.register("queue_depth", "Jobs waiting.", Gauge::new())?;
/// let errors = registry.register("job_errors", "Failed jobs by kind.", Family::<Counter>::new(["kind"]))?;
///
/// jobs.add(3);
/// queue.set(7);
/// errors.get(&["timeout"]).inc();
///
/// let snapshot = registry.snapshot();
/// assert_eq!(snapshot.family("jobs").unwrap().series[0].value, Value::Counter(3));
/// assert_eq!(snapshot.family("job_errors").unwrap().series(&["timeout"]).unwrap().value,
///            Value::Counter(1));
/// // Registering the same name twice is an error, not a panic:
/// assert!(registry.register("jobs", "Again.", Counter::new()).is_err());
/// # Ok::<(), prism_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    state: RwLock<State>,
    self_telemetry: bool,
    telemetry: Vec<Descriptor>,
    created: u64,
}

#[derive(Default)]
struct State {
    families: BTreeMap<String, Arc<Entry>>,
    /// Every name some format prints, and the family that prints it.
    exposed: HashMap<String, String>,
}

struct Entry {
    descriptor: Descriptor,
    collector: Box<dyn Collect>,
    type_id: TypeId,
    created: u64,
}

mod sealed {
    use super::*;

    /// The dynamic side of a registered metric: how the registry reads it.
    pub trait Collect: Send + Sync {
        fn collect(&self, desc: &Descriptor, created: u64, visitor: &mut dyn Visitor);
        fn stats(&self) -> FamilyStats;
        fn as_any(&self) -> &dyn Any;
    }

    /// What a registered family tells the telemetry, read once per registry read.
    #[derive(Debug, Clone, Default)]
    pub struct FamilyStats {
        pub(crate) exposed_series: usize,
        /// `Some` for labelled families: (limit, refused).
        pub(crate) cardinality: Option<(usize, u64)>,
        pub(crate) counter_sum: u64,
    }

    pub trait Sealed {}
    impl<M: Metric> Sealed for M {}
    impl<M: Metric> Sealed for Family<M> {}
}
use sealed::Collect;

/// What a registry can hold: any [`Metric`] on its own, or a [`Family`] of one.
///
/// Sealed: implement [`Metric`] for a type of your own and it is registrable.
pub trait Register: sealed::Sealed + Clone + Send + Sync + 'static {
    /// The kind every series of it has.
    #[doc(hidden)]
    fn kind(&self) -> Kind;
    /// Its label names; empty for a metric on its own.
    #[doc(hidden)]
    fn label_names(&self) -> &[String];
    /// Whether it is an up-down counter ([`Metric::UP_DOWN`]).
    #[doc(hidden)]
    fn up_down(&self) -> bool;
    /// The registry's reading side of it.
    #[doc(hidden)]
    fn collector(&self) -> Box<dyn Collect>;
}

impl<M: Metric> Register for M {
    fn kind(&self) -> Kind {
        M::KIND
    }
    fn up_down(&self) -> bool {
        M::UP_DOWN
    }
    fn label_names(&self) -> &[String] {
        &[]
    }
    fn collector(&self) -> Box<dyn Collect> {
        Box::new(Single(self.clone()))
    }
}

impl<M: Metric> Register for Family<M> {
    fn kind(&self) -> Kind {
        M::KIND
    }
    fn up_down(&self) -> bool {
        M::UP_DOWN
    }
    fn label_names(&self) -> &[String] {
        Family::label_names(self)
    }
    fn collector(&self) -> Box<dyn Collect> {
        Box::new(self.clone())
    }
}

/// A metric registered on its own: one series without labels.
struct Single<M>(M);

impl<M: Metric> Collect for Single<M> {
    fn collect(&self, desc: &Descriptor, created: u64, visitor: &mut dyn Visitor) {
        let sample = Sample {
            labels: SampleLabels::None,
            value: self.0.read(),
            created_unix_nanos: created,
        };
        visitor.sample(desc, &sample);
    }

    fn stats(&self) -> FamilyStats {
        // Only counters feed `prism_updates`; reading anything else here would be wasted work
        // (a histogram read merges its shards).
        let counter_sum = match M::KIND {
            Kind::Counter => match self.0.read() {
                Value::Counter(v) => v,
                _ => 0,
            },
            _ => 0,
        };
        FamilyStats {
            exposed_series: 1,
            cardinality: None,
            counter_sum,
        }
    }

    fn as_any(&self) -> &dyn Any {
        &self.0
    }
}

impl<M: Metric> Collect for Family<M> {
    fn collect(&self, desc: &Descriptor, _created: u64, visitor: &mut dyn Visitor) {
        self.for_each_value(|s, value| {
            let labels = match s.values {
                Some(values) => SampleLabels::Series(values),
                None => SampleLabels::Overflow,
            };
            let sample = Sample {
                labels,
                value,
                created_unix_nanos: s.series.created,
            };
            visitor.sample(desc, &sample);
        });
    }

    fn stats(&self) -> FamilyStats {
        let mut counter_sum = 0u64;
        if M::KIND == Kind::Counter {
            self.for_each_series(|s| {
                if let Value::Counter(v) = s.series.metric.read() {
                    counter_sum = counter_sum.wrapping_add(v);
                }
            });
        }
        FamilyStats {
            exposed_series: self.exposed_series(),
            cardinality: Some((self.cardinality_limit(), self.refused())),
            counter_sum,
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Registry {
    /// An empty registry that reports on itself (see [`telemetry`](crate::telemetry)).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Starts a registry with options.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder {
            self_telemetry: true,
        }
    }

    /// Registers `metric` (a metric or a [`Family`]) under `name` and returns it back, so
    /// that the handle you keep and the registry share one value.
    pub fn register<R: Register>(&self, name: &str, help: &str, metric: R) -> Result<R, Error> {
        self.register_with(Metadata::new(name, help), metric)
    }

    /// Registers with a unit or other metadata.
    pub fn register_with<R: Register>(&self, meta: Metadata, metric: R) -> Result<R, Error> {
        let descriptor = self.check(meta, &metric)?;
        let mut state = self.write();
        Self::check_free(&state, &descriptor)?;
        self.insert(&mut state, descriptor, &metric);
        Ok(metric)
    }

    /// Returns the metric registered under `name` if there is one of the same type, labels
    /// and unit; otherwise registers what `make` returns (`make` is called either way, to
    /// learn the labels asked for). For code paths that may run
    /// more than once, such as a library initialised by several callers.
    ///
    /// ```
    /// use prism_core::{Counter, Registry};
    /// let registry = Registry::new();
    /// let a = registry.get_or_register("restarts", "Restarts.", Counter::new)?;
    /// let b = registry.get_or_register("restarts", "Restarts.", Counter::new)?;
    /// a.inc();
    /// assert_eq!(b.get(), 1);
    /// # Ok::<(), prism_core::Error>(())
    /// ```
    pub fn get_or_register<R: Register>(
        &self,
        name: &str,
        help: &str,
        make: impl FnOnce() -> R,
    ) -> Result<R, Error> {
        self.get_or_register_with(Metadata::new(name, help), make)
    }

    /// [`get_or_register`](Self::get_or_register) with a unit or other metadata.
    pub fn get_or_register_with<R: Register>(
        &self,
        meta: Metadata,
        make: impl FnOnce() -> R,
    ) -> Result<R, Error> {
        let metric = make();
        let descriptor = self.check(meta, &metric)?;
        let mut state = self.write();
        if let Some(entry) = state.families.get(&descriptor.name) {
            return Self::reuse(entry, &descriptor);
        }
        Self::check_free(&state, &descriptor)?;
        self.insert(&mut state, descriptor, &metric);
        Ok(metric)
    }

    /// Removes the family registered under `name`; says whether there was one. Handles keep
    /// working but are no longer read.
    pub fn unregister(&self, name: &str) -> bool {
        let mut state = self.write();
        match state.families.remove(name) {
            Some(_) => {
                state.exposed.retain(|_, owner| owner != name);
                true
            }
            None => false,
        }
    }

    /// Reads every family: registered ones and the self-telemetry, in name order, each
    /// series read once.
    pub fn visit<V: Visitor>(&self, visitor: &mut V) {
        let entries: Vec<Arc<Entry>> = self.read().families.values().cloned().collect();
        let stats: Vec<(&str, FamilyStats)> = if self.inner.self_telemetry {
            entries
                .iter()
                .map(|e| (e.descriptor.name.as_str(), e.collector.stats()))
                .collect()
        } else {
            Vec::new()
        };
        let telemetry: &[Descriptor] = if self.inner.self_telemetry {
            &self.inner.telemetry
        } else {
            &[]
        };

        let (mut e, mut t) = (entries.iter().peekable(), telemetry.iter().peekable());
        loop {
            let take_telemetry = match (e.peek(), t.peek()) {
                (Some(entry), Some(desc)) => desc.name < entry.descriptor.name,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => break,
            };
            if take_telemetry {
                let desc = t.next().expect("peeked");
                visitor.family(desc);
                telemetry::visit_family(desc, &stats, self.inner.created, visitor);
                visitor.end_family(desc);
            } else {
                let entry = e.next().expect("peeked");
                visitor.family(&entry.descriptor);
                entry
                    .collector
                    .collect(&entry.descriptor, entry.created, visitor);
                visitor.end_family(&entry.descriptor);
            }
        }
    }

    /// An owned copy of one read.
    pub fn snapshot(&self) -> Snapshot {
        let mut builder = SnapshotBuilder::default();
        self.visit(&mut builder);
        Snapshot {
            families: builder.families,
        }
    }

    /// The descriptors of the registered families (self-telemetry excluded), in name order.
    pub fn descriptors(&self) -> Vec<Descriptor> {
        self.read()
            .families
            .values()
            .map(|e| e.descriptor.clone())
            .collect()
    }

    /// Whether this registry reports on itself.
    pub fn has_self_telemetry(&self) -> bool {
        self.inner.self_telemetry
    }

    fn check<R: Register>(&self, meta: Metadata, metric: &R) -> Result<Descriptor, Error> {
        let Metadata { name, help, unit } = meta;
        name::validate_name(&name)?;
        let kind = metric.kind();
        name::validate_kind_suffix(&name, kind)?;
        name::validate_help(&name, &help)?;
        if let Some(unit) = &unit {
            name::validate_unit(&name, unit)?;
        }
        let label_names = metric.label_names();
        name::validate_label_names(&name, label_names)?;
        // The formats add these labels themselves: `le` to each bucket of a histogram,
        // `quantile` to each quantile of a summary. A family's own would collide.
        let reserved = match kind {
            Kind::Histogram => Some(("le", "histograms label their buckets with `le`")),
            Kind::Summary => Some((
                "quantile",
                "summaries label their quantiles with `quantile`",
            )),
            _ => None,
        };
        if let Some((label, reason)) = reserved {
            if label_names.iter().any(|l| l == label) {
                return Err(Error::InvalidLabelName {
                    family: name,
                    label: label.to_owned(),
                    reason,
                });
            }
        }
        if self.inner.self_telemetry && telemetry::NAMES.contains(&name.as_str()) {
            return Err(Error::InvalidName {
                name,
                reason: "it is reserved for prism's self-telemetry; pick another name or build \
                         the registry with `self_telemetry(false)`",
            });
        }
        Ok(Descriptor {
            name,
            help,
            unit,
            kind,
            label_names: label_names.into(),
            up_down: kind == Kind::Gauge && metric.up_down(),
        })
    }

    fn check_free(state: &State, descriptor: &Descriptor) -> Result<(), Error> {
        if state.families.contains_key(&descriptor.name) {
            return Err(Error::AlreadyRegistered {
                name: descriptor.name.clone(),
            });
        }
        for exposed in name::exposed_names(&descriptor.name, descriptor.kind) {
            if let Some(owner) = state.exposed.get(&exposed) {
                return Err(Error::Clash {
                    name: descriptor.name.clone(),
                    existing: owner.clone(),
                    exposed,
                });
            }
        }
        Ok(())
    }

    fn insert<R: Register>(&self, state: &mut State, descriptor: Descriptor, metric: &R) {
        for exposed in name::exposed_names(&descriptor.name, descriptor.kind) {
            state.exposed.insert(exposed, descriptor.name.clone());
        }
        let entry = Entry {
            collector: metric.collector(),
            type_id: TypeId::of::<R>(),
            created: now_unix_nanos(),
            descriptor,
        };
        state
            .families
            .insert(entry.descriptor.name.clone(), Arc::new(entry));
    }

    /// The registered metric, if it is of the same type with the same labels and unit.
    fn reuse<R: Register>(entry: &Entry, wanted: &Descriptor) -> Result<R, Error> {
        let mismatch = |reason: String| Error::Mismatch {
            name: wanted.name.clone(),
            reason,
        };
        let have = &entry.descriptor;
        if entry.type_id != TypeId::of::<R>() {
            return Err(mismatch(format!(
                "registered as another type ({}), asked for {} ({})",
                have.kind.as_str(),
                std::any::type_name::<R>(),
                wanted.kind.as_str()
            )));
        }
        if have.label_names != wanted.label_names {
            return Err(mismatch(format!(
                "label names {:?} registered, {:?} asked for",
                have.label_names, wanted.label_names
            )));
        }
        if have.unit != wanted.unit {
            return Err(mismatch(format!(
                "unit {:?} registered, {:?} asked for",
                have.unit, wanted.unit
            )));
        }
        entry
            .collector
            .as_any()
            .downcast_ref::<R>()
            .cloned()
            .ok_or_else(|| mismatch("registered as another type".to_owned()))
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // Every change to `State` is completed before the guard drops, so a panic elsewhere
        // cannot leave it half-written: recover from poisoning.
        self.inner.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.read().families.keys().cloned().collect();
        f.debug_struct("Registry")
            .field("families", &names)
            .field("self_telemetry", &self.inner.self_telemetry)
            .finish()
    }
}

/// Options for a [`Registry`]: made by [`Registry::builder`].
#[derive(Debug, Clone)]
pub struct RegistryBuilder {
    self_telemetry: bool,
}

impl RegistryBuilder {
    /// Whether the registry reports on itself (default: yes). See
    /// [`telemetry`](crate::telemetry) for the families it adds.
    pub fn self_telemetry(mut self, on: bool) -> Self {
        self.self_telemetry = on;
        self
    }

    /// Builds the registry.
    pub fn build(self) -> Registry {
        let telemetry = telemetry::descriptors();
        let mut state = State::default();
        if self.self_telemetry {
            for desc in &telemetry {
                for exposed in name::exposed_names(&desc.name, desc.kind) {
                    state
                        .exposed
                        .insert(exposed, format!("{} (self-telemetry)", desc.name));
                }
            }
        }
        Registry {
            inner: Arc::new(Inner {
                state: RwLock::new(state),
                self_telemetry: self.self_telemetry,
                telemetry,
                created: now_unix_nanos(),
            }),
        }
    }
}

/// The process-wide registry, created on first use with self-telemetry on. Libraries that
/// register here show up in any exporter that renders it.
pub fn default_registry() -> &'static Registry {
    static DEFAULT: OnceLock<Registry> = OnceLock::new();
    DEFAULT.get_or_init(Registry::new)
}
