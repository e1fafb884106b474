//! The demo's API: real routes, and the middleware that records the demo's own metrics for
//! every request they answer.
//!
//! - `GET /api/items/{id}`: an item as JSON for ids below 1000, 404 above, 400 for an id
//!   that is not a number;
//! - `GET /api/slow?ms=N`: answers after `N` ms (default: 50 to 250 at random; at most 2000);
//! - `GET /api/flaky`: fails with 500 about one time in five;
//! - `GET /api/stream?chunks=N`: streams `N` lines (default 5, at most 50), 20 ms apart.

use std::convert::Infallible;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::{MatchedPath, Path, Query, Request};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::metrics::{Metrics, RequestLabels};

/// Items that exist: ids below this.
const ITEMS: u64 = 1000;
/// The longest `/api/slow` waits.
const MAX_SLOW_MS: u64 = 2000;
/// The most lines `/api/stream` sends.
const MAX_CHUNKS: u32 = 50;

/// The API routes, each request recorded by [`observe`].
pub fn router(metrics: Metrics) -> Router {
    let waiting = metrics.slow_waiting.clone();
    Router::new()
        .route("/api/items/{id}", get(item))
        .route("/api/slow", get(move |q| slow(waiting.clone(), q)))
        .route("/api/flaky", get(flaky))
        .route("/api/stream", get(stream))
        // A route layer runs after routing, so the matched route template is known.
        .route_layer(middleware::from_fn(move |req: Request, next: Next| {
            observe(metrics.clone(), req, next)
        }))
}

/// Records one answered request in the demo's metrics. Timed to the response head: the
/// HTTP layer's `http_server_request_duration_seconds` is the one timed to the body's end.
async fn observe(m: Metrics, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let _in_flight = m.in_flight.track();
    let start = Instant::now();
    let response = next.run(req).await;
    let elapsed = start.elapsed();
    let code = response.status().as_u16();
    m.handled.inc();
    m.requests.get(&RequestLabels { method, code }).inc();
    m.routes.get(&[route.as_str()]).inc();
    m.rate.inc();
    m.latency.record_duration(elapsed);
    m.recent_latency.record_duration(elapsed);
    m.request_seconds.add(elapsed.as_secs_f64());
    m.sharded.inc();
    m.per_cpu.inc();
    m.striped.inc();
    m.numa.inc();
    if let Some(len) = response.body().size_hint().exact() {
        m.payload.record(len);
        m.payload_max.observe(len as i64);
        m.payload_min.observe(len as i64);
        m.bytes.add(len);
    }
    if code >= 500 {
        // Counted after `handled`, with a fence between, so that /status, which reads
        // `errors` first, always shows errors <= handled (see prism's Publisher docs).
        fence(Ordering::Release);
        m.errors.inc();
        m.retry_budget.try_inc();
    }
    response
}

/// The method as a label value from a closed set: a label never takes what a client sends.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "_OTHER",
    }
}

async fn item(Path(id): Path<String>) -> Response {
    let json = [(header::CONTENT_TYPE, "application/json")];
    match id.parse::<u64>() {
        Ok(id) if id < ITEMS => {
            let body = format!(
                "{{\"id\": {id}, \"name\": \"item-{id}\", \"price_cents\": {}}}",
                100 + id * 7 % 900
            );
            (json, body).into_response()
        }
        Ok(id) => (
            StatusCode::NOT_FOUND,
            json,
            format!(
                "{{\"error\": \"no item {id}: ids go from 0 to {}\"}}",
                ITEMS - 1
            ),
        )
            .into_response(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            json,
            "{\"error\": \"an item id is a number\"}",
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct SlowQuery {
    ms: Option<u64>,
}

async fn slow(waiting: prism::Gauge, Query(q): Query<SlowQuery>) -> String {
    let ms = q.ms.unwrap_or_else(|| 50 + random() % 201).min(MAX_SLOW_MS);
    // A guard: a request dropped mid-sleep (its client gone) is no longer counted either.
    let _waiting = waiting.track();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms\n")
}

async fn flaky() -> (StatusCode, &'static str) {
    if random().is_multiple_of(5) {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed, as it does one time in five\n",
        )
    } else {
        (StatusCode::OK, "ok\n")
    }
}

#[derive(serde::Deserialize)]
struct StreamQuery {
    chunks: Option<u32>,
}

async fn stream(Query(q): Query<StreamQuery>) -> Body {
    let chunks = q.chunks.unwrap_or(5).min(MAX_CHUNKS);
    let lines = futures_util::stream::unfold(0u32, move |i| async move {
        if i >= chunks {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Some((
            Ok::<_, Infallible>(format!("line {i} of {chunks}\n")),
            i + 1,
        ))
    });
    Body::from_stream(lines)
}

/// A number that varies from call to call: the demo needs varied numbers, not good ones.
pub fn random() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
