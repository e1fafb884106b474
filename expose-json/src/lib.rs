//! prism-json: a prism registry as Go's `expvar` writes `/debug/vars`, byte for byte, and
//! Go's `expvar` API for code ported from Go.
//!
//! ```
//! use prism_core::{Counter, Family, Registry};
//! use prism_json::Vars;
//!
//! let registry = Registry::builder().self_telemetry(false).build();
//! let requests = registry.register(
//!     "http_requests",
//!     "Requests served, by method and code.",
//!     Family::<Counter>::new(["method", "code"]),
//! )?;
//! requests.get(&["GET", "200"]).add(3);
//! requests.get(&["GET", "404"]).inc();
//! requests.get(&["POST", "200"]).inc();
//!
//! // Go-style variables live in the same registry.
//! let vars = Vars::builder(&registry).cmdline(false).memstats(false).build();
//! vars.new_int("cache.hits")?.add(42);
//! vars.new_float("load")?.set(1e6);
//! vars.new_string("version")?.set("1.4 <beta>");
//! let errors = vars.new_map("errors")?;
//! errors.add("timeout", 2);
//! errors.add("reset", 1);
//!
//! assert_eq!(
//!     vars.render_to_string(),
//!     r#"{
//! "cache.hits": 42,
//! "errors": {"reset": 1, "timeout": 2},
//! "http_requests": {"GET": {"200": 3, "404": 1}, "POST": {"200": 1}},
//! "load": 1e+06,
//! "version": "1.4 \u003cbeta\u003e"
//! }
//! "#
//! );
//!
//! // The same numbers reach Prometheus and OTLP under metric names (`cache.hits` becomes
//! // `cache_hits`, a gauge; the map a gauge family labelled `key`).
//! let read = registry.snapshot();
//! assert_eq!(read.family("cache_hits").unwrap().series[0].value, prism_core::Value::Gauge(42));
//! assert_eq!(
//!     read.family("errors").unwrap().series(&["timeout"]).unwrap().value,
//!     prism_core::Value::Gauge(2)
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The bytes
//!
//! The document is what Go's `expvar` handler writes (Go 1.22 and later, whose expvar
//! quotes keys as JSON strings):
//!
//! - the top level is `{`, newline, entries `"key": value` joined by `,` and a newline,
//!   newline, `}`, newline; keys in byte order, `cmdline` and `memstats` sorted in with the
//!   rest;
//! - maps are one line, `{"a": 1, "b": 2}`, keys sorted;
//! - integers are plain decimal; floats as `strconv.FormatFloat(f, 'g', -1, 64)`
//!   (`1e+06`, `1e-05`, `0.1`);
//! - strings are quoted as expvar quotes them: `<`, `>`, `&`, U+2028, U+2029 and control
//!   characters as `\u00XX` (`\n`, `\r`, `\t` short), invalid UTF-8 as U+FFFD (Rust
//!   strings cannot hold it; [`go_lossy`] converts bytes the way Go does);
//! - [`Func`] values, `cmdline` and `memstats` as Go's `json.Marshal` writes them (compact,
//!   `\b` and `\f` short, floats as `1000000` and `1e-7`).
//!
//! **The one difference:** NaN and the infinities are written as `null`. Go writes `NaN`,
//! `+Inf` and `-Inf` there, which no JSON parser accepts.
//!
//! `memstats` has every field of Go's `runtime.MemStats`, in Go's order and shape
//! ([`MemStatsFormat::Go`], the default), filled with this process's figures: the
//! allocation counts of [`CountingAllocator`] when it is the global allocator, memory
//! sizes from `/proc/self/status`, and zeros for what only a garbage collector has (no
//! pauses, `NumGC` 0, `EnableGC` false). [`MemStatsFormat::Process`] shows the
//! `/proc/self` figures under descriptive names instead (see
//! [`VarsBuilder::memstats_format`]).
//!
//! # Registry families
//!
//! Every family of the registry is an entry under its Prometheus name, self-telemetry
//! (`prism_*`) included. A family registered by its OpenTelemetry name
//! ([`Metadata::otel`](prism_core::Metadata::otel), `http.server.request.duration`) is keyed
//! by the Prometheus name core derived from it (`http_server_request_duration_seconds`), as
//! in Prometheus text; only OTLP carries the OpenTelemetry name.
//!
//! - a metric registered on its own is a number;
//! - a labelled family is nested maps keyed by label value, one level per label, in label
//!   order: `{"GET": {"200": 3}}`;
//! - past its cardinality limit, the overflow series is at the top level of the family's
//!   map under `otel_metric_overflow=true` (see [`OVERFLOW_KEY`]); for a family registered
//!   through a [`Scope`](prism_core::Scope) with constant labels, in the map of its first
//!   own label, inside the constant labels' maps: `{"a": {"GET": 3,
//!   "otel_metric_overflow=true": 9}}`;
//! - a labelled family with no series yet is `{}`;
//! - a histogram or summary series is an object: `{"count": 4, "max": 0.5, "min": 0.005,
//!   "p50": 0.05, "p90": 0.5, "p99": 0.5, "p999": 0.5, "sum": 0.605}` (min, max and the
//!   quantiles `null` while empty; buckets are left to Prometheus and OTLP).
//!
//! # Go's API
//!
//! [`Vars`] is Go's `expvar` as a value; the package-level functions ([`new_int`],
//! [`new_float`], [`new_string`], [`new_map`], [`publish`], [`publish_fn`], [`get`],
//! [`for_each`], and `handler`/`router` with feature `axum`) work on [`global()`], over
//! [`prism_core::default_registry`]. Where Go panics (a name published twice), prism
//! returns an [`Error`].
//!
//! | Go | prism-json | in Prometheus and OTLP |
//! |---|---|---|
//! | `expvar.Int` | [`Int`] | a gauge |
//! | `expvar.Float` | [`Float`] | a gauge |
//! | `expvar.Map` | [`Map`] | a gauge family labelled `key` (its `Int` and `Float` entries) |
//! | `expvar.String` | [`StringVar`] | nothing: no metric kind holds a string |
//! | `expvar.Func` | [`Func`] (any JSON), or a [`GaugeFn`](prism_core::GaugeFn)/[`CounterFn`](prism_core::CounterFn) | nothing, or a gauge/counter |
//!
//! Go keys are any strings; the other formats need metric names, derived by one rule,
//! [`metric_name`]: `http.requests` becomes `http_requests`. Two keys that derive the same
//! name cannot both be published.
//!
//! # Features
//!
//! - `axum`: `router(vars)` serves `GET /debug/vars` with
//!   `Content-Type: application/json; charset=utf-8`; `handler(vars)` mounts it elsewhere,
//!   and `global_handler()` is Go's zero-argument `expvar.Handler()` over [`global()`].

