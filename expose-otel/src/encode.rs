//! The core read as an OTLP `ExportMetricsServiceRequest`: [`Encoder`].
//!
//! One pass of [`Registry::visit`]: each family becomes one `Metric` named by its
//! OpenTelemetry name ([`Descriptor::otel_name`]), with its help as description and its
//! OpenTelemetry (UCUM) unit ([`Descriptor::otel_unit`]) as unit; each series one data point,
//! its label values as string attributes under the family's attribute names
//! ([`Descriptor::attribute_names`]), the overflow series as `otel.metric.overflow=true`.
//! A family registered by its Prometheus name has these equal to its name and labels, and
//! the UCUM form of its unit (`seconds` is `s`); one registered with
//! [`Metadata::otel`](prism_core::Metadata::otel) has the names it was registered with.
//! Prometheus text and JSON print the Prometheus names instead.
//!
//! The kind of the family picks the data type:
//!
//! | core kind | OTLP data | value |
//! |---|---|---|
//! | counter | `Sum`, monotonic, cumulative (or delta) | `as_int` (`u64` above `i64::MAX`: `as_double`), float counters `as_double` |
//! | gauge | `Gauge` | `as_int`, float gauges `as_double` (NaN and infinities included) |
//! | histogram | `Histogram`, cumulative (or delta) | `explicit_bounds`, per-bucket `bucket_counts`, `count`, `sum`; `min`, `max` when something was recorded (cumulative only) |
//! | summary | `Summary` | `count`, `sum`, `quantile_values` (p50, p90, p99, p99.9 when something was recorded) |
//!
//! A summary has no temporality in OTLP: it is sent as read (a windowed histogram's count
//! and sum since its start, its quantiles over the window), under delta temporality too.
//! A value that does not fit its family's kind (a custom [`Metric`](prism_core::Metric)
//! whose `KIND` and `read` disagree) is left out.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, summary_data_point, AggregationTemporality, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint,
};
use prism_core::{
    Descriptor, HistogramValue, Kind, Registry, Sample, Value, Visitor, OVERFLOW_ATTRIBUTE,
};

use crate::config::Temporality;
use crate::delta::{DeltaState, Distribution, Reading};
use crate::resource::{string_attribute, Resource};

/// The instrumentation scope name of every export.
pub const SCOPE_NAME: &str = "prism";
/// The instrumentation scope version: this crate's version.
pub const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Turns reads of a registry into OTLP requests, keeping what delta temporality needs
/// between them.
///
/// ```
/// use prism_core::{Counter, Registry};
/// use prism_otel::{Encoder, Resource};
/// use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point::Value};
///
/// let registry = Registry::builder().self_telemetry(false).build();
/// registry.register("jobs", "Jobs run.", Counter::new())?.add(3);
///
/// let mut encoder = Encoder::new(Resource::new("worker"));
/// let request = encoder.encode(&registry);
/// let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
/// assert_eq!(metric.name, "jobs");
/// let Some(Data::Sum(sum)) = &metric.data else { panic!("a counter is a Sum") };
/// assert!(sum.is_monotonic);
/// assert_eq!(sum.data_points[0].value, Some(Value::AsInt(3)));
/// # Ok::<(), prism_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Encoder {
    resource: Resource,
    temporality: Temporality,
    delta: DeltaState,
    points: usize,
}

impl Encoder {
    /// An encoder for cumulative temporality with this resource.
    pub fn new(resource: Resource) -> Self {
        Self {
            resource,
            temporality: Temporality::Cumulative,
            delta: DeltaState::default(),
            points: 0,
        }
    }

    /// Sets the temporality of counters and histograms. Under [`Temporality::Delta`] call
    /// [`commit`](Self::commit) once a request was delivered; until then each request
    /// reports the change since the last delivered one.
    pub fn with_temporality(mut self, temporality: Temporality) -> Self {
        self.temporality = temporality;
        self
    }

    /// The temporality of counters and histograms.
    pub fn temporality(&self) -> Temporality {
        self.temporality
    }

