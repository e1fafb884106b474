//! A counter that stops at a cap: [`Capped`].

use std::fmt;
use std::sync::Arc;

use crate::metric::{Kind, Metric, Value};
use crate::primitive::{AtomicU64, Ordering};

/// A counter that counts up to `cap` and refuses beyond it: admission control, "log the
/// first 100 of these", a budget of retries.
///
/// Out of any number of concurrent [`try_inc`](Capped::try_inc) calls, exactly
/// `cap - start` succeed: each success is one compare-and-swap from `n` to `n + 1` with
/// `n < cap`, and a failed swap retries with the value it saw. Refusals are a load only,
/// so a counter at its cap stays cheap to hammer.
///
/// ```
/// let retries = prism_core::Capped::new(2);
/// assert!(retries.try_inc());
/// assert!(retries.try_inc());
/// assert!(!retries.try_inc()); // the budget is spent
/// assert_eq!(retries.get(), 2);
/// ```
#[derive(Clone)]
pub struct Capped {
    inner: Arc<Inner>,
}

struct Inner {
    value: AtomicU64,
    cap: u64,
}

impl Capped {
    /// A counter at 0 that refuses to pass `cap`.
    pub fn new(cap: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                value: AtomicU64::new(0),
                cap,
            }),
        }
    }

    /// Adds one if the count is below the cap; says whether it did.
    #[inline]
    pub fn try_inc(&self) -> bool {
        self.try_add(1)
    }

    /// Adds `n` if the count stays at or below the cap; says whether it did. All or nothing:
    /// a request that would cross the cap adds nothing.
    #[inline]
    pub fn try_add(&self, n: u64) -> bool {
        let inner = &*self.inner;
        let mut current = inner.value.load(Ordering::Relaxed);
        loop {
            let next = match current.checked_add(n) {
                Some(next) if next <= inner.cap => next,
                _ => return false,
            };
            match inner.value.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// The current count, never above the cap.
    #[inline]
    pub fn get(&self) -> u64 {
        self.inner.value.load(Ordering::Relaxed)
    }

    /// The cap.
    pub fn cap(&self) -> u64 {
        self.inner.cap
    }

    /// How many more increments would succeed now.
    pub fn remaining(&self) -> u64 {
        self.inner.cap - self.get()
    }
}

impl Metric for Capped {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::Counter(self.get())
    }
}

impl fmt::Debug for Capped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capped")
            .field("value", &self.get())
            .field("cap", &self.cap())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn try_add_is_all_or_nothing() {
        let c = Capped::new(10);
        assert!(c.try_add(7));
        assert!(!c.try_add(4));
        assert_eq!(c.remaining(), 3);
        assert!(c.try_add(3));
        assert!(!c.try_inc());
        assert!(!c.try_add(u64::MAX), "overflow is a refusal, not a wrap");
        assert_eq!(c.read(), Value::Counter(10));
    }

    #[test]
    fn zero_cap_refuses_everything() {
        let c = Capped::new(0);
        assert!(!c.try_inc());
        assert!(c.try_add(0), "adding nothing never crosses the cap");
        assert_eq!(c.get(), 0);
    }
}
