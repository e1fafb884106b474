//! The comparison engine: two [`Samples`] in, every difference out as a [`Mismatch`] that
//! names the family, the series, both sources and both values.
//!
//! Only what both sides carry is compared (see [`Carries`]): JSON's values against
//! everything, the kind and help against the formats that have them, units and start times
//! against OpenMetrics and OTLP. A family without series and a family that is absent are
//! the same thing (prism-prom prints nothing for an empty family, prism-json `{}`).

use std::fmt;

use crate::format::{Carries, Format};
use crate::model::{Family, Kind, Labels, Number, Point, Samples};

/// Where a set of samples came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The core read, mapped by [`expected`](crate::expected()).
    Core,
    /// A format, read back.
    Format(Format),
}

impl Source {
    /// What the source carries.
    pub fn carries(self) -> Carries {
        match self {
            Source::Core => Carries::ALL,
            Source::Format(f) => f.carries(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Core => f.write_str("core read"),
            Source::Format(format) => f.write_str(format.name()),
        }
    }
}

/// What differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// A family one side has and the other lacks.
    Family,
    /// A series one side has and the other lacks.
    Series,
    /// A series' value.
    Value,
    /// A family's kind.
    Kind,
    /// A family's help text.
    Help,
    /// A family's unit.
    Unit,
    /// A series' start time.
    Created,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Family => "family",
            Field::Series => "series",
            Field::Value => "value",
            Field::Kind => "kind",
            Field::Help => "help",
            Field::Unit => "unit",
            Field::Created => "start time",
        })
    }
}

/// One difference between two sources.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The family's core name.
    pub family: String,
    /// The series, where the difference is in one.
    pub series: Option<Labels>,
    /// What differs.
    pub field: Field,
    /// The first source and what it says.
    pub left: (Source, String),
    /// The second source and what it says.
    pub right: (Source, String),
}

impl fmt::Display for Mismatch {
    /// `series http_requests{method="GET"}: value: core read says 3, openmetrics says 4`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.series {
            Some(labels) => write!(f, "series {}{labels}", self.family)?,
            None => write!(f, "family {}", self.family)?,
        }
        write!(
            f,
            ": {}: {} says {}, {} says {}",
            self.field, self.left.0, self.left.1, self.right.0, self.right.1
        )
    }
}

/// How strict a comparison is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rules {
    /// Compare only the families and series both sides have (a live service's formats
    /// each hold things the others do not, and series appear between reads).
    pub shared_only: bool,
    /// The right side was read after the left from a registry that kept running: counters
    /// may only have grown, and gauge values are not compared.
    pub moving: bool,
}

/// Compares two sets of samples; empty when they agree.
///
/// ```
/// use prism_conformance::{compare, Format, Labels, Number, Rules, Source};
/// use prism_conformance::read::{read_openmetrics, read_prometheus};
///
/// let om = read_openmetrics(b"# TYPE jobs counter\njobs_total 3\n# EOF\n")?;
/// let prom = read_prometheus(b"# TYPE jobs_total counter\njobs_total 4\n")?;
/// let diffs = compare(
///     (&om, Source::Format(Format::OpenMetrics)),
///     (&prom, Source::Format(Format::Prometheus)),
///     Rules::default(),
/// );
/// assert_eq!(diffs.len(), 1);
/// assert_eq!(diffs[0].to_string(), "series jobs{}: value: openmetrics says 3, prometheus says 4");
/// # Ok::<(), prism_conformance::read::ReadError>(())
/// ```
pub fn compare(left: (&Samples, Source), right: (&Samples, Source), rules: Rules) -> Vec<Mismatch> {
    let (l, ls) = left;
    let (r, rs) = right;
    let carries = ls.carries().and(rs.carries());
    let mut out = Vec::new();
    let mut names: Vec<&String> = l.families.keys().chain(r.families.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let lf = l.families.get(name).filter(|f| !f.series.is_empty());
        let rf = r.families.get(name).filter(|f| !f.series.is_empty());
        let mismatch = |field, series: Option<&Labels>, lv: String, rv: String| Mismatch {
            family: name.clone(),
            series: series.cloned(),
            field,
            left: (ls, lv),
            right: (rs, rv),
        };
        match (lf, rf) {
            (None, None) => {}
            (Some(f), None) | (None, Some(f)) if !rules.shared_only => {
                let present = format!("{} series", f.series.len());
                let (lv, rv) = if lf.is_some() {
                    (present, "no such family".to_owned())
                } else {
                    ("no such family".to_owned(), present)
                };
                out.push(mismatch(Field::Family, None, lv, rv));
            }
            (Some(lf), Some(rf)) => families(lf, rf, carries, rules, &mut |field, s, a, b| {
                out.push(mismatch(field, s, a, b))
            }),
            _ => {}
        }
    }
    out
}

