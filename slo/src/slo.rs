//! [`Slo`]: an availability SLO over two counters, its error budget, burn rates and
//! burn-rate alerts, tracked in the process and exposed as prism metrics.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prism_core::{Clock, Family, FloatGauge, Gauge, Registry, SystemClock};

use crate::alert::{camel, AlertEvent, BurnRateAlert, Hooks};
use crate::error::{check_name, Error};
use crate::history::History;
use crate::reporter::lock;
use crate::source::{Poller, Source};

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// The burn-rate windows reported by default: 5m, 30m, 1h, 2h, 6h, 1d, 3d (every window of
/// [`BurnRateAlert::workbook`]).
pub const DEFAULT_WINDOWS: [Duration; 7] = [
    Duration::from_secs(300),
    Duration::from_secs(1800),
    HOUR,
    Duration::from_secs(7200),
    Duration::from_secs(21_600),
    DAY,
    Duration::from_secs(259_200),
];

/// What counts as an error.
#[derive(Debug, Clone)]
pub(crate) enum Events {
    /// Errors and all events.
    ErrorsOverTotal {
        /// Bad events.
        errors: Source,
        /// All events.
        total: Source,
    },
    /// Good events and all events; errors are the difference.
    GoodOverTotal {
        /// Good events.
        good: Source,
        /// All events.
        total: Source,
    },
}

impl Events {
    pub(crate) fn total(&self) -> &Source {
        match self {
            Events::ErrorsOverTotal { total, .. } | Events::GoodOverTotal { total, .. } => total,
        }
    }
}

/// Builds a [`Slo`]; from [`Slo::errors_over_total`] or [`Slo::good_over_total`].
pub struct SloBuilder {
    name: String,
    events: Events,
    objective: f64,
    period: Duration,
    windows: Vec<Duration>,
    alerts: Vec<BurnRateAlert>,
    scale: u32,
    clock: Arc<dyn Clock>,
    hooks: Hooks,
}

impl SloBuilder {
    /// The target ratio of good events, strictly between 0 and 1 (default 0.999).
    pub fn objective(mut self, objective: f64) -> Self {
        self.objective = objective;
        self
    }

    /// The period the budget is counted over (default 30 days).
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// The windows whose burn rate is exposed (default [`DEFAULT_WINDOWS`]). The alerts'
    /// windows are tracked whether listed or not.
    pub fn windows(mut self, windows: impl IntoIterator<Item = Duration>) -> Self {
        self.windows = windows.into_iter().collect();
        self
    }

    /// The burn-rate alerts (default [`BurnRateAlert::workbook`]); an empty list tracks
    /// the budget and burn rates without alerting on them.
    pub fn alerts(mut self, alerts: impl IntoIterator<Item = BurnRateAlert>) -> Self {
        self.alerts = alerts.into_iter().collect();
        self
    }

    /// Divides the period, every window and every alert window by `by`: a 30-day SLO
    /// becomes a 30-minute one at `by = 1440`, its 5m window 0.2 s long. For demos and
    /// end-to-end tests, where waiting an hour for an alert is not an option. 0 is taken as 1.
    pub fn scaled_down(mut self, by: u32) -> Self {
        self.scale = by.max(1);
        self
    }

    /// Reads time from `clock` (a [`ManualClock`](prism_core::ManualClock) in tests;
    /// default the system's).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Calls `hook` when an alert of this SLO starts firing.
    pub fn on_fire(mut self, hook: impl Fn(&AlertEvent) + Send + Sync + 'static) -> Self {
        self.hooks.fire.push(Box::new(hook));
        self
    }

    /// Calls `hook` when an alert of this SLO resolves.
    pub fn on_resolve(mut self, hook: impl Fn(&AlertEvent) + Send + Sync + 'static) -> Self {
        self.hooks.resolve.push(Box::new(hook));
        self
    }

