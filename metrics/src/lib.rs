//! A [`metrics`] facade recorder backed by a prism registry: every `counter!`, `gauge!` and
//! `histogram!` in the process (a library's as much as your own) lands in a prism
//! [`Registry`](prism_core::Registry) as an ordinary family, rendered by every prism format
//! with prism's cardinality limits and self-telemetry.
//!
//! ```
//! use prism_core::Registry;
//! use prism_metrics::PrismRecorder;
//! use prism_prom::{render, Format};
//!
//! let registry = Registry::builder().self_telemetry(false).build();
//! let recorder = PrismRecorder::new(&registry)?;
//! // In a program: `recorder.install()?` once, at startup.
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_counter!("http.requests", "Requests served.");
//!     metrics::counter!("http.requests", "method" => "GET").increment(2);
//!     metrics::gauge!("queue_depth").set(7.0);
//! });
//! let text = render(&registry, Format::Prometheus);
//! assert!(text.contains(
//!     "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n\
//!      http_requests_total{method=\"GET\"} 2\n"
//! ));
//! assert!(text.contains("# TYPE queue_depth gauge\nqueue_depth 7.0\n"));
//! assert!(text.contains("prism_metrics_refused_total{reason=\"collision\"} 0\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What each metric becomes
//!
//! | macro | family | handle |
//! |---|---|---|
//! | `counter!` | counters (`u64`) | `increment` adds; `absolute(v)` raises the counter to `v` if it is below (a counter never goes down) |
//! | `gauge!` | float gauges (`f64`) | `set`, `increment`, `decrement` |
//! | `histogram!` | prism histograms (HDR, explicit export buckets) | `record(v)` records `v` in the family's unit; negative, NaN and infinite values are refused |
//!
//! One metric name is one family, registered on the name's first use, labelled by the
//! key's label names sorted by name (`counter!("x", "b" => .., "a" => ..)` and
//! `counter!("x", "a" => .., "b" => ..)` are the same series). Every family has the
//! recorder's cardinality limit ([`PrismRecorderBuilder::cardinality_limit`], default
//! 2000) and an overflow series past it, counted in `prism_refused_label_sets`.
//!
//! Counter series are this crate's own `u64` cells (so that a handle costs one `Arc` clone
//! and `absolute` is one `fetch_max`); they read and render as prism `Counter`s do, but are
//! not summed into `prism_updates`, which counts prism's own counter types.
//!
//! Histograms record integers: values of a time unit (and of no unit: `metrics` records a
//! `Duration` as seconds) are recorded in nanoseconds and exported in the unit, from 1 ns to
//! 60 s at 3 significant digits (longer values land in the last bin, their sum stays exact),
//! with Prometheus' default buckets extended down to 0.5 ms. Values of any other unit are
//! recorded in thousandths, up to 10^12 units, with decade buckets from 1 to 10^9. Each
//! histogram series has one exclusive shard (see prism-core's histogram docs for memory).
//!
//! # Names: one rule
//!
//! Metric and label names are mapped by the rule of OpenTelemetry's Prometheus exporters:
//! characters outside `[a-zA-Z0-9_:]` (`[a-zA-Z0-9_]` in label names) become `_`, a leading
//! digit gets a `_` in front, a leading run of `_` becomes one `_` (Prometheus reserves
//! `__`), and counters lose one trailing `_total`, which the Prometheus renderers add back.
//! `http.requests` becomes `http_requests`, `5xx` becomes `_5xx`, `requests_total` is
//! registered as `requests` and printed as `requests_total`. Label values are kept as they
//! are (prism escapes them in every format).
//!
//! # Descriptions and units
//!
//! `describe_*!` gives the family its help text and unit, when it comes before the metric's
//! first use (whichever of the three macros described it: neither depends on the kind). A `metrics::Unit` becomes the prism unit of its `as_str` name (`Seconds` ->
//! `seconds`, `Bytes` -> `bytes`, `CountPerSecond` -> `count_per_second`); `Count` is no
//! unit. OpenMetrics wants the name to end in `_<unit>`: when it does not, the family is
//! registered without the unit (the name is never changed). Prism's registry does not change
//! a registered family's help, so a description that arrives after the first use is not
//! applied.
//!
//! # Refused, never a panic
//!
//! Nothing the facade hands the recorder makes it panic. What it cannot take is refused,
//! the call gets a handle that records nothing (`metrics`' no-op), and the refusal is
//! counted in `prism_metrics_refused{reason}`, registered by the recorder in the same
//! registry and so visible in every format (see [`Refusal`] for each reason): a name or
//! label name still invalid after the rule, two names that map to one (the first keeps it),
//! a name used with another set of label names or as another kind, a late description, a
//! unit the name does not carry, help holding NUL, histogram values with no bin, and new
//! names past the recorder's [`max_names`](PrismRecorderBuilder::max_names) (10,000 by
//! default: the name table is kept for the process's life, refused names included).
//!
//! # Cost
//!
//! A macro call that does not hold its handle, with a key this thread used before (a
//! macro's static key after its second call, or any key after it missed twice), costs one
//! probe of the thread's key cache by the hash `metrics` stored in the key (computed at
//! compile time for a static key), a comparison of the key (an address comparison for a
//! static key) and one `Arc` clone: no lock, no shared write. Otherwise it costs one lookup
//! of the name in this thread's copy of the name table (a load of the table's version, a
//! seeded hash of the name), the comparison of the key's label names with the family's,
//! the family's own label lookup and one `Arc` clone. A held handle costs one atomic update.
//!
//! Memory: the name table holds each name used (at most
//! [`max_names`](PrismRecorderBuilder::max_names)) and each thread that used the recorder
//! keeps one copy of it alive until its next call. Each such thread's key cache holds at
//! most 1024 keys (a copy of each, so owned label strings are copied once) and is emptied
//! when full; its filter of recent misses is 2 KiB. A key is cached on its second miss, so
//! keys used once each (label values from unbounded data, which the cardinality limit sends
//! to the overflow series) are not copied.
//! `cargo bench -p prism-metrics` compares it with `metrics-exporter-prometheus`; the
//! crate's README has the table.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod names;
mod recorder;
mod refused;
mod series;
mod table;

pub use recorder::{PrismRecorder, PrismRecorderBuilder, DEFAULT_MAX_NAMES};
pub use refused::{Refusal, REFUSED_FAMILY};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
