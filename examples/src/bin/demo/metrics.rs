//! The demo's own metrics: one of each prism kind, registered once.
//!
//! Most are updated by real HTTP requests (see `api.rs`); the few that have no HTTP meaning
//! are updated by one clearly labelled background thread (see `simulated.rs`).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use prism::callback::{CounterFn, GaugeFn};
use prism::counters::{
    Capped, NumaCounter, PerCpuCounter, PerThreadCounter, ShardedCounter, SloppyCounter,
    StripedCounter,
};
use prism::gauges::{Max, Min};
use prism::histogram::{Summary, WindowedHistogram};
use prism::rate::WindowedRate;
use prism::registry::Metadata;
use prism::{
    Counter, Family, FloatCounter, FloatGauge, Gauge, Histogram, LabelSet, Registry, TypedFamily,
    UpDownCounter,
};

/// The labels of `demo_requests`: the label names are the field names.
#[derive(LabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub code: u16,
}

/// What the in-process load generator shares with the metrics read through closures: state
/// prism does not own.
#[derive(Default)]
pub struct LoadState {
    /// Response bytes the load generator read.
    pub bytes_read: AtomicU64,
    /// Requests it has sent that have not finished.
    pub in_flight: AtomicI64,
}

/// Handles to every metric the demo updates.
#[derive(Clone)]
pub struct Metrics {
    pub requests: TypedFamily<RequestLabels, Counter>,
    pub routes: Family<Counter>,
    pub request_seconds: FloatCounter,
    pub in_flight: UpDownCounter,
    pub slow_waiting: Gauge,
    pub temperature: FloatGauge,
    pub payload_max: Max,
    pub payload_min: Min,
    pub retry_budget: Capped,
    pub bytes: Counter,
    pub handled: Counter,
    pub errors: Counter,
    pub latency: Histogram,
    pub recent_latency: WindowedHistogram,
    pub payload: Summary,
    pub rate: WindowedRate,
    pub sharded: ShardedCounter,
    pub per_cpu: PerCpuCounter,
    pub striped: StripedCounter,
    pub numa: NumaCounter,
    pub sloppy: SloppyCounter,
    pub per_thread: PerThreadCounter,
}

pub fn register(registry: &Registry, load: Arc<LoadState>) -> Result<Metrics, prism::Error> {
    let requests = registry.register(
        "demo_requests",
        "API requests answered, by method and status code.",
        Family::<Counter>::builder(RequestLabels::NAMES.iter().copied())
            .cardinality_limit(50)
            .build()?
            .typed()?,
    )?;
    // In /debug/vars this family is one expvar map, route -> count.
    let routes = registry.register(
        "demo_route_requests",
        "API requests answered, by route template (an expvar map in /debug/vars).",
        Family::<Counter>::builder(["route"])
            .cardinality_limit(20)
            .build()?,
    )?;
    let request_seconds = registry.register_with(
        Metadata::new(
            "demo_request_seconds",
            "Time spent answering API requests, to the response head.",
        )
        .unit("seconds"),
        FloatCounter::new(),
    )?;
    let in_flight = registry.register(
        "demo_in_flight",
        "API requests being answered (an up-down counter: OTLP sends it as a non-monotonic Sum).",
        UpDownCounter::new(),
    )?;
    let slow_waiting = registry.register(
        "demo_slow_waiting",
        "Requests to /api/slow sleeping now (a gauge, raised and lowered by a guard).",
        Gauge::new(),
    )?;
    let temperature = registry.register_with(
        Metadata::new(
            "demo_temperature_celsius",
            "A simulated temperature (no HTTP meaning: set by the simulation thread).",
        )
        .unit("celsius"),
        FloatGauge::new(),
    )?;
    let payload_max = registry.register_with(
        Metadata::new(
            "demo_payload_max_bytes",
            "Largest API response body since the start.",
        )
        .unit("bytes"),
        Max::new(),
    )?;
    let payload_min = registry.register_with(
        Metadata::new(
            "demo_payload_min_bytes",
            "Smallest API response body since the start.",
        )
        .unit("bytes"),
        Min::new(),
    )?;
    let retry_budget = registry.register(
        "demo_retries",
        "Failed API requests a client could retry, out of a budget of 1000.",
        Capped::new(1000),
    )?;
    let bytes = registry.register(
        "demo_bytes_written",
        "API response body bytes written (streamed bodies not included).",
        Counter::new(),
    )?;
    let read = load.clone();
    registry.register(
        "demo_load_bytes_read",
        "Response bytes the in-process load generator read: a subsystem prism does not own, \
         read through a closure.",
        CounterFn::new(move || read.bytes_read.load(Ordering::Relaxed)),
    )?;
    registry.register(
        "demo_load_in_flight",
        "Requests the in-process load generator has in flight, read through a closure.",
        GaugeFn::new(move || load.in_flight.load(Ordering::Relaxed)),
    )?;
    let handled = registry.register(
        "demo_handled",
        "API requests answered, all of them.",
        Counter::new(),
    )?;
    let errors = registry.register(
        "demo_errors",
        "API requests answered with a 5xx status.",
        Counter::new(),
    )?;
    let latency = registry.register(
        "demo_request_duration_seconds",
        "API latency to the response head (HDR histogram, exported with explicit buckets).",
        Histogram::new(),
    )?;
    let recent_latency = registry.register(
        "demo_request_duration_recent_seconds",
        "API latency over the last 5 minutes (sliding window of 1-minute slots).",
        WindowedHistogram::new(),
    )?;
    // Sizes, not times: one recorded unit is one exported unit, up to 1 MiB.
    let sizes = Histogram::builder()
        .unit_scale(1.0)
        .lowest(1)
        .highest(1 << 20)
        .buckets([64.0, 256.0, 1024.0, 4096.0, 16384.0])
        .build()?;
    let payload = registry.register(
        "demo_payload_bytes",
        "API response body sizes, published as quantiles.",
        Summary::from(sizes),
    )?;
    let rate = registry.register(
        "demo_request_rate",
        "API requests per second over the last minute.",
        WindowedRate::new(),
    )?;
    let sharded = registry.register(
        "demo_events_sharded",
        "API requests, counted on a sharded counter.",
        ShardedCounter::new(),
    )?;
    let per_cpu = registry.register(
        "demo_events_per_cpu",
        "API requests, counted on a per-CPU counter.",
        PerCpuCounter::new(),
    )?;
    let striped = registry.register(
        "demo_events_striped",
        "API requests, counted on a striped (LongAdder-style) counter.",
        StripedCounter::new(),
    )?;
    let numa = registry.register(
        "demo_events_numa",
        "API requests, counted on a NUMA-aware counter.",
        NumaCounter::new(),
    )?;
    let sloppy = registry.register(
        "demo_events_sloppy",
        "Simulated events on a sloppy counter, through a thread-owned local flushed every 64 \
         (no HTTP meaning: counted by the simulation thread).",
        SloppyCounter::new(),
    )?;
    let per_thread = registry.register(
        "demo_events_per_thread",
        "Simulated events on a per-thread single-writer counter (no HTTP meaning: counted by \
         the simulation thread).",
        PerThreadCounter::new(),
    )?;
    Ok(Metrics {
        requests,
        routes,
        request_seconds,
        in_flight,
        slow_waiting,
        temperature,
        payload_max,
        payload_min,
        retry_budget,
        bytes,
        handled,
        errors,
        latency,
        recent_latency,
        payload,
        rate,
        sharded,
        per_cpu,
        striped,
        numa,
        sloppy,
        per_thread,
    })
}
