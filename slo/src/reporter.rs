//! [`IntervalReporter`]: "requests in the last 10s: X", read from counters without resetting
//! them.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prism_core::{Clock, SystemClock};

use crate::source::{Poller, Source};

/// One source's report for one interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The source's metric name.
    pub name: String,
    /// The time since the previous report (since the reporter was made, for the first).
    pub interval: Duration,
    /// Events counted in the interval. Never negative: a series whose value went down
    /// restarted from zero and adds its new value.
    pub increase: u64,
    /// Series of the source whose value went down in the interval (a restart, a series
    /// removed and made again). 0 in the usual case.
    pub resets: u32,
}

type Callback = Box<dyn FnMut(&Report) + Send>;

/// Reads counters on each [`tick`](Self::tick) and reports what each counted since the last
/// tick, to a callback and as a `tracing` event (target `prism_slo::report`, level INFO:
/// `requests in the last 10s: 1234`).
///
/// It never resets a counter. Go's expvar idiom `Swap(0)` makes a counter per-interval, but
/// every other reader of that counter (a scraper, a second reporter, a dashboard) then sees
/// it fall to zero each interval and reads a reset or loses the counts in between. The
/// reporter keeps each series' last value instead: the reports of a source add up to its
/// total exactly, whatever the writers do in between.
///
/// ```
/// use prism_core::{Counter, ManualClock};
/// use prism_slo::{IntervalReporter, Source};
/// use std::time::Duration;
///
/// let requests = Counter::new();
/// let clock = ManualClock::new();
/// let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let reporter = IntervalReporter::new()
///     .source(Source::counter("requests", &requests))
///     .clock(clock.clone())
///     .on_report(move |r| sink.lock().unwrap().push(r.increase));
/// requests.add(5);
/// clock.advance(Duration::from_secs(10));
/// reporter.tick();
/// requests.add(2);
/// reporter.tick();
/// assert_eq!(*seen.lock().unwrap(), [5, 2]);
/// assert_eq!(requests.get(), 7); // untouched
/// ```
///
/// Cost: one read of each counter (each series, for a family selection) per tick; nothing
/// on the update path.
#[derive(Clone)]
pub struct IntervalReporter {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    pollers: Vec<Poller>,
    clock: Arc<dyn Clock>,
    last: Duration,
    callbacks: Vec<Callback>,
}

impl IntervalReporter {
    /// A reporter with no sources, on the system clock.
    pub fn new() -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let last = clock.now();
        Self {
            inner: Arc::new(Mutex::new(Inner {
                pollers: Vec::new(),
                clock,
                last,
                callbacks: Vec::new(),
            })),
        }
    }

    fn with(self, f: impl FnOnce(&mut Inner)) -> Self {
        f(&mut lock(&self.inner));
        self
    }

    /// Adds a source; its first report counts everything it counted before.
    pub fn source(self, source: Source) -> Self {
        self.with(|i| i.pollers.push(source.poller()))
    }

    /// Reads time from `clock` (a [`ManualClock`](prism_core::ManualClock) in tests).
    pub fn clock(self, clock: impl Clock) -> Self {
        self.with(|i| {
            i.clock = Arc::new(clock);
            i.last = i.clock.now();
        })
    }

    /// Calls `f` with each source's report on every tick. `f` runs while the reporter is
    /// locked: it must not tick the same reporter.
    pub fn on_report(self, f: impl FnMut(&Report) + Send + 'static) -> Self {
        self.with(|i| i.callbacks.push(Box::new(f)))
    }

    /// Reads every source once and reports each; returns the reports.
    pub fn tick(&self) -> Vec<Report> {
        let mut inner = lock(&self.inner);
        let now = inner.clock.now();
        let interval = now.saturating_sub(inner.last);
        inner.last = now;
        let reports: Vec<Report> = inner
            .pollers
            .iter_mut()
            .map(|p| {
                let d = p.poll();
                Report {
                    name: p.source().name().to_owned(),
                    interval,
                    increase: d.increase,
                    resets: d.resets,
                }
            })
            .collect();
        for r in &reports {
            tracing::info!(
                target: "prism_slo::report",
                name = %r.name,
                increase = r.increase,
                resets = r.resets,
                interval_s = r.interval.as_secs_f64(),
                "{} in the last {}: {}",
                r.name,
                crate::duration::promql(r.interval),
                r.increase
            );
            for cb in &mut inner.callbacks {
                cb(r);
            }
        }
        reports
    }
}

impl Default for IntervalReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for IntervalReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = lock(&self.inner);
        let sources: Vec<&Source> = inner.pollers.iter().map(Poller::source).collect();
        f.debug_struct("IntervalReporter")
            .field("sources", &sources)
            .finish_non_exhaustive()
    }
}

impl crate::Tick for IntervalReporter {
    fn tick(&self) {
        IntervalReporter::tick(self);
    }
}

/// Locks, going on after a panic in a callback: the state is consistent between ticks.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
