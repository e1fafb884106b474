//! Sliding-window histograms: [`WindowedHistogram`], a ring of HDR histograms rotated by
//! the clock, read as the merge of the window.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::counts::{Counts, Extremes};
use crate::histogram::{summary_value, HistogramConfig, HistogramError, HistogramSnapshot};
use crate::metric::{Kind, Metric, Value};
use crate::primitive::{AtomicU64, Ordering};
use crate::ring::{check_window, Clear, Ring};

/// The most slots a [`WindowedHistogram`] may have. Each slot is a histogram of its own
/// (216 KiB at most with the default layout, allocated as it fills), and each read merges
/// them all.
pub const MAX_WINDOW_SLOTS: usize = 1024;

impl Clear for Counts {
    fn clear(&self) {
        Counts::clear(self);
    }
}

/// A histogram of the last few minutes: a ring of HDR histograms (default 5 slots of 1
/// minute). Recording goes to the slot of the current time; a slot is cleared when the
/// clock comes round to it again; a read merges the slots of the window, the current one
/// included, so it covers between `slots - 1` and `slots` slot durations.
///
/// No background thread: the clock is read on every record and read, and
/// [`tick`](Self::tick) rotates explicitly. Threads share each slot's bins (relaxed
/// `fetch_add`s): where many threads record into one window at a high rate, a plain
/// [`Histogram`](crate::Histogram) is the faster one.
///
/// Registered, it reads as a [`Value::Summary`]: the quantiles, min and max of the window,
/// with `count` and `sum` since creation (Prometheus wants `_count` and `_sum` of a summary
/// to only go up). [`snapshot`](Self::snapshot) gives the window's own count and sum.
///
/// ```
/// use std::time::Duration;
/// use prism_core::{ManualClock, WindowedHistogram};
///
/// let clock = ManualClock::new();
/// let recent = WindowedHistogram::builder()
///     .slots(5)
///     .slot_duration(Duration::from_secs(60))
///     .clock(clock.clone())
///     .build()?;
/// recent.record(1_000_000);
/// clock.advance(Duration::from_secs(4 * 60));
/// recent.record(3_000_000);
/// assert_eq!(recent.snapshot().count(), 2); // both within the last 5 minutes
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(recent.snapshot().count(), 1); // the first slot came round and was dropped
/// assert_eq!(recent.total_count(), 2);      // the lifetime count stays
/// # Ok::<(), prism_core::HistogramError>(())
/// ```
#[derive(Clone)]
pub struct WindowedHistogram {
    inner: Arc<Inner>,
}

struct Inner {
    config: HistogramConfig,
    ring: Ring<Counts>,
    total_count: AtomicU64,
    total_sum: AtomicU64,
}

/// Options for a [`WindowedHistogram`]: made by [`WindowedHistogram::builder`].
pub struct WindowedHistogramBuilder {
    config: Option<HistogramConfig>,
    slots: usize,
    slot: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for WindowedHistogramBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowedHistogramBuilder")
            .field("config", &self.config)
            .field("slots", &self.slots)
            .field("slot", &self.slot)
            .finish()
    }
}

