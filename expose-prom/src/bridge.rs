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
use crate::text::escape_openmetrics_help;

/// A number as read, kept in the width it was read in so that no digit is lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
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
    help: String,
    pub(crate) metric_type: MetricType,
    label_names: Vec<String>,
    label_count: usize,
    /// Every label value of every buffered series, back to back.
    text: String,
    /// `(start, end)` of each value in `text`.
    values: Vec<(usize, usize)>,
    pub(crate) samples: Vec<BufferedSample>,
    /// Whether a float value of the family is NaN or infinite.
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
            label_names: Vec::new(),
            label_count: 0,
            text: String::new(),
            values: Vec::new(),
            samples: Vec::new(),
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
            Format::OpenMetrics => escape_openmetrics_help(family.help(), &mut self.help),
        }

        self.metric_type = match family.kind() {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge => MetricType::Gauge,
            // No core type yields histogram or summary values yet; a custom `Metric` of
            // those kinds reads as plain numbers, which only `unknown` can carry.
            _ => MetricType::Unknown,
        };

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
        self.has_non_finite = false;
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
            _ => return,
        };
        let first = self.values.len();
        let overflow = sample.is_overflow();
        if !overflow {
            for value in sample.label_values() {
                let start = self.text.len();
                self.text.push_str(value);
                self.values.push((start, self.text.len()));
            }
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
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
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
            }
        }
        Ok(())
    }
}

/// The labels of one buffered series, as prometheus-client encodes them: the family's
/// label names with the series' values, or only `otel_metric_overflow="true"` for the
/// overflow series.
struct SampleLabels<'a> {
    family: &'a FamilyBuf,
    sample: &'a BufferedSample,
}

impl EncodeLabelSet for SampleLabels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> fmt::Result {
        if self.sample.overflow {
            return (OVERFLOW_LABEL, "true").encode(encoder.encode_label());
        }
        let family = self.family;
        let values = &family.values[self.sample.first..self.sample.first + self.sample.count];
        for (name, &(start, end)) in family.label_names[..family.label_count].iter().zip(values) {
            (name.as_str(), &family.text[start..end]).encode(encoder.encode_label())?;
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
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let family = self.slot().clone();
        match family {
            Some(family) if !family.samples.is_empty() => family.encode(encoder),
            _ => Ok(()),
        }
    }
}
