//! [`MetricsLayer`]: the request metrics of the OpenTelemetry HTTP server conventions for
//! any tower service of `http` requests (an axum `Router`, a hyper service, a tonic server).
//!
//! Per request it records, into a prism [`Registry`](prism_core::Registry):
//!
//! | Prometheus name | OpenTelemetry name | kind | labels |
//! |---|---|---|---|
//! | `http_server_request_duration_seconds` | `http.server.request.duration` (`s`) | histogram | method, route, status, error, scheme |
//! | `http_server_active_requests` | `http.server.active_requests` (`{request}`) | up-down counter | method, scheme |
//! | `http_server_request_body_size_bytes` | `http.server.request.body.size` (`By`) | histogram | method, route, status, error, scheme |
//! | `http_server_response_body_size_bytes` | `http.server.response.body.size` (`By`) | histogram | method, route, status, error, scheme |
//! | `http_server_request_stat_<name>` | | histogram | method, route |
//!
//! The labels are `http_request_method`, `http_route`, `http_response_status_code`,
//! `error_type` and `url_scheme` ([`metrics`] holds the table, with the OpenTelemetry
//! attribute of each). Counts by method, route and status are the duration histogram's
//! `_count`.
//!
//! - **Bounded labels.** The route is the matched template: axum's `MatchedPath` (feature
//!   `axum`, with the layer added by `Router::layer` so that the router has matched), else
//!   [`MetricsLayerBuilder::route_fn`]; requests that matched no route share one value.
//!   Methods outside the conventions' list are `_OTHER`. Every family still has a
//!   cardinality limit ([`MetricsLayerBuilder::cardinality_limit`]).
//! - **Timed to the last byte.** The request ends when its response body has been sent or
//!   is dropped, not when the head is. A request that ends early still leaves the active
//!   count and is recorded with its [`ErrorType`]: `aborted` (client gone, outer timeout,
//!   body cut short), `panic`, `timeout`, or the `5xx` status code.
//! - **gRPC.** A request with a gRPC content type that no `MatchedPath` or route function
//!   names is routed by its gRPC method (`/package.Service/Method`); a method the server
//!   answers `UNIMPLEMENTED` is unmatched, so made-up methods add no series. Its
//!   `error_type` is the name of its `grpc-status` when not `OK`, read from the response
//!   headers (trailers-only responses) or the trailers. Add the layer with tonic's
//!   `Server::builder().layer(..)`.
//! - **Per-request statistics.** Handlers count into the [`RequestStats`] in the request's
//!   extensions; at the end each value goes into its histogram, and one `tracing` event
//!   (target `prism_http::request`, level INFO) carries method, route, status, error,
//!   duration and the statistics.
//!
//! Costs per request: two clock reads, two probes of a per-thread cache of series handles
//! (keyed by the addresses of the label strings; a route function's owned strings and gRPC
//! methods take the family lookups instead, a hash of the five label values each), four
//! histogram or counter updates, and the counting of each body frame; with statistics
//! declared, two allocations for them. The README of this crate has the measured overhead
//! against other middlewares.
//!
//! ```
//! use axum::{routing::get, Extension, Router};
//! use prism_core::Registry;
//! use prism_http::{MetricsLayer, RequestStats};
//!
//! async fn item(Extension(stats): Extension<RequestStats>) -> &'static str {
//!     stats.add("db_calls", 1);
//!     "item"
//! }
//!
//! # fn main() -> Result<(), prism_core::Error> {
//! let registry = Registry::new();
//! let metrics = MetricsLayer::builder().stats(["db_calls"]).build(&registry)?;
//! let app: Router = Router::new()
//!     .route("/items/{id}", get(item))
//!     // `Router::layer`: inside the router, where the matched route is known.
//!     .layer(metrics);
//! # let _ = app;
//! # Ok(()) }
//! ```
//!
//! A tower service other than axum names its routes with a function:
//!
//! ```
//! use std::borrow::Cow;
//! use prism_http::MetricsLayer;
//!
//! # fn main() -> Result<(), prism_core::Error> {
//! let registry = prism_core::Registry::new();
//! let metrics = MetricsLayer::builder()
//!     .route_fn(|parts| match parts.uri.path() {
//!         "/health" => Some(Cow::Borrowed("/health")),
//!         p if p.starts_with("/items/") => Some(Cow::Borrowed("/items/{id}")),
//!         _ => None,
//!     })
//!     .build(&registry)?;
//! # let _ = metrics;
//! # Ok(()) }
//! ```

mod body;
mod cache;
mod method;
pub mod metrics;
mod record;
mod route;
mod service;
mod stats;

pub use body::ResponseBody;
pub use method::{method_label, KNOWN_METHODS, OTHER_METHOD};
pub use record::ErrorType;
pub use route::RouteFn;
pub use service::{
    MetricsLayer, MetricsLayerBuilder, MetricsService, ResponseFuture, DEFAULT_ROUTE_CARDINALITY,
};
pub use stats::RequestStats;
