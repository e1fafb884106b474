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

use crate::format::Format;
use crate::render::Renderer;

/// Renderers kept between requests, so that a steady stream of scrapes reuses their
/// buffers: as many as scrapes that ran at once, up to this many.
const POOLED_RENDERERS: usize = 4;

/// A router serving `GET /metrics` and `HEAD /metrics` from `registry`.
///
/// - The format follows the request's first `Accept` header ([`Format::negotiate`]):
///   OpenMetrics 1.0.0 or 0.0.1 when asked for, Prometheus 0.0.4 otherwise; the
///   `Content-Type` names the format of the body.
/// - The body is gzipped when `Accept-Encoding` weighs `gzip` above `identity`, as
///   client_golang's `promhttp` decides (Prometheus sends `Accept-Encoding: gzip`).
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

/// The format for the request's `Accept` header: its first field only, as client_golang
/// reads it (Go's `http.Header.Get`); see [`Format::negotiate`].
fn negotiate(headers: &HeaderMap) -> Format {
    match headers.get(ACCEPT) {
        None => Format::Prometheus,
        // Bytes that are not UTF-8 match no type or parameter in Go either.
        Some(value) => Format::negotiate(&String::from_utf8_lossy(value.as_bytes())),
    }
}

/// Whether to gzip, decided as client_golang's `promhttp` does: gddo's
/// `NegotiateContentEncoding(request, ["identity", "gzip"])` (the offers of a handler
/// without zstd), then identity when it answers none.
///
/// - Each offer, identity first, takes the weight of the heaviest coding that names it or
///   is `*`; gzip wins only with a weight strictly above identity's (ties go to the earlier
///   offer), and a weight of 0 picks nothing, which `promhttp` serves as identity. No
///   header, or no coding it knows: identity.
/// - Codings are compared case-sensitively (`GZIP` and `x-gzip` are not `gzip`), and a
///   field's parsing stops at the first coding it cannot read (a parameter other than
///   `q`, a `q` that is not a number): the codings before it count.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let codings = parse_accept_encoding(headers);
    let mut best = ("identity", -1.0);
    for offer in ["identity", "gzip"] {
        for coding in &codings {
            if coding.q > best.1 && (coding.value == b"*" || coding.value == offer.as_bytes()) {
                best = (offer, coding.q);
            }
        }
    }
    best.0 == "gzip" && best.1 != 0.0
}

/// One coding of `Accept-Encoding` and its weight, as gddo's `header.ParseAccept` reads it.
struct Coding<'a> {
    value: &'a [u8],
    q: f64,
}

/// Every `Accept-Encoding` field, read as gddo's `header.ParseAccept` reads them.
fn parse_accept_encoding(headers: &HeaderMap) -> Vec<Coding<'_>> {
    let mut codings = Vec::new();
    'fields: for field in headers.get_all(ACCEPT_ENCODING) {
        let mut s = field.as_bytes();
        loop {
            let (value, rest) = split_token(s);
            if value.is_empty() {
                continue 'fields;
            }
            s = skip_space(rest);
            let mut q = 1.0;
            if let Some(rest) = s.strip_prefix(b";") {
                let Some(rest) = skip_space(rest).strip_prefix(b"q=") else {
                    continue 'fields;
                };
                let (weight, rest) = parse_quality(rest);
                if weight < 0.0 {
                    continue 'fields;
                }
                (q, s) = (weight, rest);
            }
            codings.push(Coding { value, q });
            match skip_space(s).strip_prefix(b",") {
                Some(rest) => s = skip_space(rest),
                None => continue 'fields,
            }
        }
    }
    codings
}

/// gddo's `skipSpace`: drops leading spaces, tabs, CRs and LFs.
fn skip_space(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(s.len());
    &s[start..]
}

/// gddo's `expectTokenSlash`: the longest prefix of token characters (RFC 2616) and `/`.
fn split_token(s: &[u8]) -> (&[u8], &[u8]) {
    let is_token =
        |b: &u8| b.is_ascii_graphic() && !b"\"(),:;<=>?@[\\]{}".contains(b) || *b == b'/';
    let end = s.iter().position(|b| !is_token(b)).unwrap_or(s.len());
    s.split_at(end)
}

