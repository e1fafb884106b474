//! The `/metrics` endpoint for axum (feature `axum`): [`router`] and [`route`].

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_TYPE, VARY,
};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use prism_core::Registry;

use crate::format::{parse_q, Format};
use crate::render::Renderer;

/// Renderers kept between requests, so that a steady stream of scrapes reuses their
/// buffers: as many as scrapes that ran at once, up to this many.
const POOLED_RENDERERS: usize = 4;

/// A router serving `GET /metrics` and `HEAD /metrics` from `registry`.
///
/// - The format follows the request's `Accept` header ([`Format::negotiate`]):
///   OpenMetrics when asked for, Prometheus 0.0.4 otherwise; the `Content-Type` names the
///   format of the body.
/// - The body is gzipped when `Accept-Encoding` allows `gzip`, as Prometheus always asks.
/// - `HEAD` answers with the headers a `GET` would get (`Content-Length` included) and no
///   body.
/// - Rendering runs on tokio's blocking pool, not on the task serving the connection, and
///   holds no lock that writers wait on.
///
/// ```
/// # async fn demo() -> std::io::Result<()> {
/// let registry = prism_core::Registry::new();
/// let app = prism_prom::router(registry);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// // axum::serve(listener, app).await
/// # drop((app, listener)); Ok(()) }
/// ```
pub fn router(registry: Registry) -> Router {
    Router::new().route("/metrics", route(registry))
}

/// The `GET`/`HEAD` handler of [`router`], to mount at a path of your own:
/// `Router::new().route("/internal/metrics", prism_prom::route(registry))`.
pub fn route<S>(registry: Registry) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let endpoint = Arc::new(Endpoint {
        registry,
        pool: Mutex::new(Vec::new()),
    });
    get(serve).head(serve).with_state(endpoint)
}

struct Endpoint {
    registry: Registry,
    /// Idle renderers. Locked only to take or return one, never across a render.
    pool: Mutex<Vec<Renderer>>,
}

impl Endpoint {
    fn render(&self, format: Format) -> Vec<u8> {
        // A panic while the pool was locked cannot leave it inconsistent (a push or a pop):
        // recover from poisoning.
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut renderer = pooled.unwrap_or_else(|| Renderer::new(self.registry.clone()));
        let mut body = Vec::new();
        renderer.render_into_vec(format, &mut body);
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < POOLED_RENDERERS {
            pool.push(renderer);
        }
        body
    }
}

async fn serve(
    State(endpoint): State<Arc<Endpoint>>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let format = negotiate(&headers);
    let gzip = accepts_gzip(&headers);

    let rendered = tokio::task::spawn_blocking(move || {
        let body = endpoint.render(format);
        if gzip {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                // Level 1: metrics text shrinks about tenfold even so, and a scrape waits
                // on this.
                flate2::Compression::fast(),
            );
            encoder.write_all(&body).and_then(|()| encoder.finish())
        } else {
            Ok(body)
        }
    })
    .await;
    let body = match rendered {
        Ok(Ok(body)) => body,
        Ok(Err(err)) => return failure(format!("compressing the metrics failed: {err}\n")),
        Err(err) => return failure(format!("rendering the metrics failed: {err}\n")),
    };

    let mut response_headers = HeaderMap::with_capacity(4);
    response_headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response_headers.insert(VARY, HeaderValue::from_static("Accept, Accept-Encoding"));
    if gzip {
        response_headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response_headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(body)
    };
    (StatusCode::OK, response_headers, body).into_response()
}

fn failure(message: String) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// The format for the request's `Accept` header fields; several fields are one list
/// (RFC 9110, 5.3), and a field that is not visible ASCII is ignored.
fn negotiate(headers: &HeaderMap) -> Format {
    let mut fields = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok());
    match (fields.next(), fields.next()) {
        (None, _) => Format::Prometheus,
        (Some(only), None) => Format::negotiate(only),
        (Some(first), Some(second)) => {
            let mut list = format!("{first},{second}");
            for more in fields {
                list.push(',');
                list.push_str(more);
            }
            Format::negotiate(&list)
        }
    }
}

/// Whether `Accept-Encoding` allows gzip: `gzip` (or its alias `x-gzip`) with a non-zero
/// weight, or `*` with a non-zero weight and gzip not refused by name (RFC 9110, 12.5.3).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut named: Option<bool> = None;
    let mut wildcard = false;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for coding in value.split(',') {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let mut weight = Some(1000);
            for param in parts {
                if let Some((key, q)) = param.split_once('=') {
                    if key.trim().eq_ignore_ascii_case("q") {
                        weight = parse_q(q.trim());
                    }
                }
            }
            let allowed = weight.is_some_and(|w| w > 0);
            if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                named = Some(named.unwrap_or(false) || allowed);
            } else if name == "*" {
                wildcard |= allowed;
            }
        }
    }
    named.unwrap_or(wildcard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn several_accept_fields_are_one_list() {
        let mut headers = HeaderMap::new();
        assert_eq!(negotiate(&headers), Format::Prometheus);
        headers.append(ACCEPT, HeaderValue::from_static("text/plain;q=0.5"));
        assert_eq!(negotiate(&headers), Format::Prometheus);
        headers.append(
            ACCEPT,
            HeaderValue::from_static("application/openmetrics-text"),
        );
        assert_eq!(negotiate(&headers), Format::OpenMetrics);
        headers.append(ACCEPT, HeaderValue::from_static("text/plain;version=0.0.4"));
        assert_eq!(
            negotiate(&headers),
            Format::OpenMetrics,
            "ties keep header order"
        );
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(gzip(&["gzip"]));
        assert!(gzip(&["deflate, gzip;q=0.5"]));
        assert!(gzip(&["br", "GZIP"]));
        assert!(gzip(&["x-gzip"]));
        assert!(gzip(&["*"]));
        assert!(gzip(&["identity, *;q=0.1"]));
        assert!(!gzip(&[]));
        assert!(!gzip(&["identity"]));
        assert!(!gzip(&["gzip;q=0"]));
        assert!(!gzip(&["gzip;q=0.000"]));
        assert!(!gzip(&["*, gzip;q=0"]));
        assert!(!gzip(&["*;q=0"]));
        assert!(!gzip(&["gzip;q=nonsense"]));
    }
}
