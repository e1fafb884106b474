//! `serve` on a real socket against clients that send half a head, go idle, or come in
//! beyond the connection cap. Closing is asserted within a generous bound only (`BOUND`),
//! never against a clock.
use std::future::IntoFuture;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use prism_http::{serve, Config};
use tokio::sync::{oneshot, Notify};

/// How long a client waits for the server to answer or to close before the test fails.
const BOUND: Duration = Duration::from_secs(10);
/// A timeout long enough never to fire during a test.
const NEVER: Duration = Duration::from_secs(600);
/// A timeout short enough for a test, long enough that a client which sends a whole request
/// at once is never cut short by a busy machine.
const SHORT: Duration = Duration::from_secs(1);
/// A head cut before its final empty line.
const HALF_HEAD: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: test\r\nAccept: text/plain\r\n";

struct Server {
    addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<Result<(), prism_http::Error>>>,
    /// Told when a request to `/wait` has begun.
    started: Arc<Notify>,
    /// Releases one request waiting on `/wait`.
    release: Arc<Notify>,
}

impl Server {
    fn start(config: Config) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let started = Arc::new(Notify::new());
        let release = Arc::new(Notify::new());
        let (begun, waiting) = (started.clone(), release.clone());
        let app = axum::Router::new()
            .route("/metrics", axum::routing::get(|| async { "up 1\n" }))
            .route(
                "/wait",
                axum::routing::get(move || {
                    let (begun, waiting) = (begun.clone(), waiting.clone());
                    async move {
                        begun.notify_one();
                        waiting.notified().await;
                        "released\n"
                    }
                }),
            );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = runtime.spawn(
            serve(listener, app)
                .config(config)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .into_future(),
        );
        Self {
            addr,
            runtime,
            stop: Some(stop),
            done: Some(done),
            started,
            release,
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(BOUND)).unwrap();
        stream
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    body: String,
}

/// Sends a whole `GET path` on `stream` and reads its response (kept alive).
fn get(stream: &mut TcpStream, path: &str) -> Response {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    read_response(stream)
}

fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            Ok(_) => panic!(
                "connection closed before a whole response head: {:?}",
                String::from_utf8_lossy(&raw)
            ),
            Err(e) => panic!("no response within {BOUND:?}: {e}"),
        }
    }
    let head = String::from_utf8(raw).unwrap();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("a content-length");
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    Response {
        status,
        body: String::from_utf8(body).unwrap(),
    }
}

/// Waits up to [`BOUND`] for the server to close `stream`: end of file or a reset.
fn assert_closed_by_server(stream: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!(
            "{what}: expected a close, got {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ) => {}
        Err(e) => panic!("{what}: still open after {BOUND:?} ({e})"),
    }
}

/// Whether `stream` is open with nothing to read, checked without waiting.
fn open_and_silent(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let result = stream.read(&mut [0u8; 1]);
    stream.set_nonblocking(false).unwrap();
    matches!(result, Err(e) if e.kind() == ErrorKind::WouldBlock)
}

fn half_heads(server: &Server, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut stream = server.connect();
            stream.write_all(HALF_HEAD).unwrap();
            stream
        })
        .collect()
}

#[test]
fn a_request_is_answered_while_200_clients_hold_half_sent_heads() {
    let server = Server::start(Config::new().header_read_timeout(NEVER));
    let mut slow = half_heads(&server, 200);
    let mut scraper = server.connect();
    let response = get(&mut scraper, "/metrics");
    assert_eq!((response.status, response.body.as_str()), (200, "up 1\n"));
    for (i, stream) in slow.iter_mut().enumerate() {
        assert!(
            open_and_silent(stream),
            "slow client {i} was answered or closed"
        );
    }
}

