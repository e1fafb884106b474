//! The clock windows and rates read: [`Clock`], with [`SystemClock`] for production and
//! [`ManualClock`] for tests that move time by hand.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::primitive::{AtomicU64, Ordering};

/// A monotonic clock: the time since some fixed origin. It must never go backwards;
/// standing still is fine.
pub trait Clock: Send + Sync + 'static {
    /// The time since the clock's origin.
    fn now(&self) -> Duration;
}

/// [`Instant`]-based time since the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to. Clones share the time.
///
/// ```
/// use std::time::Duration;
/// use prism_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let handle = clock.clone();
/// handle.advance(Duration::from_secs(90));
/// assert_eq!(clock.now(), Duration::from_secs(90));
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.nanos.fetch_add(nanos(d), Ordering::Relaxed);
    }

    /// Sets the time; a time earlier than the current one is ignored (clocks only go
    /// forward).
    pub fn set(&self, t: Duration) {
        self.nanos.fetch_max(nanos(t), Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

/// `d` in nanoseconds, saturating at 584 years.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
