//! The bridge into an existing OpenTelemetry pipeline: [`Bridge`] registers a prism
//! registry's families as observable instruments on an `opentelemetry` [`Meter`], so that
//! the SDK's own reader and exporter carry them.
//!
//! | core | instrument |
//! |---|---|
//! | counter, `u64` values | `u64_observable_counter` (monotonic, cumulative) |
//! | counter, `f64` values | `f64_observable_counter` |
//! | gauge, `i64` values | `i64_observable_gauge` |
//! | gauge, `f64` values | `f64_observable_gauge` |
//! | OpenTelemetry name ([`Descriptor::otel_name`]) | instrument name |
//! | attribute names ([`Descriptor::attribute_names`]) | attributes; the overflow series `otel.metric.overflow=true` |
//! | help, OpenTelemetry unit ([`Descriptor::otel_unit`]) | description, unit |
//!
//! What cannot cross:
//!
//! - **Histograms and summaries.** The OpenTelemetry API has no observable histogram: a
//!   callback can only report a number. Such families are listed in
//!   [`Bridge::skipped`]; export them with the direct [`Exporter`](crate::Exporter),
//!   which sends the same read as OTLP itself.
//! - **Series start times.** An observable instrument's start time is the SDK's (when the
//!   reader started, or the last collection under delta), not each series' own.
//! - **Names the SDK refuses**: a `:` or a leading `_`, which prism allows but
//!   OpenTelemetry instrument names do not. Listed in [`Bridge::skipped`].
//! - **Families without series yet.** An instrument is typed `u64`/`i64` or `f64`, which
//!   core tells only through a value; a family with no series waits in
//!   [`Bridge::pending`] until [`Bridge::sync`] finds one.
//!
//! The SDK applies its own cardinality limit (2000 by default) on top of prism's.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use opentelemetry::metrics::{
    AsyncInstrument, Meter, ObservableCounter, ObservableGauge, ObservableUpDownCounter,
};
use opentelemetry::KeyValue;
use prism_core::{Descriptor, Kind, Registry, Sample, Value, Visitor, OVERFLOW_ATTRIBUTE};

/// A registry's families, observed through a [`Meter`].
///
/// ```
/// use opentelemetry::metrics::MeterProvider as _;
/// use opentelemetry_sdk::metrics::SdkMeterProvider;
/// use prism_core::{Counter, Registry};
///
/// let registry = Registry::builder().self_telemetry(false).build();
/// registry.register("jobs", "Jobs run.", Counter::new())?.add(3);
///
/// let provider = SdkMeterProvider::builder().build();
/// let bridge = prism_otel::Bridge::new(registry, &provider.meter("prism"));
/// assert_eq!(bridge.bridged(), ["jobs"]);
/// # Ok::<(), prism_core::Error>(())
/// ```
pub struct Bridge {
    shared: Arc<Shared>,
    meter: Meter,
    instruments: Vec<Instrument>,
    bridged: Vec<String>,
    pending: Vec<String>,
    skipped: Vec<(String, &'static str)>,
}

/// Held so that the instruments live as long as the bridge.
#[allow(dead_code)] // never read: holding them is the point
enum Instrument {
    U64Counter(ObservableCounter<u64>),
    F64Counter(ObservableCounter<f64>),
    I64Gauge(ObservableGauge<i64>),
    F64Gauge(ObservableGauge<f64>),
    I64UpDown(ObservableUpDownCounter<i64>),
    F64UpDown(ObservableUpDownCounter<f64>),
}

struct Shared {
    registry: Registry,
    cache: Mutex<Cache>,
}

/// One read of the registry, shared by the callbacks of one collection.
///
/// The SDK calls each instrument's callback once per collection, one after another. The
/// first callback reads the whole registry; the others take their family from that read,
/// so a collection reads each series once, and all families from the same moment. A
/// callback whose family was already served from the current read starts a new one.
#[derive(Default)]
struct Cache {
    loaded: bool,
    families: HashMap<String, Vec<(Vec<KeyValue>, Value)>>,
    served: HashSet<String>,
}

impl Shared {
    fn observe(&self, family: &str, mut f: impl FnMut(&Value, &[KeyValue])) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if !cache.loaded || cache.served.contains(family) {
            let mut read = Read::default();
            self.registry.visit(&mut read);
            cache.families = read.families;
            cache.served.clear();
            cache.loaded = true;
        }
        cache.served.insert(family.to_owned());
        if let Some(series) = cache.families.get(family) {
            for (attributes, value) in series {
                f(value, attributes);
            }
        }
    }
}

