//! prism-http: request metrics for HTTP services, and serving prism's endpoints so that
//! slow or idle clients cannot take the server down.
//!
//! [`MetricsLayer`] is a tower layer that records the OpenTelemetry HTTP server metrics
//! (duration, active requests, body sizes, by method, route and status) of any tower
//! service into a prism registry; see the [`layer`] module.
//!
//! A metrics endpoint must answer its scraper when it matters most, which is when something
//! else is going wrong. [`serve()`] runs an axum `Router` (or any tower service) on a tokio
//! listener like `axum::serve` does, and bounds what each client can hold:
//!
//! - a request head must arrive within [`Config::header_read_timeout`] (5 s), so a client
//!   that sends half a head is disconnected instead of holding a socket for minutes;
//! - a kept-alive connection waits [`Config::idle_timeout`] (30 s) for its next request;
//! - at most [`Config::max_connections`] (256) connections are open at once, so that
//!   clients cannot use up the process's file descriptors; more wait to be accepted;
//! - the accept loop pauses and retries when the process is out of descriptors, instead of
//!   ending.
//!
//! The costs: one boxed future and one boxed response body per request, one timer per
//! connection, and an uncontended lock taken a few times per request.
//!
//! ```
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Any axum Router: with prism's `prom` and `axum` features, `prism::prom::router(registry)`.
//! let app = axum::Router::new().route("/metrics", axum::routing::get(|| async { "up 1\n" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9898").await?;
//! prism_http::serve(listener, app)
//!     .with_graceful_shutdown(async {
//!         let _ = tokio::signal::ctrl_c().await;
//!     })
//!     .await?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod layer;
pub mod serve;

pub use layer::{ErrorType, MetricsLayer, MetricsLayerBuilder, MetricsService, RequestStats};
pub use serve::{serve, Config, Error, Serve};
