//! One read of a distribution: [`HistogramValue`], what `Value::Histogram` and
//! `Value::Summary` carry to the formats.

use std::sync::Arc;

/// The quantiles every read carries, in this order: p50, p90, p99, p99.9.
pub const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

/// One read of a histogram or summary, in the exported unit (seconds for latency
/// histograms, whose values are recorded in nanoseconds).
///
/// - [`bounds`](Self::bounds): the explicit upper bounds, strictly increasing, without the
///   implicit `+Inf`. Empty for a summary.
/// - [`bucket_counts`](Self::bucket_counts): **per bucket, not cumulative**, one more than the
///   bounds: `bucket_counts()[i]` counts values `v` with `bounds[i-1] < v <= bounds[i]`, and
///   the last counts values above the last bound (the `+Inf` bucket). They add up to
///   [`count`](Self::count). This is OTLP's shape; Prometheus' cumulative `le` counts are
///   [`cumulative`](Self::cumulative).
/// - [`count`](Self::count), [`sum`](Self::sum), [`min`](Self::min), [`max`](Self::max):
///   exact (min and max may be their bin's edge instead, within the precision, when read
///   while a record races).
/// - [`quantile`](Self::quantile): within the histogram's precision (a relative
///   `10^-digits`).
/// - Min, max and the quantiles are `None` when nothing was recorded.
///
/// ```
/// use prism_core::{Histogram, Metric, Value};
///
/// let h = Histogram::builder().unit_scale(1.0).highest(1000).buckets([10.0, 100.0]).build()?;
/// for v in [5, 50, 50, 500] {
///     h.record(v);
/// }
/// let Value::Histogram(read) = h.read() else { unreachable!() };
/// assert_eq!(read.bounds(), &[10.0, 100.0]);
/// assert_eq!(read.bucket_counts(), &[1, 2, 1]);
/// let cumulative: Vec<(f64, u64)> = read.cumulative().collect();
/// assert_eq!(cumulative, [(10.0, 1), (100.0, 3), (f64::INFINITY, 4)]);
/// assert_eq!((read.count(), read.sum()), (4, 605.0));
/// assert_eq!((read.min(), read.max(), read.p50()), (Some(5.0), Some(500.0), Some(50.0)));
/// # Ok::<(), prism_core::HistogramError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramValue {
    pub(crate) bounds: Arc<[f64]>,
    pub(crate) bucket_counts: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) quantiles: [Option<f64>; 4],
}

impl HistogramValue {
    /// Builds a value from its parts, for a [`Metric`](crate::Metric) of your own. `None`
    /// unless `bucket_counts` has one more entry than `bounds`, the bounds are finite and
    /// strictly increasing, and the quantiles are given exactly when `count > 0`.
    /// The count is the sum of `bucket_counts`.
    pub fn from_parts(
        bounds: impl Into<Arc<[f64]>>,
        bucket_counts: Vec<u64>,
        sum: f64,
        min: Option<f64>,
        max: Option<f64>,
        quantiles: [Option<f64>; 4],
    ) -> Option<Self> {
        let bounds = bounds.into();
        let count = bucket_counts
            .iter()
            .try_fold(0u64, |a, &c| a.checked_add(c))?;
        let sorted = bounds.windows(2).all(|w| w[0] < w[1]);
        let has_data = count > 0;
        let consistent = min.is_some() == has_data
            && max.is_some() == has_data
            && quantiles.iter().all(|q| q.is_some() == has_data);
        (bucket_counts.len() == bounds.len() + 1
            && sorted
            && bounds.iter().all(|b| b.is_finite())
            && consistent)
            .then_some(Self {
                bounds,
                bucket_counts,
                count,
                sum,
                min,
                max,
                quantiles,
            })
    }

    /// The explicit upper bounds, without `+Inf`; empty for a summary.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Per-bucket counts (not cumulative), `bounds().len() + 1` of them, the last for
    /// values above the last bound.
    pub fn bucket_counts(&self) -> &[u64] {
        &self.bucket_counts
    }

    /// Prometheus' `le` buckets: `(upper bound, count of values <= it)`, ending with
    /// `(f64::INFINITY, count)`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let bounds = self.bounds.iter().copied().chain([f64::INFINITY]);
        bounds
            .zip(self.bucket_counts.iter())
            .scan(0u64, |total, (le, &c)| {
                *total += c;
                Some((le, *total))
            })
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their sum (exact in the recorded unit, then scaled).
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The smallest value recorded; `None` when empty.
    pub fn min(&self) -> Option<f64> {
        self.min
    }

    /// The largest value recorded; `None` when empty.
    pub fn max(&self) -> Option<f64> {
        self.max
    }

    /// `sum / count`; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// The quantiles carried, as `(q, value)` pairs for q in [`QUANTILES`]; the value is
    /// `None` when empty.
    pub fn quantiles(&self) -> impl Iterator<Item = (f64, Option<f64>)> + '_ {
        QUANTILES
            .iter()
            .copied()
            .zip(self.quantiles.iter().copied())
    }

    /// The value at quantile `q` if `q` is one of [`QUANTILES`] and something was recorded.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        QUANTILES
            .iter()
            .position(|&have| have == q)
            .and_then(|i| self.quantiles[i])
    }

    /// The median.
    pub fn p50(&self) -> Option<f64> {
        self.quantiles[0]
    }

    /// The 90th percentile.
    pub fn p90(&self) -> Option<f64> {
        self.quantiles[1]
    }

    /// The 99th percentile.
    pub fn p99(&self) -> Option<f64> {
        self.quantiles[2]
    }

    /// The 99.9th percentile.
    pub fn p999(&self) -> Option<f64> {
        self.quantiles[3]
    }
}
