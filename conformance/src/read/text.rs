//! A strict parser of the two text formats, Prometheus 0.0.4 and OpenMetrics 1.0:
//! [`parse`] turns bytes into an [`Exposition`] or says which line breaks which rule.
//!
//! Written from the specifications, sharing no code with prism-prom or prometheus-client.
//! For OpenMetrics it agrees with every case of this crate's corpus written from the
//! OpenMetrics 1.0 specification (`tests/openmetrics_spec/cases.txt`, the test
//! `openmetrics_spec_corpus`) and with `shouldParse` on every case of the upstream
//! OpenMetrics parser suite (the test `openmetrics_parser_suite`, 211 cases); its rules are
//! those of the OpenMetrics ABNF plus the specification's semantic rules:
//!
//! - lines end in `\n`, none is blank, and the last is `# EOF` (its own `\n` optional);
//! - `#` starts only `# HELP`, `# TYPE`, `# UNIT` and `# EOF`; each at most once per
//!   family, all before the family's first sample;
//! - a family's samples are contiguous, and no name a family claims (`x`, `x_total`,
//!   `x_created`, `x_bucket`, ...) is claimed by another family;
//! - tokens are separated by exactly one space; values are `[+-]digits[.digits][e[+-]digits]`
//!   or `[+-]Inf`/`Infinity`/`NaN` (any case), a float within the range of `f64`;
//!   timestamps are finite numbers and never go backwards within a series;
//! - counter-like samples (`_total`, `_count`, `_sum`, `_bucket`, `_gcount`) are never
//!   negative or NaN; a `_created` belongs to a series with a `_total` (counter) or buckets
//!   (histogram); histograms have a `+Inf` bucket, increasing `le` and cumulative integer
//!   counts, `_count` equal to the `+Inf` bucket, `_sum` only with `_count` and only
//!   without negative buckets, and `le` only on `_bucket`; summaries have a `quantile` in
//!   `[0, 1]` only on their quantile samples and an integer `_count`; `le` and `quantile`
//!   are numbers, infinite only as `+Inf`/`-Inf`; statesets are 0 or 1, infos 1;
//! - exemplars only on counter `_total` and histogram `_bucket` samples, with at most 128
//!   characters of label names and values, and on a bucket a value within its bound;
//! - escapes in label values and help: `\\`, `\"`, `\n`; a backslash before any other
//!   character is kept as written (the suite's `escaping` and `help_escaping` cases
//!   require accepting `\z` and `\f`).
//!
//! Prometheus 0.0.4 ([the exposition format](https://prometheus.io/docs/instrumenting/exposition_formats/))
//! is read with its own rules: blanks and tabs between tokens, blank lines and other `#`
//! comments ignored, the types `counter`, `gauge`, `histogram`, `summary`, `untyped`, help
//! escapes `\\` and `\n` only, label values `\\`, `\"` and `\n` only, a trailing comma in a
//! label set allowed, timestamps integers of milliseconds, no `# EOF`, no `# UNIT`, no
//! exemplars. Where the 0.0.4 text leaves a choice, this reader is strict: every line,
//! the last included, ends in `\n`; families are contiguous; `TYPE` comes before the
//! family's samples.

use std::collections::HashSet;
use std::fmt;

use crate::model::Number;

/// Which text format to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Prometheus text, version 0.0.4.
    Prometheus,
    /// OpenMetrics text, version 1.0.0.
    OpenMetrics,
}

impl Dialect {
    fn name(self) -> &'static str {
        match self {
            Dialect::Prometheus => "Prometheus 0.0.4",
            Dialect::OpenMetrics => "OpenMetrics 1.0",
        }
    }
}

/// The type a `# TYPE` line gives a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextType {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `histogram`
    Histogram,
    /// `gaugehistogram` (OpenMetrics only)
    GaugeHistogram,
    /// `stateset` (OpenMetrics only)
    StateSet,
    /// `info` (OpenMetrics only)
    Info,
    /// `summary`
    Summary,
    /// `unknown` (OpenMetrics), `untyped` (0.0.4), or no `# TYPE` line at all.
    Unknown,
}

impl TextType {
    fn parse(s: &str, dialect: Dialect) -> Option<Self> {
        Some(match (s, dialect) {
            ("counter", _) => TextType::Counter,
            ("gauge", _) => TextType::Gauge,
            ("histogram", _) => TextType::Histogram,
            ("summary", _) => TextType::Summary,
            ("gaugehistogram", Dialect::OpenMetrics) => TextType::GaugeHistogram,
            ("stateset", Dialect::OpenMetrics) => TextType::StateSet,
            ("info", Dialect::OpenMetrics) => TextType::Info,
            ("unknown", Dialect::OpenMetrics) => TextType::Unknown,
            ("untyped", Dialect::Prometheus) => TextType::Unknown,
            _ => return None,
        })
    }

