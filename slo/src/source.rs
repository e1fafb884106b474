//! [`Source`]: one counter, or a selection of a family's counter series, read as increases.

use std::fmt;
use std::sync::Arc;

use hashbrown::HashMap;
use prism_core::{Counter, Descriptor, Family, Metric, Registry, Sample, Value, Visitor};

use crate::error::Error;

/// A label matcher that selects a family's series, the way a PromQL selector does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Matcher {
    /// The label equals the value (`code="200"`).
    Eq(String, String),
    /// The label differs from the value (`code!="200"`).
    Ne(String, String),
    /// The label starts with the prefix (`code=~"5.*"`).
    Prefix(String, String),
}

impl Matcher {
    /// `label="value"`.
    pub fn eq(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self::Eq(label.into(), value.into())
    }

    /// `label!="value"`.
    pub fn ne(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self::Ne(label.into(), value.into())
    }

    /// `label=~"prefix.*"`: e.g. `Matcher::prefix("code", "5")` selects every 5xx.
    pub fn prefix(label: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self::Prefix(label.into(), prefix.into())
    }

    fn label(&self) -> &str {
        match self {
            Self::Eq(l, _) | Self::Ne(l, _) | Self::Prefix(l, _) => l,
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Self::Eq(_, v) => value == v,
            Self::Ne(_, v) => value != v,
            Self::Prefix(_, p) => value.starts_with(p.as_str()),
        }
    }

    /// The matcher in PromQL.
    fn promql(&self) -> String {
        match self {
            Self::Eq(l, v) => format!("{l}=\"{}\"", escape(v)),
            Self::Ne(l, v) => format!("{l}!=\"{}\"", escape(v)),
            Self::Prefix(l, p) => format!("{l}=~\"{}.*\"", escape(&regex_escape(p))),
        }
    }
}

/// A PromQL string literal's escaping.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// RE2's escaping of its metacharacters, so that a prefix matches literally.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// How a source reads its value(s).
#[derive(Clone)]
enum Reader {
    /// One counter.
    Counter(Counter),
    /// A closure returning a counter's value.
    Func(Arc<dyn Fn() -> u64 + Send + Sync>),
    /// A registry holding only the selected family (the user's family handle, registered
    /// a second time under the same name), and the position of each matcher's label.
    Family(Registry, Arc<[usize]>),
}

/// One counter, or the sum of a family's counter series that match some labels, with the
/// name Prometheus knows it by. A [`Slo`](crate::Slo) or an
/// [`IntervalReporter`](crate::IntervalReporter) reads it on its tick; nothing is added to the
/// counter's update path.
///
/// Each series is followed on its own: the increase of a source is the sum of its series'
/// increases, as PromQL's `sum(rate(...))` sums per-series rates. A series whose value went
/// down restarted from zero (a process restart, a series removed and made again): its
/// increase is its new value, never negative, and the read says it saw a reset. A series
/// seen for the first time counts its whole value, so that increases add up to the counter's
/// total.
#[derive(Clone)]
pub struct Source {
    name: String,
    matchers: Vec<Matcher>,
    reader: Reader,
}

impl Source {
    /// A counter registered as `name` (the name as exposed, scope prefix included; without
    /// `_total`).
    pub fn counter(name: impl Into<String>, counter: &Counter) -> Self {
        Self {
            name: name.into(),
            matchers: Vec::new(),
            reader: Reader::Counter(counter.clone()),
        }
    }

    /// A counter read through a closure: any counter kind (`ShardedCounter::get`, ...),
    /// registered as `name`.
    pub fn func(name: impl Into<String>, read: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self {
            name: name.into(),
            matchers: Vec::new(),
            reader: Reader::Func(Arc::new(read)),
        }
    }

    /// The series of `family` (registered as `name`) whose labels match every matcher,
    /// summed. Each tick reads every series of the family once.
    ///
    /// Fails when a matcher names a label the family does not have, or `name` is not a
    /// valid metric name.
    pub fn family<M: Metric>(
        name: impl Into<String>,
        family: &Family<M>,
        matchers: impl IntoIterator<Item = Matcher>,
    ) -> Result<Self, Error> {
        let name = name.into();
        let matchers: Vec<Matcher> = matchers.into_iter().collect();
        let mut positions = Vec::with_capacity(matchers.len());
        for m in &matchers {
            match family.label_names().iter().position(|l| l == m.label()) {
                Some(i) => positions.push(i),
                None => {
                    return Err(Error::UnknownLabel {
                        family: name,
                        label: m.label().to_owned(),
                    })
                }
            }
        }
        if M::KIND != prism_core::Kind::Counter {
            return Err(Error::NotACounter { family: name });
        }
        let registry = Registry::builder().self_telemetry(false).build();
        registry
            .register(&name, "selected by prism-slo", family.clone())
            .map_err(|e| Error::Registry {
                name: name.clone(),
                source: e,
            })?;
        Ok(Self {
            name,
            matchers,
            reader: Reader::Family(registry, positions.into()),
        })
    }