    /// Checks the settings and registers the SLO's metrics in `registry` (shared by every
    /// SLO registered there, one series per SLO):
    ///
    /// | name | kind | labels |
    /// |---|---|---|
    /// | `slo_objective` | float gauge | `slo` |
    /// | `slo_error_budget_remaining` | float gauge, a ratio: 1 untouched, 0 spent, below 0 overspent | `slo` |
    /// | `slo_burn_rate` | float gauge, 1 = spending the budget exactly over the period | `slo`, `window` |
    /// | `slo_alert_firing` | gauge, 1 or 0 | `slo`, `severity` |
    /// | `slo_budget_exhausted` | gauge, 1 or 0 | `slo` |
    pub fn register(self, registry: &Registry) -> Result<Slo, Error> {
        check_name(&self.name)?;
        if !(self.objective > 0.0 && self.objective < 1.0) {
            return Err(Error::Objective {
                objective: self.objective,
            });
        }
        if self.period.is_zero() {
            return Err(Error::ZeroWindow { what: "period" });
        }
        if self.windows.iter().any(Duration::is_zero) {
            return Err(Error::ZeroWindow {
                what: "burn-rate window",
            });
        }
        let by = self.scale;
        let period = self.period / by;
        let windows: Vec<Duration> = self.windows.iter().map(|w| *w / by).collect();
        let alerts: Vec<BurnRateAlert> = self.alerts.iter().map(|a| a.scaled(by)).collect();
        if period.is_zero() || windows.iter().any(Duration::is_zero) {
            return Err(Error::ZeroWindow {
                what: "scaled-down window",
            });
        }
        let mut severities: Vec<String> = Vec::new();
        for a in &alerts {
            if a.short().is_zero() {
                return Err(Error::ZeroWindow {
                    what: "scaled-down alert window",
                });
            }
            if !severities.iter().any(|s| s == a.severity()) {
                severities.push(a.severity().to_owned());
            }
        }
        let metrics = Metrics::register(registry, &self.name, &windows, &severities)?;
        metrics.objective.set(self.objective);
        metrics.remaining.set(1.0);
        let history = History::new(
            windows
                .iter()
                .copied()
                .chain(alerts.iter().flat_map(|a| [a.long(), a.short()]))
                .chain([period]),
        );
        let (bad, total) = match &self.events {
            Events::ErrorsOverTotal { errors, total } => (errors.poller(), total.poller()),
            Events::GoodOverTotal { good, total } => (good.poller(), total.poller()),
        };
        let firing = vec![false; severities.len()];
        Ok(Slo {
            inner: Arc::new(Inner {
                name: self.name,
                events: self.events,
                objective: self.objective,
                period,
                windows,
                alerts,
                severities,
                clock: self.clock,
                hooks: self.hooks,
                metrics,
                state: Mutex::new(State {
                    bad,
                    total,
                    counts: (0, 0),
                    good: 0,
                    history,
                    firing,
                    exhausted: false,
                }),
            }),
        })
    }
}

impl fmt::Debug for SloBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SloBuilder")
            .field("name", &self.name)
            .field("objective", &self.objective)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

/// The handles an SLO writes on each tick.
struct Metrics {
    objective: FloatGauge,
    remaining: FloatGauge,
    burn: Vec<FloatGauge>,
    firing: Vec<Gauge>,
    exhausted: Gauge,
}

