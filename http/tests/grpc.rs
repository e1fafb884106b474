//! `MetricsLayer` on a real tonic server, called by a real tonic client: the route is the
//! gRPC method, the error type the `grpc-status` (from the headers of a trailers-only
//! response or from the trailers), and unknown methods add no route.

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::ResourceMetrics;
use prism_core::Registry;
use prism_http::MetricsLayer;
use tower::{ServiceBuilder, ServiceExt};

use support::*;

const EXPORT: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// Accepts empty exports, refuses the others as `UNAVAILABLE`.
struct Collector;

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        if request.get_ref().resource_metrics.is_empty() {
            Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
        } else {
            Err(tonic::Status::unavailable("try again later"))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_routes_are_methods_and_errors_are_grpc_statuses() {
    let registry = Registry::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .layer(MetricsLayer::new(&registry).unwrap())
        .add_service(MetricsServiceServer::new(Collector))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
    tokio::spawn(server);

    let url = format!("http://{addr}");
    let mut client = MetricsServiceClient::connect(url.clone()).await.unwrap();
    for _ in 0..3 {
        client
            .export(ExportMetricsServiceRequest::default())
            .await
            .unwrap();
    }
    let refused = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics::default()],
    };
    for _ in 0..2 {
        let status = client.export(refused.clone()).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable);
    }
    // A service the server does not have: UNIMPLEMENTED, and no route of its own.
    let mut other = TraceServiceClient::connect(url).await.unwrap();
    for _ in 0..4 {
        let status = other
            .export(ExportTraceServiceRequest::default())
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unimplemented);
    }

    let ok = ["POST", EXPORT, "200", "", "http"];
    let unavailable = ["POST", EXPORT, "200", "UNAVAILABLE", "http"];
    let unimplemented = ["POST", "", "200", "UNIMPLEMENTED", "http"];
    let done = eventually(|| {
        count(&registry, &ok) == 3
            && count(&registry, &unavailable) == 2
            && count(&registry, &unimplemented) == 4
            && active(&registry) == 0
    })
    .await;
    assert!(
        done,
        "ok {}, unavailable {}, unimplemented {}, active {}, series {}",
        count(&registry, &ok),
        count(&registry, &unavailable),
        count(&registry, &unimplemented),
        active(&registry),
        series(&registry, DURATION)
    );
    assert_eq!(series(&registry, DURATION), 3);
}

/// A status in the trailers, after a message: the layer reads it from the trailers frame.
#[tokio::test]
async fn a_grpc_status_in_the_trailers_is_the_error_type() {
    let registry = Registry::new();
    let service = ServiceBuilder::new()
        .layer(MetricsLayer::new(&registry).unwrap())
        .service_fn(|_: http::Request<String>| async {
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from_static("8"));
            let frames = futures_util::stream::iter([
                Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"\0\0\0\0\0"))),
                Ok(Frame::trailers(trailers)),
            ]);
            Ok::<_, Infallible>(http::Response::new(StreamBody::new(frames)))
        });
    let request = http::Request::post("/pkg.Svc/Call")
        .header("content-type", "application/grpc")
        .body(String::new())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    let collected = response.into_body().collect().await.unwrap();
    assert!(collected.trailers().is_some());
    let labels = ["POST", "/pkg.Svc/Call", "200", "RESOURCE_EXHAUSTED", "http"];
    assert_eq!(count(&registry, &labels), 1);

    // Not gRPC (no gRPC content type): the same trailers mean nothing, and the path is
    // no route.
    let request = http::Request::post("/pkg.Svc/Call")
        .body(String::new())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    response.into_body().collect().await.unwrap();
    assert_eq!(count(&registry, &["POST", "", "200", "", "http"]), 1);
}
