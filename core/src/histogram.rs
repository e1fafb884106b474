//! Latency histograms: [`Histogram`], HDR-backed, sharded per thread, merged at read time;
//! built from a [`HistogramConfig`], timed with a [`Timer`].
//!
//! # How a record runs
//!
//! Each histogram has `2 * shards` shards of [`HdrLayout`] bins (see `counts.rs`), each
//! allocated when first written. The calling thread's process-wide slot (`thread_slot.rs`)
//! picks its shard: slots below `shards` own theirs alone and record with plain loads and
//! stores (no read-modify-write), the others share the upper half, `slot % shards`, with
//! relaxed `fetch_add`s. A record is the bin index (a few shifts), the bin update, the
//! block bit (a load, a store only the first time) and the sum. No lock, no allocation once
//! the value's run of bins exists.
//!
//! # How a read runs
//!
//! A read merges the touched blocks of every allocated shard into one
//! [`hdrhistogram::Histogram`] of the same layout and computes the count, the quantiles and
//! the export buckets from it. A record that races the read shows up in this read or the
//! next; the count and the sum may be one such record apart.
//!
//! # Memory
//!
//! The bins of one shard cover `low..=high` in runs of [`HdrLayout::run_len`] `u64`s; the
//! default layout (1 ns to 60 s, 3 digits) has 27 runs of 1024 bins, 216 KiB in all. A run is
//! allocated the first time a value falls in it, so values spread over one decade (100 us to
//! 1 ms, say) cost about 4 runs, 32 KiB, per shard that recorded them. The bound:
//! [`HistogramConfig::max_bytes`], `2 * shards * 216 KiB` plus the tables (6.8 MiB at 16
//! shards); an empty histogram holds one 128-byte cache line per shard, 4 KiB at 16 shards
//! (see [`Histogram::allocated_bytes`]). Families multiply this by their series: give their
//! histograms one shard, or fewer digits (2 digits make runs of 128 bins, 1 KiB).

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::counts::{Counts, Extremes};
use crate::hdr::{HdrLayout, LayoutError};
use crate::histogram_value::{HistogramValue, QUANTILES};
use crate::metric::{Kind, Metric, Value};
use crate::thread_slot;

/// Default export bounds, in seconds: Prometheus' default buckets, extended down to 0.5 ms
/// for services that answer in under 5 ms.
pub const DEFAULT_BOUNDS_SECONDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Most exclusive shards a histogram may have: 256 threads recording at once without a
/// read-modify-write, 2 * 256 * 216 KiB = 108 MiB at worst with the default layout.
pub const MAX_HISTOGRAM_SHARDS: usize = 256;

/// Why a histogram configuration was refused.
///
/// Equality compares the bounds and scales it reports by their bits, so that an error equals
/// itself even when it reports a NaN: that makes it `Eq`, and [`Error`](crate::Error), which
/// holds it, too.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum HistogramError {
    /// The range or precision cannot be laid out.
    Layout(LayoutError),
    /// An export bound is negative, not finite, or not above the one before it.
    Bounds {
        /// The offending bound.
        bound: f64,
    },
    /// A unit scale that is not finite and positive.
    Scale(f64),
    /// A shard count of 0 or above [`MAX_HISTOGRAM_SHARDS`].
    Shards(usize),
    /// A window of no slots, or slots of no duration.
    Window,
    /// A window of more slots than its kind allows
    /// ([`MAX_WINDOW_SLOTS`](crate::MAX_WINDOW_SLOTS) for a
    /// [`WindowedHistogram`](crate::WindowedHistogram),
    /// [`MAX_RATE_SLOTS`](crate::MAX_RATE_SLOTS) for a [`WindowedRate`](crate::WindowedRate)).
    #[non_exhaustive]
    WindowSlots {
        /// The slot count given.
        slots: usize,
        /// The most the window allows.
        max: usize,
    },
    /// A slot longer than [`MAX_SLOT_DURATION`](crate::MAX_SLOT_DURATION).
    #[non_exhaustive]
    SlotDuration {
        /// The duration given.
        slot: Duration,
    },
}

