//! OTLP JSON: opentelemetry-proto's serde mapping, with non-finite doubles fixed.
//!
//! opentelemetry-proto's `with-serde` feature follows the OTLP JSON rules where they matter
//! here: lowerCamelCase field names, 64-bit integers (`timeUnixNano`, `asInt`, `count`,
//! `bucketCounts`) as decimal strings, enums (`aggregationTemporality`) as integers, and
//! `intValue` attributes as strings. Fields at their default value are written out rather
//! than left out, which the protobuf JSON mapping allows; unset optional fields (`null`
//! from serde) are left out.
//!
//! One deviation is fixed here: serde_json writes a NaN or infinite `f64` as `null`, which
//! a receiver reads as 0. The protobuf JSON mapping writes them as the strings `"NaN"`,
//! `"Infinity"` and `"-Infinity"`. [`to_vec`] puts those strings back in every double field
//! of the metrics data (`asDouble`, histogram `sum`, `min`, `max`, `explicitBounds`,
//! summary `sum`, summary `quantile` and `value`, double attributes), and [`from_slice`]
//! reads them back.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, NumberDataPoint};
use serde_json::Value as Json;

/// The request as OTLP JSON bytes.
///
/// ```
/// use prism_core::{FloatGauge, Registry};
/// let registry = Registry::builder().self_telemetry(false).build();
/// registry.register("ratio", "A ratio.", FloatGauge::new())?.set(f64::NAN);
/// let request = prism_otel::encode(&registry, &prism_otel::Resource::new("svc"));
/// let json = String::from_utf8(prism_otel::json::to_vec(&request)).unwrap();
/// assert!(json.contains(r#""asDouble":"NaN""#));
/// let back = prism_otel::json::from_slice(json.as_bytes()).unwrap();
/// assert_eq!(back.resource_metrics.len(), 1);
/// # Ok::<(), prism_core::Error>(())
/// ```
pub fn to_vec(request: &ExportMetricsServiceRequest) -> Vec<u8> {
    // Serializing these derived types into a `Value` cannot fail: every map key is a
    // string and every number is finite or already `null`.
    let mut json = serde_json::to_value(request).unwrap_or(Json::Null);
    if has_non_finite(request) {
        let mut request = request.clone();
        walk(&mut request, Some(&mut json), &mut |d, j| {
            if let (false, Some(j)) = (d.is_finite(), j) {
                *j = Json::String(special_name(*d).to_owned());
            }
        });
    }
    drop_nulls(&mut json);
    serde_json::to_vec(&json).unwrap_or_default()
}

