//! The demo binary, run under its own `--load`: its `/metrics` passes `promtool check
//! metrics` without a word, and a client that sends half a request head is disconnected.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

mod support;
use support::{found_or_skip, Demo, BOUND};

/// The demo, pushing OTLP to a port where nothing listens, so that prism-otel's own metrics
/// are in its `/metrics` too.
fn demo() -> Demo {
    Demo::start_with(
        &["--load", "200"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", Some("http://127.0.0.1:9")),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", Some("http/protobuf")),
            ("OTEL_METRIC_EXPORT_INTERVAL", Some("200")),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", Some("100")),
        ],
    )
}

/// `/metrics` once the load has reached every API route, so that every family has series.
fn metrics_under_load(demo: &Demo) -> String {
    let start = std::time::Instant::now();
    loop {
        let text = demo.get("/metrics");
        let routes = text
            .lines()
            .filter(|l| l.starts_with("demo_route_requests_total{"))
            .count();
        if routes == 4 && text.contains("code=\"500\"") {
            return text;
        }
        assert!(
            start.elapsed() < BOUND,
            "the load did not reach every route:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// promtool from PATH; `None` (with a loud message) where it is missing outside CI.
fn promtool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join("promtool"))
        .find(|p| p.is_file());
    let message = "promtool is not on PATH, so the demo's /metrics was NOT linted. \
                       Install it with `bash .ci/setup.d/prom.sh` (Debian package `prometheus`).";
    found_or_skip(found, "promtool", message)
}

#[test]
fn the_demo_s_metrics_pass_promtool_without_a_word() {
    let Some(promtool) = promtool() else { return };
    let demo = demo();
    let text = metrics_under_load(&demo);
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
    let demo = demo();
    let mut slow = TcpStream::connect(demo.addr).unwrap();
    slow.set_read_timeout(Some(BOUND)).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: demo\r\n")
        .unwrap();
    // Answered meanwhile: the slow client holds one connection, not the server.
    assert!(demo.get("/metrics").contains("demo_handled_total"));
    assert!(demo.get("/api/items/1").contains("item-1"));
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
