//! [`Error`]: why [`serve()`](crate::serve()) did not serve.

use std::fmt;

/// Why a server did not start. Once started, a server does not fail: accept errors are
/// retried (see [`serve()`](crate::serve())) and a failing connection ends alone.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A [`Config`](crate::Config) setting is out of range; nothing was served.
    #[non_exhaustive]
    Config {
        /// The setting, as its [`Config`](crate::Config) method is named.
        setting: &'static str,
        /// What is wrong with it and what to give instead.
        problem: String,
    },
}

impl Error {
    pub(crate) fn config(setting: &'static str, problem: String) -> Self {
        Error::Config { setting, problem }
    }

    /// The [`Config`](crate::Config) setting at fault, if a setting is.
    pub fn setting(&self) -> Option<&'static str> {
        match self {
            Error::Config { setting, .. } => Some(setting),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { setting, problem } => {
                write!(f, "prism-http: Config::{setting} {problem}")
            }
        }
    }
}

impl std::error::Error for Error {}
