//! prism's core: atomic metric kinds, labelled families with a cardinality limit, the
//! registry, and the one read path that every format renders from.
//!
//! ```
//! use prism_core::{Counter, Family, Gauge, Registry, Value};
//!
//! let registry = Registry::new();
//! let requests = registry.register(
//!     "http_requests",
//!     "Requests served, by method.",
//!     Family::<Counter>::new(["method"]),
//! )?;
//! let in_flight = registry.register("http_in_flight", "Requests being served.", Gauge::new())?;
//!
//! {
//!     let _guard = in_flight.track();
//!     requests.get(&["GET"]).inc();
//! }
//!
//! let read = registry.snapshot();
//! let get = read.family("http_requests").unwrap().series(&["GET"]).unwrap();
//! assert_eq!(get.value, Value::Counter(1));
//! assert_eq!(read.family("http_in_flight").unwrap().series[0].value, Value::Gauge(0));
//! # Ok::<(), prism_core::Error>(())
//! ```
//!
//! # The kinds
//!
//! | type | kind | update |
//! |---|---|---|
//! | [`Counter`] | counter, `u64` | `inc`, `add` |
//! | [`FloatCounter`] | counter, `f64` | `inc`, `add` |
//! | [`Gauge`] | gauge, `i64` | `set`, `inc`, `dec`, `add`, `sub`, `track` |
//! | [`FloatGauge`] | gauge, `f64` | `set`, `inc`, `dec`, `add`, `sub` |
//! | [`UpDownCounter`] | gauge (OTLP: non-monotonic `Sum`), `i64` | `inc`, `dec`, `add`, `sub`, `track` |
//! | [`Max`], [`Min`] | gauge, `i64` | `observe`, `reset` |
//! | [`Capped`] | counter, `u64` | `try_inc`, `try_add` |
//! | [`CounterFn`], [`GaugeFn`] | counter, gauge | a closure read at read time |
//! | [`ShardedCounter`] | counter, `u64` | `inc`, `add`: one padded cell per thread slot |
//! | [`PerCpuCounter`] | counter, `u64` | `inc`, `add`: the cell of the CPU the thread runs on |
//! | [`SloppyCounter`] | counter, `u64` | `local(n)` gives a thread-owned [`LocalCounter`] that flushes every `n` and on drop |
//! | [`StripedCounter`] | counter, `u64` | `inc`, `add`: one atomic until contention, then a growing table (Java's `LongAdder`) |
//! | [`NumaCounter`] | counter, `u64` | `inc`, `add`: cells grouped per NUMA node ([`NumaTopology`]) |
//! | [`PerThreadCounter`] | counter, `u64` | `writer()` gives a [`PerThreadWriter`]: a load and a store per increment |
//! | [`Histogram`] | histogram | `record`, `record_duration`, `start_timer`: sharded HDR, explicit export buckets |
//! | [`Summary`] | summary | a histogram published as quantiles |
//! | [`WindowedHistogram`] | summary | HDR over a sliding window of slots, rotated on access or `tick` |
//! | [`WindowedRate`] | gauge, `f64` | events per second over a sliding window of per-second slots |
//! | [`Family<M>`](Family) | any of the above, labelled | `get`, `with`, `remove` |
//!
//! [`Publisher`] builds coherent snapshots of several metrics. Which counter to choose:
//! `docs/counters.md`; how histograms are laid out and bounded: `docs/histograms.md`.
//!
//! Adapters consume [`Registry::visit`] (or [`Registry::snapshot`]) and nothing else.
//!
//! # OpenTelemetry names
//!
//! Every family carries an OpenTelemetry name, unit and attribute names beside its
//! Prometheus ones ([`Descriptor::otel_name`], [`Descriptor::otel_unit`],
//! [`Descriptor::attribute_names`]): OTLP renders those, Prometheus text and JSON the
//! Prometheus ones. Register by the Prometheus name ([`Metadata::new`]) and the
//! OpenTelemetry side defaults to the same names with the unit in UCUM; register by the
//! OpenTelemetry name ([`Metadata::otel`]) and the Prometheus side is its translation
//! ([`otel`]):
//!
//! ```
//! use prism_core::{Family, Histogram, Metadata, Registry};
//! let registry = Registry::new();
//! registry.register_with(
//!     Metadata::otel("http.server.request.duration", "s", "Duration of HTTP server requests."),
//!     Family::<Histogram>::new(["http.request.method", "http.route"]),
//! )?;
//! let read = registry.snapshot();
//! let d = &read.family("http_server_request_duration_seconds").unwrap().descriptor;
//! assert_eq!(d.label_names(), ["http_request_method", "http_route"]);
//! # Ok::<(), prism_core::Error>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![deny(unsafe_code)]

