//! The axum handler for `GET /debug/vars` (feature `axum`): [`router`], [`handler`] and
//! [`global_handler`].

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

/// The handler alone, serving `vars`, to mount at another path. For Go's zero-argument
/// `expvar.Handler()`, over the process-wide variables, see [`global_handler`].
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

/// The handler of the process-wide variables ([`global`](crate::global), which the
/// package-level functions such as [`new_int`](crate::new_int) publish into): Go's
/// `expvar.Handler()`, for code ported from Go.
///
/// ```
/// let hits = prism_json::new_int("hits").unwrap();
/// hits.add(1);
/// let app: axum::Router = axum::Router::new().route("/debug/vars", prism_json::global_handler());
/// # drop(app);
/// ```
pub fn global_handler() -> MethodRouter {
    handler(crate::global().clone())
}
