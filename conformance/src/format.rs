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
    /// Help text that starts with blanks. Prometheus 0.0.4 has no way to write them: its
    /// parsers skip the blanks between the name and the help text, so the help is compared
    /// without its leading spaces and tabs there.
    pub help_leading_blanks: bool,
    /// A histogram's buckets (JSON has only its count, sum and quantiles).
    pub buckets: bool,
    /// Integers above `i64::MAX` exactly. OTLP's `as_int` is an `i64`: a `u64` counter above
    /// it can only be an `as_double`, and is then compared with the nearest `f64`.
    pub big_integers: bool,
}

impl Carries {
    /// Everything: the core read.
    pub const ALL: Carries = Carries {
        kind: true,
        help: true,
        unit: true,
        created: true,
        help_leading_blanks: true,
        buckets: true,
        big_integers: true,
    };

    /// What both carry.
    pub fn and(self, other: Carries) -> Carries {
        Carries {
            kind: self.kind && other.kind,
            help: self.help && other.help,
            unit: self.unit && other.unit,
            created: self.created && other.created,
            help_leading_blanks: self.help_leading_blanks && other.help_leading_blanks,
            buckets: self.buckets && other.buckets,
            big_integers: self.big_integers && other.big_integers,
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
                help_leading_blanks: true,
                buckets: false,
                big_integers: true,
            },
            Format::Prometheus => Carries {
                kind: true,
                help: true,
                unit: false,
                created: false,
                help_leading_blanks: false,
                buckets: true,
                big_integers: true,
            },
            Format::OpenMetrics => Carries::ALL,
            Format::OtlpJson | Format::OtlpProto => Carries {
                big_integers: false,
                ..Carries::ALL
            },
        }
    }

    /// Renders `registry` in this format with prism's adapter (OTLP: cumulative, the
    /// resource `service.name=prism-conformance`).
    ///
    /// ```
    /// use prism_conformance::Format;
    /// let registry = prism_core::Registry::builder().self_telemetry(false).build();
    /// registry.register("up", "Up.", prism_core::Gauge::new())?.set(1);
    /// let text = Format::Prometheus.render(&registry);
    /// assert_eq!(text, b"# HELP up Up.\n# TYPE up gauge\nup 1\n");
    /// # Ok::<(), prism_core::Error>(())
    /// ```
    pub fn render(self, registry: &Registry) -> Vec<u8> {
        match self {
            Format::Json => prism_json::render_to_string(registry).into_bytes(),
            Format::Prometheus => {
                prism_prom::render(registry, prism_prom::Format::Prometheus).into_bytes()
            }
            Format::OpenMetrics => {
                prism_prom::render(registry, prism_prom::Format::OpenMetrics).into_bytes()
            }
            Format::OtlpJson => otlp_encoder().encode_json(registry),
            Format::OtlpProto => {
                let mut out = Vec::new();
                otlp_encoder().encode_protobuf(registry, &mut out);
                out
            }
        }
    }

    /// Reads bytes of this format back; `schema` gives JSON its label names and OTLP the
    /// core names of its OpenTelemetry names ([`Schema::otel_names`]), so that every
    /// format's samples are keyed by core names.
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
            Format::OtlpJson => read::read_otlp_json(bytes).map(|s| schema.otel_names().to_core(s)),
            Format::OtlpProto => {
                read::read_otlp_proto(bytes).map(|s| schema.otel_names().to_core(s))
            }
        }
    }
}

/// prism-otel's encoder as a push exporter configures it by default: cumulative.
fn otlp_encoder() -> prism_otel::Encoder {
    prism_otel::Encoder::new(prism_otel::Resource::new("prism-conformance"))
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
