//! A real Prometheus server scrapes the axum `/metrics` route, and the values it stored are
//! read back through its HTTP API (`/api/v1/query`).

mod support;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prism_core::{Counter, Family};
use serde_json::Value as Json;
use support::{http, urlencode, Server, TempDir};

/// How long Prometheus may take to start and scrape before the test gives up. A deadline
/// for a failure message, not a measurement: nothing asserts how fast anything is.
const PATIENCE: Duration = Duration::from_secs(120);

/// A Prometheus server on a loopback port, killed (and waited for) on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl Prometheus {
    fn start(target: SocketAddr) -> Prometheus {
        let binary = support::tool("prometheus");
        let dir = TempDir::new("server");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: prism\n    static_configs:\n      \
                 - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let addr = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        Prometheus { child, addr, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `GET /api/v1/...`, or `None` while the server is not answering yet.
    fn api(&self, path_and_query: &str) -> Option<Json> {
        std::net::TcpStream::connect(self.addr).ok()?;
        let response = http(self.addr, "GET", &format!("/api/v1/{path_and_query}"), &[]);
        if response.status != 200 {
            return None;
        }
        serde_json::from_slice(&response.body).ok()
    }

    /// The instant-vector result of `query` (empty while nothing matches).
    fn query(&self, query: &str) -> Vec<Json> {
        match self.api(&format!("query?query={}", urlencode(query))) {
            Some(body) if body["status"] == "success" => body["data"]["result"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Waits until `query` returns exactly one series whose value satisfies `want`, and
    /// returns that value as Prometheus printed it.
    fn wait_for(&self, query: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut last = Vec::new();
        while Instant::now() < deadline {
            last = self.query(query);
            if let [series] = last.as_slice() {
                let value = series["value"][1].as_str().unwrap_or("").to_owned();
                if want(&value) {
                    return value;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "Prometheus never answered `{query}` as expected; last answer: {last:?}\n\
             targets: {:?}\n--- prometheus log ---\n{}",
            self.api("targets"),
            self.log()
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    // Bound and released: the server binds it a moment later. Another process taking it in
    // between would make Prometheus exit, which `wait_for` reports with its log.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn equals(expected: f64) -> impl Fn(&str) -> bool {
    move |v| v.parse::<f64>().is_ok_and(|v| v == expected)
}

#[test]
fn prometheus_scrapes_the_route_and_serves_the_values_back() {
    let registry = support::every_kind();
    let live = registry
        .register(
            "live_events",
            "Events, updated during the test.",
            Family::<Counter>::new(["kind"]),
        )
        .unwrap();
    live.get(&["click"]).add(3);
    let server = Server::start(registry.clone());
    let prometheus = Prometheus::start(server.addr);

    prometheus.wait_for(r#"up{job="prism"}"#, equals(1.0));

    // The scrape was clean: Prometheus parsed every line of every family.
    let targets = prometheus.api("targets").unwrap();
    let target = &targets["data"]["activeTargets"][0];
    assert_eq!(target["health"], "up", "{target}");
    assert_eq!(target["lastError"], "", "{target}");
    // Every sample line of the OpenMetrics body was stored (`_created` lines included).
    let body = prism_prom::render(&registry, prism_prom::Format::OpenMetrics);
    let lines = body.lines().filter(|l| !l.starts_with('#')).count();
    prometheus.wait_for(
        r#"scrape_samples_scraped{job="prism"}"#,
        equals(lines as f64),
    );

    // Counters, with the suffix Prometheus expects; exact as far as a float64 goes.
    prometheus.wait_for("jobs_total", equals(((1u64 << 53) + 1) as f64));
    prometheus.wait_for("job_cpu_seconds_total", equals(12.75));
    prometheus.wait_for("uptime_ticks_total", equals(1234.0));
    prometheus.wait_for("budget_spent_total", equals(4.0));
    // A labelled family, awkward label values included.
    prometheus.wait_for(
        r#"http_requests_total{method="GET",path="plain"}"#,
        equals(1.0),
    );
    prometheus.wait_for(r#"http_requests_total{path="back\\slash"}"#, equals(2.0));
    prometheus.wait_for(r#"http_requests_total{path="say \"hi\""}"#, equals(3.0));
    prometheus.wait_for(r#"http_requests_total{path="two\nlines"}"#, equals(4.0));
    prometheus.wait_for(r#"http_requests_total{path="grüße 🦀"}"#, equals(6.0));
    // The overflow series and self-telemetry.
    prometheus.wait_for(
        r#"tenant_requests_total{otel_metric_overflow="true"}"#,
        equals(7.0),
    );
    prometheus.wait_for(
        r#"prism_refused_label_sets_total{family="tenant_requests"}"#,
        equals(2.0),
    );
    prometheus.wait_for(
        r#"prism_refused_label_sets_total{family="user_sessions"}"#,
        equals(1.0),
    );
    // The scalable counters are counters like any other.
    prometheus.wait_for("sharded_hits_total", equals(((1u64 << 53) + 3) as f64));
    prometheus.wait_for("per_cpu_hits_total", equals(41.0));
    prometheus.wait_for("striped_hits_total", equals(2000.0));
    prometheus.wait_for("sloppy_hits_total", equals(11.0));
    prometheus.wait_for("numa_hits_total", equals(((1u64 << 62) + 7) as f64));
    prometheus.wait_for("per_thread_hits_total", equals(303.0));
    prometheus.wait_for("prism_families", equals(24.0));
    // Gauges, with the non-finite values.
    prometheus.wait_for("queue_depth", equals(-3.0));
    prometheus.wait_for("load_average", equals(0.75));
    prometheus.wait_for("open_connections", equals(-3.0));
    prometheus.wait_for("request_rate", equals(1.5));
    prometheus.wait_for(r#"cache_ratio{case="nan"}"#, |v| v == "NaN");
    prometheus.wait_for(r#"cache_ratio{case="pos_inf"}"#, |v| v == "+Inf");
    prometheus.wait_for(r#"cache_ratio{case="neg_inf"}"#, |v| v == "-Inf");

    // A histogram and a summary.
    prometheus.wait_for(
        r#"rpc_latency_bucket{method="get",le=~"100(\\.0)?"}"#,
        equals(3.0),
    );
    prometheus.wait_for(r#"rpc_latency_bucket{method="get",le="+Inf"}"#, equals(4.0));
    prometheus.wait_for(r#"rpc_latency_count{method="put \"x\""}"#, equals(0.0));
    prometheus.wait_for(r#"rpc_latency_sum{method="get"}"#, equals(605.0));
    prometheus.wait_for("job_duration_seconds_count", equals(2.0));
    prometheus.wait_for("job_duration_seconds_sum", equals(2.5));
    prometheus.wait_for(r#"job_duration_seconds{quantile="0.5"}"#, |v| {
        v.parse::<f64>().is_ok()
    });
    // The sliding window: lifetime `_count` and `_sum`, quantiles of the window only (the
    // 30 s value has left it, so the 0.99 quantile is the 2 s one).
    prometheus.wait_for("recent_job_seconds_count", equals(3.0));
    prometheus.wait_for("recent_job_seconds_sum", equals(32.25));
    let snapshot = registry.snapshot();
    let window = snapshot.family("recent_job_seconds").unwrap().series[0]
        .value
        .as_histogram()
        .unwrap();
    for (q, v) in window.quantiles() {
        let v = v.expect("the window holds values");
        let near = if q == 0.5 { 0.25 } else { 2.0 };
        assert!((near..near * 1.01).contains(&v), "quantile {q} is {v}");
        prometheus.wait_for(
            &format!(r#"recent_job_seconds{{quantile="{q:?}"}}"#),
            equals(v),
        );
    }

    // Values set after the first scrape arrive with the next one.
    live.get(&["click"]).add(39);
    live.get(&["scroll"]).inc();
    prometheus.wait_for(r#"live_events_total{kind="click"}"#, equals(42.0));
    prometheus.wait_for(r#"live_events_total{kind="scroll"}"#, equals(1.0));

    // Prometheus negotiated OpenMetrics and gzip with the route.
    let seen = server.seen.lock().unwrap();
    let scrape = seen
        .iter()
        .find(|h| {
            h.iter()
                .any(|(n, v)| n == "user-agent" && v.starts_with("Prometheus/"))
        })
        .expect("a request from Prometheus");
    let header = |name: &str| {
        scrape
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    assert!(
        header("accept").starts_with("application/openmetrics-text"),
        "{scrape:?}"
    );
    assert!(header("accept-encoding").contains("gzip"), "{scrape:?}");
}