#[test]
fn half_sent_heads_are_closed_after_the_header_read_timeout() {
    let server = Server::start(Config::new().header_read_timeout(SHORT).idle_timeout(NEVER));
    // A connection's first head is due from the accept, bytes or none.
    let mut silent = server.connect();
    let mut slow = half_heads(&server, 200);
    // A later head is due from its first byte, even with a long idle timeout.
    let mut kept_alive = server.connect();
    assert_eq!(get(&mut kept_alive, "/metrics").status, 200);
    kept_alive.write_all(HALF_HEAD).unwrap();

    assert_closed_by_server(&mut silent, "a connection that sent nothing");
    for (i, stream) in slow.iter_mut().enumerate() {
        assert_closed_by_server(stream, &format!("slow client {i}"));
    }
    assert_closed_by_server(&mut kept_alive, "a second head sent by half");
    assert_eq!(get(&mut server.connect(), "/metrics").status, 200);
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let server = Server::start(Config::new().header_read_timeout(NEVER).idle_timeout(SHORT));
    let mut client = server.connect();
    assert_eq!(get(&mut client, "/metrics").status, 200);
    assert_eq!(get(&mut client, "/metrics").status, 200, "kept alive");
    assert_closed_by_server(&mut client, "an idle kept-alive connection");
}

#[test]
fn the_idle_wait_is_not_cut_to_the_header_read_timeout() {
    // hyper's own header timer also runs while a kept-alive connection is idle; this
    // server's does not.
    let server = Server::start(Config::new().header_read_timeout(SHORT).idle_timeout(NEVER));
    let mut client = server.connect();
    assert_eq!(get(&mut client, "/metrics").status, 200);
    std::thread::sleep(3 * SHORT);
    assert!(open_and_silent(&mut client), "closed while idle");
    assert_eq!(get(&mut client, "/metrics").status, 200);
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let server = Server::start(
        Config::new()
            .max_connections(2)
            .header_read_timeout(NEVER)
            .idle_timeout(NEVER),
    );
    // Answered, so accepted: both slots are held.
    let mut first = server.connect();
    let mut second = server.connect();
    assert_eq!(get(&mut first, "/metrics").status, 200);
    assert_eq!(get(&mut second, "/metrics").status, 200);

    let mut third = server.connect();
    third
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    // Long enough for an uncapped server to answer; a capped one never does meanwhile.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        open_and_silent(&mut third),
        "a third connection was served beyond a cap of 2"
    );
    drop(first);
    let response = read_response(&mut third);
    assert_eq!((response.status, response.body.as_str()), (200, "up 1\n"));
    assert_eq!(get(&mut second, "/metrics").status, 200);
}

#[test]
fn graceful_shutdown_finishes_requests_and_closes_idle_connections() {
    let mut server = Server::start(Config::new());
    let mut idle = server.connect();
    assert_eq!(get(&mut idle, "/metrics").status, 200);
    let mut busy = server.connect();
    busy.write_all(b"GET /wait HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let started = server.started.clone();
    let begun = server
        .runtime
        .block_on(async { tokio::time::timeout(BOUND, started.notified()).await });
    assert!(begun.is_ok(), "/wait was not called within {BOUND:?}");

    server.stop.take().unwrap().send(()).unwrap();
    assert_closed_by_server(&mut idle, "an idle connection at shutdown");
    let done = server.done.take().unwrap();
    assert!(
        !done.is_finished(),
        "the server ended with a request in flight"
    );

    server.release.notify_one();
    let response = read_response(&mut busy);
    assert_eq!(
        (response.status, response.body.as_str()),
        (200, "released\n")
    );
    // Sent with `Connection: close` if the connection saw the shutdown first, else closed
    // right after as an idle one.
    assert_closed_by_server(
        &mut busy,
        "a connection whose request was served at shutdown",
    );
    let result = server
        .runtime
        .block_on(async { tokio::time::timeout(BOUND, done).await });
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn an_out_of_range_config_is_refused_before_serving() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        serve(listener, axum::Router::new())
            .config(Config::new().max_connections(0))
            .await
    });
    let err = result.unwrap_err();
    assert_eq!(err.setting(), Some("max_connections"));
    assert!(err.to_string().contains("at least 1"), "{err}");
}
