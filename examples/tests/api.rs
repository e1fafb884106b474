//! The demo as a real service: its API answers, every answered request is counted exactly
//! by route, method and status in `/metrics` and `/debug/vars`, and `--load` drives it with
//! real requests.

use std::time::{Duration, Instant};

mod support;
use support::{Demo, BOUND};

/// The value of the sample line starting with `series ` in Prometheus text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Chunked bodies (the streaming route) read raw: the lines are in it.
fn unchunked_contains(body: &str, line: &str) -> bool {
    body.contains(line)
}

#[test]
fn every_answered_request_is_counted_by_route_method_and_status() {
    let demo = Demo::start(&[]);
    let mut expected_ok = 0;
    for id in 0..7 {
        let body = demo.get(&format!("/api/items/{id}"));
        assert!(body.contains(&format!("\"id\": {id}")), "{body}");
        expected_ok += 1;
    }
    for id in [1000, 5000, 999_999] {
        let (status, body) = demo.request(&format!("/api/items/{id}"));
        assert_eq!(status, 404, "{body}");
    }
    let (status, _) = demo.request("/api/items/not-a-number");
    assert_eq!(status, 400);
    assert!(demo.get("/api/slow?ms=1").starts_with("slept 1 ms"));
    expected_ok += 1;
    let streamed = demo.get("/api/stream?chunks=3");
    assert!(unchunked_contains(&streamed, "line 2 of 3"), "{streamed}");
    expected_ok += 1;
    let (mut flaky_ok, mut flaky_failed) = (0, 0);
    for _ in 0..20 {
        match demo.request("/api/flaky").0 {
            200 => flaky_ok += 1,
            500 => flaky_failed += 1,
            other => panic!("/api/flaky answered {other}"),
        }
    }
    expected_ok += flaky_ok;
    // A path no route matches is answered 404 and is no route's count.
    assert_eq!(demo.request("/api/nothing/here").0, 404);

    let text = demo.get("/metrics");
    let count = |series: &str| sample(&text, series).unwrap_or(0.0) as u64;
    assert_eq!(
        count(r#"demo_requests_total{method="GET",code="200"}"#),
        expected_ok
    );
    assert_eq!(count(r#"demo_requests_total{method="GET",code="404"}"#), 3);
    assert_eq!(count(r#"demo_requests_total{method="GET",code="400"}"#), 1);
    assert_eq!(
        count(r#"demo_requests_total{method="GET",code="500"}"#),
        flaky_failed
    );
    assert_eq!(count("demo_errors_total"), flaky_failed);
    assert_eq!(count("demo_handled_total"), expected_ok + 4 + flaky_failed);
    assert_eq!(
        count(r#"demo_route_requests_total{route="/api/items/{id}"}"#),
        11
    );
    assert_eq!(
        count(r#"demo_route_requests_total{route="/api/flaky"}"#),
        20
    );
    assert_eq!(count(r#"demo_route_requests_total{route="/api/slow"}"#), 1);
    assert_eq!(
        count(r#"demo_route_requests_total{route="/api/stream"}"#),
        1
    );
    assert_eq!(count("demo_in_flight"), 0);
    // The HTTP layer counts the same requests, by route template and status.
    let layer = |route: &str, code: u16| {
        let error = if code >= 500 {
            code.to_string()
        } else {
            String::new()
        };
        count(&format!(
            "http_server_request_duration_seconds_count{{http_request_method=\"GET\",\
             http_route=\"{route}\",http_response_status_code=\"{code}\",\
             error_type=\"{error}\",url_scheme=\"http\"}}"
        ))
    };
    assert_eq!(layer("/api/flaky", 200), flaky_ok, "{text}");
    assert_eq!(layer("/api/flaky", 500), flaky_failed, "{text}");
    assert_eq!(layer("/api/items/{id}", 404), 3, "{text}");

    // The per-route counts are one expvar map in /debug/vars.
    let vars: serde_json::Value = serde_json::from_str(&demo.get("/debug/vars")).unwrap();
    assert_eq!(vars["demo_route_requests"]["/api/items/{id}"], 11);
    assert_eq!(vars["demo_route_requests"]["/api/flaky"], 20);
    assert_eq!(vars["demo_requests"]["GET"]["404"], 3);
}

#[test]
fn load_drives_the_api_with_real_requests() {
    let demo = Demo::start_with(&["--load", "200"], &[]);
    let start = Instant::now();
    loop {
        let text = demo.get("/metrics");
        let handled = sample(&text, "demo_handled_total").unwrap_or(0.0);
        let read = sample(&text, "demo_load_bytes_read_total").unwrap_or(0.0);
        let routes = ["/api/items/{id}", "/api/slow", "/api/flaky", "/api/stream"]
            .iter()
            .filter(|r| {
                sample(
                    &text,
                    &format!("demo_route_requests_total{{route=\"{r}\"}}"),
                )
                .is_some_and(|n| n > 0.0)
            })
            .count();
        if handled >= 100.0 && read > 0.0 && routes == 4 {
            break;
        }
        assert!(
            start.elapsed() < BOUND,
            "after {BOUND:?} of --load 200: handled {handled}, bytes read {read}, \
             {routes} of 4 routes hit\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn bad_arguments_are_refused_with_the_usage() {
    for args in [
        &["--load"][..],
        &["--load", "0"],
        &["--load", "x"],
        &["--nope"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage: demo"), "{args:?}: {err}");
    }
}
