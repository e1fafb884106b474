//! End to end with a real Prometheus: a small axum server serves a registry holding an SLO
//! (windows scaled down 60 times: the page alert's 1h and 5m are 1m and 5s), Prometheus
//! scrapes it every second with the generated rules loaded, an error burst starts, and both
//! Prometheus' `/api/v1/alerts` and the process' own SLO state show the page alert firing.
//! Started and stopped by the test, on loopback only. `prometheus` is installed by
//! `.ci/setup.d/prom.sh`; without it the test fails under `CI=true` and prints one SKIPPED
//! line otherwise.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prism_core::{Counter, Registry};
use prism_slo::{Slo, Source, Tick, Ticker};
use serde_json::Value as Json;

/// How long Prometheus may take to start, scrape and evaluate before the test gives up: a
/// deadline for a failure message, not a measurement.
const PATIENCE: Duration = Duration::from_secs(120);

fn prometheus_binary() -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file());
    if found.is_none() {
        let message = "`prometheus` is not on PATH; install it with `bash .ci/setup.d/prom.sh` \
                       (Debian package `prometheus`)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        eprintln!("\n!!! SKIPPED (Prometheus end-to-end SLO test): {message}\n");
    }
    found
}

/// A process and a folder, killed and removed on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Prometheus {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// `GET /api/v1/<path>` as JSON, or `None` while the server is not answering.
    fn api(&self, path: &str) -> Option<Json> {
        let mut s = TcpStream::connect(self.addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        // HTTP/1.0: the body comes whole, without chunked encoding, and the server closes.
        write!(s, "GET /api/v1/{path} HTTP/1.0\r\nHost: prometheus\r\n\r\n").ok()?;
        let mut response = String::new();
        s.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        serde_json::from_str(body).ok()
    }

    /// The firing alerts named `name`.
    fn firing(&self, name: &str) -> Vec<Json> {
        let Some(body) = self.api("alerts") else {
            return Vec::new();
        };
        body["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["labels"]["alertname"] == name && a["state"] == "firing")
            .cloned()
            .collect()
    }

    /// Whether `query` returns at least one series.
    fn has(&self, query: &str) -> bool {
        let q: String = query
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b':' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        self.api(&format!("query?query={q}")).is_some_and(|b| {
            b["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
        })
    }
}

fn free_port() -> SocketAddr {
    // Bound and released: Prometheus binds it a moment later.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn wait(what: &str, prometheus: &Prometheus, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "waited {PATIENCE:?} for {what}\n--- prometheus log ---\n{}",
        prometheus.log()
    );
}

#[test]
fn prometheus_and_the_process_both_fire_the_page_alert_on_an_error_burst() {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    let registry = Registry::new();
    let requests = registry
        .register("http_requests", "Requests.", Counter::new())
        .unwrap();
    let errors = registry
        .register("http_errors", "Failed requests.", Counter::new())
        .unwrap();
    let slo = Slo::errors_over_total(
        "api",
        Source::counter("http_errors", &errors),
        Source::counter("http_requests", &requests),
    )
    .scaled_down(60)
    .register(&registry)
    .unwrap();
    // Ticked every second, as Prometheus evaluates the rules.
    let items: Vec<Arc<dyn Tick>> = vec![Arc::new(slo.clone())];
    let _ticker = Ticker::spawn(Duration::from_secs(1), items);

    // The service: `/metrics` on a loopback port.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let target = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let _ = axum::serve(listener, prism_prom::router(registry)).await;
    });

    // Traffic: 100 requests every 100 ms; half fail once the burst starts.
    let burst = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (burst, stop) = (burst.clone(), stop.clone());
        let (requests, errors) = (requests.clone(), errors.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                requests.add(100);
                if burst.load(Ordering::Relaxed) {
                    errors.add(50);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    // Prometheus, with the generated rules.
    let dir = std::env::temp_dir().join(format!("prism-slo-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    prism_slo::write_prometheus_rules(dir.join("slo.rules.yml"), &[&slo], &[]).unwrap();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files: ['slo.rules.yml']\n\
             scrape_configs:\n  - job_name: service\n    static_configs:\n      \
             - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let addr = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new(binary)
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let prometheus = Prometheus { child, addr, dir };

    // Healthy traffic first: the rules evaluate, and nothing fires on either side.
    wait("the recorded 1m error ratio", &prometheus, || {
        prometheus.has(r#"prism_slo:error_ratio:rate1m{slo="api"} == 0"#)
    });
    assert!(prometheus.firing("SloBurnRatePage").is_empty());
    assert!(!slo.firing("page"));

    burst.store(true, Ordering::Relaxed);
    wait("the page alert in the process", &prometheus, || {
        slo.firing("page")
    });
    wait("the page alert in Prometheus", &prometheus, || {
        !prometheus.firing("SloBurnRatePage").is_empty()
    });
    let alert = &prometheus.firing("SloBurnRatePage")[0];
    assert_eq!(alert["labels"]["slo"], "api");
    assert_eq!(alert["labels"]["severity"], "page");
    assert!(slo.firing("page"), "the process still fires");

    stop.store(true, Ordering::Relaxed);
    traffic.join().unwrap();
}
