//! [`Refusal`]: why the recorder refused a key, a description or a value, and the
//! `prism_metrics_refused{reason}` family that counts each one.

use prism_core::{Counter, Error, Family, Registry};

/// The counter family the recorder registers in its registry: one series per [`Refusal`].
pub const REFUSED_FAMILY: &str = "prism_metrics_refused";

/// Why the recorder refused something. Each reason is a series of
/// `prism_metrics_refused{reason="..."}` ([`REFUSED_FAMILY`]), counted once per refused
/// `register_*` call (once per macro call that does not hold its handle), description or
/// histogram value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// The metric name is not a prism name even after the mapping rule (empty, `_` alone,
    /// a counter named `_total`...). The call gets a handle that records nothing.
    InvalidName,
    /// A label name is not a prism label name even after the mapping rule (empty,
    /// `otel_metric_overflow`, `le` on a histogram). The call gets a no-op handle.
    InvalidLabelName,
    /// Two names map to one prism name (`http.requests` and `http_requests`; a counter
    /// `x_total` and a counter `x`), two label names of one key map to one, or the name
    /// clashes with a family registered in the registry by other code. The first to
    /// register keeps the name; the others get no-op handles.
    Collision,
    /// The metric name is used with another set of label names than the first call used.
    /// Label order does not matter; the set does. The call gets a no-op handle.
    LabelNames,
    /// The metric name is used as another kind (a gauge `x` after a counter `x`).
    Kind,
    /// A description arrived after the metric's first use: a registered family's help and
    /// unit are fixed, so it is not applied. Describe metrics before using them.
    LateDescription,
    /// A description's unit is not the suffix of the metric name (`Seconds` for
    /// `request_latency`): the family is registered without the unit. Name the metric
    /// `request_latency_seconds` to keep it.
    UnitNotInName,
    /// A description holds NUL or is over 64 KiB: the family is registered with empty help.
    InvalidHelp,
    /// A histogram value that is negative, NaN or infinite: not recorded.
    HistogramValue,
    /// A new metric name past the recorder's
    /// [`max_names`](crate::PrismRecorderBuilder::max_names). The call gets a no-op handle.
    TooManyNames,
}

impl Refusal {
    /// Every reason, in the order of the series.
    pub const ALL: [Refusal; 10] = [
        Refusal::InvalidName,
        Refusal::InvalidLabelName,
        Refusal::Collision,
        Refusal::LabelNames,
        Refusal::Kind,
        Refusal::LateDescription,
        Refusal::UnitNotInName,
        Refusal::InvalidHelp,
        Refusal::HistogramValue,
        Refusal::TooManyNames,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::InvalidName => "invalid_name",
            Refusal::InvalidLabelName => "invalid_label_name",
            Refusal::Collision => "collision",
            Refusal::LabelNames => "label_names",
            Refusal::Kind => "kind",
            Refusal::LateDescription => "late_description",
            Refusal::UnitNotInName => "unit_not_in_name",
            Refusal::InvalidHelp => "invalid_help",
            Refusal::HistogramValue => "histogram_value",
            Refusal::TooManyNames => "too_many_names",
        }
    }

    /// The reason a registration error means.
    pub(crate) fn of(error: &Error) -> Refusal {
        match error {
            Error::InvalidLabelName { .. } => Refusal::InvalidLabelName,
            Error::AlreadyRegistered { .. } | Error::Clash { .. } | Error::Mismatch { .. } => {
                Refusal::Collision
            }
            Error::InvalidHelp { .. } => Refusal::InvalidHelp,
            Error::InvalidUnit { .. } => Refusal::UnitNotInName,
            _ => Refusal::InvalidName,
        }
    }
}

/// The counters of every reason, each held so that counting is one atomic add.
pub(crate) struct Refusals {
    counters: [Counter; Refusal::ALL.len()],
}

impl Refusals {
    /// Registers [`REFUSED_FAMILY`] in `registry`, or shares the one another recorder
    /// registered there.
    pub(crate) fn register(registry: &Registry) -> Result<Self, Error> {
        let family = registry.get_or_register(
            REFUSED_FAMILY,
            "Keys, descriptions and values the metrics facade recorder refused, by reason.",
            || Family::<Counter>::new(["reason"]),
        )?;
        Ok(Self {
            counters: Refusal::ALL.map(|r| family.get(&[r.as_str()])),
        })
    }

    pub(crate) fn counter(&self, reason: Refusal) -> &Counter {
        let i = Refusal::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or_default();
        &self.counters[i]
    }

    pub(crate) fn count(&self, reason: Refusal) {
        self.counter(reason).inc();
    }
}
