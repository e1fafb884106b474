//! Monotonic counters: [`Counter`] (u64) and [`FloatCounter`] (f64).

use std::fmt;
use std::sync::Arc;

use crate::metric::{Kind, Metric, Value};
use crate::primitive::{AtomicU64, Ordering};

/// A monotonic `u64` counter: one relaxed `fetch_add` per update.
///
/// Cloning shares the count. The counter wraps at 2^64 like the atomic beneath it; at
/// one billion increments a second that takes 584 years.
///
/// ```
/// let registry = prism_core::Registry::new();
/// let requests = registry.register("http_requests", "Requests served.", prism_core::Counter::new())?;
/// requests.inc();
/// requests.add(2);
/// assert_eq!(requests.get(), 3);
/// # Ok::<(), prism_core::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Counter {
    value: Arc<AtomicU64>,
}

impl Counter {
    /// A counter at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    /// The current count.
    #[inline]
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl Metric for Counter {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::Counter(self.get())
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Counter").field(&self.get()).finish()
    }
}

/// A monotonic `f64` counter, for totals that are not whole numbers (seconds of CPU,
/// joules). Stored as the bits of an `f64` in an `AtomicU64`; `add` is a compare-and-swap
/// loop.
///
/// Negative, NaN and infinite increments are ignored: they would make the counter
/// non-monotonic or unreadable, and an update on a held handle never fails.
///
/// ```
/// let seconds = prism_core::FloatCounter::new();
/// seconds.add(0.25);
/// seconds.add(0.5);
/// seconds.add(-1.0); // ignored: counters only go up
/// assert_eq!(seconds.get(), 0.75);
/// ```
#[derive(Clone, Default)]
pub struct FloatCounter {
    bits: Arc<AtomicU64>,
}

impl FloatCounter {
    /// A counter at 0.0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `v` when it is finite and not negative; otherwise does nothing.
    #[inline]
    pub fn add(&self, v: f64) {
        if !(v.is_finite() && v > 0.0) {
            return;
        }
        add_f64(&self.bits, v);
    }

    /// Adds 1.0.
    #[inline]
    pub fn inc(&self) {
        add_f64(&self.bits, 1.0);
    }

    /// The current total.
    #[inline]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

/// Adds to an `f64` kept as bits: load, add, compare-and-swap, retry on a lost race.
/// Shared with the float gauge.
#[inline]
pub(crate) fn add_f64(bits: &AtomicU64, v: f64) {
    let mut current = bits.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + v).to_bits();
        match bits.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

impl Metric for FloatCounter {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::CounterF64(self.get())
    }
}

impl fmt::Debug for FloatCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FloatCounter").field(&self.get()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn counter_counts_and_clones_share() {
        let c = Counter::new();
        let d = c.clone();
        c.inc();
        d.add(41);
        assert_eq!(c.get(), 42);
        assert_eq!(c.read(), Value::Counter(42));
    }

    #[test]
    fn counter_keeps_u64_above_2_pow_53_exact() {
        let c = Counter::new();
        c.add((1 << 53) + 1);
        assert_eq!(c.get(), (1 << 53) + 1);
    }

    #[test]
    fn float_counter_refuses_what_would_break_monotonicity() {
        let c = FloatCounter::new();
        for bad in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0] {
            c.add(bad);
        }
        assert_eq!(c.get(), 0.0);
        c.add(1.5);
        c.inc();
        assert_eq!(c.get(), 2.5);
        assert_eq!(c.read(), Value::CounterF64(2.5));
    }
}
