//! What an SLO costs: one tick (two counters, or two selections of a 100-series family),
//! and the memory of a 30-day SLO measured with prism-json's counting allocator. Prints a
//! table; asserts nothing (timings belong in a benchmark, not a test). The README holds the
//! last table, made by
//!
//!     cargo bench -p prism-slo --bench tick

use std::time::Duration;

use prism_core::{Counter, Family, ManualClock, Registry};
use prism_json::CountingAllocator;
use prism_slo::{IntervalReporter, Matcher, Slo, Source, Watch};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

// prism-core's bench timing, so that every bench measures the same way.
#[path = "../../core/benches/support/mod.rs"]
mod support;
use support::ns_per_op;

fn live() -> u64 {
    prism_json::alloc_stats().map_or(0, |s| s.allocated_bytes)
}

fn counters_slo(registry: &Registry, name: &str, clock: &ManualClock) -> (Slo, Counter, Counter) {
    let requests = Counter::new();
    let errors = Counter::new();
    let slo = Slo::errors_over_total(
        name,
        Source::counter("http_errors", &errors),
        Source::counter("http_requests", &requests),
    )
    .clock(clock.clone())
    .register(registry)
    .unwrap();
    (slo, requests, errors)
}

fn main() {
    let registry = Registry::new();
    let clock = ManualClock::new();

    // Memory: the first SLO also registers the shared families; the second is what each
    // further SLO adds. Then a month of ticks, which must add nothing.
    let before = live();
    let (first, _, _) = counters_slo(&registry, "first", &clock);
    let first_bytes = live() - before;
    let before = live();
    let (slo, requests, errors) = counters_slo(&registry, "api", &clock);
    let slo_bytes = live() - before;
    let before = live();
    for _ in 0..(30 * 24 * 60) {
        clock.advance(Duration::from_secs(60));
        requests.add(1000);
        errors.add(1);
        slo.tick();
    }
    let month_growth = live() as i64 - before as i64;
    drop(first);

    let step = Duration::from_secs(10);
    let tick_counters = ns_per_op(200_000, |_| {
        clock.advance(step);
        requests.add(100);
        slo.tick();
    });

    let family = Family::<Counter>::new(["code", "route"]);
    for i in 0..100 {
        family
            .get(&[["200", "404", "500", "503"][i % 4], &format!("/r{i}")])
            .add(10);
    }
    let fam_slo = Slo::errors_over_total(
        "family",
        Source::family("http_responses", &family, [Matcher::prefix("code", "5")]).unwrap(),
        Source::family("http_responses", &family, []).unwrap(),
    )
    .clock(clock.clone())
    .register(&registry)
    .unwrap();
    let tick_family = ns_per_op(20_000, |i| {
        clock.advance(step);
        family.get(&["500", "/r2"]).add(i % 3);
        fam_slo.tick();
    });

    // The floor under a family selection: one visit of the family with a visitor that
    // does nothing.
    struct Nothing;
    impl prism_core::Visitor for Nothing {
        fn sample(&mut self, _: &prism_core::Descriptor, s: &prism_core::Sample<'_>) {
            std::hint::black_box(s.value());
        }
    }
    let alone = Registry::builder().self_telemetry(false).build();
    alone
        .register("http_responses", "x", family.clone())
        .unwrap();
    let visit_family = ns_per_op(20_000, |_| alone.visit(&mut Nothing));

    let reporter = IntervalReporter::new()
        .clock(clock.clone())
        .source(Source::counter("http_requests", &requests));
    let tick_reporter = ns_per_op(200_000, |_| {
        requests.inc();
        reporter.tick();
    });

    let watch = Watch::series_growth("growth", &registry, Duration::from_secs(600), 100.0)
        .clock(clock.clone())
        .register()
        .unwrap();
    let tick_watch = ns_per_op(20_000, |_| {
        clock.advance(step);
        watch.tick();
    });

    println!("| measure | value |");
    println!("|---|---|");
    println!("| SLO tick, two counters, 7 windows, 4 alert rules | {tick_counters:.0} ns |");
    println!("| SLO tick, two selections of a 100-series family | {tick_family:.0} ns |");
    println!("| one visit of that family, doing nothing per series (the floor, read twice per tick) | {visit_family:.0} ns |");
    println!("| interval reporter tick, one counter | {tick_reporter:.0} ns |");
    println!(
        "| series-growth watch tick ({} families) | {tick_watch:.0} ns |",
        registry.descriptors().len()
    );
    println!(
        "| memory of a 30-day SLO (families already registered) | {slo_bytes} B ({:.1} KiB) |",
        slo_bytes as f64 / 1024.0
    );
    println!("| memory of the first SLO of a registry (registers the 5 families) | {first_bytes} B ({:.1} KiB) |", first_bytes as f64 / 1024.0);
    println!("| memory added by 30 days of 1-minute ticks | {month_growth} B |");
    println!(
        "| history of one SLO (`Slo::history_bytes`) | {} B |",
        slo.history_bytes()
    );
}
