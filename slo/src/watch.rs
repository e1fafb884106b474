//! [`Watch`]: alerts on prism's own telemetry (counters about the counters): series growing
//! fast in a family, refused label sets rising, the registry's size.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prism_core::{
    Clock, Descriptor, Family, FloatGauge, Gauge, Registry, Sample, SystemClock, Visitor,
};

use crate::alert::{AlertEvent, Hooks};
use crate::error::{check_name, Error};
use crate::reporter::lock;

/// What a watch compares with its limit.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum WatchKind {
    /// Alert when a family's series (`prism_series{family}`) grew by more than `max` over
    /// `window`: a label taking unbounded values.
    SeriesGrowth {
        /// The window.
        window: Duration,
        /// New series allowed in a family per window.
        max: f64,
    },
    /// Alert when a family refused label sets (`prism_refused_label_sets{family}` rose)
    /// within `window`: its cardinality limit is reached and updates go to the overflow
    /// series or are dropped.
    RefusedRising {
        /// The window.
        window: Duration,
    },
    /// Alert when the registry exposes more than `max` series in all
    /// (`sum(prism_series)`).
    RegistrySize {
        /// Series allowed.
        max: f64,
    },
}

impl WatchKind {
    /// The alert's name in events and in the Prometheus rules.
    pub fn alert_name(&self) -> &'static str {
        match self {
            WatchKind::SeriesGrowth { .. } => "PrismSeriesGrowth",
            WatchKind::RefusedRising { .. } => "PrismRefusedLabelSets",
            WatchKind::RegistrySize { .. } => "PrismRegistrySize",
        }
    }

    fn window(&self) -> Option<Duration> {
        match self {
            WatchKind::SeriesGrowth { window, .. } | WatchKind::RefusedRising { window } => {
                Some(*window)
            }
            WatchKind::RegistrySize { .. } => None,
        }
    }
}

/// Builds a [`Watch`]; from [`Watch::series_growth`], [`Watch::refused_rising`] or
/// [`Watch::registry_size`].
pub struct WatchBuilder {
    name: String,
    kind: WatchKind,
    registry: Registry,
    severity: String,
    clock: Arc<dyn Clock>,
    hooks: Hooks,
}

impl WatchBuilder {
    /// The severity label of the alert (default `ticket`).
    pub fn severity(mut self, severity: impl Into<String>) -> Self {
        self.severity = severity.into();
        self
    }

    /// Reads time from `clock` (default the system's).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Calls `hook` when the watch starts firing.
    pub fn on_fire(mut self, hook: impl Fn(&AlertEvent) + Send + Sync + 'static) -> Self {
        self.hooks.fire.push(Box::new(hook));
        self
    }

    /// Calls `hook` when the watch resolves.
    pub fn on_resolve(mut self, hook: impl Fn(&AlertEvent) + Send + Sync + 'static) -> Self {
        self.hooks.resolve.push(Box::new(hook));
        self
    }

    /// Checks the settings and registers the watch's metrics in the watched registry:
    /// `slo_watch_value{watch}` (what it compares: the largest growth, the largest rise in
    /// refusals, the series in all) and `slo_watch_firing{watch}` (1 or 0).
    pub fn register(self) -> Result<Watch, Error> {
        check_name(&self.name)?;
        check_name(&self.severity)?;
        if self.kind.window().is_some_and(|w| w.is_zero()) {
            return Err(Error::ZeroWindow {
                what: "watch window",
            });
        }
        let wrap = |name: &str| {
            let name = name.to_owned();
            move |source| Error::Registry { name, source }
        };
        let value = self
            .registry
            .get_or_register(
                "slo_watch_value",
                "What each watch on prism's own telemetry compares with its limit.",
                || Family::<FloatGauge>::new(["watch"]),
            )
            .map_err(wrap("slo_watch_value"))?
            .get(&[&self.name]);
        let firing = self
            .registry
            .get_or_register(
                "slo_watch_firing",
                "1 while a watch on prism's own telemetry fires.",
                || Family::<Gauge>::new(["watch"]),
            )
            .map_err(wrap("slo_watch_firing"))?
            .get(&[&self.name]);
        Ok(Watch {
            inner: Arc::new(Inner {
                name: self.name,
                kind: self.kind,
                registry: self.registry,
                severity: self.severity,
                clock: self.clock,
                hooks: self.hooks,
                value,
                firing,
                state: Mutex::new(State::default()),
            }),
        })
    }
}

impl fmt::Debug for WatchBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchBuilder")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Per-family values of one read of the telemetry, by family name.
type Reading = HashMap<String, f64>;

#[derive(Default)]
struct State {
    /// Reads within the window, oldest first, with the last one at or before its start.
    history: VecDeque<(Duration, Reading)>,
    firing: bool,
}

struct Inner {
    name: String,
    kind: WatchKind,
    registry: Registry,
    severity: String,
    clock: Arc<dyn Clock>,
    hooks: Hooks,
    value: FloatGauge,
    firing: Gauge,
    state: Mutex<State>,
}

