//! `MetricsLayer` on real sockets and in process: exact counts, the p99 of injected
//! latencies, streamed bodies timed to their end, and every way a request can end early.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Router};
use bytes::Bytes;
use http_body_util::BodyExt;
use prism_core::{ManualClock, Registry};
use prism_http::{MetricsLayer, RequestStats};
use tower::{Service, ServiceBuilder, ServiceExt};

use support::*;

const S: &str = "http";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_are_exact_per_route_method_and_status() {
    let registry = Registry::new();
    let app = Router::new()
        .route(
            "/items/{id}",
            get(|| async { "item" })
                .post(|body: String| async move { (StatusCode::CREATED, body) }),
        )
        .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .layer(MetricsLayer::new(&registry).unwrap());
    let addr = start(app).await;

    for i in 0..25 {
        assert_eq!(request(addr, "GET", &format!("/items/{i}")).await.0, 200);
    }
    for _ in 0..7 {
        assert_eq!(request(addr, "GET", "/fail").await.0, 500);
    }
    for i in 0..4 {
        let raw = format!(
            "POST /items/{i} HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd"
        );
        assert_eq!(send(addr, &raw).await, (201, "abcd".to_owned()));
    }
    for i in 0..6 {
        assert_eq!(request(addr, "GET", &format!("/nope/{i}")).await.0, 404);
    }
    for _ in 0..3 {
        assert_eq!(request(addr, "PROPFIND", "/items/1").await.0, 405);
    }

    let items = ["GET", "/items/{id}", "200", "", S];
    let fail = ["GET", "/fail", "500", "500", S];
    let post = ["POST", "/items/{id}", "201", "", S];
    let unmatched = ["GET", "", "404", "", S];
    let other = ["_OTHER", "/items/{id}", "405", "", S];
    let expected = [
        (items, 25),
        (fail, 7),
        (post, 4),
        (unmatched, 6),
        (other, 3),
    ];
    let settled = eventually(|| {
        active(&registry) == 0 && expected.iter().all(|(l, n)| count(&registry, l) == *n)
    })
    .await;
    let counts: Vec<_> = expected.iter().map(|(l, _)| count(&registry, l)).collect();
    assert!(settled, "counts {counts:?}, active {}", active(&registry));
    assert_eq!(series(&registry, DURATION), expected.len());

    let posted = histogram(&registry, REQUEST_SIZE, &post).unwrap();
    assert_eq!((posted.count(), posted.sum()), (4, 16.0));
    let answered = histogram(&registry, RESPONSE_SIZE, &post).unwrap();
    assert_eq!((answered.count(), answered.sum()), (4, 16.0));
    let gets = histogram(&registry, RESPONSE_SIZE, &items).unwrap();
    assert_eq!((gets.count(), gets.sum()), (25, 100.0));
    // GETs carry no body: recorded as 0 bytes, as their size is known.
    let got = histogram(&registry, REQUEST_SIZE, &items).unwrap();
    assert_eq!((got.count(), got.sum()), (25, 0.0));
}

