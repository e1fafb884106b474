//! The bridge into prometheus-client: one family of the core read, buffered as
//! [`FamilyBuf`], encoded by prometheus-client's [`Collector`] / encoder API.
//!
//! The read path hands out a family's series one callback at a time, while
//! prometheus-client's `MetricEncoder` lives only inside one `Collector::encode` call and
//! borrows the family name for that long. So each family is first copied into a reused
//! buffer (label values into one string, values as numbers), then encoded in one go.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use prism_core::{Descriptor, Kind, Sample, Value, OVERFLOW_LABEL};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabel, EncodeLabelSet, LabelSetEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::format::Format;
use crate::text::{escape_label_value, escape_openmetrics_help, push_float, push_unix_seconds};

/// A number as read, kept in the width it was read in so that no digit is lost; or a
/// distribution, by its index in the family's `dists`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
    Dist(usize),
}

/// One histogram or summary read, as the text formats print it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dist {
    pub(crate) sum: f64,
    pub(crate) count: u64,
    /// `(upper bound, count in that bucket alone)`, ending with the `+Inf` bucket:
    /// prometheus-client accumulates them itself.
    pub(crate) buckets: Vec<(f64, u64)>,
    /// `(q, value)`; `None` when nothing was recorded.
    pub(crate) quantiles: Vec<(f64, Option<f64>)>,
}

/// One buffered series.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BufferedSample {
    /// Its label values: `values[first..first + count]` of the family buffer.
    first: usize,
    count: usize,
    pub(crate) overflow: bool,
    pub(crate) value: Number,
    pub(crate) created_unix_nanos: u64,
}

/// One family of the read, as prometheus-client is given it. Reused from family to family
/// and render to render, so a steady-state render allocates only when a family is larger
/// than any before it.
#[derive(Debug, Clone)]
pub(crate) struct FamilyBuf {
    /// The core name, which for a family with a unit ends in `_<unit>`.
    pub(crate) name: String,
    /// How many bytes of `name` prometheus-client gets: it appends `_<unit>` itself.
    stem_len: usize,
    unit: Option<Unit>,
    /// Help as prometheus-client writes it: raw for 0.0.4 (it escapes that format's HELP
    /// itself), pre-escaped for OpenMetrics (it does not).
    pub(crate) help: String,
    pub(crate) metric_type: MetricType,
    /// The family's kind as registered; `metric_type` and `summary` follow from it and
    /// from the values read (see `settle`).
    kind: Kind,
    /// A summary family: prometheus-client has no summary type, so the bridge writes it.
    pub(crate) summary: bool,
    label_names: Vec<String>,
    label_count: usize,
    /// Every label value of every buffered series, back to back.
    text: String,
    /// `(start, end)` of each value in `text`.
    values: Vec<(usize, usize)>,
    pub(crate) samples: Vec<BufferedSample>,
    pub(crate) dists: Vec<Dist>,
    /// Whether a float value (or a distribution's sum) of the family is NaN or infinite.
    pub(crate) has_non_finite: bool,
}

impl Default for FamilyBuf {
    fn default() -> Self {
        Self {
            name: String::new(),
            stem_len: 0,
            unit: None,
            help: String::new(),
            metric_type: MetricType::Unknown,
            kind: Kind::Gauge,
            summary: false,
            label_names: Vec::new(),
            label_count: 0,
            text: String::new(),
            values: Vec::new(),
            samples: Vec::new(),
            dists: Vec::new(),
            has_non_finite: false,
        }
    }
}

impl FamilyBuf {
    /// Starts buffering `family` for `format`.
    pub(crate) fn begin(&mut self, family: &Descriptor, format: Format) {
        self.name.clear();
        self.name.push_str(family.name());
        // Core guarantees that a unit is a `_<unit>` suffix of the name. Should a descriptor
        // ever break that, the name is printed whole and the unit left out, rather than
        // prometheus-client printing `<name>_<unit>`, a name nobody registered.
        let stem = family
            .unit()
            .and_then(|unit| family.name().strip_suffix(unit))
            .and_then(|stem| stem.strip_suffix('_'))
            .filter(|stem| !stem.is_empty());
        match (stem, family.unit()) {
            (Some(stem), Some(unit)) => {
                self.stem_len = stem.len();
                match &mut self.unit {
                    Some(Unit::Other(text)) => {
                        text.clear();
                        text.push_str(unit);
                    }
                    slot => *slot = Some(Unit::Other(unit.to_owned())),
                }
            }
            _ => {
                self.stem_len = self.name.len();
                self.unit = None;
            }
        }

        self.help.clear();
        match format {
            Format::Prometheus => self.help.push_str(family.help()),
            Format::OpenMetrics | Format::OpenMetrics0_0_1 => {
                escape_openmetrics_help(family.help(), &mut self.help)
            }
        }

        self.kind = family.kind();
        self.metric_type = MetricType::Unknown;
        self.summary = false;

        self.label_count = family.label_names().len();
        self.label_names.truncate(self.label_count);
        for (i, label) in family.label_names().iter().enumerate() {
            match self.label_names.get_mut(i) {
                Some(slot) if slot == label => {}
                Some(slot) => {
                    slot.clear();
                    slot.push_str(label);
                }
                None => self.label_names.push(label.clone()),
            }
        }

        self.text.clear();
        self.values.clear();
        self.samples.clear();
        self.dists.clear();
        self.has_non_finite = false;
    }

