//! prism: metrics for Rust services, rendered with identical values as Go-expvar JSON,
//! Prometheus text and OTLP.
//!
//! ```
//! let registry = prism::Registry::new();
//! let hits = registry.register("cache_hits", "Cache hits.", prism::Counter::new())?;
//! hits.inc();
//! # Ok::<(), prism::Error>(())
//! ```
//!
//! # Where things are
//!
//! The types a service uses every day are at the top: [`Registry`], the metric kinds
//! ([`Counter`], [`FloatCounter`], [`Gauge`], [`FloatGauge`], [`UpDownCounter`],
//! [`Histogram`]), labelled [`Family`]s and their typed form ([`TypedFamily`] with
//! `#[derive(`[`LabelSet`]`)]`), and the one [`Error`] that every
//! registration and configuration returns. The rest is grouped by what it holds:
//!
//! | module | holds |
//! |---|---|
//! | [`counters`] | counters that scale with cores ([`ShardedCounter`](counters::ShardedCounter), [`PerCpuCounter`](counters::PerCpuCounter), [`StripedCounter`](counters::StripedCounter), [`NumaCounter`](counters::NumaCounter), [`SloppyCounter`](counters::SloppyCounter), [`PerThreadCounter`](counters::PerThreadCounter)) and the bounded [`Capped`](counters::Capped) |
//! | [`gauges`] | [`Max`](gauges::Max), [`Min`](gauges::Min), the in-flight guard |
//! | [`callback`] | metrics read from a closure at read time: [`CounterFn`](callback::CounterFn), [`GaugeFn`](callback::GaugeFn) |
//! | [`histogram`] | histogram configuration and layouts, [`Summary`](histogram::Summary), [`WindowedHistogram`](histogram::WindowedHistogram) |
//! | [`rate`] | [`WindowedRate`](rate::WindowedRate): events per second over a sliding window |
//! | [`time`] | clocks: the system's, and one a test moves by hand |
//! | [`family`] | labelled families: builder, overflow policy, limits, typed label sets |
//! | [`registry`] | registration metadata, the default registry, scopes (a prefix and constant labels for a library's metrics), name rules |
//! | [`read`] | the read path every format renders from: [`Visitor`](read::Visitor), [`Snapshot`](read::Snapshot), [`Value`](read::Value), and [`Metric`](read::Metric) to add a kind |
//! | [`publish`] | coherent snapshots of several metrics, published together |
//! | [`telemetry`] | the registry's reports on itself (`prism_series`, `prism_refused_label_sets`, ...) |
//!
//! # Formats and features
//!
//! | feature | default | brings |
//! |---|---|---|
//! | `json` | yes | [`prism::json`](json): expvar-compatible JSON |
//! | `prom` | yes | [`prism::prom`](prom): Prometheus 0.0.4 and OpenMetrics text |
//! | `derive` | yes | `#[derive(LabelSet)]` and `#[derive(LabelValue)]` |
//! | `otel` | no | `prism::otel`: OTLP encoding and push |
//! | `http` | no | `prism::http`: serving with header-read and idle timeouts and a connection cap |
//! | `axum` | no | HTTP handlers for each enabled format |
//! | `conformance` | no | `prism::conformance`: check that every format agrees, for tests |
//! | `metrics` | no | `prism::metrics_facade`: a recorder for the `metrics` crate's macros |
//! | `slo` | no | `prism::slo`: interval reports, SLO error budgets and burn-rate alerts, and the same alerts as Prometheus rules |
//!
//! # Typed label sets
//!
//! A [`Family`] takes label values as a slice, in the order of its label names. A
//! [`TypedFamily`] takes a struct whose fields are the labels: a missing field does not
//! compile, and a value cannot land under another label's name.
//!
//! ```
//! # #[cfg(feature = "derive")] {
//! use prism::{Counter, LabelSet, LabelValue, Registry, TypedFamily};
//!
//! #[derive(LabelValue)]
//! #[prism(rename_all = "UPPERCASE")]
//! enum Method { Get, Post }
//!
//! #[derive(LabelSet)]
//! struct Labels { method: Method, code: u16 }
//!
//! let registry = Registry::new();
//! let requests = registry.register("http_requests", "Requests.", TypedFamily::<Labels, Counter>::new())?;
//! requests.get(&Labels { method: Method::Get, code: 200 }).inc();
//! assert_eq!(requests.family().get(&["GET", "200"]).get(), 1); // the slice path, same series
//! # }
//! # Ok::<(), prism::Error>(())
//! ```
//!
//! ```compile_fail,E0063
//! use prism::{Counter, LabelSet, TypedFamily};
//!
//! #[derive(LabelSet)]
//! struct Labels { method: &'static str, code: u16 }
//!
//! let requests = TypedFamily::<Labels, Counter>::new();
//! requests.get(&Labels { method: "GET" }).inc(); // missing field `code`
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// `LabelSet` and `LabelValue` are the traits and, with feature `derive`, the derives.
pub use prism_core::{
    Counter, Error, Family, FloatCounter, FloatGauge, Gauge, Histogram, LabelSet, LabelValue,
    Registry, TypedFamily, UpDownCounter,
};

