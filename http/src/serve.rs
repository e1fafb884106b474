//! [`serve()`]: HTTP/1.1 on a tokio listener with a header-read timeout, an idle keep-alive
//! timeout and a connection cap, and an accept loop that outlives running out of file
//! descriptors.

mod config;
mod connection;
mod error;

use std::future::{Future, IntoFuture, Pending};
use std::io;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub use config::Config;
pub use error::Error;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `service` on `listener` with the limits of [`Config::default`] until the
/// returned [`Serve`] is dropped, or until the signal given to
/// [`with_graceful_shutdown`](Serve::with_graceful_shutdown) fires.
///
/// `service` is any tower service of requests with a hyper body, which is what an axum
/// `Router` is; each request gets a clone of it. Connections speak HTTP/1.1, which is
/// what Prometheus, the OpenTelemetry exporters and curl send unless told otherwise.
///
/// - A client that takes longer than [`Config::header_read_timeout`] to send a request
///   head, or leaves a kept-alive connection idle for [`Config::idle_timeout`], is
///   disconnected without a response.
/// - At most [`Config::max_connections`] connections are open at once; further ones wait
///   in the listener's backlog until one closes.
/// - An accept that fails for one connection (reset or aborted before it was accepted) is
///   skipped; any other failure (no file descriptor left, `EMFILE`/`ENFILE`, or no memory)
///   is retried after a pause that doubles from 10 ms up to 1 s and starts again at the
///   next success, so that the loop never ends on it and recovers once connections close.
/// - Once a request head is in, the request is not timed: the handler's own timeouts apply.
///
/// Awaiting it runs the server; it resolves only after a graceful shutdown, or at once with
/// an [`Error`] if the config is out of range. It needs a tokio runtime with its IO and
/// time drivers enabled (`#[tokio::main]` enables both).
///
/// ```
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let app = axum::Router::new().route("/metrics", axum::routing::get(|| async { "up 1\n" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9898").await?;
/// prism_http::serve(listener, app)
///     .config(prism_http::Config::new().max_connections(64))
///     .with_graceful_shutdown(async {
///         let _ = tokio::signal::ctrl_c().await;
///     })
///     .await?;
/// # Ok(()) }
/// ```
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S> {
    Serve {
        listener,
        service,
        config: Config::new(),
        signal: std::future::pending(),
    }
}

/// A server not yet started, returned by [`serve()`]; `.await` it to serve.
#[must_use = "a server does nothing until it is awaited"]
#[derive(Debug)]
pub struct Serve<S, F = Pending<()>> {
    listener: TcpListener,
    service: S,
    config: Config,
    signal: F,
}

impl<S, F> Serve<S, F> {
    /// Serves with these limits instead of [`Config::default`]'s.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Stops when `signal` completes: the listener is closed (connections still in its
    /// backlog are refused), idle connections are closed, requests being served get their
    /// response with `Connection: close`, and the server's future resolves once every
    /// connection has ended. A connection still sending its head ends at its header read
    /// timeout.
    pub fn with_graceful_shutdown<G>(self, signal: G) -> Serve<S, G>
    where
        G: Future<Output = ()> + Send + 'static,
    {
        Serve {
            listener: self.listener,
            service: self.service,
            config: self.config,
            signal,
        }
    }
}

impl<S, B, F> IntoFuture for Serve<S, F>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()> + Send + 'static,
{
    type Output = Result<(), Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self.listener, self.service, self.config, self.signal))
    }
}

/// Where connections come from: a [`TcpListener`], or in tests one that fails on purpose.
trait Accept: Send + 'static {
    fn accept(&mut self) -> impl Future<Output = io::Result<TcpStream>> + Send;
}

impl Accept for TcpListener {
    async fn accept(&mut self) -> io::Result<TcpStream> {
        TcpListener::accept(self).await.map(|(stream, _)| stream)
    }
}

