//! Render cost per series against the peers, and writer throughput during renders.
//!
//! Run with `cargo bench -p prism-prom`. Prints two tables:
//!
//! 1. One counter family, 1 label, N series (N = 1,000, 10,000, 100,000), rendered into a
//!    reused buffer: ns per series for prism (0.0.4 and OpenMetrics), prometheus-client's
//!    native `Family` (0.0.4 and OpenMetrics), the `prometheus` crate's `TextEncoder`
//!    (`gather` + `encode`) and metrics-exporter-prometheus' `render_to_write`, with the
//!    ratios the goals are set on. Each N has two rows: prism's registry built with
//!    `self_telemetry(false)`, and the default registry (self-telemetry on: six more
//!    families, and `prism_updates` summing the family's counters from the values the
//!    render reads). The peers' figures are the same in both rows.
//! 2. Two threads incrementing the 10,000-series family: their throughput alone, beside a
//!    third thread rendering in a loop, and beside a third thread that only spins. The
//!    spinner is the control: on a machine with fewer than three free cores the renderer
//!    takes CPU time from the writers whatever it does, and only the difference between
//!    "render" and "spin" is the render's own interference.
//!
//! Each render figure is the fastest of 15 samples of at least 40 ms of repeated work, the
//! contenders taking turns sample by sample (see `race`). "core visit alone" is
//! `Registry::visit` reading every label value and value and doing nothing with them: the
//! share of prism's render that is core's read path. The current figures, with the machine
//! they ran on, are in the crate's README.md ("Speed").

#![allow(missing_docs)] // a bench binary

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use prism_core::{Counter, Descriptor, Family, Registry, Sample, Visitor};
use prism_prom::{Format, Renderer};
use prometheus_client::encoding::EncodeLabelSet;

const ROUNDS: usize = 15;
const SAMPLE_TIME: Duration = Duration::from_millis(40);

/// Runs every contender for one sample per round, round after round, and keeps each one's
/// fastest sample (nanoseconds per call). Interleaving gives every contender the same
/// background load; the minimum is the figure least disturbed by it (noise only ever adds
/// time), which matters on a shared machine.
fn race(contenders: &mut [(&str, &mut dyn FnMut())]) -> Vec<f64> {
    for (_, f) in contenders.iter_mut() {
        f(); // warm up: buffers grown, caches filled
    }
    let mut best = vec![f64::INFINITY; contenders.len()];
    for _ in 0..ROUNDS {
        for (i, (_, f)) in contenders.iter_mut().enumerate() {
            let start = Instant::now();
            let mut iterations = 0u64;
            while start.elapsed() < SAMPLE_TIME {
                f();
                iterations += 1;
            }
            best[i] = best[i].min(start.elapsed().as_nanos() as f64 / iterations as f64);
        }
    }
    best
}

/// Reads every label value of every series and nothing more: the core read path's share
/// of a render.
struct ReadOnly(usize);

impl Visitor for ReadOnly {
    fn sample(&mut self, _family: &Descriptor, sample: &Sample<'_>) {
        self.0 += sample.label_values().map(str::len).sum::<usize>();
        black_box(sample.value());
    }
}

fn label(i: usize) -> String {
    format!("/api/v1/items/{i}")
}

fn prism_registry(n: usize, self_telemetry: bool) -> (Registry, Family<Counter>) {
    let registry = Registry::builder().self_telemetry(self_telemetry).build();
    let family = Family::<Counter>::builder(["path"])
        .cardinality_limit(n)
        .build()
        .unwrap();
    let family = registry
        .register("http_requests", "Requests by path.", family)
        .unwrap();
    for i in 0..n {
        family.get(&[label(i)]).add(i as u64);
    }
    (registry, family)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathLabel {
    path: String,
}

fn prometheus_client_registry(n: usize) -> prometheus_client::registry::Registry {
    use prometheus_client::metrics::{counter::Counter, family::Family};
    let mut registry = prometheus_client::registry::Registry::default();
    let family = Family::<PathLabel, Counter>::default();
    registry.register("http_requests", "Requests by path", family.clone());
    for i in 0..n {
        family
            .get_or_create(&PathLabel { path: label(i) })
            .inc_by(i as u64);
    }
    registry
}

fn prometheus_registry(n: usize) -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let opts = prometheus::Opts::new("http_requests_total", "Requests by path.");
    let vec = prometheus::IntCounterVec::new(opts, &["path"]).unwrap();
    registry.register(Box::new(vec.clone())).unwrap();
    for i in 0..n {
        vec.with_label_values(&[label(i).as_str()]).inc_by(i as u64);
    }
    registry
}

