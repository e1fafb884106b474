//! The recorder against `metrics-exporter-prometheus`'s, in one run, for the same calls:
//! one hot series, 1000 random series, and a render of 1000 series. Prints times and
//! ratios; asserts nothing. The README holds the last table, made by
//!
//!     cargo bench -p prism-metrics

use std::hint::black_box;

use metrics::{Key, Label, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use prism_core::Registry;
use prism_metrics::PrismRecorder;
use prism_prom::{Format, Renderer};

const SERIES: usize = 1000;
const RING: usize = 4096;

// prism-core's bench timing, so that both benches measure the same way.
#[path = "../../core/benches/support/mod.rs"]
mod support;
use support::ns_per_op;

static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// The key of series `i`: three labels, as a request counter has.
fn key(i: usize) -> Key {
    let labels = vec![
        Label::new("method", ["GET", "POST", "PUT"][i % 3]),
        Label::new("code", format!("{}", 200 + i % 5)),
        Label::new("path", format!("/api/v{i}")),
    ];
    Key::from_parts("requests", labels)
}

fn row(what: &str, prism: f64, peer: f64, unit: &str) {
    println!(
        "| {what:<44} | {prism:>10.1} {unit} | {peer:>10.1} {unit} | {:>5.1}x |",
        peer / prism
    );
}

fn main() {
    let registry = Registry::new();
    let prism = PrismRecorder::new(&registry).expect("a fresh registry");
    let peer: PrometheusRecorder = PrometheusBuilder::new().build_recorder();
    let handle = peer.handle();

    let keys: Vec<Key> = (0..SERIES).map(key).collect();
    // A fixed pseudo-random walk over the series, the same for both.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let ring: Vec<usize> = (0..RING)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % SERIES as u64) as usize
        })
        .collect();
    for k in &keys {
        prism.register_counter(k, &METADATA).increment(1);
        peer.register_counter(k, &METADATA).increment(1);
    }

    println!(
        "prism-metrics recorder vs metrics-exporter-prometheus, {} CPUs available\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| call | prism | metrics-exporter-prometheus | prism faster by |");
    println!("|---|---|---|---|");

    let hot = &keys[0];
    let p = ns_per_op(2_000_000, |_| {
        prism
            .register_counter(black_box(hot), &METADATA)
            .increment(1)
    });
    let q = ns_per_op(2_000_000, |_| {
        peer.register_counter(black_box(hot), &METADATA)
            .increment(1)
    });
    row("hot series, register_counter + increment", p, q, "ns");
    // What the name lookup adds: prism's own family lookup of the same label values.
    let family = prism_core::Family::<prism_core::Counter>::new(["code", "method", "path"]);
    let values = ["200", "GET", "/api/v0"];
    let f = ns_per_op(2_000_000, |_| family.get(black_box(&values)).inc());
    println!("| (of which prism Family::get + inc alone: {f:.1} ns) | | | |");

    let macro_loop = |recorder: &dyn Recorder| {
        metrics::with_local_recorder(recorder, || {
            ns_per_op(2_000_000, |_| {
                metrics::counter!("requests", "method" => "GET", "code" => "200", "path" => "/api/v0")
                    .increment(1)
            })
        })
    };
    let (p, q) = (macro_loop(&prism), macro_loop(&peer));
    row("hot series, counter!(3 labels).increment", p, q, "ns");
    // What the macro costs before any recorder code runs: finding the local recorder and a
    // dynamic call, the same for both (`metrics`' no-op recorder, whose counter is a no-op).
    let floor = macro_loop(&metrics::NoopRecorder);
    println!(
        "| (of which the macro's dispatch, `metrics::NoopRecorder`: {floor:.1} ns; \
         past it prism {:.1} ns, the peer {:.1} ns: {:.1}x) | | | |",
        p - floor,
        q - floor,
        (q - floor) / (p - floor)
    );

    let p = ns_per_op(1_000_000, |i| {
        let k = &keys[ring[i as usize % RING]];
        prism.register_counter(k, &METADATA).increment(1)
    });
    let q = ns_per_op(1_000_000, |i| {
        let k = &keys[ring[i as usize % RING]];
        peer.register_counter(k, &METADATA).increment(1)
    });
    row(
        "1000 random series, register_counter + increment",
        p,
        q,
        "ns",
    );

    let mut renderer = Renderer::new(registry.clone());
    let mut out = String::new();
    let p = ns_per_op(200, |_| {
        out.clear();
        renderer.render_into(Format::Prometheus, &mut out);
        black_box(out.len());
    });
    let q = ns_per_op(200, |_| {
        black_box(handle.render().len());
    });
    row(
        "render 1000 series, Prometheus text",
        p / 1e3,
        q / 1e3,
        "us",
    );
}