impl Metrics {
    fn register(
        registry: &Registry,
        slo: &str,
        windows: &[Duration],
        severities: &[String],
    ) -> Result<Self, Error> {
        fn family<M: prism_core::Metric + Default>(
            registry: &Registry,
            name: &str,
            help: &str,
            labels: &[&str],
        ) -> Result<Family<M>, Error>
        where
            Family<M>: prism_core::Register,
        {
            registry
                .get_or_register(name, help, || Family::new(labels.iter().copied()))
                .map_err(|source| Error::Registry {
                    name: name.to_owned(),
                    source,
                })
        }
        let objective = family::<FloatGauge>(
            registry,
            "slo_objective",
            "Target ratio of good events of each SLO.",
            &["slo"],
        )?;
        let remaining = family::<FloatGauge>(
            registry,
            "slo_error_budget_remaining",
            "Error budget left over each SLO's period, as a ratio: 1 untouched, 0 spent, below 0 overspent.",
            &["slo"],
        )?;
        let burn = family::<FloatGauge>(
            registry,
            "slo_burn_rate",
            "Error ratio over each window divided by the error ratio the SLO allows (1 spends the budget exactly over the period).",
            &["slo", "window"],
        )?;
        let firing = family::<Gauge>(
            registry,
            "slo_alert_firing",
            "1 while a burn-rate alert of that severity fires for the SLO.",
            &["slo", "severity"],
        )?;
        let exhausted = family::<Gauge>(
            registry,
            "slo_budget_exhausted",
            "1 while the SLO's error budget over its period is spent.",
            &["slo"],
        )?;
        Ok(Self {
            objective: objective.get(&[slo]),
            remaining: remaining.get(&[slo]),
            burn: windows
                .iter()
                .map(|w| burn.get(&[slo, &crate::duration::promql(*w)]))
                .collect(),
            firing: severities.iter().map(|s| firing.get(&[slo, s])).collect(),
            exhausted: exhausted.get(&[slo]),
        })
    }
}

struct State {
    bad: Poller,
    total: Poller,
    /// Running (bad, all) counts since the SLO was made.
    counts: (u64, u64),
    /// Running good count (for good-over-total SLOs).
    good: u64,
    history: History,
    firing: Vec<bool>,
    exhausted: bool,
}

struct Inner {
    name: String,
    events: Events,
    objective: f64,
    period: Duration,
    windows: Vec<Duration>,
    alerts: Vec<BurnRateAlert>,
    severities: Vec<String>,
    clock: Arc<dyn Clock>,
    hooks: Hooks,
    metrics: Metrics,
    state: Mutex<State>,
}

/// An availability SLO over two counters: an objective over a period, its error budget, its
/// burn rate over several windows and its burn-rate alerts.
///
/// Each [`tick`](Self::tick) reads the counters once (nothing is added to their update
/// path), records the running counts in a bounded history (68 KiB for seven windows and a
/// period, whatever its length; see `slo/README.md`), and updates the SLO's metrics in the
/// registry it was registered in, so they show in every format. Alerts change state only on
/// a tick: tick at the evaluation interval you would give Prometheus (e.g. every 30 s or
/// 1 m, with a [`Ticker`](crate::Ticker)).
///
/// ```
/// use prism_core::{Counter, ManualClock, Registry};
/// use prism_slo::{Slo, Source};
/// use std::time::Duration;
///
/// let registry = Registry::new();
/// let requests = registry.register("http_requests", "Requests.", Counter::new())?;
/// let errors = registry.register("http_errors", "Failed requests.", Counter::new())?;
/// let clock = ManualClock::new();
/// let slo = Slo::errors_over_total(
///     "checkout",
///     Source::counter("http_errors", &errors),
///     Source::counter("http_requests", &requests),
/// )
/// .objective(0.999)
/// .clock(clock.clone())
/// .register(&registry)?;
///
/// slo.tick();
/// for _ in 0..10 {
///     clock.advance(Duration::from_secs(60));
///     requests.add(1000);
///     errors.add(20); // 2 % errors: 20 times what 99.9 % allows
///     slo.tick();
/// }
/// assert!((slo.burn_rate(Duration::from_secs(300)) - 20.0).abs() < 1e-9);
/// assert!(slo.firing("page"));
/// // The same SLO as Prometheus rules:
/// let rules = prism_slo::prometheus_rules(&[&slo], &[])?;
/// assert!(rules.contains("alert: SloBurnRatePage"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Slo {
    inner: Arc<Inner>,
}

