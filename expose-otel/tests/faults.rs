//! Fault tests on loopback: a receiver down then up, throttling with `Retry-After`, a 400,
//! partial success, a receiver slower than the timeout. No panic, and the totals are right
//! once a push gets through. Counts and order are asserted, never durations. Memory over
//! hundreds of failed exports is measured in `down_endpoint.rs`.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prism_core::{Counter, Registry};
use prism_otel::{ExportResult, Exporter, Protocol, RetryPolicy, Temporality};
use support::{grpc_receiver, http_receiver, metrics, Answer, Number, Receiver};

const LONG: Duration = Duration::from_secs(3600);
const WAIT: Duration = Duration::from_secs(20);

fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
}

fn url(protocol: Protocol, addr: SocketAddr) -> String {
    match protocol {
        Protocol::Grpc => format!("http://{addr}"),
        _ => format!("http://{addr}/v1/metrics"),
    }
}

async fn receiver(protocol: Protocol) -> (SocketAddr, Receiver) {
    match protocol {
        Protocol::Grpc => grpc_receiver().await,
        _ => http_receiver().await,
    }
}

fn jobs(registry: &Registry) -> Counter {
    registry
        .get_or_register("jobs", "Jobs run.", Counter::new)
        .unwrap()
}

fn value_of(
    request: &prism_otel::proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
) -> i64 {
    match &metrics(request)["jobs"].points[0].value {
        Number::Int(v) => *v,
        other => panic!("{other:?}"),
    }
}