/// The handler advances the layer's clock by a latency drawn at random, so each request's
/// recorded duration is exactly that latency; the p99 read back must be the p99 of the
/// injected latencies within the histogram's 3 significant digits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p99_is_the_injected_latencies_within_hdr_precision() {
    let registry = Registry::new();
    let clock = ManualClock::new();
    let handler_clock = clock.clone();
    let app = Router::new()
        .route(
            "/work/{us}",
            get(move |Path(us): Path<u64>| {
                let clock = handler_clock.clone();
                async move {
                    clock.advance(Duration::from_micros(us));
                    "done"
                }
            }),
        )
        .layer(
            MetricsLayer::builder()
                .clock(clock)
                .build(&registry)
                .unwrap(),
        );
    let addr = start(app).await;

    // Log-uniform from 100 us to 2 s: a tail that buckets alone would blur.
    let mut rng = fastrand::Rng::with_seed(12);
    let mut injected: Vec<u64> = (0..400)
        .map(|_| (100.0 * (rng.f64() * (20_000f64).ln()).exp()) as u64)
        .collect();
    for us in &injected {
        // One at a time: the clock moves only inside the request being measured.
        assert_eq!(request(addr, "GET", &format!("/work/{us}")).await.0, 200);
    }
    let labels = ["GET", "/work/{us}", "200", "", S];
    assert!(eventually(|| count(&registry, &labels) == 400).await);

    injected.sort_unstable();
    let rank = (0.99 * injected.len() as f64).ceil() as usize;
    let p99 = injected[rank - 1] as f64 * 1e-6;
    let read = histogram(&registry, DURATION, &labels).unwrap();
    let got = read.p99().unwrap();
    assert!(
        (got - p99).abs() <= p99 * 0.001,
        "p99 read {got} s, injected {p99} s"
    );
    let total: u64 = injected.iter().sum();
    assert!(
        (read.sum() - total as f64 * 1e-6).abs() < 1e-6,
        "sum {}",
        read.sum()
    );
}

/// Real sleeps: each recorded duration is at least the handler's sleep, so the p99 read is
/// at least the p99 slept (less the histogram's 0.1 %).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_sleeps_bound_the_recorded_p99_from_below() {
    let registry = Registry::new();
    let app = Router::new()
        .route(
            "/sleep/{ms}",
            get(|Path(ms): Path<u64>| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                "slept"
            }),
        )
        .layer(MetricsLayer::new(&registry).unwrap());
    let addr = start(app).await;
    let slept: Vec<u64> = (1..=20).map(|i| i * 5).collect();
    for ms in &slept {
        assert_eq!(request(addr, "GET", &format!("/sleep/{ms}")).await.0, 200);
    }
    let labels = ["GET", "/sleep/{ms}", "200", "", S];
    assert!(eventually(|| count(&registry, &labels) == 20).await);
    let read = histogram(&registry, DURATION, &labels).unwrap();
    assert!(read.min().unwrap() >= 0.005 * 0.999, "min {:?}", read.min());
    assert!(read.p99().unwrap() >= 0.100 * 0.999, "p99 {:?}", read.p99());
}

/// Three chunks, the clock moving 50 ms before each: the request lasts 150 ms, not the 0 ms
/// it took to send the head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_body_is_timed_to_its_last_chunk() {
    let registry = Registry::new();
    let clock = ManualClock::new();
    let body_clock = clock.clone();
    let app = Router::new()
        .route(
            "/stream",
            get(move || {
                let clock = body_clock.clone();
                async move {
                    let chunks = futures_util::stream::unfold(0u32, move |i| {
                        let clock = clock.clone();
                        async move {
                            if i == 3 {
                                return None;
                            }
                            clock.advance(Duration::from_millis(50));
                            Some((Ok::<_, Infallible>(Bytes::from_static(b"chunk")), i + 1))
                        }
                    });
                    Body::from_stream(chunks)
                }
            }),
        )
        .layer(
            MetricsLayer::builder()
                .clock(clock)
                .build(&registry)
                .unwrap(),
        );
    let addr = start(app).await;
    let (status, body) = request(addr, "GET", "/stream").await;
    assert_eq!(status, 200);
    assert!(body.contains("chunk"), "{body}");

    let labels = ["GET", "/stream", "200", "", S];
    assert!(eventually(|| count(&registry, &labels) == 1).await);
    let read = histogram(&registry, DURATION, &labels).unwrap();
    assert!(
        (read.sum() - 0.150).abs() < 1e-9,
        "duration {} s",
        read.sum()
    );
    let size = histogram(&registry, RESPONSE_SIZE, &labels).unwrap();
    assert_eq!(size.sum(), 15.0);
}