/// The pause after an accept failure that is not one connection's.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    fn new() -> Self {
        Self { next: Self::FIRST }
    }

    fn next(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        pause
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// Whether an accept error concerns only the connection being accepted (which the client
/// gave up on), so that the next accept can follow at once.
fn one_connection_failed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

async fn run<L, S, B, F>(
    mut listener: L,
    service: S,
    config: Config,
    signal: F,
) -> Result<(), Error>
where
    L: Accept,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()> + Send,
{
    config.validate()?;
    let slots = Arc::new(Semaphore::new(config.connections()));
    // Each connection holds a receiver: a send asks them to shut down gracefully, and
    // `closed` resolves once the last one has ended.
    let (stop, stopped) = watch::channel(());
    let mut signal = pin!(signal);
    let mut backoff = Backoff::new();
    'serve: loop {
        // The slot is taken before the accept: at the cap, connections wait in the backlog.
        let slot = tokio::select! {
            biased;
            () = &mut signal => break 'serve,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                // Only a closed semaphore fails, and this one is never closed.
                Err(_) => break 'serve,
            },
        };
        loop {
            let accepted = tokio::select! {
                biased;
                () = &mut signal => break 'serve,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok(stream) => {
                    backoff.reset();
                    tokio::spawn(connection(
                        stream,
                        service.clone(),
                        config,
                        slot,
                        stopped.clone(),
                    ));
                    break;
                }
                Err(e) if one_connection_failed(&e) => {}
                Err(_) => {
                    // Out of descriptors or memory: accepting again at once would fail
                    // again. Connections that end (their timeouts see to it) free some.
                    tokio::select! {
                        biased;
                        () = &mut signal => break 'serve,
                        () = tokio::time::sleep(backoff.next()) => {}
                    }
                }
            }
        }
    }
    drop(listener);
    drop(stopped);
    // Fails only when no connection is left to tell.
    let _ = stop.send(());
    stop.closed().await;
    Ok(())
}

/// Serves one connection until it ends, or gracefully once `stopped` changes.
async fn connection<S, B>(
    stream: TcpStream,
    service: S,
    config: Config,
    slot: OwnedSemaphorePermit,
    mut stopped: watch::Receiver<()>,
) where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let _slot = slot;
    let clock = connection::Clock::new(Instant::now(), config.header_read(), config.idle());
    let io = TokioIo::new(connection::Guarded::new(stream, clock.clone()));
    let mut conn = pin!(hyper::server::conn::http1::Builder::new()
        // The connection's clock does this job, with the idle wait kept apart.
        .header_read_timeout(None)
        .serve_connection(io, connection::Service::new(service, clock)));
    tokio::select! {
        // A connection error (a timeout, a reset, a malformed request) concerns that
        // client only; there is no one to report it to.
        _ = conn.as_mut() => return,
        // A change, or the server's future dropped: either way, stop.
        _ = stopped.changed() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A listener that fails like one out of file descriptors before it accepts.
    struct Exhausted {
        listener: TcpListener,
        failures_left: usize,
        failed: Arc<AtomicUsize>,
    }

    impl Accept for Exhausted {
        async fn accept(&mut self) -> io::Result<TcpStream> {
            if self.failures_left > 0 {
                self.failures_left -= 1;
                self.failed.fetch_add(1, Ordering::Relaxed);
                // EMFILE on Linux, some other OS error elsewhere: not one connection's.
                return Err(io::Error::from_raw_os_error(24));
            }
            Accept::accept(&mut self.listener).await
        }
    }

    #[tokio::test]
    async fn the_accept_loop_backs_off_and_outlives_running_out_of_descriptors() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let failed = Arc::new(AtomicUsize::new(0));
        let exhausted = Exhausted {
            listener,
            failures_left: 5,
            failed: failed.clone(),
        };
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "still here" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(exhausted, app, Config::new(), async {
            let _ = stopped.await;
        }));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        client.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("still here"), "{response}");
        assert_eq!(
            failed.load(Ordering::Relaxed),
            5,
            "served after 5 failed accepts"
        );
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }

    #[test]
    fn backoff_doubles_to_a_second_and_restarts() {
        let mut b = Backoff::new();
        let pauses: Vec<_> = (0..9).map(|_| b.next().as_millis()).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.reset();
        assert_eq!(b.next(), Backoff::FIRST);
    }

    #[test]
    fn only_a_client_s_own_failures_skip_the_pause() {
        assert!(one_connection_failed(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
        assert!(!one_connection_failed(&io::Error::from_raw_os_error(24)));
        assert!(!one_connection_failed(&io::Error::from(
            io::ErrorKind::OutOfMemory
        )));
    }
}