fn failure_reason(result: &ExportResult) -> &str {
    match result {
        ExportResult::Failure { reason, .. } => reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A port with nothing listening on it, free to be bound again later.
fn dead_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

async fn down_then_up(protocol: Protocol, temporality: Temporality) {
    let addr = dead_port();
    let registry = Registry::new();
    let jobs = jobs(&registry);
    let exporter = Exporter::new(registry.clone())
        .protocol(protocol)
        .endpoint(url(protocol, addr))
        .temporality(temporality)
        .timeout(Duration::from_secs(2))
        .retry(quick_retries().max_attempts(2))
        .interval(LONG)
        .start()
        .unwrap();
    jobs.add(5);
    let first = exporter.force_flush_async(WAIT).await.unwrap();
    assert_eq!(failure_reason(&first), "unreachable", "{first:?}");
    jobs.add(7);
    let second = exporter.force_flush_async(WAIT).await.unwrap();
    assert_eq!(failure_reason(&second), "unreachable");
    assert_eq!(exporter.telemetry().exports("failure"), 2);
    assert_eq!(exporter.telemetry().retries(), 2, "one retry per export");
    assert!(exporter.telemetry().last_error_at("unreachable") > 0.0);

    // The receiver comes up on the same port.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let receiver = Receiver::default();
    match protocol {
        Protocol::Grpc => support::serve_grpc(listener, receiver.clone()),
        _ => support::serve_http(listener, receiver.clone()),
    }
    jobs.add(1);
    let mut result = exporter.force_flush_async(WAIT).await.unwrap();
    // A gRPC channel may report the old connection failure once before reconnecting.
    if !result.delivered() && protocol == Protocol::Grpc {
        result = exporter.force_flush_async(WAIT).await.unwrap();
    }
    assert_eq!(result, ExportResult::Success);
    jobs.add(2);
    assert_eq!(
        exporter.force_flush_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    let received: Vec<i64> = receiver
        .received()
        .iter()
        .map(|r| value_of(&r.request))
        .collect();
    match temporality {
        // Nothing was lost: the first delivered delta spans the outage.
        Temporality::Delta => assert_eq!(received, [13, 2]),
        _ => assert_eq!(received, [13, 15]),
    }
    exporter.shutdown_async(WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_down_then_up_cumulative() {
    down_then_up(Protocol::HttpProtobuf, Temporality::Cumulative).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_down_then_up_delta() {
    down_then_up(Protocol::HttpJson, Temporality::Delta).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_down_then_up_cumulative() {
    down_then_up(Protocol::Grpc, Temporality::Cumulative).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_down_then_up_delta() {
    down_then_up(Protocol::Grpc, Temporality::Delta).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_with_retry_after_is_retried_when_it_fits() {
    let (addr, receiver) = http_receiver().await;
    receiver.script([Answer::Status(503, Some("0")), Answer::Ok]);
    let registry = Registry::new();
    jobs(&registry).add(4);
    // The default policy's first wait is about a second; `Retry-After: 0` replaces it.
    let exporter = Exporter::new(registry)
        .endpoint(url(Protocol::HttpProtobuf, addr))
        .interval(LONG)
        .start()
        .unwrap();
    assert_eq!(
        exporter.force_flush_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    assert_eq!(receiver.attempts(), 2);
    assert_eq!(exporter.telemetry().retries(), 1);
    assert_eq!(value_of(&receiver.last()), 4);
    exporter.shutdown_async(WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_past_the_export_timeout_ends_the_export_at_once() {
    let (addr, receiver) = http_receiver().await;
    receiver.script([Answer::Status(429, Some("3600"))]);
    let registry = Registry::new();
    jobs(&registry).add(1);
    // Without Retry-After this policy would retry within a millisecond: one attempt
    // proves the header was read.
    let exporter = Exporter::new(registry)
        .endpoint(url(Protocol::HttpProtobuf, addr))
        .retry(quick_retries())
        .export_timeout(Duration::from_secs(10))
        .interval(LONG)
        .start()
        .unwrap();
    let result = exporter.force_flush(WAIT).unwrap();
    assert_eq!(failure_reason(&result), "http_429");
    assert!(result.to_string().contains("export timeout"), "{result}");
    assert_eq!(receiver.attempts(), 1);
    assert_eq!(exporter.telemetry().retries(), 0);
    assert!(exporter.telemetry().last_error_at("http_429") > 0.0);
    // The next export goes through and carries the total.
    assert_eq!(exporter.force_flush(WAIT).unwrap(), ExportResult::Success);
    assert_eq!(value_of(&receiver.last()), 1);
    exporter.shutdown(WAIT).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_statuses_back_off_and_attempts_are_bounded() {
    let (addr, receiver) = http_receiver().await;
    receiver.script([
        Answer::Status(429, None),
        Answer::Status(502, None),
        Answer::Status(504, None),
        Answer::Ok,
        Answer::Status(503, None),
        Answer::Status(503, None),
        Answer::Status(503, None),
    ]);
    let registry = Registry::new();
    jobs(&registry).inc();
    let exporter = Exporter::new(registry)
        .endpoint(url(Protocol::HttpProtobuf, addr))
        .retry(quick_retries().max_attempts(4))
        .interval(LONG)
        .start()
        .unwrap();
    assert_eq!(
        exporter.force_flush_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    assert_eq!(receiver.attempts(), 4);
    assert_eq!(exporter.telemetry().retries(), 3);
    // Three 503s then the script's default (success): the fourth attempt succeeds.
    assert_eq!(
        exporter.force_flush_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    assert_eq!(receiver.attempts(), 8);
    receiver.script(std::iter::repeat_n(Answer::Status(503, None), 10));
    let result = exporter.force_flush_async(WAIT).await.unwrap();
    assert_eq!(failure_reason(&result), "http_503");
    assert_eq!(receiver.attempts(), 12, "at most 4 attempts");
    exporter.shutdown_async(WAIT).await.unwrap();
}

async fn bad_request_is_not_retried(protocol: Protocol) {
    let (addr, receiver) = receiver(protocol).await;
    receiver.script([Answer::Status(400, None)]);
    let registry = Registry::new();
    jobs(&registry).add(2);
    let exporter = Exporter::new(registry)
        .protocol(protocol)
        .endpoint(url(protocol, addr))
        .retry(quick_retries())
        .interval(LONG)
        .start()
        .unwrap();
    let result = exporter.force_flush_async(WAIT).await.unwrap();
    let want = match protocol {
        Protocol::Grpc => "grpc_invalid_argument",
        _ => "http_400",
    };
    assert_eq!(failure_reason(&result), want);
    assert_eq!(receiver.attempts(), 1);
    assert_eq!(exporter.telemetry().exports("failure"), 1);
    assert!(exporter
        .telemetry()
        .last_error()
        .unwrap()
        .contains("scripted 400"));
    assert_eq!(
        exporter.force_flush_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    assert_eq!(value_of(&receiver.last()), 2);
    exporter.shutdown_async(WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_bad_request_is_not_retried() {
    bad_request_is_not_retried(Protocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_bad_request_is_not_retried() {
    bad_request_is_not_retried(Protocol::Grpc).await;
}

async fn partial_success_is_counted(protocol: Protocol) {
    let (addr, receiver) = receiver(protocol).await;
    receiver.script([Answer::Partial(3, "3 points had bad units")]);
    let registry = Registry::new();
    jobs(&registry).inc();
    let exporter = Exporter::new(registry.clone())
        .protocol(protocol)
        .endpoint(url(protocol, addr))
        .interval(LONG)
        .start()
        .unwrap();
    let result = exporter.force_flush_async(WAIT).await.unwrap();
    assert_eq!(
        result,
        ExportResult::PartialSuccess {
            rejected: 3,
            message: "3 points had bad units".to_owned()
        }
    );
    let t = exporter.telemetry();
    assert_eq!(t.rejected_points(), 3);
    assert_eq!(t.exports("partial_success"), 1);
    assert!(t.last_error_at("partial_success") > 0.0);
    assert!(t.last_error().unwrap().contains("bad units"));
    let snapshot = registry.snapshot();
    assert_eq!(
        snapshot
            .family("prism_otel_rejected_points")
            .unwrap()
            .series[0]
            .value,
        prism_core::Value::Counter(3)
    );
    assert_eq!(receiver.attempts(), 1, "a partial success is not retried");
    exporter.shutdown_async(WAIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_partial_success_is_counted() {
    partial_success_is_counted(Protocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_partial_success_is_counted() {
    partial_success_is_counted(Protocol::HttpJson).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_partial_success_is_counted() {
    partial_success_is_counted(Protocol::Grpc).await;
}

async fn slow_receiver_times_out(protocol: Protocol) {
    let (addr, receiver) = receiver(protocol).await;
    receiver.script([Answer::Hang]);
    let registry = Registry::new();
    jobs(&registry).add(9);
    let exporter = Exporter::new(registry)
        .protocol(protocol)
        .endpoint(url(protocol, addr))
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .interval(LONG)
        .start()
        .unwrap();
    let result = exporter.force_flush_async(WAIT).await.unwrap();
    assert_eq!(failure_reason(&result), "timeout", "{result:?}");
    assert_eq!(
        exporter.force_flush_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    assert_eq!(value_of(&receiver.last()), 9);
    // A shutdown against a hanging receiver returns within its timeout.
    receiver.script([Answer::Hang]);
    let shutdown = exporter.shutdown_async(Duration::from_millis(300)).await;
    assert!(
        matches!(shutdown, Ok(ExportResult::Failure { .. }) | Err(_)),
        "{shutdown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_slow_receiver_times_out() {
    slow_receiver_times_out(Protocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_slow_receiver_times_out() {
    slow_receiver_times_out(Protocol::Grpc).await;
}

/// A push in progress (here, one stuck on a receiver that never answers) does not hold
/// back writers: a writer thread finishes a million increments while it waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_in_progress_never_blocks_writers() {
    let (addr, receiver) = http_receiver().await;
    receiver.script([Answer::Hang]);
    let registry = Registry::new();
    let jobs = jobs(&registry);
    let exporter = Arc::new(
        Exporter::new(registry)
            .endpoint(url(Protocol::HttpProtobuf, addr))
            .timeout(Duration::from_secs(30))
            .retry(RetryPolicy::none())
            .interval(LONG)
            .start()
            .unwrap(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let flush = {
        let (exporter, done) = (exporter.clone(), done.clone());
        tokio::spawn(async move {
            let r = exporter.force_flush_async(Duration::from_secs(30)).await;
            done.store(true, Ordering::SeqCst);
            r
        })
    };
    for _ in 0..2000 {
        if receiver.attempts() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(receiver.attempts(), 1, "the push reached the receiver");
    let writer = {
        let jobs = jobs.clone();
        std::thread::spawn(move || {
            for _ in 0..1_000_000 {
                jobs.inc();
            }
        })
    };
    writer.join().unwrap();
    assert_eq!(jobs.get(), 1_000_000);
    assert!(
        !done.load(Ordering::SeqCst),
        "the push is still in progress"
    );
    flush.abort();
}
