//! prism: metrics for Rust services, rendered with identical values as Go-expvar JSON,
//! Prometheus text and OTLP.
//!
//! This crate re-exports [`prism_core`] and, behind features, one adapter per format:
//!
//! | feature | default | brings |
//! |---|---|---|
//! | `json` | yes | `prism::json`: expvar-compatible JSON |
//! | `prom` | yes | `prism::prom`: Prometheus 0.0.4 and OpenMetrics text |
//! | `otel` | no | `prism::otel`: OTLP encoding and push |
//! | `http` | no | `prism::http`: serving with header-read and idle timeouts and a connection cap |
//! | `axum` | no | HTTP handlers for each enabled format |
//! | `conformance` | no | `prism::conformance`: check that every format agrees, for tests |
//! | `metrics` | no | `prism::metrics_facade`: a recorder for the `metrics` crate's macros |
//!
//! ```
//! let registry = prism::Registry::new();
//! let hits = registry.register("cache_hits", "Cache hits.", prism::Counter::new())?;
//! hits.inc();
//! # Ok::<(), prism::Error>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use prism_core::*;

/// Expvar-compatible JSON (feature `json`).
#[cfg(feature = "json")]
pub use prism_json as json;

/// Prometheus and OpenMetrics text (feature `prom`).
#[cfg(feature = "prom")]
pub use prism_prom as prom;

/// OTLP (feature `otel`).
#[cfg(feature = "otel")]
pub use prism_otel as otel;

/// HTTP serving that holds up against slow and idle clients (feature `http`).
#[cfg(feature = "http")]
pub use prism_http as http;

/// Cross-format conformance checks (feature `conformance`, meant for dev-dependencies).
#[cfg(feature = "conformance")]
pub use prism_conformance as conformance;

/// A `metrics` facade recorder into a prism registry (feature `metrics`).
#[cfg(feature = "metrics")]
pub use prism_metrics as metrics_facade;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
