//! The text of one buffered family, written directly: the bytes prometheus-client's text
//! encoders write for the same family, plus what the bridge used to complete afterwards
//! (`_created`, canonical `+Inf`/`-Inf`), without the encoder's per-line dynamic calls or
//! a second pass over the text.
//!
//! prometheus-client stays the oracle: a renderer built with
//! [`Renderer::via_prometheus_client`](crate::Renderer::via_prometheus_client) encodes
//! through it, and the tests compare the two on fixed and random registries byte for byte.
//!
//! The layout, per format (prometheus-client 0.26's, which Prometheus, promtool and the
//! Python parsers read):
//!
//! | | Prometheus 0.0.4 | OpenMetrics |
//! |---|---|---|
//! | metadata name | counters `<name>_total`, others `<name>` | `<name>` |
//! | `# UNIT` | never | when the family has a unit |
//! | histogram lines | `_bucket` (family labels, then `le`), `_sum`, `_count` | `_sum`, `_count`, `_created`, `_bucket` (`le` first) |
//! | `le` | Go's `%g` (`0.005`, `10`, `1e+06`) | shortest round trip with a `.0` (`10.0`) |
//! | floats | shortest round trip (`dtoa`), `NaN`, `+Inf`, `-Inf` | the same |

use prism_core::{Descriptor, Sample, Value, OVERFLOW_LABEL};
use prometheus_client::metrics::MetricType;

use crate::bridge::{BufferedSample, FamilyBuf, Number};
use crate::format::Format;
use crate::text::{escape_label_value, non_finite, push_unix_seconds};

impl FamilyBuf {
    /// Appends the family (settled, with at least one series; not a summary) to `out`.
    pub(crate) fn write_direct(
        &self,
        format: Format,
        created: bool,
        labels: &mut String,
        out: &mut String,
    ) {
        let om = format.is_openmetrics();
        let counter = self.metric_type == MetricType::Counter;
        let histogram = self.metric_type == MetricType::Histogram;
        let created = created && om && (counter || histogram);
        self.write_header(format, out);
        for sample in &self.samples {
            labels.clear();
            self.push_labels(sample, labels);
            match sample.value {
                Number::Dist(i) if histogram => {
                    self.write_histogram(i, om, created, sample, labels, out)
                }
                // Settled families keep distributions only as histograms or summaries.
                Number::Dist(_) => {}
                value => {
                    let created_nanos = if created {
                        sample.created_unix_nanos
                    } else {
                        0
                    };
                    self.write_number(value, labels, created_nanos, out);
                }
            }
        }
    }

    /// `# HELP`, `# TYPE` and, in OpenMetrics, `# UNIT`, for the type `metric_type` says.
    pub(crate) fn write_header(&self, format: Format, out: &mut String) {
        let om = format.is_openmetrics();
        let name = self.name.as_str();
        let counter = self.metric_type == MetricType::Counter;
        let suffix = if counter && !om { "_total" } else { "" };
        out.push_str("# HELP ");
        out.push_str(name);
        out.push_str(suffix);
        out.push(' ');
        if om {
            // Escaped for OpenMetrics when buffered.
            out.push_str(&self.help);
        } else {
            push_help_004(&self.help, out);
        }
        out.push_str("\n# TYPE ");
        out.push_str(name);
        out.push_str(suffix);
        out.push_str(match (self.metric_type, om) {
            (MetricType::Counter, _) => " counter\n",
            (MetricType::Histogram, _) => " histogram\n",
            (MetricType::Gauge | MetricType::Info, _) => " gauge\n",
            (MetricType::Unknown, false) => " untyped\n",
            (MetricType::Unknown, true) => " unknown\n",
        });
        if let (true, Some(unit)) = (om, self.unit_str()) {
            out.push_str("# UNIT ");
            out.push_str(name);
            out.push(' ');
            out.push_str(unit);
            out.push('\n');
        }
    }

    /// One counter, gauge or unknown series whose labels (`k="v",..`, escaped) are
    /// `labels`, and its `_created` line when `created_nanos` is not 0.
    #[inline]
    pub(crate) fn write_number(
        &self,
        value: Number,
        labels: &str,
        created_nanos: u64,
        out: &mut String,
    ) {
        let name = self.name.as_str();
        let counter = self.metric_type == MetricType::Counter;
        line_start(name, if counter { "_total" } else { "" }, labels, out);
        push_number(counter, value, out);
        out.push('\n');
        if created_nanos != 0 {
            line_start(name, "_created", labels, out);
            push_unix_seconds(created_nanos, out);
            out.push('\n');
        }
    }

