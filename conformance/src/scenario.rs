//! Scenario files: a registry described in JSON ([`Scenario`]): the families to register,
//! their labels, and the [`Step`]s to apply. The format is documented in the crate's
//! README, section "Scenario files".

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use prism_core::{
    Capped, Counter, CounterFn, Family, FloatCounter, FloatGauge, Gauge, GaugeFn, Histogram,
    ManualClock, Max, Metadata, Metric, Min, NumaCounter, Overflow, PerCpuCounter,
    PerThreadCounter, Registry, ShardedCounter, SloppyCounter, StripedCounter, Summary,
    UpDownCounter, WindowedHistogram, WindowedRate,
};
use serde::Deserialize;

use crate::report::{check_named, Report};

/// A scenario: what to register and what to do to it.
///
/// ```
/// use prism_conformance::Scenario;
/// let scenario = Scenario::from_json(r#"{
///     "name": "two_requests",
///     "families": [{"name": "requests", "help": "Requests.", "type": "counter", "labels": ["method"]}],
///     "steps": [{"op": "add", "family": "requests", "labels": ["GET"], "value": 2}]
/// }"#)?;
/// let report = scenario.check()?;
/// assert!(report.is_ok(), "{report}");
/// # Ok::<(), prism_conformance::ScenarioError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The name every report line carries.
    pub name: String,
    /// What the scenario covers, for people.
    #[serde(default)]
    pub description: String,
    /// Whether the registry reports on itself (`prism_*` families). Default `false`.
    #[serde(default)]
    pub self_telemetry: bool,
    /// The families to register, in order.
    #[serde(default)]
    pub families: Vec<FamilySpec>,
    /// The updates to apply, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// One family to register.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilySpec {
    /// The core name.
    pub name: String,
    /// The help text.
    #[serde(default)]
    pub help: String,
    /// The unit; the name must end in `_<unit>`. With `otel`, the UCUM unit (`s`, `By`,
    /// `{request}`).
    #[serde(default)]
    pub unit: Option<String>,
    /// Registered by its OpenTelemetry name (`Metadata::otel`): `name` is the
    /// OpenTelemetry name (`http.server.request.duration`), `unit` its UCUM unit and
    /// `labels` its attribute names; the Prometheus names are their translation. Steps name
    /// the family as `name` says. Default `false`.
    #[serde(default)]
    pub otel: bool,
    /// The metric type: `counter`, `float_counter`, `gauge`, `float_gauge`, `max`, `min`,
    /// `capped`, `counter_fn`, `gauge_fn`, `histogram`, `summary`, `up_down_counter`,
    /// `sharded_counter`, `per_cpu_counter`, `striped_counter`, `sloppy_counter`,
    /// `numa_counter`, `per_thread_counter`, `windowed_histogram`, `windowed_rate`.
    #[serde(rename = "type")]
    pub metric: MetricType,
    /// Label names: present (even empty) for a [`Family`], absent for a metric on its own.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// The family's cardinality limit (default core's, 2000).
    #[serde(default)]
    pub cardinality_limit: Option<usize>,
    /// `series` (default) or `drop`.
    #[serde(default)]
    pub overflow: Option<OverflowSpec>,
    /// The cap of a `capped` metric.
    #[serde(default)]
    pub cap: Option<u64>,
    /// The constant a `counter_fn` or `gauge_fn` returns.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// A `histogram`'s explicit bucket bounds, in exported units (default: core's latency
    /// bounds in seconds).
    #[serde(default)]
    pub buckets: Option<Vec<f64>>,
    /// What one recorded unit is in exported units, for `histogram`, `summary` and
    /// `windowed_histogram` (default core's: nanoseconds recorded, seconds exported, `1e-9`).
    #[serde(default)]
    pub unit_scale: Option<f64>,
    /// The slots of a `windowed_histogram`'s ring or a `windowed_rate`'s window (default
    /// core's: 5 and 60).
    #[serde(default)]
    pub slots: Option<usize>,
    /// One slot's duration in seconds, for `windowed_histogram` and `windowed_rate`
    /// (default core's: 60 and 1).
    #[serde(default)]
    pub slot_seconds: Option<f64>,
}

