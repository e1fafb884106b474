//! Metrics whose value is read from a closure at read time: [`CounterFn`] and [`GaugeFn`],
//! the equivalents of Go's `expvar.Func` and client_golang's `CounterFunc`/`GaugeFunc`.

use std::fmt;
use std::sync::Arc;

use crate::metric::{Kind, Metric, Value};

type ReadFn = Arc<dyn Fn() -> Value + Send + Sync>;

/// A value a [`CounterFn`] closure may return.
pub trait CounterFnValue {
    /// The value as a counter reads it.
    fn into_value(self) -> Value;
}

impl CounterFnValue for u64 {
    fn into_value(self) -> Value {
        Value::Counter(self)
    }
}

impl CounterFnValue for usize {
    fn into_value(self) -> Value {
        Value::Counter(self as u64)
    }
}

impl CounterFnValue for u32 {
    fn into_value(self) -> Value {
        Value::Counter(u64::from(self))
    }
}

/// Floats read as a float counter. A negative or NaN result reads as 0.0, since no format
/// can carry a counter below zero; `+Inf` is kept.
impl CounterFnValue for f64 {
    fn into_value(self) -> Value {
        Value::CounterF64(if self >= 0.0 { self } else { 0.0 })
    }
}

/// A value a [`GaugeFn`] closure may return.
pub trait GaugeFnValue {
    /// The value as a gauge reads it.
    fn into_value(self) -> Value;
}

impl GaugeFnValue for i64 {
    fn into_value(self) -> Value {
        Value::Gauge(self)
    }
}

impl GaugeFnValue for i32 {
    fn into_value(self) -> Value {
        Value::Gauge(i64::from(self))
    }
}

impl GaugeFnValue for u32 {
    fn into_value(self) -> Value {
        Value::Gauge(i64::from(self))
    }
}

/// Unsigned levels above `i64::MAX` read as a float gauge rather than wrapping negative.
impl GaugeFnValue for u64 {
    fn into_value(self) -> Value {
        i64::try_from(self).map_or(Value::GaugeF64(self as f64), Value::Gauge)
    }
}

impl GaugeFnValue for usize {
    fn into_value(self) -> Value {
        GaugeFnValue::into_value(self as u64)
    }
}

impl GaugeFnValue for f64 {
    fn into_value(self) -> Value {
        Value::GaugeF64(self)
    }
}

/// A counter read from a closure each time the registry is read: a total kept by code you
/// do not own (a connection pool's `accepted()`, a kernel statistic).
///
/// The closure runs on the reader's thread, once per read, so it should be quick and must
/// not panic. It should only ever return larger values.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
/// let accepted = Arc::new(AtomicU64::new(7));
/// let source = accepted.clone();
/// let f = prism_core::CounterFn::new(move || source.load(Ordering::Relaxed));
/// assert_eq!(f.get(), prism_core::Value::Counter(7));
/// ```
#[derive(Clone)]
pub struct CounterFn {
    read: ReadFn,
}

impl CounterFn {
    /// A counter that reads `f`. `f` may return `u64`, `u32`, `usize` or `f64`.
    pub fn new<T: CounterFnValue>(f: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self {
            read: Arc::new(move || f().into_value()),
        }
    }

    /// Calls the closure.
    pub fn get(&self) -> Value {
        (self.read)()
    }
}

impl Metric for CounterFn {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        self.get()
    }
}

impl fmt::Debug for CounterFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CounterFn").finish_non_exhaustive()
    }
}

/// A gauge read from a closure each time the registry is read: a queue length, the size of
/// a cache, the process's resident memory.
///
/// ```
/// let f = prism_core::GaugeFn::new(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
/// assert!(matches!(f.get(), prism_core::Value::Gauge(n) if n >= 1));
/// let ratio = prism_core::GaugeFn::new(|| 0.5);
/// assert_eq!(ratio.get(), prism_core::Value::GaugeF64(0.5));
/// ```
#[derive(Clone)]
pub struct GaugeFn {
    read: ReadFn,
}

impl GaugeFn {
    /// A gauge that reads `f`. `f` may return `i64`, `i32`, `u32`, `u64`, `usize` or `f64`.
    pub fn new<T: GaugeFnValue>(f: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self {
            read: Arc::new(move || f().into_value()),
        }
    }

    /// Calls the closure.
    pub fn get(&self) -> Value {
        (self.read)()
    }
}

impl Metric for GaugeFn {
    const KIND: Kind = Kind::Gauge;
    fn read(&self) -> Value {
        self.get()
    }
}

impl fmt::Debug for GaugeFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GaugeFn").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn values_map_to_the_right_variant() {
        assert_eq!(CounterFn::new(|| 3u32).get(), Value::Counter(3));
        assert_eq!(CounterFn::new(|| -1.0).get(), Value::CounterF64(0.0));
        assert_eq!(CounterFn::new(|| f64::NAN).get(), Value::CounterF64(0.0));
        assert_eq!(
            GaugeFn::new(|| u64::MAX).get(),
            Value::GaugeF64(u64::MAX as f64)
        );
        assert_eq!(GaugeFn::new(|| -4i32).get(), Value::Gauge(-4));
    }

    #[test]
    fn the_closure_is_called_at_each_read() {
        use std::sync::atomic::{AtomicI64, Ordering};
        let n = Arc::new(AtomicI64::new(0));
        let m = n.clone();
        let g = GaugeFn::new(move || m.fetch_add(1, Ordering::Relaxed));
        assert_eq!(g.read(), Value::Gauge(0));
        assert_eq!(g.read(), Value::Gauge(1));
        assert_eq!(n.load(Ordering::Relaxed), 2);
    }
}