/// A watch on a registry's own telemetry (see `prism_core::telemetry`), ticked like an
/// [`Slo`](crate::Slo), with the same hooks and tracing events, and the same alert as a
/// Prometheus rule ([`prometheus_rules`](crate::prometheus_rules)).
///
/// Each tick reads the whole registry once (the self-telemetry is computed at read time)
/// and keeps the per-family values of the reads within its window: memory grows with the
/// families times the ticks per window.
///
/// ```
/// use prism_core::{Counter, Family, ManualClock, Registry};
/// use prism_slo::Watch;
/// use std::time::Duration;
///
/// let registry = Registry::new();
/// let users = registry.register("logins", "Logins.", Family::<Counter>::new(["user"]))?;
/// let clock = ManualClock::new();
/// let watch = Watch::series_growth("cardinality", &registry, Duration::from_secs(600), 100.0)
///     .clock(clock.clone())
///     .register()?;
/// watch.tick();
/// for i in 0..500 {
///     users.get(&[i.to_string()]).inc(); // a user id as a label: unbounded
/// }
/// clock.advance(Duration::from_secs(600));
/// watch.tick();
/// assert!(watch.firing());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Watch {
    inner: Arc<Inner>,
}

impl Watch {
    fn builder(name: impl Into<String>, registry: &Registry, kind: WatchKind) -> WatchBuilder {
        WatchBuilder {
            name: name.into(),
            kind,
            registry: registry.clone(),
            severity: "ticket".to_owned(),
            clock: Arc::new(SystemClock::new()),
            hooks: Hooks::default(),
        }
    }

    /// Fires when a family of `registry` gained more than `max` series over `window`.
    pub fn series_growth(
        name: impl Into<String>,
        registry: &Registry,
        window: Duration,
        max: f64,
    ) -> WatchBuilder {
        Self::builder(name, registry, WatchKind::SeriesGrowth { window, max })
    }

    /// Fires when a family of `registry` refused label sets within `window`.
    pub fn refused_rising(
        name: impl Into<String>,
        registry: &Registry,
        window: Duration,
    ) -> WatchBuilder {
        Self::builder(name, registry, WatchKind::RefusedRising { window })
    }

    /// Fires when `registry` exposes more than `max` series in all.
    pub fn registry_size(name: impl Into<String>, registry: &Registry, max: f64) -> WatchBuilder {
        Self::builder(name, registry, WatchKind::RegistrySize { max })
    }

    /// The watch's name (its `watch` label).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// What it watches.
    pub fn kind(&self) -> WatchKind {
        self.inner.kind
    }

    /// The severity label of its alert.
    pub fn severity(&self) -> &str {
        &self.inner.severity
    }

    /// Whether it fires (as of the last tick).
    pub fn firing(&self) -> bool {
        lock(&self.inner.state).firing
    }

    /// Reads the registry's telemetry, updates the watch's metrics and state, and calls the
    /// hooks when the state changed.
    pub fn tick(&self) {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let family = match inner.kind {
            WatchKind::RefusedRising { .. } => "prism_refused_label_sets",
            _ => "prism_series",
        };
        let mut read = Read {
            family,
            values: HashMap::new(),
        };
        inner.registry.visit(&mut read);
        let event = {
            let mut state = lock(&inner.state);
            let (value, fires) = match inner.kind {
                WatchKind::RegistrySize { max } => {
                    let sum: f64 = read.values.values().sum();
                    (sum, sum > max)
                }
                WatchKind::SeriesGrowth { window, max } => {
                    let v = rise(&mut state.history, now, window, read.values);
                    (v.unwrap_or(0.0), v.is_some_and(|v| v > max))
                }
                WatchKind::RefusedRising { window } => {
                    let v = rise(&mut state.history, now, window, read.values);
                    (v.unwrap_or(0.0), v.is_some_and(|v| v > 0.0))
                }
            };
            inner.value.set(value);
            (fires != state.firing).then(|| {
                state.firing = fires;
                inner.firing.set(i64::from(fires));
                AlertEvent {
                    name: inner.name.clone(),
                    alert: inner.kind.alert_name().to_owned(),
                    severity: inner.severity.clone(),
                    firing: fires,
                    value,
                    at: now,
                }
            })
        };
        if let Some(e) = event {
            inner.hooks.emit(&e);
        }
    }
}

/// Adds `now`'s reading and returns the largest rise of a family since the last reading
/// at or before `now - window`; `None` while no reading is that old, or no family was in
/// both (as PromQL's `x - x offset window` has no sample then).
fn rise(
    history: &mut VecDeque<(Duration, Reading)>,
    now: Duration,
    window: Duration,
    reading: Reading,
) -> Option<f64> {
    history.push_back((now, reading));
    let start = now.checked_sub(window)?;
    // Keep one reading at or before the start, drop older ones.
    while history.len() > 1 && history[1].0 <= start {
        history.pop_front();
    }
    let (t0, base) = history.front()?;
    if *t0 > start {
        return None;
    }
    let (_, latest) = history.back()?;
    latest
        .iter()
        .filter_map(|(f, v)| base.get(f).map(|b| v - b))
        .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))))
}

/// Collects one self-telemetry family's values by their `family` label.
struct Read {
    family: &'static str,
    values: Reading,
}

impl Visitor for Read {
    fn sample(&mut self, family: &Descriptor, sample: &Sample<'_>) {
        if family.name() == self.family {
            if let Some(f) = sample.label_values().next() {
                self.values.insert(f.to_owned(), sample.value().as_f64());
            }
        }
    }
}

impl crate::Tick for Watch {
    fn tick(&self) {
        Watch::tick(self);
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("name", &self.inner.name)
            .field("kind", &self.inner.kind)
            .finish_non_exhaustive()
    }
}
