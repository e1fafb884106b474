//! Test receivers on 127.0.0.1:0, built on the opentelemetry-proto types: an axum route
//! for OTLP/HTTP (protobuf and JSON bodies, gzip or not) and a tonic server for OTLP/gRPC.
//! Each records every request it decodes and answers from a script.

#![allow(dead_code)] // each test binary uses part of it

use std::collections::{BTreeMap, VecDeque};
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use prism_otel::proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use prism_otel::proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prism_otel::proto::tonic::common::v1::{any_value, KeyValue};
use prism_otel::proto::tonic::metrics::v1::{
    metric, number_data_point, HistogramDataPoint, NumberDataPoint, SummaryDataPoint,
};
use prost::Message;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Ok,
    Partial(i64, &'static str),
    /// An HTTP status (or, over gRPC, the code mapped from it), with an optional
    /// `Retry-After` value.
    Status(u16, Option<&'static str>),
    /// Never answers.
    Hang,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub request: ExportMetricsServiceRequest,
    pub content_type: String,
    pub content_encoding: Option<String>,
    pub headers: BTreeMap<String, String>,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<Answer>,
    attempts: usize,
}

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.lock().unwrap().script.extend(answers);
    }
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }
    pub fn attempts(&self) -> usize {
        self.inner.lock().unwrap().attempts
    }
    pub fn last(&self) -> ExportMetricsServiceRequest {
        self.received().last().expect("a request").request.clone()
    }
    fn take(&self, received: Received) -> Answer {
        let mut inner = self.inner.lock().unwrap();
        inner.attempts += 1;
        inner.received.push(received);
        inner.script.pop_front().unwrap_or(Answer::Ok)
    }
}

fn headers_of(h: &HeaderMap) -> BTreeMap<String, String> {
    h.iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect()
}

/// An OTLP/HTTP receiver at `http://{addr}/v1/metrics`.
pub async fn http_receiver() -> (SocketAddr, Receiver) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let receiver = Receiver::default();
    serve_http(listener, receiver.clone());
    (addr, receiver)
}

pub fn serve_http(listener: tokio::net::TcpListener, receiver: Receiver) {
    let app = Router::new()
        .route("/v1/metrics", post(http_export))
        .with_state(receiver);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// The OTLP/HTTP route's handler: decodes the request, records it in `receiver` and
/// answers from its script. Public so that a test's own route can hand requests to it.
pub async fn http_export(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let content_encoding = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match content_encoding.as_deref() {
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut out)
                .expect("valid gzip");
            out
        }
        None => body.to_vec(),
        Some(other) => panic!("unexpected content-encoding {other}"),
    };
    let json = content_type == "application/json";
    let request = if json {
        prism_otel::json::from_slice(&body).expect("valid OTLP JSON")
    } else {
        assert_eq!(content_type, "application/x-protobuf");
        ExportMetricsServiceRequest::decode(&body[..]).expect("valid OTLP protobuf")
    };
    let answer = receiver.take(Received {
        request,
        content_type: content_type.clone(),
        content_encoding,
        headers: headers_of(&headers),
    });
    let ok = |partial: Option<ExportMetricsPartialSuccess>| {
        let response = ExportMetricsServiceResponse {
            partial_success: partial,
        };
        if json {
            (
                [("content-type", "application/json")],
                serde_json::to_vec(&response).unwrap(),
            )
                .into_response()
        } else {
            (
                [("content-type", "application/x-protobuf")],
                response.encode_to_vec(),
            )
                .into_response()
        }
    };
    match answer {
        Answer::Ok => ok(None),
        Answer::Partial(rejected, message) => ok(Some(ExportMetricsPartialSuccess {
            rejected_data_points: rejected,
            error_message: message.to_owned(),
        })),
        Answer::Status(code, retry_after) => {
            let mut response = (
                StatusCode::from_u16(code).unwrap(),
                format!("scripted {code}"),
            )
                .into_response();
            if let Some(v) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", v.parse().unwrap());
            }
            response
        }
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            ok(None)
        }
    }
}

/// An OTLP/gRPC receiver at `http://{addr}`, accepting gzip.
pub async fn grpc_receiver() -> (SocketAddr, Receiver) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let receiver = Receiver::default();
    serve_grpc(listener, receiver.clone());
    (addr, receiver)
}

pub fn serve_grpc(listener: tokio::net::TcpListener, receiver: Receiver) {
    let service = MetricsServiceServer::new(GrpcService(receiver))
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await;
    });
}

struct GrpcService(Receiver);