#[derive(Default)]
struct Read {
    families: HashMap<String, Vec<(Vec<KeyValue>, Value)>>,
}

impl Visitor for Read {
    fn sample(&mut self, family: &Descriptor, sample: &Sample<'_>) {
        // The overflow series' values are the constant labels' alone; the marker follows.
        let mut attributes: Vec<KeyValue> = family
            .attribute_names()
            .iter()
            .zip(sample.label_values())
            .map(|(k, v)| KeyValue::new(k.clone(), v.to_owned()))
            .collect();
        if sample.is_overflow() {
            attributes.push(KeyValue::new(OVERFLOW_ATTRIBUTE, true));
        }
        self.families
            .entry(family.name().to_owned())
            .or_default()
            .push((attributes, sample.value().clone()));
    }
}

/// The first value of each family, and every descriptor: what `sync` needs.
#[derive(Default)]
struct Survey {
    families: Vec<(Descriptor, Option<Value>)>,
}

impl Visitor for Survey {
    fn family(&mut self, family: &Descriptor) {
        self.families.push((family.clone(), None));
    }
    fn sample(&mut self, _family: &Descriptor, sample: &Sample<'_>) {
        if let Some((_, first @ None)) = self.families.last_mut() {
            *first = Some(sample.value().clone());
        }
    }
}

impl Bridge {
    /// Registers every family of `registry` (self-telemetry included) on `meter`.
    pub fn new(registry: Registry, meter: &Meter) -> Self {
        let mut bridge = Self {
            shared: Arc::new(Shared {
                registry,
                cache: Mutex::new(Cache::default()),
            }),
            meter: meter.clone(),
            instruments: Vec::new(),
            bridged: Vec::new(),
            pending: Vec::new(),
            skipped: Vec::new(),
        };
        bridge.sync();
        bridge
    }

    /// Registers families added to the registry since, and pending ones that now have a
    /// series; returns how many were added.
    pub fn sync(&mut self) -> usize {
        let mut survey = Survey::default();
        self.shared.registry.visit(&mut survey);
        let known: HashSet<String> = self
            .bridged
            .iter()
            .chain(self.skipped.iter().map(|(n, _)| n))
            .cloned()
            .collect();
        let before = self.bridged.len();
        self.pending.clear();
        for (desc, first) in survey.families {
            if known.contains(desc.name()) {
                continue;
            }
            // The kind first: a histogram cannot cross whatever its name.
            if let Some(reason) =
                refused_kind(desc.kind()).or_else(|| refused_name(desc.otel_name()))
            {
                self.skipped.push((desc.name().to_owned(), reason));
                continue;
            }
            match self.instrument(&desc, first.as_ref()) {
                Ok(Some(instrument)) => {
                    self.instruments.push(instrument);
                    self.bridged.push(desc.name().to_owned());
                }
                Ok(None) => self.pending.push(desc.name().to_owned()),
                Err(reason) => self.skipped.push((desc.name().to_owned(), reason)),
            }
        }
        self.bridged.len() - before
    }

    /// Families observed through the meter.
    pub fn bridged(&self) -> Vec<&str> {
        self.bridged.iter().map(String::as_str).collect()
    }

    /// Families waiting for a first series, which tells their value type.
    pub fn pending(&self) -> Vec<&str> {
        self.pending.iter().map(String::as_str).collect()
    }