    /// The suffixes a family of this type claims, `""` (the name itself) first.
    fn suffixes(self, dialect: Dialect) -> &'static [&'static str] {
        match (self, dialect) {
            (TextType::Counter, Dialect::OpenMetrics) => &["", "_total", "_created"],
            (TextType::Counter, Dialect::Prometheus) => &[""],
            (TextType::Histogram, Dialect::OpenMetrics) => {
                &["", "_bucket", "_count", "_sum", "_created"]
            }
            (TextType::Histogram, Dialect::Prometheus) => &["", "_bucket", "_count", "_sum"],
            (TextType::GaugeHistogram, _) => &["", "_bucket", "_gcount", "_gsum"],
            (TextType::Summary, Dialect::OpenMetrics) => &["", "_count", "_sum", "_created"],
            (TextType::Summary, Dialect::Prometheus) => &["", "_count", "_sum"],
            (TextType::Info, _) => &["", "_info"],
            (TextType::Gauge | TextType::StateSet | TextType::Unknown, _) => &[""],
        }
    }

    /// The sample names a family of this type holds: its suffixes, without the bare name
    /// where the type has no sample of that name.
    fn sample_suffixes(self, dialect: Dialect) -> &'static [&'static str] {
        match (self, dialect) {
            (TextType::Counter, Dialect::OpenMetrics) => &["_total", "_created"],
            (TextType::Histogram, Dialect::OpenMetrics) => {
                &["_bucket", "_count", "_sum", "_created"]
            }
            (TextType::Histogram, Dialect::Prometheus) => &["_bucket", "_count", "_sum"],
            (TextType::GaugeHistogram, _) => &["_bucket", "_gcount", "_gsum"],
            (TextType::Info, _) => &["_info"],
            (t, d) => t.suffixes(d),
        }
    }
}

/// A number as written, with its exact value where it is an integer.
#[derive(Debug, Clone, PartialEq)]
pub struct TextNumber {
    /// The token as written.
    pub text: String,
    /// Its value.
    pub value: Number,
}

impl TextNumber {
    /// The value as an `f64`.
    pub fn as_f64(&self) -> f64 {
        self.value.as_f64()
    }
}

/// An exemplar after ` # `.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Its labels, as written.
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: TextNumber,
    /// Its timestamp, if any.
    pub timestamp: Option<TextNumber>,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSample {
    /// The sample name (`x_total`, `x_bucket`, ...).
    pub name: String,
    /// Labels in the order written, unescaped.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: TextNumber,
    /// The timestamp, if any: seconds in OpenMetrics, milliseconds in 0.0.4.
    pub timestamp: Option<TextNumber>,
    /// The exemplar, if any (OpenMetrics only).
    pub exemplar: Option<Exemplar>,
    /// The 1-based line number.
    pub line: usize,
}

impl TextSample {
    /// The value of one label.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One family: its metadata and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFamily {
    /// The name on its metadata lines (or of its sample, for a family without metadata).
    pub name: String,
    /// Its type; [`TextType::Unknown`] without a `# TYPE` line.
    pub kind: TextType,
    /// Whether a `# TYPE` line was given.
    pub typed: bool,
    /// The help text, unescaped.
    pub help: Option<String>,
    /// The unit (OpenMetrics only).
    pub unit: Option<String>,
    /// The samples, in order.
    pub samples: Vec<TextSample>,
}

/// A whole exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposition {
    /// The format it was read as.
    pub dialect: Dialect,
    /// The families, in order.
    pub families: Vec<TextFamily>,
}

/// Why a text is not a valid exposition: the line and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The format it was read as.
    pub dialect: Dialect,
    /// The 1-based line number; 0 for the text as a whole.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "not valid {}: {}", self.dialect.name(), self.message)
        } else {
            write!(
                f,
                "not valid {}: line {}: {}",
                self.dialect.name(),
                self.line,
                self.message
            )
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses `bytes` as `dialect`.
///
/// ```
/// use prism_conformance::text::{parse, Dialect, TextType};
///
/// let text = b"# TYPE jobs counter\n# HELP jobs Jobs run.\njobs_total 3\njobs_created 1.5\n# EOF\n";
/// let exposition = parse(text, Dialect::OpenMetrics)?;
/// let jobs = &exposition.families[0];
/// assert_eq!((jobs.name.as_str(), jobs.kind), ("jobs", TextType::Counter));
/// assert_eq!(jobs.samples[0].value.text, "3");
///
/// // A blank line, a missing `# EOF`, a negative counter: each is an error with its line.
/// let err = parse(b"# TYPE a counter\na_total -1\n# EOF\n", Dialect::OpenMetrics).unwrap_err();
/// assert_eq!(err.line, 2);
/// assert!(parse(b"a 1\n", Dialect::OpenMetrics).is_err());
/// assert!(parse(b"a 1\n", Dialect::Prometheus).is_ok());
/// # Ok::<(), prism_conformance::text::ParseError>(())
/// ```
pub fn parse(bytes: &[u8], dialect: Dialect) -> Result<Exposition, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError {
        dialect,
        line: 0,
        message: format!("not UTF-8 ({e})"),
    })?;
    Parser::new(dialect).run(text)
}

struct Parser {
    dialect: Dialect,
    families: Vec<TextFamily>,
    current: Option<Current>,
    /// Every name a finished family claimed.
    claimed: HashSet<String>,
}

/// The family being read, with what its checks need.
struct Current {
    family: TextFamily,
    /// Sample names it accepts.
    allowed: Vec<String>,
    group: Option<Vec<(String, String)>>,
    group_timestamp: Option<f64>,
    seen_groups: HashSet<Vec<(String, String)>>,
}

