//! What every metric kind shares: its [`Kind`], the [`Value`] it reads as, and the
//! [`Metric`] trait that lets registries and families hold it.

use crate::histogram_value::HistogramValue;

/// The exposition kind of a family: how the formats type it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// Monotonic: `TYPE counter`, an OTLP monotonic cumulative `Sum`.
    Counter,
    /// Goes up and down: `TYPE gauge`, an OTLP `Gauge`.
    Gauge,
    /// Bucketed distribution: `TYPE histogram`, an OTLP `Histogram`.
    Histogram,
    /// Quantiles: `TYPE summary`, an OTLP `Summary`.
    Summary,
}

impl Kind {
    /// The lower-case name the text formats use after `# TYPE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// One read of one series (not `Copy`: the histogram kinds carry buckets). Integer and float variants are kept apart so that no
/// format loses precision: a `u64` above 2^53 stays exact in text and in OTLP's `as_int`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A monotonic integer count.
    Counter(u64),
    /// A monotonic float count (never negative, never NaN).
    CounterF64(f64),
    /// An integer level.
    Gauge(i64),
    /// A float level; may be NaN or infinite.
    GaugeF64(f64),
    /// A bucketed distribution ([`Kind::Histogram`]): explicit bounds with per-bucket
    /// counts, count, sum, min, max and quantiles. Boxed so that the scalar variants stay
    /// 16 bytes.
    Histogram(Box<HistogramValue>),
    /// Quantiles of a distribution ([`Kind::Summary`]): count, sum, min, max and the
    /// quantiles; its bounds are empty and its one bucket holds the count.
    Summary(Box<HistogramValue>),
}

impl Value {
    /// The value as an `f64`, the way the text formats without integers see it. A
    /// histogram or summary reads as its count.
    pub fn as_f64(&self) -> f64 {
        match self {
            Value::Counter(v) => *v as f64,
            Value::CounterF64(v) | Value::GaugeF64(v) => *v,
            Value::Gauge(v) => *v as f64,
            Value::Histogram(h) | Value::Summary(h) => h.count() as f64,
        }
    }

    /// The distribution carried by a histogram or summary value.
    pub fn as_histogram(&self) -> Option<&HistogramValue> {
        match self {
            Value::Histogram(h) | Value::Summary(h) => Some(h),
            _ => None,
        }
    }

    /// The kind this value belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Counter(_) | Value::CounterF64(_) => Kind::Counter,
            Value::Gauge(_) | Value::GaugeF64(_) => Kind::Gauge,
            Value::Histogram(_) => Kind::Histogram,
            Value::Summary(_) => Kind::Summary,
        }
    }
}

/// A metric that a [`Registry`](crate::Registry) or a [`Family`](crate::Family) can hold.
///
/// Implementations are cheap handles: `clone` shares the same underlying value, so a
/// registry and the code that updates the metric see the same numbers. Implement it for a
/// type of your own and every format renders that type through [`Value`].
///
/// ```
/// use prism_core::{Kind, Metric, Value};
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
///
/// /// Bytes written, kept by some other subsystem.
/// #[derive(Clone, Default)]
/// struct Written(Arc<AtomicU64>);
///
/// impl Metric for Written {
///     const KIND: Kind = Kind::Counter;
///     fn read(&self) -> Value {
///         Value::Counter(self.0.load(Ordering::Relaxed))
///     }
/// }
///
/// let registry = prism_core::Registry::new();
/// let w = registry.register("written_bytes", "Bytes written.", Written::default())?;
/// w.0.fetch_add(10, Ordering::Relaxed);
/// assert_eq!(registry.snapshot().family("written_bytes").unwrap().series[0].value,
///            Value::Counter(10));
/// # Ok::<(), prism_core::Error>(())
/// ```
pub trait Metric: Clone + Send + Sync + 'static {
    /// How the formats type this metric.
    const KIND: Kind;

    /// For a [`Kind::Gauge`]: whether its value only ever changes by adding (and subtracting),
    /// never by being set, so that summing it across processes makes sense. OpenTelemetry
    /// calls such an instrument an up-down counter and OTLP carries it as a non-monotonic
    /// `Sum`; Prometheus and JSON show it as a gauge. [`UpDownCounter`](crate::UpDownCounter)
    /// is one; [`Gauge`](crate::Gauge), which can be `set`, is not.
    const UP_DOWN: bool = false;

    /// Reads the current value. Called on the reader's thread, once per series per read.
    fn read(&self) -> Value;
}