    /// Families that cannot cross, each with the reason.
    pub fn skipped(&self) -> &[(String, &'static str)] {
        &self.skipped
    }

    fn instrument(
        &self,
        desc: &Descriptor,
        first: Option<&Value>,
    ) -> Result<Option<Instrument>, &'static str> {
        let shape = match desc.kind() {
            Kind::Counter => Shape::Counter,
            Kind::Gauge if desc.is_up_down_counter() => Shape::UpDown,
            Kind::Gauge => Shape::Gauge,
            other => return Err(refused_kind(other).unwrap_or("a kind this crate does not know")),
        };
        let Some(first) = first else {
            return Ok(None);
        };
        let float = match first {
            Value::Counter(_) | Value::Gauge(_) => false,
            Value::CounterF64(_) | Value::GaugeF64(_) => true,
            _ => return Err("a value kind this crate does not know"),
        };
        let name = desc.otel_name().to_owned();
        let help = desc.help().to_owned();
        let unit = desc.otel_unit().to_owned();
        let shared = self.shared.clone();
        // Series are kept by the core name, unique in the registry.
        let family = desc.name().to_owned();
        let m = &self.meter;
        // One observable instrument of the SDK builder `$builder`, reading the family's series
        // through `$convert`; the six instruments differ only in those and the variant.
        macro_rules! observable {
            ($variant:ident, $builder:ident, $t:ty, $convert:ident) => {
                Instrument::$variant(
                    m.$builder(name)
                        .with_description(help)
                        .with_unit(unit)
                        .with_callback(move |o: &dyn AsyncInstrument<$t>| {
                            shared.observe(&family, |v, a| {
                                if let Some(v) = $convert(v) {
                                    o.observe(v, a)
                                }
                            })
                        })
                        .build(),
                )
            };
        }
        Ok(Some(match (shape, float) {
            (Shape::Counter, false) => observable!(U64Counter, u64_observable_counter, u64, as_u64),
            (Shape::Counter, true) => observable!(F64Counter, f64_observable_counter, f64, as_f64),
            (Shape::Gauge, false) => observable!(I64Gauge, i64_observable_gauge, i64, as_i64),
            (Shape::Gauge, true) => observable!(F64Gauge, f64_observable_gauge, f64, as_f64),
            (Shape::UpDown, false) => {
                observable!(I64UpDown, i64_observable_up_down_counter, i64, as_i64)
            }
            (Shape::UpDown, true) => {
                observable!(F64UpDown, f64_observable_up_down_counter, f64, as_f64)
            }
        }))
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Counter,
    Gauge,
    /// A gauge that only changes by adding ([`Descriptor::is_up_down_counter`]).
    UpDown,
}

/// Why a family of this kind cannot cross, if it cannot.
fn refused_kind(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Counter | Kind::Gauge => None,
        Kind::Histogram | Kind::Summary => Some(
            "the OpenTelemetry API has no observable histogram or summary: use prism_otel::Exporter",
        ),
        _ => Some("a kind this crate does not know: use prism_otel::Exporter"),
    }
}

/// Why the SDK would refuse this name, if it would: instrument names match
/// `[A-Za-z][A-Za-z0-9_./-]{0,254}`.
fn refused_name(name: &str) -> Option<&'static str> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    let rest_ok =
        bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'));
    if !first_ok || !rest_ok {
        Some("OpenTelemetry instrument names start with a letter and hold no `:`: use prism_otel::Exporter")
    } else if name.len() > 255 {
        Some("OpenTelemetry instrument names are at most 255 characters: use prism_otel::Exporter")
    } else {
        None
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match *v {
        Value::Counter(v) => Some(v),
        // Float counters are never negative or NaN; `as` saturates.
        Value::CounterF64(v) => Some(v as u64),
        _ => None,
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match *v {
        Value::Gauge(v) => Some(v),
        // A gauge closure returning a u64 above i64::MAX reads as a float gauge; the
        // instrument is i64, so it saturates at i64::MAX.
        Value::GaugeF64(v) if !v.is_nan() => Some(v as i64),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match *v {
        Value::Counter(v) => Some(v as f64),
        Value::CounterF64(v) | Value::GaugeF64(v) => Some(v),
        Value::Gauge(v) => Some(v as f64),
        _ => None,
    }
}

impl fmt::Debug for Bridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("bridged", &self.bridged)
            .field("pending", &self.pending)
            .field("skipped", &self.skipped)
            .finish()
    }
}
