//! What the integration tests share: a registry holding every kind with awkward values,
//! the external tools (found on PATH, installed by `.ci/setup.d/prom.sh`), a `/metrics`
//! server on a loopback port, and a small blocking HTTP client.

#![allow(dead_code)] // each test file uses its own part of this module

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
#[cfg(feature = "axum")]
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prism_core::{
    Capped, Counter, CounterFn, Family, FloatCounter, FloatGauge, Gauge, GaugeFn, Histogram,
    ManualClock, Max, Metadata, Min, NumaCounter, Overflow, PerCpuCounter, PerThreadCounter,
    Registry, ShardedCounter, SloppyCounter, StripedCounter, Summary, UpDownCounter,
    WindowedHistogram, WindowedRate,
};

/// The path of `name` on PATH; fails the test, naming the setup script, when it is missing.
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "`{name}` is not on PATH. This test runs a tool written by others; install it with \
         `bash .ci/setup.d/prom.sh` (Debian package `prometheus`, PyPI `prometheus_client`)."
    );
}

/// A Python 3 that can import `prometheus_client`.
pub fn python() -> PathBuf {
    let python = tool("python3");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{} cannot import prometheus_client; run `bash .ci/setup.d/prom.sh`",
        python.display()
    );
    python
}

/// Label values that exercise every escaping rule, and one holding NUL, which the family
/// refuses (its update goes to the overflow series).
pub const AWKWARD_LABELS: [&str; 7] = [
    "plain",
    "back\\slash",
    "say \"hi\"",
    "two\nlines",
    "nul\0byte",
    "grüße 🦀",
    "",
];

/// A registry with every kind core offers, self-telemetry on, an overflow series, awkward
/// label values and help text, non-finite floats and integers above 2^53.
pub fn every_kind() -> Registry {
    let r = Registry::new();
    r.register("jobs", "Jobs run.", Counter::new())
        .unwrap()
        .add((1 << 53) + 1);
    r.register_with(
        Metadata::new("job_cpu_seconds", "CPU time of jobs, in seconds.").unit("seconds"),
        FloatCounter::new(),
    )
    .unwrap()
    .add(12.75);
    r.register(
        "queue_depth",
        "Jobs \"waiting\" in the queue.\nSecond line \\ here.",
        Gauge::new(),
    )
    .unwrap()
    .set(-3);
    let ratios = r
        .register(
            "cache_ratio",
            "Cache ratios by case.",
            Family::<FloatGauge>::new(["case"]),
        )
        .unwrap();
    ratios.get(&["normal"]).set(0.5);
    ratios.get(&["nan"]).set(f64::NAN);
    ratios.get(&["pos_inf"]).set(f64::INFINITY);
    ratios.get(&["neg_inf"]).set(f64::NEG_INFINITY);
    let peak = r
        .register("peak_connections", "Most connections at once.", Max::new())
        .unwrap();
    peak.observe(17);
    let low = r
        .register("lowest_free_slots", "Fewest free slots.", Min::new())
        .unwrap();
    low.observe(2);
    let budget = r
        .register("budget_spent", "Budget spent, capped.", Capped::new(10))
        .unwrap();
    assert!(budget.try_add(4));
    r.register(
        "uptime_ticks",
        "Ticks read from a closure.",
        CounterFn::new(|| 1234u64),
    )
    .unwrap();
    r.register(
        "load_average",
        "Load read from a closure.",
        GaugeFn::new(|| 0.75f64),
    )
    .unwrap();
    let requests = r
        .register(
            "http_requests",
            "Requests by method and path.",
            Family::<Counter>::new(["method", "path"]),
        )
        .unwrap();
    for (i, path) in AWKWARD_LABELS.iter().enumerate() {
        requests.get(&["GET", path]).add(i as u64 + 1);
    }
    let limited = Family::<Counter>::builder(["tenant"])
        .cardinality_limit(2)
        .build()
        .unwrap();
    let tenants = r
        .register("tenant_requests", "Requests by tenant.", limited)
        .unwrap();
    for (tenant, n) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
        tenants.get(&[tenant]).add(n);
    }
    let dropping = Family::<Gauge>::builder(["user"])
        .cardinality_limit(1)
        .overflow(Overflow::Drop)
        .build();
    let sessions = r
        .register("user_sessions", "Sessions by user.", dropping.unwrap())
        .unwrap();
    sessions.get(&["alice"]).set(2);
    sessions.get(&["bob"]).set(5);
    let latency = || {
        Histogram::builder()
            .unit_scale(1.0)
            .highest(1000)
            .buckets([10.0, 100.0])
            .build()
            .unwrap()
    };
    let rpc = Family::<Histogram>::builder(["method"])
        .build_with(latency)
        .unwrap();
    let rpc = r.register("rpc_latency", "RPC latency.", rpc).unwrap();
    for v in [5, 50, 50, 500] {
        rpc.get(&["get"]).record(v);
    }
    rpc.get(&["put \"x\""]);
    let job = r
        .register_with(
            Metadata::new("job_duration_seconds", "Job durations.").unit("seconds"),
            Summary::new(),
        )
        .unwrap();
    job.record(2_000_000_000);
    job.record(500_000_000);
    scalable_and_windowed(&r);
    r
}

