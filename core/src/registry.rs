//! The [`Registry`]: registration with name checks, and the read path over everything
//! registered.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::Error;
use crate::family::{self, Family, SeriesRef};
use crate::metric::{Kind, Metric, Value};
use crate::name;
use crate::otel;
use crate::read::{Descriptor, Metadata, Sample, SampleLabels, Snapshot, SnapshotBuilder, Visitor};
use crate::scope::{Naming, Scope};
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
    /// The last value `prism_updates` reported. A read's own total can come out below the
    /// read before it: a series removed while the read runs may be counted neither among
    /// the series read nor in its family's retired sum (see `Family::for_each_value`), and a
    /// handle updated after its series' removal can make the read before it count more than
    /// the removal kept. A scraper would take such a dip for a counter reset (a `rate()`
    /// spike), so a read reports the larger of its total and this one, compared modulo 2^64
    /// (see `report_updates`). A mutex, not an atomic: reads are rare, and the compare and
    /// the store must be one step.
    updates_reported: Mutex<u64>,
}

#[derive(Default)]
struct State {
    families: BTreeMap<String, Arc<Entry>>,
    /// Every name some format prints, and the family that prints it.
    exposed: HashMap<String, String>,
    /// Every OpenTelemetry name, and the family that carries it in OTLP.
    otel_names: HashMap<String, String>,
    /// What unregistered metrics counted towards `prism_updates` when unregistered. Read
    /// under the same lock as `families`, so that a read counts each metric in exactly one
    /// of the two.
    unregistered_updates: u64,
}

struct Entry {
    descriptor: Descriptor,
    collector: Box<dyn Collect>,
    type_id: TypeId,
    created: u64,
}

impl Entry {
    /// Hands the family to `visitor`, from the values read ahead if there are some; returns
    /// what this read counted towards `prism_updates` (0 when read ahead: that was counted
    /// then).
    fn visit(&self, visitor: &mut dyn Visitor, ahead: Option<Box<dyn ReadAhead + '_>>) -> u64 {
        visitor.family(&self.descriptor);
        let counted = match ahead {
            Some(read) => {
                read.emit(&self.descriptor, self.created, visitor);
                0
            }
            None => self
                .collector
                .collect(&self.descriptor, self.created, visitor),
        };
        visitor.end_family(&self.descriptor);
        counted
    }
}

pub(crate) mod sealed {
    use super::*;

    /// The dynamic side of a registered metric: how the registry reads it.
    pub trait Collect: Send + Sync {
        /// Reads every series once and hands it to `visitor`; returns what the metric counts
        /// towards `prism_updates` as of this read (0 if it does not count).
        fn collect(&self, desc: &Descriptor, created: u64, visitor: &mut dyn Visitor) -> u64;
        /// For a metric that counts towards `prism_updates`: reads every series now, to be
        /// emitted later without reading it again. `None` for the others, which never need
        /// reading ahead.
        fn read_ahead(&self) -> Option<Box<dyn ReadAhead + '_>>;
        /// What the telemetry needs besides values: read from the family's own counts,
        /// never from its series.
        fn stats(&self) -> FamilyStats;
        /// Removes idle series of a family built with expiry
        /// ([`Family::expire_idle`]); nothing for the others.
        fn expire(&self) {}
        fn as_any(&self) -> &dyn Any;
    }

    /// Values read by [`Collect::read_ahead`].
    pub trait ReadAhead {
        /// What they count towards `prism_updates`.
        fn updates(&self) -> u64;
        /// Hands them to `visitor` as [`Collect::collect`] would have.
        fn emit(self: Box<Self>, desc: &Descriptor, created: u64, visitor: &mut dyn Visitor);
    }

    /// What a registered family tells the telemetry, read once per registry read.
    #[derive(Debug, Clone, Default)]
    pub struct FamilyStats {
        pub(crate) exposed_series: usize,
        /// `Some` for labelled families.
        pub(crate) labelled: Option<LabelledStats>,
    }

