//! The exporter's own outcome metrics: [`ExporterTelemetry`].
//!
//! Ordinary prism metrics, registered into a registry of your choice (by default the one
//! being exported), so that they reach every format and can be alerted on:
//!
//! | name | kind | labels | what it counts |
//! |---|---|---|---|
//! | `prism_otel_exports` | counter | `result` | exports by outcome: `success`, `partial_success` (the collector rejected some points), `failure` (nothing delivered) |
//! | `prism_otel_export_retries` | counter | | attempts repeated after a retryable failure |
//! | `prism_otel_rejected_points` | counter | | data points the collector reported rejected (`rejected_data_points`) |
//! | `prism_otel_last_error_timestamp_seconds` | gauge (f64) | `reason` | when each kind of error last happened, seconds since the Unix epoch |
//!
//! `reason` is one of a closed set: `unreachable` (no connection), `timeout` (an attempt,
//! the export or its encoding ran out of time), `http_<status>`, `grpc_<code>`,
//! `partial_success` (the collector rejected some points), `encode` (the registry could not
//! be encoded or compressed), `transport` (no transport could be built from the settings) and
//! `bad_request` (a payload that does not match its transport: a bug, never seen). A
//! `Retry-After` past the export timeout ends the export with the reason of the answer that
//! carried it. The family's cardinality limit is 64, so an unexpected flood of status codes
//! stays bounded.

use std::fmt;
use std::sync::{Arc, Mutex};

use prism_core::{Counter, Family, FloatGauge, Metadata, Registry};

use crate::encode::now_unix_nanos;

/// The outcome of one export.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportResult {
    /// Delivered whole.
    Success,
    /// Delivered, but the collector rejected this many data points.
    PartialSuccess {
        /// `rejected_data_points` as the collector reported it.
        rejected: u64,
        /// The collector's `error_message`.
        message: String,
    },
    /// Not delivered; the next export carries the totals (cumulative) or the change
    /// since the last delivered export (delta).
    Failure {
        /// The reason label value, such as `http_400` or `unreachable`.
        reason: String,
        /// What went wrong, for people.
        message: String,
    },
}

impl ExportResult {
    /// The `result` label value.
    pub fn label(&self) -> &'static str {
        match self {
            ExportResult::Success => "success",
            ExportResult::PartialSuccess { .. } => "partial_success",
            ExportResult::Failure { .. } => "failure",
        }
    }

    /// Whether the points reached the collector (all or some of them).
    pub fn delivered(&self) -> bool {
        !matches!(self, ExportResult::Failure { .. })
    }
}

impl fmt::Display for ExportResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportResult::Success => f.write_str("success"),
            ExportResult::PartialSuccess { rejected, message } => {
                write!(f, "partial success: {rejected} points rejected: {message}")
            }
            ExportResult::Failure { reason, message } => write!(f, "failure ({reason}): {message}"),
        }
    }
}

/// The exporter's outcome counters, shared by every clone.
///
/// ```
/// use prism_core::Registry;
/// use prism_otel::ExporterTelemetry;
///
/// let registry = Registry::new();
/// let telemetry = ExporterTelemetry::register(&registry)?;
/// assert_eq!(telemetry.exports("success"), 0);
/// assert!(registry.snapshot().family("prism_otel_exports").is_some());
/// # Ok::<(), prism_core::Error>(())
/// ```
#[derive(Clone)]
pub struct ExporterTelemetry {
    exports: Family<Counter>,
    retries: Counter,
    rejected: Counter,
    last_error: Family<FloatGauge>,
    last_message: Arc<Mutex<Option<String>>>,
}

const REASON_LIMIT: usize = 64;

impl ExporterTelemetry {
    /// Registers the metrics in `registry`, or takes the ones already there (several
    /// exporters on one registry share them).
    pub fn register(registry: &Registry) -> Result<Self, prism_core::Error> {
        let telemetry = Self::unregistered();
        let exports = registry.get_or_register(
            "prism_otel_exports",
            "OTLP exports by result: success, partial_success, failure.",
            || telemetry.exports.clone(),
        )?;
        let retries = registry.get_or_register(
            "prism_otel_export_retries",
            "OTLP export attempts repeated after a retryable failure.",
            || telemetry.retries.clone(),
        )?;
        let rejected = registry.get_or_register(
            "prism_otel_rejected_points",
            "Data points an OTLP collector reported rejected.",
            || telemetry.rejected.clone(),
        )?;
        let last_error = registry.get_or_register_with(
            Metadata::new(
                "prism_otel_last_error_timestamp_seconds",
                "When each kind of OTLP export error last happened, seconds since the epoch.",
            )
            .unit("seconds"),
            || telemetry.last_error.clone(),
        )?;
        Ok(Self {
            exports,
            retries,
            rejected,
            last_error,
            last_message: telemetry.last_message,
        })
    }

    /// Metrics that no registry reads: the exporter still counts, [`exports`](Self::exports)
    /// and the other getters still answer.
    pub fn unregistered() -> Self {
        let exports = Family::new(["result"]);
        // Every result exists from the start, so that a rate over it is defined at once.
        for result in ["success", "partial_success", "failure"] {
            exports.with(&[result], |_| ());
        }
        Self {
            exports,
            retries: Counter::new(),
            rejected: Counter::new(),
            last_error: Family::builder(["reason"])
                .cardinality_limit(REASON_LIMIT)
                .build()
                .unwrap_or_else(|_| Family::new(["reason"])),
            last_message: Arc::new(Mutex::new(None)),
        }
    }

    /// Exports with this `result` label value so far.
    pub fn exports(&self, result: &str) -> u64 {
        self.exports.get(&[result]).get()
    }

    /// Attempts repeated so far.
    pub fn retries(&self) -> u64 {
        self.retries.get()
    }

    /// Data points collectors reported rejected so far.
    pub fn rejected_points(&self) -> u64 {
        self.rejected.get()
    }

    /// When an error of this reason last happened, seconds since the epoch (0: never).
    pub fn last_error_at(&self, reason: &str) -> f64 {
        self.last_error.get(&[reason]).get()
    }

    /// The message of the last error or partial success.
    pub fn last_error(&self) -> Option<String> {
        self.last_message
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn retried(&self) {
        self.retries.inc();
    }

    /// Counts one export's outcome.
    pub(crate) fn record(&self, result: &ExportResult) {
        self.exports.get(&[result.label()]).inc();
        match result {
            ExportResult::Success => {}
            ExportResult::PartialSuccess { rejected, message } => {
                self.rejected.add(*rejected);
                self.error("partial_success", message);
            }
            ExportResult::Failure { reason, message } => self.error(reason, message),
        }
    }

    fn error(&self, reason: &str, message: &str) {
        self.last_error
            .get(&[reason])
            .set(now_unix_nanos() as f64 / 1e9);
        *self.last_message.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(format!("{reason}: {message}"));
    }
}

impl fmt::Debug for ExporterTelemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterTelemetry")
            .field("success", &self.exports("success"))
            .field("partial_success", &self.exports("partial_success"))
            .field("failure", &self.exports("failure"))
            .field("retries", &self.retries())
            .field("rejected_points", &self.rejected_points())
            .field("last_error", &self.last_error())
            .finish()
    }
}