impl PartialEq for HistogramError {
    fn eq(&self, other: &Self) -> bool {
        use HistogramError as E;
        match (self, other) {
            (E::Layout(a), E::Layout(b)) => a == b,
            (E::Bounds { bound: a }, E::Bounds { bound: b }) | (E::Scale(a), E::Scale(b)) => {
                a.to_bits() == b.to_bits()
            }
            (E::Shards(a), E::Shards(b)) => a == b,
            (E::Window, E::Window) => true,
            (
                E::WindowSlots { slots, max },
                E::WindowSlots {
                    slots: slots_b,
                    max: max_b,
                },
            ) => slots == slots_b && max == max_b,
            (E::SlotDuration { slot }, E::SlotDuration { slot: slot_b }) => slot == slot_b,
            _ => false,
        }
    }
}

impl Eq for HistogramError {}

impl fmt::Display for HistogramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistogramError::Layout(e) => write!(f, "invalid histogram range or precision: {e}"),
            HistogramError::Bounds { bound } => write!(
                f,
                "invalid export bound {bound}: bounds must be finite, at least 0 and strictly \
                 increasing (leave out +Inf, every histogram has it)"
            ),
            HistogramError::Scale(s) => write!(
                f,
                "invalid unit scale {s}: give the exported units per recorded unit, finite and \
                 above 0 (1e-9 to record nanoseconds and export seconds)"
            ),
            HistogramError::Shards(n) => write!(
                f,
                "invalid shard count {n}: give 1 to {MAX_HISTOGRAM_SHARDS} (one per thread that records \
                 concurrently)"
            ),
            HistogramError::Window => {
                write!(f, "a window needs at least one slot and a slot duration above 0")
            }
            HistogramError::WindowSlots { slots, max } => write!(
                f,
                "a window of {slots} slots is more than the {max} it may have; use longer slots \
                 for a longer window"
            ),
            HistogramError::SlotDuration { slot } => write!(
                f,
                "a slot of {slot:?} is longer than the {:?} a slot may last; use more slots \
                 for a longer window",
                crate::ring::MAX_SLOT_DURATION
            ),
        }
    }
}

impl std::error::Error for HistogramError {}

impl From<LayoutError> for HistogramError {
    fn from(e: LayoutError) -> Self {
        HistogramError::Layout(e)
    }
}

/// Options for a [`Histogram`]: made by [`Histogram::builder`].
///
/// The defaults make a latency histogram: values recorded in nanoseconds from 1 ns to 60 s at
/// 3 significant digits, exported in seconds ([`unit_scale`](Self::unit_scale) `1e-9`) with
/// the bounds [`DEFAULT_BOUNDS_SECONDS`], and one exclusive shard per CPU (at most 16).
#[derive(Debug, Clone)]
pub struct HistogramBuilder {
    low: u64,
    high: u64,
    sigfig: u8,
    scale: f64,
    bounds: Vec<f64>,
    shards: Option<usize>,
}

impl Default for HistogramBuilder {
    fn default() -> Self {
        Self {
            low: 1,
            high: 60_000_000_000,
            sigfig: 3,
            scale: 1e-9,
            bounds: DEFAULT_BOUNDS_SECONDS.to_vec(),
            shards: None,
        }
    }
}

impl HistogramBuilder {
    /// The lowest discernible value, in recorded units (default 1).
    pub fn lowest(mut self, low: u64) -> Self {
        self.low = low;
        self
    }

    /// The highest trackable value, in recorded units (default 60 s in ns). Values past the
    /// last bin (this, rounded up to its power of two) are counted in the last bin; their
    /// exact value still goes into the sum.
    pub fn highest(mut self, high: u64) -> Self {
        self.high = high;
        self
    }

    /// Significant decimal digits kept, 0 to 5 (default 3: within 0.1 %).
    pub fn significant_digits(mut self, digits: u8) -> Self {
        self.sigfig = digits;
        self
    }

    /// Exported units per recorded unit (default `1e-9`: nanoseconds in, seconds out). Use
    /// `1.0` for a histogram of sizes or counts. Bounds are given in exported units.
    pub fn unit_scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    /// The explicit export bounds, in exported units, strictly increasing, without `+Inf`.
    pub fn buckets(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        self.bounds = bounds.into_iter().collect();
        self
    }

