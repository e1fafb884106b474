//! The axum handler for `GET /debug/vars` (feature `axum`): [`router`] and [`handler`].

use axum::http::header::CONTENT_TYPE;
use axum::routing::{get, MethodRouter};
use axum::Router;

use crate::vars::Vars;

/// The content type Go's expvar handler sets.
pub const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";

/// The path Go's expvar registers its handler on.
pub const DEBUG_VARS_PATH: &str = "/debug/vars";

/// A router serving `vars` at `GET /debug/vars` (and `HEAD`, as Go's `GET` patterns do);
/// other methods get `405 Method Not Allowed`, as in Go 1.22 and later. Merge it into your
/// application's router, or nest it.
///
/// ```
/// let registry = prism_core::Registry::new();
/// let vars = prism_json::Vars::new(&registry);
/// let app: axum::Router = axum::Router::new().merge(prism_json::router(vars));
/// # drop(app);
/// ```
pub fn router(vars: Vars) -> Router {
    Router::new().route(DEBUG_VARS_PATH, handler(vars))
}

/// The handler alone, to mount at another path (Go's `expvar.Handler()`).
///
/// ```
/// let vars = prism_json::global().clone();
/// let app: axum::Router = axum::Router::new().route("/internal/vars", prism_json::handler(vars));
/// # drop(app);
/// ```
pub fn handler(vars: Vars) -> MethodRouter {
    get(move || {
        let vars = vars.clone();
        async move {
            let mut body = Vec::with_capacity(4096);
            vars.render(&mut body);
            ([(CONTENT_TYPE, CONTENT_TYPE_JSON)], body)
        }
    })
}
