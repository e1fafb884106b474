//! Why a Go-style `publish` was refused: [`Error`].

use std::fmt;

/// Why [`Vars::publish`](crate::Vars::publish) (or `new_int`, `new_map`...) refused a
/// variable. Go's expvar panics here; prism returns the error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A variable is already published under this key (`cmdline` and `memstats` are
    /// always taken, as in Go).
    Duplicate {
        /// The key, as given.
        key: String,
    },
    /// The key is new, but its [metric name](crate::metric_name) is the name of a variable
    /// published under another key.
    NameCollision {
        /// The key being published.
        key: String,
        /// The metric name both keys give.
        name: String,
        /// The key published first.
        existing: String,
    },
    /// A family registered directly in the registry already shows this key in the JSON.
    TakenByFamily {
        /// The key, as given.
        key: String,
    },
    /// The registry refused the metric name (it is taken by another family, clashes with
    /// one in some format, or is a counter name ending in `_total`).
    Registry {
        /// The key being published.
        key: String,
        /// The registry's reason.
        source: prism_core::Error,
    },
}

impl Error {
    /// The key the error is about.
    pub fn key(&self) -> &str {
        match self {
            Error::Duplicate { key }
            | Error::NameCollision { key, .. }
            | Error::TakenByFamily { key }
            | Error::Registry { key, .. } => key,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Duplicate { key } => write!(
                f,
                "a variable is already published as {key:?}; keep the first handle (Vars::get \
                 returns it) or publish under another key"
            ),
            Error::NameCollision {
                key,
                name,
                existing,
            } => write!(
                f,
                "{key:?} becomes the metric name {name:?}, which {existing:?} already has \
                 (Prometheus and OTLP names hold only [a-zA-Z0-9_:]); pick a key that differs \
                 in letters, digits, `_` or `:`"
            ),
            Error::TakenByFamily { key } => write!(
                f,
                "the registry already holds a family named {key:?}, which the JSON shows under \
                 that key; publish under another key"
            ),
            Error::Registry { key, source } => {
                write!(f, "publishing {key:?} in the registry failed: {source}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Registry { source, .. } => Some(source),
            _ => None,
        }
    }
}
