//! [`Error`]: what building an SLO, a watch, a source or a rules file can refuse.

use std::fmt;

/// What prism-slo refuses, each with what to do instead.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The objective is not strictly between 0 and 1.
    Objective {
        /// The objective given.
        objective: f64,
    },
    /// A window or period of zero length.
    ZeroWindow {
        /// Which setting.
        what: &'static str,
    },
    /// A burn-rate alert's short window is not shorter than its long window, or its factor
    /// is not a positive finite number.
    AlertRule {
        /// The severity the rule belongs to.
        severity: String,
    },
    /// A name that is not a valid metric or label value for the rules (empty, or holding
    /// characters outside `[a-zA-Z0-9_:-]`).
    Name {
        /// The name given.
        name: String,
    },
    /// A matcher names a label the family does not have.
    UnknownLabel {
        /// The family.
        family: String,
        /// The label.
        label: String,
    },
    /// A family selected as a source does not hold counters.
    NotACounter {
        /// The family.
        family: String,
    },
    /// The registry refused a name (a source's, or one of the SLO metrics').
    Registry {
        /// The name.
        name: String,
        /// What the registry said.
        source: prism_core::Error,
    },
    /// Writing the rules file failed.
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

impl Error {
    /// The name, family or severity the error is about, where it has one.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Error::Name { name } | Error::Registry { name, .. } => Some(name),
            Error::UnknownLabel { family, .. } | Error::NotACounter { family } => Some(family),
            Error::AlertRule { severity } => Some(severity),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Objective { objective } => write!(
                f,
                "SLO objective {objective} is not between 0 and 1: give the target ratio of good \
                 events, e.g. 0.999 for 99.9 %"
            ),
            Error::ZeroWindow { what } => {
                write!(f, "the {what} is zero: give a positive duration")
            }
            Error::AlertRule { severity } => write!(
                f,
                "burn-rate alert of severity `{severity}`: the factor must be positive and finite \
                 and the short window shorter than the long one (e.g. 14.4 over 1h and 5m)"
            ),
            Error::Name { name } => write!(
                f,
                "`{name}` cannot name an SLO or watch: use letters, digits, `_`, `:` or `-`"
            ),
            Error::UnknownLabel { family, label } => write!(
                f,
                "family `{family}` has no label `{label}`: match on one of its label names"
            ),
            Error::NotACounter { family } => write!(
                f,
                "family `{family}` does not hold counters: an SLO counts events, select a counter \
                 family"
            ),
            Error::Registry { name, source } => write!(f, "registering `{name}`: {source}"),
            Error::Io { path, source } => {
                write!(f, "writing rules to {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Registry { source, .. } => Some(source),
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Checks a name used as an SLO's or a watch's label value and in alert names.
pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::Name {
            name: name.to_owned(),
        })
    }
}