/// The kinds that render as one of the basic ones: an up-down counter (a gauge in the text
/// formats), the scalable counters (counters), a sliding-window histogram (a summary) and a
/// windowed rate (a float gauge). The windows run on a [`ManualClock`], so the text is the
/// same on every run.
fn scalable_and_windowed(r: &Registry) {
    let open = r
        .register(
            "open_connections",
            "Connections open now.",
            UpDownCounter::new(),
        )
        .unwrap();
    open.add(5);
    open.sub(7);
    open.dec(); // below zero: -3

    r.register("sharded_hits", "Hits, sharded.", ShardedCounter::new())
        .unwrap()
        .add((1 << 53) + 3);
    let per_cpu = r
        .register("per_cpu_hits", "Hits, per CPU.", PerCpuCounter::new())
        .unwrap();
    per_cpu.add(40);
    per_cpu.inc();
    let striped = r
        .register("striped_hits", "Hits, striped.", StripedCounter::new())
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| (0..1000).for_each(|_| striped.inc()));
        }
    });
    let sloppy = r
        .register("sloppy_hits", "Hits, batched.", SloppyCounter::new())
        .unwrap();
    {
        let local = sloppy.local(4);
        (0..10).for_each(|_| local.inc()); // flushed at 4 and 8, 2 held until the drop
        sloppy.inc();
    }
    r.register("numa_hits", "Hits, per NUMA node.", NumaCounter::new())
        .unwrap()
        .add((1 << 62) + 7);
    let per_thread = r
        .register(
            "per_thread_hits",
            "Hits, one cell per writer.",
            PerThreadCounter::new(),
        )
        .unwrap();
    std::thread::scope(|s| {
        for n in [100, 200] {
            let per_thread = &per_thread;
            s.spawn(move || {
                let writer = per_thread.writer();
                (0..n).for_each(|_| writer.inc());
            });
        }
    });
    per_thread.add(3);

    let clock = ManualClock::new();
    let recent = WindowedHistogram::builder()
        .slots(5)
        .slot_duration(Duration::from_secs(60))
        .clock(clock.clone())
        .build()
        .unwrap();
    let recent = r
        .register_with(
            Metadata::new("recent_job_seconds", "Job durations, last 5 minutes.").unit("seconds"),
            recent,
        )
        .unwrap();
    recent.record_duration(Duration::from_secs(30)); // leaves the window below
    clock.advance(Duration::from_secs(5 * 60));
    recent.record_duration(Duration::from_millis(250));
    recent.record_duration(Duration::from_secs(2));

    let rate_clock = ManualClock::new();
    let rate = WindowedRate::builder()
        .clock(rate_clock.clone())
        .build()
        .unwrap();
    let rate = r
        .register("request_rate", "Requests per second, last minute.", rate)
        .unwrap();
    rate.add(90);
    rate_clock.advance(Duration::from_secs(1));
    rate.add(7); // the running second: not counted yet
}

/// An HTTP response, as far as the tests look at it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }
}

/// One HTTP/1.1 request with `Connection: close`; reads the whole response.
pub fn http(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&data[..eol]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        data = &data[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Request headers the server saw, newest last.
#[cfg(feature = "axum")]
pub type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// `prism_prom::router(registry)` served on a loopback port by a runtime of its own, which
/// is shut down (and the port released) when this is dropped.
#[cfg(feature = "axum")]
pub struct Server {
    pub addr: SocketAddr,
    pub seen: Seen,
    runtime: Option<tokio::runtime::Runtime>,
}

#[cfg(feature = "axum")]
impl Server {
    pub fn start(registry: Registry) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let seen: Seen = Arc::default();
        let record = seen.clone();
        let app = prism_prom::router(registry).layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let record = record.clone();
                async move {
                    let headers = request
                        .headers()
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    record.lock().unwrap().push(headers);
                    next.run(request).await
                }
            },
        ));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await });
        Server {
            addr,
            seen,
            runtime: Some(runtime),
        }
    }
}

#[cfg(feature = "axum")]
impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("prism-prom-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
