//! The prism demo service: one metric of each kind, updated by a few worker threads,
//! served over HTTP on 127.0.0.1:9898 (change it with `--listen ADDR`).
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, it also pushes OTLP there (interval from
//! `OTEL_METRIC_EXPORT_INTERVAL`, protocol from `OTEL_EXPORTER_OTLP_PROTOCOL`), and says so.
//!
//! Endpoints: `/` (an index), `/metrics` (Prometheus 0.0.4 or OpenMetrics, negotiated on
//! `Accept`), `/debug/vars` (expvar JSON) and `/snapshot` (the core read path as plain text).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use prism::{
    Capped, Counter, CounterFn, Family, FloatCounter, FloatGauge, Gauge, GaugeFn, Max, Metadata,
    Min, Registry,
};

const DEFAULT_LISTEN: &str = "127.0.0.1:9898";
const USAGE: &str = "usage: demo [--listen ADDR]   (default 127.0.0.1:9898)";

/// Handles to every metric the workers update.
#[derive(Clone)]
struct Metrics {
    requests: Family<Counter>,
    request_seconds: FloatCounter,
    in_flight: Gauge,
    temperature: FloatGauge,
    latency_max: Max,
    latency_min: Min,
    retry_budget: Capped,
    bytes: Counter,
}

fn register(registry: &Registry, bytes_source: Arc<AtomicU64>) -> Result<Metrics, prism::Error> {
    let requests = registry.register(
        "demo_requests",
        "Requests handled, by method and status code.",
        Family::<Counter>::builder(["method", "code"])
            .cardinality_limit(50)
            .build()?,
    )?;
    let request_seconds = registry.register_with(
        Metadata::new("demo_request_seconds", "Time spent handling requests.").unit("seconds"),
        FloatCounter::new(),
    )?;
    let in_flight = registry.register("demo_in_flight", "Requests being handled.", Gauge::new())?;
    let temperature = registry.register_with(
        Metadata::new("demo_temperature_celsius", "A simulated temperature.").unit("celsius"),
        FloatGauge::new(),
    )?;
    let latency_max = registry.register(
        "demo_latency_max_microseconds",
        "Largest request latency since the last reset.",
        Max::new(),
    )?;
    let latency_min = registry.register(
        "demo_latency_min_microseconds",
        "Smallest request latency since the last reset.",
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
    Ok(Metrics {
        requests,
        request_seconds,
        in_flight,
        temperature,
        latency_max,
        latency_min,
        retry_budget,
        bytes,
    })
}

const WORKERS: usize = 3;
const METHODS: [&str; 3] = ["GET", "POST", "PUT"];
const CODES: [&str; 4] = ["200", "200", "404", "500"];

/// A small xorshift: the demo needs varied numbers, not good ones.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn work(id: usize, m: Metrics, bytes_source: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ (id as u64 + 1);
    while !stop.load(Ordering::Relaxed) {
        let _in_flight = m.in_flight.track();
        let r = next(&mut rng);
        let method = METHODS[(r % 3) as usize];
        let code = CODES[((r >> 8) % 4) as usize];
        let micros = 50 + (r >> 16) % 5000;
        m.requests.get(&[method, code]).inc();
        m.request_seconds.add(micros as f64 / 1e6);
        m.latency_max.observe(micros as i64);
        m.latency_min.observe(micros as i64);
        m.bytes.add(r % 4096);
        bytes_source.fetch_add(r % 512, Ordering::Relaxed);
        if code == "500" {
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
     /snapshot     the core read path, as text\n"
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

fn routes(registry: Registry) -> Router {
    let vars = prism::json::Vars::new(&registry);
    Router::new()
        .route("/", get(index))
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
    let otel = if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
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
    let server = axum::serve(listener, routes(registry)).with_graceful_shutdown(shutdown_signal());
    if let Err(e) = server.await {
        eprintln!("demo: server error: {e}");
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
