//! What a check found: a [`Report`] with one [`Column`] per format, and [`check`], which
//! makes one for a registry.

use std::fmt;

use prism_core::Registry;

use crate::compare::{compare, Mismatch, Rules, Source};
use crate::expected::{expected, Unsupported};
use crate::format::Format;
use crate::read::{ReadError, Schema, Unknown};

/// How one format fared.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Read back and equal to the core read.
    Agrees {
        /// The series compared.
        series: usize,
    },
    /// Read back, and different.
    Differs(Vec<Mismatch>),
    /// The bytes could not be read back: prism wrote something its format forbids.
    Unreadable(ReadError),
}

impl Outcome {
    /// Whether the format failed (differs or is unreadable).
    pub fn failed(&self) -> bool {
        matches!(self, Outcome::Differs(_) | Outcome::Unreadable(_))
    }

    /// The short cell of a report row: `ok`, `FAIL(n)`, `UNREADABLE`.
    pub fn cell(&self) -> String {
        match self {
            Outcome::Agrees { .. } => "ok".to_owned(),
            Outcome::Differs(m) => format!("FAIL({})", m.len()),
            Outcome::Unreadable(_) => "UNREADABLE".to_owned(),
        }
    }
}

/// One format's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The format.
    pub format: Format,
    /// How it fared.
    pub outcome: Outcome,
}

/// The result of checking one registry (one scenario) in every format.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The scenario's name, or `registry` for [`check`].
    pub name: String,
    /// A core value this crate cannot map, if any: then no column was compared.
    pub unsupported: Option<Unsupported>,
    /// One column per format, in [`Format::ALL`] order.
    pub columns: Vec<Column>,
}

impl Report {
    /// Whether no format failed and the core read was mapped.
    pub fn is_ok(&self) -> bool {
        self.unsupported.is_none() && !self.columns.iter().any(|c| c.outcome.failed())
    }

    /// The column of one format.
    pub fn column(&self, format: Format) -> Option<&Column> {
        self.columns.iter().find(|c| c.format == format)
    }

    /// Every mismatch, with its format.
    pub fn mismatches(&self) -> impl Iterator<Item = (Format, &Mismatch)> {
        self.columns.iter().flat_map(|c| match &c.outcome {
            Outcome::Differs(m) => m.iter().map(|m| (c.format, m)).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    }

    /// The report as one table row: the name padded to `width`, then a cell per format.
    pub fn row(&self, width: usize) -> String {
        let mut row = format!("{:<width$}", self.name);
        for c in &self.columns {
            let cell = if self.unsupported.is_some() {
                "UNSUPPORTED".to_owned()
            } else {
                c.outcome.cell()
            };
            row.push_str(&format!("  {:<12}", cell));
        }
        row.trim_end().to_owned()
    }

    /// The header matching [`row`](Self::row).
    pub fn header(width: usize) -> String {
        let mut row = format!("{:<width$}", "scenario");
        for f in Format::ALL {
            row.push_str(&format!("  {:<12}", f.name()));
        }
        row.trim_end().to_owned()
    }

    /// The lines explaining every failure, each naming the scenario and the format.
    pub fn details(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(u) = &self.unsupported {
            out.push(format!("{}: {u}", self.name));
        }
        for c in &self.columns {
            match &c.outcome {
                Outcome::Agrees { .. } => {}
                Outcome::Differs(ms) => out.extend(
                    ms.iter()
                        .map(|m| format!("{}: {}: {m}", self.name, c.format)),
                ),
                Outcome::Unreadable(e) => out.push(format!(
                    "{}: {}: prism wrote what its own format forbids: {e}",
                    self.name, c.format
                )),
            }
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.name.len().max(8);
        writeln!(f, "{}", Report::header(width))?;
        writeln!(f, "{}", self.row(width))?;
        for line in self.details() {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// Renders `registry` in every format, reads each back and compares it with the core read.
///
/// The registry is read once for the reference and once per format; run it on a registry
/// nothing is updating (a test's), or counters may have moved between the reads.
///
/// ```
/// use prism_core::{Counter, Family, Registry};
///
/// let registry = Registry::new();
/// registry.register("jobs", "Jobs run.", Family::<Counter>::new(["queue"]))?.get(&["a"]).add(2);
/// let report = prism_conformance::check(&registry);
/// assert!(report.is_ok(), "{report}");
/// # Ok::<(), prism_core::Error>(())
/// ```
pub fn check(registry: &Registry) -> Report {
    check_named("registry", registry)
}

/// [`check`] under a name (a scenario's), which every message carries.
pub fn check_named(name: &str, registry: &Registry) -> Report {
    let snapshot = registry.snapshot();
    let reference = match expected(&snapshot) {
        Ok(samples) => samples,
        Err(unsupported) => {
            return Report {
                name: name.to_owned(),
                unsupported: Some(unsupported),
                columns: Vec::new(),
            }
        }
    };
    let schema = Schema::of_snapshot(&snapshot);
    let columns = Format::ALL
        .into_iter()
        .map(|format| {
            let bytes = format.render(registry);
            let outcome = match format.read(&bytes, &schema, Unknown::Error) {
                Err(e) => Outcome::Unreadable(e),
                Ok(samples) => {
                    let diffs = compare(
                        (&reference, Source::Core),
                        (&samples, Source::Format(format)),
                        Rules::default(),
                    );
                    if diffs.is_empty() {
                        Outcome::Agrees {
                            series: samples.series_count(),
                        }
                    } else {
                        Outcome::Differs(diffs)
                    }
                }
            };
            Column { format, outcome }
        })
        .collect();
    Report {
        name: name.to_owned(),
        unsupported: None,
        columns,
    }
}

/// Panics with the full report unless every format agrees with the core read: the
/// assertion for a user's own tests.
///
/// ```
/// use prism_core::{FloatGauge, Registry};
/// let registry = Registry::new();
/// registry.register("ratio", "A ratio.", FloatGauge::new())?.set(f64::NAN);
/// prism_conformance::assert_conformant(&registry);
/// # Ok::<(), prism_core::Error>(())
/// ```
#[track_caller]
pub fn assert_conformant(registry: &Registry) {
    let report = check(registry);
    assert!(report.is_ok(), "prism's formats disagree:\n{report}");
}