fn metrics_handle(n: usize) -> metrics_exporter_prometheus::PrometheusHandle {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("http_requests_total", "Requests by path.");
        for i in 0..n {
            metrics::counter!("http_requests_total", "path" => label(i)).increment(i as u64);
        }
    });
    handle
}

struct Row {
    n: usize,
    self_telemetry: bool,
    visit: f64,
    prism_text: f64,
    prism_om: f64,
    prism_om_plain: f64,
    pc_text: f64,
    pc_om: f64,
    prometheus: f64,
    metrics: f64,
}

/// The prism contenders over one registry: core visit, 0.0.4, OpenMetrics, OpenMetrics
/// without `_created`.
struct Prism {
    registry: Registry,
    text: Renderer,
    om: Renderer,
    plain: Renderer,
    out: [String; 3],
}

impl Prism {
    fn new(n: usize, self_telemetry: bool) -> Self {
        let (registry, _family) = prism_registry(n, self_telemetry);
        Self {
            text: Renderer::new(registry.clone()),
            om: Renderer::new(registry.clone()),
            plain: Renderer::new(registry.clone()).openmetrics_created(false),
            registry,
            out: Default::default(),
        }
    }

    fn visit(&self) {
        let mut read = ReadOnly(0);
        self.registry.visit(&mut read);
        black_box(read.0);
    }

    fn render(&mut self, which: usize) {
        let out = &mut self.out[which];
        out.clear();
        match which {
            0 => self.text.render_into(Format::Prometheus, out),
            1 => self.om.render_into(Format::OpenMetrics, out),
            _ => self.plain.render_into(Format::OpenMetrics, out),
        }
        black_box(out);
    }
}

/// One row without self-telemetry and one with the defaults, from one race: the peers run
/// once and serve both rows.
fn render_costs(n: usize) -> [Row; 2] {
    let off = std::cell::RefCell::new(Prism::new(n, false));
    let on = std::cell::RefCell::new(Prism::new(n, true));
    let pc = prometheus_client_registry(n);
    let prom = prometheus_registry(n);
    let encoder = prometheus::TextEncoder::new();
    let handle = metrics_handle(n);
    let (mut s3, mut s4) = (String::new(), String::new());
    let (mut b1, mut b2) = (Vec::new(), Vec::new());

    let t = race(&mut [
        ("core visit", &mut || off.borrow().visit()),
        ("prism 0.0.4", &mut || off.borrow_mut().render(0)),
        ("prism OpenMetrics", &mut || off.borrow_mut().render(1)),
        ("prism OpenMetrics without _created", &mut || {
            off.borrow_mut().render(2)
        }),
        ("core visit, self-telemetry", &mut || on.borrow().visit()),
        ("prism 0.0.4, self-telemetry", &mut || {
            on.borrow_mut().render(0)
        }),
        ("prism OpenMetrics, self-telemetry", &mut || {
            on.borrow_mut().render(1)
        }),
        (
            "prism OpenMetrics without _created, self-telemetry",
            &mut || on.borrow_mut().render(2),
        ),
        ("prometheus-client 0.0.4", &mut || {
            s3.clear();
            prometheus_client::encoding::prometheus_text::encode(&mut s3, &pc).unwrap();
            black_box(&s3);
        }),
        ("prometheus-client OpenMetrics", &mut || {
            s4.clear();
            prometheus_client::encoding::text::encode(&mut s4, &pc).unwrap();
            black_box(&s4);
        }),
        ("prometheus TextEncoder", &mut || {
            b1.clear();
            prometheus::Encoder::encode(&encoder, &prom.gather(), &mut b1).unwrap();
            black_box(&b1);
        }),
        ("metrics-exporter-prometheus", &mut || {
            b2.clear();
            handle.render_to_write(&mut b2).unwrap();
            black_box(&b2);
        }),
    ]);
    let per_series = |i: usize| t[i] / n as f64;
    let row = |self_telemetry: bool| {
        let p = if self_telemetry { 4 } else { 0 };
        Row {
            n,
            self_telemetry,
            visit: per_series(p),
            prism_text: per_series(p + 1),
            prism_om: per_series(p + 2),
            prism_om_plain: per_series(p + 3),
            pc_text: per_series(8),
            pc_om: per_series(9),
            prometheus: per_series(10),
            metrics: per_series(11),
        }
    };
    [row(false), row(true)]
}

