//! [`MetricsLayer`], its builder, and the [`MetricsService`] it wraps services in.

use std::any::Any;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use prism_core::{Clock, Error, Registry, SystemClock};
use tower_service::Service;

use super::body::{PanicProbe, ResponseBody};
use super::cache::HandleCache;
use super::method::method_label;
use super::metrics::HttpMetrics;
use super::record::{grpc_status, ErrorType, Finish, ServiceState, Shared};
use super::route::{Route, RouteFn};
use super::stats::RequestStats;

/// Default series limit of each of the layer's families.
pub const DEFAULT_ROUTE_CARDINALITY: usize = 1000;

/// A tower layer that records the request metrics of the OpenTelemetry HTTP server
/// conventions into a prism [`Registry`]; see the [module docs](super).
///
/// Cloning is cheap and shares the metrics.
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    shared: Arc<Shared>,
}

impl MetricsLayer {
    /// A layer with the defaults, registering into `registry`: see
    /// [`MetricsLayerBuilder`] for what can be changed.
    ///
    /// Fails when the registry already holds one of the layer's names (a second layer on
    /// the same registry: register it through [`Registry::scoped`] with a prefix or a
    /// constant label, or share one layer).
    pub fn new(registry: &Registry) -> Result<Self, Error> {
        Self::builder().build(registry)
    }

    /// Starts a layer with options.
    pub fn builder() -> MetricsLayerBuilder {
        MetricsLayerBuilder::default()
    }
}

impl<S> tower_layer::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            state: Arc::new(ServiceState {
                shared: Arc::clone(&self.shared),
            }),
        }
    }
}

/// Options of a [`MetricsLayer`].
pub struct MetricsLayerBuilder {
    route_fn: Option<RouteFn>,
    unmatched: Cow<'static, str>,
    scheme: &'static str,
    limit: usize,
    stats: Vec<Box<str>>,
    clock: Option<Arc<dyn Clock>>,
}

impl Default for MetricsLayerBuilder {
    fn default() -> Self {
        Self {
            route_fn: None,
            unmatched: Cow::Borrowed(""),
            scheme: "http",
            limit: DEFAULT_ROUTE_CARDINALITY,
            stats: Vec::new(),
            clock: None,
        }
    }
}

impl std::fmt::Debug for MetricsLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsLayerBuilder")
            .field("route_fn", &self.route_fn.is_some())
            .field("unmatched", &self.unmatched)
            .field("scheme", &self.scheme)
            .field("limit", &self.limit)
            .field("stats", &self.stats)
            .field("clock", &self.clock.is_some())
            .finish()
    }
}

impl MetricsLayerBuilder {
    /// Names the route of requests that axum's `MatchedPath` does not (no `axum` feature,
    /// a plain hyper or tower service, a request outside axum's routes). It returns the
    /// template (`/items/{id}`), never the path, or `None` for no route.
    pub fn route_fn<F>(mut self, route_fn: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Option<Cow<'static, str>> + Send + Sync + 'static,
    {
        self.route_fn = Some(Arc::new(route_fn));
        self
    }

    /// The `http_route` value of requests that matched no route (default empty, which
    /// Prometheus reads as no label, as the conventions want). All such requests share it.
    pub fn unmatched_route(mut self, value: impl Into<Cow<'static, str>>) -> Self {
        self.unmatched = value.into();
        self
    }

    /// The `url_scheme` of requests whose URI has none, which is every HTTP/1.1 request in
    /// origin form (default `http`; `https` behind a TLS acceptor).
    pub fn https(mut self, https: bool) -> Self {
        self.scheme = if https { "https" } else { "http" };
        self
    }

    /// Series limit of each family (default [`DEFAULT_ROUTE_CARDINALITY`]); past it, updates
    /// go to the overflow series and are counted as refused (see prism-core's
    /// `Family`). Labels are bounded by construction; this bounds a route function that is
    /// not.
    pub fn cardinality_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Declares the per-request statistics handlers may count in [`RequestStats`]; each
    /// gets a histogram `http_server_request_stat_<name>`. Without any, no `RequestStats`
    /// is put in the request.
    pub fn stats<I, N>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: Into<Box<str>>,
    {
        self.stats.extend(names.into_iter().map(Into::into));
        self
    }

    /// The clock that times requests (default: the monotonic system clock). A test can
    /// give a [`ManualClock`](prism_core::ManualClock) and advance it from its handlers to
    /// record exactly the durations it chooses.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Registers the metrics into `registry` and builds the layer.
    ///
    /// Fails with the registry's error when a name is taken (see [`MetricsLayer::new`]),
    /// when a statistic name is not a valid metric name suffix or is declared twice, or
    /// when the cardinality limit is 0 or above prism-core's `MAX_CARDINALITY_LIMIT`.
    pub fn build(self, registry: &Registry) -> Result<MetricsLayer, Error> {
        let metrics = HttpMetrics::register(registry, self.limit, &self.stats)?;
        let stat_names = if self.stats.is_empty() {
            None
        } else {
            Some(Arc::from(self.stats))
        };
        Ok(MetricsLayer {
            shared: Arc::new(Shared {
                metrics,
                route_fn: self.route_fn,
                unmatched: self.unmatched.into_owned().into_boxed_str(),
                scheme: self.scheme,
                stat_names,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock::new())),
                cache: HandleCache::default(),
            }),
        })
    }
}