impl Slo {
    /// An SLO whose bad events are counted by `errors` and all events by `total`.
    pub fn errors_over_total(name: impl Into<String>, errors: Source, total: Source) -> SloBuilder {
        Self::builder(name.into(), Events::ErrorsOverTotal { errors, total })
    }

    /// An SLO whose good events are counted by `good` and all events by `total`; its bad
    /// events are the difference.
    pub fn good_over_total(name: impl Into<String>, good: Source, total: Source) -> SloBuilder {
        Self::builder(name.into(), Events::GoodOverTotal { good, total })
    }

    fn builder(name: String, events: Events) -> SloBuilder {
        SloBuilder {
            name,
            events,
            objective: 0.999,
            period: 30 * DAY,
            windows: DEFAULT_WINDOWS.to_vec(),
            alerts: BurnRateAlert::workbook(),
            scale: 1,
            clock: Arc::new(SystemClock::new()),
            hooks: Hooks::default(),
        }
    }

    /// The SLO's name (the `slo` label of its metrics and rules).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The objective.
    pub fn objective(&self) -> f64 {
        self.inner.objective
    }

    /// The period (scaled down where asked).
    pub fn period(&self) -> Duration {
        self.inner.period
    }

    /// The exposed burn-rate windows (scaled down where asked).
    pub fn windows(&self) -> &[Duration] {
        &self.inner.windows
    }

    /// The burn-rate alerts (scaled down where asked).
    pub fn alerts(&self) -> &[BurnRateAlert] {
        &self.inner.alerts
    }

    /// The alerts' severities, in the order first listed.
    pub fn severities(&self) -> &[String] {
        &self.inner.severities
    }

    pub(crate) fn events(&self) -> &Events {
        &self.inner.events
    }

    /// The error ratio allowed: `1 - objective`.
    pub fn allowed_error_ratio(&self) -> f64 {
        1.0 - self.inner.objective
    }

    /// The error ratio over `window` ending at the last tick: bad over all events, 0 when
    /// there were none, never above 1. `window` must be one the SLO tracks (an exposed
    /// window, an alert window or the period); others read 0.
    pub fn error_ratio(&self, window: Duration) -> f64 {
        let (bad, all) = lock(&self.inner.state).history.increase(window);
        ratio(bad, all)
    }

    /// The burn rate over `window`: the error ratio divided by the allowed error ratio.
    pub fn burn_rate(&self, window: Duration) -> f64 {
        self.error_ratio(window) / self.allowed_error_ratio()
    }

    /// The error budget left over the period, as a ratio: 1 when nothing was spent, 0 when
    /// all was, below 0 when overspent (down to `1 - 1 / (1 - objective)` when every
    /// event failed).
    pub fn budget_remaining(&self) -> f64 {
        remaining(
            self.error_ratio(self.inner.period),
            self.allowed_error_ratio(),
        )
    }

    /// Whether an alert of `severity` is firing (as of the last tick).
    pub fn firing(&self, severity: &str) -> bool {
        let state = lock(&self.inner.state);
        self.inner
            .severities
            .iter()
            .zip(&state.firing)
            .any(|(s, f)| s == severity && *f)
    }

    /// Whether the budget over the period is spent (as of the last tick).
    pub fn exhausted(&self) -> bool {
        lock(&self.inner.state).exhausted
    }

    /// Bytes this SLO's history holds.
    pub fn history_bytes(&self) -> usize {
        lock(&self.inner.state).history.heap_bytes()
    }