    /// The resource every request carries.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// Reads the registry once into a request: one resource, one scope (`prism`), one
    /// metric per family that has series.
    pub fn encode(&mut self, registry: &Registry) -> ExportMetricsServiceRequest {
        let time = now_unix_nanos();
        self.delta.begin();
        let mut build = Build {
            delta: match self.temporality {
                Temporality::Delta => Some(&mut self.delta),
                Temporality::Cumulative => None,
            },
            time,
            metrics: Vec::new(),
            points: Vec::new(),
            histograms: Vec::new(),
            summaries: Vec::new(),
            shape: Shape::Skip,
            point_count: 0,
        };
        registry.visit(&mut build);
        self.points = build.point_count;
        let metrics = build.metrics;
        self.delta.end();
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.to_proto()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: SCOPE_NAME.to_owned(),
                        version: SCOPE_VERSION.to_owned(),
                        attributes: Vec::new(),
                        dropped_attributes_count: 0,
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    /// Reads the registry once into protobuf bytes (appended to `out`): the body of an
    /// OTLP/HTTP `application/x-protobuf` request.
    pub fn encode_protobuf(&mut self, registry: &Registry, out: &mut Vec<u8>) {
        crate::protobuf::encode(&self.encode(registry), out);
    }

    /// Reads the registry once into OTLP JSON bytes: the body of an OTLP/HTTP
    /// `application/json` request (see [`json`](crate::json) for the mapping).
    pub fn encode_json(&mut self, registry: &Registry) -> Vec<u8> {
        crate::json::to_vec(&self.encode(registry))
    }

    /// The request last encoded was delivered: under delta temporality its readings become
    /// the baselines of the next deltas. Does nothing under cumulative temporality.
    pub fn commit(&mut self) {
        self.delta.commit();
    }

    /// Data points in the request last encoded.
    pub fn last_point_count(&self) -> usize {
        self.points
    }

    /// Series whose baselines delta temporality keeps: those of the latest read (0 under
    /// cumulative temporality). Bounded by the registry's size, however many exports fail.
    pub fn tracked_series(&self) -> usize {
        self.delta.len()
    }
}

/// Encodes one read of `registry` with cumulative temporality.
pub fn encode(registry: &Registry, resource: &Resource) -> ExportMetricsServiceRequest {
    Encoder::new(resource.clone()).encode(registry)
}

/// What OTLP data a family becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Sum,
    /// An up-down counter: a non-monotonic `Sum`, always cumulative (OpenTelemetry's delta
    /// temporality preference keeps up-down counters cumulative too).
    UpDownSum,
    Gauge,
    Histogram,
    Summary,
    /// A kind newer than this crate: left out until it learns it.
    Skip,
}

impl Shape {
    fn of(family: &Descriptor) -> Shape {
        match family.kind() {
            Kind::Counter => Shape::Sum,
            Kind::Gauge if family.is_up_down_counter() => Shape::UpDownSum,
            Kind::Gauge => Shape::Gauge,
            Kind::Histogram => Shape::Histogram,
            Kind::Summary => Shape::Summary,
            _ => Shape::Skip,
        }
    }
}

struct Build<'a> {
    delta: Option<&'a mut DeltaState>,
    time: u64,
    metrics: Vec<Metric>,
    points: Vec<NumberDataPoint>,
    histograms: Vec<HistogramDataPoint>,
    summaries: Vec<SummaryDataPoint>,
    shape: Shape,
    point_count: usize,
}

impl Visitor for Build<'_> {
    fn family(&mut self, family: &Descriptor) {
        self.shape = Shape::of(family);
        self.points = Vec::new();
        self.histograms = Vec::new();
        self.summaries = Vec::new();
    }

    fn sample(&mut self, family: &Descriptor, sample: &Sample<'_>) {
        let created = sample.created_unix_nanos();
        let number = matches!(self.shape, Shape::Sum | Shape::UpDownSum | Shape::Gauge);
        let reading = match sample.value() {
            Value::Counter(v) if number => Reading::Int(*v),
            Value::CounterF64(v) if number => Reading::Float(*v),
            Value::Gauge(v) if number => {
                self.push(family, sample, number_int(*v), created);
                return;
            }
            Value::GaugeF64(v) if number => {
                self.push(
                    family,
                    sample,
                    number_data_point::Value::AsDouble(*v),
                    created,
                );
                return;
            }
            Value::Histogram(h) if self.shape == Shape::Histogram => {
                self.histogram(family, sample, h);
                return;
            }
            Value::Summary(h) | Value::Histogram(h) if self.shape == Shape::Summary => {
                self.summary(family, sample, h);
                return;
            }
            // A value that does not fit its family's kind, or a kind newer than this
            // crate: left out.
            _ => return,
        };
        let (reading, start) = match self.shape {
            Shape::Sum => self.delta_of(family, sample, reading),
            _ => (reading, created),
        };
        let value = match reading {
            Reading::Int(v) => match i64::try_from(v) {
                Ok(v) => number_data_point::Value::AsInt(v),
                // `as_int` is signed: past i64::MAX the count goes as a double, which
                // keeps its magnitude where wrapping would make it negative.
                Err(_) => number_data_point::Value::AsDouble(v as f64),
            },
            Reading::Float(v) => number_data_point::Value::AsDouble(v),
            // `delta_of` gives back the variant it was given.
            Reading::Histogram(_) => return,
        };
        self.push(family, sample, value, start);
    }

    fn end_family(&mut self, family: &Descriptor) {
        let temporality = match self.delta {
            Some(_) => AggregationTemporality::Delta,
            None => AggregationTemporality::Cumulative,
        } as i32;
        let (data, points) = match self.shape {
            Shape::Sum | Shape::UpDownSum | Shape::Gauge if !self.points.is_empty() => {
                let data_points = std::mem::take(&mut self.points);
                let n = data_points.len();
                let data = match self.shape {
                    Shape::Sum => metric::Data::Sum(Sum {
                        data_points,
                        aggregation_temporality: temporality,
                        is_monotonic: true,
                    }),
                    Shape::UpDownSum => metric::Data::Sum(Sum {
                        data_points,
                        aggregation_temporality: AggregationTemporality::Cumulative as i32,
                        is_monotonic: false,
                    }),
                    _ => metric::Data::Gauge(Gauge { data_points }),
                };
                (data, n)
            }
            Shape::Histogram if !self.histograms.is_empty() => {
                let data_points = std::mem::take(&mut self.histograms);
                let n = data_points.len();
                let data = metric::Data::Histogram(Histogram {
                    data_points,
                    aggregation_temporality: temporality,
                });
                (data, n)
            }
            Shape::Summary if !self.summaries.is_empty() => {
                let data_points = std::mem::take(&mut self.summaries);
                let n = data_points.len();
                (metric::Data::Summary(Summary { data_points }), n)
            }
            // No series (no empty metrics), or a kind left out.
            _ => return,
        };
        self.point_count += points;
        self.metrics.push(Metric {
            name: family.otel_name().to_owned(),
            description: family.help().to_owned(),
            unit: family.otel_unit().to_owned(),
            metadata: Vec::new(),
            data: Some(data),
        });
    }
}

