//! One registry family as a JSON value: [`FamilyRows`] collects its samples from the read
//! path, then writes a bare value or nested maps keyed by label value.
//!
//! | family | JSON |
//! |---|---|
//! | one series, no labels | `3` |
//! | labels `method`, `code` | `{"GET": {"200": 3, "404": 1}, "POST": {"200": 1}}` |
//! | no series yet | `{}` |
//! | past its cardinality limit | `{"a": 1, "otel_metric_overflow=true": 5}` |
//! | a histogram or summary series | `{"count": 4, "max": 0.5, "min": 0.005, "p50": 0.05, "p90": 0.5, "p99": 0.5, "p999": 0.5, "sum": 0.605}` |
//!
//! Keys are sorted in byte order at every level, as Go's `expvar.Map` sorts them. The
//! overflow series (the updates of every label set refused by the cardinality limit) sits
//! at the top level of the family's map under the key `otel_metric_overflow=true`
//! ([`OVERFLOW_LABEL`](prism_core::OVERFLOW_LABEL) `=true`), sorted in with the first label's values. So that the key
//! always means the overflow series, a first label value made of `_`s followed by
//! `otel_metric_overflow=true` is written with one more leading `_`, whether or not the
//! family has an overflow series: a reader strips one `_` from such keys and reads the
//! bare marker as the overflow series.
//!
//! A histogram or summary series is an object of its count, sum, min, max and quantiles
//! (`p50`, `p90`, `p99`, `p999`); min, max and the quantiles are `null` while nothing has
//! been recorded. Its buckets are left to the formats that aggregate them (Prometheus and
//! OTLP).

use std::io::{self, Write};

use prism_core::{Descriptor, HistogramValue, Sample, Value};
use serde_json::ser::Formatter;

use crate::format::{self, GoFormatter, Style};

/// The samples of one family, copied out of the visit so they can be sorted.
///
/// Label values go into one reused string; buffers keep their capacity across families,
/// so a render allocates per family only when a family is larger than any before it.
#[derive(Debug, Default)]
pub(crate) struct FamilyRows {
    arena: String,
    /// Per series: `labels` ranges into `arena`, starting at `first_label`.
    rows: Vec<Row>,
    labels: Vec<(u32, u32)>,
    order: Vec<u32>,
    overflow: Option<Value>,
}

#[derive(Debug)]
struct Row {
    first_label: u32,
    value: Value,
}

impl FamilyRows {
    pub(crate) fn clear(&mut self) {
        self.arena.clear();
        self.rows.clear();
        self.labels.clear();
        self.order.clear();
        self.overflow = None;
    }

    pub(crate) fn push(&mut self, desc: &Descriptor, sample: &Sample<'_>) {
        if sample.is_overflow() {
            self.overflow = Some(sample.value().clone());
            return;
        }
        let overflow_level = desc.const_labels().len();
        let first_label = self.labels.len() as u32;
        for (level, value) in sample.label_values().enumerate() {
            let start = self.arena.len() as u32;
            // The first label of the family's own keys the map the overflow key is in:
            // stored as written, escape included, so sorting and writing need no second
            // look.
            if level == overflow_level && escaped(value) {
                self.arena.push('_');
            }
            self.arena.push_str(value);
            self.labels.push((start, self.arena.len() as u32));
        }
        self.rows.push(Row {
            first_label,
            value: sample.value().clone(),
        });
    }

    fn label(&self, row: usize, level: usize) -> &str {
        let (start, end) = self.labels[self.rows[row].first_label as usize + level];
        &self.arena[start as usize..end as usize]
    }

