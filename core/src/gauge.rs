//! Levels that go up and down: [`Gauge`] (i64), [`FloatGauge`] (f64) and the in-flight
//! guard [`InFlight`].

use std::fmt;
use std::sync::Arc;

use crate::counter::add_f64;
use crate::metric::{Kind, Metric, Value};
use crate::primitive::{AtomicI64, AtomicU64, Ordering};

/// An `i64` gauge: queue depth, connections, requests in flight.
///
/// Arithmetic wraps at the ends of `i64` like the atomic beneath it.
///
/// ```
/// let in_flight = prism_core::Gauge::new();
/// {
///     let _guard = in_flight.track(); // +1 now
///     assert_eq!(in_flight.get(), 1);
/// } // -1 here, also when the code unwinds
/// assert_eq!(in_flight.get(), 0);
/// in_flight.set(10);
/// in_flight.sub(3);
/// assert_eq!(in_flight.get(), 7);
/// ```
#[derive(Clone, Default)]
pub struct Gauge {
    value: Arc<AtomicI64>,
}

impl Gauge {
    /// A gauge at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the level.
    #[inline]
    pub fn set(&self, v: i64) {
        self.value.store(v, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.sub(1);
    }

    /// Adds `v` (which may be negative).
    #[inline]
    pub fn add(&self, v: i64) {
        self.value.fetch_add(v, Ordering::Relaxed);
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: i64) {
        self.value.fetch_sub(v, Ordering::Relaxed);
    }

    /// The current level.
    #[inline]
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }

    /// Adds one now and subtracts it when the returned guard drops, also during a panic's
    /// unwinding. The guard owns a clone of the gauge, so it can outlive a family lookup.
    #[must_use = "the gauge goes back down as soon as the guard is dropped"]
    pub fn track(&self) -> InFlight {
        self.inc();
        InFlight {
            gauge: self.clone(),
        }
    }
}

impl Metric for Gauge {
    const KIND: Kind = Kind::Gauge;
    fn read(&self) -> Value {
        Value::Gauge(self.get())
    }
}

impl fmt::Debug for Gauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Gauge").field(&self.get()).finish()
    }
}

/// Holds one unit of a [`Gauge`] and gives it back on drop. Made by [`Gauge::track`].
#[derive(Debug)]
pub struct InFlight {
    gauge: Gauge,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// An `f64` gauge: temperatures, ratios, sizes that are not whole. Stored as the bits of an
/// `f64`; `set` is a store, `add` a compare-and-swap loop. NaN and infinities are kept and
/// printed as each format spells them.
///
/// ```
/// let ratio = prism_core::FloatGauge::new();
/// ratio.set(0.5);
/// ratio.add(0.25);
/// ratio.dec();
/// assert_eq!(ratio.get(), -0.25);
/// ```
#[derive(Clone, Default)]
pub struct FloatGauge {
    bits: Arc<AtomicU64>,
}

impl FloatGauge {
    /// A gauge at 0.0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the level.
    #[inline]
    pub fn set(&self, v: f64) {
        self.bits.store(v.to_bits(), Ordering::Relaxed);
    }

    /// Adds 1.0.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts 1.0.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// Adds `v`.
    #[inline]
    pub fn add(&self, v: f64) {
        add_f64(&self.bits, v);
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: f64) {
        add_f64(&self.bits, -v);
    }

    /// The current level.
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

impl Metric for FloatGauge {
    const KIND: Kind = Kind::Gauge;
    fn read(&self) -> Value {
        Value::GaugeF64(self.get())
    }
}

impl fmt::Debug for FloatGauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FloatGauge").field(&self.get()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn gauge_arithmetic() {
        let g = Gauge::new();
        g.set(5);
        g.inc();
        g.dec();
        g.add(-10);
        g.sub(-2);
        assert_eq!(g.get(), -3);
        assert_eq!(g.read(), Value::Gauge(-3));
    }

    #[test]
    fn track_gives_back_on_unwind() {
        let g = Gauge::new();
        let g2 = g.clone();
        let result = std::panic::catch_unwind(move || {
            let _guard = g2.track();
            assert_eq!(g2.get(), 1);
            panic!("handler failed");
        });
        assert!(result.is_err());
        assert_eq!(g.get(), 0);
    }

    #[test]
    fn float_gauge_keeps_non_finite_values() {
        let g = FloatGauge::new();
        g.set(f64::NAN);
        assert!(g.get().is_nan());
        g.set(f64::NEG_INFINITY);
        assert_eq!(g.read(), Value::GaugeF64(f64::NEG_INFINITY));
        g.set(1.0);
        g.sub(0.5);
        g.inc();
        assert_eq!(g.get(), 1.5);
    }
}