#[derive(Clone, Copy, PartialEq)]
enum Third {
    None,
    Render,
    Spin,
}

/// Increments per second of two writer threads over the family, with `third` beside them.
fn writer_throughput(registry: &Registry, family: &Family<Counter>, third: Third) -> f64 {
    const RUN: Duration = Duration::from_millis(400);
    let labels: Vec<[String; 1]> = (0..family.len()).map(|i| [label(i)]).collect();
    let stop = AtomicBool::new(false);
    let ops = AtomicU64::new(0);
    let threads = if third == Third::None { 2 } else { 3 };
    let start = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for w in 0..2usize {
            let (labels, stop, ops, start) = (&labels, &stop, &ops, &start);
            s.spawn(move || {
                start.wait();
                let mut done = 0u64;
                let mut i = w * 7919;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        i = (i + 1) % labels.len();
                        family.with(&labels[i], Counter::inc);
                    }
                    done += 256;
                }
                ops.fetch_add(done, Ordering::Relaxed);
            });
        }
        if third != Third::None {
            let (stop, start) = (&stop, &start);
            s.spawn(move || {
                let mut renderer = Renderer::new(registry.clone());
                let mut out = String::new();
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    match third {
                        Third::Render => {
                            out.clear();
                            renderer.render_into(Format::Prometheus, &mut out);
                            black_box(&out);
                        }
                        _ => {
                            let spin = Instant::now();
                            while spin.elapsed() < Duration::from_millis(1) {
                                std::hint::spin_loop();
                            }
                        }
                    }
                }
            });
        }
        start.wait();
        std::thread::sleep(RUN);
        stop.store(true, Ordering::Relaxed);
    });
    ops.load(Ordering::Relaxed) as f64 / RUN.as_secs_f64()
}

/// The best of several throughput runs: background load only ever lowers throughput.
fn best(v: Vec<f64>) -> f64 {
    v.into_iter().fold(0.0, f64::max)
}

fn main() {
    // `cargo bench` passes `--bench`; a test run (`cargo test --benches`) passes nothing.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if quick {
        &[1_000]
    } else {
        &[1_000, 10_000, 100_000]
    };

    println!(
        "cores available: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("Render one counter family, 1 label, N series, into a reused buffer (ns per series)");
    println!();
    println!(
        "| N | self-telemetry | core visit alone | prism 0.0.4 | prism OM | prism OM, no `_created` | prometheus-client 0.0.4 | prometheus-client OM | prometheus TextEncoder | metrics-exporter-prometheus | prism/pc 0.0.4 | prism/pc OM | prism no `_created`/pc OM | prometheus/prism | metrics-exporter/prism |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in sizes.iter().flat_map(|&n| render_costs(n)) {
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2}x | {:.2}x | {:.2}x | {:.1}x | {:.1}x |",
            r.n,
            if r.self_telemetry { "on (default)" } else { "off" },
            r.visit,
            r.prism_text,
            r.prism_om,
            r.prism_om_plain,
            r.pc_text,
            r.pc_om,
            r.prometheus,
            r.metrics,
            r.prism_text / r.pc_text,
            r.prism_om / r.pc_om,
            r.prism_om_plain / r.pc_om,
            r.prometheus / r.prism_text,
            r.metrics / r.prism_text,
        );
    }

    let n = if quick { 1_000 } else { 10_000 };
    let (registry, family) = prism_registry(n, false);
    let rounds = if quick { 1 } else { 7 };
    let (mut alone, mut render, mut spin) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        alone.push(writer_throughput(&registry, &family, Third::None));
        render.push(writer_throughput(&registry, &family, Third::Render));
        spin.push(writer_throughput(&registry, &family, Third::Spin));
    }
    let (alone, render, spin) = (best(alone), best(render), best(spin));
    println!();
    println!("Two writers incrementing the {n}-series family (`Family::with`, all series), million increments/s");
    println!();
    println!("| writers alone | beside a render loop | beside a spinning thread (control) | render / alone | render / spin |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {:.1} | {:.1} | {:.1} | {:.0}% | {:.0}% |",
        alone / 1e6,
        render / 1e6,
        spin / 1e6,
        100.0 * render / alone,
        100.0 * render / spin,
    );
}
