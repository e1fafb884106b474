//! The `/debug/vars` document: registry families, Go-style variables, `cmdline` and
//! `memstats`, merged into one object with keys in byte order.
//!
//! The registry is read through [`Registry::visit`] alone. Families arrive in name order
//! (byte order, as the registry keeps them), the other entries are sorted beforehand, and
//! the two lists are merged as the visit runs, so nothing but one family's samples is held
//! at a time.

use std::io::{self, Write};
use std::iter::Peekable;
use std::sync::Arc;

use prism_core::{Descriptor, Registry, Sample, Visitor};
use serde_json::ser::Formatter;

use crate::family::FamilyRows;
use crate::format::{self, GoFormatter, Style};
use crate::memstats::{GoMemStats, MemStatsFormat};
use crate::process::{self, Cmdline, MemStats};
use crate::var::Var;

/// A top-level entry that is not a registry family.
#[derive(Clone)]
pub(crate) enum Entry {
    /// A Go-style variable under its key.
    Var(Arc<str>, Var),
    /// `cmdline`.
    Cmdline,
    /// `memstats`, in this format.
    MemStats(MemStatsFormat),
}

impl Entry {
    pub(crate) fn key(&self) -> &str {
        match self {
            Entry::Var(key, _) => key,
            Entry::Cmdline => "cmdline",
            Entry::MemStats(_) => "memstats",
        }
    }
}

/// Writes the document. `entries` must be sorted by key and hold each key once; `owned`
/// says which registry families are rendered by an entry rather than by the visit (the
/// families behind Go-style variables).
pub(crate) fn render<W: ?Sized + Write>(
    w: &mut W,
    registry: &Registry,
    entries: Vec<Entry>,
    owned: &dyn Fn(&str) -> bool,
    cmdline: &Cmdline,
) -> io::Result<()> {
    let mut top = TopLevel {
        w,
        error: None,
        first: true,
        entries: entries.into_iter().peekable(),
        owned,
        cmdline,
        skip: false,
        rows: FamilyRows::default(),
        formatter: GoFormatter::top_level(),
    };
    top.formatter.begin_object(top.w)?;
    registry.visit(&mut top);
    if let Some(e) = top.error.take() {
        return Err(e);
    }
    top.flush_entries(None)?;
    top.formatter.end_object(top.w)
}

struct TopLevel<'a, W: ?Sized> {
    w: &'a mut W,
    /// The first write error; the rest of the visit writes nothing.
    error: Option<io::Error>,
    first: bool,
    entries: Peekable<std::vec::IntoIter<Entry>>,
    owned: &'a dyn Fn(&str) -> bool,
    cmdline: &'a Cmdline,
    /// The current family is not written (owned by a variable, or its key is taken).
    skip: bool,
    rows: FamilyRows,
    formatter: GoFormatter,
}

impl<W: ?Sized + Write> TopLevel<'_, W> {
    fn key(&mut self, key: &str) -> io::Result<()> {
        self.formatter.begin_object_key(self.w, self.first)?;
        self.first = false;
        format::write_str(self.w, key, Style::Expvar)?;
        self.formatter.begin_object_value(self.w)
    }

    /// Writes every entry whose key sorts before `until` (all of them for `None`).
    fn flush_entries(&mut self, until: Option<&str>) -> io::Result<()> {
        while let Some(entry) = self.entries.next_if(|e| match until {
            None => true,
            Some(u) => e.key() < u,
        }) {
            self.key(entry.key())?;
            match &entry {
                Entry::Var(_, var) => var.write_json(self.w, 0)?,
                Entry::Cmdline => process::write_cmdline(self.w, self.cmdline)?,
                Entry::MemStats(MemStatsFormat::Go) => GoMemStats::read().write_json(self.w)?,
                Entry::MemStats(MemStatsFormat::Process) => MemStats::read().write_json(self.w)?,
            }
        }
        Ok(())
    }

    fn record(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }
}

impl<W: ?Sized + Write> Visitor for TopLevel<'_, W> {
    fn family(&mut self, family: &Descriptor) {
        self.rows.clear();
        self.skip = self.error.is_some() || (self.owned)(family.name());
        if self.skip {
            return;
        }
        let result = self.flush_entries(Some(family.name()));
        self.record(result);
        // A variable or `cmdline`/`memstats` under the same key wins: keys stay unique.
        self.skip = self.error.is_some()
            || self
                .entries
                .peek()
                .is_some_and(|e| e.key() == family.name());
    }

    fn sample(&mut self, family: &Descriptor, sample: &Sample<'_>) {
        if !self.skip {
            self.rows.push(family, sample);
        }
    }

    fn end_family(&mut self, family: &Descriptor) {
        if self.skip {
            return;
        }
        let result = self
            .key(family.name())
            .and_then(|()| self.rows.write(self.w, family));
        self.record(result);
    }
}
