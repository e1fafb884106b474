//! [`Finish`]: what the layer knows about one request, recorded exactly once when it is
//! dropped, wherever that happens (the response future, the response body, an unwinding
//! panic).
//!
//! Recording on drop is what makes every end of a request count: a body read to the end, a
//! body dropped half-sent, a future dropped because the client left or a timeout fired, a
//! handler that panicked. Whichever owns the `Finish` last records it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prism_core::{Clock, UpDownCounter};

use http::StatusCode;

use super::cache::{HandleCache, Handles, Key};
use super::metrics::HttpMetrics;
use super::route::{Route, RouteFn, UNMATCHED};
use super::stats::RequestStats;

/// The `error.type` of a request that did not succeed.
///
/// The label values are few by construction: the status code for a `5xx` response (as the
/// semantic conventions say for servers), otherwise one of a fixed set of classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorType {
    /// A response with a `5xx` status: its code, `"500"`.
    Status(StatusCode),
    /// The request ended before its response was complete: the client went away, an outer
    /// timeout dropped the request, or the response body was dropped before its end.
    /// `"aborted"`.
    Aborted,
    /// The handler panicked (seen by the layer while unwinding). `"panic"`.
    Panic,
    /// The inner service returned tower's or tokio's timeout error. `"timeout"`.
    Timeout,
    /// The response body returned an error. `"body"`.
    Body,
    /// The inner service returned another error. `"_OTHER"`, as the conventions say.
    Other,
    /// A gRPC response whose `grpc-status` (in its headers or its trailers) is not `OK`:
    /// the code's name, `"UNAVAILABLE"`; a code outside the 17 of gRPC is `"_OTHER"`.
    Grpc(u16),
}

/// The names of gRPC status codes 0 to 16.
const GRPC_CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// gRPC's `UNIMPLEMENTED`: the server has no such method.
pub(crate) const GRPC_UNIMPLEMENTED: u16 = 12;

/// The `grpc-status` of a header map, if it has a valid one.
pub(crate) fn grpc_status(headers: &http::HeaderMap) -> Option<u16> {
    headers.get("grpc-status")?.to_str().ok()?.parse().ok()
}

impl ErrorType {
    /// The label value: a `'static` string, since `http` keeps the text of every status
    /// code in one static table (its `as_str` only borrows from the code in its signature).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorType::Status(status) => status_text(*status),
            ErrorType::Aborted => "aborted",
            ErrorType::Panic => "panic",
            ErrorType::Timeout => "timeout",
            ErrorType::Body => "body",
            ErrorType::Other => "_OTHER",
            ErrorType::Grpc(code) => GRPC_CODES
                .get(usize::from(*code))
                .copied()
                .unwrap_or("_OTHER"),
        }
    }
}

/// `"100"` to `"999"`, every code a `StatusCode` can hold; anything else `"_OTHER"`.
fn status_text(status: StatusCode) -> &'static str {
    let code = usize::from(status.as_u16());
    match code
        .checked_sub(100)
        .and_then(|i| CODES.get(i * 3..i * 3 + 3))
    {
        Some(text) => text,
        None => "_OTHER",
    }
}

/// The digits of 100 to 999, three bytes each, as one static string.
static CODES: &str = include_str!("status_codes.txt");

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every request of one layer shares.
pub(crate) struct Shared {
    pub(crate) metrics: HttpMetrics,
    pub(crate) route_fn: Option<RouteFn>,
    pub(crate) unmatched: Box<str>,
    pub(crate) scheme: &'static str,
    /// The declared statistic names; `None` when none were declared, and then no
    /// `RequestStats` is made.
    pub(crate) stat_names: Option<Arc<[Box<str>]>>,
    /// Times requests.
    pub(crate) clock: Arc<dyn Clock>,
    /// Each thread's handles to the series it records into.
    pub(crate) cache: HandleCache,
}

/// What the requests of one wrapped service share: one per [`Layer::layer`] call, so that
/// each route of an axum router (wrapped one by one by `Router::layer`) has its own
/// reference count and threads serving different routes do not write the same cache line.
///
/// [`Layer::layer`]: tower_layer::Layer::layer
#[derive(Debug)]
pub(crate) struct ServiceState {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("unmatched", &self.unmatched)
            .field("scheme", &self.scheme)
            .field("route_fn", &self.route_fn.is_some())
            .field("stat_names", &self.stat_names)
            .finish_non_exhaustive()
    }
}

