//! A level changed only by adding: [`UpDownCounter`], OpenTelemetry's up-down counter.

use std::fmt;

use crate::gauge::{Gauge, InFlight};
use crate::metric::{Kind, Metric, Value};

/// An `i64` that only changes by adding and subtracting: requests in flight, items in a
/// queue, open connections. It reads as a gauge in Prometheus and JSON, and as a
/// non-monotonic cumulative `Sum` in OTLP, where adding it up across processes is
/// meaningful (OpenTelemetry's `UpDownCounter`). Use a [`Gauge`] when the value is `set`.
///
/// ```
/// let open = prism_core::UpDownCounter::new();
/// open.inc();
/// {
///     let _guard = open.track(); // +1 now, -1 on drop
///     assert_eq!(open.get(), 2);
/// }
/// open.sub(1);
/// assert_eq!(open.get(), 0);
/// ```
#[derive(Clone, Default)]
pub struct UpDownCounter {
    level: Gauge,
}

impl UpDownCounter {
    /// A counter at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.level.inc();
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.level.dec();
    }

    /// Adds `v` (which may be negative).
    #[inline]
    pub fn add(&self, v: i64) {
        self.level.add(v);
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: i64) {
        self.level.sub(v);
    }

    /// The current level.
    #[inline]
    pub fn get(&self) -> i64 {
        self.level.get()
    }

    /// Adds one now and subtracts it when the guard drops, also during unwinding.
    #[must_use = "the counter goes back down as soon as the guard is dropped"]
    pub fn track(&self) -> InFlight {
        self.level.track()
    }
}

impl Metric for UpDownCounter {
    const KIND: Kind = Kind::Gauge;
    const UP_DOWN: bool = true;
    fn read(&self) -> Value {
        Value::Gauge(self.get())
    }
}

impl fmt::Debug for UpDownCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UpDownCounter").field(&self.get()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::{Family, Registry};

    #[test]
    fn reads_as_a_gauge_marked_up_down() {
        let r = Registry::builder().self_telemetry(false).build();
        let c = r.register("in_flight", "h", UpDownCounter::new()).unwrap();
        let f = r
            .register("queued", "h", Family::<UpDownCounter>::new(["queue"]))
            .unwrap();
        r.register("level", "h", Gauge::new()).unwrap();
        c.add(3);
        c.dec();
        f.get(&["a"]).add(-2);
        let snap = r.snapshot();
        let d = |n: &str| snap.family(n).unwrap().descriptor.clone();
        assert!(d("in_flight").is_up_down_counter());
        assert!(d("queued").is_up_down_counter());
        assert!(!d("level").is_up_down_counter());
        assert_eq!(d("in_flight").kind(), Kind::Gauge);
        assert_eq!(
            snap.family("in_flight").unwrap().series[0].value,
            Value::Gauge(2)
        );
        assert_eq!(
            snap.family("queued").unwrap().series(&["a"]).unwrap().value,
            Value::Gauge(-2)
        );
    }
}