impl Parser {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            families: Vec::new(),
            current: None,
            claimed: HashSet::new(),
        }
    }

    fn err(&self, line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            dialect: self.dialect,
            line,
            message: message.into(),
        }
    }

    fn run(mut self, text: &str) -> Result<Exposition, ParseError> {
        let om = self.dialect == Dialect::OpenMetrics;
        let mut lines: Vec<&str> = text.split('\n').collect();
        // `split` leaves "" after a final newline; without one the last line is unterminated.
        let terminated = lines.last() == Some(&"");
        if terminated {
            lines.pop();
        } else if !om {
            return Err(self.err(lines.len(), "the last line does not end in a newline"));
        }
        let mut eof = false;
        for (i, line) in lines.iter().enumerate() {
            let n = i + 1;
            if om {
                if eof {
                    return Err(self.err(n, "text after `# EOF`"));
                }
                if line.is_empty() {
                    return Err(self.err(n, "blank line"));
                }
                if *line == "# EOF" {
                    eof = true;
                } else if line.starts_with('#') {
                    self.metadata_om(line, n)?;
                } else {
                    self.sample_line(line, n)?;
                }
            } else {
                // Blanks before and after a line are ignored, except that a HELP text keeps
                // its trailing blanks (as client_golang's parser reads it: to the newline).
                let trimmed = line.trim_start_matches([' ', '\t']);
                if trimmed.trim_end_matches([' ', '\t']).is_empty() {
                    continue;
                }
                if let Some(comment) = trimmed.strip_prefix('#') {
                    self.comment_004(comment, n)?;
                } else {
                    self.sample_line(trimmed.trim_end_matches([' ', '\t']), n)?;
                }
            }
        }
        if om && !eof {
            return Err(self.err(0, "no `# EOF` at the end"));
        }
        self.finish()?;
        Ok(Exposition {
            dialect: self.dialect,
            families: self.families,
        })
    }

    /// An OpenMetrics `#` line: `# HELP|TYPE|UNIT name rest`, single spaces.
    fn metadata_om(&mut self, line: &str, n: usize) -> Result<(), ParseError> {
        let rest = line.strip_prefix("# ").ok_or_else(|| {
            self.err(
                n,
                "a `#` line must be `# HELP`, `# TYPE`, `# UNIT` or `# EOF`",
            )
        })?;
        let mut parts = rest.splitn(3, ' ');
        let keyword = parts.next().unwrap_or("");
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
            return Err(self.err(
                n,
                format!("`# {keyword}` needs a name and a value, each after one space"),
            ));
        };
        match keyword {
            "HELP" | "TYPE" | "UNIT" => {}
            other => return Err(self.err(n, format!("unknown metadata `# {other}`"))),
        }
        self.metadata(keyword, name, value, n)
    }

    /// A 0.0.4 `#` line: `# HELP` and `# TYPE` are metadata, anything else a comment.
    fn comment_004(&mut self, comment: &str, n: usize) -> Result<(), ParseError> {
        let mut tokens = comment.trim_start_matches([' ', '\t']);
        if !tokens.starts_with("HELP") && !tokens.starts_with("TYPE") {
            return Ok(());
        }
        let keyword_end = tokens.find([' ', '\t']).unwrap_or(tokens.len());
        let keyword = &tokens[..keyword_end];
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        tokens = tokens[keyword_end..].trim_start_matches([' ', '\t']);
        let name_end = tokens.find([' ', '\t']).unwrap_or(tokens.len());
        let name = &tokens[..name_end];
        // The help text starts after the blanks that follow the name, so leading blanks of
        // a help text cannot be written in 0.0.4 (see `Carries::help_leading_blanks`).
        let mut value = tokens[name_end..].trim_start_matches([' ', '\t']);
        if keyword == "TYPE" {
            value = value.trim_end_matches([' ', '\t']);
        }
        if name.is_empty() {
            return Err(self.err(n, format!("`# {keyword}` without a metric name")));
        }
        if keyword == "TYPE" && value.is_empty() {
            return Err(self.err(n, "`# TYPE` without a type"));
        }
        self.metadata(keyword, name, value, n)
    }

    fn metadata(
        &mut self,
        keyword: &str,
        name: &str,
        value: &str,
        n: usize,
    ) -> Result<(), ParseError> {
        if !is_metric_name(name) {
            return Err(self.err(n, format!("invalid metric name {name:?}")));
        }
        let same = self.current.as_ref().is_some_and(|c| c.family.name == name);
        if same {
            let has_samples = self
                .current
                .as_ref()
                .is_some_and(|c| !c.family.samples.is_empty());
            // 0.0.4 allows HELP anywhere in its family; TYPE must precede the samples.
            if has_samples && (self.dialect == Dialect::OpenMetrics || keyword == "TYPE") {
                return Err(self.err(n, format!("`# {keyword}` after samples of {name:?}")));
            }
        } else {
            self.finish()?;
            self.current = Some(Current::new(name, TextType::Unknown, false, self.dialect));
        }
        let dialect = self.dialect;
        let current = self.current.as_mut().expect("set above");
        match keyword {
            "HELP" => {
                if current.family.help.is_some() {
                    return Err(self.err(n, format!("a second `# HELP` for {name:?}")));
                }
                let help = unescape(value, Escapes::help(dialect)).map_err(|m| ParseError {
                    dialect,
                    line: n,
                    message: format!("help text: {m}"),
                })?;
                current.family.help = Some(help);
            }
            "TYPE" => {
                if current.family.typed {
                    return Err(self.err(n, format!("a second `# TYPE` for {name:?}")));
                }
                let kind = TextType::parse(value, dialect).ok_or_else(|| ParseError {
                    dialect,
                    line: n,
                    message: format!("unknown type {value:?}"),
                })?;
                current.family.kind = kind;
                current.family.typed = true;
                current.allowed = allowed_names(name, kind, dialect);
            }
            _ => {
                if current.family.unit.is_some() {
                    return Err(self.err(n, format!("a second `# UNIT` for {name:?}")));
                }
                if !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
                {
                    return Err(self.err(n, format!("invalid unit {value:?}")));
                }
                current.family.unit = Some(value.to_owned());
            }
        }
        Ok(())
    }

    fn sample_line(&mut self, line: &str, n: usize) -> Result<(), ParseError> {
        let dialect = self.dialect;
        let sample = Tokens::new(line, dialect, n)
            .sample()
            .map_err(|message| ParseError {
                dialect,
                line: n,
                message,
            })?;
        let belongs = self
            .current
            .as_ref()
            .is_some_and(|c| c.allowed.contains(&sample.name));
        if !belongs {
            self.finish()?;
            self.current = Some(Current::new(
                &sample.name,
                TextType::Unknown,
                false,
                self.dialect,
            ));
        }
        let current = self.current.as_mut().expect("set above");
        current
            .check_sample(&sample, dialect)
            .map_err(|message| ParseError {
                dialect,
                line: n,
                message,
            })?;
        current.family.samples.push(sample);
        Ok(())
    }

    /// Closes the current family: the checks that need all of it.
    fn finish(&mut self) -> Result<(), ParseError> {
        let Some(current) = self.current.take() else {
            return Ok(());
        };
        let family = current.family;
        let line = family.samples.first().map_or(0, |s| s.line);
        for suffix in family.kind.suffixes(self.dialect) {
            let claimed = format!("{}{suffix}", family.name);
            if !self.claimed.insert(claimed.clone()) {
                return Err(self.err(
                    line,
                    format!(
                        "the name {claimed:?} is claimed by two families (a family appears twice, \
                         or its samples are not contiguous)"
                    ),
                ));
            }
        }
        if let Some(unit) = family.unit.as_deref().filter(|u| !u.is_empty()) {
            if !family.name.ends_with(&format!("_{unit}")) {
                return Err(self.err(
                    line,
                    format!(
                        "{:?} has unit {unit:?} but does not end in `_{unit}`",
                        family.name
                    ),
                ));
            }
            if matches!(family.kind, TextType::Info | TextType::StateSet) {
                return Err(self.err(
                    line,
                    format!("{:?}: info and stateset have no unit", family.name),
                ));
            }
        }
        if matches!(family.kind, TextType::Histogram | TextType::GaugeHistogram) {
            check_histogram(&family, self.dialect)
                .map_err(|(line, message)| self.err(line, message))?;
        }
        if self.dialect == Dialect::OpenMetrics {
            check_created_has_value(&family).map_err(|(line, message)| self.err(line, message))?;
        }
        self.families.push(family);
        Ok(())
    }
}