    /// Writes the family's value.
    pub(crate) fn write<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        desc: &Descriptor,
    ) -> io::Result<()> {
        let depth = desc.label_names().len();
        if depth == 0 && self.overflow.is_none() && self.rows.len() == 1 {
            return write_value(w, &self.rows[0].value);
        }
        // From here on the object form; a family without labels has at most one row,
        // which goes under the key "".
        self.order.clear();
        self.order.extend(0..self.rows.len() as u32);
        let mut order = std::mem::take(&mut self.order);
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            (0..depth)
                .map(|l| self.label(a, l).cmp(self.label(b, l)))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        // The overflow series sits beside the family's own first label, inside the maps of
        // the constant labels (one key each: every series has the same constant values).
        let consts: Vec<&str> = desc.const_labels().map(|(_, value)| value).collect();
        let result = if self.overflow.is_some() && order.is_empty() && !consts.is_empty() {
            self.write_consts_only(w, &consts, depth)
        } else {
            self.write_level(w, &order, 0, depth, consts.len())
        };
        self.order = order;
        result
    }

    /// Writes a family whose only series is the overflow one, under the maps of its
    /// constant labels' values.
    fn write_consts_only<W: ?Sized + Write>(
        &self,
        w: &mut W,
        consts: &[&str],
        depth: usize,
    ) -> io::Result<()> {
        for value in consts {
            let mut f = GoFormatter::new(Style::Expvar);
            f.begin_object(w)?;
            f.begin_object_key(w, true)?;
            format::write_str(w, value, Style::Expvar)?;
            f.begin_object_value(w)?;
        }
        self.write_level(w, &[], consts.len(), depth, consts.len())?;
        for _ in consts {
            GoFormatter::new(Style::Expvar).end_object(w)?;
        }
        Ok(())
    }

    /// Writes the rows of `rows` (sorted, sharing their first `level` labels) as one map;
    /// the overflow series goes into the map at `overflow_level`.
    fn write_level<W: ?Sized + Write>(
        &self,
        w: &mut W,
        rows: &[u32],
        level: usize,
        depth: usize,
        overflow_level: usize,
    ) -> io::Result<()> {
        let mut overflow_key = self
            .overflow
            .as_ref()
            .filter(|_| level == overflow_level)
            .map(|_| crate::OVERFLOW_KEY);
        let mut f = GoFormatter::new(Style::Expvar);
        if level == depth {
            // A family with constant labels and none of its own, and an overflow series
            // (refused lookups with the wrong number of values): the object form of a
            // family without labels, its series under "".
            f.begin_object(w)?;
            for (i, &row) in rows.iter().enumerate() {
                f.begin_object_key(w, i == 0)?;
                format::write_str(w, "", Style::Expvar)?;
                f.begin_object_value(w)?;
                write_value(w, &self.rows[row as usize].value)?;
            }
            if let Some(ok) = overflow_key {
                f.begin_object_key(w, rows.is_empty())?;
                format::write_str(w, ok, Style::Expvar)?;
                f.begin_object_value(w)?;
                write_value(w, self.overflow.as_ref().unwrap_or(&Value::Counter(0)))?;
            }
            return f.end_object(w);
        }
        f.begin_object(w)?;
        let mut first = true;
        let mut entry = |w: &mut W, key: &str, first: &mut bool| -> io::Result<()> {
            f.begin_object_key(w, *first)?;
            *first = false;
            format::write_str(w, key, Style::Expvar)?;
            f.begin_object_value(w)
        };
        let mut i = 0;
        while i < rows.len() {
            let key = if depth == 0 {
                ""
            } else {
                self.label(rows[i] as usize, level)
            };
            let mut end = i + 1;
            while depth > 0 && end < rows.len() && self.label(rows[end] as usize, level) == key {
                end += 1;
            }
            if let Some(ok) = overflow_key.filter(|ok| *ok < key) {
                entry(w, ok, &mut first)?;
                write_value(w, self.overflow.as_ref().unwrap_or(&Value::Counter(0)))?;
                overflow_key = None;
            }
            entry(w, key, &mut first)?;
            let overflow_below = self.overflow.is_some() && overflow_level > level;
            if level + 1 >= depth && !overflow_below {
                // Label sets are unique, so at the last level each key holds one row.
                write_value(w, &self.rows[rows[i] as usize].value)?;
            } else {
                self.write_level(w, &rows[i..end], level + 1, depth, overflow_level)?;
            }
            i = end;
        }
        if let Some(ok) = overflow_key {
            entry(w, ok, &mut first)?;
            write_value(w, self.overflow.as_ref().unwrap_or(&Value::Counter(0)))?;
        }
        GoFormatter::new(Style::Expvar).end_object(w)
    }
}

