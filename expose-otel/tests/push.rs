//! Pushes over every transport to in-process receivers that decode the real bytes, and
//! compares what arrived with the registry: every value, attribute, unit, temporality flag
//! and start time.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use prism_core::{
    Counter, CounterFn, Family, FloatCounter, FloatGauge, Gauge, Histogram, HistogramConfig,
    ManualClock, Metadata, Registry, WindowedHistogram,
};
use prism_otel::{Compression, ExportResult, Exporter, Protocol, Resource, Temporality};
use support::{
    assert_matches_registry, grpc_receiver, http_receiver, metrics, resource, Answer, Distribution,
    Number,
};

const LONG: Duration = Duration::from_secs(3600);
const WAIT: Duration = Duration::from_secs(20);

/// Sizes in bytes, bounds 100 and 1000.
fn sizes() -> HistogramConfig {
    Histogram::builder()
        .unit_scale(1.0)
        .highest(1_000_000)
        .shards(2)
        .buckets([100.0, 1000.0])
        .config()
        .unwrap()
}

fn response_sizes(registry: &Registry) -> Family<Histogram> {
    registry
        .get_or_register_with(
            Metadata::new("response_size_bytes", "Response sizes, by route.").unit("bytes"),
            || {
                let config = sizes();
                Family::builder(["route"])
                    .cardinality_limit(2)
                    .build_with(move || config.build())
                    .unwrap()
            },
        )
        .expect("the same family every time")
}

/// One metric of each kind, labels, an overflow series, units, a family with no series.
fn fixture() -> Registry {
    let registry = Registry::new();
    let requests = registry
        .register(
            "http_requests",
            "Requests served, by method and code.",
            Family::<Counter>::builder(["method", "code"])
                .cardinality_limit(2)
                .build()
                .unwrap(),
        )
        .unwrap();
    requests.get(&["GET", "200"]).add(7);
    requests.get(&["POST", "500"]).inc();
    requests.get(&["PUT", "201"]).add(4); // past the limit: the overflow series
    registry
        .register_with(
            Metadata::new("cpu_seconds", "CPU time.").unit("seconds"),
            FloatCounter::new(),
        )
        .unwrap()
        .add(1.25);
    registry
        .register("queue_depth", "Jobs waiting.", Gauge::new())
        .unwrap()
        .set(-3);
    // Registered by its OpenTelemetry name: sent under it, its unit and its attributes.
    registry
        .register_with(
            Metadata::otel(
                "http.server.active_requests",
                "{request}",
                "Active HTTP server requests.",
            ),
            Family::<prism_core::UpDownCounter>::new(["http.request.method", "url.scheme"]),
        )
        .unwrap()
        .get(&["GET", "https"])
        .add(2);
    registry
        .register_with(
            Metadata::new("room_temperature_celsius", "Temperature \"inside\".").unit("celsius"),
            FloatGauge::new(),
        )
        .unwrap()
        .set(21.5);
    registry
        .register("ratio", "A ratio that is not a number.", FloatGauge::new())
        .unwrap()
        .set(f64::NAN);
    registry
        .register(
            "bytes_seen",
            "Read through a closure.",
            CounterFn::new(|| 42u64),
        )
        .unwrap();
    registry
        .register(
            "idle",
            "A family with no series.",
            Family::<Gauge>::new(["k"]),
        )
        .unwrap();
    let sizes_by_route = response_sizes(&registry);
    for (route, v) in [
        ("/a", 50),
        ("/a", 500),
        ("/b", 5000),
        ("/c", 70),
        ("/d", 700),
    ] {
        sizes_by_route.get(&[route]).record(v); // /c and /d: the overflow series
    }
    registry
        .register_with(
            Metadata::new("upload_size_bytes", "Nothing uploaded yet.").unit("bytes"),
            sizes().build(),
        )
        .unwrap();
    let recent = registry
        .register_with(
            Metadata::new("recent_latency_seconds", "Latency, last 5 minutes.").unit("seconds"),
            WindowedHistogram::builder()
                .clock(ManualClock::new())
                .build()
                .unwrap(),
        )
        .unwrap();
    for ms in [1, 2, 3, 40] {
        recent.record(ms * 1_000_000);
    }
    registry
}

fn url(protocol: Protocol, addr: std::net::SocketAddr) -> String {
    match protocol {
        Protocol::Grpc => format!("http://{addr}"),
        _ => format!("http://{addr}/v1/metrics"),
    }
}