/// Leaves out fields that are `null`: an unset optional field (a histogram's `min` and `max`
/// when nothing was recorded, or under delta) is absent in OTLP JSON, as in the protobuf
/// bytes. The protobuf JSON mapping reads `null` as unset too, but not every receiver does.
fn drop_nulls(json: &mut Json) {
    match json {
        Json::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Json::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Reads OTLP JSON bytes into a request, `"NaN"`, `"Infinity"` and `"-Infinity"` included.
pub fn from_slice(bytes: &[u8]) -> Result<ExportMetricsServiceRequest, serde_json::Error> {
    let original: Json = serde_json::from_slice(bytes)?;
    let mut cleaned = original.clone();
    let mut found = false;
    zero_specials(&mut cleaned, None, &mut found);
    let mut request: ExportMetricsServiceRequest = serde_json::from_value(cleaned)?;
    if found {
        let mut original = original;
        walk(&mut request, Some(&mut original), &mut |d, j| {
            if let Some(v) = j.and_then(|j| j.as_str()).and_then(parse_special) {
                *d = v;
            }
        });
    }
    Ok(request)
}

fn special_name(d: f64) -> &'static str {
    if d.is_nan() {
        "NaN"
    } else if d > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

fn parse_special(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Keys whose values are doubles in the metrics protos.
const DOUBLE_KEYS: [&str; 9] = [
    "asDouble",
    "doubleValue",
    "sum",
    "min",
    "max",
    "zeroThreshold",
    "explicitBounds",
    "quantile",
    "value",
];

/// Replaces the special strings in double fields by 0 so that serde reads the rest.
fn zero_specials(json: &mut Json, key: Option<&str>, found: &mut bool) {
    match json {
        Json::String(s)
            if key.is_some_and(|k| DOUBLE_KEYS.contains(&k)) && parse_special(s).is_some() =>
        {
            *json = Json::from(0.0);
            *found = true;
        }
        Json::Array(items) => {
            for item in items {
                // Elements of `explicitBounds` are doubles; others are objects.
                zero_specials(item, key, found);
            }
        }
        Json::Object(map) => {
            for (k, v) in map.iter_mut() {
                zero_specials(v, Some(k.as_str()), found);
            }
        }
        _ => {}
    }
}

fn has_non_finite(request: &ExportMetricsServiceRequest) -> bool {
    let mut found = false;
    let mut request = request.clone();
    walk(&mut request, None, &mut |d, _| {
        found |= !d.is_finite();
    });
    found
}

type Visit<'a> = dyn FnMut(&mut f64, Option<&mut Json>) + 'a;
type Node<'j> = Option<&'j mut Json>;

/// Calls `f` on every double field of the request together with its JSON value (`None`
/// where the JSON has none), walking both in step.
fn walk(request: &mut ExportMetricsServiceRequest, json: Node<'_>, f: &mut Visit<'_>) {
    let mut rms = field(json, "resourceMetrics");
    for (i, rm) in request.resource_metrics.iter_mut().enumerate() {
        let mut j = at(&mut rms, i);
        if let Some(resource) = &mut rm.resource {
            attributes(
                &mut resource.attributes,
                field(j.as_deref_mut(), "resource"),
                f,
            );
        }
        let mut sms = field(j, "scopeMetrics");
        for (i, sm) in rm.scope_metrics.iter_mut().enumerate() {
            let mut j = at(&mut sms, i);
            if let Some(scope) = &mut sm.scope {
                attributes(&mut scope.attributes, field(j.as_deref_mut(), "scope"), f);
            }
            let mut ms = field(j, "metrics");
            for (i, m) in sm.metrics.iter_mut().enumerate() {
                let j = at(&mut ms, i);
                match &mut m.data {
                    Some(metric::Data::Gauge(g)) => {
                        number_points(&mut g.data_points, field(j, "gauge"), f)
                    }
                    Some(metric::Data::Sum(s)) => {
                        number_points(&mut s.data_points, field(j, "sum"), f)
                    }
                    Some(metric::Data::Histogram(h)) => {
                        let mut points = field(field(j, "histogram"), "dataPoints");
                        for (i, p) in h.data_points.iter_mut().enumerate() {
                            let mut j = at(&mut points, i);
                            attributes(&mut p.attributes, j.as_deref_mut(), f);
                            optional(&mut p.sum, field(j.as_deref_mut(), "sum"), f);
                            optional(&mut p.min, field(j.as_deref_mut(), "min"), f);
                            optional(&mut p.max, field(j.as_deref_mut(), "max"), f);
                            let mut bounds = field(j, "explicitBounds");
                            for (i, b) in p.explicit_bounds.iter_mut().enumerate() {
                                f(b, at(&mut bounds, i));
                            }
                        }
                    }
                    Some(metric::Data::ExponentialHistogram(h)) => {
                        let mut points = field(field(j, "exponentialHistogram"), "dataPoints");
                        for (i, p) in h.data_points.iter_mut().enumerate() {
                            let mut j = at(&mut points, i);
                            attributes(&mut p.attributes, j.as_deref_mut(), f);
                            optional(&mut p.sum, field(j.as_deref_mut(), "sum"), f);
                            optional(&mut p.min, field(j.as_deref_mut(), "min"), f);
                            optional(&mut p.max, field(j.as_deref_mut(), "max"), f);
                            f(&mut p.zero_threshold, field(j, "zeroThreshold"));
                        }
                    }
                    Some(metric::Data::Summary(s)) => {
                        let mut points = field(field(j, "summary"), "dataPoints");
                        for (i, p) in s.data_points.iter_mut().enumerate() {
                            let mut j = at(&mut points, i);
                            attributes(&mut p.attributes, j.as_deref_mut(), f);
                            f(&mut p.sum, field(j.as_deref_mut(), "sum"));
                            let mut quantiles = field(j, "quantileValues");
                            for (i, q) in p.quantile_values.iter_mut().enumerate() {
                                let mut j = at(&mut quantiles, i);
                                f(&mut q.quantile, field(j.as_deref_mut(), "quantile"));
                                f(&mut q.value, field(j, "value"));
                            }
                        }
                    }
                    None => {}
                }
            }
        }
    }
}

fn number_points(points: &mut [NumberDataPoint], json: Node<'_>, f: &mut Visit<'_>) {
    let mut items = field(json, "dataPoints");
    for (i, p) in points.iter_mut().enumerate() {
        let mut j = at(&mut items, i);
        attributes(&mut p.attributes, j.as_deref_mut(), f);
        if let Some(number_data_point::Value::AsDouble(d)) = &mut p.value {
            f(d, field(j, "asDouble"));
        }
    }
}

/// The `attributes` of the object `json`.
fn attributes(attrs: &mut [KeyValue], json: Node<'_>, f: &mut Visit<'_>) {
    let mut items = field(json, "attributes");
    for (i, kv) in attrs.iter_mut().enumerate() {
        let j = at(&mut items, i);
        if let Some(any_value::Value::DoubleValue(d)) =
            kv.value.as_mut().and_then(|v| v.value.as_mut())
        {
            f(d, field(field(j, "value"), "doubleValue"));
        }
    }
}

fn optional(value: &mut Option<f64>, json: Node<'_>, f: &mut Visit<'_>) {
    if let Some(d) = value {
        f(d, json);
    }
}

/// The field `key` of an object.
fn field<'j>(json: Node<'j>, key: &str) -> Node<'j> {
    json.and_then(|j| j.get_mut(key))
}

/// Element `i` of an array.
fn at<'a>(json: &'a mut Node<'_>, i: usize) -> Node<'a> {
    json.as_deref_mut().and_then(|j| j.get_mut(i))
}