/// Whether a value of the family's first own label is written with one more `_`: it is
/// `_`s and then the overflow marker, so it would read as (or as an escaped) overflow key.
fn escaped(label: &str) -> bool {
    label.trim_start_matches('_') == crate::OVERFLOW_KEY
}

/// A series value as expvar writes its `Int` and `Float`; a distribution as an object.
pub(crate) fn write_value<W: ?Sized + Write>(w: &mut W, value: &Value) -> io::Result<()> {
    match value {
        Value::Counter(v) => format::write_u64(w, *v),
        Value::Gauge(v) => format::write_i64(w, *v),
        Value::CounterF64(v) | Value::GaugeF64(v) => format::write_f64(w, *v, Style::Expvar),
        Value::Histogram(h) | Value::Summary(h) => write_distribution(w, h),
        // A kind core adds later and this crate does not know yet: null, which every
        // reader accepts, rather than a guess.
        _ => w.write_all(b"null"),
    }
}

/// `{"count": 4, "max": 0.5, "min": 0.005, "p50": 0.05, ..., "sum": 0.605}`, keys sorted.
fn write_distribution<W: ?Sized + Write>(w: &mut W, h: &HistogramValue) -> io::Result<()> {
    let mut fields: Vec<(String, Option<f64>)> = vec![
        ("max".to_owned(), h.max()),
        ("min".to_owned(), h.min()),
        ("sum".to_owned(), Some(h.sum())),
    ];
    fields.extend(h.quantiles().map(|(q, v)| (quantile_key(q), v)));
    fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut f = GoFormatter::new(Style::Expvar);
    f.begin_object(w)?;
    f.begin_object_key(w, true)?;
    format::write_str(w, "count", Style::Expvar)?;
    f.begin_object_value(w)?;
    format::write_u64(w, h.count())?;
    // "count" sorts before every other key ("max", "min", "p..", "sum").
    for (key, v) in &fields {
        f.begin_object_key(w, false)?;
        format::write_str(w, key, Style::Expvar)?;
        f.begin_object_value(w)?;
        match v {
            Some(v) => format::write_f64(w, *v, Style::Expvar)?,
            None => w.write_all(b"null")?,
        }
    }
    f.end_object(w)
}

/// `p50`, `p90`, `p99`, `p999` for 0.5, 0.9, 0.99, 0.999: the percentile's digits.
fn quantile_key(q: f64) -> String {
    let percent = format!("{}", q * 100.0);
    // 0.999 * 100 is 99.9 in f64 arithmetic; keep the digits only.
    let digits: String = percent.chars().filter(char::is_ascii_digit).collect();
    format!("p{digits}")
}

#[cfg(test)]
mod tests {
    use prism_core::{Counter, Family, Gauge, Histogram, Registry};

    fn doc(registry: &Registry) -> String {
        crate::render_to_string(registry)
    }

    #[test]
    fn labelled_families_nest_one_level_per_label_with_sorted_keys() {
        let registry = Registry::builder().self_telemetry(false).build();
        let f = registry
            .register("f", "F.", Family::<Counter>::new(["a", "b"]))
            .unwrap();
        for (a, b, n) in [("z", "2", 1), ("a", "9", 2), ("z", "10", 3), ("a", "", 4)] {
            f.get(&[a, b]).add(n);
        }
        registry
            .register("empty", "E.", Family::<Gauge>::new(["k"]))
            .unwrap();
        assert_eq!(
            doc(&registry),
            "{\n\"empty\": {},\n\"f\": {\"a\": {\"\": 4, \"9\": 2}, \"z\": {\"10\": 3, \"2\": 1}}\n}\n"
        );
    }

