//! From a parsed text [`Exposition`] to [`Samples`]: prism's mapping of core families to
//! text families, undone.
//!
//! | text | samples |
//! |---|---|
//! | OpenMetrics `# TYPE x counter`, `x_total`, `x_created` | counter `x`, its value, its start time |
//! | 0.0.4 `# TYPE x_total counter`, `x_total` | counter `x` (the suffix removed) |
//! | `gauge`, `unknown`/`untyped` | gauge, unknown |
//! | `histogram`: `x_bucket{le}`, `x_count`, `x_sum`, `x_created` | one histogram per label set |
//! | `summary`: `x{quantile}`, `x_count`, `x_sum`, `x_created` | one summary per label set |
//!
//! prism writes no timestamps, exemplars, `gaugehistogram`, `stateset` or `info`: each is
//! an error here, as is a series given twice or two families with one core name.

use std::collections::BTreeMap;

use crate::model::{Bucket, Family, Kind, Labels, Number, Point, Samples, Series};
use crate::read::text::{parse, Dialect, Exposition, TextFamily, TextSample, TextType};
use crate::read::ReadError;

/// Reads Prometheus 0.0.4 text.
///
/// ```
/// let samples = prism_conformance::read::read_prometheus(
///     b"# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total{queue=\"a\"} 3\n",
/// )?;
/// let jobs = samples.family("jobs").unwrap();
/// assert_eq!(jobs.help.as_deref(), Some("Jobs run."));
/// assert_eq!(jobs.series.len(), 1);
/// # Ok::<(), prism_conformance::read::ReadError>(())
/// ```
pub fn read_prometheus(bytes: &[u8]) -> Result<Samples, ReadError> {
    let exposition = parse(bytes, Dialect::Prometheus)
        .map_err(|e| ReadError::new("prometheus", e.to_string()))?;
    text_to_samples(&exposition)
}

/// Reads OpenMetrics 1.0 text.
///
/// ```
/// let samples = prism_conformance::read::read_openmetrics(
///     b"# TYPE jobs counter\njobs_total 3\njobs_created 1700000000.25\n# EOF\n",
/// )?;
/// let series = samples.family("jobs").unwrap().series.values().next().unwrap();
/// assert_eq!(series.created_unix_nanos, Some(1_700_000_000_250_000_000));
/// # Ok::<(), prism_conformance::read::ReadError>(())
/// ```
pub fn read_openmetrics(bytes: &[u8]) -> Result<Samples, ReadError> {
    let exposition = parse(bytes, Dialect::OpenMetrics)
        .map_err(|e| ReadError::new("openmetrics", e.to_string()))?;
    text_to_samples(&exposition)
}

/// Maps a parsed exposition to samples.
pub fn text_to_samples(exposition: &Exposition) -> Result<Samples, ReadError> {
    let om = exposition.dialect == Dialect::OpenMetrics;
    let format = if om { "openmetrics" } else { "prometheus" };
    let err = |m: String| ReadError::new(format, m);
    let mut out = Samples::default();
    for tf in &exposition.families {
        let family = family(tf, om).map_err(|m| err(format!("family {:?}: {m}", tf.name)))?;
        if out.families.contains_key(&family.name) {
            return Err(err(format!(
                "two families map to the core name {:?}",
                family.name
            )));
        }
        out.families.insert(family.name.clone(), family);
    }
    Ok(out)
}

