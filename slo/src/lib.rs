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
mod rules;
mod slo;
mod source;
mod ticker;
mod watch;

pub use alert::{AlertEvent, BurnRateAlert};
pub use error::Error;
pub use slo::{Slo, SloBuilder, DEFAULT_WINDOWS};
pub use reporter::{IntervalReporter, Report};
pub use rules::{error_ratio_record, prometheus_rules, write_prometheus_rules};
pub use source::{Delta, Matcher, Source};
pub use ticker::{Tick, Ticker};
pub use watch::{Watch, WatchBuilder, WatchKind};

