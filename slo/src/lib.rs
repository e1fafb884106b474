//! Interval reports, SLO error budgets and multiwindow burn-rate alerts over prism counters:
//! computed in the process and exposed as ordinary prism metrics, and rendered as the
//! equivalent Prometheus recording and alerting rules.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod duration;
mod error;
mod reporter;
mod source;
mod ticker;

pub use error::Error;
pub use reporter::{IntervalReporter, Report};
pub use source::{Delta, Matcher, Source};
pub use ticker::{Tick, Ticker};
