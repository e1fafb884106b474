//! `live` against an in-process axum server serving prism-prom and prism-json output (and
//! pushing prism-otel's OTLP to the check's receiver), while writer threads keep counting.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use axum::routing::get;
use axum::Router;
use prism_conformance::live::{self, Options, Receiver};
use prism_conformance::Format;
use prism_core::{Counter, Family, FloatGauge, Gauge, Registry};

/// A service on a loopback port, stopped when dropped.
struct Service {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `/metrics` (negotiated) and `/debug/vars` for `registry`; `vars` replaces the
/// JSON body when given (a broken service).
fn serve(registry: Registry, vars: Option<&'static str>) -> Service {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let metrics_registry = registry.clone();
            let app = Router::new()
                .route(
                    "/metrics",
                    get(move |headers: HeaderMap| {
                        let registry = metrics_registry.clone();
                        async move {
                            let accept = headers
                                .get(header::ACCEPT)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("");
                            let format = prism_prom::Format::negotiate(accept);
                            (
                                [(header::CONTENT_TYPE, format.content_type())],
                                prism_prom::render(&registry, format),
                            )
                        }
                    }),
                )
                .route(
                    "/debug/vars",
                    get(move || {
                        let registry = registry.clone();
                        async move {
                            vars.map(str::to_owned)
                                .unwrap_or_else(|| prism_json::render_to_string(&registry))
                        }
                    }),
                );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    Service {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    }
}

struct Demo {
    registry: Registry,
    stop: Arc<AtomicBool>,
    writers: Vec<thread::JoinHandle<()>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.writers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A registry with self-telemetry, and two threads updating it until dropped (each
/// stops by itself after 20 000 rounds).
fn demo() -> Demo {
    let registry = Registry::new();
    let requests = registry
        .register(
            "requests",
            "Requests by method.",
            Family::<Counter>::builder(["method", "code"])
                .cardinality_limit(4)
                .build()
                .unwrap(),
        )
        .unwrap();
    let in_flight = registry
        .register("in_flight", "In flight.", Gauge::new())
        .unwrap();
    let temperature = registry
        .register("temperature", "A temperature.", FloatGauge::new())
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers = (0..2)
        .map(|id| {
            let (requests, in_flight, temperature, stop) = (
                requests.clone(),
                in_flight.clone(),
                temperature.clone(),
                stop.clone(),
            );
            thread::spawn(move || {
                let methods = ["GET", "POST", "PUT"];
                for i in 0..20_000u64 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let _guard = in_flight.track();
                    requests
                        .get(&[
                            methods[(i as usize + id) % 3],
                            if i % 7 == 0 { "500" } else { "200" },
                        ])
                        .inc();
                    temperature.set((i % 100) as f64 / 4.0);
                    thread::sleep(Duration::from_micros(200));
                }
            })
        })
        .collect();
    Demo {
        registry,
        stop,
        writers,
    }
}

/// Pushes prism-otel's protobuf encoding of `registry` to `receiver` every 20 ms until
/// `stop` (at most 1500 pushes).
fn pusher(registry: Registry, url: String, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .into();
        let mut encoder = prism_otel::Encoder::new(prism_otel::Resource::new("live-test"));
        for _ in 0..1500 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let mut body = Vec::new();
            encoder.encode_protobuf(&registry, &mut body);
            let _ = agent
                .post(&url)
                .header("Content-Type", "application/x-protobuf")
                .send(&body[..]);
            thread::sleep(Duration::from_millis(20));
        }
    })
}

#[test]
fn a_live_service_agrees_in_every_format_while_it_counts() {
    let demo = demo();
    let service = serve(demo.registry.clone(), None);
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let push = pusher(
        demo.registry.clone(),
        format!("http://{}/v1/metrics", receiver.local_addr()),
        stop.clone(),
    );
    let mut options = Options::new(format!("http://{}", service.addr));
    options.otlp_timeout = Duration::from_secs(20);
    let report = live::run_with(&options, Some(&receiver));
    stop.store(true, Ordering::Relaxed);
    push.join().unwrap();
    assert!(report.is_ok(), "{report}");
    let formats: Vec<Format> = report.reads.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        formats,
        [
            Format::Prometheus,
            Format::OpenMetrics,
            Format::Json,
            Format::OtlpProto
        ]
    );
    assert_eq!(report.pairs.len(), 3);
    for pair in &report.pairs {
        // requests (up to 4 series and the overflow), in_flight, temperature, telemetry.
        assert!(pair.shared >= 5, "{report}");
    }
}

