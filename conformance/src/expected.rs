//! What the formats should show: the core read mapped to [`Samples`] by the documented
//! mapping, the reference every format is compared with.
//!
//! | core | samples |
//! |---|---|
//! | family name, kind, help, unit (none: `""`) | the same |
//! | label names zipped with a series' label values | sorted label pairs |
//! | the overflow series | `otel_metric_overflow="true"` |
//! | `Counter(u64)`, `Gauge(i64)` | [`Number::Int`] |
//! | `CounterF64`, `GaugeF64` (NaN and infinities included) | [`Number::Float`] |
//! | `Histogram`: count, sum, per-bucket counts | [`Point::Histogram`]: count, sum, cumulative buckets ending in `+Inf` |
//! | `Summary`: count, sum, quantiles | [`Point::Summary`]: count, sum, the quantiles that have a value (none when empty; the text formats write those as `NaN`, which their reader reads back as absent) |
//! | `created_unix_nanos` (0: the clock read before 1970) | start time (0: none) |

use std::collections::BTreeMap;
use std::fmt;

use prism_core::{Snapshot, Value};

use crate::model::{Bucket, Family, Kind, Labels, Number, Point, Samples, Series};

/// A core value this crate does not know yet (core's `Value` is `#[non_exhaustive]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The family holding it.
    pub family: String,
    /// The value, as `Debug` prints it.
    pub value: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "family {:?}: prism-conformance has no mapping for the core value {}; \
             update prism-conformance alongside core",
            self.family, self.value
        )
    }
}

impl std::error::Error for Unsupported {}

/// Maps one core read to samples.
///
/// ```
/// use prism_conformance::{expected, Labels, Number, Point};
/// use prism_core::{Counter, Family, Registry};
///
/// let registry = Registry::builder().self_telemetry(false).build();
/// registry.register("jobs", "Jobs run.", Family::<Counter>::new(["queue"]))?.get(&["a"]).add(2);
/// let samples = expected(&registry.snapshot())?;
/// let jobs = samples.family("jobs").unwrap();
/// assert_eq!(jobs.series[&Labels::new([("queue", "a")])].point, Point::Number(Number::Int(2)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn expected(snapshot: &Snapshot) -> Result<Samples, Unsupported> {
    let mut out = Samples::default();
    for family in &snapshot.families {
        let d = &family.descriptor;
        let kind = match d.kind() {
            prism_core::Kind::Counter => Kind::Counter,
            prism_core::Kind::Gauge => Kind::Gauge,
            prism_core::Kind::Histogram => Kind::Histogram,
            prism_core::Kind::Summary => Kind::Summary,
            other => {
                return Err(Unsupported {
                    family: d.name().to_owned(),
                    value: format!("kind {other:?}"),
                })
            }
        };
        let mut series = BTreeMap::new();
        for s in &family.series {
            // The overflow series has the constant labels' values alone, and the marker.
            let pairs = d
                .label_names()
                .iter()
                .map(String::as_str)
                .zip(s.label_values.iter().map(String::as_str));
            let labels = if s.overflow {
                Labels::new(pairs.chain([(prism_core::OVERFLOW_LABEL, "true")]))
            } else {
                Labels::new(pairs)
            };
            let point = match &s.value {
                Value::Counter(v) => Point::Number(Number::Int((*v).into())),
                Value::Gauge(v) => Point::Number(Number::Int((*v).into())),
                Value::CounterF64(v) | Value::GaugeF64(v) => Point::Number(Number::Float(*v)),
                Value::Histogram(h) => Point::Histogram {
                    count: h.count(),
                    sum: Number::Float(h.sum()),
                    buckets: h
                        .cumulative()
                        .map(|(le, count)| Bucket { le, count })
                        .collect(),
                },
                Value::Summary(h) => Point::Summary {
                    count: h.count(),
                    sum: Number::Float(h.sum()),
                    quantiles: h
                        .quantiles()
                        .filter_map(|(q, v)| v.map(|v| (q, Number::Float(v))))
                        .collect(),
                },
                other => {
                    return Err(Unsupported {
                        family: d.name().to_owned(),
                        value: format!("{other:?}"),
                    })
                }
            };
            series.insert(
                labels,
                Series {
                    point,
                    created_unix_nanos: (s.created_unix_nanos != 0).then_some(s.created_unix_nanos),
                },
            );
        }
        out.families.insert(
            d.name().to_owned(),
            Family {
                name: d.name().to_owned(),
                kind: Some(kind),
                help: Some(d.help().to_owned()),
                unit: Some(d.unit().unwrap_or("").to_owned()),
                series,
            },
        );
    }
    Ok(out)
}
