//! The axum handler on a real socket: `GET /debug/vars` serves the document with Go's
//! content type; other methods are refused as Go 1.22's mux refuses them.

use prism_core::Registry;
use prism_json::{Vars, CONTENT_TYPE_JSON};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Sends one raw HTTP/1.1 request and returns the status line, headers and body.
async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
) -> (String, String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let body = raw[split + 4..].to_vec();
    let (status, headers) = head.split_once("\r\n").unwrap_or((&head, ""));
    (status.to_owned(), headers.to_ascii_lowercase(), body)
}

async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn get_debug_vars_serves_the_document() {
    let registry = Registry::builder().self_telemetry(false).build();
    let vars = Vars::builder(&registry)
        .cmdline_args(["prog", "<arg>"])
        .memstats(false)
        .build();
    vars.new_int("requests").unwrap().add(7);
    vars.new_string("build").unwrap().set("v1 & <2>");
    let addr = serve(prism_json::router(vars.clone())).await;

    let (status, headers, body) = request(addr, "GET", "/debug/vars").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains(&format!("content-type: {CONTENT_TYPE_JSON}")),
        "headers: {headers}"
    );
    let body = String::from_utf8(body).unwrap();
    assert_eq!(
        body,
        "{\n\"build\": \"v1 \\u0026 \\u003c2\\u003e\",\n\"cmdline\": [\"prog\",\"\\u003carg\\u003e\"],\n\"requests\": 7\n}\n"
    );
    assert_eq!(body, vars.render_to_string());

    let (status, headers, body) = request(addr, "HEAD", "/debug/vars").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(headers.contains(&format!("content-type: {CONTENT_TYPE_JSON}")));
    assert!(body.is_empty());

    let (status, headers, _) = request(addr, "POST", "/debug/vars").await;
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert!(headers.contains("allow: get,head"), "headers: {headers}");

    let (status, _, _) = request(addr, "GET", "/debug/other").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

#[tokio::test]
async fn the_handler_mounts_anywhere_and_sees_later_updates() {
    let registry = Registry::builder().self_telemetry(false).build();
    let vars = Vars::builder(&registry)
        .cmdline(false)
        .memstats(false)
        .build();
    let hits = vars.new_int("hits").unwrap();
    let app = axum::Router::new().route("/internal/vars", prism_json::handler(vars.clone()));
    let addr = serve(app).await;
    for n in 1..=3 {
        hits.add(1);
        let (status, _, body) = request(addr, "GET", "/internal/vars").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(body, format!("{{\n\"hits\": {n}\n}}\n").into_bytes());
    }
    // Variables published after the router was built are served too.
    vars.new_float("late").unwrap().set(0.5);
    let (_, _, body) = request(addr, "GET", "/internal/vars").await;
    assert_eq!(body, b"{\n\"hits\": 3,\n\"late\": 0.5\n}\n");
}

/// `global_handler()` serves the process-wide variables the package-level functions publish
/// into, as Go's `expvar.Handler()` does, with `cmdline` and a Go-shaped `memstats` beside them.
#[tokio::test]
async fn the_global_handler_serves_what_the_package_functions_publish() {
    let requests = prism_json::new_int("http_test_global_requests").unwrap();
    requests.add(7);
    let app = axum::Router::new().route("/debug/vars", prism_json::global_handler());
    let addr = serve(app).await;
    let (status, headers, body) = request(addr, "GET", "/debug/vars").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(headers.contains(&format!("content-type: {CONTENT_TYPE_JSON}")));
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["http_test_global_requests"], 7);
    assert!(doc["cmdline"].is_array(), "{doc}");
    // Go's runtime.MemStats shape, which readers written for Go programs look for.
    assert!(doc["memstats"]["Mallocs"].is_u64(), "{doc}");
    assert!(doc["memstats"]["HeapInuse"].is_u64(), "{doc}");
    assert_eq!(
        doc["memstats"]["PauseNs"].as_array().map(Vec::len),
        Some(256)
    );
    assert_eq!(doc["memstats"]["BySize"].as_array().map(Vec::len), Some(61));
}
