//! An OTLP `ExportMetricsServiceRequest`, protobuf or JSON, back into [`Samples`], decoded
//! with the opentelemetry-proto types (the version prism-otel encodes with).
//!
//! | OTLP | samples |
//! |---|---|
//! | `Sum`, monotonic, cumulative | counter |
//! | `Sum`, not monotonic, cumulative | gauge (an up-down counter) |
//! | `Gauge` | gauge |
//! | `Histogram`, cumulative | histogram: `bucket_counts` made cumulative, `explicit_bounds` then `+Inf` |
//! | `Summary` | summary |
//! | `name`, `description`, `unit` | family name (no `_total`), help, unit |
//! | string attributes | labels |
//! | attribute `otel.metric.overflow` = `true` (bool or string) | `otel_metric_overflow="true"` |
//! | `start_time_unix_nano` | start time (0: none) |
//! | `as_int`, `as_double` | an integer, a float |
//!
//! Errors: delta temporality, exponential histograms, non-string attributes, a metric
//! name given twice, a data point without a value, two data points with one attribute set.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, AggregationTemporality, NumberDataPoint,
};
use prost::Message;

use crate::model::{Bucket, Family, Kind, Labels, Number, Point, Samples, Series};
use crate::read::ReadError;

/// Reads an `ExportMetricsServiceRequest` in protobuf, as OTLP/HTTP `application/x-protobuf`
/// and OTLP/gRPC carry it.
///
/// ```
/// use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
/// use prost::Message;
/// let empty = ExportMetricsServiceRequest::default().encode_to_vec();
/// let samples = prism_conformance::read::read_otlp_proto(&empty)?;
/// assert!(samples.families.is_empty());
/// assert!(prism_conformance::read::read_otlp_proto(b"\xff\xff").is_err());
/// # Ok::<(), prism_conformance::read::ReadError>(())
/// ```
pub fn read_otlp_proto(bytes: &[u8]) -> Result<Samples, ReadError> {
    let request = ExportMetricsServiceRequest::decode(bytes)
        .map_err(|e| ReadError::new("otlp-proto", format!("not a protobuf request: {e}")))?;
    read_otlp_request(&request).map_err(|m| ReadError::new("otlp-proto", m))
}

/// Reads an `ExportMetricsServiceRequest` in OTLP's JSON mapping (`application/json`).
///
/// ```
/// let body = br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{
///     "name":"jobs","description":"Jobs run.","sum":{"aggregationTemporality":2,
///     "isMonotonic":true,"dataPoints":[{"asInt":"3","startTimeUnixNano":"5"}]}}]}]}]}"#;
/// let samples = prism_conformance::read::read_otlp_json(body)?;
/// let jobs = samples.family("jobs").unwrap();
/// assert_eq!(jobs.kind, Some(prism_conformance::Kind::Counter));
/// assert_eq!(jobs.series.values().next().unwrap().created_unix_nanos, Some(5));
/// # Ok::<(), prism_conformance::read::ReadError>(())
/// ```
pub fn read_otlp_json(bytes: &[u8]) -> Result<Samples, ReadError> {
    let err = |e: serde_json::Error| {
        ReadError::new("otlp-json", format!("not an OTLP JSON request: {e}"))
    };
    let mut json: serde_json::Value = serde_json::from_slice(bytes).map_err(err)?;
    // The protobuf JSON mapping writes a double as a number, or as a string: "NaN",
    // "Infinity", "-Infinity" (or a number in quotes). opentelemetry-proto's serde reads
    // numbers only, so strings are taken out here and put back after decoding.
    let strings = take_string_doubles(&mut json).map_err(|m| ReadError::new("otlp-json", m))?;
    let mut request: ExportMetricsServiceRequest = serde_json::from_value(json).map_err(err)?;
    put_back_doubles(&mut request, &strings).map_err(|m| ReadError::new("otlp-json", m))?;
    read_otlp_request(&request).map_err(|m| ReadError::new("otlp-json", m))
}

/// A double field of a data point: `(resource, scope, metric, point)` and which field.
type DoubleAt = ((usize, usize, usize, usize), DoubleField);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DoubleField {
    AsDouble,
    Sum,
    Min,
    Max,
    Bound(usize),
    QuantileValue(usize),
    Quantile(usize),
}

fn arr(v: Option<&mut serde_json::Value>) -> Vec<&mut serde_json::Value> {
    match v {
        Some(serde_json::Value::Array(items)) => items.iter_mut().collect(),
        _ => Vec::new(),
    }
}

fn string_double(v: &mut serde_json::Value) -> Result<Option<f64>, String> {
    let serde_json::Value::String(s) = v else {
        return Ok(None);
    };
    let d = match s.as_str() {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        other => other
            .parse::<f64>()
            .ok()
            .filter(|d| d.is_finite())
            .ok_or_else(|| format!("{other:?} is not a double"))?,
    };
    *v = serde_json::Value::from(0.0);
    Ok(Some(d))
}

