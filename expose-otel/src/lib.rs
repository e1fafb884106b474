//! prism-otel: a prism registry as OTLP metrics, pushed to an OpenTelemetry Collector
//! over HTTP (protobuf or JSON) or gRPC, or bridged into an existing opentelemetry_sdk
//! pipeline.
//!
//! The crate renders [`Registry::visit`](prism_core::Registry::visit) and nothing else, so
//! OTLP carries the same values as the Prometheus and JSON formats. Here is what a small
//! registry becomes (OTLP JSON of the metrics, times pinned so that the bytes can be shown):
//!
//! ```
//! use prism_core::{Counter, Family, FloatGauge, Metadata, Registry};
//! # use prism_otel::proto::tonic::metrics::v1::metric::Data;
//!
//! let registry = Registry::builder().self_telemetry(false).build();
//! let requests = registry.register(
//!     "http_requests",
//!     "Requests served, by method.",
//!     Family::<Counter>::new(["method"]),
//! )?;
//! let temperature = registry.register_with(
//!     Metadata::new("room_temperature_celsius", "Temperature of the server room.")
//!         .unit("celsius"),
//!     FloatGauge::new(),
//! )?;
//! requests.get(&["GET"]).add(3);
//! temperature.set(f64::NAN); // the sensor is out
//!
//! let mut request = prism_otel::encode(&registry, &prism_otel::Resource::new("checkout"));
//! # for m in &mut request.resource_metrics[0].scope_metrics[0].metrics {
//! #     let points = match m.data.as_mut().unwrap() {
//! #         Data::Sum(s) => &mut s.data_points,
//! #         Data::Gauge(g) => &mut g.data_points,
//! #         _ => unreachable!(),
//! #     };
//! #     for p in points {
//! #         p.start_time_unix_nano = 1_700_000_000_000_000_000;
//! #         p.time_unix_nano = 1_700_000_060_000_000_000;
//! #     }
//! # }
//! let json: serde_json::Value = serde_json::from_slice(&prism_otel::json::to_vec(&request))?;
//! let metrics = &json["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
//! assert_eq!(serde_json::to_string_pretty(metrics)?, r#"[
//!   {
//!     "description": "Requests served, by method.",
//!     "metadata": [],
//!     "name": "http_requests",
//!     "sum": {
//!       "aggregationTemporality": 2,
//!       "dataPoints": [
//!         {
//!           "asInt": "3",
//!           "attributes": [
//!             {
//!               "key": "method",
//!               "value": {
//!                 "stringValue": "GET"
//!               }
//!             }
//!           ],
//!           "exemplars": [],
//!           "flags": 0,
//!           "startTimeUnixNano": "1700000000000000000",
//!           "timeUnixNano": "1700000060000000000"
//!         }
//!       ],
//!       "isMonotonic": true
//!     },
//!     "unit": ""
//!   },
//!   {
//!     "description": "Temperature of the server room.",
//!     "gauge": {
//!       "dataPoints": [
//!         {
//!           "asDouble": "NaN",
//!           "attributes": [],
//!           "exemplars": [],
//!           "flags": 0,
//!           "startTimeUnixNano": "1700000000000000000",
//!           "timeUnixNano": "1700000060000000000"
//!         }
//!       ]
//!     },
//!     "metadata": [],
//!     "name": "room_temperature_celsius",
//!     "unit": "Cel"
//!   }
//! ]"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! (Keys print sorted here because the example reads the bytes back into a
//! `serde_json::Value`; the bytes themselves follow the protobuf field order.)
//!
//! # The parts
//!
//! - [`Encoder`] (and [`encode`]): the read as an `ExportMetricsServiceRequest`, protobuf
//!   bytes ([`protobuf`], one pass, prost's bytes exactly) or OTLP JSON ([`json`]),
//!   cumulative or delta ([`Temporality`]), with a
//!   [`Resource`] and the instrumentation scope `prism` + this crate's version.
//! - [`Exporter`]: the periodic push, configured by the standard `OTEL_*` variables
//!   ([`Exporter::from_env`]) or in code, with retries ([`RetryPolicy`]) and its own
//!   outcome metrics ([`ExporterTelemetry`]). [`Exporter::start`] returns an
//!   [`ExporterHandle`] to flush and shut down.
//! - [`Bridge`]: the registry's families as observable instruments on an opentelemetry
//!   `Meter`, for services that already run opentelemetry_sdk. Histograms and summaries
//!   cannot cross that way ([`Bridge::skipped`] lists them); use the exporter for them.
//!
//! # Mapping
//!
//! | core | OTLP |
//! |---|---|
//! | counter | `Sum`, `is_monotonic`, cumulative (delta on request) |
//! | gauge | `Gauge` |
//! | histogram | `Histogram`, cumulative (delta on request): `explicit_bounds`, per-bucket `bucket_counts`, `count`, `sum`, `min`/`max` (when something was recorded; never in a delta) |
//! | summary (`Summary`, `WindowedHistogram`) | `Summary`: `count`, `sum`, `quantile_values` p50, p90, p99, p99.9 (none when empty) |
//! | `u64` / `i64` values | `as_int` (a `u64` past `i64::MAX`: `as_double`) |
//! | `f64` values, NaN and infinities included | `as_double` |
//! | name | `name`: the OpenTelemetry name ([`Descriptor::otel_name`](prism_core::Descriptor::otel_name)): the name registered with [`Metadata::otel`](prism_core::Metadata::otel) (`http.server.request.duration`), else the Prometheus name |
//! | labels | string attributes, in label order, keyed by the attribute names ([`Descriptor::attribute_names`](prism_core::Descriptor::attribute_names)): `http.request.method` where the family was registered by its OpenTelemetry name, else the label names |
//! | overflow series | the one attribute `otel.metric.overflow=true` (a bool) |
//! | help, unit | `description`, `unit`: the UCUM unit ([`Descriptor::otel_unit`](prism_core::Descriptor::otel_unit)): as registered with `Metadata::otel`, else the UCUM form of the Prometheus unit (`seconds` is `s`, `bytes` `By`, `ratio` `1`, see [`prism_core::otel`]) |
//!
//! Prometheus text and JSON (prism-prom, prism-json) print the Prometheus names of the same
//! families: `http_server_request_duration_seconds{http_request_method="GET"}`, the
//! OpenTelemetry-to-Prometheus translation of the OTLP names.
//! | series start | `start_time_unix_nano` (delta: the end of the last delivered export) |
//! | the read | `time_unix_nano`, one per request |
//! | a family with no series | left out |
//! | self-telemetry (`prism_*`) | ordinary metrics |
//!
//! A histogram's point, as the same JSON (bounds and sum in the exported unit; bucket counts
//! per bucket, the last one above the last bound):
//!
//! ```
//! use prism_core::{Histogram, Registry};
//! # use prism_otel::proto::tonic::metrics::v1::metric::Data;
//!
//! let registry = Registry::builder().self_telemetry(false).build();
//! let sizes = Histogram::builder().unit_scale(1.0).buckets([100.0, 1000.0]).build()?;
//! let sizes = registry.register("response_size_bytes", "Response sizes.", sizes)?;
//! for bytes in [20, 300, 300, 1500] {
//!     sizes.record(bytes);
//! }
//! let mut request = prism_otel::encode(&registry, &prism_otel::Resource::new("checkout"));
//! # let Some(Data::Histogram(h)) = &mut request.resource_metrics[0].scope_metrics[0].metrics[0].data else { unreachable!() };
//! # h.data_points[0].start_time_unix_nano = 1_700_000_000_000_000_000;
//! # h.data_points[0].time_unix_nano = 1_700_000_060_000_000_000;
//! let json: serde_json::Value = serde_json::from_slice(&prism_otel::json::to_vec(&request))?;
//! let histogram = &json["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["histogram"];
//! assert_eq!(serde_json::to_string_pretty(histogram)?, r#"{
//!   "aggregationTemporality": 2,
//!   "dataPoints": [
//!     {
//!       "attributes": [],
//!       "bucketCounts": [
//!         "1",
//!         "2",
//!         "1"
//!       ],
//!       "count": "4",
//!       "exemplars": [],
//!       "explicitBounds": [
//!         100.0,
//!         1000.0
//!       ],
//!       "flags": 0,
//!       "max": 1500.0,
//!       "min": 20.0,
//!       "startTimeUnixNano": "1700000000000000000",
//!       "sum": 2120.0,
//!       "timeUnixNano": "1700000060000000000"
//!     }
//!   ]
//! }"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - `http` (default): OTLP/HTTP push through hyper.
//! - `grpc` (default): OTLP/gRPC push through tonic.
//!
//! The encoder, the JSON mapping and the bridge are always built; the exporter with either
//! transport. TLS is not built in:
//! endpoints are `http://` (a local collector or agent forwards over TLS).

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod bridge;
mod config;
mod delta;
mod encode;
#[cfg(any(feature = "http", feature = "grpc"))]
mod exporter;
pub mod json;
pub mod protobuf;
mod resource;
#[cfg(any(feature = "http", feature = "grpc"))]
mod retry;
#[cfg(any(feature = "http", feature = "grpc"))]
mod telemetry;
#[cfg(any(feature = "http", feature = "grpc"))]
mod transport;

pub use bridge::Bridge;
pub use config::{Compression, ConfigError, Protocol, Temporality};
pub use encode::{encode, Encoder, SCOPE_NAME, SCOPE_VERSION};
#[cfg(any(feature = "http", feature = "grpc"))]
pub use exporter::{Exporter, ExporterError, ExporterHandle};
/// The opentelemetry-proto crate this crate encodes with, for reading requests back.
pub use opentelemetry_proto as proto;
pub use resource::{Resource, SERVICE_NAME};
#[cfg(any(feature = "http", feature = "grpc"))]
pub use retry::RetryPolicy;
#[cfg(any(feature = "http", feature = "grpc"))]
pub use telemetry::{ExportResult, ExporterTelemetry};
