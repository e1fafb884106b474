//! prism-otel: OTLP for prism registries.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod bridge;
mod config;
mod delta;
mod encode;
mod exporter;
pub mod json;
mod resource;
mod retry;
mod telemetry;
mod transport;

pub use bridge::Bridge;
pub use config::{Compression, ConfigError, Protocol, Temporality};
pub use encode::{encode, Encoder, SCOPE_NAME, SCOPE_VERSION};
pub use exporter::{Exporter, ExporterError, ExporterHandle};
pub use resource::{Resource, SERVICE_NAME};
pub use retry::RetryPolicy;
pub use telemetry::{ExportResult, ExporterTelemetry};
/// The opentelemetry-proto crate this crate encodes with, for reading requests back.
pub use opentelemetry_proto as proto;