#[test]
fn a_counter_that_goes_backwards_between_reads_is_a_mismatch() {
    let registry = Registry::builder().self_telemetry(false).build();
    registry
        .register("jobs", "Jobs.", Counter::new())
        .unwrap()
        .add(10);
    let service = serve(registry, Some("{\n\"jobs\": 9\n}\n"));
    let report = live::run(&Options::new(format!("http://{}", service.addr))).unwrap();
    assert!(!report.is_ok());
    let text = report.to_string();
    assert!(
        text.contains("series jobs{}: value: openmetrics says 10, json says 9"),
        "{text}"
    );
}

#[test]
fn reads_that_share_no_series_prove_nothing_and_fail() {
    let registry = Registry::builder().self_telemetry(false).build();
    registry.register("up", "Up.", Gauge::new()).unwrap().set(1);
    let service = serve(registry, Some("{\"cmdline\": [\"x\"]}"));
    let report = live::run(&Options::new(format!("http://{}", service.addr))).unwrap();
    let json = report
        .pairs
        .iter()
        .find(|p| p.right == Format::Json)
        .unwrap();
    assert_eq!(json.shared, 0);
    assert!(!report.is_ok());
    assert!(report.to_string().contains("no shared series"), "{report}");
}

#[test]
fn an_unreachable_service_is_a_failed_read() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let mut options = Options::new(format!("http://{addr}"));
    options.scrape_timeout = Duration::from_secs(2);
    let report = live::run(&options).unwrap();
    assert!(!report.is_ok());
    assert!(report.reads.iter().all(|(_, r)| r.is_err()), "{report}");
}

#[test]
fn no_push_within_the_timeout_is_a_failed_read() {
    let registry = Registry::builder().self_telemetry(false).build();
    registry.register("up", "Up.", Gauge::new()).unwrap().set(1);
    let service = serve(registry, None);
    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut options = Options::new(format!("http://{}", service.addr));
    options.otlp_timeout = Duration::from_millis(200);
    let report = live::run_with(&options, Some(&receiver));
    let otlp = report.reads.last().unwrap();
    assert!(
        otlp.1.as_ref().is_err_and(|e| e.contains("no OTLP push")),
        "{report}"
    );
    assert!(!report.is_ok());
}

#[test]
fn the_cli_checks_a_live_service() {
    let demo = demo();
    let service = serve(demo.registry.clone(), None);
    let out = Command::new(env!("CARGO_BIN_EXE_prism-conformance"))
        .args(["live", "--url", &format!("http://{}", service.addr)])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("live: all formats agree"), "{stdout}");
    assert!(stdout.contains("prometheus -> openmetrics"), "{stdout}");
}

#[test]
fn the_cli_exits_1_and_names_the_series_when_formats_disagree() {
    let registry = Registry::builder().self_telemetry(false).build();
    registry
        .register("jobs", "Jobs.", Counter::new())
        .unwrap()
        .add(10);
    let service = serve(registry, Some("{\n\"jobs\": 9\n}\n"));
    let out = Command::new(env!("CARGO_BIN_EXE_prism-conformance"))
        .args(["live", "--url", &format!("http://{}", service.addr)])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("series jobs{}"), "{stdout}");
    assert!(stdout.contains("json says 9"), "{stdout}");
}

/// A gzip push (`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`) reaches the check inflated; a body
/// that says gzip but is not is refused with 400, an encoding the receiver does not know
/// with 415, and neither reaches the check.
#[test]
fn the_receiver_inflates_gzip_pushes_and_refuses_what_it_cannot_read() {
    use std::io::Write;
    let registry = Registry::builder().self_telemetry(false).build();
    registry
        .register("pushed", "Pushed.", Counter::new())
        .unwrap()
        .add(41);
    let mut body = Vec::new();
    prism_otel::Encoder::new(prism_otel::Resource::new("gzip-test"))
        .encode_protobuf(&registry, &mut body);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).unwrap();
    let compressed = gz.finish().unwrap();
    assert_ne!(compressed, body);

    let receiver = Receiver::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/v1/metrics", receiver.local_addr());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let post = |encoding: &str, bytes: &[u8]| {
        agent
            .post(&url)
            .header("Content-Type", "application/x-protobuf")
            .header("Content-Encoding", encoding)
            .send(bytes)
            .unwrap()
            .status()
            .as_u16()
    };
    let before = std::time::Instant::now();
    assert_eq!(post("gzip", b"not gzip at all"), 400);
    assert_eq!(post("br", &body), 415);
    assert_eq!(post("gzip", &compressed), 200);
    let push = receiver.next_after(before, Duration::from_secs(5)).unwrap();
    assert_eq!(push.format, Format::OtlpProto);
    assert_eq!(
        push.body, body,
        "the refused pushes never reached the check"
    );
}
