//! The one error type of registration and label lookup: [`Error`].

use std::fmt;

use crate::hdr::LayoutError;
use crate::histogram::HistogramError;

/// Why a registration or a label lookup was refused.
///
/// Every message names the offending input and says what to do instead. Library code
/// returns this error where other crates panic (a duplicate name, a bad label name): a
/// process never dies because of a name or a label value.
///
/// Every error a configuration in this crate can give converts into it with `?`: a
/// [`HistogramError`] and a [`LayoutError`] become [`Error::Histogram`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`, starts with the reserved
    /// `__`, is `_` alone, or breaks a suffix rule.
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`, is reserved, or repeats.
    InvalidLabelName {
        /// The family the label was declared on.
        family: String,
        /// The label name as given.
        label: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Help text that cannot be carried by every format.
    InvalidHelp {
        /// The family the help was given for.
        family: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A unit that is not `[a-zA-Z0-9_]+`, or a name that does not end in `_<unit>`.
    InvalidUnit {
        /// The family the unit was given for.
        family: String,
        /// The unit as given.
        unit: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An OpenTelemetry metric name that does not match `[a-zA-Z][a-zA-Z0-9_./-]*` or is
    /// longer than 255 bytes, or whose Prometheus translation would be empty (see
    /// [`otel`](crate::otel)).
    InvalidOtelName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An OpenTelemetry unit that is not printable ASCII or is longer than 63 bytes, or a
    /// Prometheus unit given beside it.
    InvalidOtelUnit {
        /// The family the unit was given for.
        family: String,
        /// The unit as given.
        unit: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An attribute name of a family registered by its OpenTelemetry name that cannot be
    /// carried, or whose Prometheus label name another attribute of the family already has.
    InvalidAttributeName {
        /// The family the attribute was declared on.
        family: String,
        /// The attribute name as given.
        attribute: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A family of this name is already registered.
    AlreadyRegistered {
        /// The name registered twice.
        name: String,
    },
    /// The new family would print a line that an existing family already prints, in at
    /// least one format (`x_total` beside a counter `x`, `x_count` beside a histogram `x`).
    Clash {
        /// The family being registered.
        name: String,
        /// The family already registered.
        existing: String,
        /// The exposed name both would print.
        exposed: String,
    },
    /// `get_or_register` found a family of this name whose kind, type or labels differ.
    Mismatch {
        /// The name looked up.
        name: String,
        /// What differs.
        reason: String,
    },
    /// A cardinality limit of 0, which would refuse every series, or one above
    /// [`MAX_CARDINALITY_LIMIT`](crate::MAX_CARDINALITY_LIMIT).
    #[non_exhaustive]
    InvalidCardinalityLimit {
        /// The family it was given for (empty before registration).
        family: String,
        /// The limit given.
        limit: usize,
    },
    /// An [`expire_after`](crate::FamilyBuilder::expire_after) of zero, which would remove
    /// every series at once, or above [`MAX_EXPIRE_AFTER`](crate::MAX_EXPIRE_AFTER).
    InvalidExpiry {
        /// The family it was given for (empty before registration).
        family: String,
        /// The duration given.
        after: std::time::Duration,
    },
    /// A constant label a [`Scope`](crate::Scope) was asked to add: its name is not a
    /// valid label name or is already a constant label of the scope, or its value cannot be
    /// stored.
    InvalidConstLabel {
        /// The label name as given.
        label: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A label lookup with the wrong number of values.
    LabelCount {
        /// The number of label names the family was built with.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A [`Family`](crate::Family) made typed by a [`LabelSet`](crate::LabelSet) whose
    /// names differ from the family's, in number, spelling or order.
    #[non_exhaustive]
    LabelNames {
        /// The family's label names.
        family: Vec<String>,
        /// The label set's names ([`LabelSet::NAMES`](crate::LabelSet::NAMES)).
        label_set: Vec<String>,
    },
    /// A histogram, summary or window configuration that was refused.
    Histogram(HistogramError),
}

impl From<HistogramError> for Error {
    fn from(e: HistogramError) -> Self {
        Error::Histogram(e)
    }
}

impl From<LayoutError> for Error {
    fn from(e: LayoutError) -> Self {
        Error::Histogram(HistogramError::Layout(e))
    }
}

impl Error {
    /// The family (metric) name the error is about, where there is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Error::InvalidName { name, .. }
            | Error::InvalidOtelName { name, .. }
            | Error::AlreadyRegistered { name }
            | Error::Clash { name, .. }
            | Error::Mismatch { name, .. } => Some(name),
            Error::InvalidLabelName { family, .. }
            | Error::InvalidHelp { family, .. }
            | Error::InvalidUnit { family, .. }
            | Error::InvalidOtelUnit { family, .. }
            | Error::InvalidAttributeName { family, .. }
            | Error::InvalidCardinalityLimit { family, .. }
            | Error::InvalidExpiry { family, .. } => Some(family),
            Error::LabelCount { .. }
            | Error::InvalidConstLabel { .. }
            | Error::LabelNames { .. }
            | Error::Histogram(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidName { name, reason } => write!(
                f,
                "invalid metric name {name:?}: {reason}; names match [a-zA-Z_:][a-zA-Z0-9_:]* \
                 and must not start with `__`"
            ),
            Error::InvalidLabelName {
                family,
                label,
                reason,
            } => write!(
                f,
                "invalid label name {label:?} on {family:?}: {reason}; label names match \
                 [a-zA-Z_][a-zA-Z0-9_]*, are unique in a family and must not start with `__`"
            ),
            Error::InvalidHelp { family, reason } => {
                write!(f, "invalid help text for {family:?}: {reason}")
            }
            Error::InvalidUnit {
                family,
                unit,
                reason,
            } => write!(
                f,
                "invalid unit {unit:?} for {family:?}: {reason}; OpenMetrics wants the name to end \
                 in `_<unit>`, e.g. `request_duration_seconds` with unit `seconds`"
            ),
            Error::InvalidOtelName { name, reason } => write!(
                f,
                "invalid OpenTelemetry metric name {name:?}: {reason}; OpenTelemetry names \
                 start with a letter and hold letters, digits, `_`, `.`, `-` and `/`, e.g. \
                 `http.server.request.duration`"
            ),
            Error::InvalidOtelUnit {
                family,
                unit,
                reason,
            } => write!(
                f,
                "invalid OpenTelemetry unit {unit:?} for {family:?}: {reason}; give a UCUM unit \
                 such as `s`, `By`, `1` or an annotation such as `{{request}}`"
            ),
            Error::InvalidAttributeName {
                family,
                attribute,
                reason,
            } => write!(
                f,
                "invalid attribute name {attribute:?} on {family:?}: {reason}; attribute names \
                 are printable ASCII such as `http.request.method`, unique in a family after \
                 the translation to Prometheus label names (`.` and `-` become `_`)"
            ),
            Error::AlreadyRegistered { name } => write!(
                f,
                "a metric named {name:?} is already registered; keep the handle from the first \
                 registration, or call `get_or_register` to share it (scopes with the same \
                 prefix share names whatever their constant labels: give each its own prefix)"
            ),
            Error::Clash {
                name,
                existing,
                exposed,
            } => write!(
                f,
                "{name:?} would expose {exposed:?}, which {existing:?} already exposes in at \
                 least one format; pick a name that differs by more than a suffix"
            ),
            Error::Mismatch { name, reason } => write!(
                f,
                "{name:?} is already registered differently ({reason}); use another name, or \
                 register it the same way everywhere"
            ),
            Error::InvalidCardinalityLimit { family, limit: 0 } => write!(
                f,
                "cardinality limit 0 for {family:?} would refuse every series; give a limit of at \
                 least 1 (the default is {})",
                crate::family::DEFAULT_CARDINALITY_LIMIT
            ),
            Error::InvalidCardinalityLimit { family, limit } => write!(
                f,
                "cardinality limit {limit} for {family:?} is above the most a family holds ({}); \
                 split the family by a label with few values, or drop the label whose values \
                 explode",
                crate::family::MAX_CARDINALITY_LIMIT
            ),
            Error::InvalidExpiry { family, after } if after.is_zero() => write!(
                f,
                "expire_after of zero for {family:?} would remove every series as soon as a read \
                 saw it; give the time a series may stay unchanged, longer than the interval \
                 between reads (scrapes)"
            ),
            Error::InvalidExpiry { family, after } => write!(
                f,
                "expire_after of {after:?} for {family:?} is above the most a family accepts \
                 ({:?}); remove such series by hand with `Family::remove`",
                crate::MAX_EXPIRE_AFTER
            ),
            Error::InvalidConstLabel { label, reason } => write!(
                f,
                "invalid constant label {label:?} for a scope: {reason}; label names match \
                 [a-zA-Z_][a-zA-Z0-9_]* and must not start with `__`"
            ),
            Error::LabelCount { expected, got } => write!(
                f,
                "{got} label values given to a family with {expected} label names; pass one value \
                 per label name, in the order the names were declared"
            ),
            Error::LabelNames { family, label_set } => write!(
                f,
                "the label set's names {label_set:?} are not the family's label names \
                 {family:?}; build the family from the label set's names \
                 (`Family::builder(L::NAMES.iter().copied())` or `TypedFamily::new()`), or \
                 rename the label set's fields with #[prism(rename = \"...\")]"
            ),
            Error::Histogram(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Histogram(e) => Some(e),
            _ => None,
        }
    }
}