fn family(tf: &TextFamily, om: bool) -> Result<Family, String> {
    for s in &tf.samples {
        if s.timestamp.is_some() {
            return Err(format!("line {}: prism writes no timestamps", s.line));
        }
        if s.exemplar.is_some() {
            return Err(format!("line {}: prism writes no exemplars", s.line));
        }
    }
    let (name, kind) = match tf.kind {
        TextType::Counter if om => (tf.name.clone(), Kind::Counter),
        TextType::Counter => {
            let stem = tf
                .name
                .strip_suffix("_total")
                .ok_or("a 0.0.4 counter family is named `<name>_total` (prism's mapping)")?;
            (stem.to_owned(), Kind::Counter)
        }
        TextType::Gauge => (tf.name.clone(), Kind::Gauge),
        TextType::Unknown => (tf.name.clone(), Kind::Unknown),
        TextType::Histogram => (tf.name.clone(), Kind::Histogram),
        TextType::Summary => (tf.name.clone(), Kind::Summary),
        TextType::GaugeHistogram | TextType::StateSet | TextType::Info => {
            return Err(format!("prism writes no {:?}", tf.kind));
        }
    };
    let series = match kind {
        Kind::Histogram => histograms(tf)?,
        Kind::Summary => summaries(tf)?,
        _ => numbers(tf, om && kind == Kind::Counter)?,
    };
    Ok(Family {
        name,
        kind: Some(kind),
        help: Some(tf.help.clone().unwrap_or_default()),
        unit: om.then(|| tf.unit.clone().unwrap_or_default()),
        series,
    })
}

