//! Per-request overhead of `MetricsLayer` against the peer middlewares, in one run, on the
//! same in-process axum router whose handlers answer at once (no network, no runtime: each
//! call is polled to completion and its body read to the end). Prints ns per request, the
//! overhead over no layer, and ratios; asserts nothing. The README holds the last table,
//! made by
//!
//!     cargo bench -p prism-http --bench layer

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

// prism-core's bench timing, so that every bench measures the same way.
#[path = "../../core/benches/support/mod.rs"]
mod support;
use support::ns_per_op;

const ITERS: u64 = 200_000;

/// Polls a future that completes without waiting, as every one here does.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// One request through `app`: routed, answered, its body read to the end and dropped.
fn one(app: &Router, path: &'static str) {
    let request = http::Request::get(path).body(Body::empty()).unwrap();
    let response = run(app.clone().oneshot(request)).unwrap();
    let body = run(response.into_body().collect()).unwrap();
    black_box(body);
}

async fn ok() -> &'static str {
    "ok"
}

#[autometrics::autometrics]
async fn ok_autometrics() -> &'static str {
    "ok"
}

fn routes() -> Router {
    Router::new().route("/a", get(ok)).route("/b", get(ok))
}

/// ns per request on one thread, on route `/a`.
fn one_thread(app: &Router) -> f64 {
    ns_per_op(ITERS, |_| one(app, "/a"))
}

/// Requests per second of two threads, one on `/a` and one on `/b`, over those of one.
fn two_threads(app: &Router, single_ns: f64) -> f64 {
    let barrier = Barrier::new(2);
    let elapsed = std::thread::scope(|s| {
        let runs: Vec<_> = ["/a", "/b"]
            .into_iter()
            .map(|path| {
                let barrier = &barrier;
                s.spawn(move || {
                    for _ in 0..ITERS / 10 {
                        one(app, path);
                    }
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..ITERS {
                        one(app, path);
                    }
                    start.elapsed()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).max().unwrap()
    });
    let aggregate_ns = elapsed.as_nanos() as f64 / (2 * ITERS) as f64;
    single_ns / aggregate_ns
}

fn main() {
    let registry = prism_core::Registry::new();
    let prism = routes().layer(prism_http::MetricsLayer::new(&registry).expect("a fresh registry"));

    // axum-prometheus spawns its exporter's upkeep task at construction.
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let _entered = runtime.enter();
    let (prometheus_layer, _handle) = axum_prometheus::PrometheusMetricLayer::pair();
    let axum_prometheus = routes().layer(prometheus_layer);

    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());
    let otel_layer = opentelemetry_instrumentation_tower::http::server::LayerBuilder::builder()
        .with_tracing(false)
        .build()
        .expect("the otel layer");
    let otel = routes().layer(otel_layer);

    // autometrics instruments handlers, not the router; it records through the `metrics`
    // recorder axum-prometheus installed above.
    let autometrics = Router::new()
        .route("/a", get(ok_autometrics))
        .route("/b", get(ok_autometrics));

    let bare = routes();
    let variants: [(&str, &Router); 5] = [
        ("no layer", &bare),
        ("prism-http MetricsLayer", &prism),
        ("axum-prometheus 0.10", &axum_prometheus),
        ("opentelemetry-instrumentation-tower 0.19", &otel),
        ("autometrics 3 (metrics backend)", &autometrics),
    ];
    // `cargo bench -p prism-http --bench layer -- prism` runs the rows whose name contains
    // `prism` (and the baseline), for a profiler.
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let results: Vec<(&str, f64, f64)> = variants
        .iter()
        .enumerate()
        .filter(|(i, (name, _))| *i == 0 || only.as_ref().is_none_or(|o| name.contains(o.as_str())))
        .map(|(_, (name, app))| {
            let single = one_thread(app);
            let scaling = two_threads(app, single);
            (*name, single, scaling)
        })
        .collect();

    let base = results[0].1;
    let prism_overhead = results[1].1 - base;
    println!("| middleware | ns/request, 1 thread | overhead | overhead / prism's | 2 threads, 2 routes: throughput / 1 thread |");
    println!("|---|---|---|---|---|");
    for (name, single, scaling) in &results {
        let overhead = single - base;
        let ratio = if name == &results[0].0 {
            String::new()
        } else {
            format!("{:.1}x", overhead / prism_overhead)
        };
        println!("| {name} | {single:.0} ns | {overhead:.0} ns | {ratio} | {scaling:.2}x |");
    }
    drop(provider);
}
