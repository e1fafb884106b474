//! Sliding-window rates: [`WindowedRate`], a ring of per-second counters.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::histogram::HistogramError;
use crate::metric::{Kind, Metric, Value};
use crate::primitive::{AtomicU64, Ordering};
use crate::ring::{check_window, Clear, Ring};

/// The most complete slots a [`WindowedRate`] may have: a day of one-second slots, 1.4 MB,
/// every one of them summed by each read.
pub const MAX_RATE_SLOTS: usize = 86_400;

struct SlotCount(AtomicU64);

impl Clear for SlotCount {
    fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// Events in the last minute, and their rate: a ring of per-second counters (default 60
/// slots of 1 second), rotated by the clock on access.
///
/// [`count`](Self::count) is the events of the last `slots` *complete* slots, the running
/// one left out: read exactly on a slot boundary it is the events of the last 60 seconds to
/// the nanosecond, and between boundaries it does not jump as the running second fills.
/// [`rate`](Self::rate) is that count per second. Registered, it reads as a float gauge of
/// the rate.
///
/// ```
/// use std::time::Duration;
/// use prism_core::{ManualClock, WindowedRate};
///
/// let clock = ManualClock::new();
/// let rate = WindowedRate::builder().clock(clock.clone()).build()?;
/// rate.add(30);
/// clock.advance(Duration::from_millis(500));
/// rate.add(30);
/// assert_eq!(rate.count(), 0); // the first second is still running
/// clock.advance(Duration::from_millis(500));
/// assert_eq!(rate.count(), 60);
/// assert_eq!(rate.rate(), 1.0); // 60 events over 60 seconds
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(rate.count(), 0); // a minute later they are out of the window
/// # Ok::<(), prism_core::HistogramError>(())
/// ```
#[derive(Clone)]
pub struct WindowedRate {
    ring: Arc<Ring<SlotCount>>,
}

/// Options for a [`WindowedRate`]: made by [`WindowedRate::builder`].
pub struct WindowedRateBuilder {
    slots: usize,
    slot: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WindowedRateBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowedRateBuilder")
            .field("slots", &self.slots)
            .field("slot", &self.slot)
            .finish()
    }
}

impl WindowedRateBuilder {
    /// Complete slots in the window (default 60, at most [`MAX_RATE_SLOTS`]).
    pub fn slots(mut self, slots: usize) -> Self {
        self.slots = slots;
        self
    }

    /// One slot's duration (default 1 second, at most
    /// [`MAX_SLOT_DURATION`](crate::MAX_SLOT_DURATION)).
    pub fn slot_duration(mut self, d: Duration) -> Self {
        self.slot = d;
        self
    }

    /// The clock (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds the rate; refuses no slots, more than [`MAX_RATE_SLOTS`], and slots of no
    /// duration or longer than [`MAX_SLOT_DURATION`](crate::MAX_SLOT_DURATION).
    pub fn build(self) -> Result<WindowedRate, HistogramError> {
        check_window(self.slots, self.slot, MAX_RATE_SLOTS)?;
        // One more slot than the window: the running one.
        Ok(WindowedRate {
            ring: Arc::new(Ring::new(self.slots + 1, self.slot, self.clock, || {
                SlotCount(AtomicU64::new(0))
            })),
        })
    }
}

impl WindowedRate {
    /// 60 slots of 1 second on the system clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a rate with options.
    pub fn builder() -> WindowedRateBuilder {
        WindowedRateBuilder {
            slots: 60,
            slot: Duration::from_secs(1),
            clock: Arc::new(SystemClock::new()),
        }
    }

    /// Counts one event.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Counts `n` events.
    #[inline]
    pub fn add(&self, n: u64) {
        if let Some(slot) = self.ring.slot_for(self.ring.epoch()) {
            slot.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Rotates to the current slot without counting.
    pub fn tick(&self) {
        let _ = self.ring.slot_for(self.ring.epoch());
    }

    /// Events in the last `slots` complete slots.
    pub fn count(&self) -> u64 {
        let now = self.ring.epoch();
        let _ = self.ring.slot_for(now);
        let Some(last) = now.checked_sub(1) else {
            return 0;
        };
        let first = now.saturating_sub(self.window_slots() as u64);
        let mut total = 0u64;
        self.ring.for_each_in(first, last, |c| {
            total = total.wrapping_add(c.0.load(Ordering::Relaxed))
        });
        total
    }

    /// Events so far in the running slot.
    pub fn current(&self) -> u64 {
        let now = self.ring.epoch();
        let mut total = 0;
        self.ring
            .for_each_in(now, now, |c| total = c.0.load(Ordering::Relaxed));
        total
    }

    /// [`count`](Self::count) per second of the window.
    pub fn rate(&self) -> f64 {
        self.count() as f64 / self.window().as_secs_f64()
    }

    /// The window: complete slots times slot duration.
    pub fn window(&self) -> Duration {
        self.ring.span(self.window_slots())
    }

    fn window_slots(&self) -> usize {
        self.ring.len() - 1
    }
}

impl Default for WindowedRate {
    fn default() -> Self {
        Self::builder().build().expect("the default rate is valid")
    }
}

impl Metric for WindowedRate {
    const KIND: Kind = Kind::Gauge;
    fn read(&self) -> Value {
        Value::GaugeF64(self.rate())
    }
}

impl fmt::Debug for WindowedRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowedRate")
            .field("window", &self.window())
            .field("count", &self.count())
            .finish()
    }
}