    fn write_histogram(
        &self,
        dist: usize,
        om: bool,
        created: bool,
        sample: &BufferedSample,
        labels: &str,
        out: &mut String,
    ) {
        let name = self.name.as_str();
        let d = &self.dists[dist];
        let sum_and_count = |out: &mut String| {
            line_start(name, "_sum", labels, out);
            push_float(d.sum, out);
            out.push('\n');
            line_start(name, "_count", labels, out);
            out.push_str(itoa::Buffer::new().format(d.count));
            out.push('\n');
        };
        if om {
            sum_and_count(out);
            if created && sample.created_unix_nanos != 0 {
                line_start(name, "_created", labels, out);
                push_unix_seconds(sample.created_unix_nanos, out);
                out.push('\n');
            }
        }
        let mut cumulative = 0u64;
        let mut inf_seen = false;
        for &(upper, count) in &d.buckets {
            cumulative += count;
            inf_seen |= upper == f64::INFINITY;
            out.push_str(name);
            out.push_str("_bucket{");
            if om {
                out.push_str("le=\"");
                push_le_openmetrics(upper, out);
                out.push('"');
                if !labels.is_empty() {
                    out.push(',');
                    out.push_str(labels);
                }
            } else {
                if !labels.is_empty() {
                    out.push_str(labels);
                    out.push(',');
                }
                out.push_str("le=\"");
                push_le_go(upper, out);
                out.push('"');
            }
            out.push_str("} ");
            out.push_str(itoa::Buffer::new().format(cumulative));
            out.push('\n');
        }
        if !om {
            if !inf_seen {
                out.push_str(name);
                out.push_str("_bucket{");
                if !labels.is_empty() {
                    out.push_str(labels);
                    out.push(',');
                }
                out.push_str("le=\"+Inf\"} ");
                out.push_str(itoa::Buffer::new().format(d.count));
                out.push('\n');
            }
            sum_and_count(out);
        }
    }
}

impl FamilyBuf {
    /// One series of a streamed counter or gauge family, read now: its labels are
    /// written straight into `out` (and copied from there for the `_created` line when
    /// `created_nanos` is not 0), never buffered.
    #[inline]
    pub(crate) fn write_streamed(
        &self,
        family: &Descriptor,
        sample: &Sample<'_>,
        value: Number,
        created_nanos: u64,
        scratch: &mut String,
        out: &mut String,
    ) {
        let name = self.name.as_str();
        let counter = self.metric_type == MetricType::Counter;
        out.push_str(name);
        if counter {
            out.push_str("_total");
        }
        let labels_start = out.len();
        if !family.label_names().is_empty() || sample.is_overflow() {
            out.push('{');
            push_sample_labels(family, sample, out);
            out.push('}');
        }
        let labels_end = out.len();
        out.push(' ');
        push_number(counter, value, out);
        out.push('\n');
        if created_nanos != 0 {
            scratch.clear();
            scratch.push_str(&out[labels_start..labels_end]);
            out.push_str(name);
            out.push_str("_created");
            out.push_str(scratch);
            out.push(' ');
            push_unix_seconds(created_nanos, out);
            out.push('\n');
        }
    }
}

/// Whether a family of this kind is written as its series are read, without buffering:
/// counters and gauges, whose type does not depend on their values.
pub(crate) fn streams(kind: prism_core::Kind) -> bool {
    matches!(kind, prism_core::Kind::Counter | prism_core::Kind::Gauge)
}

/// The series' value as a counter or gauge family prints it; `None` for a distribution,
/// which such a family leaves out (only a custom `Metric` whose kind and values disagree
/// reads one).
#[inline]
pub(crate) fn number(value: &Value) -> Option<Number> {
    match *value {
        Value::Counter(v) => Some(Number::U64(v)),
        Value::Gauge(v) => Some(Number::I64(v)),
        Value::CounterF64(v) | Value::GaugeF64(v) => Some(Number::F64(v)),
        _ => None,
    }
}

/// `k="v",k2="v2"` of one series read (no braces): the descriptor's label names with the
/// sample's values, escaped; for the overflow series, the constant labels and
/// `otel_metric_overflow="true"`.
#[inline]
pub(crate) fn push_sample_labels(family: &Descriptor, sample: &Sample<'_>, out: &mut String) {
    let mut first = true;
    for (name, value) in family.label_names().iter().zip(sample.label_values()) {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        push_label_value(value, out);
        out.push('"');
    }
    if sample.is_overflow() {
        if !first {
            out.push(',');
        }
        out.push_str(OVERFLOW_LABEL);
        out.push_str("=\"true\"");
    }
}

