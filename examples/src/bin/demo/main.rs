//! The prism demo service: a small HTTP API whose every request is measured, one metric of
//! each prism kind, served over HTTP on 127.0.0.1:9898 (change it with `--listen ADDR`).
//!
//! `--load RPS` sends that many real HTTP requests per second to the API from inside the
//! process, so that the numbers move without any other tool.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL) or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`
//! (the full URL) set, it also pushes OTLP there (interval from
//! `OTEL_METRIC_EXPORT_INTERVAL`, protocol from `OTEL_EXPORTER_OTLP_PROTOCOL`), and says so.
//!
//! It serves through `prism::http::serve`: a client gets 5 s to send a request head and a
//! kept-alive connection 30 s between requests, and at most 256 connections are open at
//! once, so clients that stall cannot keep `/metrics` from answering.
//!
//! Endpoints: `/` (an index), the API under `/api/` (see `api.rs`), `/metrics` (Prometheus
//! 0.0.4 or OpenMetrics, negotiated on `Accept`), `/debug/vars` (expvar JSON), `/status` (a
//! coherent snapshot, JSON) and `/snapshot` (the core read path as plain text).

mod api;
mod load;
mod metrics;
mod simulated;

use std::net::SocketAddr;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;

use prism::publish::Publisher;
use prism::Registry;

use crate::metrics::{LoadState, Metrics};

/// Counts every allocation, so that `memstats` in `/debug/vars` shows real `Alloc`,
/// `TotalAlloc`, `Mallocs` and `Frees`.
#[global_allocator]
static ALLOC: prism::json::CountingAllocator = prism::json::CountingAllocator::new();

const DEFAULT_LISTEN: &str = "127.0.0.1:9898";
const USAGE: &str = "usage: demo [--listen ADDR] [--load RPS]\n  \
    --listen ADDR  where to serve (default 127.0.0.1:9898)\n  \
    --load RPS     send RPS requests per second to the demo's own API (default: none)";

/// The command line.
struct Args {
    listen: SocketAddr,
    load: Option<u32>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut listen = DEFAULT_LISTEN.to_owned();
    let mut load = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                listen = args
                    .next()
                    .ok_or(format!("--listen needs an address\n{USAGE}"))?
            }
            "--load" => {
                let rps = args.next().ok_or(format!(
                    "--load needs a number of requests per second\n{USAGE}"
                ))?;
                load = match rps.parse::<u32>() {
                    Ok(n @ 1..=10_000) => Some(n),
                    _ => {
                        return Err(format!(
                            "--load {rps:?}: give requests per second from 1 to 10000\n{USAGE}"
                        ))
                    }
                };
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let listen = listen
        .parse()
        .map_err(|e| format!("--listen {listen:?}: {e}\n{USAGE}"))?;
    Ok(Args { listen, load })
}

async fn index() -> &'static str {
    "prism demo\n\n\
     /api/items/{id}      an item as JSON (ids 0 to 999; 404 above)\n\
     /api/slow?ms=N       answers after N ms (default 50 to 250 at random)\n\
     /api/flaky           fails with 500 one time in five\n\
     /api/stream?chunks=N streams N lines, 20 ms apart\n\
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
        // Read in the reverse of the order the API middleware updates: errors last, so first here.
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

fn routes(
    registry: Registry,
    metrics: Metrics,
    status: Publisher<Status>,
    http: prism::http::MetricsLayer,
) -> Router {
    let vars = prism::json::Vars::new(&registry);
    Router::new()
        .merge(api::router(metrics))
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
        // Every request, the endpoints' too: `http_server_request_duration_seconds` and the
        // rest of the OpenTelemetry HTTP server metrics, by matched route.
        .layer(http)
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
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let registry = Registry::new();
    let load_state = Arc::new(LoadState::default());
    let metrics = match metrics::register(&registry, load_state.clone()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("demo: registering metrics failed: {e}");
            std::process::exit(1);
        }
    };
    let http = match prism::http::MetricsLayer::new(&registry) {
        Ok(layer) => layer,
        Err(e) => {
            eprintln!("demo: registering the HTTP metrics failed: {e}");
            std::process::exit(1);
        }
    };
    let status = status_publisher(&metrics);
    let _publishing = status.spawn(Duration::from_secs(1));
    let stop = Arc::new(AtomicBool::new(false));
    let simulation = simulated::spawn(metrics.clone(), stop.clone());

    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "demo: cannot listen on {}: {e} (pick another with --listen ADDR)",
                args.listen
            );
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
    let local = listener.local_addr().unwrap_or(args.listen);
    if let Some(rps) = args.load {
        load::spawn(local, rps, load_state);
        println!("sending {rps} requests per second to http://{local}/api/");
    }
    println!("prism demo listening on http://{local}/ (Ctrl-C to stop)");
    let server = prism::http::serve(listener, routes(registry, metrics, status, http))
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
    let _ = simulation.join();
}
