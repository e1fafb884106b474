//! One registry family as a JSON value: [`FamilyRows`] collects its samples from the read
//! path, then writes a bare number or nested maps keyed by label value.
//!
//! | family | JSON |
//! |---|---|
//! | one series, no labels | `3` |
//! | labels `method`, `code` | `{"GET": {"200": 3, "404": 1}, "POST": {"200": 1}}` |
//! | no series yet | `{}` |
//! | past its cardinality limit | `{"a": 1, "otel_metric_overflow=true": 5}` |
//!
//! Keys are sorted in byte order at every level, as Go's `expvar.Map` sorts them. The
//! overflow series (the updates of every label set refused by the cardinality limit) sits
//! at the top level of the family's map under the key `otel_metric_overflow=true`
//! ([`OVERFLOW_LABEL`] `=true`), sorted in with the first label's values. Should a first
//! label value be that very string, the overflow key gets one more leading `_` until it is
//! unique, so the JSON never holds a key twice.

use std::io::{self, Write};

use prism_core::{Descriptor, Sample, Value, OVERFLOW_LABEL};
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

    pub(crate) fn push(&mut self, sample: &Sample<'_>) {
        if sample.is_overflow() {
            self.overflow = Some(sample.value().clone());
            return;
        }
        let first_label = self.labels.len() as u32;
        for value in sample.label_values() {
            let start = self.arena.len() as u32;
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
            (0..depth)
                .map(|l| self.label(a as usize, l).cmp(self.label(b as usize, l)))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let overflow_key = self
            .overflow
            .as_ref()
            .map(|_| self.overflow_key(&order, depth));
        let result = self.write_level(w, &order, 0, depth, overflow_key.as_deref());
        self.order = order;
        result
    }

    /// `otel_metric_overflow=true`, with leading `_` added while a first label value
    /// (already sorted in `order`) equals it.
    fn overflow_key(&self, order: &[u32], depth: usize) -> String {
        let mut key = format!("{OVERFLOW_LABEL}=true");
        if depth == 0 {
            return key;
        }
        while order
            .binary_search_by(|&r| self.label(r as usize, 0).cmp(&key))
            .is_ok()
        {
            key.insert(0, '_');
        }
        key
    }

    /// Writes the rows of `rows` (sorted, sharing their first `level` labels) as one map.
    fn write_level<W: ?Sized + Write>(
        &self,
        w: &mut W,
        rows: &[u32],
        level: usize,
        depth: usize,
        mut overflow_key: Option<&str>,
    ) -> io::Result<()> {
        let mut f = GoFormatter::new(Style::Expvar);
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
            if level + 1 >= depth {
                // Label sets are unique, so at the last level each key holds one row.
                write_value(w, &self.rows[rows[i] as usize].value)?;
            } else {
                self.write_level(w, &rows[i..end], level + 1, depth, None)?;
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

/// A series value as expvar writes its `Int` and `Float`.
pub(crate) fn write_value<W: ?Sized + Write>(w: &mut W, value: &Value) -> io::Result<()> {
    match *value {
        Value::Counter(v) => format::write_u64(w, v),
        Value::Gauge(v) => format::write_i64(w, v),
        Value::CounterF64(v) | Value::GaugeF64(v) => format::write_f64(w, v, Style::Expvar),
        // Kinds added to core later (histograms) get their own shape here; until then a
        // value this crate does not know is written as null, which every reader accepts.
        _ => w.write_all(b"null"),
    }
}