#![deny(missing_docs)]
// `deny`, not `forbid`: the one `unsafe impl GlobalAlloc` of `CountingAllocator`
// (src/alloc.rs) carries a targeted `allow`; nothing else may use `unsafe`.
#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod alloc;
mod error;
mod family;
mod format;
#[cfg(feature = "axum")]
mod http;
mod map;
mod marshal;
mod memstats;
mod name;
mod process;
mod render;
mod var;
mod vars;

pub use alloc::{alloc_stats, AllocStats, CountingAllocator, SizeClass, SIZE_CLASSES};
pub use error::Error;
pub use format::go_lossy;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use http::{global_handler, handler, router, CONTENT_TYPE_JSON, DEBUG_VARS_PATH};
pub use map::{Map, MAP_KEY_LABEL};
pub use memstats::MemStatsFormat;
pub use name::metric_name;
pub use var::{Float, Func, Int, StringVar, Var};
pub use vars::{global, Vars, VarsBuilder};

use prism_core::Registry;

/// The key of a family's overflow series in its JSON map: `otel_metric_overflow=true`
/// ([`prism_core::OVERFLOW_LABEL`], `=`, `true`), at the top level of the family's map.
///
/// The key always means the overflow series: a first label value made of `_`s and then
/// this string is written with one more leading `_` (whether or not the family has an
/// overflow series), so a reader strips one `_` from keys of that shape and reads the bare
/// key as the overflow series.
///
/// ```
/// let registry = prism_core::Registry::builder().self_telemetry(false).build();
/// let f = prism_core::Family::<prism_core::Counter>::builder(["k"]).cardinality_limit(1).build()?;
/// let f = registry.register("f", "F.", f)?;
/// f.get(&["otel_metric_overflow=true"]).inc(); // a label value that looks like the key
/// f.get(&["refused"]).add(5);                   // past the limit: the overflow series
/// assert_eq!(
///     prism_json::render_to_string(&registry),
///     "{\n\"f\": {\"_otel_metric_overflow=true\": 1, \"otel_metric_overflow=true\": 5}\n}\n"
/// );
/// # Ok::<(), prism_core::Error>(())
/// ```
pub const OVERFLOW_KEY: &str = "otel_metric_overflow=true";

