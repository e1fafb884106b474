//! A loopback OTLP/HTTP receiver for `live`: [`Receiver`] accepts `POST /v1/metrics` with a
//! protobuf or JSON body, uncompressed or gzip (`Content-Encoding: gzip`, which
//! OpenTelemetry exporters send when `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`), and hands each
//! push to the check.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

use crate::format::Format;
use crate::live::{Push, PushSender};

/// The path OTLP/HTTP exporters post metrics to.
pub const OTLP_METRICS_PATH: &str = "/v1/metrics";

/// An OTLP/HTTP receiver on its own thread; stopped when dropped.
///
/// ```
/// use prism_conformance::live::Receiver;
/// use std::time::{Duration, Instant};
///
/// let receiver = Receiver::start("127.0.0.1:0".parse().unwrap())?;
/// let url = format!("http://{}/v1/metrics", receiver.local_addr());
/// let before = Instant::now();
/// # let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
/// # let response = agent.post(&url).header("Content-Type", "application/x-protobuf").send(&[][..]).unwrap();
/// # assert_eq!(response.status(), 200);
/// // ... the service pushes (here, an empty protobuf request) ...
/// let push = receiver.next_after(before, Duration::from_secs(5))?;
/// assert_eq!(push.format, prism_conformance::Format::OtlpProto);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    pushes: mpsc::Receiver<Push>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on `addr` (port 0: any free port; see [`local_addr`](Self::local_addr)).
    pub fn start(addr: SocketAddr) -> Result<Self, String> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| format!("cannot receive OTLP on {addr}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("OTLP receiver: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("OTLP receiver: {e}"))?;
        let (tx, pushes) = mpsc::channel();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("OTLP receiver: {e}"))?;
        let thread = std::thread::Builder::new()
            .name("otlp-receiver".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = Router::new().route(
                        OTLP_METRICS_PATH,
                        post(move |headers: HeaderMap, body: Bytes| {
                            receive(tx.clone(), headers, body)
                        }),
                    );
                    // prism-http's limits: a pusher that stalls mid-head or idles is
                    // disconnected instead of holding the receiver's sockets.
                    let _ = prism_http::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stop.await;
                        })
                        .await;
                });
            })
            .map_err(|e| format!("OTLP receiver: {e}"))?;
        Ok(Self {
            addr,
            pushes,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first push that arrived at or after `after`, waiting up to `timeout` for one.
    pub fn next_after(&self, after: Instant, timeout: Duration) -> Result<Push, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.pushes.recv_timeout(left) {
                Ok(push) if push.at >= after => return Ok(push),
                Ok(_) => continue,
                Err(_) => {
                    return Err(format!(
                        "no OTLP push reached http://{}{OTLP_METRICS_PATH} within {timeout:?} \
                         (point the service's OTEL_EXPORTER_OTLP_METRICS_ENDPOINT there, with \
                         OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or http/json, and an \
                         OTEL_METRIC_EXPORT_INTERVAL in ms well below {} ms: its default is \
                         60000)",
                        self.addr,
                        timeout.as_millis()
                    ))
                }
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn receive(
    tx: PushSender,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], Vec<u8>) {
    let at = Instant::now();
    let text = |h| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let encoding = text(header::CONTENT_ENCODING);
    let content_type = text(header::CONTENT_TYPE);
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let refuse = |why: &str| {
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            why.as_bytes().to_vec(),
        )
    };
    let body = match encoding.as_str() {
        "" | "identity" => body.to_vec(),
        "gzip" => match gunzip(&body) {
            Ok(body) => body,
            Err(why) => {
                return (
                    StatusCode::BAD_REQUEST,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    why.into_bytes(),
                )
            }
        },
        _ => return refuse("prism-conformance receives OTLP uncompressed or gzip"),
    };
    let (format, reply_type, reply): (Format, &'static str, Vec<u8>) = match media.as_str() {
        "application/x-protobuf" => (Format::OtlpProto, "application/x-protobuf", Vec::new()),
        "application/json" => (Format::OtlpJson, "application/json", b"{}".to_vec()),
        _ => return refuse("expected application/x-protobuf or application/json"),
    };
    let _ = tx.send(Push { format, body, at });
    (StatusCode::OK, [(header::CONTENT_TYPE, reply_type)], reply)
}

/// The most bytes a gzip body may inflate to: far above any real push, and a bound on what a
/// malformed or hostile one can make the receiver allocate.
const MAX_INFLATED: u64 = 256 << 20;

/// Inflates a gzip body; a body that is not gzip, or inflates past [`MAX_INFLATED`], is an
/// error that says so.
fn gunzip(body: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("Content-Encoding: gzip, but the body does not inflate: {e}"))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(format!(
            "the gzip body inflates past {} MiB; prism-conformance refuses it",
            MAX_INFLATED >> 20
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{ErrorKind, Read, Write};

    #[test]
    fn a_pusher_that_sends_half_a_head_is_disconnected() {
        let receiver = Receiver::start("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut slow = std::net::TcpStream::connect(receiver.local_addr()).unwrap();
        // Well above prism-http's 5 s header read timeout; only a hang reaches it.
        slow.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        slow.write_all(b"POST /v1/metrics HTTP/1.1\r\nHost: r\r\n")
            .unwrap();
        let mut buf = [0u8; 64];
        match slow.read(&mut buf) {
            Ok(0) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) => {}
            Ok(n) => panic!(
                "a half-sent head was answered: {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(e) => panic!("a half-sent head still held its connection: {e}"),
        }
    }
}