fn allowed_names(name: &str, kind: TextType, dialect: Dialect) -> Vec<String> {
    kind.sample_suffixes(dialect)
        .iter()
        .map(|s| format!("{name}{s}"))
        .collect()
}

impl Current {
    fn new(name: &str, kind: TextType, typed: bool, dialect: Dialect) -> Self {
        Self {
            family: TextFamily {
                name: name.to_owned(),
                kind,
                typed,
                help: None,
                unit: None,
                samples: Vec::new(),
            },
            allowed: allowed_names(name, kind, dialect),
            group: None,
            group_timestamp: None,
            seen_groups: HashSet::new(),
        }
    }

    /// The checks one sample must pass within its family.
    fn check_sample(&mut self, s: &TextSample, dialect: Dialect) -> Result<(), String> {
        let name = self.family.name.as_str();
        let kind = self.family.kind;
        let suffix = &s.name[name.len()..];
        if kind == TextType::StateSet && s.label(name).is_none() {
            return Err(format!("stateset sample without the label {name:?}"));
        }
        let is_bucket =
            matches!(kind, TextType::Histogram | TextType::GaugeHistogram) && suffix == "_bucket";
        if is_bucket {
            let le = s.label("le").ok_or("a `_bucket` sample without `le`")?;
            label_number(le).map_err(|m| format!("le={le:?}: {m}"))?;
        }
        let histogram_like = matches!(kind, TextType::Histogram | TextType::GaugeHistogram);
        let om = dialect == Dialect::OpenMetrics;
        if om && histogram_like && !is_bucket && s.label("le").is_some() {
            return Err(format!(
                "`le` labels only a histogram's `_bucket` samples, not `{suffix}` (a histogram's \
                 labels cannot include `le`)"
            ));
        }
        if om && kind == TextType::Summary && !suffix.is_empty() && s.label("quantile").is_some() {
            return Err(format!(
                "`quantile` labels only a summary's quantile samples, not `{suffix}` (a \
                 summary's labels cannot include `quantile`)"
            ));
        }
        let is_quantile = kind == TextType::Summary && suffix.is_empty();
        if is_quantile {
            let q = s
                .label("quantile")
                .ok_or("a summary sample without `quantile`")?;
            let v = label_number(q).map_err(|m| format!("quantile={q:?}: {m}"))?;
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("quantile={q:?} is outside [0, 1]"));
            }
        }

        // Samples of one series (one group) are contiguous; timestamps never go back.
        let mut group: Vec<(String, String)> = match kind {
            TextType::Info => Vec::new(),
            _ => s
                .labels
                .iter()
                .filter(|(k, _)| {
                    !(is_bucket && k == "le"
                        || is_quantile && k == "quantile"
                        || kind == TextType::StateSet && k == name)
                })
                .cloned()
                .collect(),
        };
        group.sort();
        let timestamp = s.timestamp.as_ref().map(TextNumber::as_f64);
        if self.group.as_ref() == Some(&group) {
            if timestamp.is_some() != self.group_timestamp.is_some() {
                return Err("some samples of a series have a timestamp and some do not".into());
            }
            if let (Some(before), Some(now)) = (self.group_timestamp, timestamp) {
                if now < before && kind != TextType::Info {
                    return Err("timestamps go backwards within a series".into());
                }
            }
        } else if self.seen_groups.contains(&group) {
            return Err("the samples of a series are not contiguous".into());
        }
        self.seen_groups.insert(group.clone());
        self.group = Some(group);
        self.group_timestamp = timestamp;

        let v = s.value.as_f64();
        if kind == TextType::StateSet && v != 0.0 && v != 1.0 {
            return Err("stateset values are 0 or 1".into());
        }
        if kind == TextType::Info && v != 1.0 {
            return Err("info values are 1".into());
        }
        if is_quantile && v < 0.0 {
            return Err("quantile values cannot be negative".into());
        }
        let counter_like = matches!(
            suffix,
            "_total" | "_sum" | "_count" | "_bucket" | "_gcount" | "_gsum"
        ) && kind != TextType::Unknown
            && kind != TextType::Gauge;
        if counter_like && v.is_nan() {
            return Err(format!("`{suffix}` cannot be NaN"));
        }
        if counter_like && suffix != "_gsum" && v < 0.0 {
            return Err(format!("`{suffix}` cannot be negative"));
        }
        if dialect == Dialect::Prometheus && kind == TextType::Counter && v < 0.0 {
            return Err("a counter cannot be negative".into());
        }
        let integral = is_bucket
            || histogram_like && matches!(suffix, "_count" | "_gcount")
            || kind == TextType::Summary && suffix == "_count";
        if om && integral && !(v.is_finite() && v.fract() == 0.0) {
            return Err(format!(
                "`{suffix}` is a count and must be an integer, not {}",
                s.value.text
            ));
        }
        if let Some(exemplar) = &s.exemplar {
            let allowed = (is_bucket) || (kind == TextType::Counter && suffix == "_total");
            if !allowed {
                return Err(
                    "exemplars are allowed only on counter `_total` and histogram `_bucket` samples"
                        .into(),
                );
            }
            if is_bucket {
                // A bucket counts the values up to its bound, so its exemplar is one of them.
                let le = label_number(s.label("le").unwrap_or(""))?;
                if exemplar.value.as_f64() > le {
                    return Err(format!(
                        "exemplar value {} is above its bucket's bound le={le}",
                        exemplar.value.text
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A `_created` sample belongs to a series that has its values: a counter's `_total` (a
/// counter's point "MUST have one value called Total"), a histogram's buckets (its point
/// "MUST contain at least one bucket").
fn check_created_has_value(family: &TextFamily) -> Result<(), (usize, String)> {
    let value_suffix = match family.kind {
        TextType::Counter => "_total",
        TextType::Histogram => "_bucket",
        _ => return Ok(()),
    };
    fn series(s: &TextSample) -> Vec<&(String, String)> {
        let mut labels: Vec<_> = s.labels.iter().filter(|(k, _)| k != "le").collect();
        labels.sort();
        labels
    }
    let name = &family.name;
    let with_values: HashSet<_> = family
        .samples
        .iter()
        .filter(|s| s.name[name.len()..] == *value_suffix)
        .map(series)
        .collect();
    match family
        .samples
        .iter()
        .find(|s| s.name[name.len()..] == *"_created" && !with_values.contains(&series(s)))
    {
        Some(s) => Err((
            s.line,
            format!(
                "`{}` without a `{name}{value_suffix}` for its series",
                s.name
            ),
        )),
        None => Ok(()),
    }
}

/// The checks of a whole histogram or gauge histogram, per series.
fn check_histogram(family: &TextFamily, dialect: Dialect) -> Result<(), (usize, String)> {
    struct State {
        line: usize,
        bucket: Option<f64>,
        value: f64,
        count: Option<f64>,
        has_sum: bool,
        has_gsum: bool,
        negative_buckets: bool,
        negative_gsum: bool,
    }
    let name = &family.name;
    let check = |st: &State| -> Result<(), (usize, String)> {
        let fail = |m: String| Err((st.line, format!("histogram {name:?}: {m}")));
        if st.bucket != Some(f64::INFINITY) {
            return fail("no `+Inf` bucket".into());
        }
        if let Some(count) = st.count {
            if count != st.value {
                return fail(format!(
                    "count {count} differs from the `+Inf` bucket {}",
                    st.value
                ));
            }
        }
        if st.has_sum && st.count.is_none() {
            return fail("`_sum` without `_count`".into());
        }
        if st.has_gsum && st.count.is_none() {
            return fail("`_gsum` without `_gcount`".into());
        }
        if !(st.has_sum || st.has_gsum) && st.count.is_some() {
            return fail("a count without a sum".into());
        }
        if st.negative_buckets && st.has_sum {
            return fail("`_sum` with negative buckets".into());
        }
        if !st.negative_buckets && st.negative_gsum {
            return fail("a negative `_gsum` without negative buckets".into());
        }
        Ok(())
    };
    let mut state: Option<State> = None;
    // A series: its labels without `le`, and its timestamp as written.
    type Series = (Vec<(String, String)>, Option<String>);
    let mut key: Option<Series> = None;
    for s in &family.samples {
        let suffix = &s.name[name.len()..];
        if suffix.is_empty() || suffix == "_created" {
            continue;
        }
        let mut group: Vec<(String, String)> = s
            .labels
            .iter()
            .filter(|(k, _)| !(suffix == "_bucket" && k == "le"))
            .cloned()
            .collect();
        group.sort();
        let this = (group, s.timestamp.as_ref().map(|t| t.text.clone()));
        if key.as_ref() != Some(&this) {
            if let Some(st) = &state {
                check(st)?;
            }
            state = Some(State {
                line: s.line,
                bucket: None,
                value: 0.0,
                count: None,
                has_sum: false,
                has_gsum: false,
                negative_buckets: false,
                negative_gsum: false,
            });
            key = Some(this);
        }
        let st = state.as_mut().expect("set above");
        st.line = s.line;
        let v = s.value.as_f64();
        match suffix {
            "_bucket" => {
                let le = label_number(s.label("le").unwrap_or("")).map_err(|m| (s.line, m))?;
                if le < 0.0 {
                    st.negative_buckets = true;
                }
                if st.bucket.is_some_and(|b| le <= b) {
                    return Err((s.line, format!("histogram {name:?}: buckets out of order")));
                }
                if v < st.value {
                    return Err((
                        s.line,
                        format!("histogram {name:?}: bucket counts decrease"),
                    ));
                }
                st.bucket = Some(le);
                st.value = v;
            }
            "_count" | "_gcount" => st.count = Some(v),
            "_sum" => st.has_sum = true,
            "_gsum" => {
                st.has_gsum = true;
                if v < 0.0 {
                    st.negative_gsum = true;
                }
            }
            _ => {}
        }
    }
    let _ = dialect;
    match &state {
        Some(st) => check(st),
        None => Ok(()),
    }
}

/// A `le` or `quantile` value: a number, not NaN, infinite only as `+Inf` or `-Inf`.
fn label_number(s: &str) -> Result<f64, String> {
    let n = parse_number(s).ok_or_else(|| "not a number".to_owned())?;
    let v = n.as_f64();
    if v.is_nan() {
        return Err("NaN is not a bound".into());
    }
    if v.is_infinite() && s != "+Inf" && s != "-Inf" {
        return Err("infinity is written `+Inf` or `-Inf`".into());
    }
    Ok(v)
}

/// Whether `s` matches `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// Whether `s` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses a number as both text formats write one: `realnumber` of the OpenMetrics ABNF
/// (`[+-]` digits, optional `.` fraction, optional `e[+-]digits`, at least one digit
/// before the exponent), or `[+-]inf`, `[+-]infinity`, `nan` in any case. No `_`, no hex,
/// no blanks, and no float beyond the range of `f64` (`1e400`; a float that underflows
/// reads as 0).
///
/// ```
/// use prism_conformance::{text::parse_number, Number};
/// assert_eq!(parse_number("18446744073709551615"), Some(Number::Int(u64::MAX as i128)));
/// assert_eq!(parse_number("-1.5e3"), Some(Number::Float(-1500.0)));
/// assert_eq!(parse_number("+Inf"), Some(Number::Float(f64::INFINITY)));
/// assert!(parse_number("0x1p-3").is_none() && parse_number("1_0").is_none());
/// ```
pub fn parse_number(s: &str) -> Option<Number> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = unsigned.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(Number::Float(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }));
    }
    if lower == "nan" {
        // The ABNF gives NaN no sign.
        return (unsigned.len() == s.len()).then_some(Number::Float(f64::NAN));
    }
    let b = unsigned.as_bytes();
    let mut i = 0;
    let int_digits = count_digits(&b[i..]);
    i += int_digits;
    let mut frac_digits = 0;
    let mut has_dot = false;
    if b.get(i) == Some(&b'.') {
        has_dot = true;
        i += 1;
        frac_digits = count_digits(&b[i..]);
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    let mut has_exp = false;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        has_exp = true;
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = count_digits(&b[i..]);
        if exp_digits == 0 {
            return None;
        }
        i += exp_digits;
    }
    if i != b.len() {
        return None;
    }
    if !has_dot && !has_exp {
        if let Ok(v) = s.parse::<i128>() {
            return Some(Number::Int(v));
        }
    }
    let v = s.parse::<f64>().ok()?;
    // "Floating point numbers MUST fit within the range of a 64-bit floating point value":
    // a float written out of range (`1e400`) is refused, not read as infinity.
    if v.is_infinite() && (has_dot || has_exp) {
        return None;
    }
    Some(Number::Float(v))
}

fn count_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Which escapes a context allows.
#[derive(Clone, Copy)]
struct Escapes {
    quote: bool,
    /// Whether an unknown escape is kept as written rather than refused.
    keep_unknown: bool,
}

impl Escapes {
    fn help(dialect: Dialect) -> Self {
        match dialect {
            Dialect::OpenMetrics => Escapes {
                quote: true,
                keep_unknown: true,
            },
            Dialect::Prometheus => Escapes {
                quote: false,
                keep_unknown: false,
            },
        }
    }

    fn label(dialect: Dialect) -> Self {
        Escapes {
            quote: true,
            keep_unknown: dialect == Dialect::OpenMetrics,
        }
    }
}

fn unescape(s: &str, escapes: Escapes) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if escapes.quote => out.push('"'),
            Some(other) if escapes.keep_unknown => {
                out.push('\\');
                out.push(other);
            }
            Some(other) => return Err(format!("unknown escape `\\{other}`")),
            None => return Err("a backslash at the end".into()),
        }
    }
    Ok(out)
}