/// Writes the registry alone (no Go-style variables, no `cmdline`, no `memstats`) as a
/// `/debug/vars` document, appending to `out`.
///
/// ```
/// let registry = prism_core::Registry::builder().self_telemetry(false).build();
/// registry.register("jobs", "Jobs run.", prism_core::Counter::new())?.add(2);
/// registry.register("ratio", "A ratio.", prism_core::FloatGauge::new())?.set(f64::NAN);
/// let mut out = Vec::new();
/// prism_json::render(&registry, &mut out);
/// assert_eq!(out, b"{\n\"jobs\": 2,\n\"ratio\": null\n}\n");
/// # Ok::<(), prism_core::Error>(())
/// ```
pub fn render(registry: &Registry, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    let _ = write_registry(registry, out);
}

/// [`render`] into a new string.
pub fn render_to_string(registry: &Registry) -> String {
    let mut out = Vec::new();
    render(registry, &mut out);
    vars::into_string(out)
}

/// Streams the registry alone as a `/debug/vars` document into `w`.
pub fn write_registry<W: std::io::Write>(registry: &Registry, mut w: W) -> std::io::Result<()> {
    render::render(
        &mut w,
        registry,
        Vec::new(),
        &|_| false,
        &process::Cmdline::Off,
    )
}

/// Publishes a new [`Int`] in [`global()`] (Go's `expvar.NewInt`).
///
/// ```
/// let served = prism_json::new_int("doc.served")?;
/// served.add(1);
/// assert_eq!(prism_json::get("doc.served").unwrap().to_string(), "1");
/// # Ok::<(), prism_json::Error>(())
/// ```
pub fn new_int(key: &str) -> Result<Int, Error> {
    global().new_int(key)
}

/// Publishes a new [`Float`] in [`global()`] (Go's `expvar.NewFloat`).
pub fn new_float(key: &str) -> Result<Float, Error> {
    global().new_float(key)
}

/// Publishes a new [`StringVar`] in [`global()`] (Go's `expvar.NewString`); JSON only.
pub fn new_string(key: &str) -> Result<StringVar, Error> {
    global().new_string(key)
}

/// Publishes a new [`Map`] in [`global()`] (Go's `expvar.NewMap`).
pub fn new_map(key: &str) -> Result<Map, Error> {
    global().new_map(key)
}

/// Publishes any variable in [`global()`] (Go's `expvar.Publish`); an error where Go panics.
pub fn publish(key: &str, var: impl Into<Var>) -> Result<(), Error> {
    global().publish(key, var)
}

/// Publishes a closure returning JSON in [`global()`] (Go's `Publish(key, expvar.Func(f))`).
pub fn publish_fn(
    key: &str,
    f: impl Fn() -> serde_json::Value + Send + Sync + 'static,
) -> Result<Func, Error> {
    global().publish_fn(key, f)
}

/// The variable published in [`global()`] under `key` (Go's `expvar.Get`).
pub fn get(key: &str) -> Option<Var> {
    global().get(key)
}

/// Calls `f` on each variable published in [`global()`], in key order (Go's `expvar.Do`).
pub fn for_each(f: impl FnMut(&str, &Var)) {
    global().for_each(f)
}
