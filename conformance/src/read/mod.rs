//! The readers: bytes of each format back into [`Samples`](crate::Samples), sharing no
//! code with the writers.
//!
//! | reader | format | built on |
//! |---|---|---|
//! | [`read_prometheus`] | Prometheus text 0.0.4 | [`text::parse`], this crate's own parser |
//! | [`read_openmetrics`] | OpenMetrics 1.0 text | the same parser, OpenMetrics rules |
//! | [`read_json`] | prism-json's `/debug/vars` | serde_json, strict: no NaN, no repeated key |
//! | [`read_otlp_proto`], [`read_otlp_json`] | an OTLP `ExportMetricsServiceRequest` | the opentelemetry-proto types |

use std::fmt;

mod json;
mod otel_names;
mod otlp;
pub mod text;
mod text_samples;

pub use json::{read_json, Schema, Unknown};
pub use otel_names::OtelNames;
pub use otlp::{read_otlp_json, read_otlp_proto, read_otlp_request};
pub use text_samples::{read_openmetrics, read_prometheus, seconds_to_nanos, text_to_samples};

/// Why bytes could not be read back: the format and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The format that was read (`prometheus`, `openmetrics`, `json`, `otlp-proto`, ...).
    pub format: &'static str,
    /// What is wrong, with the line or key where there is one.
    pub message: String,
}

impl ReadError {
    pub(crate) fn new(format: &'static str, message: impl Into<String>) -> Self {
        Self {
            format,
            message: message.into(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.format, self.message)
    }
}

impl std::error::Error for ReadError {}