/// Counters that scale with cores, and the bounded counter.
///
/// A [`Counter`] is one atomic: the cheapest update while few threads share
/// it. Past that, these spread the count over cells. Which to choose, with figures:
/// `docs/counters.md` in the repository.
pub mod counters {
    pub use prism_core::{
        Capped, LocalCounter, NumaCounter, NumaTopology, PerCpuCounter, PerThreadCounter,
        PerThreadWriter, ShardedCounter, SloppyCounter, StripedCounter, DEFAULT_SHARDS, MAX_SHARDS,
        MAX_STRIPES,
    };
}

/// Gauges beyond [`Gauge`] and [`FloatGauge`]: the largest
/// and smallest value observed in a period, and the guard of
/// [`Gauge::track`].
pub mod gauges {
    pub use prism_core::{InFlight, Max, Min};
}

/// Metrics whose value a closure computes when the registry is read (Go's `expvar.Func`).
pub mod callback {
    pub use prism_core::{CounterFn, CounterFnValue, GaugeFn, GaugeFnValue};
}

/// Histograms: configuration, the HDR layout they record into, the summary and the windowed
/// histogram, and what a read of one holds.
pub mod histogram {
    pub use prism_core::{
        HdrLayout, Histogram, HistogramBuilder, HistogramConfig, HistogramError, HistogramSnapshot,
        HistogramValue, LayoutError, Summary, Timer, WindowedHistogram, WindowedHistogramBuilder,
        DEFAULT_BOUNDS_SECONDS, MAX_HISTOGRAM_SHARDS, MAX_WINDOW_SLOTS, QUANTILES,
    };
}

/// Events per second over a sliding window.
pub mod rate {
    pub use prism_core::{WindowedRate, WindowedRateBuilder, MAX_RATE_SLOTS};
}

/// The clocks windows and rates read: the system's, and one a test moves by hand.
pub mod time {
    pub use prism_core::{Clock, ManualClock, SystemClock, MAX_SLOT_DURATION};
}

/// Labelled families: their builder, what happens past the cardinality limit, and typed
/// label sets.
pub mod family {
    pub use prism_core::{
        Family, FamilyBuilder, LabelSet, LabelValue, Overflow, TypedFamily,
        DEFAULT_CARDINALITY_LIMIT, MAX_CARDINALITY_LIMIT, MAX_EXPIRE_AFTER, MAX_LABEL_VALUE_BYTES,
        OVERFLOW_ATTRIBUTE, OVERFLOW_LABEL,
    };
}

/// Registration: the registry, its builder, metadata (help, unit, OpenTelemetry names), the
/// default registry, scopes (a name prefix and constant labels for everything registered
/// through them), the name rules and the OpenTelemetry-to-Prometheus translation
/// ([`registry::otel`]).
pub mod registry {
    pub use prism_core::otel;
    pub use prism_core::{
        default_registry, validate_label_name, validate_name, Metadata, Register, Registry,
        RegistryBuilder, Scope, MAX_CONST_LABELS, MAX_HELP_BYTES,
    };
}

/// The read path every format renders from: a [`Visitor`](read::Visitor) over every family
/// and series, or an owned [`Snapshot`](read::Snapshot); and [`Metric`](read::Metric), which a type implements to be a kind of its
/// own.
pub mod read {
    pub use prism_core::{
        Descriptor, FamilySnapshot, Kind, LabelValuesIter, Metric, Sample, SeriesSnapshot,
        Snapshot, Value, Visitor,
    };
}

/// Coherent snapshots of several metrics, built and swapped in together.
pub mod publish {
    pub use prism_core::{PublishTask, Publisher};
}

pub use prism_core::telemetry;

/// Expvar-compatible JSON (feature `json`).
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use prism_json as json;

/// Prometheus and OpenMetrics text (feature `prom`).
#[cfg(feature = "prom")]
#[cfg_attr(docsrs, doc(cfg(feature = "prom")))]
pub use prism_prom as prom;

/// OTLP (feature `otel`).
#[cfg(feature = "otel")]
#[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
pub use prism_otel as otel;

/// HTTP serving that holds up against slow and idle clients (feature `http`).
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use prism_http as http;

/// Cross-format conformance checks (feature `conformance`, meant for dev-dependencies).
#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub use prism_conformance as conformance;

/// A `metrics` facade recorder into a prism registry (feature `metrics`).
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use prism_metrics as metrics_facade;

/// Interval reports, SLO error budgets, burn-rate alerts and watches on prism's own
/// telemetry, with the same alerts as Prometheus rules (feature `slo`).
#[cfg(feature = "slo")]
#[cfg_attr(docsrs, doc(cfg(feature = "slo")))]
pub use prism_slo as slo;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// What `#[derive(LabelSet)]` refuses at compile time.
///
/// Two fields with one label name:
///
/// ```compile_fail
/// #[derive(prism::LabelSet)]
/// struct Labels {
///     code: u16,
///     #[prism(rename = "code")]
///     status: u16,
/// }
/// ```
///
/// A name no format accepts:
///
/// ```compile_fail
/// #[derive(prism::LabelSet)]
/// struct Labels {
///     #[prism(rename = "status-code")]
///     code: u16,
/// }
/// ```
///
/// A reserved name:
///
/// ```compile_fail
/// #[derive(prism::LabelSet)]
/// struct Labels {
///     __code: u16,
/// }
/// ```
///
/// and, as a check that the three above fail for their names alone, this compiles:
///
/// ```
/// #[derive(prism::LabelSet)]
/// struct Labels {
///     code: u16,
///     #[prism(rename = "status_code")]
///     status: u16,
/// }
/// ```
#[cfg(all(doctest, feature = "derive"))]
struct DeriveRefusals;