fn labels_without(s: &TextSample, skip: &str) -> Labels {
    Labels::new(
        s.labels
            .iter()
            .filter(|(k, _)| k != skip)
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// Counters (with `_created` in OpenMetrics), gauges and untyped families.
fn numbers(tf: &TextFamily, om_counter: bool) -> Result<BTreeMap<Labels, Series>, String> {
    let mut series: BTreeMap<Labels, Series> = BTreeMap::new();
    let mut created: BTreeMap<Labels, u64> = BTreeMap::new();
    for s in &tf.samples {
        let labels = labels_without(s, "");
        if om_counter && s.name.ends_with("_created") {
            let nanos = seconds_to_nanos(&s.value.text).ok_or_else(|| {
                format!(
                    "line {}: `_created` {:?} is not a time",
                    s.line, s.value.text
                )
            })?;
            if created.insert(labels.clone(), nanos).is_some() {
                return Err(format!(
                    "line {}: series {labels} has two `_created`",
                    s.line
                ));
            }
            continue;
        }
        let point = Series {
            point: Point::Number(s.value.value),
            created_unix_nanos: None,
        };
        if series.insert(labels.clone(), point).is_some() {
            return Err(format!("line {}: series {labels} given twice", s.line));
        }
    }
    for (labels, nanos) in created {
        let s = series
            .get_mut(&labels)
            .ok_or_else(|| format!("`_created` for {labels} without a `_total`"))?;
        s.created_unix_nanos = Some(nanos);
    }
    Ok(series)
}

#[derive(Default)]
struct Parts {
    buckets: Vec<Bucket>,
    quantiles: Vec<(f64, Number)>,
    count: Option<Number>,
    sum: Option<Number>,
    created: Option<u64>,
}

fn group(
    tf: &TextFamily,
    label: &str,
    mut on: impl FnMut(&TextSample, &str, &mut Parts) -> Result<(), String>,
) -> Result<BTreeMap<Labels, Parts>, String> {
    let mut groups: BTreeMap<Labels, Parts> = BTreeMap::new();
    for s in &tf.samples {
        let suffix = &s.name[tf.name.len()..];
        let skip = if suffix == "_bucket" || suffix.is_empty() {
            label
        } else {
            ""
        };
        let parts = groups.entry(labels_without(s, skip)).or_default();
        let line = s.line;
        match suffix {
            "_count" => set_once(&mut parts.count, s.value.value, "_count", line)?,
            "_sum" => set_once(&mut parts.sum, s.value.value, "_sum", line)?,
            "_created" => {
                let nanos = seconds_to_nanos(&s.value.text)
                    .ok_or_else(|| format!("line {line}: `_created` is not a time"))?;
                if parts.created.replace(nanos).is_some() {
                    return Err(format!("line {line}: two `_created`"));
                }
            }
            _ => on(s, suffix, parts)?,
        }
    }
    Ok(groups)
}

fn set_once(slot: &mut Option<Number>, v: Number, what: &str, line: usize) -> Result<(), String> {
    if slot.replace(v).is_some() {
        return Err(format!("line {line}: `{what}` given twice for one series"));
    }
    Ok(())
}

fn count_of(n: Number, what: &str) -> Result<u64, String> {
    match n {
        Number::Int(v) => u64::try_from(v).map_err(|_| format!("{what} {v} is not a count")),
        Number::Float(v) if v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 => Ok(v as u64),
        other => Err(format!("{what} {other} is not a count")),
    }
}

fn histograms(tf: &TextFamily) -> Result<BTreeMap<Labels, Series>, String> {
    let groups = group(tf, "le", |s, suffix, parts| {
        if suffix != "_bucket" {
            return Err(format!("line {}: unexpected sample {:?}", s.line, s.name));
        }
        let le = s.label("le").unwrap_or("");
        let le = crate::read::text::parse_number(le)
            .map(Number::as_f64)
            .ok_or_else(|| format!("line {}: le={le:?}", s.line))?;
        parts.buckets.push(Bucket {
            le,
            count: count_of(s.value.value, "bucket count")?,
        });
        Ok(())
    })?;
    groups
        .into_iter()
        .map(|(labels, p)| {
            let sum = p
                .sum
                .ok_or_else(|| format!("histogram {labels} has no `_sum`"))?;
            let count = match p.count {
                Some(c) => count_of(c, "`_count`")?,
                None => p.buckets.last().map_or(0, |b| b.count),
            };
            let point = Point::Histogram {
                count,
                sum,
                buckets: p.buckets,
            };
            Ok((
                labels,
                Series {
                    point,
                    created_unix_nanos: p.created,
                },
            ))
        })
        .collect()
}

fn summaries(tf: &TextFamily) -> Result<BTreeMap<Labels, Series>, String> {
    let groups = group(tf, "quantile", |s, suffix, parts| {
        if !suffix.is_empty() {
            return Err(format!("line {}: unexpected sample {:?}", s.line, s.name));
        }
        let q = s.label("quantile").unwrap_or("");
        let q = crate::read::text::parse_number(q)
            .map(Number::as_f64)
            .ok_or_else(|| format!("line {}: quantile={q:?}", s.line))?;
        // A summary with nothing observed writes its quantiles as NaN, as client_golang
        // does; the canonical form has no value there (core's quantile is `None`). A
        // recorded quantile is never NaN, so nothing real is dropped.
        if !s.value.value.as_f64().is_nan() {
            parts.quantiles.push((q, s.value.value));
        }
        Ok(())
    })?;
    groups
        .into_iter()
        .map(|(labels, p)| {
            let sum = p
                .sum
                .ok_or_else(|| format!("summary {labels} has no `_sum`"))?;
            let count = count_of(
                p.count
                    .ok_or_else(|| format!("summary {labels} has no `_count`"))?,
                "`_count`",
            )?;
            let point = Point::Summary {
                count,
                sum,
                quantiles: p.quantiles,
            };
            Ok((
                labels,
                Series {
                    point,
                    created_unix_nanos: p.created,
                },
            ))
        })
        .collect()
}

/// Decimal seconds since the epoch to nanoseconds, exactly where the text has at most nine
/// decimals and no exponent (as prism writes it), through `f64` otherwise.
///
/// ```
/// use prism_conformance::read::seconds_to_nanos;
/// assert_eq!(seconds_to_nanos("1700000000.000000001"), Some(1_700_000_000_000_000_001));
/// assert_eq!(seconds_to_nanos("18446744073.709551615"), Some(u64::MAX));
/// assert_eq!(seconds_to_nanos("1.5e3"), Some(1_500_000_000_000));
/// assert_eq!(seconds_to_nanos("-1"), None);
/// ```
pub fn seconds_to_nanos(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let exact = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 9
        && frac.bytes().all(|b| b.is_ascii_digit());
    if exact {
        let seconds: u64 = whole.parse().ok()?;
        let nanos: u64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<9}").parse().ok()?
        };
        return seconds.checked_mul(1_000_000_000)?.checked_add(nanos);
    }
    let v = crate::read::text::parse_number(text)?.as_f64();
    (0.0..1.8e10).contains(&v).then(|| (v * 1e9).round() as u64)
}
