//! Per-request overhead of `MetricsLayer` against the peer middlewares, in one run, on the
//! same in-process tower service that answers at once (no network, no runtime: each call is
//! polled to completion and its body read to the end and dropped). Prints ns per request,
//! the overhead over no layer, and ratios; asserts nothing. The README holds the last
//! table, made by
//!
//!     cargo bench -p prism-http --bench layer
//!
//! `cargo bench -p prism-http --bench layer -- prism` runs only the rows whose name holds
//! `prism` (and the baseline), for a profiler.

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::hint::black_box;
use std::pin::pin;
use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Empty, Full};
use tower::{Layer, Service, ServiceExt};

// prism-core's bench timing, so that every bench measures the same way.
#[path = "../../core/benches/support/mod.rs"]
mod support;
use support::ns_per_op;

const ITERS: u64 = 200_000;
const PATHS: [&str; 2] = ["/a", "/b"];

type Req = Request<Empty<Bytes>>;

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

/// The service under every middleware: answers `ok` at once.
#[derive(Clone, Copy)]
struct Answer;

impl Service<Req> for Answer {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: Req) -> Self::Future {
        ready(Ok(Response::new(Full::new(Bytes::from_static(b"ok")))))
    }
}

/// The same, its answer made by a function that `#[autometrics]` instruments.
#[derive(Clone, Copy)]
struct Autometrics;

#[autometrics::autometrics]
fn answer() -> Response<Full<Bytes>> {
    Response::new(Full::new(Bytes::from_static(b"ok")))
}

impl Service<Req> for Autometrics {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: Req) -> Self::Future {
        ready(Ok(answer()))
    }
}

/// One request through `service`: answered, its body read to the end and dropped.
fn one<S, B>(service: &mut S, path: &'static str)
where
    S: Service<Req, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: Body,
    B::Error: std::fmt::Debug,
{
    let request = Request::get(path).body(Empty::new()).unwrap();
    let ready = run(service.ready()).unwrap();
    let response = run(ready.call(request)).unwrap();
    let body = run(response.into_body().collect()).unwrap();
    black_box(body);
}

/// ns per request on one thread, on `/a`; and the throughput of two threads, one on `/a`
/// and one on `/b`, over that of one.
fn measure<S, B>(service: S) -> (f64, f64)
where
    S: Service<Req, Response = Response<B>> + Clone + Send,
    S::Error: std::fmt::Debug,
    B: Body,
    B::Error: std::fmt::Debug,
{
    let mut single = service.clone();
    let single_ns = ns_per_op(ITERS, |_| one(&mut single, PATHS[0]));
    let barrier = Barrier::new(2);
    let elapsed = std::thread::scope(|s| {
        let runs: Vec<_> = PATHS
            .into_iter()
            .map(|path| {
                let barrier = &barrier;
                let mut service = service.clone();
                s.spawn(move || {
                    for _ in 0..ITERS / 10 {
                        one(&mut service, path);
                    }
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..ITERS {
                        one(&mut service, path);
                    }
                    start.elapsed()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).max().unwrap()
    });
    let aggregate_ns = elapsed.as_nanos() as f64 / (2 * ITERS) as f64;
    (single_ns, single_ns / aggregate_ns)
}

fn main() {
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| only.as_ref().is_none_or(|o| name.contains(o.as_str()));
    let mut results: Vec<(&str, f64, f64)> = Vec::new();
    let mut row = |name: &'static str, m: (f64, f64)| results.push((name, m.0, m.1));

    row("no layer", measure(Answer));

    if wanted("prism") {
        let registry = prism_core::Registry::new();
        // The service is no router: its routes are named by a function, as with hyper.
        let layer = prism_http::MetricsLayer::builder()
            .route_fn(|parts| match parts.uri.path() {
                "/a" => Some(Cow::Borrowed("/a")),
                "/b" => Some(Cow::Borrowed("/b")),
                _ => None,
            })
            .build(&registry)
            .expect("a fresh registry");
        row("prism-http MetricsLayer", measure(layer.layer(Answer)));
    }

    // axum-prometheus spawns its exporter's upkeep task at construction.
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let _entered = runtime.enter();
    let (prometheus_layer, _handle) = axum_prometheus::PrometheusMetricLayer::pair();
    if wanted("axum-prometheus") {
        row(
            "axum-prometheus 0.10",
            measure(prometheus_layer.layer(Answer)),
        );
    }

    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());
    if wanted("opentelemetry") {
        let otel = opentelemetry_instrumentation_tower::http::server::LayerBuilder::builder()
            .with_tracing(false)
            .build()
            .expect("the otel layer");
        row(
            "opentelemetry-instrumentation-tower 0.19",
            measure(otel.layer(Answer)),
        );
    }

    // autometrics instruments functions, not services; it records through the `metrics`
    // recorder axum-prometheus installed above.
    if wanted("autometrics") {
        row("autometrics 3 (`metrics` backend)", measure(Autometrics));
    }

    let base = results[0].1;
    let prism = results
        .iter()
        .find(|r| r.0.starts_with("prism"))
        .map(|r| r.1 - base);
    println!(
        "| middleware | ns/request, 1 thread | overhead | overhead / prism's | 2 threads on 2 routes: throughput / 1 thread |"
    );
    println!("|---|---|---|---|---|");
    for (i, (name, single, scaling)) in results.iter().enumerate() {
        let overhead = single - base;
        let ratio = match prism {
            Some(p) if i > 0 => format!("{:.1}x", overhead / p),
            _ => String::new(),
        };
        println!("| {name} | {single:.0} ns | {overhead:.0} ns | {ratio} | {scaling:.2}x |");
    }
    drop(provider);
}