    /// The telemetry of a labelled family.
    #[derive(Debug, Clone, Default)]
    pub struct LabelledStats {
        pub(crate) limit: usize,
        pub(crate) refused: u64,
        pub(crate) arity_errors: u64,
    }

    pub trait Sealed {}
    impl<M: Metric> Sealed for M {}
    impl<M: Metric> Sealed for Family<M> {}
}
use sealed::{Collect, LabelledStats, ReadAhead};

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
        Box::new(Single {
            metric: self.clone(),
            counts_updates: telemetry::counts_updates::<M>(),
        })
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
struct Single<M> {
    metric: M,
    /// Whether its value counts towards `prism_updates` ([`telemetry::counts_updates`]).
    counts_updates: bool,
}

impl<M: Metric> Single<M> {
    fn updates_in(&self, value: &Value) -> u64 {
        match value {
            Value::Counter(v) if self.counts_updates => *v,
            _ => 0,
        }
    }
}

/// Hands the one series of a [`Single`] to `visitor`.
fn single_sample(desc: &Descriptor, value: Value, created: u64, visitor: &mut dyn Visitor) {
    let sample = Sample {
        consts: &desc.const_values,
        labels: SampleLabels::None,
        value,
        created_unix_nanos: created,
    };
    visitor.sample(desc, &sample);
}

/// The value of a [`Single`] read ahead, and what it counts.
struct SingleAhead(Value, u64);

impl ReadAhead for SingleAhead {
    fn updates(&self) -> u64 {
        self.1
    }

    fn emit(self: Box<Self>, desc: &Descriptor, created: u64, visitor: &mut dyn Visitor) {
        single_sample(desc, self.0, created, visitor);
    }
}

impl<M: Metric> Collect for Single<M> {
    fn collect(&self, desc: &Descriptor, created: u64, visitor: &mut dyn Visitor) -> u64 {
        let value = self.metric.read();
        let updates = self.updates_in(&value);
        single_sample(desc, value, created, visitor);
        updates
    }

    fn read_ahead(&self) -> Option<Box<dyn ReadAhead + '_>> {
        self.counts_updates.then(|| {
            let value = self.metric.read();
            let updates = self.updates_in(&value);
            Box::new(SingleAhead(value, updates)) as Box<dyn ReadAhead>
        })
    }

    fn stats(&self) -> FamilyStats {
        FamilyStats {
            exposed_series: 1,
            labelled: None,
        }
    }

    fn as_any(&self) -> &dyn Any {
        &self.metric
    }
}

/// Hands one family series to `visitor`.
fn family_sample<M: Metric>(
    desc: &Descriptor,
    s: SeriesRef<'_, M>,
    value: Value,
    visitor: &mut dyn Visitor,
) {
    let labels = match s.values {
        Some(values) => SampleLabels::Series(values),
        None => SampleLabels::Overflow,
    };
    let sample = Sample {
        consts: &desc.const_values,
        labels,
        value,
        created_unix_nanos: s.series.created,
    };
    visitor.sample(desc, &sample);
}

impl<M: Metric> ReadAhead for family::ReadAhead<M> {
    fn updates(&self) -> u64 {
        family::ReadAhead::updates(self)
    }

    fn emit(self: Box<Self>, desc: &Descriptor, _created: u64, visitor: &mut dyn Visitor) {
        self.for_each(|s, value| family_sample(desc, s, value, visitor));
    }
}

impl<M: Metric> Collect for Family<M> {
    fn collect(&self, desc: &Descriptor, _created: u64, visitor: &mut dyn Visitor) -> u64 {
        self.for_each_value(|s, value| family_sample(desc, s, value, visitor))
    }

