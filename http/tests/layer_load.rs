//! `MetricsLayer` under hostile traffic and under load: series stay bounded, overflow is
//! counted, nothing panics, and the active count returns to 0.

mod support;

use std::borrow::Cow;
use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use prism_core::{Registry, Value};
use prism_http::MetricsLayer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::*;

const METHODS: [&str; 12] = [
    "GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "FOO", "PROPFIND",
    "M-SEARCH",
];

/// A request to a random path with a random (valid token) method; one in 50 carries a
/// 16 KiB header.
fn hostile_request(rng: &mut fastrand::Rng, last: bool) -> String {
    let method = METHODS[rng.usize(..METHODS.len())];
    let path: String = if rng.u8(..4) == 0 {
        format!("/items/{}", rng.u64(..))
    } else {
        let len = rng.usize(1..40);
        std::iter::once('/')
            .chain((0..len).map(|_| {
                let c = rng.u8(..64);
                match c {
                    0..=25 => (b'a' + c) as char,
                    26..=51 => (b'A' + c - 26) as char,
                    52..=61 => (b'0' + c - 52) as char,
                    62 => '/',
                    _ => '-',
                }
            }))
            .collect()
    };
    let junk = if rng.u8(..50) == 0 {
        format!("X-Junk: {}\r\n", "j".repeat(16 * 1024))
    } else {
        String::new()
    };
    let close = if last { "Connection: close\r\n" } else { "" };
    format!("{method} {path} HTTP/1.1\r\nHost: h\r\n{junk}{close}\r\n")
}

/// Sends `n` pipelined requests on one connection and returns how many responses came
/// back.
async fn pipeline(addr: SocketAddr, n: usize, seed: u64) -> usize {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut batch = String::new();
        for i in 0..n {
            batch.push_str(&hostile_request(&mut rng, i + 1 == n));
            if batch.len() > 64 * 1024 || i + 1 == n {
                write.write_all(batch.as_bytes()).await.unwrap();
                batch.clear();
            }
        }
        write
    });
    let mut responses = Vec::new();
    read.read_to_end(&mut responses).await.unwrap();
    drop(writer.await.unwrap());
    let text = String::from_utf8_lossy(&responses);
    text.matches("HTTP/1.1 ").count()
}

fn counter(registry: &Registry, family: &str, labels: &[&str]) -> u64 {
    let read = registry.snapshot();
    match read
        .family(family)
        .and_then(|f| f.series(labels))
        .map(|s| &s.value)
    {
        Some(Value::Counter(n)) => *n,
        _ => 0,
    }
}

fn total_count(registry: &Registry) -> u64 {
    let read = registry.snapshot();
    read.family(DURATION)
        .unwrap()
        .series
        .iter()
        .map(|s| match &s.value {
            Value::Histogram(h) => h.count(),
            other => panic!("{other:?}"),
        })
        .sum()
}

/// 100,000 requests to random paths with random methods through axum's router: the
/// labels are bounded by construction, so the series are a handful; then requests a server
/// must refuse (garbage methods, a head past hyper's limit) change nothing. Through a route
/// function that (wrongly) returns the raw path, the cardinality limit holds the series and
/// the refused label sets are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_traffic_keeps_series_bounded_and_counts_overflow() {
    const CONNECTIONS: usize = 8;
    const PER_CONNECTION: usize = 12_500;

    let bounded = Registry::new();
    let app = Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .layer(MetricsLayer::new(&bounded).unwrap());
    let addr = start(app).await;
    let sent = (0..CONNECTIONS)
        .map(|c| tokio::spawn(pipeline(addr, PER_CONNECTION, c as u64)))
        .collect::<Vec<_>>();
    let mut answered = 0;
    for task in sent {
        answered += task.await.unwrap();
    }
    assert_eq!(answered, CONNECTIONS * PER_CONNECTION);
    let total = (CONNECTIONS * PER_CONNECTION) as u64;
    assert!(eventually(|| total_count(&bounded) == total && active(&bounded) == 0).await);
    // 10 methods (9 known and `_OTHER`) x 2 routes x 3 statuses (200, 404, 405) at most.
    let n = series(&bounded, DURATION);
    assert!(n <= 60, "{n} series");
    assert_eq!(
        counter(&bounded, "prism_refused_label_sets", &[DURATION]),
        0
    );

    // Refused before the service: no series, no panic, the server still answers.
    for raw in [
        "G\u{1}T / HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        "GET\t/ HTTP/1.1\r\n\r\n".to_owned(),
        "\r\n\r\n\u{0}\u{0}".to_owned(),
        format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX-Huge: {}\r\n\r\n",
            "h".repeat(1 << 20)
        ),
    ] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let _ = stream.write_all(raw.as_bytes()).await;
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink).await;
    }
    assert_eq!(request(addr, "GET", "/items/1").await.0, 200);
    assert!(eventually(|| total_count(&bounded) == total + 1).await);
    assert_eq!(series(&bounded, DURATION), n);

    // A route function that returns the raw path: bounded by the cardinality limit only.
    let unbounded = Registry::new();
    let layer = MetricsLayer::builder()
        .route_fn(|parts| Some(Cow::Owned(parts.uri.path().to_owned())))
        .cardinality_limit(50)
        .build(&unbounded)
        .unwrap();
    let app = Router::new().fallback(|| async { "any" }).layer(layer);
    let addr = start(app).await;
    assert_eq!(pipeline(addr, 5_000, 99).await, 5_000);
    assert!(eventually(|| total_count(&unbounded) == 5_000 && active(&unbounded) == 0).await);
    let read = unbounded.snapshot();
    let family = read.family(DURATION).unwrap();
    assert_eq!(family.series.len(), 51, "50 series and the overflow series");
    assert!(family.overflow().is_some());
    assert!(counter(&unbounded, "prism_refused_label_sets", &[DURATION]) > 1_000);
}

/// `wrk -c 64 -d 3s` against a route: when it is done, no request is left active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_requests_return_to_zero_after_wrk() {
    let wrk = std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .ok();
    let Some(_) = found_or_skip(
        wrk,
        "wrk",
        "the in-flight check under 64 connections did not run; install Debian's `wrk` \
         (.ci/setup.d/http.sh does)",
    ) else {
        return;
    };

    let registry = Registry::new();
    let app = Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .layer(MetricsLayer::new(&registry).unwrap());
    let addr = start(app).await;
    let url = format!("http://{addr}/items/1");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("wrk")
            .args(["-t", "2", "-c", "64", "-d", "3s", &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let requests: u64 = stdout
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no request count in {stdout}"));
    assert!(requests > 0, "{stdout}");

    let ok = ["GET", "/items/{id}", "200", "", "http"];
    assert!(
        eventually(|| active(&registry) == 0).await,
        "{} still active",
        active(&registry)
    );
    // Requests wrk cut at its deadline may be counted aborted; the completed ones all are
    // counted 200.
    assert!(
        count(&registry, &ok) >= requests,
        "{} < {requests}",
        count(&registry, &ok)
    );
}