mod capped;
mod cells;
mod clock;
mod counter;
mod counts;
mod cpu;
mod error;
pub mod expiry;
mod extremum;
mod family;
mod func;
mod gauge;
mod hdr;
mod histogram;
mod histogram_value;
mod label_set;
mod labels;
mod metric;
mod name;
mod numa;
pub mod otel;
mod per_cpu;
mod per_thread;
mod primitive;
mod publish;
mod rate;
mod read;
mod registry;
mod ring;
mod scope;
mod sharded;
mod sloppy;
mod striped;
mod sync;
pub mod telemetry;
mod thread_slot;
mod time;
mod up_down;
mod window;

pub use capped::Capped;
pub use clock::{Clock, ManualClock, SystemClock};
pub use counter::{Counter, FloatCounter};
pub use error::Error;
pub use expiry::MAX_EXPIRE_AFTER;
pub use extremum::{Max, Min};
pub use family::{
    Family, FamilyBuilder, Overflow, DEFAULT_CARDINALITY_LIMIT, MAX_CARDINALITY_LIMIT,
};
pub use func::{CounterFn, CounterFnValue, GaugeFn, GaugeFnValue};
pub use gauge::{FloatGauge, Gauge, InFlight};
pub use hdr::{HdrLayout, LayoutError};
pub use histogram::{
    Histogram, HistogramBuilder, HistogramConfig, HistogramError, HistogramSnapshot, Summary,
    Timer, DEFAULT_BOUNDS_SECONDS, MAX_HISTOGRAM_SHARDS,
};
pub use histogram_value::{HistogramValue, QUANTILES};
pub use label_set::{LabelSet, LabelValue, TypedFamily};
pub use labels::MAX_LABEL_VALUE_BYTES;
pub use metric::{Kind, Metric, Value};
pub use name::{
    validate_label_name, validate_name, MAX_HELP_BYTES, OVERFLOW_ATTRIBUTE, OVERFLOW_LABEL,
};
pub use numa::{NumaCounter, NumaTopology};
pub use per_cpu::PerCpuCounter;
pub use per_thread::{PerThreadCounter, PerThreadWriter};
/// `#[derive(LabelSet)]` and `#[derive(LabelValue)]` (feature `derive`); the generated
/// code names `::prism` unless the type says `#[prism(crate = "prism_core")]`.
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use prism_derive::{LabelSet, LabelValue};
pub use publish::{PublishTask, Publisher};
pub use rate::{WindowedRate, WindowedRateBuilder, MAX_RATE_SLOTS};
pub use read::{
    Descriptor, FamilySnapshot, LabelValuesIter, Metadata, Sample, SeriesSnapshot, Snapshot,
    Visitor,
};
pub use registry::{default_registry, Register, Registry, RegistryBuilder};
pub use ring::MAX_SLOT_DURATION;
pub use scope::{Scope, MAX_CONST_LABELS};
pub use sharded::{ShardedCounter, DEFAULT_SHARDS, MAX_SHARDS};
pub use sloppy::{LocalCounter, SloppyCounter};
pub use striped::{StripedCounter, MAX_STRIPES};
pub use up_down::UpDownCounter;
pub use window::{WindowedHistogram, WindowedHistogramBuilder, MAX_WINDOW_SLOTS};