/// A label value, escaped; most values need no escape and are copied whole.
#[inline]
fn push_label_value(value: &str, out: &mut String) {
    if value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        escape_label_value(value, out);
    } else {
        out.push_str(value);
    }
}

/// A counter, gauge or unknown series' value. A negative integer in a counter family (a
/// custom `Metric` whose kind and values disagree) goes through f64, as prometheus-client's
/// counter encoding takes it.
#[inline]
fn push_number(counter: bool, value: Number, out: &mut String) {
    match (counter, value) {
        (_, Number::U64(v)) => out.push_str(itoa::Buffer::new().format(v)),
        (true, Number::I64(v)) => match u64::try_from(v) {
            Ok(v) => out.push_str(itoa::Buffer::new().format(v)),
            Err(_) => push_float(v as f64, out),
        },
        (false, Number::I64(v)) => out.push_str(itoa::Buffer::new().format(v)),
        (_, Number::F64(v)) => push_float(v, out),
        (_, Number::Dist(_)) => {}
    }
}

/// `<name><suffix>{<labels>} ` (no braces without labels).
#[inline]
fn line_start(name: &str, suffix: &str, labels: &str, out: &mut String) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() {
        out.push('{');
        out.push_str(labels);
        out.push('}');
    }
    out.push(' ');
}

/// A sample value: shortest round-trip digits as `dtoa` writes them (`1.0`, `0.1`,
/// `1e300`), non-finite values as `NaN`, `+Inf`, `-Inf`.
#[inline]
pub(crate) fn push_float(v: f64, out: &mut String) {
    if v.is_finite() {
        out.push_str(dtoa::Buffer::new().format_finite(v));
    } else {
        out.push_str(non_finite(v));
    }
}

/// 0.0.4 HELP text: backslash and newline escaped, quotes not.
pub(crate) fn push_help_004(help: &str, out: &mut String) {
    let mut rest = help;
    while let Some(at) = rest.find(['\\', '\n']) {
        out.push_str(&rest[..at]);
        out.push_str(if rest.as_bytes()[at] == b'\\' {
            "\\\\"
        } else {
            "\\n"
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// An OpenMetrics `le` value: `+Inf`, or the bound as `dtoa` writes it (`10.0`).
fn push_le_openmetrics(upper: f64, out: &mut String) {
    if upper == f64::INFINITY {
        out.push_str("+Inf");
    } else {
        // prometheus-client writes every f64 label value through dtoa, non-finite ones
        // included (`NaN`, `-inf`); core's bounds are finite and ascending, +Inf last.
        out.push_str(dtoa::Buffer::new().format(upper));
    }
}

/// A 0.0.4 `le` value as client_golang's `expfmt` writes it (Go's
/// `strconv.FormatFloat(v, 'g', -1, 64)`), as prometheus-client 0.26 does: whole numbers
/// below 1e6 as integers, `[1e-4, 1e6)` in plain decimals, exponent notation with a sign
/// and at least two digits (`1e+06`, `5e-05`) outside it, `+Inf`, `-Inf`, `NaN`.
fn push_le_go(v: f64, out: &mut String) {
    use std::fmt::Write as _;
    if v.fract() == 0.0 && v.abs() < 1e6 {
        out.push_str(itoa::Buffer::new().format(v as i64));
        return;
    }
    if (1e-4..1e6).contains(&v.abs()) {
        let _ = write!(out, "{v}");
        return;
    }
    if !v.is_finite() {
        out.push_str(non_finite(v));
        return;
    }
    let mut sci = String::with_capacity(32);
    let _ = write!(sci, "{v:e}");
    match sci.split_once('e') {
        Some((mantissa, exponent)) => {
            out.push_str(mantissa);
            out.push('e');
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let _ = write!(out, "{exponent:+03}");
        }
        None => out.push_str(&sci),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le_go(v: f64) -> String {
        let mut out = String::new();
        push_le_go(v, &mut out);
        out
    }

    #[test]
    fn le_is_written_as_go_writes_it() {
        for (v, go) in [
            (0.005, "0.005"),
            (10.0, "10"),
            (2.5, "2.5"),
            (0.0, "0"),
            (1e6, "1e+06"),
            (5e-5, "5e-05"),
            (1.5e-7, "1.5e-07"),
            (123456789.0, "1.23456789e+08"),
            (-3.0, "-3"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(le_go(v), go, "{v}");
        }
    }

    #[test]
    fn floats_are_dtoa_and_canonical_non_finite() {
        for (v, text) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e300, "1e300"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            let mut out = String::new();
            push_float(v, &mut out);
            assert_eq!(out, text, "{v}");
        }
    }
}
