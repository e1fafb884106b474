//! OTLP protobuf bytes in one pass: [`encode`], byte for byte what prost writes for the
//! same request (the property test in `tests/encode.rs` compares them).
//!
//! prost sizes every nested message before writing it, and does so again at each level of
//! nesting: a data point's attributes are measured once per enclosing message (point,
//! metric, scope, resource). Here each message is written once, behind a one-byte length
//! that is widened, moving the message's bytes, only when it reaches 128 bytes: data
//! points and attributes almost never do, so the moves are a few per metric.
//!
//! The hot messages (metrics, their data and points, string and bool attributes) are
//! written here, fields in tag order and proto3 defaults left out as prost does; anything
//! else (resource, scope, exemplars, metadata, other attribute values) goes through prost.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
};
use prost::encoding::{encode_varint, message};

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;

/// The request as protobuf bytes: equal to prost's `request.encode_to_vec()`.
///
/// ```
/// use prism_core::{Counter, Registry};
/// use prost::Message;
/// let registry = Registry::new();
/// registry.register("jobs", "Jobs run.", Counter::new())?.add(3);
/// let request = prism_otel::encode(&registry, &prism_otel::Resource::new("svc"));
/// assert_eq!(prism_otel::protobuf::to_vec(&request), request.encode_to_vec());
/// # Ok::<(), prism_core::Error>(())
/// ```
pub fn to_vec(request: &ExportMetricsServiceRequest) -> Vec<u8> {
    let mut out = Vec::new();
    encode(request, &mut out);
    out
}

/// Appends the protobuf encoding of `request` to `out`.
pub fn encode(request: &ExportMetricsServiceRequest, out: &mut Vec<u8>) {
    for rm in &request.resource_metrics {
        nested(out, 1, |out| {
            if let Some(resource) = &rm.resource {
                message::encode(1, resource, out);
            }
            for sm in &rm.scope_metrics {
                nested(out, 2, |out| {
                    if let Some(scope) = &sm.scope {
                        message::encode(1, scope, out);
                    }
                    for m in &sm.metrics {
                        nested(out, 2, |out| metric(m, out));
                    }
                    string(out, 3, &sm.schema_url);
                });
            }
            string(out, 3, &rm.schema_url);
        });
    }
}

fn metric(m: &Metric, out: &mut Vec<u8>) {
    string(out, 1, &m.name);
    string(out, 2, &m.description);
    string(out, 3, &m.unit);
    match &m.data {
        Some(metric::Data::Gauge(g)) => nested(out, 5, |out| {
            for p in &g.data_points {
                nested(out, 1, |out| number_point(p, out));
            }
        }),
        Some(metric::Data::Sum(s)) => nested(out, 7, |out| {
            for p in &s.data_points {
                nested(out, 1, |out| number_point(p, out));
            }
            varint(out, 2, s.aggregation_temporality as u64);
            varint(out, 3, u64::from(s.is_monotonic));
        }),
        Some(metric::Data::Histogram(h)) => nested(out, 9, |out| {
            for p in &h.data_points {
                nested(out, 1, |out| histogram_point(p, out));
            }
            varint(out, 2, h.aggregation_temporality as u64);
        }),
        Some(metric::Data::ExponentialHistogram(h)) => message::encode(10, h, out),
        Some(metric::Data::Summary(s)) => nested(out, 11, |out| {
            for p in &s.data_points {
                nested(out, 1, |out| summary_point(p, out));
            }
        }),
        None => {}
    }
    for kv in &m.metadata {
        message::encode(12, kv, out);
    }
}

