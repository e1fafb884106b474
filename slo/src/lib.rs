//! Interval reports, SLO error budgets and multiwindow burn-rate alerts over prism counters:
//! computed in the process and exposed as ordinary prism metrics, and rendered as the
//! equivalent Prometheus recording and alerting rules.
//!
//! | type | what it does |
//! |---|---|
//! | [`IntervalReporter`] | "requests in the last 10s: X": reads counters each tick, reports increases to a callback and a `tracing` event, never resets a counter |
//! | [`Slo`] | an availability SLO over two counters (errors or good, and total): error budget remaining over its period, burn rate per window, the SRE Workbook's multiwindow burn-rate alerts, with hooks; as `slo_*` metrics |
//! | [`Watch`] | alerts on prism's own telemetry: series growing fast in a family, refused label sets rising, the registry's size |
//! | [`prometheus_rules`] | the SLOs and watches as a Prometheus rules file |
//! | [`Ticker`] | a thread that ticks reporters, SLOs and watches every interval |
//!
//! A service with one SLO over two counters, the watches, a ticker, and its rules file:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use prism_core::{Counter, Registry};
//! use prism_slo::{Slo, Source, Tick, Ticker, Watch};
//!
//! let registry = Registry::new();
//! let requests = registry.register("http_requests", "Requests served.", Counter::new())?;
//! let failures = registry.register("http_failures", "Requests that failed.", Counter::new())?;
//!
//! // 99.9 % of requests succeed over 30 days; pages and tickets per the SRE Workbook.
//! let slo = Slo::errors_over_total(
//!     "http",
//!     Source::counter("http_failures", &failures),
//!     Source::counter("http_requests", &requests),
//! )
//! .objective(0.999)
//! .on_fire(|alert| eprintln!("{} firing for {}", alert.alert, alert.name))
//! .register(&registry)?;
//!
//! // Counters about the counters.
//! let growth = Watch::series_growth("series-growth", &registry, Duration::from_secs(600), 1000.0)
//!     .register()?;
//! let refused = Watch::refused_rising("refused", &registry, Duration::from_secs(600)).register()?;
//! let size = Watch::registry_size("size", &registry, 50_000.0).register()?;
//!
//! // Tick every 30 s, as Prometheus would evaluate the rules.
//! let items: Vec<Arc<dyn Tick>> = vec![
//!     Arc::new(slo.clone()),
//!     Arc::new(growth.clone()),
//!     Arc::new(refused.clone()),
//!     Arc::new(size.clone()),
//! ];
//! let _ticker = Ticker::spawn(Duration::from_secs(30), items);
//!
//! // The same alerts for a Prometheus that scrapes this service.
//! let path = std::env::temp_dir().join("prism-slo-doc.rules.yml");
//! prism_slo::write_prometheus_rules(&path, &[&slo], &[&growth, &refused, &size])?;
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Nothing here touches a counter's update path: every read happens on a tick. What a tick
//! and an SLO cost, measured: `slo/README.md`.

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
pub use reporter::{IntervalReporter, Report};
pub use rules::{error_ratio_record, prometheus_rules, write_prometheus_rules};
pub use slo::{Slo, SloBuilder, DEFAULT_WINDOWS};
pub use source::{Delta, Matcher, Source};
pub use ticker::{Tick, Ticker};
pub use watch::{Watch, WatchBuilder, WatchKind};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
