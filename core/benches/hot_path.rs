//! Hot-path benchmarks: prism against prometheus-client, `prometheus`, `metrics` and
//! opentelemetry_sdk, in one run, printing times and ratios. No timing is asserted anywhere:
//! the figures go in the README, measured by
//!
//!     cargo bench -p prism-core --bench hot_path
//!
//! `PRISM_BENCH_THREADS=1,2,4,8,16` sets the thread counts of the contention section
//! (default `1,2`). Results of the last run are in the README, with the machine they ran on.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::Instant;

use metrics::Recorder;
use opentelemetry::metrics::MeterProvider;
use opentelemetry::KeyValue;
use prism_core::{Counter, Family, TypedFamily};
use prism_derive::{LabelSet, LabelValue};

mod support;
use support::ns_per_op;

const SERIES: usize = 1000;
const RING: usize = 4096;

/// Operations per second of `threads` threads each calling `f(thread, i)` `iters` times,
/// the best of three runs. Each thread reads the clock itself, and a run lasts from the first
/// start to the last finish: a main thread descheduled on a busy machine cannot shorten it.
fn throughput(threads: usize, iters: u64, f: impl Fn(usize, u64) + Sync) -> f64 {
    (0..3)
        .map(|_| {
            let barrier = Barrier::new(threads);
            let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (f, barrier) = (&f, &barrier);
                        s.spawn(move || {
                            barrier.wait();
                            let start = Instant::now();
                            for i in 0..iters {
                                f(t, i);
                            }
                            (start, Instant::now())
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("bench thread"))
                    .collect()
            });
            let start = spans
                .iter()
                .map(|s| s.0)
                .min()
                .expect("one thread at least");
            let end = spans
                .iter()
                .map(|s| s.1)
                .max()
                .expect("one thread at least");
            (threads as u64 * iters) as f64 / end.duration_since(start).as_secs_f64()
        })
        .fold(0.0, f64::max)
}

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The label values of series `i`: three short labels, as an HTTP service has them.
fn labels(i: usize) -> [String; 3] {
    [
        ["GET", "POST", "PUT"][i % 3].to_owned(),
        format!("{}", 200 + i % 5),
        format!("/api/v{i}"),
    ]
}

const NAMES: [&str; 3] = ["method", "code", "path"];

/// prometheus-client's idiomatic label set: a derived struct, the method an enum and the
/// status a number, as its own documentation writes them.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct PcLabels {
    method: PcMethod,
    code: u16,
    path: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelValue)]
enum PcMethod {
    Get,
    Post,
    Put,
}

impl PcLabels {
    fn of(i: usize) -> Self {
        Self {
            method: [PcMethod::Get, PcMethod::Post, PcMethod::Put][i % 3].clone(),
            code: 200 + (i % 5) as u16,
            path: format!("/api/v{i}"),
        }
    }
}

/// prism's typed label set of the same shape as `PcLabels`.
#[derive(LabelSet)]
#[prism(crate = "prism_core")]
struct PrismLabels {
    method: PrismMethod,
    code: u16,
    path: String,
}

#[derive(Clone, Copy, LabelValue)]
#[prism(crate = "prism_core", rename_all = "UPPERCASE")]
enum PrismMethod {
    Get,
    Post,
    Put,
}

impl PrismLabels {
    fn of(i: usize) -> Self {
        Self {
            method: [PrismMethod::Get, PrismMethod::Post, PrismMethod::Put][i % 3],
            code: 200 + (i % 5) as u16,
            path: format!("/api/v{i}"),
        }
    }
}

/// prism's typed label set of text fields, the values the slice path is given.
#[derive(LabelSet)]
#[prism(crate = "prism_core")]
struct PrismStrLabels {
    method: &'static str,
    code: &'static str,
    path: &'static str,
}