    /// Exclusive shards: how many threads record with no read-modify-write at all (default:
    /// the CPU count rounded up to a power of two, at most 16). As many shared shards come
    /// with them, for the threads beyond. Memory grows with both; see the module docs.
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Checks the options and returns a configuration that builds histograms without
    /// failing: the way to give every series of a [`Family`](crate::Family) the same options.
    ///
    /// ```
    /// use prism_core::{Family, Histogram, Registry};
    ///
    /// let config = Histogram::builder().shards(1).config()?;
    /// let registry = Registry::new();
    /// let latency = registry.register(
    ///     "rpc_duration_seconds",
    ///     "RPC latency by method.",
    ///     Family::builder(["method"]).cardinality_limit(100).build_with(move || config.build())?,
    /// )?;
    /// latency.get(&["get"]).record(1_500_000); // 1.5 ms, in ns
    /// assert_eq!(latency.get(&["get"]).count(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn config(self) -> Result<HistogramConfig, HistogramError> {
        let layout = HdrLayout::new(self.low, self.high, self.sigfig)?;
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return Err(HistogramError::Scale(self.scale));
        }
        let mut previous = f64::NEG_INFINITY;
        for &bound in &self.bounds {
            if !(bound.is_finite() && bound >= 0.0 && bound > previous) {
                return Err(HistogramError::Bounds { bound });
            }
            previous = bound;
        }
        let shards = self.shards.unwrap_or_else(default_shards);
        if shards == 0 || shards > MAX_HISTOGRAM_SHARDS {
            return Err(HistogramError::Shards(shards));
        }
        let bound_bins = self
            .bounds
            .iter()
            .map(|&b| {
                let raw = (b / self.scale).round();
                // `as` saturates: a bound beyond u64 is beyond `high` and clamps there.
                layout.index(raw as u64)
            })
            .collect();
        Ok(HistogramConfig {
            layout,
            scale: self.scale,
            bounds: self.bounds.into(),
            bound_bins,
            shards,
        })
    }

    /// Builds a histogram.
    pub fn build(self) -> Result<Histogram, HistogramError> {
        Ok(self.config()?.build())
    }
}

fn default_shards() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .next_power_of_two()
        .min(16)
}

/// A checked histogram configuration: layout, unit scale, export bounds and shard count.
/// Cheap to clone; [`build`](Self::build) never fails.
#[derive(Debug, Clone)]
pub struct HistogramConfig {
    pub(crate) layout: HdrLayout,
    pub(crate) scale: f64,
    pub(crate) bounds: Arc<[f64]>,
    /// The last bin each bound counts: bins up to it are `<=` the bound.
    pub(crate) bound_bins: Arc<[usize]>,
    pub(crate) shards: usize,
}

impl HistogramConfig {
    /// A new, empty histogram of this configuration.
    pub fn build(&self) -> Histogram {
        Histogram {
            inner: Arc::new(Inner {
                config: self.clone(),
                shards: (0..2 * self.shards)
                    .map(|_| CachePadded::new(crate::counts::eager(|| Counts::new(&self.layout))))
                    .collect(),
            }),
        }
    }

    /// The bin layout.
    pub fn layout(&self) -> &HdrLayout {
        &self.layout
    }

    /// The export bounds, in exported units.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Exported units per recorded unit.
    pub fn unit_scale(&self) -> f64 {
        self.scale
    }

    /// Exclusive shards (there are as many shared ones).
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// The most bytes one histogram of this configuration can hold: every run of every
    /// shard allocated.
    pub fn max_bytes(&self) -> usize {
        std::mem::size_of::<Inner>()
            + 2 * self.shards
                * (Counts::max_bytes(&self.layout) + std::mem::size_of::<OnceLock<Counts>>())
    }

    /// A recorded value in exported units. Dividing by a whole reciprocal (1e9 for
    /// nanoseconds to seconds) rounds once, where multiplying by `1e-9`, itself inexact,
    /// would print 2 us as `2.0000000000000003e-6`.
    pub(crate) fn export(&self, v: u64) -> f64 {
        let inverse = (1.0 / self.scale).round();
        if inverse > 1.0 && 1.0 / inverse == self.scale {
            v as f64 / inverse
        } else {
            v as f64 * self.scale
        }
    }

