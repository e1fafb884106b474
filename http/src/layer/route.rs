//! The `http.route` label: the route template the request matched, from axum's
//! `MatchedPath` or a function the user gives, never the raw path.

use std::borrow::Cow;
use std::sync::Arc;

/// A function that names the route template of a request, `None` when it matched none.
/// Given to [`MetricsLayerBuilder::route_fn`](super::MetricsLayerBuilder::route_fn).
///
/// It must return a template (`/items/{id}`), not the path: every distinct value is a
/// series.
pub type RouteFn = Arc<dyn Fn(&http::request::Parts) -> Option<Cow<'static, str>> + Send + Sync>;

/// A request's route label, held until the request ends.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// The request matched no route: labelled with the layer's unmatched value.
    Unmatched,
    /// From the user's function.
    Named(Cow<'static, str>),
    /// From axum's router; a clone of its `Arc<str>`.
    #[cfg(feature = "axum")]
    Matched(axum::extract::MatchedPath),
    /// A gRPC request that nothing else named: its path, `/package.Service/Method`, which
    /// is the route unless the server answers `UNIMPLEMENTED` (then it is unmatched, so
    /// that made-up methods add no series). A clone of the URI's shared bytes.
    Grpc(http::uri::PathAndQuery),
}

/// The owner of the unmatched value's text, which the layer's state keeps.
pub(crate) static UNMATCHED: Route = Route::Unmatched;

impl Route {
    /// The route of `request`: axum's `MatchedPath` when present (feature `axum`), else
    /// what `route_fn` says, else the gRPC method of a gRPC request, else unmatched.
    pub(crate) fn of<B>(
        request: http::Request<B>,
        route_fn: Option<&RouteFn>,
        grpc: bool,
    ) -> (Self, http::Request<B>) {
        #[cfg(feature = "axum")]
        if let Some(matched) = request.extensions().get::<axum::extract::MatchedPath>() {
            return (Route::Matched(matched.clone()), request);
        }
        let (route, request) = match route_fn {
            Some(route_fn) => {
                let (parts, body) = request.into_parts();
                let route = route_fn(&parts).map_or(Route::Unmatched, Route::Named);
                (route, http::Request::from_parts(parts, body))
            }
            None => (Route::Unmatched, request),
        };
        match (route, request.uri().path_and_query()) {
            (Route::Unmatched, Some(path)) if grpc => (Route::Grpc(path.clone()), request),
            (route, _) => (route, request),
        }
    }

    /// Whether the route's text lives as long as the router (a static, axum's
    /// `MatchedPath`, the layer's unmatched value), so that its address names it.
    pub(crate) fn is_stable(&self) -> bool {
        !matches!(self, Route::Named(Cow::Owned(_)) | Route::Grpc(_))
    }

    pub(crate) fn as_str<'a>(&'a self, unmatched: &'a str) -> &'a str {
        match self {
            Route::Unmatched => unmatched,
            Route::Named(name) => name,
            #[cfg(feature = "axum")]
            Route::Matched(matched) => matched.as_str(),
            Route::Grpc(path) => path.path(),
        }
    }
}