/// The metric types a scenario can register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // each variant is the core type of the same name
pub enum MetricType {
    Counter,
    FloatCounter,
    Gauge,
    FloatGauge,
    Max,
    Min,
    Capped,
    CounterFn,
    GaugeFn,
    Histogram,
    Summary,
    UpDownCounter,
    ShardedCounter,
    PerCpuCounter,
    StripedCounter,
    /// Written through a [`LocalCounter`](prism_core::LocalCounter) of batch 4 taken for
    /// each step and dropped after it, which flushes it: the count is exact after every
    /// step.
    SloppyCounter,
    NumaCounter,
    /// Written through a [`PerThreadWriter`](prism_core::PerThreadWriter) taken for each
    /// step and dropped after it (its cell, with its count, goes to the next step's writer).
    PerThreadCounter,
    /// On a [`ManualClock`] of its own (shared by a family's series) that only
    /// [`Op::Advance`] moves, so that its window, and every read, is deterministic.
    WindowedHistogram,
    /// On a [`ManualClock`] like `WindowedHistogram`. It reads as the events of its last
    /// `slots` complete slots divided by the window's seconds, a float gauge.
    WindowedRate,
}

/// The batch of the [`LocalCounter`](prism_core::LocalCounter) each step of a
/// `sloppy_counter` writes through: small, so that an `add` of 4 or more flushes at once
/// and a smaller one waits for the local's drop; both paths show in the corpus.
const SLOPPY_BATCH: u64 = 4;

/// A family's overflow policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverflowSpec {
    /// [`Overflow::Series`].
    Series,
    /// [`Overflow::Drop`].
    Drop,
}

/// One update.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What to do.
    pub op: Op,
    /// To which family.
    pub family: String,
    /// The series' label values (for a family); `{i}` in a value is replaced by the
    /// repetition's index when `repeat` is given.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// The operand: a number, or `"NaN"`, `"+Inf"`, `"-Inf"` for floats.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    /// Run the step this many times, `i` from 0 (a cardinality bomb).
    #[serde(default)]
    pub repeat: Option<u32>,
}

/// The operations of a [`Step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `inc` (counters, gauges, `windowed_rate`).
    Inc,
    /// `dec` (gauges, `up_down_counter`).
    Dec,
    /// `add(value)` (counters, gauges, `windowed_rate`).
    Add,
    /// `sub(value)` (gauges, `up_down_counter`).
    Sub,
    /// `set(value)` (gauges).
    Set,
    /// `observe(value)` (`max`, `min`); `record(value)` (`histogram`, `summary`,
    /// `windowed_histogram`).
    Observe,
    /// `reset()` (`max`, `min`).
    Reset,
    /// `try_inc()` (`capped`).
    TryInc,
    /// `try_add(value)` (`capped`).
    TryAdd,
    /// Moves the clock of a `windowed_histogram` or `windowed_rate` (the whole family's, so
    /// no `labels`) forward by `value` seconds.
    Advance,
    /// Removes the series with `labels` from a family.
    Remove,
    /// Removes every series of a family.
    Clear,
    /// Unregisters the family.
    Unregister,
}

/// Why a scenario could not be read or applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The scenario's name, when known.
    pub scenario: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scenario {:?}: {}", self.scenario, self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A metric on its own or a family of it.
enum Slot<M: Metric> {
    Single(M),
    Family(Family<M>),
}

impl<M: Metric> Slot<M> {
    fn with(&self, labels: Option<&[String]>, f: impl FnOnce(&M)) -> Result<(), String> {
        match (self, labels) {
            (Slot::Single(m), None) => f(m),
            (Slot::Family(family), Some(values)) if values.len() != family.label_names().len() => {
                // The wrong number of values, on purpose: `with` counts it in
                // `prism_label_arity_errors` and routes the update as a refused label set's,
                // then a debug build panics. Caught, so that a scenario leaves the registry a
                // release build would, in either build.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    family.with(values, f)
                }));
            }
            (Slot::Family(family), Some(values)) => family.with(values, f),
            (Slot::Single(_), Some(_)) => return Err("labels given for a metric without".into()),
            (Slot::Family(_), None) => return Err("a family's step needs `labels`".into()),
        }
        Ok(())
    }

    fn family(&self) -> Result<&Family<M>, String> {
        match self {
            Slot::Family(f) => Ok(f),
            Slot::Single(_) => Err("not a family".into()),
        }
    }
}

