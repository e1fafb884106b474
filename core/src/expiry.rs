//! Expiry of idle series: a family built with
//! [`expire_after`](crate::FamilyBuilder::expire_after) removes the series whose value has
//! not changed for that long.
//!
//! # How idleness is seen
//!
//! The hot path does nothing for it: an update is the metric's atomic operation, as in any
//! family. Idleness is seen by sweeps ([`Family::expire_idle`](crate::Family::expire_idle),
//! run by every registry read before it reads the family): each sweep reads every live
//! series' value and compares it with the value the last sweep kept for the series. A value
//! that moved is kept with the sweep's time; a value that has not moved since a sweep at
//! least `after` ago marks the series idle, and the sweep removes it through the path
//! [`Family::remove`](crate::Family::remove) takes, so what it counted stays in
//! `prism_updates`. A series is therefore removed only after sweeps spanning at least
//! `after` all saw the same value; updates that leave the value where it was (a gauge set to
//! its value, an add of 0) do not count as activity.
//!
//! # What it costs
//!
//! Families without expiry pay nothing. A family with expiry keeps, per live series, the
//! value last seen, the time it was first seen and a reference to the series, in a map the
//! sweeps alone touch (about 80 bytes a series with its table slot; a histogram's value is
//! a copy of its buckets), and each read of the registry reads the family's series twice:
//! once to sweep, once to render.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::family::SeriesArc;
use crate::metric::{Metric, Value};

/// The longest [`expire_after`](crate::FamilyBuilder::expire_after) a family accepts: a
/// year. A series idle for longer than any scrape interval or retention is better removed
/// by hand ([`Family::remove`](crate::Family::remove)).
pub const MAX_EXPIRE_AFTER: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A family's expiry: how long a series may stay unchanged, the clock that says how long it
/// did, and what the sweeps saw.
pub(crate) struct Expiry<M> {
    pub(crate) after: Duration,
    clock: Arc<dyn Clock>,
    /// Held while a sweep compares and notes values; never while a metric is read (a
    /// closure-backed metric runs user code) nor across removals.
    seen: Mutex<Seen<M>>,
}

/// What the sweeps saw, per live series, keyed by the series' address (kept unique by the
/// reference each entry holds).
struct Seen<M> {
    sweep: u64,
    series: HashMap<usize, Watch<M>>,
}

struct Watch<M> {
    /// Keeps the series, and so its address, alive while it is watched.
    _alive: SeriesArc<M>,
    value: Value,
    /// When a sweep first saw `value`.
    since: Duration,
    /// The last sweep that found the series live.
    sweep: u64,
}

/// A series a sweep found idle, and the value it found it at.
pub(crate) struct Idle<M> {
    pub(crate) series: SeriesArc<M>,
    pub(crate) value: Value,
}

impl<M: Metric> Expiry<M> {
    pub(crate) fn new(after: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            after,
            clock,
            seen: Mutex::new(Seen {
                sweep: 0,
                series: HashMap::new(),
            }),
        }
    }

    /// One sweep over `live` (the family's live series): reads and notes each series'
    /// value, and returns the idle ones. Entries of series no longer live are dropped.
    pub(crate) fn sweep(&self, live: &[SeriesArc<M>]) -> Vec<Idle<M>> {
        // Read before the lock: a closure-backed metric may read the registry, and so sweep
        // this family, from inside its read.
        let values: Vec<Value> = live.iter().map(|s| s.metric.read()).collect();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.now();
        seen.sweep += 1;
        let sweep = seen.sweep;
        let mut idle = Vec::new();
        for (series, value) in live.iter().zip(values) {
            let key = triomphe::Arc::as_ptr(series) as usize;
            match seen.series.get_mut(&key) {
                Some(watch) if unchanged(&watch.value, &value) => {
                    watch.sweep = sweep;
                    if now.saturating_sub(watch.since) >= self.after {
                        idle.push(Idle {
                            series: series.clone(),
                            value,
                        });
                    }
                }
                Some(watch) => {
                    *watch = Watch {
                        _alive: series.clone(),
                        value,
                        since: now,
                        sweep,
                    };
                }
                None => {
                    seen.series.insert(
                        key,
                        Watch {
                            _alive: series.clone(),
                            value,
                            since: now,
                            sweep,
                        },
                    );
                }
            }
        }
        // Removed by hand, cleared or expired since: no longer watched, and no longer kept
        // alive by the watch.
        seen.series.retain(|_, watch| watch.sweep == sweep);
        idle
    }
}

/// Whether two reads of one series show no change. Floats compare by bits, so that a NaN
/// gauge left alone is as idle as any other.
pub(crate) fn unchanged(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::CounterF64(x), Value::CounterF64(y)) | (Value::GaugeF64(x), Value::GaugeF64(y)) => {
            x.to_bits() == y.to_bits()
        }
        _ => a == b,
    }
}
