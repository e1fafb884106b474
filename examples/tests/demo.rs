//! The demo binary, run: its `/metrics` passes `promtool check metrics` without a word, and
//! a client that sends half a request head is disconnected.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long the test waits for the demo to answer or to close a connection.
const BOUND: Duration = Duration::from_secs(30);

/// The demo on a free loopback port, pushing OTLP to a port where nothing listens (so that
/// prism-otel's own metrics are in its `/metrics` too); killed when dropped.
struct Demo {
    child: Child,
    addr: SocketAddr,
}

impl Demo {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--listen", "127.0.0.1:0"])
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "200")
            .env("OTEL_EXPORTER_OTLP_TIMEOUT", "100")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the demo starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut demo = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        // "prism demo listening on http://ADDR/ (Ctrl-C to stop)"
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("the demo's stdout");
            if let Some(rest) = line.strip_prefix("prism demo listening on http://") {
                let addr = rest.split('/').next().unwrap_or_default();
                demo.addr = addr.parse().expect("the address the demo prints");
                return demo;
            }
        }
        panic!("the demo ended without saying where it listens");
    }

    fn get(&self, path: &str) -> String {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(BOUND)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        body.to_owned()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// promtool from PATH; `None` (with a loud message) where it is missing outside CI.
fn promtool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("promtool"))
        .find(|p| p.is_file());
    if found.is_none() {
        let message = "promtool is not on PATH, so the demo's /metrics was NOT linted. \
                       Install it with `bash .ci/setup.d/prom.sh` (Debian package `prometheus`).";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("\n!!! SKIPPED: {message}\n");
    }
    found
}

#[test]
fn the_demo_s_metrics_pass_promtool_without_a_word() {
    let Some(promtool) = promtool() else { return };
    let demo = Demo::start();
    let text = demo.get("/metrics");
    // Every family prism names itself is in what is checked: core's self-telemetry and
    // the OTLP exporter's.
    for family in [
        "prism_series",
        "prism_updates_total",
        "prism_otel_exports_total",
    ] {
        assert!(text.contains(family), "{family} missing from:\n{text}");
    }
    let mut check = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {}\n{said}\n--- input ---\n{text}",
        out.status
    );
}

#[test]
fn the_demo_disconnects_a_client_that_sends_half_a_head() {
    let demo = Demo::start();
    let mut slow = TcpStream::connect(demo.addr).unwrap();
    slow.set_read_timeout(Some(BOUND)).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: demo\r\n")
        .unwrap();
    // Answered meanwhile: the slow client holds one connection, not the server.
    assert!(demo.get("/metrics").contains("demo_handled_total"));
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
        Err(e) => panic!("a half-sent head still held its connection after {BOUND:?}: {e}"),
    }
}