    /// Turns merged counts and their sum into the value the formats render.
    pub(crate) fn value(
        &self,
        hdr: &hdrhistogram::Histogram<u64>,
        sum: u64,
        extremes: &Extremes,
    ) -> HistogramValue {
        let mut bucket_counts = vec![0u64; self.bounds.len() + 1];
        let mut k = 0;
        for bin in hdr.iter_recorded() {
            let index = self.layout.index(bin.value_iterated_to());
            while k < self.bound_bins.len() && self.bound_bins[k] < index {
                k += 1;
            }
            bucket_counts[k] += bin.count_at_value();
        }
        let count = hdr.len();
        let some = |v: u64| (count > 0).then(|| self.export(v));
        HistogramValue {
            bounds: self.bounds.clone(),
            bucket_counts,
            count,
            sum: self.export(sum),
            min: (count > 0).then(|| self.export(extremes.min(&self.layout, hdr))),
            max: (count > 0).then(|| self.export(extremes.max(&self.layout, hdr))),
            quantiles: QUANTILES.map(|q| some(hdr.value_at_quantile(q))),
        }
    }
}

impl Default for HistogramConfig {
    fn default() -> Self {
        HistogramBuilder::default()
            .config()
            .expect("the default configuration is valid")
    }
}

/// A latency histogram: HDR bins in per-thread shards, merged at read time.
///
/// Cloning shares the histogram. [`Histogram::new`] makes the default latency histogram
/// (nanoseconds in, seconds out, 1 ns to 60 s at 3 digits); [`Histogram::builder`] sets
/// the range, precision, unit, export bounds and shards. It reads as
/// [`Value::Histogram`]; wrap it in a [`Summary`] to export quantiles instead of buckets.
///
/// ```
/// use std::time::Duration;
/// use prism_core::{Histogram, Registry};
///
/// let registry = Registry::new();
/// let latency = registry.register(
///     "http_request_duration_seconds",
///     "Request latency.",
///     Histogram::new(),
/// )?;
/// latency.record_duration(Duration::from_millis(3));
/// latency.record(7_000_000); // nanoseconds
/// {
///     let _timer = latency.start_timer(); // records on drop
/// }
/// let read = latency.snapshot();
/// assert_eq!(read.count(), 3);
/// assert_eq!(read.max(), 7_000_000); // exact
/// assert!(read.quantile(1.0) >= 7_000_000 && read.quantile(1.0) <= 7_007_000); // within 0.1 %
/// # Ok::<(), prism_core::Error>(())
/// ```
///
/// # Size and alignment
///
/// The handle is one pointer. See the module docs for the memory behind it: 256 bytes
/// per exclusive shard empty (its cell and its shared twin's, each padded to 128 bytes, the
/// line pair x86-64 prefetches), 8 KiB per run of 1024 bins a shard touches, at most
/// [`HistogramConfig::max_bytes`].
#[derive(Clone)]
pub struct Histogram {
    inner: Arc<Inner>,
}

struct Inner {
    config: HistogramConfig,
    /// `[0, shards)` one writer each; `[shards, 2 * shards)` shared. Padded: each shard's
    /// sum is written on every record, by a different thread.
    shards: Box<[CachePadded<OnceLock<Counts>>]>,
}

impl Histogram {
    /// The default latency histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a histogram with options.
    pub fn builder() -> HistogramBuilder {
        HistogramBuilder::default()
    }

    /// Records one value, in recorded units.
    #[inline]
    pub fn record(&self, value: u64) {
        self.record_n(value, 1);
    }

    /// Records `n` occurrences of `value`.
    #[inline]
    pub fn record_n(&self, value: u64, n: u64) {
        let inner = &*self.inner;
        let layout = &inner.config.layout;
        let exclusive = inner.config.shards;
        let slot = thread_slot::current();
        if slot < exclusive {
            inner.shard(slot).record_exclusive(layout, value, n);
        } else {
            inner
                .shard(exclusive + slot % exclusive)
                .record_shared(layout, value, n);
        }
    }