#[tonic::async_trait]
impl MetricsService for GrpcService {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let headers = headers_of(&request.metadata().clone().into_headers());
        let encoding = headers.get("grpc-encoding").cloned();
        let answer = self.0.take(Received {
            request: request.into_inner(),
            content_type: "application/grpc".to_owned(),
            content_encoding: encoding,
            headers,
        });
        let ok = |partial| {
            Ok(tonic::Response::new(ExportMetricsServiceResponse {
                partial_success: partial,
            }))
        };
        match answer {
            Answer::Ok => ok(None),
            Answer::Partial(rejected, message) => ok(Some(ExportMetricsPartialSuccess {
                rejected_data_points: rejected,
                error_message: message.to_owned(),
            })),
            Answer::Status(code, _) => Err(match code {
                503 => tonic::Status::unavailable("scripted 503"),
                400 => tonic::Status::invalid_argument("scripted 400"),
                other => tonic::Status::internal(format!("scripted {other}")),
            }),
            Answer::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                ok(None)
            }
        }
    }
}

/// One data point as the tests compare them.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub attributes: BTreeMap<String, String>,
    pub value: Number,
    pub start: u64,
    pub time: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    Int(i64),
    Double(f64),
    Histogram(Distribution),
    /// Count, sum, and `(quantile, value)` pairs.
    Summary(u64, f64, Vec<(f64, f64)>),
}

/// A histogram data point's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub bounds: Vec<f64>,
    pub bucket_counts: Vec<u64>,
    pub count: u64,
    pub sum: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Distribution {
    /// What prism's read says a cumulative point carries.
    pub fn of(h: &prism_core::HistogramValue) -> Self {
        Self {
            bounds: h.bounds().to_vec(),
            bucket_counts: h.bucket_counts().to_vec(),
            count: h.count(),
            sum: Some(h.sum()),
            min: h.min(),
            max: h.max(),
        }
    }
}

/// What a metric was sent as.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub description: String,
    pub unit: String,
    /// `"sum"`, `"gauge"`, `"histogram"` or `"summary"`.
    pub data: &'static str,
    pub monotonic: bool,
    /// 1 delta, 2 cumulative, 0 for gauges and summaries.
    pub temporality: i32,
    pub points: Vec<Point>,
}

fn attribute_text(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => format!("bool:{b}"),
        other => format!("{other:?}"),
    }
}

fn attribute_map(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::new();
    for kv in kvs {
        assert!(
            attributes
                .insert(kv.key.clone(), attribute_text(kv))
                .is_none(),
            "attribute keys are unique"
        );
    }
    attributes
}

fn points(points: &[NumberDataPoint]) -> Vec<Point> {
    points
        .iter()
        .map(|p| Point {
            attributes: attribute_map(&p.attributes),
            value: match p.value.expect("a value") {
                number_data_point::Value::AsInt(v) => Number::Int(v),
                number_data_point::Value::AsDouble(v) => Number::Double(v),
            },
            start: p.start_time_unix_nano,
            time: p.time_unix_nano,
        })
        .collect()
}

fn histogram_points(points: &[HistogramDataPoint]) -> Vec<Point> {
    points
        .iter()
        .map(|p| {
            // The OTLP rules of a histogram point, whatever its values.
            assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
            assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
            assert!(p.explicit_bounds.windows(2).all(|w| w[0] < w[1]));
            Point {
                attributes: attribute_map(&p.attributes),
                value: Number::Histogram(Distribution {
                    bounds: p.explicit_bounds.clone(),
                    bucket_counts: p.bucket_counts.clone(),
                    count: p.count,
                    sum: p.sum,
                    min: p.min,
                    max: p.max,
                }),
                start: p.start_time_unix_nano,
                time: p.time_unix_nano,
            }
        })
        .collect()
}

fn summary_points(points: &[SummaryDataPoint]) -> Vec<Point> {
    points
        .iter()
        .map(|p| Point {
            attributes: attribute_map(&p.attributes),
            value: Number::Summary(
                p.count,
                p.sum,
                p.quantile_values
                    .iter()
                    .map(|q| (q.quantile, q.value))
                    .collect(),
            ),
            start: p.start_time_unix_nano,
            time: p.time_unix_nano,
        })
        .collect()
}

/// The metrics of a request by name (one resource, one scope expected).
pub fn metrics(request: &ExportMetricsServiceRequest) -> BTreeMap<String, Sent> {
    assert_eq!(request.resource_metrics.len(), 1);
    let rm = &request.resource_metrics[0];
    assert_eq!(rm.scope_metrics.len(), 1);
    let sm = &rm.scope_metrics[0];
    let scope = sm.scope.as_ref().expect("a scope");
    assert_eq!(scope.name, "prism");
    assert_eq!(scope.version, env!("CARGO_PKG_VERSION"));
    let mut out = BTreeMap::new();
    for m in &sm.metrics {
        let sent = match m.data.as_ref().expect("data") {
            metric::Data::Sum(s) => Sent {
                description: m.description.clone(),
                unit: m.unit.clone(),
                data: "sum",
                monotonic: s.is_monotonic,
                temporality: s.aggregation_temporality,
                points: points(&s.data_points),
            },
            metric::Data::Gauge(g) => Sent {
                description: m.description.clone(),
                unit: m.unit.clone(),
                data: "gauge",
                monotonic: false,
                temporality: 0,
                points: points(&g.data_points),
            },
            metric::Data::Histogram(h) => Sent {
                description: m.description.clone(),
                unit: m.unit.clone(),
                data: "histogram",
                monotonic: false,
                temporality: h.aggregation_temporality,
                points: histogram_points(&h.data_points),
            },
            metric::Data::Summary(s) => Sent {
                description: m.description.clone(),
                unit: m.unit.clone(),
                data: "summary",
                monotonic: false,
                temporality: 0,
                points: summary_points(&s.data_points),
            },
            other => panic!("unexpected data {other:?}"),
        };
        assert!(
            out.insert(m.name.clone(), sent).is_none(),
            "metric names are unique"
        );
    }
    out
}

