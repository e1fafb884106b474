//! Interval reports, SLO error budgets and multiwindow burn-rate alerts over prism counters:
//! computed in the process and exposed as ordinary prism metrics, and rendered as the
//! equivalent Prometheus recording and alerting rules.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod alert;
mod duration;
mod error;
mod history;
mod reporter;
mod slo;
mod source;
mod ticker;

pub use alert::{AlertEvent, BurnRateAlert};
pub use error::Error;
pub use slo::{Slo, SloBuilder, DEFAULT_WINDOWS};
pub use reporter::{IntervalReporter, Report};
pub use source::{Delta, Matcher, Source};
pub use ticker::{Tick, Ticker};

/// Renders Prometheus rules (placeholder until the rules module lands).
pub fn prometheus_rules(_slos: &[&Slo], _watches: &[&()]) -> Result<String, Error> {
    Ok(String::new())
}
