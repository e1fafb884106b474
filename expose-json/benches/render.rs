//! Rendering speed: prism-json against `serde_json::to_writer` on an equivalent, already
//! built `serde_json::Value` tree (building the tree is not timed), at 10,000 and 100,000
//! series. Prints nanoseconds per series and the ratio; asserts nothing (timings belong in
//! a benchmark, not a test).
//!
//! Run: `cargo bench -p prism-json --bench render`.
//!
//! The registry: 100 (or 1,000) counter families with two labels (`method` with 10 values,
//! `code` with 10), so 100 series per family; the tree holds the same nested maps. Each size
//! has two rows: the registry built with `self_telemetry(false)`, and the default registry
//! (self-telemetry on, whose `prism_*` entries the document holds too: four labelled ones
//! with a series per family). The tree is the same in both rows, without telemetry.
//!
//! Set `PRISM_JSON_BENCH_VISIT=1` to also time `Registry::visit` with a visitor that does
//! nothing, the floor every adapter stands on.
//!
//! Results, with the machine they ran on, are in the crate's README.md ("Speed").

use std::hint::black_box;
use std::time::{Duration, Instant};

use prism_core::{Counter, Family, Registry};
use serde_json::{Map, Value};

fn build(families: usize, self_telemetry: bool) -> (Registry, Value) {
    let registry = Registry::builder().self_telemetry(self_telemetry).build();
    let mut tree = Map::new();
    for f in 0..families {
        let name = format!("family_{f:04}_requests");
        let family = registry
            .register(
                &name,
                "Requests.",
                Family::<Counter>::new(["method", "code"]),
            )
            .unwrap();
        let mut by_method = Map::new();
        for m in 0..10 {
            let method = format!("METHOD{m}");
            let mut by_code = Map::new();
            for c in 0..10 {
                let code = format!("{}", 200 + c * 37);
                let n = (f * 100 + m * 10 + c) as u64 * 7919;
                family.get(&[&method, &code]).add(n);
                by_code.insert(code, Value::from(n));
            }
            by_method.insert(method, Value::Object(by_code));
        }
        tree.insert(name, Value::Object(by_method));
    }
    (registry, Value::Object(tree))
}

/// The median of `runs` timings of `f`, after one warm-up.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    println!(
        "| series | self-telemetry | prism-json ns/series | serde_json::to_writer ns/series | ratio |"
    );
    println!("|---|---|---|---|---|");
    let rows = [(100, 51), (1000, 11)]
        .into_iter()
        .flat_map(|size| [(size, false), (size, true)]);
    for ((families, runs), self_telemetry) in rows {
        let series = families * 100;
        let (registry, tree) = build(families, self_telemetry);
        let mut ours = Vec::with_capacity(1 << 20);
        let mut theirs = Vec::with_capacity(1 << 20);
        // Same document shape: check the bytes agree in content before timing.
        prism_json::render(&registry, &mut ours);
        let mut parsed: Value = serde_json::from_slice(&ours).unwrap();
        if let Value::Object(entries) = &mut parsed {
            entries.retain(|name, _| !name.starts_with("prism_"));
        }
        assert_eq!(parsed, tree, "the two sides must describe the same data");

        let t_ours = median(runs, || {
            ours.clear();
            prism_json::render(black_box(&registry), &mut ours);
            black_box(&ours);
        });
        let t_theirs = median(runs, || {
            theirs.clear();
            serde_json::to_writer(&mut theirs, black_box(&tree)).unwrap();
            black_box(&theirs);
        });
        let per = |t: Duration| t.as_nanos() as f64 / series as f64;
        if std::env::var_os("PRISM_JSON_BENCH_VISIT").is_some() {
            struct Nop(u64);
            impl prism_core::Visitor for Nop {
                fn sample(&mut self, _: &prism_core::Descriptor, s: &prism_core::Sample<'_>) {
                    self.0 += s.label_values().count() as u64;
                }
            }
            let t_visit = median(runs, || {
                let mut v = Nop(0);
                registry.visit(&mut v);
                black_box(v.0);
            });
            println!("visit alone: {:.1} ns/series", per(t_visit));
        }
        println!(
            "| {series} | {} | {:.1} | {:.1} | {:.2} |",
            if self_telemetry {
                "on (default)"
            } else {
                "off"
            },
            per(t_ours),
            per(t_theirs),
            t_ours.as_secs_f64() / t_theirs.as_secs_f64()
        );
    }
}