    #[test]
    fn the_overflow_key_always_means_the_overflow_series() {
        let registry = Registry::builder().self_telemetry(false).build();
        let f = registry
            .register(
                "f",
                "F.",
                Family::<Counter>::builder(["k"])
                    .cardinality_limit(3)
                    .build()
                    .unwrap(),
            )
            .unwrap();
        // Without an overflow series, a label value equal to the marker is still escaped.
        f.get(&["otel_metric_overflow=true"]).inc();
        f.get(&["_otel_metric_overflow=true"]).add(2);
        f.get(&["a"]).add(3);
        assert_eq!(
            doc(&registry),
            "{\n\"f\": {\"__otel_metric_overflow=true\": 2, \"_otel_metric_overflow=true\": 1, \
             \"a\": 3}\n}\n"
        );
        f.get(&["b"]).add(10);
        f.get(&["c"]).add(20);
        assert_eq!(
            doc(&registry),
            "{\n\"f\": {\"__otel_metric_overflow=true\": 2, \"_otel_metric_overflow=true\": 1, \
             \"a\": 3, \"otel_metric_overflow=true\": 30}\n}\n"
        );
    }

    #[test]
    fn a_family_without_labels_is_a_number_or_an_object_with_its_overflow() {
        let registry = Registry::builder().self_telemetry(false).build();
        let f = registry
            .register("f", "F.", Family::<Counter>::new(Vec::<String>::new()))
            .unwrap();
        assert_eq!(doc(&registry), "{\n\"f\": {}\n}\n");
        f.get::<&str>(&[]).add(2);
        assert_eq!(doc(&registry), "{\n\"f\": 2\n}\n");
        // A wrong number of values (a debug build panics, after routing the update to the
        // overflow series as a release build does).
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f.with(&["wrong arity"], |c| c.add(5));
        }));
        assert_eq!(
            doc(&registry),
            "{\n\"f\": {\"\": 2, \"otel_metric_overflow=true\": 5}\n}\n"
        );
    }

    #[test]
    fn histograms_are_objects_of_count_sum_min_max_and_quantiles() {
        let registry = Registry::builder().self_telemetry(false).build();
        let h = Histogram::builder()
            .unit_scale(1.0)
            .highest(1000)
            .buckets([10.0, 100.0]);
        let h = registry.register("h", "H.", h.build().unwrap()).unwrap();
        assert_eq!(
            doc(&registry),
            "{\n\"h\": {\"count\": 0, \"max\": null, \"min\": null, \"p50\": null, \"p90\": null, \
             \"p99\": null, \"p999\": null, \"sum\": 0}\n}\n"
        );
        for v in [5, 50, 50, 500] {
            h.record(v);
        }
        let out = doc(&registry);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let read = registry.snapshot();
        let want = read.family("h").unwrap().series[0]
            .value
            .as_histogram()
            .unwrap()
            .clone();
        assert_eq!(parsed["h"]["count"], 4);
        assert_eq!(parsed["h"]["sum"], 605);
        assert_eq!(parsed["h"]["min"].as_f64(), want.min());
        assert_eq!(parsed["h"]["max"].as_f64(), want.max());
        assert_eq!(parsed["h"]["p50"].as_f64(), want.p50());
        assert_eq!(parsed["h"]["p999"].as_f64(), want.p999());
        assert!(
            out.starts_with("{\n\"h\": {\"count\": 4, \"max\": "),
            "{out}"
        );
    }

    #[test]
    fn quantile_keys_are_the_percentile_digits() {
        let keys: Vec<String> = prism_core::QUANTILES
            .iter()
            .map(|&q| super::quantile_key(q))
            .collect();
        assert_eq!(keys, ["p50", "p90", "p99", "p999"]);
    }
}