/// A service wrapped by [`MetricsLayer`]: the inner service, with each request recorded.
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    state: Arc<ServiceState>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MetricsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: 'static,
    ReqBody: Body,
    ResBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let shared = &*self.state.shared;
        let method = method_label(request.method());
        let scheme = match request.uri().scheme_str() {
            None => shared.scheme,
            Some("http") => "http",
            Some("https") => "https",
            Some(_) => "_OTHER",
        };
        let request_size = request.body().size_hint().exact();
        let grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"));
        let (route, mut request) = Route::of(request, shared.route_fn.as_ref(), grpc);
        let stats = shared.stat_names.as_ref().map(|names| {
            let stats = RequestStats::new(names);
            request.extensions_mut().insert(stats.clone());
            stats
        });
        // Made before the inner call: a panic in `call` itself drops it while unwinding,
        // which records the request as panicked.
        let finish = Finish::start(
            Arc::clone(&self.state),
            method,
            scheme,
            route,
            request_size,
            stats,
            grpc,
        );
        let future = self.inner.call(request);
        ResponseFuture {
            inner: future,
            finish: Some(finish),
        }
    }
}

pin_project! {
    /// The response future of a [`MetricsService`]. Dropped before it completes (the
    /// client went away, an outer timeout fired), it records the request as
    /// [`ErrorType::Aborted`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        finish: Option<Finish>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
    E: 'static,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _probe = PanicProbe(this.finish);
            ready!(this.inner.poll(cx))
        };
        let finish = this.finish.take();
        Poll::Ready(match result {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let finish = finish.map(|mut finish| {
                    finish.status = Some(parts.status);
                    if finish.grpc {
                        // A trailers-only response carries its status in the headers.
                        finish.grpc_status = grpc_status(&parts.headers);
                    }
                    finish
                });
                let body = ResponseBody::new(body, finish);
                Ok(Response::from_parts(parts, body))
            }
            Err(error) => {
                if let Some(mut finish) = finish {
                    finish.error = Some(classify(&error));
                }
                Err(error)
            }
        })
    }
}

/// The error type of an inner service's error: `timeout` for tower's and tokio's timeout
/// errors (bare, or boxed as tower's `Timeout` returns them) and for an `io::Error` of kind
/// `TimedOut`; `_OTHER` for anything else.
fn classify<E: 'static>(error: &E) -> ErrorType {
    let error: &dyn Any = error;
    let is_timeout = |e: &(dyn std::error::Error + 'static)| {
        e.is::<tower::timeout::error::Elapsed>()
            || e.is::<tokio::time::error::Elapsed>()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
    };
    let timeout =
        if let Some(boxed) = error.downcast_ref::<Box<dyn std::error::Error + Send + Sync>>() {
            is_timeout(&**boxed)
        } else if let Some(boxed) = error.downcast_ref::<Box<dyn std::error::Error + Send>>() {
            is_timeout(&**boxed)
        } else if let Some(boxed) = error.downcast_ref::<Box<dyn std::error::Error>>() {
            is_timeout(&**boxed)
        } else {
            error.is::<tower::timeout::error::Elapsed>()
                || error.is::<tokio::time::error::Elapsed>()
                || error
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
        };
    if timeout {
        ErrorType::Timeout
    } else {
        ErrorType::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    #[test]
    fn timeouts_are_classified_bare_or_boxed() {
        let boxed: BoxError = tower::timeout::error::Elapsed::new().into();
        assert_eq!(classify(&boxed), ErrorType::Timeout);
        assert_eq!(
            classify(&tower::timeout::error::Elapsed::new()),
            ErrorType::Timeout
        );
        let io = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(classify(&io), ErrorType::Timeout);
        let other: BoxError = "refused".into();
        assert_eq!(classify(&other), ErrorType::Other);
        assert_eq!(
            classify(&std::io::Error::from(std::io::ErrorKind::Other)),
            ErrorType::Other
        );
    }
}