impl WindowedHistogramBuilder {
    /// The histogram options of every slot (default: the default latency histogram). Its
    /// shard count is not used: a slot is one set of shared bins.
    pub fn histogram(mut self, config: HistogramConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// Slots in the ring (default 5, at most [`MAX_WINDOW_SLOTS`]).
    pub fn slots(mut self, slots: usize) -> Self {
        self.slots = slots;
        self
    }

    /// One slot's duration (default 1 minute, at most
    /// [`MAX_SLOT_DURATION`](crate::MAX_SLOT_DURATION)).
    pub fn slot_duration(mut self, d: Duration) -> Self {
        self.slot = d;
        self
    }

    /// The clock (default [`SystemClock`]); tests pass a [`ManualClock`](crate::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds the window; refuses no slots, more than [`MAX_WINDOW_SLOTS`], and slots of
    /// no duration or longer than [`MAX_SLOT_DURATION`](crate::MAX_SLOT_DURATION).
    pub fn build(self) -> Result<WindowedHistogram, HistogramError> {
        check_window(self.slots, self.slot, MAX_WINDOW_SLOTS)?;
        let config = self.config.unwrap_or_default();
        let layout = config.layout;
        Ok(WindowedHistogram {
            inner: Arc::new(Inner {
                ring: Ring::new(self.slots, self.slot, self.clock, || Counts::new(&layout)),
                config,
                total_count: AtomicU64::new(0),
                total_sum: AtomicU64::new(0),
            }),
        })
    }
}

impl WindowedHistogram {
    /// The default window: 5 slots of 1 minute over the default latency histogram, on the
    /// system clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a window with options.
    pub fn builder() -> WindowedHistogramBuilder {
        WindowedHistogramBuilder {
            config: None,
            slots: 5,
            slot: Duration::from_secs(60),
            clock: Arc::new(SystemClock::new()),
        }
    }

    /// Records one value, in recorded units, into the current slot.
    #[inline]
    pub fn record(&self, value: u64) {
        let inner = &*self.inner;
        let ring = &inner.ring;
        if let Some(slot) = ring.slot_for(ring.epoch()) {
            slot.record_shared(&inner.config.layout, value, 1);
        }
        inner.total_count.fetch_add(1, Ordering::Relaxed);
        inner.total_sum.fetch_add(value, Ordering::Relaxed);
    }

    /// Records a duration in nanoseconds.
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.record(crate::clock::nanos(d));
    }

    /// Rotates to the current slot now, clearing it if it held an older one, without
    /// recording. Records and reads rotate too; call this from a timer to keep the memory
    /// of a quiet window fresh.
    pub fn tick(&self) {
        let ring = &self.inner.ring;
        let _ = ring.slot_for(ring.epoch());
    }

    /// The merge of the window: count, sum, quantiles and buckets of the values recorded
    /// in the slots of the last `slots` slot durations, the current one included.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let inner = &*self.inner;
        let ring = &inner.ring;
        let layout = &inner.config.layout;
        let now = ring.epoch();
        let _ = ring.slot_for(now);
        let first = now.saturating_sub(ring.len() as u64 - 1);
        let mut hdr = layout.new_hdr();
        let mut sum = 0u64;
        let mut extremes = Extremes::default();
        ring.for_each_in(first, now, |counts| {
            sum = sum.wrapping_add(counts.merge_into(layout, &mut hdr));
            extremes.add(counts);
        });
        HistogramSnapshot::new(hdr, sum, extremes, inner.config.clone())
    }

    /// Values recorded since creation.
    pub fn total_count(&self) -> u64 {
        self.inner.total_count.load(Ordering::Relaxed)
    }

    /// Sum of the values recorded since creation, in recorded units, wrapping at 2^64.
    pub fn total_sum(&self) -> u64 {
        self.inner.total_sum.load(Ordering::Relaxed)
    }

    /// The configuration of its slots.
    pub fn config(&self) -> &HistogramConfig {
        &self.inner.config
    }

    /// The window's length: slots times slot duration.
    pub fn window(&self) -> Duration {
        self.inner.ring.span(self.inner.ring.len())
    }
}

impl Default for WindowedHistogram {
    fn default() -> Self {
        Self::builder()
            .build()
            .expect("the default window is valid")
    }
}

impl Metric for WindowedHistogram {
    const KIND: Kind = Kind::Summary;
    fn read(&self) -> Value {
        let mut value = summary_value(self.snapshot().value());
        value.count = self.total_count();
        value.sum = self.inner.config.export(self.total_sum());
        value.bucket_counts = vec![value.count];
        Value::Summary(Box::new(value))
    }
}

impl fmt::Debug for WindowedHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowedHistogram")
            .field("window", &self.window())
            .field("total_count", &self.total_count())
            .finish()
    }
}
