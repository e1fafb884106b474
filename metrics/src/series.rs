//! The series the recorder's families hold: prism metrics whose shared state is also the
//! `metrics` handle, so that handing out a `metrics::Counter` costs one `Arc` clone.
//!
//! `metrics::Counter::from_arc` wants an `Arc` of a type implementing `CounterFn`; a prism
//! `Counter` cannot implement a foreign trait, and wrapping it in a new `Arc` on every
//! `counter!` call would allocate on the hot path. So each series is an `Arc` of a cell of
//! this crate's own, registrable through [`Metric`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prism_core::{Counter, FloatGauge, Histogram, HistogramConfig, Kind, Metric, Value};

/// A counter series: a `u64`, as prism's `Counter` reads.
#[derive(Clone, Default)]
pub(crate) struct CounterSeries(pub(crate) Arc<CounterCell>);

#[derive(Default)]
pub(crate) struct CounterCell(AtomicU64);

impl metrics::CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }

    /// Raises the counter to `value`; a lower `value` leaves it where it is, so the counter
    /// stays monotonic whatever order racing `absolute` calls land in.
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

impl Metric for CounterSeries {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::Counter(self.0 .0.load(Ordering::Relaxed))
    }
}

/// A gauge series: prism's `FloatGauge` (`metrics` gauges are `f64`).
#[derive(Clone, Default)]
pub(crate) struct GaugeSeries(pub(crate) Arc<GaugeCell>);

#[derive(Default)]
pub(crate) struct GaugeCell(FloatGauge);

impl metrics::GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.0.add(value);
    }
    fn decrement(&self, value: f64) {
        self.0.sub(value);
    }
    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

impl Metric for GaugeSeries {
    const KIND: Kind = Kind::Gauge;
    fn read(&self) -> Value {
        self.0 .0.read()
    }
}

/// A histogram series: prism's `Histogram`, recording `value / scale` rounded, where
/// `scale` is the histogram's exported units per recorded unit.
#[derive(Clone)]
pub(crate) struct HistogramSeries(pub(crate) Arc<HistogramCell>);

pub(crate) struct HistogramCell {
    histogram: Histogram,
    /// Recorded units per exported unit (`1e9` for seconds recorded as nanoseconds).
    per_unit: f64,
    /// Counts values no histogram can hold: `prism_metrics_refused{reason="histogram_value"}`.
    refused: Counter,
}

impl HistogramSeries {
    pub(crate) fn new(config: &HistogramConfig, refused: Counter) -> Self {
        Self(Arc::new(HistogramCell {
            histogram: config.build(),
            per_unit: (1.0 / config.unit_scale()).round(),
            refused,
        }))
    }
}

impl HistogramCell {
    fn record_n(&self, value: f64, n: u64) {
        // NaN, infinities and negative values have no bin; refused and counted.
        if !(value.is_finite() && value >= 0.0) {
            self.refused.inc();
            return;
        }
        // `as` saturates: a value past u64 lands in the last bin, like any value past
        // the histogram's highest trackable value.
        self.histogram
            .record_n((value * self.per_unit).round() as u64, n);
    }
}

impl metrics::HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        self.record_n(value, 1);
    }

    fn record_many(&self, value: f64, count: usize) {
        self.record_n(value, count as u64);
    }
}

impl Metric for HistogramSeries {
    const KIND: Kind = Kind::Histogram;
    fn read(&self) -> Value {
        self.0.histogram.read()
    }
}
