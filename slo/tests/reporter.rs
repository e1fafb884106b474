//! The interval reporter: exact under concurrent writers, resets reported as resets, family
//! selections summed per series.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use prism_core::{Counter, Family, ManualClock};
use prism_slo::{IntervalReporter, Matcher, Source};

#[test]
fn reported_increases_add_up_to_the_total_under_concurrent_writers() {
    let counter = Counter::new();
    let family = Family::<Counter>::new(["code"]);
    let reporter = IntervalReporter::new()
        .source(Source::counter("requests", &counter))
        .source(Source::family("responses", &family, [Matcher::prefix("code", "5")]).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let counter = counter.clone();
            let family = family.clone();
            thread::spawn(move || {
                for i in 0..20_000u64 {
                    counter.add(1 + i % 3);
                    family
                        .get(&[if (i + t) % 2 == 0 { "500" } else { "200" }])
                        .inc();
                }
            })
        })
        .collect();
    let sums = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let ticking = {
        let reporter = reporter.clone();
        let done = done.clone();
        let sums = sums.clone();
        thread::spawn(move || {
            let mut ticks = 0;
            while !done.load(Ordering::Relaxed) || ticks == 0 {
                for (i, r) in reporter.tick().iter().enumerate() {
                    assert_eq!(r.resets, 0);
                    sums[i].fetch_add(r.increase, Ordering::Relaxed);
                }
                ticks += 1;
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    ticking.join().unwrap();
    for (i, r) in reporter.tick().iter().enumerate() {
        sums[i].fetch_add(r.increase, Ordering::Relaxed);
    }
    assert_eq!(sums[0].load(Ordering::Relaxed), counter.get());
    assert_eq!(sums[1].load(Ordering::Relaxed), family.get(&["500"]).get());
    assert_eq!(family.get(&["500"]).get(), 40_000);
    let per_thread: u64 = (0..20_000u64).map(|i| 1 + i % 3).sum();
    assert_eq!(counter.get(), 4 * per_thread);
}

#[test]
fn a_counter_that_went_down_is_a_reset_not_a_negative() {
    let value = Arc::new(AtomicU64::new(0));
    let read = value.clone();
    let reporter =
        IntervalReporter::new().source(Source::func("jobs", move || read.load(Ordering::Relaxed)));
    value.store(100, Ordering::Relaxed);
    assert_eq!(reporter.tick()[0].increase, 100);
    value.store(30, Ordering::Relaxed); // restarted and counted 30 since
    let r = &reporter.tick()[0];
    assert_eq!((r.increase, r.resets), (30, 1));
    value.store(35, Ordering::Relaxed);
    let r = &reporter.tick()[0];
    assert_eq!((r.increase, r.resets), (5, 0));
}

#[test]
fn a_removed_series_is_no_reset_and_a_remade_one_counts_from_zero() {
    let family = Family::<Counter>::new(["code"]);
    family.get(&["500"]).add(10);
    family.get(&["503"]).add(4);
    family.get(&["200"]).add(1000);
    let reporter = IntervalReporter::new()
        .source(Source::family("responses", &family, [Matcher::prefix("code", "5")]).unwrap());
    assert_eq!(reporter.tick()[0].increase, 14);
    family.remove(&["503"]);
    family.get(&["500"]).add(1);
    let r = &reporter.tick()[0];
    assert_eq!((r.increase, r.resets), (1, 0));
    family.get(&["503"]).add(2);
    assert_eq!(reporter.tick()[0].increase, 2);
}

#[test]
fn the_interval_is_the_time_between_ticks_and_the_counter_is_untouched() {
    let clock = ManualClock::new();
    let c = Counter::new();
    let reporter = IntervalReporter::new()
        .clock(clock.clone())
        .source(Source::counter("requests", &c));
    c.add(3);
    clock.advance(std::time::Duration::from_secs(10));
    let r = &reporter.tick()[0];
    assert_eq!(r.interval, std::time::Duration::from_secs(10));
    assert_eq!(c.get(), 3);
}

#[test]
fn a_matcher_on_a_missing_label_is_refused() {
    let family = Family::<Counter>::new(["code"]);
    let err = Source::family("responses", &family, [Matcher::eq("status", "500")]).unwrap_err();
    assert!(err.to_string().contains("no label `status`"), "{err}");
}

#[test]
fn selectors_are_promql() {
    let family = Family::<Counter>::new(["code", "route"]);
    let s = Source::family(
        "http_requests",
        &family,
        [Matcher::prefix("code", "5"), Matcher::ne("route", "/a\"b")],
    )
    .unwrap();
    assert_eq!(
        s.promql_selector(),
        r#"http_requests_total{code=~"5.*",route!="/a\"b"}"#
    );
    assert_eq!(
        Source::counter("x", &Counter::new()).promql_selector(),
        "x_total"
    );
}