/// Every library's family, each holding the same `SERIES` series.
struct Peers {
    values: Vec<[String; 3]>,
    refs: Vec<[&'static str; 3]>,
    prism: Family<Counter>,
    typed: TypedFamily<PrismLabels, Counter>,
    typed_keys: Vec<PrismLabels>,
    typed_str: TypedFamily<PrismStrLabels, Counter>,
    typed_str_keys: Vec<PrismStrLabels>,
    pclient: prometheus_client::metrics::family::Family<
        Vec<(String, String)>,
        prometheus_client::metrics::counter::Counter,
    >,
    pclient_keys: Vec<Vec<(String, String)>>,
    pclient_derived: prometheus_client::metrics::family::Family<
        PcLabels,
        prometheus_client::metrics::counter::Counter,
    >,
    pclient_derived_keys: Vec<PcLabels>,
    prom: prometheus::IntCounterVec,
    otel: opentelemetry::metrics::Counter<u64>,
    otel_attrs: Vec<Vec<KeyValue>>,
    _otel_provider: opentelemetry_sdk::metrics::SdkMeterProvider,
    metrics: metrics_exporter_prometheus::PrometheusRecorder,
    metrics_keys: Vec<metrics::Key>,
}

static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

impl Peers {
    fn new() -> Self {
        let values: Vec<[String; 3]> = (0..SERIES).map(labels).collect();
        // Leaked once so that `&str` label slices can be handed to every library.
        let refs: Vec<[&'static str; 3]> = values
            .iter()
            .map(|v| v.clone().map(|s| &*Box::leak(s.into_boxed_str())))
            .collect();
        let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
            .build();
        let otel = provider.meter("bench").u64_counter("requests").build();
        let peers = Self {
            prism: Family::<Counter>::builder(NAMES)
                .cardinality_limit(SERIES)
                .build()
                .unwrap(),
            typed: Family::<Counter>::builder(NAMES)
                .cardinality_limit(SERIES)
                .build()
                .unwrap()
                .typed()
                .unwrap(),
            typed_keys: (0..SERIES).map(PrismLabels::of).collect(),
            typed_str: Family::<Counter>::builder(NAMES)
                .cardinality_limit(SERIES)
                .build()
                .unwrap()
                .typed()
                .unwrap(),
            typed_str_keys: refs
                .iter()
                .map(|&[method, code, path]| PrismStrLabels { method, code, path })
                .collect(),
            pclient: Default::default(),
            pclient_derived: Default::default(),
            pclient_derived_keys: (0..SERIES).map(PcLabels::of).collect(),
            pclient_keys: values
                .iter()
                .map(|v| {
                    NAMES
                        .iter()
                        .zip(v)
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect()
                })
                .collect(),
            prom: prometheus::IntCounterVec::new(prometheus::Opts::new("requests", "h"), &NAMES)
                .unwrap(),
            otel,
            otel_attrs: values
                .iter()
                .map(|v| {
                    NAMES
                        .iter()
                        .zip(v)
                        .map(|(k, v)| KeyValue::new(*k, v.clone()))
                        .collect()
                })
                .collect(),
            _otel_provider: provider,
            metrics: metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder(),
            metrics_keys: values
                .iter()
                .map(|v| {
                    let labels: Vec<metrics::Label> = NAMES
                        .iter()
                        .zip(v)
                        .map(|(k, v)| metrics::Label::new(*k, v.clone()))
                        .collect();
                    metrics::Key::from_parts("requests", labels)
                })
                .collect(),
            values,
            refs,
        };
        for i in 0..SERIES {
            peers.update(Lib::PrismGet, i);
            peers.update(Lib::PrismTyped, i);
            peers.update(Lib::PrismTypedStr, i);
            peers.update(Lib::PrometheusClient, i);
            peers.update(Lib::PrometheusClientDerived, i);
            peers.update(Lib::Prometheus, i);
            peers.update(Lib::Otel, i);
            peers.update(Lib::Metrics, i);
        }
        peers
    }

    #[inline]
    fn update(&self, lib: Lib, i: usize) {
        match lib {
            Lib::PrismGet => self.prism.get(&self.refs[i]).inc(),
            Lib::PrismWith => self.prism.with(&self.refs[i], Counter::inc),
            Lib::PrismTyped => self.typed.get(&self.typed_keys[i]).inc(),
            Lib::PrismTypedStr => self.typed_str.get(&self.typed_str_keys[i]).inc(),
            Lib::PrometheusClient => {
                self.pclient.get_or_create(&self.pclient_keys[i]).inc();
            }
            Lib::PrometheusClientDerived => {
                self.pclient_derived
                    .get_or_create(&self.pclient_derived_keys[i])
                    .inc();
            }
            Lib::Prometheus => self.prom.with_label_values(&self.refs[i]).inc(),
            Lib::Otel => self.otel.add(1, &self.otel_attrs[i]),
            Lib::Metrics => self
                .metrics
                .register_counter(&self.metrics_keys[i], &METADATA)
                .increment(1),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Lib {
    PrismGet,
    PrismWith,
    PrismTyped,
    PrismTypedStr,
    PrometheusClient,
    PrometheusClientDerived,
    Prometheus,
    Otel,
    Metrics,
}

impl Lib {
    fn is_prism(self) -> bool {
        matches!(
            self,
            Lib::PrismGet | Lib::PrismWith | Lib::PrismTyped | Lib::PrismTypedStr
        )
    }
}

const LIBS: [(Lib, &str); 9] = [
    (Lib::PrismGet, "prism Family::get(..).inc()"),
    (Lib::PrismWith, "prism Family::with(.., inc)"),
    (Lib::PrismTyped, "prism TypedFamily::get, enum/u16/String"),
    (Lib::PrismTypedStr, "prism TypedFamily::get, &str fields"),
    (
        Lib::PrometheusClient,
        "prometheus-client get_or_create, Vec",
    ),
    (
        Lib::PrometheusClientDerived,
        "prometheus-client get_or_create, derived",
    ),
    (Lib::Prometheus, "prometheus with_label_values"),
    (Lib::Otel, "opentelemetry_sdk Counter::add"),
    (Lib::Metrics, "metrics register_counter"),
];

fn row(name: &str, ns: f64, note: &str) {
    println!("  {name:<40} {ns:>8.2} ns  {note}");
}

fn family_section(peers: &Peers, title: &str, pick: impl Fn(u64) -> usize) {
    println!("\n{title}");
    let prism = ns_per_op(2_000_000, |i| peers.update(Lib::PrismGet, pick(i)));
    for (lib, name) in LIBS {
        let iters = if lib.is_prism() { 2_000_000 } else { 500_000 };
        let ns = if lib == Lib::PrismGet {
            prism
        } else {
            ns_per_op(iters, |i| peers.update(lib, pick(i)))
        };
        let note = match lib {
            Lib::PrismGet => String::new(),
            Lib::PrismWith | Lib::PrismTyped | Lib::PrismTypedStr => {
                format!("{:.2}x of get", ns / prism)
            }
            _ => format!("prism get is {:.1}x faster", ns / prism),
        };
        row(name, ns, &note);
    }
}

/// Typed and slice lookups into the same family (each typed family is also looked up by
/// slice: two families differ in their random seed, so a hot series may probe one entry
/// more in one of them), measured in many short interleaved rounds, the best of each over
/// all rounds: a change in the machine's load between two measurements cannot favour one
/// path, and on a busy machine some rounds of each run undisturbed.
fn typed_section(peers: &Peers, title: &str, pick: impl Fn(u64) -> usize) {
    println!("\n{title}");
    const ROUNDS: usize = 200;
    const ITERS: u64 = 20_000;
    let mut best = [f64::INFINITY; 5];
    for _ in 0..ROUNDS {
        let runs = [
            ns_per_op(ITERS, |i| {
                peers.typed_str.family().get(&peers.refs[pick(i)]).inc()
            }),
            // The slice as `family.get(&[a, b, c])` builds it: on the stack, at the call.
            ns_per_op(ITERS, |i| {
                let k = &peers.typed_str_keys[pick(i)];
                peers
                    .typed_str
                    .family()
                    .get(&[k.method, k.code, k.path])
                    .inc()
            }),
            ns_per_op(ITERS, |i| peers.update(Lib::PrismTypedStr, pick(i))),
            // The slice path given the values of the struct: the code formatted on the
            // stack, as the typed path does.
            ns_per_op(ITERS, |i| {
                let key = &peers.typed_keys[pick(i)];
                let mut code = itoa::Buffer::new();
                let method = peers.refs[pick(i)][0];
                peers
                    .typed
                    .family()
                    .get(&[method, code.format(key.code), &key.path])
                    .inc()
            }),
            ns_per_op(ITERS, |i| peers.update(Lib::PrismTyped, pick(i))),
        ];
        for (best, run) in best.iter_mut().zip(runs) {
            *best = best.min(run);
        }
    }
    row("slice, [&str; 3] kept in memory", best[0], "");
    row("slice, [&str; 3] built at the call", best[1], "");
    row(
        "typed, &str fields",
        best[2],
        &format!(
            "{:.2}x of the slice built at the call, {:.2}x of the kept one",
            best[2] / best[1],
            best[2] / best[0]
        ),
    );
    row("slice, built at the call, u16 via itoa", best[3], "");
    row(
        "typed, enum/u16/String fields",
        best[4],
        &format!("{:.2}x of the slice path", best[4] / best[3]),
    );
}

fn main() {
    let threads: Vec<usize> = std::env::var("PRISM_BENCH_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .collect();
    println!(
        "prism hot path, {} CPUs available",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    println!("\nheld handle, one thread");
    let atomic = AtomicU64::new(0);
    let base = ns_per_op(20_000_000, |_| {
        black_box(&atomic).fetch_add(1, Ordering::Relaxed);
    });
    let counter = Counter::new();
    let inc = ns_per_op(20_000_000, |_| black_box(&counter).inc());
    row("AtomicU64::fetch_add(Relaxed)", base, "1.00x (baseline)");
    row(
        "prism Counter::inc",
        inc,
        &format!("{:.2}x of fetch_add (goal <= 1.1x)", inc / base),
    );

    let peers = Peers::new();
    family_section(
        &peers,
        "family, 3 labels, one hot series looked up and incremented per call",
        |_| 7,
    );
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let ring: Vec<usize> = (0..RING)
        .map(|_| (rng.next() % SERIES as u64) as usize)
        .collect();
    family_section(
        &peers,
        "family, 3 labels, 1000 series chosen at random (indices precomputed)",
        |i| ring[i as usize % RING],
    );

    typed_section(
        &peers,
        "typed against slice lookups, one hot series (interleaved rounds)",
        |_| 7,
    );
    typed_section(
        &peers,
        "typed against slice lookups, 1000 random series (interleaved rounds)",
        |i| ring[i as usize % RING],
    );

    println!("\npast the limit: a refused label set (to the overflow series) against a hot series");
    let full = Family::<Counter>::builder(NAMES)
        .cardinality_limit(SERIES)
        .build()
        .unwrap();
    for v in &peers.refs {
        full.get(v).inc();
    }
    let refused: Vec<[String; 3]> = (SERIES..2 * SERIES).map(labels).collect();
    let hot = ns_per_op(2_000_000, |i| {
        full.get(&peers.refs[ring[i as usize % RING]]).inc()
    });
    let over = ns_per_op(2_000_000, |i| {
        full.get(&refused[ring[i as usize % RING]]).inc()
    });
    row("prism update, live series", hot, "");
    row(
        "prism update, refused label set",
        over,
        &format!("{:.2}x of live (goal <= 1.5x)", over / hot),
    );
    assert_eq!(full.len(), SERIES, "the refused sets stayed out");

    let rings: Vec<Vec<usize>> = (0..threads.iter().copied().max().unwrap_or(1))
        .map(|t| {
            let mut rng = XorShift(0x2545_F491_4F6C_DD1D ^ ((t as u64 + 1) * 0x9E37));
            (0..RING)
                .map(|_| (rng.next() % SERIES as u64) as usize)
                .collect()
        })
        .collect();
    // Two ways to share a family: threads updating series of their own (a request's labels
    // mostly differ by thread: the family lookup is what is shared), and threads updating
    // the same series (the counters themselves are shared, and no library can scale that).
    for (title, disjoint) in [
        (
            "each thread on series of its own (a slice of the 1000)",
            true,
        ),
        ("every thread on all 1000 series (shared counters)", false),
    ] {
        println!("\ncontention, one family of 1000 series, {title}");
        println!("  (aggregate Mops/s; scaling = N-thread throughput / 1-thread throughput)");
        for (lib, name) in LIBS {
            let iters = if lib.is_prism() { 1_000_000 } else { 250_000 };
            let mut line = format!("  {name:<40}");
            let mut one = None;
            for &n in &threads {
                let pick = |t: usize, i: u64| {
                    let r = rings[t][i as usize % RING];
                    if disjoint {
                        let (lo, hi) = (t * SERIES / n, (t + 1) * SERIES / n);
                        lo + r % (hi - lo)
                    } else {
                        r
                    }
                };
                let ops = throughput(n, iters, |t, i| peers.update(lib, pick(t, i)));
                let one = *one.get_or_insert(ops);
                line.push_str(&format!(
                    " {n}T {:>6.1} Mops/s ({:.2}x)",
                    ops / 1e6,
                    ops / one
                ));
            }
            println!("{line}");
        }
    }
    black_box(&peers.values);
}