enum Handle {
    Counter(Slot<Counter>),
    FloatCounter(Slot<FloatCounter>),
    Gauge(Slot<Gauge>),
    FloatGauge(Slot<FloatGauge>),
    Max(Slot<Max>),
    Min(Slot<Min>),
    Capped(Slot<Capped>),
    Histogram(Slot<Histogram>),
    Summary(Slot<Summary>),
    UpDownCounter(Slot<UpDownCounter>),
    ShardedCounter(Slot<ShardedCounter>),
    PerCpuCounter(Slot<PerCpuCounter>),
    StripedCounter(Slot<StripedCounter>),
    SloppyCounter(Slot<SloppyCounter>),
    NumaCounter(Slot<NumaCounter>),
    PerThreadCounter(Slot<PerThreadCounter>),
    /// The window and the clock its series share.
    WindowedHistogram(Slot<WindowedHistogram>, ManualClock),
    /// The rate and the clock its series share.
    WindowedRate(Slot<WindowedRate>, ManualClock),
    Fn,
}

/// The `u64` counters whose only updates are `inc` and `add`, each written the way the
/// type is meant to be written on its hot path.
trait CountUp: Metric {
    fn count_inc(&self);
    fn count_add(&self, n: u64);
}

macro_rules! count_up_directly {
    ($($t:ty),*) => {$(
        impl CountUp for $t {
            fn count_inc(&self) {
                self.inc();
            }
            fn count_add(&self, n: u64) {
                self.add(n);
            }
        }
    )*};
}

count_up_directly!(
    Counter,
    ShardedCounter,
    PerCpuCounter,
    StripedCounter,
    NumaCounter
);

impl CountUp for SloppyCounter {
    // Through a local, dropped (and so flushed) at the end of the step: exact at once.
    fn count_inc(&self) {
        self.local(SLOPPY_BATCH).inc();
    }
    fn count_add(&self, n: u64) {
        self.local(SLOPPY_BATCH).add(n);
    }
}

impl CountUp for PerThreadCounter {
    // Through a writer, dropped at the end of the step; its cell keeps the count.
    fn count_inc(&self) {
        self.writer().inc();
    }
    fn count_add(&self, n: u64) {
        self.writer().add(n);
    }
}

fn count_up<M: CountUp>(
    slot: &Slot<M>,
    op: Op,
    labels: Option<&[String]>,
    v: Option<&serde_json::Value>,
) -> Result<(), String> {
    match op {
        Op::Inc => slot.with(labels, M::count_inc),
        Op::Add => {
            let n = u64_of(v)?;
            slot.with(labels, |m| m.count_add(n))
        }
        _ => Err(not_applicable(op)),
    }
}

fn not_applicable(op: Op) -> String {
    format!("{op:?} does not apply to this metric type")
}

/// [`Op::Advance`]: the family's clock, all its series at once.
fn advance(
    clock: &ManualClock,
    labels: Option<&[String]>,
    v: Option<&serde_json::Value>,
) -> Result<(), String> {
    if labels.is_some() {
        return Err("`advance` moves the clock of the whole family; it takes no `labels`".into());
    }
    let seconds = f64_of(v)?;
    let d = Duration::try_from_secs_f64(seconds)
        .map_err(|e| format!("`value` {seconds} is not a duration in seconds: {e}"))?;
    clock.advance(d);
    Ok(())
}

fn u64_of(v: Option<&serde_json::Value>) -> Result<u64, String> {
    v.and_then(serde_json::Value::as_u64)
        .ok_or_else(|| format!("`value` must be an integer from 0 to 2^64-1, is {v:?}"))
}

fn i64_of(v: Option<&serde_json::Value>) -> Result<i64, String> {
    v.and_then(serde_json::Value::as_i64)
        .ok_or_else(|| format!("`value` must be an integer from -2^63 to 2^63-1, is {v:?}"))
}