    /// Records a duration in nanoseconds (saturating at `u64::MAX` ns, 584 years): for
    /// histograms recorded in nanoseconds, as the default one is.
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// A guard that records the time until it drops (or [`stop`](Timer::stop)s), in
    /// nanoseconds.
    pub fn start_timer(&self) -> Timer<'_> {
        Timer {
            histogram: self,
            start: Instant::now(),
            armed: true,
        }
    }

    /// Merges the shards once: read several statistics from one consistent merge.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let config = &self.inner.config;
        let mut hdr = config.layout.new_hdr();
        let mut sum = 0u64;
        let mut extremes = Extremes::default();
        for shard in self.inner.shards.iter().filter_map(|s| s.get()) {
            sum = sum.wrapping_add(shard.merge_into(&config.layout, &mut hdr));
            extremes.add(shard);
        }
        HistogramSnapshot {
            hdr,
            sum,
            extremes,
            config: config.clone(),
        }
    }

    /// The value at quantile `q` (0.0 to 1.0), in recorded units: the highest value of the
    /// bin holding it, within the precision; 0 when empty. One merge per call: use
    /// [`snapshot`](Self::snapshot) for several.
    pub fn quantile(&self, q: f64) -> u64 {
        self.snapshot().quantile(q)
    }

    /// Values recorded (one merge).
    pub fn count(&self) -> u64 {
        self.snapshot().count()
    }

    /// Exact sum of the values recorded, in recorded units, wrapping at 2^64 (one merge).
    pub fn sum(&self) -> u64 {
        self.snapshot().sum()
    }

    /// The smallest value recorded, exact; 0 when empty (one merge).
    pub fn min(&self) -> u64 {
        self.snapshot().min()
    }

    /// The largest value recorded, exact; 0 when empty (one merge).
    pub fn max(&self) -> u64 {
        self.snapshot().max()
    }

    /// `sum / count`, exact; 0.0 when empty (one merge).
    pub fn mean(&self) -> f64 {
        self.snapshot().mean()
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &HistogramConfig {
        &self.inner.config
    }

    /// Bytes this histogram holds now: its tables and the runs of bins allocated so far.
    pub fn allocated_bytes(&self) -> usize {
        let layout = &self.inner.config.layout;
        std::mem::size_of::<Inner>()
            + self.inner.shards.len() * std::mem::size_of::<CachePadded<OnceLock<Counts>>>()
            + self
                .inner
                .shards
                .iter()
                .filter_map(|s| s.get())
                .map(|c| c.allocated_bytes(layout))
                .sum::<usize>()
    }
}

impl Inner {
    #[inline]
    fn shard(&self, i: usize) -> &Counts {
        let cell = &self.shards[i];
        match cell.get() {
            Some(counts) => counts,
            None => self.allocate(cell),
        }
    }

    #[cold]
    #[inline(never)]
    fn allocate<'a>(&self, cell: &'a OnceLock<Counts>) -> &'a Counts {
        cell.get_or_init(|| Counts::new(&self.config.layout))
    }
}

impl Default for Histogram {
    fn default() -> Self {
        HistogramConfig::default().build()
    }
}

impl Metric for Histogram {
    const KIND: Kind = Kind::Histogram;
    fn read(&self) -> Value {
        Value::Histogram(Box::new(self.snapshot().value()))
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let read = self.snapshot();
        f.debug_struct("Histogram")
            .field("count", &read.count())
            .field("sum", &read.sum())
            .field("layout", &self.inner.config.layout)
            .finish()
    }
}

/// One merge of a histogram's shards: an `hdrhistogram::Histogram` and the exact sum, in
/// recorded units.
#[derive(Debug, Clone)]
pub struct HistogramSnapshot {
    hdr: hdrhistogram::Histogram<u64>,
    sum: u64,
    extremes: Extremes,
    config: HistogramConfig,
}

impl HistogramSnapshot {
    pub(crate) fn new(
        hdr: hdrhistogram::Histogram<u64>,
        sum: u64,
        extremes: Extremes,
        config: HistogramConfig,
    ) -> Self {
        Self {
            hdr,
            sum,
            extremes,
            config,
        }
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.hdr.len()
    }

    /// Exact sum, in recorded units, wrapping at 2^64.
    pub fn sum(&self) -> u64 {
        self.sum
    }

    /// The smallest value recorded, exact; 0 when empty. (Read while a record races, it
    /// may be the lowest value of the smallest value's bin instead, within the precision.)
    pub fn min(&self) -> u64 {
        if self.hdr.is_empty() {
            0
        } else {
            self.extremes.min(&self.config.layout, &self.hdr)
        }
    }

    /// The largest value recorded, exact (even past the highest trackable value, whose
    /// count goes to the last bin); 0 when empty. (Read while a record races, it may be the
    /// highest value of the largest value's bin instead, within the precision.)
    pub fn max(&self) -> u64 {
        if self.hdr.is_empty() {
            0
        } else {
            self.extremes.max(&self.config.layout, &self.hdr)
        }
    }