    /// Decides how the buffered family is typed, once all its values are in: by its kind,
    /// when its values fit the kind. Values that fit no type the family can have are left
    /// out (only a custom `Metric` whose `KIND` and values disagree makes any): a
    /// distribution in a counter or gauge family, or a plain number in a histogram or
    /// summary family, which is then typed `unknown` with its plain numbers.
    pub(crate) fn settle(&mut self) {
        let dists = self
            .samples
            .iter()
            .filter(|s| matches!(s.value, Number::Dist(_)))
            .count();
        let all_dists = dists == self.samples.len();
        self.metric_type = match self.kind {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge => MetricType::Gauge,
            Kind::Histogram if all_dists => MetricType::Histogram,
            Kind::Summary if all_dists => {
                self.summary = true;
                MetricType::Unknown
            }
            _ => MetricType::Unknown,
        };
        let keeps_dists = self.metric_type == MetricType::Histogram || self.summary;
        if dists > 0 && !keeps_dists {
            self.samples.retain(|s| !matches!(s.value, Number::Dist(_)));
        }
    }

    /// Buffers one series. A value of a kind this crate cannot render yet (core's `Value`
    /// is `#[non_exhaustive]`) is skipped; see the crate docs.
    pub(crate) fn push(&mut self, sample: &Sample<'_>) {
        let value = match *sample.value() {
            Value::Counter(v) => Number::U64(v),
            Value::Gauge(v) => Number::I64(v),
            Value::CounterF64(v) | Value::GaugeF64(v) => {
                self.has_non_finite |= !v.is_finite();
                Number::F64(v)
            }
            Value::Histogram(ref h) | Value::Summary(ref h) => {
                self.has_non_finite |= !h.sum().is_finite();
                let bounds = h.bounds().iter().copied().chain([f64::INFINITY]);
                self.dists.push(Dist {
                    sum: h.sum(),
                    count: h.count(),
                    buckets: bounds.zip(h.bucket_counts().iter().copied()).collect(),
                    quantiles: h.quantiles().collect(),
                });
                Number::Dist(self.dists.len() - 1)
            }
            _ => return,
        };
        let first = self.values.len();
        let overflow = sample.is_overflow();
        // The overflow series' values are the constant labels' alone.
        for value in sample.label_values() {
            let start = self.text.len();
            self.text.push_str(value);
            self.values.push((start, self.text.len()));
        }
        self.samples.push(BufferedSample {
            first,
            count: self.values.len() - first,
            overflow,
            value,
            created_unix_nanos: sample.created_unix_nanos(),
        });
    }

    /// Encodes the buffered family through prometheus-client.
    pub(crate) fn encode(&self, encoder: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let mut metric = encoder.encode_descriptor(
            &self.name[..self.stem_len],
            &self.help,
            self.unit.as_ref(),
            self.metric_type,
        )?;
        for sample in &self.samples {
            let labels = SampleLabels {
                family: self,
                sample,
            };
            let mut series = metric.encode_family(&labels)?;
            match (self.metric_type, sample.value) {
                (MetricType::Counter, Number::U64(v)) => {
                    series.encode_counter::<NoLabelSet, _, f64>(&v, None)?
                }
                (MetricType::Counter, Number::F64(v)) => {
                    series.encode_counter::<NoLabelSet, _, f64>(&v, None)?
                }
                // An integer gauge value in a counter family (a custom `Metric` whose KIND
                // and value disagree): exact when it is not negative.
                (MetricType::Counter, Number::I64(v)) => match u64::try_from(v) {
                    Ok(v) => series.encode_counter::<NoLabelSet, _, f64>(&v, None)?,
                    Err(_) => series.encode_counter::<NoLabelSet, _, f64>(&(v as f64), None)?,
                },
                (_, Number::U64(v)) => series.encode_gauge(&v)?,
                (_, Number::I64(v)) => series.encode_gauge(&v)?,
                (_, Number::F64(v)) => series.encode_gauge(&v)?,
                (_, Number::Dist(i)) => {
                    let d = &self.dists[i];
                    series.encode_histogram::<NoLabelSet>(d.sum, d.count, &d.buckets, None)?
                }
            }
        }
        Ok(())
    }
}