fn f64_of(v: Option<&serde_json::Value>) -> Result<f64, String> {
    match v {
        Some(serde_json::Value::String(s)) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "+Inf" | "Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            other => Err(format!("`value` {other:?} is not NaN, +Inf or -Inf")),
        },
        Some(v) => v
            .as_f64()
            .ok_or_else(|| format!("`value` must be a number, is {v}")),
        None => Err("`value` is missing".into()),
    }
}

impl Scenario {
    /// Reads a scenario from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        serde_json::from_str(text).map_err(|e| ScenarioError {
            scenario: String::new(),
            message: format!("not a scenario: {e}"),
        })
    }

    fn err(&self, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            scenario: self.name.clone(),
            message: message.into(),
        }
    }

    /// Builds the registry: registers the families and applies the steps.
    pub fn apply(&self) -> Result<Registry, ScenarioError> {
        let registry = Registry::builder()
            .self_telemetry(self.self_telemetry)
            .build();
        let mut handles = BTreeMap::new();
        for spec in &self.families {
            let handle = self
                .register(&registry, spec)
                .map_err(|m| self.err(format!("family {:?}: {m}", spec.name)))?;
            handles.insert(spec.name.clone(), handle);
        }
        for (n, step) in self.steps.iter().enumerate() {
            let handle = handles
                .get(&step.family)
                .ok_or_else(|| self.err(format!("step {n}: no family {:?}", step.family)))?;
            let times = step.repeat.unwrap_or(1);
            for i in 0..times {
                let labels = step.labels.as_ref().map(|values| {
                    if step.repeat.is_some() {
                        values
                            .iter()
                            .map(|v| v.replace("{i}", &i.to_string()))
                            .collect()
                    } else {
                        values.clone()
                    }
                });
                apply_step(&registry, handle, step, labels.as_deref()).map_err(|m| {
                    self.err(format!("step {n} ({:?} {:?}): {m}", step.op, step.family))
                })?;
            }
        }
        Ok(registry)
    }

    /// Applies the scenario and checks every format.
    pub fn check(&self) -> Result<Report, ScenarioError> {
        Ok(check_named(&self.name, &self.apply()?))
    }

    fn register(&self, registry: &Registry, spec: &FamilySpec) -> Result<Handle, String> {
        let meta = || {
            if spec.otel {
                let unit = spec.unit.clone().unwrap_or_default();
                return Metadata::otel(spec.name.clone(), unit, spec.help.clone());
            }
            let m = Metadata::new(spec.name.clone(), spec.help.clone());
            match &spec.unit {
                Some(unit) => m.unit(unit.clone()),
                None => m,
            }
        };
        fn slot<M: Metric>(
            registry: &Registry,
            spec: &FamilySpec,
            meta: Metadata,
            make: impl Fn() -> M + Send + Sync + 'static,
        ) -> Result<Slot<M>, String> {
            let Some(labels) = &spec.labels else {
                if spec.cardinality_limit.is_some() || spec.overflow.is_some() {
                    return Err("`cardinality_limit` and `overflow` need `labels`".into());
                }
                return registry
                    .register_with(meta, make())
                    .map(Slot::Single)
                    .map_err(|e| e.to_string());
            };
            let mut builder = Family::<M>::builder(labels.iter().cloned());
            if let Some(limit) = spec.cardinality_limit {
                builder = builder.cardinality_limit(limit);
            }
            if let Some(overflow) = spec.overflow {
                builder = builder.overflow(match overflow {
                    OverflowSpec::Series => Overflow::Series,
                    OverflowSpec::Drop => Overflow::Drop,
                });
            }
            let family = builder.build_with(make).map_err(|e| e.to_string())?;
            registry
                .register_with(meta, family)
                .map(Slot::Family)
                .map_err(|e| e.to_string())
        }
        let distribution = matches!(
            spec.metric,
            MetricType::Histogram | MetricType::Summary | MetricType::WindowedHistogram
        );
        if (spec.buckets.is_some() && spec.metric != MetricType::Histogram)
            || (spec.unit_scale.is_some() && !distribution)
        {
            return Err(
                "`buckets` are for `histogram`, `unit_scale` for `histogram`, \
                 `summary` and `windowed_histogram`"
                    .into(),
            );
        }
        let windowed = matches!(
            spec.metric,
            MetricType::WindowedHistogram | MetricType::WindowedRate
        );
        if (spec.slots.is_some() || spec.slot_seconds.is_some()) && !windowed {
            return Err(
                "`slots` and `slot_seconds` are for `windowed_histogram` and `windowed_rate`"
                    .into(),
            );
        }
        let slot_duration = spec
            .slot_seconds
            .map(|s| {
                Duration::try_from_secs_f64(s)
                    .map_err(|e| format!("`slot_seconds` {s} is not a duration: {e}"))
            })
            .transpose()?;
        let histogram = || -> Result<prism_core::HistogramConfig, String> {
            let mut builder = Histogram::builder();
            if let Some(scale) = spec.unit_scale {
                builder = builder.unit_scale(scale);
            }
            if let Some(bounds) = &spec.buckets {
                builder = builder.buckets(bounds.iter().copied());
            }
            builder.config().map_err(|e| e.to_string())
        };
        if spec.cap.is_some() != (spec.metric == MetricType::Capped) {
            return Err("`cap` is for `capped`, and `capped` needs it".into());
        }
        let is_fn = matches!(spec.metric, MetricType::CounterFn | MetricType::GaugeFn);
        if spec.value.is_some() != is_fn {
            return Err("`value` is for `counter_fn` and `gauge_fn`, and they need it".into());
        }
        Ok(match spec.metric {
            MetricType::Counter => Handle::Counter(slot(registry, spec, meta(), Counter::new)?),
            MetricType::FloatCounter => {
                Handle::FloatCounter(slot(registry, spec, meta(), FloatCounter::new)?)
            }
            MetricType::Gauge => Handle::Gauge(slot(registry, spec, meta(), Gauge::new)?),
            MetricType::FloatGauge => {
                Handle::FloatGauge(slot(registry, spec, meta(), FloatGauge::new)?)
            }
            MetricType::Max => Handle::Max(slot(registry, spec, meta(), Max::new)?),
            MetricType::Min => Handle::Min(slot(registry, spec, meta(), Min::new)?),
            MetricType::Capped => {
                let cap = spec.cap.unwrap_or_default();
                Handle::Capped(slot(registry, spec, meta(), move || Capped::new(cap))?)
            }
            MetricType::Histogram => {
                let config = histogram()?;
                Handle::Histogram(slot(registry, spec, meta(), move || config.build())?)
            }
            MetricType::Summary => {
                let config = histogram()?;
                Handle::Summary(slot(registry, spec, meta(), move || {
                    Summary::from(config.build())
                })?)
            }
            MetricType::UpDownCounter => {
                Handle::UpDownCounter(slot(registry, spec, meta(), UpDownCounter::new)?)
            }
            MetricType::ShardedCounter => {
                Handle::ShardedCounter(slot(registry, spec, meta(), ShardedCounter::new)?)
            }
            MetricType::PerCpuCounter => {
                Handle::PerCpuCounter(slot(registry, spec, meta(), PerCpuCounter::new)?)
            }
            MetricType::StripedCounter => {
                Handle::StripedCounter(slot(registry, spec, meta(), StripedCounter::new)?)
            }
            MetricType::SloppyCounter => {
                Handle::SloppyCounter(slot(registry, spec, meta(), SloppyCounter::new)?)
            }
            MetricType::NumaCounter => {
                Handle::NumaCounter(slot(registry, spec, meta(), NumaCounter::new)?)
            }
            MetricType::PerThreadCounter => {
                Handle::PerThreadCounter(slot(registry, spec, meta(), PerThreadCounter::new)?)
            }
            MetricType::WindowedHistogram => {
                let clock = ManualClock::new();
                let (config, slots, tick) = (histogram()?, spec.slots, slot_duration);
                let window = {
                    let clock = clock.clone();
                    move || {
                        let mut b = WindowedHistogram::builder()
                            .histogram(config.clone())
                            .clock(clock.clone());
                        if let Some(n) = slots {
                            b = b.slots(n);
                        }
                        if let Some(d) = tick {
                            b = b.slot_duration(d);
                        }
                        b.build()
                    }
                };
                // A bad window is refused here, before anything is registered; every
                // series is built with the same options.
                window().map_err(|e| e.to_string())?;
                let make = move || window().expect("the window's options were checked");
                Handle::WindowedHistogram(slot(registry, spec, meta(), make)?, clock)
            }
            MetricType::WindowedRate => {
                let clock = ManualClock::new();
                let (slots, tick) = (spec.slots, slot_duration);
                let rate = {
                    let clock = clock.clone();
                    move || {
                        let mut b = WindowedRate::builder().clock(clock.clone());
                        if let Some(n) = slots {
                            b = b.slots(n);
                        }
                        if let Some(d) = tick {
                            b = b.slot_duration(d);
                        }
                        b.build()
                    }
                };
                rate().map_err(|e| e.to_string())?;
                let make = move || rate().expect("the rate's options were checked");
                Handle::WindowedRate(slot(registry, spec, meta(), make)?, clock)
            }
            MetricType::CounterFn | MetricType::GaugeFn => {
                if spec.labels.is_some() {
                    return Err("functions are registered on their own, without labels".into());
                }
                let value = spec.value.as_ref();
                let result = match (spec.metric, value.and_then(serde_json::Value::as_u64)) {
                    (MetricType::CounterFn, Some(v)) => registry
                        .register_with(meta(), CounterFn::new(move || v))
                        .map(drop),
                    (MetricType::CounterFn, None) => {
                        let v = f64_of(value)?;
                        registry
                            .register_with(meta(), CounterFn::new(move || v))
                            .map(drop)
                    }
                    _ => match value.and_then(serde_json::Value::as_i64) {
                        Some(v) => registry
                            .register_with(meta(), GaugeFn::new(move || v))
                            .map(drop),
                        None => {
                            let v = f64_of(value)?;
                            registry
                                .register_with(meta(), GaugeFn::new(move || v))
                                .map(drop)
                        }
                    },
                };
                result.map_err(|e| e.to_string())?;
                Handle::Fn
            }
        })
    }
}