impl Build<'_> {
    /// Under delta temporality, the change of a counter or histogram series since the last
    /// delivered export and its start; otherwise the reading as is, from the series' start.
    fn delta_of(
        &mut self,
        family: &Descriptor,
        sample: &Sample<'_>,
        reading: Reading,
    ) -> (Reading, u64) {
        let created = sample.created_unix_nanos();
        let Some(delta) = &mut self.delta else {
            return (reading, created);
        };
        delta.key_start(family.name());
        if sample.is_overflow() {
            delta.key_overflow();
        } else {
            // The constant labels' values are the same on every series of a family (a name
            // is registered once), so the overflow series' key needs none of them.
            for value in sample.label_values() {
                delta.key_push(value);
            }
        }
        delta.delta(created, reading, self.time)
    }

    fn histogram(&mut self, family: &Descriptor, sample: &Sample<'_>, h: &HistogramValue) {
        let (count, sum, bucket_counts, start, min, max) = if self.delta.is_some() {
            let reading = Reading::Histogram(Distribution::new(
                h.count(),
                h.sum(),
                h.bucket_counts(),
                h.bounds(),
            ));
            let (Reading::Histogram(d), start) = self.delta_of(family, sample, reading) else {
                // `delta_of` gives back the variant it was given.
                return;
            };
            // Min and max are kept since the start only: not the delta's, so left out.
            (d.count, d.sum, d.bucket_counts, start, None, None)
        } else {
            (
                h.count(),
                h.sum(),
                h.bucket_counts().to_vec(),
                sample.created_unix_nanos(),
                h.min(),
                h.max(),
            )
        };
        self.histograms.push(HistogramDataPoint {
            attributes: attributes(family, sample),
            start_time_unix_nano: start.min(self.time),
            time_unix_nano: self.time,
            count,
            sum: Some(sum),
            bucket_counts,
            explicit_bounds: h.bounds().to_vec(),
            exemplars: Vec::new(),
            flags: 0,
            min,
            max,
        });
    }

    fn summary(&mut self, family: &Descriptor, sample: &Sample<'_>, h: &HistogramValue) {
        self.summaries.push(SummaryDataPoint {
            attributes: attributes(family, sample),
            start_time_unix_nano: sample.created_unix_nanos().min(self.time),
            time_unix_nano: self.time,
            count: h.count(),
            sum: h.sum(),
            quantile_values: h
                .quantiles()
                .filter_map(|(quantile, value)| {
                    Some(summary_data_point::ValueAtQuantile {
                        quantile,
                        value: value?,
                    })
                })
                .collect(),
            flags: 0,
        });
    }

    fn push(
        &mut self,
        family: &Descriptor,
        sample: &Sample<'_>,
        value: number_data_point::Value,
        start: u64,
    ) {
        self.points.push(NumberDataPoint {
            attributes: attributes(family, sample),
            // A clock stepped back between a series' start and this read must not give a
            // start after the end.
            start_time_unix_nano: start.min(self.time),
            time_unix_nano: self.time,
            exemplars: Vec::new(),
            flags: 0,
            value: Some(value),
        });
    }
}

fn number_int(v: i64) -> number_data_point::Value {
    number_data_point::Value::AsInt(v)
}

/// The attributes of one series: its label values under the family's attribute names; for
/// the overflow series, the constant labels (its only label values) and the overflow marker.
pub(crate) fn attributes(family: &Descriptor, sample: &Sample<'_>) -> Vec<KeyValue> {
    let mut attributes: Vec<KeyValue> = family
        .attribute_names()
        .iter()
        .zip(sample.label_values())
        .map(|(name, value)| string_attribute(name, value))
        .collect();
    if sample.is_overflow() {
        attributes.push(overflow_attribute());
    }
    attributes
}

/// `otel.metric.overflow=true`, a boolean as the OpenTelemetry SDKs write it.
pub(crate) fn overflow_attribute() -> KeyValue {
    KeyValue {
        key: OVERFLOW_ATTRIBUTE.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::BoolValue(true)),
        }),
        key_strindex: 0,
    }
}

pub(crate) fn now_unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
