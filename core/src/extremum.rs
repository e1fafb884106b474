//! Trackers of the largest and smallest value seen: [`Max`] and [`Min`].
//!
//! Both keep one `i64` and update it with a load-compare-CAS loop that returns without
//! writing when the new value does not win. A `fetch_max` would write the cache line on
//! every call; here the common case on a busy tracker (most values are not a new maximum)
//! is a plain load, so many threads observing do not bounce the line between cores.

use std::fmt;
use std::sync::Arc;

use crate::metric::{Kind, Metric, Value};
use crate::primitive::{AtomicI64, Ordering};

/// Stores `v` if `wins(v, current)`, retrying when another thread moved the value first.
#[inline]
fn observe(cell: &AtomicI64, v: i64, wins: fn(i64, i64) -> bool) {
    let mut current = cell.load(Ordering::Relaxed);
    while wins(v, current) {
        match cell.compare_exchange_weak(current, v, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

macro_rules! extremum {
    ($(#[$doc:meta])* $name:ident, empty = $empty:expr, wins = $wins:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            cell: Arc<AtomicI64>,
        }

        impl $name {
            /// The value that marks "nothing observed since the last reset".
            pub const EMPTY: i64 = $empty;

            /// A tracker with nothing observed.
            pub fn new() -> Self {
                Self { cell: Arc::new(AtomicI64::new(Self::EMPTY)) }
            }

            /// Records `v`; the tracker keeps it if it beats the current extremum.
            #[inline]
            pub fn observe(&self, v: i64) {
                observe(&self.cell, v, $wins);
            }

            /// The extremum since the last reset, or `None` if nothing was observed.
            #[inline]
            pub fn get(&self) -> Option<i64> {
                Some(self.cell.load(Ordering::Relaxed)).filter(|&v| v != Self::EMPTY)
            }

            /// Returns the extremum of the period that ends now and starts a new, empty one.
            ///
            /// One atomic swap: every concurrent `observe` lands either in the period
            /// returned here or in the next one, never in neither.
            pub fn reset(&self) -> Option<i64> {
                Some(self.cell.swap(Self::EMPTY, Ordering::Relaxed)).filter(|&v| v != Self::EMPTY)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl Metric for $name {
            const KIND: Kind = Kind::Gauge;
            /// Reads as a gauge; a tracker with nothing observed since its last reset reads 0
            /// in every format (use [`get`](Self::get) to tell the two apart).
            fn read(&self) -> Value {
                Value::Gauge(self.get().unwrap_or(0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.get()).finish()
            }
        }
    };
}

extremum!(
    /// The largest `i64` observed since creation or the last [`reset`](Max::reset).
    ///
    /// `i64::MIN` is the empty marker: observing exactly `i64::MIN` leaves the tracker
    /// reading as empty, which is also the maximum of that observation.
    ///
    /// ```
    /// let peak = prism_core::Max::new();
    /// assert_eq!(peak.get(), None);
    /// for v in [3, 9, 4] { peak.observe(v); }
    /// assert_eq!(peak.reset(), Some(9)); // the period's peak; a new period starts
    /// assert_eq!(peak.get(), None);
    /// ```
    Max,
    empty = i64::MIN,
    wins = |v, current| v > current
);

extremum!(
    /// The smallest `i64` observed since creation or the last [`reset`](Min::reset).
    ///
    /// `i64::MAX` is the empty marker: observing exactly `i64::MAX` leaves the tracker
    /// reading as empty.
    ///
    /// ```
    /// let fastest = prism_core::Min::new();
    /// for v in [30, 12, 40] { fastest.observe(v); }
    /// assert_eq!(fastest.get(), Some(12));
    /// ```
    Min,
    empty = i64::MAX,
    wins = |v, current| v < current
);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn max_and_min_track_extremes_and_reset() {
        let max = Max::new();
        let min = Min::new();
        for v in [5, -3, 12, 0, 7] {
            max.observe(v);
            min.observe(v);
        }
        assert_eq!((max.get(), min.get()), (Some(12), Some(-3)));
        assert_eq!(max.read(), Value::Gauge(12));
        assert_eq!(max.reset(), Some(12));
        assert_eq!(max.reset(), None);
        assert_eq!(max.read(), Value::Gauge(0));
        max.observe(-5);
        assert_eq!(max.get(), Some(-5), "a new period starts empty, not at 0");
    }
}
