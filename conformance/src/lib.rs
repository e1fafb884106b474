//! prism-conformance: proof that prism's formats say the same thing, usable by anyone.
//!
//! A registry is read once through core's read path and mapped to a canonical set of
//! [`Samples`] ([`expected()`]); then it is rendered by each adapter (prism-json,
//! prism-prom, prism-otel), each rendering is read back by a reader of this crate that
//! shares no code with the writer ([`read`]), and each read is [`compare`]d with the core
//! read. A difference names the family, the series, both sources and both values.
//!
//! ```
//! use prism_core::{Counter, Family, FloatGauge, Registry};
//!
//! let registry = Registry::new();
//! let requests = registry.register(
//!     "http_requests",
//!     "Requests served, by method.",
//!     Family::<Counter>::new(["method"]),
//! )?;
//! requests.get(&["GET"]).add(3);
//! registry.register("load", "Load.", FloatGauge::new())?.set(f64::INFINITY);
//!
//! let report = prism_conformance::check(&registry);
//! assert!(report.is_ok(), "{report}");
//! let om = report.column(prism_conformance::Format::OpenMetrics).unwrap();
//! assert!(matches!(om.outcome, prism_conformance::Outcome::Agrees { .. }));
//!
//! // In a test of your own:
//! prism_conformance::assert_conformant(&registry);
//! # Ok::<(), prism_core::Error>(())
//! ```
//!
//! # The pieces
//!
//! - [`model`](Samples): the canonical sample set: family (core name), kind, help, unit,
//!   sorted label pairs, and a number, or count, sum and buckets for a histogram.
//! - [`read`]: a reader per format; [`text`] is the strict parser of Prometheus 0.0.4 and
//!   OpenMetrics 1.0 text, which agrees with the OpenMetrics parser suite on every case.
//!   An OTLP read is keyed by OpenTelemetry names; [`read::OtelNames`] maps it to core
//!   names (the registry's own mapping, or the OpenTelemetry-to-Prometheus translation
//!   for a live service) before it is compared.
//! - [`Scenario`]: a registry described in JSON (families, labels, updates), and the
//!   [`corpus`] of scenarios that covers every kind and the hostile cases.
//! - [`check`], [`check_named`], [`assert_conformant`] and [`Report`].
//! - The `prism-conformance` binary: `check`, `render` and `live` (see the README).
//!
//! # The mapping
//!
//! | core | JSON | Prometheus 0.0.4 | OpenMetrics 1.0 | OTLP |
//! |---|---|---|---|---|
//! | counter `x` | `"x": v` | `x_total` in family `x_total` | `x_total`, `x_created` in family `x` | monotonic cumulative `Sum` `x` |
//! | gauge `x` | `"x": v` | `x` | `x` | `Gauge` `x` |
//! | up-down counter `x` | `"x": v` | gauge `x` | gauge `x` | non-monotonic cumulative `Sum` `x` |
//! | labels `a`, `b` | `{"va": {"vb": v}}` | `{a="va",b="vb"}` | the same | string attributes |
//! | overflow series | key `otel_metric_overflow=true` | `{otel_metric_overflow="true"}` | the same | attribute `otel.metric.overflow=true` |
//! | NaN, ±Inf | `null` | `NaN`, `+Inf`, `-Inf` | the same | doubles |
//! | u64 above 2^53 | exact integer | exact integer | exact integer | `as_int` |
//! | help, unit | — | help | help, unit | description, UCUM unit (`seconds`: `s`) |
//! | family registered by its OpenTelemetry name (`Metadata::otel`) | its Prometheus name | the same | the same | the OpenTelemetry name, unit and attribute names |
//! | start time | — | — | `_created` | `start_time_unix_nano` |

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod compare;
pub mod corpus;
mod expected;
mod format;

pub mod live;
mod model;
pub mod read;
mod receiver;
mod report;
mod scenario;

pub use compare::{compare, Field, Mismatch, Rules, Source};
pub use expected::{expected, Unsupported};
pub use format::{Carries, Format};
pub use model::{Bucket, Family, Kind, Labels, Number, Point, Samples, Series};
pub use read::text;
pub use report::{assert_conformant, check, check_named, Column, Outcome, Report};
/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use scenario::{FamilySpec, MetricType, Op, OverflowSpec, Scenario, ScenarioError, Step};