fn take_string_doubles(json: &mut serde_json::Value) -> Result<Vec<(DoubleAt, f64)>, String> {
    let mut out = Vec::new();
    for (r, rm) in arr(json.get_mut("resourceMetrics")).into_iter().enumerate() {
        for (s, sm) in arr(rm.get_mut("scopeMetrics")).into_iter().enumerate() {
            for (m, metric) in arr(sm.get_mut("metrics")).into_iter().enumerate() {
                for data in ["gauge", "sum", "histogram", "summary"] {
                    let Some(d) = metric.get_mut(data) else {
                        continue;
                    };
                    for (p, point) in arr(d.get_mut("dataPoints")).into_iter().enumerate() {
                        let at = (r, s, m, p);
                        for (key, field) in [
                            ("asDouble", DoubleField::AsDouble),
                            ("sum", DoubleField::Sum),
                            ("min", DoubleField::Min),
                            ("max", DoubleField::Max),
                        ] {
                            if let Some(v) = point.get_mut(key) {
                                if let Some(d) = string_double(v)? {
                                    out.push(((at, field), d));
                                }
                            }
                        }
                        for (b, v) in arr(point.get_mut("explicitBounds")).into_iter().enumerate() {
                            if let Some(d) = string_double(v)? {
                                out.push(((at, DoubleField::Bound(b)), d));
                            }
                        }
                        for (q, qv) in arr(point.get_mut("quantileValues")).into_iter().enumerate()
                        {
                            for (key, field) in [
                                ("value", DoubleField::QuantileValue(q)),
                                ("quantile", DoubleField::Quantile(q)),
                            ] {
                                if let Some(v) = qv.get_mut(key) {
                                    if let Some(d) = string_double(v)? {
                                        out.push(((at, field), d));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

fn put_back_doubles(
    request: &mut ExportMetricsServiceRequest,
    strings: &[(DoubleAt, f64)],
) -> Result<(), String> {
    for &(((r, s, m, p), field), d) in strings {
        let metric = request
            .resource_metrics
            .get_mut(r)
            .and_then(|rm| rm.scope_metrics.get_mut(s))
            .and_then(|sm| sm.metrics.get_mut(m))
            .ok_or("a double outside any metric")?;
        let slot: Option<&mut f64> = match (&mut metric.data, field) {
            (Some(Data::Gauge(g)), DoubleField::AsDouble) => number_slot(g.data_points.get_mut(p)),
            (Some(Data::Sum(x)), DoubleField::AsDouble) => number_slot(x.data_points.get_mut(p)),
            (Some(Data::Histogram(h)), f) => h.data_points.get_mut(p).and_then(|dp| match f {
                DoubleField::Sum => dp.sum.as_mut(),
                DoubleField::Min => dp.min.as_mut(),
                DoubleField::Max => dp.max.as_mut(),
                DoubleField::Bound(b) => dp.explicit_bounds.get_mut(b),
                _ => None,
            }),
            (Some(Data::Summary(x)), f) => x.data_points.get_mut(p).and_then(|dp| match f {
                DoubleField::Sum => Some(&mut dp.sum),
                DoubleField::QuantileValue(q) => {
                    dp.quantile_values.get_mut(q).map(|v| &mut v.value)
                }
                DoubleField::Quantile(q) => dp.quantile_values.get_mut(q).map(|v| &mut v.quantile),
                _ => None,
            }),
            _ => None,
        };
        *slot
            .ok_or_else(|| format!("a string double in a field that is no double ({field:?})"))? =
            d;
    }
    Ok(())
}

fn number_slot(point: Option<&mut NumberDataPoint>) -> Option<&mut f64> {
    match point?.value.as_mut()? {
        number_data_point::Value::AsDouble(d) => Some(d),
        number_data_point::Value::AsInt(_) => None,
    }
}

/// Maps a decoded request to samples; the error says which metric breaks which rule.
pub fn read_otlp_request(request: &ExportMetricsServiceRequest) -> Result<Samples, String> {
    let mut out = Samples::default();
    let metrics = request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics);
    for metric in metrics {
        let name = metric.name.clone();
        let err = |m: String| format!("metric {name:?}: {m}");
        let (kind, series) = match &metric.data {
            None => return Err(err("no data".into())),
            Some(Data::Gauge(g)) => (Kind::Gauge, numbers(&g.data_points).map_err(err)?),
            Some(Data::Sum(s)) => {
                cumulative(s.aggregation_temporality).map_err(err)?;
                // A non-monotonic sum is an up-down counter: a gauge to the other formats.
                let kind = if s.is_monotonic {
                    Kind::Counter
                } else {
                    Kind::Gauge
                };
                (kind, numbers(&s.data_points).map_err(err)?)
            }
            Some(Data::Histogram(h)) => {
                cumulative(h.aggregation_temporality).map_err(err)?;
                let mut series = BTreeMap::new();
                for p in &h.data_points {
                    let labels = labels(&p.attributes).map_err(err)?;
                    if p.bucket_counts.len() != p.explicit_bounds.len() + 1
                        && !p.bucket_counts.is_empty()
                    {
                        return Err(err(format!(
                            "{labels}: {} bucket counts for {} bounds",
                            p.bucket_counts.len(),
                            p.explicit_bounds.len()
                        )));
                    }
                    let mut total = 0u64;
                    let bounds = p.explicit_bounds.iter().copied().chain([f64::INFINITY]);
                    let buckets = bounds
                        .zip(&p.bucket_counts)
                        .map(|(le, &c)| {
                            total = total.saturating_add(c);
                            Bucket { le, count: total }
                        })
                        .collect();
                    let sum = p
                        .sum
                        .map(Number::Float)
                        .ok_or_else(|| err(format!("{labels}: no sum")))?;
                    let point = Point::Histogram {
                        count: p.count,
                        sum,
                        buckets,
                    };
                    insert(&mut series, labels, point, p.start_time_unix_nano).map_err(err)?;
                }
                (Kind::Histogram, series)
            }
            Some(Data::Summary(s)) => {
                let mut series = BTreeMap::new();
                for p in &s.data_points {
                    let labels = labels(&p.attributes).map_err(err)?;
                    let point = Point::Summary {
                        count: p.count,
                        sum: Number::Float(p.sum),
                        quantiles: p
                            .quantile_values
                            .iter()
                            .map(|q| (q.quantile, Number::Float(q.value)))
                            .collect(),
                    };
                    insert(&mut series, labels, point, p.start_time_unix_nano).map_err(err)?;
                }
                (Kind::Summary, series)
            }
            Some(Data::ExponentialHistogram(_)) => {
                return Err(err("prism writes no exponential histograms".into()))
            }
        };
        if out.families.contains_key(&name) {
            return Err(err("given twice".into()));
        }
        out.families.insert(
            name.clone(),
            Family {
                name,
                kind: Some(kind),
                help: Some(metric.description.clone()),
                unit: Some(metric.unit.clone()),
                series,
            },
        );
    }
    Ok(out)
}

fn cumulative(temporality: i32) -> Result<(), String> {
    if temporality == AggregationTemporality::Cumulative as i32 {
        Ok(())
    } else {
        Err(format!(
            "temporality {temporality} is not cumulative; only cumulative reads compare"
        ))
    }
}

fn numbers(points: &[NumberDataPoint]) -> Result<BTreeMap<Labels, Series>, String> {
    let mut series = BTreeMap::new();
    for p in points {
        let labels = labels(&p.attributes)?;
        let n = match p.value {
            Some(number_data_point::Value::AsInt(v)) => Number::Int(v.into()),
            Some(number_data_point::Value::AsDouble(v)) => Number::Float(v),
            None => return Err(format!("{labels}: a data point without a value")),
        };
        insert(
            &mut series,
            labels,
            Point::Number(n),
            p.start_time_unix_nano,
        )?;
    }
    Ok(series)
}

fn insert(
    series: &mut BTreeMap<Labels, Series>,
    labels: Labels,
    point: Point,
    start: u64,
) -> Result<(), String> {
    let s = Series {
        point,
        created_unix_nanos: (start != 0).then_some(start),
    };
    match series.insert(labels.clone(), s) {
        Some(_) => Err(format!("two data points with attributes {labels}")),
        None => Ok(()),
    }
}

fn labels(attributes: &[KeyValue]) -> Result<Labels, String> {
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(attributes.len());
    for kv in attributes {
        let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
        if kv.key == prism_core::OVERFLOW_ATTRIBUTE {
            let ok = matches!(value, Some(any_value::Value::BoolValue(true)))
                || matches!(value, Some(any_value::Value::StringValue(s)) if s == "true");
            if !ok {
                return Err(format!("attribute {:?} is not `true`", kv.key));
            }
            pairs.push((prism_core::OVERFLOW_LABEL.to_owned(), "true".to_owned()));
            continue;
        }
        match value {
            Some(any_value::Value::StringValue(s)) => pairs.push((kv.key.clone(), s.clone())),
            other => {
                return Err(format!(
                    "attribute {:?} is {other:?}, not a string (prism's labels are strings)",
                    kv.key
                ))
            }
        }
    }
    let count = pairs.len();
    let labels = Labels::new(pairs);
    if labels.pairs().windows(2).any(|w| w[0].0 == w[1].0) || labels.pairs().len() != count {
        return Err(format!("attribute keys repeat in {labels}"));
    }
    Ok(labels)
}