    fn read_ahead(&self) -> Option<Box<dyn ReadAhead + '_>> {
        self.counts_updates()
            .then(|| Box::new(self.read_ahead_values()) as Box<dyn ReadAhead>)
    }

    fn expire(&self) {
        self.expire_idle();
    }

    fn stats(&self) -> FamilyStats {
        FamilyStats {
            exposed_series: self.exposed_series(),
            labelled: Some(LabelledStats {
                limit: self.cardinality_limit(),
                refused: self.refused(),
                arity_errors: self.arity_errors(),
            }),
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
        self.register_in(&Naming::ROOT, meta, metric)
    }

    /// Registers under `naming` (a scope's prefix and constant labels).
    pub(crate) fn register_in<R: Register>(
        &self,
        naming: &Naming,
        meta: Metadata,
        metric: R,
    ) -> Result<R, Error> {
        let descriptor = self.check(naming, meta, &metric)?;
        let mut state = self.write();
        Self::check_free(&state, &descriptor)?;
        self.insert(&mut state, descriptor, &metric);
        Ok(metric)
    }

    /// Returns the metric registered under `name` if there is one of the same type, labels,
    /// unit and OpenTelemetry names; otherwise registers what `make` returns (`make` is
    /// called either way, to learn the labels asked for). For code paths that may run
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
        self.get_or_register_in(&Naming::ROOT, meta, make)
    }

    /// [`get_or_register_with`](Self::get_or_register_with) under `naming`.
    pub(crate) fn get_or_register_in<R: Register>(
        &self,
        naming: &Naming,
        meta: Metadata,
        make: impl FnOnce() -> R,
    ) -> Result<R, Error> {
        let metric = make();
        let descriptor = self.check(naming, meta, &metric)?;
        let mut state = self.write();
        if let Some(entry) = state.families.get(&descriptor.name) {
            return Self::reuse(entry, &descriptor);
        }
        Self::check_free(&state, &descriptor)?;
        self.insert(&mut state, descriptor, &metric);
        Ok(metric)
    }

    /// Removes the family registered under `name`; says whether there was one. Handles keep
    /// working but are no longer read. What it counted stays in `prism_updates`.
    pub fn unregister(&self, name: &str) -> bool {
        let mut state = self.write();
        match state.families.remove(name) {
            Some(entry) => {
                state.exposed.retain(|_, owner| owner != name);
                state.otel_names.retain(|_, owner| owner != name);
                if self.inner.self_telemetry {
                    // Only prism's own counters read ahead: no user code runs under the lock.
                    if let Some(read) = entry.collector.read_ahead() {
                        state.unregistered_updates =
                            state.unregistered_updates.wrapping_add(read.updates());
                    }
                }
                true
            }
            None => false,
        }
    }

    /// Reads every family: registered ones and the self-telemetry, in name order, each
    /// series read once (twice in a family with expiry: the first read removes its idle
    /// series, see [`Family::expire_idle`]).
    ///
    /// `prism_updates` sums the counters of every family, those named after it too, so that
    /// when its turn comes the counting families still ahead (those whose names sort after
    /// it) are read then, their values kept (one [`Value`] per series) and handed to the
    /// visitor at their own turn. Every other family is read at its turn, straight into the visitor.
    pub fn visit<V: Visitor>(&self, visitor: &mut V) {
        let (entries, unregistered) = {
            let state = self.read();
            let entries: Vec<Arc<Entry>> = state.families.values().cloned().collect();
            (entries, state.unregistered_updates)
        };
        // Before anything is read, so that the telemetry's counts and the families' series
        // agree on what expired.
        for entry in &entries {
            entry.collector.expire();
        }
        if !self.inner.self_telemetry {
            for entry in &entries {
                entry.visit(visitor, None);
            }
            return;
        }
        let stats: Vec<(&str, FamilyStats)> = entries
            .iter()
            .map(|e| (e.descriptor.name.as_str(), e.collector.stats()))
            .collect();
        let mut updates = unregistered;
        let mut ahead: Vec<Option<Box<dyn ReadAhead + '_>>> =
            entries.iter().map(|_| None).collect();
        let (mut e, mut t) = (0, self.inner.telemetry.iter().peekable());
        loop {
            let take_telemetry = match (entries.get(e), t.peek()) {
                (Some(entry), Some(desc)) => desc.name < entry.descriptor.name,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => break,
            };
            if take_telemetry {
                let desc = t.next().expect("peeked");
                let mut reported = 0;
                if desc.name == telemetry::UPDATES {
                    for (entry, slot) in entries[e..].iter().zip(&mut ahead[e..]) {
                        if let Some(read) = entry.collector.read_ahead() {
                            updates = updates.wrapping_add(read.updates());
                            *slot = Some(read);
                        }
                    }
                    reported = self.report_updates(updates);
                }
                visitor.family(desc);
                telemetry::visit_family(desc, &stats, reported, self.inner.created, visitor);
                visitor.end_family(desc);
            } else {
                let counted = entries[e].visit(visitor, ahead[e].take());
                updates = updates.wrapping_add(counted);
                e += 1;
            }
        }
    }

    /// The value `prism_updates` reports for a read whose own total is `total`: `total` if
    /// it is ahead of the last value reported by less than 2^63 (modulo 2^64, so that a sum
    /// past 2^64 wraps as a counter does), the last value otherwise (a read that raced a
    /// removal; see `Inner::updates_reported`).
    fn report_updates(&self, total: u64) -> u64 {
        let mut last = self
            .inner
            .updates_reported
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if total.wrapping_sub(*last) < 1 << 63 {
            *last = total;
        }
        *last
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

    /// A view of this registry that registers under a name prefix and with constant labels:
    /// see [`Scope`]. With neither set, it registers as the registry does.
    pub fn scoped(&self) -> Scope {
        Scope::new(self.clone())
    }

    /// Whether this registry reports on itself.
    pub fn has_self_telemetry(&self) -> bool {
        self.inner.self_telemetry
    }

    fn check<R: Register>(
        &self,
        naming: &Naming,
        meta: Metadata,
        metric: &R,
    ) -> Result<Descriptor, Error> {
        let Metadata {
            name,
            help,
            unit,
            otel_name,
            otel_unit,
            otel_first,
        } = meta;
        let kind = metric.kind();
        let up_down = kind == Kind::Gauge && metric.up_down();
        let own = metric.label_names();
        let (name, unit, own_labels) = if otel_first {
            let otel = otel_name.as_deref().unwrap_or(&name);
            let otel_unit = otel_unit.as_deref().unwrap_or("");
            Self::from_otel(otel, otel_unit, unit.as_deref(), kind, up_down, own)?
        } else {
            (name, unit, own.to_vec())
        };
        name::validate_name(&name)?;
        let name = naming.full_name(&name);
        name::validate_name(&name)?;
        name::validate_kind_suffix(&name, kind)?;
        name::validate_help(&name, &help)?;
        if let Some(unit) = &unit {
            name::validate_unit(&name, unit)?;
        }
        let otel_name = match otel_name {
            Some(n) => {
                let n = naming.otel_name(&n);
                otel::validate_otel_name(&n)?;
                n
            }
            None => name.clone(),
        };
        let otel_unit = match otel_unit {
            Some(u) => {
                otel::validate_otel_unit(&name, &u)?;
                u
            }
            None => unit.as_deref().map(otel::otel_unit).unwrap_or_default(),
        };
        name::validate_label_names(&name, &own_labels)?;
        if let Some(label) = own_labels.iter().find(|l| naming.has_label(l)) {
            return Err(Error::InvalidLabelName {
                family: name,
                label: label.clone(),
                reason: "it is a constant label of the scope the family is registered \
                         through; rename the family's label, or register the family through a \
                         scope without that constant label",
            });
        }
        // Constant labels keep their names in OTLP; a family's own attributes are the
        // names it was built with.
        let attribute_names: Vec<String> = naming
            .labels()
            .iter()
            .map(|(n, _)| n.clone())
            .chain(own.iter().cloned())
            .collect();
        let label_names: Vec<String> = naming
            .labels()
            .iter()
            .map(|(n, _)| n.clone())
            .chain(own_labels.iter().cloned())
            .collect();
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
            otel_name,
            otel_unit,
            attribute_names: attribute_names.into(),
            kind,
            label_names: label_names.into(),
            const_values: naming.labels().iter().map(|(_, v)| v.clone()).collect(),
            up_down,
        })
    }

    /// The Prometheus name, unit and own label names of a metric registered by its
    /// OpenTelemetry name (`Metadata::otel`): the translation of `otel::translate` and
    /// `otel::prometheus_label_name`, each attribute name checked.
    fn from_otel(
        otel_name: &str,
        otel_unit: &str,
        unit: Option<&str>,
        kind: Kind,
        up_down: bool,
        attributes: &[String],
    ) -> Result<(String, Option<String>, Vec<String>), Error> {
        if let Some(unit) = unit {
            return Err(Error::InvalidOtelUnit {
                family: otel_name.to_owned(),
                unit: unit.to_owned(),
                reason: "a metric registered by its OpenTelemetry name takes its Prometheus unit \
                         from its OpenTelemetry unit; drop `.unit(...)`",
            });
        }
        otel::validate_otel_unit(otel_name, otel_unit)?;
        let (name, unit) = otel::translate(otel_name, otel_unit, kind, up_down)?;
        let mut labels: Vec<String> = Vec::with_capacity(attributes.len());
        for (i, attribute) in attributes.iter().enumerate() {
            otel::validate_attribute_name(otel_name, attribute)?;
            let refuse = |reason| {
                Err(Error::InvalidAttributeName {
                    family: otel_name.to_owned(),
                    attribute: attribute.clone(),
                    reason,
                })
            };
            if attributes[..i].contains(attribute) {
                return refuse("it is declared twice");
            }
            let label = otel::prometheus_label_name(attribute);
            if labels.contains(&label) {
                return refuse(
                    "another attribute of the family translates to the same Prometheus label \
                     name; rename one of them",
                );
            }
            labels.push(label);
        }
        Ok((name, unit, labels))
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
        if let Some(owner) = state.otel_names.get(&descriptor.otel_name) {
            return Err(Error::Clash {
                name: descriptor.name.clone(),
                existing: owner.clone(),
                exposed: descriptor.otel_name.clone(),
            });
        }
        Ok(())
    }

    fn insert<R: Register>(&self, state: &mut State, descriptor: Descriptor, metric: &R) {
        for exposed in name::exposed_names(&descriptor.name, descriptor.kind) {
            state.exposed.insert(exposed, descriptor.name.clone());
        }
        state
            .otel_names
            .insert(descriptor.otel_name.clone(), descriptor.name.clone());
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

    /// The registered metric, if it is of the same type with the same labels, unit and
    /// OpenTelemetry names.
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
        if have.const_values != wanted.const_values {
            return Err(mismatch(format!(
                "constant labels {:?} registered, {:?} asked for",
                have.const_labels().collect::<Vec<_>>(),
                wanted.const_labels().collect::<Vec<_>>()
            )));
        }
        if have.unit != wanted.unit {
            return Err(mismatch(format!(
                "unit {:?} registered, {:?} asked for",
                have.unit, wanted.unit
            )));
        }
        let otel = |d: &Descriptor| {
            (
                d.otel_name.clone(),
                d.otel_unit.clone(),
                d.attribute_names.clone(),
            )
        };
        if otel(have) != otel(wanted) {
            return Err(mismatch(format!(
                "OpenTelemetry name, unit and attributes {:?} registered, {:?} asked for",
                otel(have),
                otel(wanted)
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
                state.otel_names.insert(
                    desc.otel_name.clone(),
                    format!("{} (self-telemetry)", desc.name),
                );
            }
        }
        Registry {
            inner: Arc::new(Inner {
                state: RwLock::new(state),
                self_telemetry: self.self_telemetry,
                telemetry,
                created: now_unix_nanos(),
                updates_reported: Mutex::new(0),
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