/// An outer timeout (tower-http's, answering 408) drops the request: it leaves the active
/// count and is counted with no status and `error_type="aborted"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outer_timeout_counts_the_request_aborted() {
    let registry = Registry::new();
    let app = Router::new()
        .route("/hang", get(std::future::pending::<&'static str>))
        .layer(MetricsLayer::new(&registry).unwrap())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(50),
        ));
    let addr = start(app).await;
    assert_eq!(request(addr, "GET", "/hang").await.0, 408);
    let labels = ["GET", "/hang", "", "aborted", S];
    assert!(eventually(|| count(&registry, &labels) == 1 && active(&registry) == 0).await);
}

/// A client that leaves while its handler runs: hyper drops the request, the layer counts
/// it aborted and the active count goes back to 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_counts_the_request_aborted() {
    use tokio::io::AsyncWriteExt;

    let registry = Registry::new();
    let app = Router::new()
        .route("/hang", get(std::future::pending::<&'static str>))
        .layer(MetricsLayer::new(&registry).unwrap());
    let addr = start(app).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    assert!(eventually(|| active(&registry) == 1).await);
    drop(stream);
    let labels = ["GET", "/hang", "", "aborted", S];
    assert!(
        eventually(|| count(&registry, &labels) == 1 && active(&registry) == 0).await,
        "active {}",
        active(&registry)
    );
}

async fn panics() -> &'static str {
    panic!("handler panicked on purpose")
}

/// `CatchPanic` outside the layer: the layer sees the unwinding and counts `panic`; inside
/// it: the layer sees CatchPanic's 500 and counts `"500"`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_counted_under_catch_panic() {
    let outside = Registry::new();
    let app = Router::new()
        .route("/panic", get(panics))
        .layer(MetricsLayer::new(&outside).unwrap())
        .layer(tower_http::catch_panic::CatchPanicLayer::new());
    let addr = start(app).await;
    assert_eq!(request(addr, "GET", "/panic").await.0, 500);
    let labels = ["GET", "/panic", "", "panic", S];
    assert!(eventually(|| count(&outside, &labels) == 1 && active(&outside) == 0).await);

    let inside = Registry::new();
    let app = Router::new()
        .route("/panic", get(panics))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(MetricsLayer::new(&inside).unwrap());
    let addr = start(app).await;
    assert_eq!(request(addr, "GET", "/panic").await.0, 500);
    let labels = ["GET", "/panic", "500", "500", S];
    assert!(eventually(|| count(&inside, &labels) == 1 && active(&inside) == 0).await);
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn get_request(path: &str) -> http::Request<String> {
    http::Request::get(path).body(String::new()).unwrap()
}

/// tower's `Timeout` inside the layer returns its error: `timeout`, no status.
#[tokio::test(start_paused = true)]
async fn an_inner_timeout_error_is_counted_timeout() {
    let registry = Registry::new();
    let service = ServiceBuilder::new()
        .layer(MetricsLayer::new(&registry).unwrap())
        .timeout(Duration::from_secs(1))
        .service_fn(|_: http::Request<String>| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, BoxError>(http::Response::new(String::new()))
        });
    assert!(service.oneshot(get_request("/x")).await.is_err());
    assert_eq!(count(&registry, &["GET", "", "", "timeout", S]), 1);
    assert_eq!(active(&registry), 0);
}

fn streaming_service(
    layer: &MetricsLayer,
    chunks: Vec<Result<&'static str, &'static str>>,
) -> impl Service<
    http::Request<String>,
    Response = http::Response<prism_http::layer::ResponseBody<Body>>,
    Error = Infallible,
