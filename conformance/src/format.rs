//! The formats prism writes: [`Format`], what each carries, how to render a registry in it
//! and how to read it back.

use std::fmt;
use std::str::FromStr;

use prism_core::Registry;

use crate::model::Samples;
use crate::read::{self, ReadError, Schema, Unknown};

/// One format prism writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// prism-json's `/debug/vars` (Go expvar).
    Json,
    /// Prometheus text 0.0.4 (prism-prom).
    Prometheus,
    /// OpenMetrics 1.0 text (prism-prom).
    OpenMetrics,
    /// OTLP `ExportMetricsServiceRequest` in OTLP's JSON mapping (prism-otel).
    OtlpJson,
    /// OTLP `ExportMetricsServiceRequest` in protobuf (prism-otel).
    OtlpProto,
}

/// Which parts of a family a format has a place for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carries {
    /// The kind (counter, gauge, ...).
    pub kind: bool,
    /// The help text.
    pub help: bool,
    /// The unit.
    pub unit: bool,
    /// The start time of counters, histograms and summaries.
    pub created: bool,
}

impl Carries {
    /// Everything: the core read.
    pub const ALL: Carries = Carries {
        kind: true,
        help: true,
        unit: true,
        created: true,
    };

    /// What both carry.
    pub fn and(self, other: Carries) -> Carries {
        Carries {
            kind: self.kind && other.kind,
            help: self.help && other.help,
            unit: self.unit && other.unit,
            created: self.created && other.created,
        }
    }
}

impl Format {
    /// Every format, in the order of a report's columns.
    pub const ALL: [Format; 5] = [
        Format::Json,
        Format::Prometheus,
        Format::OpenMetrics,
        Format::OtlpJson,
        Format::OtlpProto,
    ];

    /// The name the CLI and reports use: `json`, `prometheus`, `openmetrics`, `otlp-json`,
    /// `otlp-proto`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Prometheus => "prometheus",
            Format::OpenMetrics => "openmetrics",
            Format::OtlpJson => "otlp-json",
            Format::OtlpProto => "otlp-proto",
        }
    }

    /// What the format has a place for.
    pub fn carries(self) -> Carries {
        match self {
            Format::Json => Carries {
                kind: false,
                help: false,
                unit: false,
                created: false,
            },
            Format::Prometheus => Carries {
                kind: true,
                help: true,
                unit: false,
                created: false,
            },
            Format::OpenMetrics | Format::OtlpJson | Format::OtlpProto => Carries::ALL,
        }
    }

    /// Renders `registry` in this format with prism's adapter, or says why it cannot.
    ///
    /// ```
    /// use prism_conformance::Format;
    /// let registry = prism_core::Registry::builder().self_telemetry(false).build();
    /// registry.register("up", "Up.", prism_core::Gauge::new())?.set(1);
    /// let text = Format::Prometheus.render(&registry).unwrap();
    /// assert_eq!(text, b"# HELP up Up.\n# TYPE up gauge\nup 1\n");
    /// # Ok::<(), prism_core::Error>(())
    /// ```
    pub fn render(self, registry: &Registry) -> Result<Vec<u8>, Unavailable> {
        match self {
            Format::Json => Ok(prism_json::render_to_string(registry).into_bytes()),
            Format::Prometheus => {
                Ok(prism_prom::render(registry, prism_prom::Format::Prometheus).into_bytes())
            }
            Format::OpenMetrics => {
                Ok(prism_prom::render(registry, prism_prom::Format::OpenMetrics).into_bytes())
            }
            Format::OtlpJson | Format::OtlpProto => Err(Unavailable {
                format: self,
                reason: "prism-otel has no encoder yet (issue: expose-otel)",
            }),
        }
    }

    /// Reads bytes of this format back; `schema` gives JSON its label names.
    pub fn read(
        self,
        bytes: &[u8],
        schema: &Schema,
        unknown: Unknown,
    ) -> Result<Samples, ReadError> {
        match self {
            Format::Json => read::read_json(bytes, schema, unknown),
            Format::Prometheus => read::read_prometheus(bytes),
            Format::OpenMetrics => read::read_openmetrics(bytes),
            Format::OtlpJson => read::read_otlp_json(bytes),
            Format::OtlpProto => read::read_otlp_proto(bytes),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown format {s:?}: expected json, prometheus, openmetrics, otlp-json or otlp-proto")
            })
    }
}

/// A format this build cannot render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable {
    /// The format.
    pub format: Format,
    /// Why.
    pub reason: &'static str,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.format, self.reason)
    }
}

impl std::error::Error for Unavailable {}