impl FamilyBuf {
    /// Writes a summary family, which prometheus-client has no type for, in the layout
    /// client_golang and the Python client write: a `quantile` series per quantile (`NaN`
    /// while nothing was recorded), then `_sum` and `_count`, and in OpenMetrics `_created`.
    /// HELP is escaped as prometheus-client escapes it for the format (this buffer holds it
    /// escaped already for OpenMetrics); label values as it escapes them.
    pub(crate) fn write_summary(&self, format: Format, created: bool, out: &mut String) {
        let name = self.name.as_str();
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        match format {
            Format::Prometheus => crate::direct::push_help_004(&self.help, out),
            Format::OpenMetrics | Format::OpenMetrics0_0_1 => out.push_str(&self.help),
        }
        out.push_str("\n# TYPE ");
        out.push_str(name);
        out.push_str(" summary\n");
        if let (true, Some(unit)) = (format.is_openmetrics(), &self.unit) {
            out.push_str("# UNIT ");
            out.push_str(name);
            out.push(' ');
            out.push_str(unit.as_str());
            out.push('\n');
        }
        for sample in &self.samples {
            let Number::Dist(i) = sample.value else {
                continue;
            };
            let dist = &self.dists[i];
            let labels_start = out.len();
            self.push_labels(sample, out);
            let labels = out[labels_start..].to_owned();
            out.truncate(labels_start);
            for &(q, v) in &dist.quantiles {
                out.push_str(name);
                out.push('{');
                out.push_str(&labels);
                if !labels.is_empty() {
                    out.push(',');
                }
                out.push_str("quantile=\"");
                push_float(q, out);
                out.push_str("\"} ");
                push_float(v.unwrap_or(f64::NAN), out);
                out.push('\n');
            }
            let braced = |out: &mut String, suffix: &str| {
                out.push_str(name);
                out.push_str(suffix);
                if !labels.is_empty() {
                    out.push('{');
                    out.push_str(&labels);
                    out.push('}');
                }
                out.push(' ');
            };
            braced(out, "_sum");
            push_float(dist.sum, out);
            out.push('\n');
            braced(out, "_count");
            out.push_str(itoa::Buffer::new().format(dist.count));
            out.push('\n');
            if created && format.is_openmetrics() && sample.created_unix_nanos != 0 {
                braced(out, "_created");
                push_unix_seconds(sample.created_unix_nanos, out);
                out.push('\n');
            }
        }
    }

    /// The unit, when the family has one (`_<unit>` ends its name).
    pub(crate) fn unit_str(&self) -> Option<&str> {
        self.unit.as_ref().map(Unit::as_str)
    }

    /// `k="v",k2="v2"` of one series (no braces).
    pub(crate) fn push_labels(&self, sample: &BufferedSample, out: &mut String) {
        let values = &self.values[sample.first..sample.first + sample.count];
        for (i, (name, &(start, end))) in self.label_names[..self.label_count]
            .iter()
            .zip(values)
            .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            out.push_str(name);
            out.push_str("=\"");
            escape_label_value(&self.text[start..end], out);
            out.push('"');
        }
        if sample.overflow {
            if sample.count > 0 {
                out.push(',');
            }
            out.push_str(OVERFLOW_LABEL);
            out.push_str("=\"true\"");
        }
    }
}

/// The labels of one buffered series, as prometheus-client encodes them: the family's
/// label names with the series' values; for the overflow series, the constant labels and
/// `otel_metric_overflow="true"`.
struct SampleLabels<'a> {
    family: &'a FamilyBuf,
    sample: &'a BufferedSample,
}

impl EncodeLabelSet for SampleLabels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        let family = self.family;
        let values = &family.values[self.sample.first..self.sample.first + self.sample.count];
        for (name, &(start, end)) in family.label_names[..family.label_count].iter().zip(values) {
            (name.as_str(), &family.text[start..end]).encode(encoder.encode_label())?;
        }
        if self.sample.overflow {
            (OVERFLOW_LABEL, "true").encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// The [`Collector`] registered in the prometheus-client registry a renderer encodes with:
/// on each encode it writes the family the renderer has just buffered.
#[derive(Debug, Default)]
pub(crate) struct Bridge {
    family: Mutex<Option<Arc<FamilyBuf>>>,
}

impl Bridge {
    /// The family slot. Each renderer has its own bridge, and the lock is held only to put
    /// a family in or take it out, never while encoding; it exists because `Collector` must
    /// be `Sync`. Nothing can be left half-done under it: recover from poisoning.
    pub(crate) fn slot(&self) -> MutexGuard<'_, Option<Arc<FamilyBuf>>> {
        self.family
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Collector for Bridge {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let family = self.slot().clone();
        match family {
            Some(family) if !family.samples.is_empty() => family.encode(&mut encoder),
            _ => Ok(()),
        }
    }
}
