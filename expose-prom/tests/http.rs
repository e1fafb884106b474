//! The axum `/metrics` route on a real socket: negotiation, gzip, HEAD, Content-Type.

mod support;

use std::io::Read;

use prism_core::{Counter, Family, Gauge, Registry};
use prism_prom::{
    render, Format, OPENMETRICS_0_0_1_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE,
    PROMETHEUS_CONTENT_TYPE,
};
use support::{http, Server};

const PROMETHEUS_2_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn registry() -> Registry {
    let r = Registry::builder().self_telemetry(false).build();
    let f = r
        .register(
            "requests",
            "Requests by path.",
            Family::<Counter>::new(["path"]),
        )
        .unwrap();
    for i in 0..500 {
        f.get(&[format!("/item/{i}")]).add(i);
    }
    r.register("temperature", "A \"gauge\".", Gauge::new())
        .unwrap()
        .set(21);
    r
}

fn gunzip(body: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut out)
        .expect("valid gzip");
    out
}

#[test]
fn get_without_accept_is_prometheus_0_0_4() {
    let r = registry();
    let server = Server::start(r.clone());
    let response = http(server.addr, "GET", "/metrics", &[]);
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some(PROMETHEUS_CONTENT_TYPE)
    );
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.header("vary"), Some("Accept, Accept-Encoding"));
    assert_eq!(response.text(), render(&r, Format::Prometheus));
    let length: usize = response.header("content-length").unwrap().parse().unwrap();
    assert_eq!(length, response.body.len());
}

#[test]
fn prometheus_accept_header_gets_openmetrics() {
    let r = registry();
    let server = Server::start(r.clone());
    let response = http(
        server.addr,
        "GET",
        "/metrics",
        &[("Accept", PROMETHEUS_2_ACCEPT)],
    );
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some(OPENMETRICS_CONTENT_TYPE)
    );
    assert_eq!(response.text(), render(&r, Format::OpenMetrics));
    assert!(response.text().ends_with("# EOF\n"));
}

#[test]
fn explicit_0_0_4_and_browsers_get_prometheus_text() {
    let r = registry();
    let server = Server::start(r.clone());
    for accept in [
        "text/plain;version=0.0.4",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "application/json",
    ] {
        let response = http(server.addr, "GET", "/metrics", &[("Accept", accept)]);
        assert_eq!(
            response.header("content-type"),
            Some(PROMETHEUS_CONTENT_TYPE),
            "{accept}"
        );
        assert_eq!(response.text(), render(&r, Format::Prometheus), "{accept}");
    }
}

#[test]
fn openmetrics_without_1_0_0_is_answered_as_0_0_1_like_client_golang() {
    let r = registry();
    let server = Server::start(r.clone());
    // client_golang answers these three as OpenMetrics 0.0.1 (a weight orders, it does not
    // refuse), with the body it writes for 1.0.0.
    for accept in [
        "application/openmetrics-text; version=0.0.1",
        "application/openmetrics-text",
        "application/openmetrics-text;q=0",
    ] {
        let response = http(server.addr, "GET", "/metrics", &[("Accept", accept)]);
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-type"),
            Some(OPENMETRICS_0_0_1_CONTENT_TYPE),
            "{accept}"
        );
        assert_eq!(response.text(), render(&r, Format::OpenMetrics), "{accept}");
        assert_eq!(
            response.text(),
            render(&r, Format::OpenMetrics0_0_1),
            "{accept}"
        );
    }
}

#[test]
fn identity_weighted_above_gzip_gets_identity() {
    let r = registry();
    let server = Server::start(r.clone());
    for encoding in [
        "gzip;q=0.5, identity;q=1",
        "gzip;q=0",
        "*",
        "gzip, identity",
    ] {
        let response = http(
            server.addr,
            "GET",
            "/metrics",
            &[("Accept-Encoding", encoding)],
        );
        assert_eq!(response.header("content-encoding"), None, "{encoding}");
        assert_eq!(
            response.text(),
            render(&r, Format::Prometheus),
            "{encoding}"
        );
    }
    let response = http(
        server.addr,
        "GET",
        "/metrics",
        &[("Accept-Encoding", "identity;q=0.5, gzip")],
    );
    assert_eq!(response.header("content-encoding"), Some("gzip"));
}

