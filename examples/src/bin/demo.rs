//! The prism demo service: one metric of each kind, updated by a few worker threads,
//! served over HTTP on 127.0.0.1:9898 (change it with `--listen ADDR`).
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL) or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`
//! (the full URL) set, it also pushes OTLP there (interval from
//! `OTEL_METRIC_EXPORT_INTERVAL`, protocol from `OTEL_EXPORTER_OTLP_PROTOCOL`), and says so.
//!
//! It serves through `prism::http::serve`: a client gets 5 s to send a request head and a
//! kept-alive connection 30 s between requests, and at most 256 connections are open at
//! once, so clients that stall cannot keep `/metrics` from answering.
//!
//! Endpoints: `/` (an index), `/metrics` (Prometheus 0.0.4 or OpenMetrics, negotiated on
//! `Accept`), `/debug/vars` (expvar JSON), `/status` (a coherent snapshot, JSON) and
//! `/snapshot` (the core read path as plain text).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use std::sync::atomic::fence;

use prism::callback::{CounterFn, GaugeFn};
use prism::counters::{
    Capped, NumaCounter, PerCpuCounter, PerThreadCounter, ShardedCounter, SloppyCounter,
    StripedCounter,
};
use prism::gauges::{Max, Min};
use prism::histogram::{Summary, WindowedHistogram};
use prism::publish::Publisher;
use prism::rate::WindowedRate;
use prism::registry::Metadata;
use prism::{
    Counter, Family, FloatCounter, FloatGauge, Gauge, Histogram, LabelSet, Registry, TypedFamily,
    UpDownCounter,
};

/// Counts every allocation, so that `memstats` in `/debug/vars` shows real `Alloc`,
/// `TotalAlloc`, `Mallocs` and `Frees`.
#[global_allocator]
static ALLOC: prism::json::CountingAllocator = prism::json::CountingAllocator::new();

const DEFAULT_LISTEN: &str = "127.0.0.1:9898";
const USAGE: &str = "usage: demo [--listen ADDR]   (default 127.0.0.1:9898)";

/// The labels of `demo_requests`: the label names are the field names.
#[derive(LabelSet)]
struct RequestLabels {
    method: &'static str,
    code: u16,
}

/// Handles to every metric the workers update.
#[derive(Clone)]
struct Metrics {
    requests: TypedFamily<RequestLabels, Counter>,
    request_seconds: FloatCounter,
    in_flight: UpDownCounter,
    queue_depth: Gauge,
    temperature: FloatGauge,
    payload_max: Max,
    payload_min: Min,
    retry_budget: Capped,
    bytes: Counter,
    handled: Counter,
    errors: Counter,
    latency: Histogram,
    recent_latency: WindowedHistogram,
    payload: Summary,
    rate: WindowedRate,
    sharded: ShardedCounter,
    per_cpu: PerCpuCounter,
    striped: StripedCounter,
    numa: NumaCounter,
    sloppy: SloppyCounter,
    per_thread: PerThreadCounter,
}

fn register(registry: &Registry, bytes_source: Arc<AtomicU64>) -> Result<Metrics, prism::Error> {
    let requests = registry.register(
        "demo_requests",
        "Requests handled, by method and status code.",
        Family::<Counter>::builder(RequestLabels::NAMES.iter().copied())
            .cardinality_limit(50)
            .build()?
            .typed()?,
    )?;
    let request_seconds = registry.register_with(
        Metadata::new("demo_request_seconds", "Time spent handling requests.").unit("seconds"),
        FloatCounter::new(),
    )?;
    let in_flight = registry.register(
        "demo_in_flight",
        "Requests being handled (an up-down counter: OTLP sends it as a non-monotonic Sum).",
        UpDownCounter::new(),
    )?;
    let queue_depth = registry.register(
        "demo_queue_depth",
        "Jobs waiting, as last sampled (a gauge: it is set).",
        Gauge::new(),
    )?;
    let temperature = registry.register_with(
        Metadata::new("demo_temperature_celsius", "A simulated temperature.").unit("celsius"),
        FloatGauge::new(),
    )?;
    // Sizes in bytes, Prometheus' base unit: a latency in microseconds would not be one,
    // and these trackers hold integers.
    let payload_max = registry.register_with(
        Metadata::new(
            "demo_payload_max_bytes",
            "Largest response since the last reset.",
        )
        .unit("bytes"),
        Max::new(),
    )?;
    let payload_min = registry.register_with(
        Metadata::new(
            "demo_payload_min_bytes",
            "Smallest response since the last reset.",
        )
        .unit("bytes"),
        Min::new(),
    )?;
    let retry_budget = registry.register(
        "demo_retries",
        "Retries spent out of a budget of 1000.",
        Capped::new(1000),
    )?;
    let bytes = registry.register("demo_bytes_written", "Bytes written.", Counter::new())?;
    registry.register(
        "demo_bytes_source",
        "Bytes counted by a subsystem prism does not own, read through a closure.",
        CounterFn::new(move || bytes_source.load(Ordering::Relaxed)),
    )?;
    registry.register(
        "demo_worker_threads",
        "Worker threads, read through a closure.",
        GaugeFn::new(|| WORKERS as i64),
    )?;
    let handled = registry.register(
        "demo_handled",
        "Requests handled, all of them.",
        Counter::new(),
    )?;
    let errors = registry.register(
        "demo_errors",
        "Requests that failed (code 500).",
        Counter::new(),
    )?;
    let latency = registry.register(
        "demo_request_duration_seconds",
        "Request latency (HDR histogram, exported with explicit buckets).",
        Histogram::new(),
    )?;
    let recent_latency = registry.register(
        "demo_request_duration_recent_seconds",
        "Request latency over the last 5 minutes (sliding window of 1-minute slots).",
        WindowedHistogram::new(),
    )?;
    // Sizes, not times: one recorded unit is one exported unit, up to 1 MiB.
    let sizes = match Histogram::builder()
        .unit_scale(1.0)
        .lowest(1)
        .highest(1 << 20)
        .buckets([64.0, 256.0, 1024.0, 4096.0, 16384.0])
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("demo: payload histogram: {e}");
            std::process::exit(1);
        }
    };
    let payload = registry.register(
        "demo_payload_bytes",
        "Response sizes, published as quantiles.",
        Summary::from(sizes),
    )?;
    let rate = registry.register(
        "demo_request_rate",
        "Requests per second over the last minute.",
        WindowedRate::new(),
    )?;
    let sharded = registry.register(
        "demo_events_sharded",
        "Events on a sharded counter.",
        ShardedCounter::new(),
    )?;
    let per_cpu = registry.register(
        "demo_events_per_cpu",
        "Events on a per-CPU counter.",
        PerCpuCounter::new(),
    )?;
    let striped = registry.register(
        "demo_events_striped",
        "Events on a striped (LongAdder-style) counter.",
        StripedCounter::new(),
    )?;
    let numa = registry.register(
        "demo_events_numa",
        "Events on a NUMA-aware counter.",
        NumaCounter::new(),
    )?;
    let sloppy = registry.register(
        "demo_events_sloppy",
        "Events on a sloppy counter, through thread-owned locals flushed every 64.",
        SloppyCounter::new(),
    )?;
    let per_thread = registry.register(
        "demo_events_per_thread",
        "Events on a per-thread single-writer counter.",
        PerThreadCounter::new(),
    )?;
    Ok(Metrics {
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
        requests,
        request_seconds,
        in_flight,
        queue_depth,
        temperature,
        payload_max,
        payload_min,
        retry_budget,
        bytes,
    })
}

const WORKERS: usize = 3;
const METHODS: [&str; 3] = ["GET", "POST", "PUT"];
const CODES: [u16; 4] = [200, 200, 404, 500];

/// A small xorshift: the demo needs varied numbers, not good ones.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn work(id: usize, m: Metrics, bytes_source: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ (id as u64 + 1);
    let local = m.sloppy.local(64);
    let writer = m.per_thread.writer();
    while !stop.load(Ordering::Relaxed) {
        let _in_flight = m.in_flight.track();
        m.queue_depth.set((next(&mut rng) % 16) as i64);
        let r = next(&mut rng);
        let method = METHODS[(r % 3) as usize];
        let code = CODES[((r >> 8) % 4) as usize];
        let micros = 50 + (r >> 16) % 5000;
        m.handled.inc();
        m.requests.get(&RequestLabels { method, code }).inc();
        m.rate.inc();
        m.latency.record_duration(Duration::from_micros(micros));
        m.recent_latency
            .record_duration(Duration::from_micros(micros));
        m.payload.record(r % 4096);
        m.payload_max.observe((r % 4096) as i64);
        m.payload_min.observe((r % 4096) as i64);
        m.sharded.inc();
        m.per_cpu.inc();
        m.striped.inc();
        m.numa.inc();
        local.inc();
        writer.inc();
        m.request_seconds.add(micros as f64 / 1e6);
        m.bytes.add(r % 4096);
        bytes_source.fetch_add(r % 512, Ordering::Relaxed);
        if code == 500 {
            // Counted after `handled`, with a fence between, so that /status, which reads
            // `errors` first, always shows errors <= handled (see prism's Publisher docs).
            fence(Ordering::Release);
            m.errors.inc();
            m.retry_budget.try_inc();
        }
        m.temperature.set(20.0 + (r % 1000) as f64 / 100.0);
        thread::sleep(Duration::from_millis(20));
    }
}

fn parse_listen() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut listen = DEFAULT_LISTEN.to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                listen = args
                    .next()
                    .ok_or(format!("--listen needs an address\n{USAGE}"))?
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    listen
        .parse()
        .map_err(|e| format!("--listen {listen:?}: {e}\n{USAGE}"))
}

async fn index() -> &'static str {
    "prism demo\n\n\
     /metrics      Prometheus text 0.0.4, or OpenMetrics 1.0 when the Accept header asks for it\n\
     /debug/vars   expvar-compatible JSON\n\
     /status       a coherent snapshot (errors <= handled in every one), JSON, refreshed each second\n\
     /snapshot     the core read path, as text\n"
}

/// What `/status` serves: one coherent publication, rebuilt every second.
#[derive(Debug, Clone, serde::Serialize)]
struct Status {
    /// Requests handled.
    handled: u64,
    /// Of which failed; never above `handled` in any publication.
    errors: u64,
    /// Requests per second over the last minute.
    requests_per_second: f64,
    /// Latency quantiles over the last 5 minutes, in seconds (null before any request).
    p50_seconds: Option<f64>,
    p99_seconds: Option<f64>,
    /// Requests in that window.
    window_count: u64,
    /// How many publications there have been.
    publication: u64,
}

fn status_publisher(m: &Metrics) -> Publisher<Status> {
    let m = m.clone();
    let published = Arc::new(AtomicU64::new(0));
    Publisher::new(move || {
        // Read in the reverse of the order the workers update: errors last, so first here.
        let errors = m.errors.get();
        fence(Ordering::Acquire);
        let handled = m.handled.get();
        let window = m.recent_latency.snapshot();
        let value = window.value();
        Status {
            handled,
            errors,
            requests_per_second: m.rate.rate(),
            p50_seconds: value.p50(),
            p99_seconds: value.p99(),
            window_count: window.count(),
            publication: published.fetch_add(1, Ordering::Relaxed) + 1,
        }
    })
}

fn snapshot_text(registry: &Registry) -> String {
    let mut out = String::new();
    for family in registry.snapshot().families {
        let d = &family.descriptor;
        out.push_str(&format!(
            "{} ({}): {}\n",
            d.name(),
            d.kind().as_str(),
            d.help()
        ));
        for s in family.series {
            let labels: Vec<String> = d
                .label_names()
                .iter()
                .zip(&s.label_values)
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            let labels = if s.overflow {
                "overflow".to_owned()
            } else {
                labels.join(",")
            };
            out.push_str(&format!("  {{{labels}}} {:?}\n", s.value));
        }
    }
    out
}

fn routes(registry: Registry, status: Publisher<Status>) -> Router {
    let vars = prism::json::Vars::new(&registry);
    Router::new()
        .route("/", get(index))
        .route(
            "/status",
            get(move || {
                let status = status.load();
                async move {
                    let body = serde_json::to_string(&*status)
                        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                }
            }),
        )
        .merge(prism::prom::router(registry.clone()))
        .merge(prism::json::router(vars))
        .route(
            "/snapshot",
            get(move || async move { snapshot_text(&registry) }),
        )
}

/// Ctrl-C, or SIGTERM where there are signals: both stop the server gracefully, so the OTLP
/// exporter flushes once.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let listen = match parse_listen() {
        Ok(addr) => addr,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let registry = Registry::new();
    let bytes_source = Arc::new(AtomicU64::new(0));
    let metrics = match register(&registry, bytes_source.clone()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("demo: registering metrics failed: {e}");
            std::process::exit(1);
        }
    };
    let status = status_publisher(&metrics);
    let _publishing = status.spawn(Duration::from_secs(1));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|id| {
            let (m, b, s) = (metrics.clone(), bytes_source.clone(), stop.clone());
            thread::spawn(move || work(id, m, b, s))
        })
        .collect();

    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo: cannot listen on {listen}: {e} (pick another with --listen ADDR)");
            std::process::exit(1);
        }
    };
    // The standard variables: a base URL for every signal, or the metrics signal's own URL.
    let otel = if [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
    {
        match prism::otel::Exporter::from_env(registry.clone())
            .and_then(prism::otel::Exporter::start)
        {
            Ok(handle) => {
                println!(
                    "pushing OTLP ({}) to {} every {:?}",
                    handle.protocol().as_str(),
                    handle.endpoint(),
                    handle.interval()
                );
                Some(handle)
            }
            Err(e) => {
                eprintln!("demo: OTLP exporter: {e}");
                std::process::exit(1);
            }
        }
    } else {
        None
    };
    let local = listener.local_addr().unwrap_or(listen);
    println!("prism demo listening on http://{local}/ (Ctrl-C to stop)");
    let server = prism::http::serve(listener, routes(registry, status))
        .with_graceful_shutdown(shutdown_signal());
    if let Err(e) = server.await {
        eprintln!("demo: {e}");
    }
    if let Some(handle) = otel {
        if let Err(e) = handle.shutdown_async(Duration::from_secs(5)).await {
            eprintln!("demo: OTLP shutdown: {e}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
}