> {
    ServiceBuilder::new()
        .layer(layer.clone())
        .service_fn(move |_: http::Request<String>| {
            let chunks = chunks.clone();
            async move {
                let stream = futures_util::stream::iter(chunks.into_iter().map(|c| {
                    c.map(|s: &'static str| Bytes::from_static(s.as_bytes()))
                        .map_err(|e| -> BoxError { e.into() })
                }));
                Ok::<_, Infallible>(http::Response::new(Body::from_stream(stream)))
            }
        })
}

/// A response body that fails midway: `error_type="body"` with the status sent.
#[tokio::test]
async fn a_failing_body_is_counted_body() {
    let registry = Registry::new();
    let layer = MetricsLayer::new(&registry).unwrap();
    let service = streaming_service(&layer, vec![Ok("abc"), Err("disk gone")]);
    let response = service.oneshot(get_request("/x")).await.unwrap();
    assert!(response.into_body().collect().await.is_err());
    assert_eq!(count(&registry, &["GET", "", "200", "body", S]), 1);
    let size = histogram(&registry, RESPONSE_SIZE, &["GET", "", "200", "body", S]).unwrap();
    assert_eq!(size.sum(), 3.0);
    assert_eq!(active(&registry), 0);
}

/// A response body dropped after its first chunk: `aborted`, with the bytes sent so far.
#[tokio::test]
async fn a_body_dropped_half_sent_is_counted_aborted() {
    let registry = Registry::new();
    let layer = MetricsLayer::new(&registry).unwrap();
    let service = streaming_service(&layer, vec![Ok("abc"), Ok("def")]);
    let response = service.oneshot(get_request("/x")).await.unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert_eq!(first.into_data().unwrap(), "abc");
    assert_eq!(active(&registry), 1);
    drop(body);
    let labels = ["GET", "", "200", "aborted", S];
    assert_eq!(count(&registry, &labels), 1);
    assert_eq!(
        histogram(&registry, RESPONSE_SIZE, &labels).unwrap().sum(),
        3.0
    );
    assert_eq!(active(&registry), 0);

    // Read to its end, the same body is complete.
    let service = streaming_service(&layer, vec![Ok("abc"), Ok("def")]);
    let response = service.oneshot(get_request("/x")).await.unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "abcdef"
    );
    assert_eq!(count(&registry, &["GET", "", "200", "", S]), 1);
}

/// A response future dropped before the handler answered.
#[tokio::test]
async fn a_future_dropped_before_the_response_is_counted_aborted() {
    let registry = Registry::new();
    let mut service = ServiceBuilder::new()
        .layer(MetricsLayer::new(&registry).unwrap())
        .service_fn(|_: http::Request<String>| {
            std::future::pending::<Result<http::Response<String>, Infallible>>()
        });
    let future = service.ready().await.unwrap().call(get_request("/x"));
    assert_eq!(active(&registry), 1);
    drop(future);
    assert_eq!(count(&registry, &["GET", "", "", "aborted", S]), 1);
    assert_eq!(active(&registry), 0);
}

/// A `Write` that keeps what tracing-subscriber's formatter writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Handlers count into `RequestStats`; at the end the values land in their histograms and
/// in the request's one tracing event, beside method, route, status and duration.
#[tokio::test]
async fn request_stats_are_recorded_and_logged_once_per_request() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let registry = Registry::new();
    let app = Router::new()
        .route(
            "/items/{id}",
            get(|Extension(stats): Extension<RequestStats>| async move {
                assert!(stats.add("db_calls", 2));
                assert!(stats.add("db_calls", 1));
                assert!(stats.add("cache_hits", 1));
                assert!(!stats.add("undeclared", 1));
                "item"
            }),
        )
        .layer(
            MetricsLayer::builder()
                .stats(["db_calls", "cache_hits"])
                .build(&registry)
                .unwrap(),
        );
    for _ in 0..2 {
        let request = http::Request::get("/items/7").body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        response.into_body().collect().await.unwrap();
    }

    let db = histogram(
        &registry,
        "http_server_request_stat_db_calls",
        &["GET", "/items/{id}"],
    );
    let db = db.unwrap();
    assert_eq!((db.count(), db.sum()), (2, 6.0));
    let hits = histogram(
        &registry,
        "http_server_request_stat_cache_hits",
        &["GET", "/items/{id}"],
    );
    assert_eq!(hits.unwrap().sum(), 2.0);

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("prism_http::request"))
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    for line in lines {
        for part in [
            "GET",
            "/items/{id}",
            "200",
            "duration_s=",
            "stats=db_calls=3 cache_hits=1",
        ] {
            assert!(line.contains(part), "{part} not in {line}");
        }
    }
}