/// The resource attributes of a request.
pub fn resource(request: &ExportMetricsServiceRequest) -> BTreeMap<String, String> {
    request.resource_metrics[0]
        .resource
        .as_ref()
        .expect("a resource")
        .attributes
        .iter()
        .map(|kv| (kv.key.clone(), attribute_text(kv)))
        .collect()
}

/// Checks that every series of the registry's snapshot arrived with its value, labels,
/// help, unit, kind and start time, and nothing else did.
pub fn assert_matches_registry(
    request: &ExportMetricsServiceRequest,
    snapshot: &prism_core::Snapshot,
    temporality: i32,
) {
    use prism_core::{Kind, Value};
    let sent = metrics(request);
    let mut expected_names = Vec::new();
    for family in &snapshot.families {
        let d = &family.descriptor;
        // OTLP carries the OpenTelemetry side of each family.
        if family.series.is_empty() {
            assert!(
                !sent.contains_key(d.otel_name()),
                "{} has no series",
                d.name()
            );
            continue;
        }
        expected_names.push(d.otel_name().to_owned());
        let m = sent
            .get(d.otel_name())
            .unwrap_or_else(|| panic!("{} was sent", d.otel_name()));
        assert_eq!(m.description, d.help());
        assert_eq!(m.unit, d.otel_unit());
        match d.kind() {
            Kind::Counter => {
                assert_eq!(
                    (m.data, m.monotonic, m.temporality),
                    ("sum", true, temporality)
                )
            }
            // An up-down counter: a non-monotonic sum, cumulative in every mode.
            Kind::Gauge if d.is_up_down_counter() => {
                assert_eq!((m.data, m.monotonic, m.temporality), ("sum", false, 2))
            }
            Kind::Gauge => assert_eq!(m.data, "gauge"),
            Kind::Histogram => assert_eq!((m.data, m.temporality), ("histogram", temporality)),
            Kind::Summary => assert_eq!(m.data, "summary"),
            other => panic!("unexpected kind {other:?}"),
        }
        assert_eq!(m.points.len(), family.series.len(), "{}", d.name());
        for (series, point) in family.series.iter().zip(&m.points) {
            let attributes: BTreeMap<String, String> = if series.overflow {
                [("otel.metric.overflow".to_owned(), "bool:true".to_owned())].into()
            } else {
                d.attribute_names()
                    .iter()
                    .cloned()
                    .zip(series.label_values.iter().cloned())
                    .collect()
            };
            assert_eq!(point.attributes, attributes, "{}", d.name());
            // Self-telemetry and the exporter's own counters move between the read the
            // request was encoded from and this snapshot; everything else must be equal.
            if !d.name().starts_with("prism_") {
                let want = match series.value {
                    Value::Counter(v) => Number::Int(v as i64),
                    Value::Gauge(v) => Number::Int(v),
                    Value::CounterF64(v) | Value::GaugeF64(v) => Number::Double(v),
                    Value::Histogram(ref h) => {
                        let mut want = Distribution::of(h);
                        if temporality == 1 {
                            // Min and max are kept since the start: not a delta's.
                            (want.min, want.max) = (None, None);
                        }
                        Number::Histogram(want)
                    }
                    Value::Summary(ref h) => Number::Summary(
                        h.count(),
                        h.sum(),
                        h.quantiles().filter_map(|(q, v)| Some((q, v?))).collect(),
                    ),
                    ref other => panic!("unexpected value {other:?}"),
                };
                match (&point.value, &want) {
                    (Number::Double(a), Number::Double(b)) if a.is_nan() => assert!(b.is_nan()),
                    (a, b) => assert_eq!(a, b, "{} {:?}", d.name(), series.label_values),
                }
                assert_eq!(point.start, series.created_unix_nanos, "{}", d.name());
            }
            assert!(point.start <= point.time && point.start > 0);
        }
    }
    // `sent` is a sorted map: compare as sets.
    let sent_names: Vec<String> = sent.keys().cloned().collect();
    expected_names.sort();
    assert_eq!(sent_names, expected_names);
}