    /// The metric's name, without `_total`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The label matchers (empty for a single counter).
    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    /// The PromQL selector of this source's series: `name_total{matchers}`.
    pub fn promql_selector(&self) -> String {
        let mut s = format!("{}_total", self.name);
        if !self.matchers.is_empty() {
            let m: Vec<String> = self.matchers.iter().map(Matcher::promql).collect();
            s.push('{');
            s.push_str(&m.join(","));
            s.push('}');
        }
        s
    }

    /// A reader of this source's increases, starting from zero.
    pub(crate) fn poller(&self) -> Poller {
        Poller {
            source: self.clone(),
            single: None,
            series: HashMap::new(),
            generation: 0,
            key: String::new(),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("selector", &self.promql_selector())
            .finish_non_exhaustive()
    }
}

/// What one read of a source found since the read before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    /// The sum of the series' increases.
    pub increase: u64,
    /// Series whose value went down (each counted as restarted from zero).
    pub resets: u32,
}

/// A source and the last value of each of its series.
pub(crate) struct Poller {
    source: Source,
    /// The last value of a single counter; `None` before the first read.
    single: Option<u64>,
    /// The last value and the generation last seen of each series, by label values joined
    /// with NUL (which a label value cannot hold).
    series: HashMap<String, (u64, u64)>,
    generation: u64,
    /// Reused buffer for the key of the series being read.
    key: String,
}

impl Poller {
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }

    /// Reads the source once: the increase since the previous read.
    pub(crate) fn poll(&mut self) -> Delta {
        match &self.source.reader {
            Reader::Counter(c) => step(&mut self.single, c.get()),
            Reader::Func(f) => step(&mut self.single, f()),
            Reader::Family(registry, positions) => {
                let (registry, positions) = (registry.clone(), positions.clone());
                self.generation += 1;
                let mut visit = FamilyVisit {
                    poller: self,
                    positions: &positions,
                    delta: Delta::default(),
                };
                registry.visit(&mut visit);
                let delta = visit.delta;
                // Series gone from the family (removed, expired): forget them, so a series
                // made again under the same labels counts from zero.
                let generation = self.generation;
                self.series.retain(|_, (_, seen)| *seen == generation);
                delta
            }
        }
    }
}

/// The increase from `last` to `now`, a fall being a restart from zero.
fn step(last: &mut Option<u64>, now: u64) -> Delta {
    let delta = match *last {
        None => Delta {
            increase: now,
            resets: 0,
        },
        Some(before) if now >= before => Delta {
            increase: now - before,
            resets: 0,
        },
        Some(_) => Delta {
            increase: now,
            resets: 1,
        },
    };
    *last = Some(now);
    delta
}

struct FamilyVisit<'a> {
    poller: &'a mut Poller,
    positions: &'a [usize],
    delta: Delta,
}

impl Visitor for FamilyVisit<'_> {
    fn sample(&mut self, _family: &Descriptor, sample: &Sample<'_>) {
        let p = &mut *self.poller;
        p.key.clear();
        if sample.is_overflow() {
            // The overflow series has no label values: it matches only a selection without
            // matchers, as its `otel_metric_overflow` label matches no user label in PromQL.
            if !p.source.matchers.is_empty() {
                return;
            }
            p.key.push('\u{1}');
        }
        // One pass over the label values: the series' key, and each matcher checked at its
        // label's position.
        for (i, v) in sample.label_values().enumerate() {
            for (m, _) in p
                .source
                .matchers
                .iter()
                .zip(self.positions)
                .filter(|(_, at)| **at == i)
            {
                if !m.matches(v) {
                    return;
                }
            }
            p.key.push_str(v);
            p.key.push('\0');
        }
        let now = match sample.value() {
            Value::Counter(v) => *v,
            // Float counters are followed in whole units.
            other => other.as_f64() as u64,
        };
        let generation = p.generation;
        let d = match p.series.get_mut(p.key.as_str()) {
            Some((last, seen)) => {
                *seen = generation;
                let mut l = Some(*last);
                let d = step(&mut l, now);
                *last = now;
                d
            }
            None => {
                p.series.insert(p.key.clone(), (now, generation));
                step(&mut None, now)
            }
        };
        self.delta.increase = self.delta.increase.wrapping_add(d.increase);
        self.delta.resets += d.resets;
    }
}