    /// Reads both counters, records them, updates the metrics and the alerts' states,
    /// calling the hooks of the alerts that changed.
    pub fn tick(&self) {
        let inner = &*self.inner;
        let now = inner.clock.now();
        let mut events = Vec::new();
        {
            let mut guard = lock(&inner.state);
            let state = &mut *guard;
            // Bad (or good) first: read before the total, it is never ahead of it.
            let first = state.bad.poll().increase;
            let all = state.total.poll().increase;
            let total = state.counts.1.wrapping_add(all);
            let bad = match inner.events {
                Events::ErrorsOverTotal { .. } => state.counts.0.wrapping_add(first),
                Events::GoodOverTotal { .. } => {
                    state.good = state.good.wrapping_add(first);
                    // Running counts only grow: a good count briefly ahead of the total
                    // (read in between two increments) never takes back an error.
                    state.counts.0.max(total.saturating_sub(state.good))
                }
            };
            state.counts = (bad, total);
            state.history.record(now, state.counts);

            let allowed = 1.0 - inner.objective;
            let ratio_over = |w: Duration| {
                let (b, a) = state.history.increase(w);
                ratio(b, a)
            };
            for (w, g) in inner.windows.iter().zip(&inner.metrics.burn) {
                g.set(ratio_over(*w) / allowed);
            }
            let period_ratio = ratio_over(inner.period);
            let left = remaining(period_ratio, allowed);
            inner.metrics.remaining.set(left);

            for (i, severity) in inner.severities.iter().enumerate() {
                // The PromQL rule's comparison, on the same numbers: ratio > factor * allowed.
                let value = inner
                    .alerts
                    .iter()
                    .filter(|a| a.severity() == severity)
                    .filter(|a| {
                        let threshold = a.factor() * allowed;
                        ratio_over(a.long()) > threshold && ratio_over(a.short()) > threshold
                    })
                    .map(|a| ratio_over(a.long()) / allowed)
                    .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
                let now_firing = value.is_some();
                if now_firing != state.firing[i] {
                    state.firing[i] = now_firing;
                    inner.metrics.firing[i].set(i64::from(now_firing));
                    events.push(AlertEvent {
                        name: inner.name.clone(),
                        alert: format!("SloBurnRate{}", camel(severity)),
                        severity: severity.clone(),
                        firing: now_firing,
                        value: value.unwrap_or_else(|| {
                            inner
                                .alerts
                                .iter()
                                .filter(|a| a.severity() == severity)
                                .map(|a| ratio_over(a.long()) / allowed)
                                .fold(0.0, f64::max)
                        }),
                        at: now,
                    });
                }
            }
            let exhausted = period_ratio >= allowed && period_ratio > 0.0;
            if exhausted != state.exhausted {
                state.exhausted = exhausted;
                inner.metrics.exhausted.set(i64::from(exhausted));
                events.push(AlertEvent {
                    name: inner.name.clone(),
                    alert: "SloBudgetExhausted".to_owned(),
                    severity: "exhausted".to_owned(),
                    firing: exhausted,
                    value: left,
                    at: now,
                });
            }
        }
        // Outside the lock: a hook may read the SLO.
        for e in &events {
            inner.hooks.emit(e);
        }
    }
}

/// Bad over all, 0 without events, at most 1 (a bad count read ahead of the total).
pub(crate) fn ratio(bad: u64, all: u64) -> f64 {
    if all == 0 {
        0.0
    } else {
        (bad as f64 / all as f64).min(1.0)
    }
}

/// The budget left at `ratio` errors when `allowed` are allowed.
pub(crate) fn remaining(ratio: f64, allowed: f64) -> f64 {
    1.0 - ratio / allowed
}

impl crate::Tick for Slo {
    fn tick(&self) {
        Slo::tick(self);
    }
}

impl fmt::Debug for Slo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slo")
            .field("name", &self.inner.name)
            .field("objective", &self.inner.objective)
            .field("period", &self.inner.period)
            .field("total", self.inner.events.total())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_windows_are_the_workbooks() {
        let mut ws: Vec<Duration> = BurnRateAlert::workbook()
            .iter()
            .flat_map(|a| [a.long(), a.short()])
            .collect();
        ws.sort();
        ws.dedup();
        assert_eq!(ws, DEFAULT_WINDOWS);
        assert_eq!(DEFAULT_WINDOWS[0], Duration::from_secs(300));
    }
}