async fn push_and_check(protocol: Protocol, compression: Compression, temporality: Temporality) {
    let (addr, receiver) = match protocol {
        Protocol::Grpc => grpc_receiver().await,
        _ => http_receiver().await,
    };
    let registry = fixture();
    let exporter = Exporter::new(registry.clone())
        .protocol(protocol)
        .endpoint(url(protocol, addr))
        .compression(compression)
        .header("x-tenant", "blue")
        .temporality(temporality)
        .interval(LONG)
        .resource(Resource::new("push-test").with_attribute("host.name", "h1"))
        .start()
        .unwrap();
    let result = exporter.force_flush_async(WAIT).await.unwrap();
    assert_eq!(result, ExportResult::Success);

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    let temporality_flag = match temporality {
        Temporality::Delta => 1,
        _ => 2,
    };
    // First export: deltas equal totals, and start at each series' start.
    assert_matches_registry(&got.request, &registry.snapshot(), temporality_flag);
    assert_eq!(
        got.headers.get("x-tenant").map(String::as_str),
        Some("blue")
    );
    let want_type = match protocol {
        Protocol::Grpc => "application/grpc",
        Protocol::HttpJson => "application/json",
        _ => "application/x-protobuf",
    };
    assert_eq!(got.content_type, want_type);
    let gzip = compression == Compression::Gzip;
    assert_eq!(got.content_encoding.as_deref() == Some("gzip"), gzip);
    let res = resource(&got.request);
    assert_eq!(res["service.name"], "push-test");
    assert_eq!(res["host.name"], "h1");
    assert_eq!(res["telemetry.sdk.name"], "prism");

    // The final export on shutdown carries what was counted since.
    let Some(http_requests) = registry.snapshot().family("http_requests").cloned() else {
        panic!("registered")
    };
    let get = http_requests
        .series(&["GET", "200"])
        .unwrap()
        .created_unix_nanos;
    registry
        .get_or_register(
            "http_requests",
            "Requests served, by method and code.",
            || Family::<Counter>::new(["method", "code"]),
        )
        .unwrap_or_else(|_| panic!("same family"))
        .get(&["GET", "200"])
        .add(3);
    response_sizes(&registry).get(&["/a"]).record(2000);
    let telemetry = exporter.telemetry().clone();
    assert_eq!(
        exporter.shutdown_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    let last = metrics(&receiver.last());
    let point = &last["http_requests"].points[0];
    let sizes = &last["response_size_bytes"];
    assert_eq!(sizes.points.len(), 3, "/a, /b and the overflow series");
    let want = match temporality {
        // Only what came since: one value above the last bound; no min or max.
        Temporality::Delta => Distribution {
            bounds: vec![100.0, 1000.0],
            bucket_counts: vec![0, 0, 1],
            count: 1,
            sum: Some(2000.0),
            min: None,
            max: None,
        },
        _ => Distribution {
            bounds: vec![100.0, 1000.0],
            bucket_counts: vec![1, 1, 1],
            count: 3,
            sum: Some(2550.0),
            min: Some(50.0),
            max: Some(2000.0),
        },
    };
    assert_eq!(sizes.points[0].value, Number::Histogram(want));
    assert_eq!(sizes.temporality, temporality_flag);
    match temporality {
        Temporality::Delta => {
            assert_eq!(point.value, Number::Int(3));
            assert_eq!(
                point.start,
                received[0].request.resource_metrics[0].scope_metrics[0]
                    .metrics
                    .iter()
                    .find(|m| m.name == "http_requests")
                    .map(|m| match &m.data {
                        Some(prism_otel::proto::tonic::metrics::v1::metric::Data::Sum(s)) =>
                            s.data_points[0].time_unix_nano,
                        _ => 0,
                    })
                    .unwrap(),
                "a delta starts where the last delivered one ended"
            );
        }
        _ => {
            assert_eq!(point.value, Number::Int(10));
            assert_eq!(point.start, get);
        }
    }
    assert_eq!(telemetry.exports("success"), 2);
    assert_eq!(telemetry.exports("failure"), 0);
    // The exporter's outcome metrics are ordinary families of the registry.
    let exports = registry.snapshot();
    let exports = exports.family("prism_otel_exports").unwrap();
    assert_eq!(
        exports.series(&["success"]).unwrap().value,
        prism_core::Value::Counter(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf() {
    push_and_check(
        Protocol::HttpProtobuf,
        Compression::None,
        Temporality::Cumulative,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_gzip_delta() {
    push_and_check(
        Protocol::HttpProtobuf,
        Compression::Gzip,
        Temporality::Delta,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_json() {
    push_and_check(
        Protocol::HttpJson,
        Compression::None,
        Temporality::Cumulative,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_json_gzip_delta() {
    push_and_check(Protocol::HttpJson, Compression::Gzip, Temporality::Delta).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc() {
    push_and_check(Protocol::Grpc, Compression::None, Temporality::Cumulative).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_gzip_delta() {
    push_and_check(Protocol::Grpc, Compression::Gzip, Temporality::Delta).await;
}

/// Without a tokio runtime the exporter runs on a thread of its own, and the blocking
/// flush and shutdown work from plain threads.
#[test]
fn runs_on_its_own_thread_without_a_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, receiver) = rt.block_on(http_receiver());
    let registry = fixture();
    let exporter = Exporter::new(registry.clone())
        .endpoint(format!("http://{addr}/v1/metrics"))
        .interval(LONG)
        .start()
        .unwrap();
    assert_eq!(exporter.force_flush(WAIT).unwrap(), ExportResult::Success);
    assert_matches_registry(&receiver.last(), &registry.snapshot(), 2);
    assert_eq!(exporter.shutdown(WAIT).unwrap(), ExportResult::Success);
    assert_eq!(receiver.received().len(), 2);
}

/// The interval drives exports by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_every_interval() {
    let (addr, receiver) = http_receiver().await;
    let registry = fixture();
    let exporter = Exporter::new(registry.clone())
        .endpoint(format!("http://{addr}/v1/metrics"))
        .interval(Duration::from_millis(20))
        .start()
        .unwrap();
    // Bounded wait for a count of requests, not a timing assertion.
    for _ in 0..1000 {
        if receiver.received().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(receiver.received().len() >= 3);
    exporter.shutdown_async(WAIT).await.unwrap();
}

/// The standard variables configure everything, as the demo uses them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_from_the_environment() {
    let (addr, receiver) = http_receiver().await;
    let vars: HashMap<&str, String> = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20t0k".to_owned(),
        ),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "3600000".to_owned()),
        ("OTEL_SERVICE_NAME", "from-env".to_owned()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=test".to_owned(),
        ),
    ]
    .into();
    let registry = fixture();
    let exporter = Exporter::from_lookup(registry.clone(), &|k| vars.get(k).cloned())
        .unwrap()
        .start()
        .unwrap();
    assert_eq!(exporter.endpoint(), format!("http://{addr}/v1/metrics"));
    assert_eq!(exporter.interval(), LONG);
    assert_eq!(
        exporter.force_flush_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    let got = &receiver.received()[0];
    assert_eq!(got.content_type, "application/json");
    assert_eq!(got.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(got.headers["authorization"], "Bearer t0k");
    let res = resource(&got.request);
    assert_eq!(res["service.name"], "from-env");
    assert_eq!(res["deployment.environment.name"], "test");
    assert_matches_registry(&got.request, &registry.snapshot(), 2);
    exporter.shutdown_async(WAIT).await.unwrap();
}

/// Delta histograms over a real push: an export the collector refuses loses nothing, the
/// next delivered one carries both intervals and starts where the last delivered one ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histogram_deltas_lose_nothing_when_a_push_fails() {
    let (addr, receiver) = http_receiver().await;
    let registry = Registry::builder().self_telemetry(false).build();
    let sizes_by_route = response_sizes(&registry);
    let exporter = Exporter::new(registry.clone())
        .endpoint(format!("http://{addr}/v1/metrics"))
        .temporality(Temporality::Delta)
        .interval(LONG)
        .telemetry_registry(None)
        .start()
        .unwrap();
    let sent = |i: usize| {
        metrics(&receiver.received()[i].request)["response_size_bytes"]
            .points
            .clone()
    };
    sizes_by_route.get(&["/a"]).record(50);
    sizes_by_route.get(&["/b"]).record(5);
    assert_eq!(
        exporter.force_flush_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    let first = sent(0);

    receiver.script([Answer::Status(400, None)]); // not retried: this export is lost
    sizes_by_route.get(&["/a"]).record(500);
    let failed = exporter.force_flush_async(WAIT).await.unwrap();
    assert!(matches!(failed, ExportResult::Failure { .. }), "{failed:?}");

    sizes_by_route.get(&["/a"]).record(5000);
    sizes_by_route.get(&["/x"]).record(150); // past the limit of 2: overflow
    assert_eq!(
        exporter.force_flush_async(WAIT).await.unwrap(),
        ExportResult::Success
    );
    let third = sent(2);
    assert_eq!(third.len(), 3);
    assert_eq!(
        third[0].value,
        Number::Histogram(Distribution {
            bounds: vec![100.0, 1000.0],
            bucket_counts: vec![0, 1, 1],
            count: 2,
            sum: Some(5500.0),
            min: None,
            max: None,
        }),
        "both intervals since the last delivered export"
    );
    assert_eq!(third[0].start, first[0].time);
    let Number::Histogram(b) = &third[1].value else {
        panic!("{:?}", third[1])
    };
    assert_eq!(b.count, 0, "/b: nothing new");
    assert_eq!(
        third[2].attributes,
        [("otel.metric.overflow".to_owned(), "bool:true".to_owned())].into()
    );
    let Number::Histogram(overflow) = &third[2].value else {
        panic!("{:?}", third[2])
    };
    assert_eq!((overflow.count, overflow.sum), (1, Some(150.0)));
    exporter.shutdown_async(WAIT).await.unwrap();
}

#[test]
fn bad_settings_are_refused_at_start() {
    let registry = Registry::new();
    let err = Exporter::new(registry.clone())
        .endpoint("https://collector:4318/v1/metrics")
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
    let err = Exporter::new(registry.clone())
        .header("bad header", "x")
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("header"), "{err}");
    let err = Exporter::new(registry)
        .interval(Duration::ZERO)
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("interval"), "{err}");
}
