//! prism-prom: a prism registry as Prometheus text 0.0.4 and OpenMetrics 1.0.0, and a
//! `/metrics` handler for axum.
//!
//! The text is written directly from core's read, in the exact layout
//! [prometheus-client](https://docs.rs/prometheus-client) 0.26 writes (plus what it leaves
//! out, below): counter and gauge families as their series are read, histograms and
//! summaries from one buffered copy of the family. prometheus-client is the oracle: the
//! conformance suite renders its whole corpus and 500 random registries both ways and
//! requires the same bytes, and it remains the interop path ([`RegistryCollector`]).
//!
//! ```
//! use prism_core::{Counter, Family, FloatGauge, Metadata, Registry};
//! use prism_prom::{render, Format};
//!
//! let registry = Registry::builder().self_telemetry(false).build();
//! let requests = registry.register(
//!     "http_requests",
//!     "Requests served, by method.",
//!     Family::<Counter>::new(["method"]),
//! )?;
//! let temperature = registry.register_with(
//!     Metadata::new("room_temperature_celsius", "Temperature of the \"server\" room.")
//!         .unit("celsius"),
//!     FloatGauge::new(),
//! )?;
//! requests.get(&["GET"]).add(3);
//! requests.get(&["POST"]).inc();
//! temperature.set(21.5);
//!
//! assert_eq!(render(&registry, Format::Prometheus), r#"# HELP http_requests_total Requests served, by method.
//! ## TYPE http_requests_total counter
//! http_requests_total{method="GET"} 3
//! http_requests_total{method="POST"} 1
//! ## HELP room_temperature_celsius Temperature of the "server" room.
//! ## TYPE room_temperature_celsius gauge
//! room_temperature_celsius 21.5
//! "#);
//!
//! // OpenMetrics adds `# UNIT`, escapes quotes in HELP, gives each counter series a
//! // `_created` line (seconds since the epoch, from the series' start) and ends in `# EOF`.
//! let text = render(&registry, Format::OpenMetrics);
//! let (created, rest): (Vec<&str>, Vec<&str>) =
//!     text.lines().partition(|line| line.starts_with("http_requests_created"));
//! assert_eq!(rest.join("\n"), r#"# HELP http_requests Requests served, by method.
//! ## TYPE http_requests counter
//! http_requests_total{method="GET"} 3
//! http_requests_total{method="POST"} 1
//! ## HELP room_temperature_celsius Temperature of the \"server\" room.
//! ## TYPE room_temperature_celsius gauge
//! ## UNIT room_temperature_celsius celsius
//! room_temperature_celsius 21.5
//! ## EOF"#);
//! assert!(created[0].starts_with(r#"http_requests_created{method="GET"} 1"#));
//! assert!(created[1].starts_with(r#"http_requests_created{method="POST"} 1"#));
//! # Ok::<(), prism_core::Error>(())
//! ```
//!
//! # Names
//!
//! Families print under their Prometheus names ([`Descriptor::name`],
//! [`Descriptor::unit`], [`Descriptor::label_names`]), never their OpenTelemetry ones: a
//! family registered with [`Metadata::otel`] as `http.server.request.duration` in `s` with
//! the attribute `http.request.method` prints as
//! `http_server_request_duration_seconds{http_request_method="GET"}` with `# UNIT ...
//! seconds`, the OpenTelemetry-to-Prometheus translation core made at registration
//! ([`prism_core::otel`]); OTLP (prism-otel) carries the dotted names.
//!
//! [`Descriptor::name`]: prism_core::Descriptor::name
//! [`Descriptor::unit`]: prism_core::Descriptor::unit
//! [`Descriptor::label_names`]: prism_core::Descriptor::label_names
//! [`Metadata::otel`]: prism_core::Metadata::otel
//!
//! # What is rendered
//!
//! Everything [`Registry::visit`](prism_core::Registry::visit) reads, in its order (families
//! by name, series in creation order, the overflow series last), and nothing else:
//!
//! | core | Prometheus 0.0.4 | OpenMetrics 1.0.0 |
//! |---|---|---|
//! | counter `x` (u64 or f64) | `# TYPE x_total counter`, `x_total{..} v` | `# TYPE x counter`, `x_total{..} v`, `x_created{..} t` |
//! | gauge `x` (i64 or f64) | `# TYPE x gauge`, `x{..} v` | the same |
//! | unit `u` (name ends `_u`) | nothing more | `# UNIT x u` |
//! | overflow series | `x{otel_metric_overflow="true"} v` | the same |
//! | self-telemetry (`prism_*`) | ordinary families | ordinary families |
//! | histogram `x` | `x_bucket{..,le="10"}` (cumulative), `x_sum`, `x_count` | the same (`le="10.0"`), plus `x_created` |
//! | summary `x` | `x{..,quantile="0.5"}` for p50, p90, p99, p99.9, `x_sum`, `x_count` | the same, plus `x_created` |
//! | a family with no series | nothing | nothing |
//! | an empty registry | an empty body | `# EOF\n` |
//!
//! Integers print exactly (a `u64` counter above 2^53 keeps every digit); floats print
//! with digits that read back to the same `f64`, non-finite ones as `NaN`, `+Inf` and
//! `-Inf`. They are not always the shortest such digits: the values prometheus-client
//! writes go through its `dtoa`, which prints 1/60 as `0.016666666666666668` where the
//! shortest is `0.016666666666666666` (both read back to the same `f64`; prism-conformance
//! compares the numbers, not the digits). What the bridge writes itself (summary quantiles
//! and sums) is the shortest. A value that does not
//! fit its family's kind (only a custom `Metric` whose `KIND` and values disagree makes one)
//! is left out; a histogram or summary family of plain numbers is typed `unknown`
//! (`untyped` in 0.0.4). A series whose value is a variant of core's `#[non_exhaustive]`
//! `Value` newer than this crate is left out until this crate learns it.
//!
//! # Where prometheus-client is wrong, and what prism writes instead
//!
//! Where prometheus-client's own text is wrong, prism's differs (and, through
//! [`RegistryCollector`] or the oracle path, the bridge corrects it), each case covered by
//! a test named after the rule (`tests/golden.rs`):
//!
//! - **OpenMetrics HELP is not escaped.** A newline in help text ends the line and breaks
//!   the exposition. prism escapes it (`\\`, `\n`, `\"`). (Its 0.0.4 encoder escapes HELP
//!   correctly, and prism writes the same.)
//! - **OpenMetrics `+Inf`/`-Inf` come out as `inf`/`-inf`** (Rust's float formatting). prism
//!   writes `+Inf`/`-Inf`, the spelling of the spec's examples, of every other client and of
//!   the 0.0.4 output.
//! - **No `_created`.** Its text encoder never writes one for a counter. prism writes
//!   `<name>_created{labels} <seconds>` after each counter series (after `_count` for a
//!   histogram), with the start time printed exactly from nanoseconds (through `f64` it
//!   would be off by up to a quarter microsecond).
//! - **No summary type.** prism writes summary families in client_golang's layout, with
//!   the same escaping.
//! - **The unit is appended to the name.** Given `x_seconds` with unit `seconds` it
//!   prints `x_seconds_seconds`; core names already end in their unit, and prism prints
//!   them once.
//!
//! # Inside a prometheus-client registry
//!
//! A service that already serves a `prometheus_client::registry::Registry` adds a prism
//! registry to it with [`RegistryCollector`] (`register_collector`); see its docs for what
//! prometheus-client's collector API cannot carry (summaries, `_created`).
//!
//! # Feature `axum`
//!
//! `router` (and `route`, to mount it at another path) serves `GET` and `HEAD /metrics` with
//! content negotiation and gzip; see their docs. Without the feature no HTTP code is
//! compiled; use [`render_into`] or a [`Renderer`] in a handler of your own.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bridge;
mod collector;
mod direct;
mod format;
#[cfg(feature = "axum")]
mod http;
mod render;
mod text;

pub use collector::RegistryCollector;
pub use format::{
    Format, OPENMETRICS_0_0_1_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE,
};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use http::{route, router};
pub use render::{encode, render, render_into, render_into_vec, Renderer};