/// One request in flight. Dropping it records the request.
#[derive(Debug)]
pub(crate) struct Finish {
    state: Arc<ServiceState>,
    /// When the request arrived, on the layer's clock.
    start: Duration,
    method: &'static str,
    scheme: &'static str,
    route: Route,
    request_size: Option<u64>,
    stats: Option<RequestStats>,
    /// Data bytes of the response body seen so far.
    pub(crate) response_size: u64,
    /// The response status, once the inner service answered.
    pub(crate) status: Option<StatusCode>,
    /// An error seen by the future or the body.
    pub(crate) error: Option<ErrorType>,
    /// Whether the response body reached its end.
    pub(crate) complete: bool,
    /// Whether the request is gRPC (its content type is `application/grpc...`).
    pub(crate) grpc: bool,
    /// The `grpc-status` the response carried, in its headers or its trailers.
    pub(crate) grpc_status: Option<u16>,
}

impl Finish {
    /// Starts a request: counts it active.
    pub(crate) fn start(
        state: Arc<ServiceState>,
        method: &'static str,
        scheme: &'static str,
        route: Route,
        request_size: Option<u64>,
        stats: Option<RequestStats>,
        grpc: bool,
    ) -> Self {
        let shared = &*state.shared;
        shared
            .cache
            .with_active(&shared.metrics, method, scheme, UpDownCounter::inc);
        let start = shared.clock.now();
        Self {
            state,
            start,
            method,
            scheme,
            route,
            request_size,
            stats,
            response_size: 0,
            status: None,
            error: None,
            complete: false,
            grpc,
            grpc_status: None,
        }
    }

    /// The `error.type` of the request as it ends now.
    fn error_type(&self) -> Option<ErrorType> {
        if let Some(error) = self.error {
            return Some(error);
        }
        if std::thread::panicking() {
            return Some(ErrorType::Panic);
        }
        if !self.complete {
            return Some(ErrorType::Aborted);
        }
        if let Some(code) = self.grpc_status.filter(|&c| c != 0) {
            return Some(ErrorType::Grpc(code));
        }
        self.status
            .filter(StatusCode::is_server_error)
            .map(ErrorType::Status)
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        let shared = &*self.state.shared;
        let duration = shared.clock.now().saturating_sub(self.start);
        let metrics = &shared.metrics;
        let error = self.error_type();
        let error_label = error.as_ref().map_or("", ErrorType::as_str);
        // A gRPC method the server does not have is no route: made-up methods add nothing.
        let route_owner = match self.route {
            Route::Grpc(_) if self.grpc_status == Some(GRPC_UNIMPLEMENTED) => &UNMATCHED,
            ref route => route,
        };
        let route = route_owner.as_str(&shared.unmatched);
        let key = Key {
            method: self.method,
            scheme: self.scheme,
            route,
            owner: route_owner.is_stable().then_some(route_owner),
            status: self.status.map_or(0, |s| s.as_u16()),
            error: error_label,
        };

        shared
            .cache
            .with_active(metrics, self.method, self.scheme, UpDownCounter::dec);
        let (request_size, response_size) = (self.request_size, self.response_size);
        let responded = self.status.is_some();
        let record = |handles: &Handles| {
            handles.duration.record_duration(duration);
            if let Some(size) = request_size {
                handles.request_size.record(size);
            }
            if responded {
                handles.response_size.record(response_size);
            }
        };
        shared.cache.with_handles(metrics, &key, record);
        if let Some(stats) = &self.stats {
            for (family, (_, value)) in metrics.stats.iter().zip(stats.iter()) {
                family.with(&[self.method, route], |h| h.record(value));
            }
        }
        let status_code = self.status;
        let status = status_code.as_ref().map_or("", StatusCode::as_str);
        tracing::info!(
            target: "prism_http::request",
            method = self.method,
            route,
            status,
            error = error_label,
            duration_s = duration.as_secs_f64(),
            stats = %StatsField(self.stats.as_ref()),
            "request"
        );
    }
}

struct StatsField<'a>(Option<&'a RequestStats>);

impl fmt::Display for StatsField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(stats) => fmt::Display::fmt(stats, f),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_a_fixed_set_or_the_status_code() {
        let status = StatusCode::from_u16(503).unwrap();
        assert_eq!(ErrorType::Status(status).as_str(), "503");
        assert_eq!(ErrorType::Aborted.to_string(), "aborted");
        assert_eq!(ErrorType::Other.as_str(), "_OTHER");
        for code in 100..=999u16 {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(ErrorType::Status(status).as_str(), status.as_str());
        }
    }
}