    /// `sum / count`; 0.0 when empty.
    pub fn mean(&self) -> f64 {
        if self.hdr.is_empty() {
            0.0
        } else {
            self.sum as f64 / self.hdr.len() as f64
        }
    }

    /// The value at quantile `q` (clamped to 0.0..=1.0): the highest value of the bin that
    /// holds the `ceil(q * count)`-th smallest value (the lowest, for `q = 0`); 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        self.hdr.value_at_quantile(q.clamp(0.0, 1.0))
    }

    /// The merged `hdrhistogram::Histogram`, for anything else the crate computes.
    pub fn hdr(&self) -> &hdrhistogram::Histogram<u64> {
        &self.hdr
    }

    /// The value the formats render: export buckets, count, sum, min, max and quantiles,
    /// in exported units.
    pub fn value(&self) -> HistogramValue {
        self.config.value(&self.hdr, self.sum, &self.extremes)
    }
}

/// Records the time from [`Histogram::start_timer`] to its drop, in nanoseconds.
///
/// ```
/// let h = prism_core::Histogram::new();
/// let timer = h.start_timer();
/// let took = timer.stop(); // records now and says what it recorded
/// h.start_timer().discard(); // records nothing
/// assert_eq!(h.count(), 1);
/// assert!(took.as_secs() < 60);
/// ```
#[must_use = "a timer records when dropped; bind it to a variable for the span to time"]
pub struct Timer<'a> {
    histogram: &'a Histogram,
    start: Instant,
    armed: bool,
}

impl Timer<'_> {
    /// Records the time elapsed now and returns it.
    pub fn stop(mut self) -> Duration {
        self.armed = false;
        let elapsed = self.start.elapsed();
        self.histogram.record_duration(elapsed);
        elapsed
    }

    /// Drops the timer without recording.
    pub fn discard(mut self) {
        self.armed = false;
    }
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.histogram.record_duration(self.start.elapsed());
        }
    }
}

impl fmt::Debug for Timer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("elapsed", &self.start.elapsed())
            .finish()
    }
}

/// A [`Histogram`] exported as a Prometheus summary: `TYPE summary`, the quantiles
/// p50, p90, p99 and p99.9 since the start, `_sum` and `_count`; an OTLP `Summary`.
///
/// Quantiles cannot be aggregated across instances; prefer a plain [`Histogram`] unless a
/// consumer needs precomputed quantiles. For quantiles over the last minutes instead of
/// since the start, use a [`WindowedHistogram`](crate::WindowedHistogram).
///
/// ```
/// use prism_core::{Summary, Value, Metric};
/// let s = Summary::new();
/// s.record(2_000_000);
/// let Value::Summary(read) = s.read() else { unreachable!() };
/// assert_eq!(read.count(), 1);
/// assert!(read.bounds().is_empty());
/// assert!((read.p99().unwrap() - 0.002).abs() < 0.002 * 1e-3);
/// ```
#[derive(Clone, Default)]
pub struct Summary {
    histogram: Histogram,
}

impl Summary {
    /// A summary over the default latency histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// The histogram behind it.
    pub fn histogram(&self) -> &Histogram {
        &self.histogram
    }

    /// Records one value, in recorded units.
    #[inline]
    pub fn record(&self, value: u64) {
        self.histogram.record(value);
    }

    /// Records a duration in nanoseconds.
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.histogram.record_duration(d);
    }

    /// A guard that records the time until it drops.
    pub fn start_timer(&self) -> Timer<'_> {
        self.histogram.start_timer()
    }
}

impl From<Histogram> for Summary {
    fn from(histogram: Histogram) -> Self {
        Self { histogram }
    }
}

impl Metric for Summary {
    const KIND: Kind = Kind::Summary;
    fn read(&self) -> Value {
        Value::Summary(Box::new(summary_value(self.histogram.snapshot().value())))
    }
}

/// Drops the buckets of a histogram value: one bucket holding the count.
pub(crate) fn summary_value(mut v: HistogramValue) -> HistogramValue {
    v.bounds = Arc::from(Vec::new());
    v.bucket_counts = vec![v.count];
    v
}

impl fmt::Debug for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Summary").field(&self.histogram).finish()
    }
}
