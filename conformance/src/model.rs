//! The canonical sample set every reader produces and every comparison works on:
//! [`Samples`], made of [`Family`], [`Labels`], [`Series`] and [`Point`].
//!
//! A family is keyed by its core name (no `_total`), a series by its sorted label pairs
//! (the overflow series by `otel_metric_overflow="true"`), and a value keeps the exactness
//! its format gave it: an integer stays an integer ([`Number::Int`]), JSON's `null` stays
//! "some non-finite value" ([`Number::NonFinite`]).

use std::collections::BTreeMap;
use std::fmt;

/// How a family is typed, in words every format shares.
///
/// This is the conformance crate's own enum, not core's, so that a reader never depends on
/// the writer's types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Monotonic: `counter`, an OTLP monotonic cumulative `Sum`.
    Counter,
    /// Up and down: `gauge`, an OTLP `Gauge`, or an OTLP non-monotonic `Sum` (an up-down
    /// counter).
    Gauge,
    /// Buckets, count and sum: `histogram`, an OTLP `Histogram`.
    Histogram,
    /// Quantiles, count and sum: `summary`, an OTLP `Summary`.
    Summary,
    /// Typed `unknown` (OpenMetrics) or `untyped` (Prometheus 0.0.4).
    Unknown,
}

impl Kind {
    /// The lower-case name the text formats use.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
            Kind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A number as a format wrote it.
///
/// Equality is mathematical, so that a format writing `3` and one writing `3.0` agree,
/// while one writing `9007199254740992` for the integer `9007199254740993` does not:
///
/// ```
/// use prism_conformance::Number;
/// assert_eq!(Number::Int(3), Number::Float(3.0));
/// assert_ne!(Number::Int(9_007_199_254_740_993), Number::Float(9_007_199_254_740_993_f64));
/// assert_eq!(Number::Float(f64::NAN), Number::Float(f64::NAN));
/// assert_eq!(Number::NonFinite, Number::Float(f64::NEG_INFINITY));
/// assert_ne!(Number::NonFinite, Number::Int(0));
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Number {
    /// An integer written without a fraction or exponent (any `u64` or `i64`).
    Int(i128),
    /// A float; NaN equals NaN here, because the formats agree on a NaN by both writing one.
    Float(f64),
    /// JSON's `null`: NaN, `+Inf` or `-Inf`, the format does not say which.
    NonFinite,
}

impl Number {
    /// The value as an `f64` (`NaN` for [`Number::NonFinite`]).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(v) => v as f64,
            Number::Float(v) => v,
            Number::NonFinite => f64::NAN,
        }
    }

    /// Whether the value is NaN or infinite.
    pub fn is_non_finite(self) -> bool {
        match self {
            Number::Int(_) => false,
            Number::Float(v) => !v.is_finite(),
            Number::NonFinite => true,
        }
    }

    /// `self <= other` for counters that may only grow; `None` when either is not a
    /// comparable number (NaN or JSON's `null`).
    pub fn le(self, other: Number) -> Option<bool> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a <= b),
            (Number::NonFinite, _) | (_, Number::NonFinite) => None,
            (a, b) if a.as_f64().is_nan() || b.as_f64().is_nan() => None,
            (Number::Int(a), Number::Float(b)) => Some(int_le_float(a, b)),
            (Number::Float(a), Number::Int(b)) => Some(!int_le_float(b, a) || float_eq_int(a, b)),
            (a, b) => Some(a.as_f64() <= b.as_f64()),
        }
    }
}

/// Whether the float `f` is exactly the integer `i`.
fn float_eq_int(f: f64, i: i128) -> bool {
    // Every f64 in (-2^127, 2^127) that is integral converts to i128 exactly.
    f.is_finite() && f.fract() == 0.0 && f.abs() < 1.7e38 && f as i128 == i
}