#[test]
fn gzip_when_accepted_in_both_formats() {
    let r = registry();
    let server = Server::start(r.clone());
    for (accept, format) in [
        ("*/*", Format::Prometheus),
        (PROMETHEUS_2_ACCEPT, Format::OpenMetrics),
    ] {
        let response = http(
            server.addr,
            "GET",
            "/metrics",
            &[("Accept", accept), ("Accept-Encoding", "gzip")],
        );
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(response.header("content-type"), Some(format.content_type()));
        let length: usize = response.header("content-length").unwrap().parse().unwrap();
        assert_eq!(length, response.body.len());
        let text = gunzip(&response.body);
        assert_eq!(text, render(&r, format));
        assert!(
            response.body.len() * 3 < text.len(),
            "gzip should shrink metrics text"
        );
    }
    let refused = http(
        server.addr,
        "GET",
        "/metrics",
        &[("Accept-Encoding", "gzip;q=0, br")],
    );
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.text(), render(&r, Format::Prometheus));
}

#[test]
fn head_has_the_get_headers_and_no_body() {
    let r = registry();
    let server = Server::start(r.clone());
    for headers in [
        vec![],
        vec![("Accept", PROMETHEUS_2_ACCEPT)],
        vec![("Accept", PROMETHEUS_2_ACCEPT), ("Accept-Encoding", "gzip")],
    ] {
        let get = http(server.addr, "GET", "/metrics", &headers);
        let head = http(server.addr, "HEAD", "/metrics", &headers);
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty(), "HEAD sent a body");
        for name in ["content-type", "content-encoding", "vary"] {
            assert_eq!(
                head.header(name),
                get.header(name),
                "{name} for {headers:?}"
            );
        }
        if get.header("content-encoding").is_none() {
            // Uncompressed, the length is the same on every render.
            assert_eq!(head.header("content-length"), get.header("content-length"));
        }
        let length: usize = head.header("content-length").unwrap().parse().unwrap();
        assert!(length > 0);
    }
}

#[test]
fn other_methods_and_paths_are_refused() {
    let server = Server::start(registry());
    assert_eq!(http(server.addr, "POST", "/metrics", &[]).status, 405);
    assert_eq!(http(server.addr, "DELETE", "/metrics", &[]).status, 405);
    assert_eq!(http(server.addr, "GET", "/metrics/extra", &[]).status, 404);
    assert_eq!(http(server.addr, "GET", "/", &[]).status, 404);
}

#[test]
fn route_mounts_at_any_path_and_sees_new_values() {
    let r = Registry::builder().self_telemetry(false).build();
    let hits = r.register("hits", "Hits.", Counter::new()).unwrap();
    let app = axum::Router::new().route("/internal/prom", prism_prom::route(r.clone()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, app).await });
    for n in 1..=3u64 {
        hits.inc();
        let response = http(addr, "GET", "/internal/prom", &[]);
        assert_eq!(response.status, 200);
        assert!(
            response.text().ends_with(&format!("hits_total {n}\n")),
            "{}",
            response.text()
        );
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
}

#[test]
fn concurrent_scrapes_all_get_whole_bodies() {
    let r = registry();
    let server = Server::start(r.clone());
    let expected = render(&r, Format::Prometheus);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10 {
                    let response = http(server.addr, "GET", "/metrics", &[]);
                    assert_eq!(response.text(), expected);
                }
            });
        }
    });
    assert_eq!(server.seen.lock().unwrap().len(), 80);
}