fn number_point(p: &NumberDataPoint, out: &mut Vec<u8>) {
    fixed64(out, 2, p.start_time_unix_nano);
    fixed64(out, 3, p.time_unix_nano);
    match p.value {
        // A oneof is written whatever its value.
        Some(number_data_point::Value::AsDouble(v)) => {
            key(out, 4, FIXED64);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Some(number_data_point::Value::AsInt(v)) => {
            key(out, 6, FIXED64);
            out.extend_from_slice(&v.to_le_bytes());
        }
        None => {}
    }
    for e in &p.exemplars {
        message::encode(5, e, out);
    }
    attributes(out, 7, &p.attributes);
    varint(out, 8, u64::from(p.flags));
}

fn histogram_point(p: &HistogramDataPoint, out: &mut Vec<u8>) {
    fixed64(out, 2, p.start_time_unix_nano);
    fixed64(out, 3, p.time_unix_nano);
    fixed64(out, 4, p.count);
    optional_double(out, 5, p.sum);
    if !p.bucket_counts.is_empty() {
        key(out, 6, LEN);
        encode_varint(8 * p.bucket_counts.len() as u64, out);
        for c in &p.bucket_counts {
            out.extend_from_slice(&c.to_le_bytes());
        }
    }
    if !p.explicit_bounds.is_empty() {
        key(out, 7, LEN);
        encode_varint(8 * p.explicit_bounds.len() as u64, out);
        for b in &p.explicit_bounds {
            out.extend_from_slice(&b.to_le_bytes());
        }
    }
    for e in &p.exemplars {
        message::encode(8, e, out);
    }
    attributes(out, 9, &p.attributes);
    varint(out, 10, u64::from(p.flags));
    optional_double(out, 11, p.min);
    optional_double(out, 12, p.max);
}

fn summary_point(p: &SummaryDataPoint, out: &mut Vec<u8>) {
    fixed64(out, 2, p.start_time_unix_nano);
    fixed64(out, 3, p.time_unix_nano);
    fixed64(out, 4, p.count);
    double(out, 5, p.sum);
    for q in &p.quantile_values {
        nested(out, 6, |out| {
            double(out, 1, q.quantile);
            double(out, 2, q.value);
        });
    }
    attributes(out, 7, &p.attributes);
    varint(out, 8, u64::from(p.flags));
}

fn attributes(out: &mut Vec<u8>, tag: u32, attributes: &[KeyValue]) {
    for kv in attributes {
        let value = kv.value.as_ref().map(|v| &v.value);
        match value {
            Some(Some(any_value::Value::StringValue(s))) if kv.key_strindex == 0 => {
                nested(out, tag, |out| {
                    string(out, 1, &kv.key);
                    nested(out, 2, |out| {
                        // A oneof is written whatever its value, "" included.
                        key(out, 1, LEN);
                        encode_varint(s.len() as u64, out);
                        out.extend_from_slice(s.as_bytes());
                    });
                })
            }
            Some(Some(any_value::Value::BoolValue(b))) if kv.key_strindex == 0 => {
                nested(out, tag, |out| {
                    string(out, 1, &kv.key);
                    nested(out, 2, |out| {
                        key(out, 2, VARINT);
                        encode_varint(u64::from(*b), out);
                    });
                })
            }
            _ => message::encode(tag, kv, out),
        }
    }
}

/// A length-delimited field whose body `body` writes: one byte of length is reserved and
/// widened afterwards if the body reached 128 bytes.
#[inline]
fn nested(out: &mut Vec<u8>, tag: u32, body: impl FnOnce(&mut Vec<u8>)) {
    key(out, tag, LEN);
    let at = out.len();
    out.push(0);
    let start = out.len();
    body(out);
    let len = out.len() - start;
    if len < 0x80 {
        out[at] = len as u8;
        return;
    }
    let width = prost::encoding::encoded_len_varint(len as u64);
    out.resize(out.len() + width - 1, 0);
    out.copy_within(start..start + len, start + width - 1);
    let mut prefix = [0u8; 10];
    let mut slice = &mut prefix[..];
    encode_varint(len as u64, &mut slice);
    out[at..at + width].copy_from_slice(&prefix[..width]);
}

#[inline]
fn key(out: &mut Vec<u8>, tag: u32, wire: u32) {
    encode_varint(u64::from(tag << 3 | wire), out);
}

#[inline]
fn string(out: &mut Vec<u8>, tag: u32, s: &str) {
    if !s.is_empty() {
        key(out, tag, LEN);
        encode_varint(s.len() as u64, out);
        out.extend_from_slice(s.as_bytes());
    }
}

#[inline]
fn varint(out: &mut Vec<u8>, tag: u32, v: u64) {
    if v != 0 {
        key(out, tag, VARINT);
        encode_varint(v, out);
    }
}

#[inline]
fn fixed64(out: &mut Vec<u8>, tag: u32, v: u64) {
    if v != 0 {
        key(out, tag, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// A proto3 double: left out when it equals 0.0, as prost compares it (-0.0 included).
#[inline]
fn double(out: &mut Vec<u8>, tag: u32, v: f64) {
    if v != 0.0 {
        key(out, tag, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

#[inline]
fn optional_double(out: &mut Vec<u8>, tag: u32, v: Option<f64>) {
    if let Some(v) = v {
        key(out, tag, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
    }
}