fn apply_step(
    registry: &Registry,
    handle: &Handle,
    step: &Step,
    labels: Option<&[String]>,
) -> Result<(), String> {
    let v = step.value.as_ref();
    let bad = || Err(not_applicable(step.op));
    macro_rules! family_ops {
        ($slot:expr) => {
            match step.op {
                Op::Remove => {
                    let values = labels.ok_or("`remove` needs `labels`")?;
                    $slot.family()?.remove(values);
                    return Ok(());
                }
                Op::Clear => {
                    $slot.family()?.clear();
                    return Ok(());
                }
                _ => {}
            }
        };
    }
    if step.op == Op::Unregister {
        // A family registered by its OpenTelemetry name is registered under the
        // Prometheus name its translation gives.
        let name = registry
            .descriptors()
            .into_iter()
            .find(|d| d.otel_name() == step.family && d.name() != step.family)
            .map_or_else(|| step.family.clone(), |d| d.name().to_owned());
        if !registry.unregister(&name) {
            return Err("not registered".into());
        }
        return Ok(());
    }
    match handle {
        Handle::Counter(slot) => {
            family_ops!(slot);
            count_up(slot, step.op, labels, v)
        }
        Handle::FloatCounter(slot) => {
            family_ops!(slot);
            match step.op {
                Op::Inc => slot.with(labels, |m| m.inc()),
                Op::Add => {
                    let n = f64_of(v)?;
                    slot.with(labels, |m| m.add(n))
                }
                _ => bad(),
            }
        }
        Handle::Gauge(slot) => {
            family_ops!(slot);
            match step.op {
                Op::Inc => slot.with(labels, |m| m.inc()),
                Op::Dec => slot.with(labels, |m| m.dec()),
                Op::Add => {
                    let n = i64_of(v)?;
                    slot.with(labels, |m| m.add(n))
                }
                Op::Sub => {
                    let n = i64_of(v)?;
                    slot.with(labels, |m| m.sub(n))
                }
                Op::Set => {
                    let n = i64_of(v)?;
                    slot.with(labels, |m| m.set(n))
                }
                _ => bad(),
            }
        }
        Handle::FloatGauge(slot) => {
            family_ops!(slot);
            match step.op {
                Op::Inc => slot.with(labels, |m| m.inc()),
                Op::Dec => slot.with(labels, |m| m.dec()),
                Op::Add => {
                    let n = f64_of(v)?;
                    slot.with(labels, |m| m.add(n))
                }
                Op::Sub => {
                    let n = f64_of(v)?;
                    slot.with(labels, |m| m.sub(n))
                }
                Op::Set => {
                    let n = f64_of(v)?;
                    slot.with(labels, |m| m.set(n))
                }
                _ => bad(),
            }
        }
        Handle::Max(slot) => {
            family_ops!(slot);
            match step.op {
                Op::Observe => {
                    let n = i64_of(v)?;
                    slot.with(labels, |m| m.observe(n))
                }
                Op::Reset => slot.with(labels, |m| {
                    let _ = m.reset();
                }),
                _ => bad(),
            }
        }
        Handle::Min(slot) => {
            family_ops!(slot);
            match step.op {
                Op::Observe => {
                    let n = i64_of(v)?;
                    slot.with(labels, |m| m.observe(n))
                }
                Op::Reset => slot.with(labels, |m| {
                    let _ = m.reset();
                }),
                _ => bad(),
            }
        }
        Handle::Capped(slot) => {
            family_ops!(slot);
            match step.op {
                Op::TryInc => slot.with(labels, |m| {
                    let _ = m.try_inc();
                }),
                Op::TryAdd => {
                    let n = u64_of(v)?;
                    slot.with(labels, |m| {
                        let _ = m.try_add(n);
                    })
                }
                _ => bad(),
            }
        }
        Handle::Histogram(slot) => {
            family_ops!(slot);
            match step.op {
                Op::Observe => {
                    let n = u64_of(v)?;
                    slot.with(labels, |m| m.record(n))
                }
                _ => bad(),
            }
        }
        Handle::Summary(slot) => {
            family_ops!(slot);
            match step.op {
                Op::Observe => {
                    let n = u64_of(v)?;
                    slot.with(labels, |m| m.record(n))
                }
                _ => bad(),
            }
        }
        Handle::UpDownCounter(slot) => {
            family_ops!(slot);
            match step.op {
                Op::Inc => slot.with(labels, |m| m.inc()),
                Op::Dec => slot.with(labels, |m| m.dec()),
                Op::Add => {
                    let n = i64_of(v)?;
                    slot.with(labels, |m| m.add(n))
                }
                Op::Sub => {
                    let n = i64_of(v)?;
                    slot.with(labels, |m| m.sub(n))
                }
                _ => bad(),
            }
        }
        Handle::ShardedCounter(slot) => {
            family_ops!(slot);
            count_up(slot, step.op, labels, v)
        }
        Handle::PerCpuCounter(slot) => {
            family_ops!(slot);
            count_up(slot, step.op, labels, v)
        }
        Handle::StripedCounter(slot) => {
            family_ops!(slot);
            count_up(slot, step.op, labels, v)
        }
        Handle::SloppyCounter(slot) => {
            family_ops!(slot);
            count_up(slot, step.op, labels, v)
        }
        Handle::NumaCounter(slot) => {
            family_ops!(slot);
            count_up(slot, step.op, labels, v)
        }
        Handle::PerThreadCounter(slot) => {
            family_ops!(slot);
            count_up(slot, step.op, labels, v)
        }
        Handle::WindowedHistogram(slot, clock) => {
            family_ops!(slot);
            match step.op {
                Op::Observe => {
                    let n = u64_of(v)?;
                    slot.with(labels, |m| m.record(n))
                }
                Op::Advance => advance(clock, labels, v),
                _ => bad(),
            }
        }
        Handle::WindowedRate(slot, clock) => {
            family_ops!(slot);
            match step.op {
                Op::Inc => slot.with(labels, |m| m.inc()),
                Op::Add => {
                    let n = u64_of(v)?;
                    slot.with(labels, |m| m.add(n))
                }
                Op::Advance => advance(clock, labels, v),
                _ => bad(),
            }
        }
        Handle::Fn => bad(),
    }
}
