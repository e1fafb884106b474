//! Serving an axum app on a real socket and reading the layer's metrics back.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use prism_core::{HistogramValue, Registry, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const DURATION: &str = "http_server_request_duration_seconds";
pub const ACTIVE: &str = "http_server_active_requests";
pub const REQUEST_SIZE: &str = "http_server_request_body_size_bytes";
pub const RESPONSE_SIZE: &str = "http_server_response_body_size_bytes";

/// Serves `app` on 127.0.0.1 through `prism_http::serve` until the runtime ends.
pub async fn start(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = prism_http::serve(listener, app).await;
    });
    addr
}

/// Sends `raw` (one request, `Connection: close`) and returns the status and the body.
pub async fn send(addr: SocketAddr, raw: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_owned())
}

/// `method path` with an empty body.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    send(
        addr,
        &format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// The histogram of `family` at `labels` (method, route, status, error, scheme).
pub fn histogram(registry: &Registry, family: &str, labels: &[&str]) -> Option<HistogramValue> {
    let read = registry.snapshot();
    let series = read.family(family)?.series(labels)?;
    match &series.value {
        Value::Histogram(h) => Some((**h).clone()),
        other => panic!("{family} is not a histogram: {other:?}"),
    }
}

/// How many requests `labels` counted in the duration histogram (0 when no series).
pub fn count(registry: &Registry, labels: &[&str]) -> u64 {
    histogram(registry, DURATION, labels).map_or(0, |h| h.count())
}

/// The sum of every active-requests series.
pub fn active(registry: &Registry) -> i64 {
    let read = registry.snapshot();
    read.family(ACTIVE)
        .map(|f| {
            f.series
                .iter()
                .map(|s| match s.value {
                    Value::Gauge(v) => v,
                    ref other => panic!("active requests is not a gauge: {other:?}"),
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Series of `family`, overflow included.
pub fn series(registry: &Registry, family: &str) -> usize {
    registry
        .snapshot()
        .family(family)
        .map_or(0, |f| f.series.len())
}

/// Waits until `done` holds, for at most 30 s, and says whether it did. The server records
/// a request when it drops the response body, which can be just after the client has read
/// the last byte.
pub async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..3000 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done()
}

/// Returns `found`; where it is `None`, panics under `CI=true` (CI must not pass without the
/// check) and otherwise prints one loud line saying which check did not run.
pub fn found_or_skip<T>(found: Option<T>, check: &str, message: &str) -> Option<T> {
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{check}: {message}"
        );
        eprintln!("\n!!! SKIPPED ({check}): {message}\n");
    }
    found
}