/// A cursor over one sample line.
struct Tokens<'a> {
    s: &'a str,
    pos: usize,
    dialect: Dialect,
    line: usize,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a str, dialect: Dialect, line: usize) -> Self {
        Self {
            s,
            pos: 0,
            dialect,
            line,
        }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn om(&self) -> bool {
        self.dialect == Dialect::OpenMetrics
    }

    /// Skips blanks and tabs (0.0.4 only: OpenMetrics has no optional blanks).
    fn blanks(&mut self) {
        if !self.om() {
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.pos += 1;
            }
        }
    }

    /// One separator: a single space in OpenMetrics, one or more blanks or tabs in 0.0.4.
    fn separator(&mut self, before: &str) -> Result<(), String> {
        match self.peek() {
            Some(b' ') => {
                self.pos += 1;
                self.blanks();
                Ok(())
            }
            Some(b'\t') if !self.om() => {
                self.blanks();
                Ok(())
            }
            _ => Err(format!("expected a space before {before}")),
        }
    }

    fn name(&mut self, label: bool) -> Result<&'a str, String> {
        let rest = self.rest();
        let end = rest
            .bytes()
            .position(|c| !(c.is_ascii_alphanumeric() || c == b'_' || (c == b':' && !label)))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        let ok = if label {
            is_label_name(name)
        } else {
            is_metric_name(name)
        };
        if !ok {
            let what = if label { "label name" } else { "metric name" };
            let shown: String = rest.chars().take(20).collect();
            return Err(format!("expected a {what} at {shown:?}"));
        }
        self.pos += end;
        Ok(name)
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {what}"))
        }
    }

    fn labels(&mut self) -> Result<Vec<(String, String)>, String> {
        self.expect(b'{', "`{`")?;
        let mut labels: Vec<(String, String)> = Vec::new();
        self.blanks();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(labels);
        }
        loop {
            self.blanks();
            if !self.om() && self.peek() == Some(b'}') && !labels.is_empty() {
                // 0.0.4 allows a trailing comma.
                self.pos += 1;
                return Ok(labels);
            }
            let name = self.name(true)?;
            self.blanks();
            self.expect(b'=', "`=` after a label name")?;
            self.blanks();
            self.expect(b'"', "`\"` to open a label value")?;
            let start = self.pos;
            let bytes = self.s.as_bytes();
            loop {
                match bytes.get(self.pos) {
                    None => return Err("an unterminated label value".into()),
                    Some(b'\\') => self.pos += 2,
                    Some(b'"') => break,
                    Some(_) => self.pos += 1,
                }
            }
            if self.pos > self.s.len() {
                return Err("an unterminated label value".into());
            }
            let raw = &self.s[start..self.pos];
            self.pos += 1;
            let value = unescape(raw, Escapes::label(self.dialect))
                .map_err(|m| format!("label {name:?}: {m}"))?;
            if labels.iter().any(|(k, _)| k == name) {
                return Err(format!("label {name:?} given twice"));
            }
            labels.push((name.to_owned(), value));
            self.blanks();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(labels);
                }
                _ => return Err("expected `,` or `}` after a label value".into()),
            }
        }
    }

    /// A token up to the next space (or tab, in 0.0.4) or the end.
    fn token(&mut self) -> &'a str {
        let rest = self.rest();
        let om = self.om();
        let end = rest
            .bytes()
            .position(|c| c == b' ' || (!om && c == b'\t'))
            .unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn number(&mut self, what: &str) -> Result<TextNumber, String> {
        let token = self.token();
        let value = parse_number(token).ok_or_else(|| format!("invalid {what} {token:?}"))?;
        Ok(TextNumber {
            text: token.to_owned(),
            value,
        })
    }

    fn timestamp(&mut self) -> Result<TextNumber, String> {
        let token = self.token();
        let value = match self.dialect {
            Dialect::OpenMetrics => parse_number(token).filter(|n| !n.is_non_finite()),
            Dialect::Prometheus => token
                .strip_prefix('-')
                .unwrap_or(token)
                .bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| token.parse::<i64>().ok().map(|v| Number::Int(v.into())))
                .flatten(),
        };
        let value = value.ok_or_else(|| format!("invalid timestamp {token:?}"))?;
        Ok(TextNumber {
            text: token.to_owned(),
            value,
        })
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn sample(mut self) -> Result<TextSample, String> {
        let name = self.name(false)?.to_owned();
        let before_blanks = self.pos;
        self.blanks();
        let labels = if self.peek() == Some(b'{') {
            self.labels()?
        } else {
            self.pos = before_blanks;
            Vec::new()
        };
        self.separator("the value")?;
        let value = self.number("value")?;
        let mut timestamp = None;
        let mut exemplar = None;
        if !self.at_end() {
            self.separator("a timestamp")?;
            if self.om() && self.peek() == Some(b'#') {
                exemplar = Some(self.exemplar()?);
            } else {
                timestamp = Some(self.timestamp()?);
                if !self.at_end() {
                    self.separator("an exemplar")?;
                    if !self.om() {
                        return Err(format!(
                            "unexpected text {:?} after the timestamp",
                            self.rest()
                        ));
                    }
                    exemplar = Some(self.exemplar()?);
                }
            }
        }
        if !self.at_end() {
            return Err(format!("unexpected text {:?}", self.rest()));
        }
        Ok(TextSample {
            name,
            labels,
            value,
            timestamp,
            exemplar,
            line: self.line,
        })
    }

    /// `# {labels} value [timestamp]`, the leading space already read.
    fn exemplar(&mut self) -> Result<Exemplar, String> {
        if !self.rest().starts_with("# ") {
            return Err("an exemplar starts with `# `".into());
        }
        self.pos += 2;
        let labels = self.labels()?;
        let chars: usize = labels
            .iter()
            .map(|(k, v)| k.chars().count() + v.chars().count())
            .sum();
        if chars > 128 {
            return Err(format!(
                "exemplar labels hold {chars} characters, more than 128"
            ));
        }
        self.separator("the exemplar value")?;
        let value = self.number("exemplar value")?;
        let timestamp = if self.at_end() {
            None
        } else {
            self.separator("the exemplar timestamp")?;
            Some(self.timestamp()?)
        };
        if !self.at_end() {
            return Err(format!(
                "unexpected text {:?} after the exemplar",
                self.rest()
            ));
        }
        Ok(Exemplar {
            labels,
            value,
            timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prom(text: &str) -> Result<Exposition, ParseError> {
        parse(text.as_bytes(), Dialect::Prometheus)
    }

    fn om(text: &str) -> Result<Exposition, ParseError> {
        parse(text.as_bytes(), Dialect::OpenMetrics)
    }

    #[test]
    fn prometheus_accepts_its_own_freedoms() {
        let e = prom(
            "# A comment\n\n  # HELP x_total  Help with \\\\ and \\n.  \n# TYPE x_total counter\n\
             x_total{a = \"1\" , b=\"2\",}\t3 1700000000000\n",
        )
        .unwrap();
        let f = &e.families[0];
        assert_eq!(f.help.as_deref(), Some("Help with \\ and \n.  "));
        assert_eq!(f.kind, TextType::Counter);
        assert_eq!(
            f.samples[0].labels,
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(
            f.samples[0].timestamp.as_ref().unwrap().text,
            "1700000000000"
        );
        assert!(prom("").unwrap().families.is_empty());
        assert!(prom("# TYPE x untyped\nx 1\n").is_ok());
    }

    #[test]
    fn prometheus_refuses_what_its_format_forbids() {
        for (text, why) in [
            ("x 1", "newline"),
            ("x_total 1\n# TYPE x_total counter\n", "after samples"),
            ("# TYPE x gauge\n# TYPE x gauge\nx 1\n", "second `# TYPE`"),
            ("# HELP x a\n# HELP x b\nx 1\n", "second `# HELP`"),
            ("# TYPE x info\nx 1\n", "unknown type"),
            ("# TYPE x unknown\nx 1\n", "unknown type"),
            ("x{a=\"\\q\"} 1\n", "unknown escape"),
            ("# HELP x \\\"quoted\\\"\nx 1\n", "unknown escape"),
            ("x 1 1.5\n", "timestamp"),
            ("x 1\ny 1\nx 2\n", "claimed by two families"),
            ("# TYPE x_total counter\nx_total -1\n", "negative"),
            ("x 1 # {a=\"b\"} 1\n", "timestamp"),
            ("# TYPE x summary\nx 1\n", "quantile"),
            ("x{a=\"1\",a=\"2\"} 1\n", "twice"),
            ("# EOF\n", ""),
        ] {
            let result = prom(text);
            if why.is_empty() {
                assert!(result.is_ok(), "{text:?}: a comment in 0.0.4");
                continue;
            }
            let err = result.expect_err(text);
            assert!(err.message.contains(why), "{text:?}: {err}");
        }
    }

    #[test]
    fn openmetrics_errors_name_the_line() {
        let err =
            om("# TYPE a counter\na_total 1\na_total{x=\"1\"} 2\na_total 3\n# EOF\n").unwrap_err();
        assert_eq!(err.line, 4);
        assert!(err.message.contains("not contiguous"), "{err}");
        assert!(err
            .to_string()
            .starts_with("not valid OpenMetrics 1.0: line 4:"));
        let err = om("a 1\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (0, "no `# EOF` at the end")
        );
        assert!(
            om("\u{feff}a 1\n# EOF\n").is_err(),
            "a BOM is no metric name"
        );
        assert!(parse(b"a 1\n\xff\n# EOF\n", Dialect::OpenMetrics).is_err());
    }

    #[test]
    fn openmetrics_keeps_unknown_escapes_as_written() {
        let e = om("a{x=\"\\z\\\\\\\"\\n\"} 1\n# EOF\n").unwrap();
        assert_eq!(e.families[0].samples[0].labels[0].1, "\\z\\\"\n");
    }

    #[test]
    fn numbers_follow_the_grammar() {
        for ok in [
            "0",
            "-0",
            "+1",
            "1.",
            ".5",
            "1e5",
            "1E-5",
            "1.5e+3",
            "007",
            "inf",
            "-Infinity",
            "nan",
            "NaN",
            "1e-400",
        ] {
            assert!(parse_number(ok).is_some(), "{ok}");
        }
        for bad in [
            "", ".", "e5", "1e", "1.2.3", "0x10", "1_000", " 1", "1 ", "+nan", "infinit", "--1",
            "1e400", "-1.0e309",
        ] {
            assert!(parse_number(bad).is_none(), "{bad}");
        }
    }
}