/// `i <= f`, exactly.
fn int_le_float(i: i128, f: f64) -> bool {
    if f.is_nan() {
        return false;
    }
    if f >= 1.7e38 {
        return true;
    }
    if f <= -1.7e38 {
        return false;
    }
    // floor(f) is an exact integer in range; i <= f iff i <= floor(f).
    i <= f.floor() as i128
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        match (*self, *other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Float(a), Number::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Number::Int(i), Number::Float(f)) | (Number::Float(f), Number::Int(i)) => {
                float_eq_int(f, i)
            }
            (Number::NonFinite, other) | (other, Number::NonFinite) => other.is_non_finite(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::Int(v) => write!(f, "{v}"),
            Number::Float(v) if v.is_nan() => f.write_str("NaN"),
            Number::Float(v) if v == f64::INFINITY => f.write_str("+Inf"),
            Number::Float(v) if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            Number::Float(v) => write!(f, "{v:?}"),
            Number::NonFinite => f.write_str("null (NaN or ±Inf)"),
        }
    }
}

/// The label pairs of one series, sorted by name.
///
/// ```
/// use prism_conformance::Labels;
/// let labels = Labels::new([("method", "GET"), ("code", "200")]);
/// assert_eq!(labels.to_string(), r#"{code="200",method="GET"}"#);
/// assert_eq!(labels.get("method"), Some("GET"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Labels from any pairs; sorted here.
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        pairs.sort();
        Labels(pairs)
    }

    /// The label of the overflow series: `otel_metric_overflow="true"`.
    pub fn overflow() -> Self {
        Labels::new([(prism_core::OVERFLOW_LABEL, "true")])
    }

    /// The value of one label.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs, sorted by name.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Labels {
    /// Prometheus' own spelling, escaped, so that a message shows exactly which series.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}=\"")?;
            for c in v.chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '"' => f.write_str("\\\"")?,
                    '\n' => f.write_str("\\n")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

/// One cumulative bucket of a histogram: the count of observations `<= le`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// The upper bound, inclusive; the last bucket's is `+Inf`.
    pub le: f64,
    /// Observations at or below `le`, cumulative.
    pub count: u64,
}

/// The value of one series.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// A counter's or gauge's (or an untyped) number.
    Number(Number),
    /// A histogram: count, sum and cumulative buckets, `+Inf` last.
    Histogram {
        /// Observations.
        count: u64,
        /// Their sum.
        sum: Number,
        /// Cumulative buckets in increasing `le`, `+Inf` last.
        buckets: Vec<Bucket>,
    },
    /// A summary: count, sum and quantiles.
    Summary {
        /// Observations.
        count: u64,
        /// Their sum.
        sum: Number,
        /// `(quantile, value)` in increasing quantile.
        quantiles: Vec<(f64, Number)>,
    },
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Point::Number(n) => write!(f, "{n}"),
            Point::Histogram {
                count,
                sum,
                buckets,
            } => {
                write!(f, "histogram count={count} sum={sum} buckets=[")?;
                for (i, b) in buckets.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "le {}: {}", Number::Float(b.le), b.count)?;
                }
                f.write_str("]")
            }
            Point::Summary {
                count,
                sum,
                quantiles,
            } => {
                write!(f, "summary count={count} sum={sum} quantiles=[")?;
                for (i, (q, v)) in quantiles.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{q}: {v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// One series: its value and, where the format carries it, its start time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The value.
    pub point: Point,
    /// Start time in nanoseconds since the Unix epoch: OpenMetrics `_created`, OTLP
    /// `start_time_unix_nano`. `None` where the format has no place for it.
    pub created_unix_nanos: Option<u64>,
}

/// One family as a format shows it.
///
/// `kind`, `help` and `unit` are `None` where the format does not carry them (JSON carries
/// none of them; Prometheus 0.0.4 no unit).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Family {
    /// The core name: no `_total`.
    pub name: String,
    /// How the format types it.
    pub kind: Option<Kind>,
    /// The help text, unescaped; `Some("")` where the format carries help and has none.
    pub help: Option<String>,
    /// The unit; `Some("")` where the format carries units and has none.
    pub unit: Option<String>,
    /// The series, by label pairs.
    pub series: BTreeMap<Labels, Series>,
}

/// Everything one read of one format says: families by core name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Samples {
    /// The families, by core name.
    pub families: BTreeMap<String, Family>,
}

impl Samples {
    /// The family of this core name.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.get(name)
    }

    /// The number of series in all families.
    pub fn series_count(&self) -> usize {
        self.families.values().map(|f| f.series.len()).sum()
    }
}