/// Records one difference: field, series, what the left says, what the right says.
type Push<'a> = dyn FnMut(Field, Option<&Labels>, String, String) + 'a;

fn families(l: &Family, r: &Family, carries: Carries, rules: Rules, push: &mut Push<'_>) {
    let opt = |o: &Option<String>| match o {
        Some(s) => format!("{s:?}"),
        None => "nothing".to_owned(),
    };
    if carries.kind && l.kind != r.kind {
        let k = |k: Option<Kind>| k.map_or("nothing".to_owned(), |k| k.to_string());
        push(Field::Kind, None, k(l.kind), k(r.kind));
    }
    let help = |h: &Option<String>| match h {
        Some(h) if !carries.help_leading_blanks => {
            Some(h.trim_start_matches([' ', '\t']).to_owned())
        }
        other => other.clone(),
    };
    if carries.help && help(&l.help) != help(&r.help) {
        push(Field::Help, None, opt(&l.help), opt(&r.help));
    }
    if carries.unit && l.unit != r.unit {
        push(Field::Unit, None, opt(&l.unit), opt(&r.unit));
    }
    let kind = l.kind.or(r.kind);
    let cumulative = matches!(kind, Some(Kind::Counter | Kind::Histogram | Kind::Summary));
    for (labels, ls) in &l.series {
        let Some(rs) = r.series.get(labels) else {
            if !rules.shared_only {
                push(
                    Field::Series,
                    Some(labels),
                    ls.point.to_string(),
                    "no such series".to_owned(),
                );
            }
            continue;
        };
        let (lp, rp) = if carries.buckets {
            (ls.point.clone(), rs.point.clone())
        } else {
            (without_buckets(&ls.point), without_buckets(&rs.point))
        };
        if !points_agree(&lp, &rp, kind, rules.moving, carries.big_integers) {
            push(
                Field::Value,
                Some(labels),
                ls.point.to_string(),
                rs.point.to_string(),
            );
        }
        if carries.created && cumulative && ls.created_unix_nanos != rs.created_unix_nanos {
            let t = |t: Option<u64>| t.map_or("none".to_owned(), |t| format!("{t} ns"));
            push(
                Field::Created,
                Some(labels),
                t(ls.created_unix_nanos),
                t(rs.created_unix_nanos),
            );
        }
    }
    if !rules.shared_only {
        for (labels, rs) in &r.series {
            if !l.series.contains_key(labels) {
                push(
                    Field::Series,
                    Some(labels),
                    "no such series".to_owned(),
                    rs.point.to_string(),
                );
            }
        }
    }
}

/// A histogram as a format without buckets shows it: count and sum.
fn without_buckets(p: &Point) -> Point {
    match p {
        Point::Histogram { count, sum, .. } => Point::Histogram {
            count: *count,
            sum: *sum,
            buckets: Vec::new(),
        },
        other => other.clone(),
    }
}

/// An integer beyond `i64` as a format without such integers must write it: the nearest
/// `f64`.
fn nearest_double(p: &Point) -> Option<Point> {
    match *p {
        Point::Number(Number::Int(v)) if v > i128::from(i64::MAX) => {
            Some(Point::Number(Number::Float(v as f64)))
        }
        _ => None,
    }
}

fn points_agree(l: &Point, r: &Point, kind: Option<Kind>, moving: bool, big: bool) -> bool {
    if !big && (nearest_double(l).is_some() || nearest_double(r).is_some()) {
        let l = nearest_double(l).unwrap_or_else(|| l.clone());
        let r = nearest_double(r).unwrap_or_else(|| r.clone());
        return points_agree(&l, &r, kind, moving, true);
    }
    if !moving {
        return l == r;
    }
    match (l, r, kind) {
        (Point::Number(a), Point::Number(b), Some(Kind::Counter)) => {
            // NaN and JSON's null cannot be ordered; they must then at least agree.
            a.le(*b).unwrap_or(a == b)
        }
        (Point::Histogram { count: a, .. }, Point::Histogram { count: b, .. }, _)
        | (Point::Summary { count: a, .. }, Point::Summary { count: b, .. }, _) => a <= b,
        // Gauges move both ways; only their presence and shape are compared.
        (Point::Number(_), Point::Number(_), _) => true,
        _ => false,
    }
}