/// gddo's `expectQuality`: `0` or `1`, then optionally `.` and digits (any number of them,
/// with Go's 64-bit integer arithmetic); a negative weight when the value starts otherwise.
fn parse_quality(s: &[u8]) -> (f64, &[u8]) {
    let whole = match s.first() {
        Some(b'0') => 0.0,
        Some(b'1') => 1.0,
        _ => return (-1.0, &[]),
    };
    let Some(rest) = s[1..].strip_prefix(b".") else {
        return (whole, &s[1..]);
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let (mut n, mut d) = (0i64, 1i64);
    for &b in &rest[..digits] {
        n = n.wrapping_mul(10).wrapping_add(i64::from(b - b'0'));
        d = d.wrapping_mul(10);
    }
    (whole + n as f64 / d as f64, &rest[digits..])
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

    /// `Accept-Encoding` fields and whether client_golang's `promhttp` (1.24, offers
    /// identity and gzip) gzips, the rule of gddo's `NegotiateContentEncoding` in the
    /// comment.
    #[test]
    fn accept_encoding_is_negotiated_as_promhttp_does() {
        let table: &[(&[&str], bool)] = &[
            // No header, or no coding offered: identity, offered first.
            (&[], false),
            (&["br, deflate"], false),
            // gzip alone, or heavier than identity.
            (&["gzip"], true),
            (&["deflate, gzip, br, zstd"], true),
            (&["gzip;q=0.5"], true),
            (&["gzip;q=0.001"], true),
            (&["identity;q=0.5, gzip"], true),
            (&["identity;q=0.2, gzip;q=0.3"], true),
            (&["*;q=0.5, gzip"], true),
            // Identity heavier: identity.
            (&["gzip;q=0.5, identity;q=1"], false),
            (&["gzip;q=0.5, identity"], false),
            // Equal weights: the earlier offer, identity. `*` weighs both the same.
            (&["gzip, identity"], false),
            (&["*"], false),
            (&["identity, *;q=0.1"], false),
            (&["*, gzip;q=0"], false),
            // The best weight is 0: no offer, which promhttp serves as identity.
            (&["gzip;q=0"], false),
            (&["gzip;q=0.000"], false),
            (&["*;q=0"], false),
            (&["identity;q=0"], false),
            (&["gzip;q=0, br"], false),
            // Codings match case-sensitively; no alias.
            (&["GZIP"], false),
            (&["x-gzip"], false),
            // Weights are read as Go reads them: above 1 kept, spaces after `;` allowed.
            (&["identity, gzip;q=1.5"], true),
            (&["gzip; q=0.5"], true),
            (&["identity;q=0.5, gzip;q=0.50000000000000000001"], false),
            // A field stops at what gddo cannot read; what came before counts.
            (&["gzip;level=1"], false),
            (&["gzip;q=nonsense"], false),
            (&["gzip;q=2"], false),
            (&["identity;q=0.1, gzip;Q=1"], false),
            (&["gzip, br;level=3, identity"], true),
            // Several fields are one list, in order.
            (&["identity;q=0.1", "gzip"], true),
            (&["gzip;q=0.1", "identity"], false),
        ];
        for &(fields, expected) in table {
            assert_eq!(gzip(fields), expected, "Accept-Encoding: {fields:?}");
        }
    }

    #[test]
    fn only_the_first_accept_field_counts_as_in_go() {
        let mut headers = HeaderMap::new();
        assert_eq!(negotiate(&headers), Format::Prometheus);
        headers.append(ACCEPT, HeaderValue::from_static("text/plain;q=0.5"));
        headers.append(
            ACCEPT,
            HeaderValue::from_static("application/openmetrics-text;version=1.0.0"),
        );
        assert_eq!(negotiate(&headers), Format::Prometheus);
        let mut headers = HeaderMap::new();
        headers.append(
            ACCEPT,
            HeaderValue::from_static("application/openmetrics-text"),
        );
        headers.append(ACCEPT, HeaderValue::from_static("text/plain"));
        assert_eq!(negotiate(&headers), Format::OpenMetrics0_0_1);
    }

    #[test]
    fn quality_values_parse_as_gddo_does() {
        assert_eq!(parse_quality(b"1"), (1.0, &b""[..]));
        assert_eq!(parse_quality(b"0.5, br"), (0.5, &b", br"[..]));
        assert_eq!(parse_quality(b"1.5"), (1.5, &b""[..]));
        assert_eq!(parse_quality(b"0."), (0.0, &b""[..]));
        assert_eq!(parse_quality(b"2").0, -1.0);
        assert_eq!(parse_quality(b"").0, -1.0);
        assert_eq!(parse_quality(b".5").0, -1.0);
    }
}
