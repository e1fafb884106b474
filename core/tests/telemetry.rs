//! Self-telemetry: `prism_updates` never goes down, a read reads each series once, and
//! wrong label arity is counted apart from cardinality refusals.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prism_core::{
    Counter, CounterFn, Descriptor, Family, Gauge, GaugeFn, Registry, Sample, Value, Visitor,
};

fn updates(r: &Registry) -> u64 {
    match r.snapshot().family("prism_updates").unwrap().series[0].value {
        Value::Counter(v) => v,
        ref other => panic!("prism_updates reads {other:?}"),
    }
}

fn labelled(r: &Registry, telemetry: &str, family: &str) -> Option<Value> {
    r.snapshot()
        .family(telemetry)
        .unwrap()
        .series(&[family])
        .map(|s| s.value.clone())
}

#[test]
fn removed_series_keep_what_they_counted() {
    let r = Registry::new();
    let f = r
        .register("jobs", "h", Family::<Counter>::new(["queue"]))
        .unwrap();
    f.get(&["a"]).add(5);
    f.get(&["b"]).add(7);
    assert_eq!(updates(&r), 12);
    assert!(f.remove(&["a"]));
    assert_eq!(updates(&r), 12, "the removed series' 5 stay counted");
    f.get(&["a"]).inc(); // a new series, from 0
    assert_eq!(updates(&r), 13);
    f.clear();
    assert_eq!(updates(&r), 13, "cleared series stay counted");
    f.get(&["c"]).add(2);
    assert_eq!(updates(&r), 15);
}

#[test]
fn cleared_overflow_and_unregistered_metrics_stay_counted() {
    let r = Registry::new();
    let f = r
        .register(
            "users",
            "h",
            Family::<Counter>::builder(["user"])
                .cardinality_limit(1)
                .build()
                .unwrap(),
        )
        .unwrap();
    let solo = r.register("solo", "h", Counter::new()).unwrap();
    f.get(&["a"]).add(3);
    f.get(&["b"]).add(4); // the overflow series
    solo.add(10);
    assert_eq!(updates(&r), 17);
    f.clear(); // the overflow series stays
    assert_eq!(updates(&r), 17);
    assert!(r.unregister("solo"));
    assert_eq!(updates(&r), 17, "an unregistered counter's 10 stay counted");
    assert!(r.unregister("users"));
    assert_eq!(updates(&r), 17, "and an unregistered family's 4 too");
    r.register("later", "h", Counter::new()).unwrap().inc();
    assert_eq!(updates(&r), 18);
}

#[test]
fn function_backed_counters_are_not_counted_and_cannot_pull_it_down() {
    let r = Registry::new();
    let level = Arc::new(AtomicU64::new(1000));
    let source = level.clone();
    r.register(
        "kernel_packets",
        "h",
        CounterFn::new(move || source.load(Ordering::Relaxed)),
    )
    .unwrap();
    let fns = r
        .register(
            "pool_accepted",
            "h",
            Family::builder(["pool"])
                .build_with(|| CounterFn::new(|| 77u64))
                .unwrap(),
        )
        .unwrap();
    fns.get(&["p"]);
    r.register("jobs", "h", Counter::new()).unwrap().add(5);
    assert_eq!(
        updates(&r),
        5,
        "closures' values are not increments prism recorded"
    );
    level.store(3, Ordering::Relaxed); // the closure goes down
    assert_eq!(updates(&r), 5);
}

/// A read that races removals never reports less than the read before it, and once the
/// writers stop, the total is exact.
#[test]
fn prism_updates_never_decreases_while_series_are_removed_during_reads() {
    let r = Registry::new();
    let f = r
        .register("churn", "h", Family::<Counter>::new(["worker", "n"]))
        .unwrap();
    // A family named after `prism_updates`, read ahead of its turn.
    let g = r
        .register("zz_churn", "h", Family::<Counter>::new(["worker", "n"]))
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (writers, rounds) = if cfg!(miri) { (2, 20) } else { (3, 3000) };
    let reader = {
        let (r, stop) = (r.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut last = 0;
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) || reads == 0 {
                let now = updates(&r);
                assert!(now >= last, "prism_updates went from {last} to {now}");
                last = now;
                reads += 1;
            }
            reads
        })
    };
    std::thread::scope(|s| {
        for w in 0..writers {
            let (f, g) = (f.clone(), g.clone());
            s.spawn(move || {
                // Each writer updates and removes only its own series: every increment
                // lands before its series' removal, so the final total is exact.
                let worker = w.to_string();
                for i in 0..rounds {
                    let n = (i % 5).to_string();
                    f.with(&[worker.as_str(), n.as_str()], |c| c.add(2));
                    g.with(&[worker.as_str(), n.as_str()], Counter::inc);
                    if i % 3 == 0 {
                        f.remove(&[worker.as_str(), n.as_str()]);
                    }
                    if i % 7 == 0 {
                        g.remove(&[worker.as_str(), n.as_str()]);
                    }
                }
            });
        }
    });
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().unwrap();
    assert!(reads > 0);
    assert_eq!(updates(&r), writers as u64 * rounds * 3);
}

/// Counts its reads: a counter and a gauge of a type of its own.
#[derive(Clone)]
struct Reads(Arc<AtomicU64>);

/// One visit of a registry with self-telemetry on calls each closure once: the telemetry
/// is computed from the values the read took, not from a read of its own.
#[test]
fn a_visit_reads_each_series_once() {
    let r = Registry::new();
    let calls: Vec<Reads> = (0..6).map(|_| Reads(Arc::new(AtomicU64::new(0)))).collect();
    let counting = |i: usize| {
        let c = calls[i].0.clone();
        move || c.fetch_add(1, Ordering::Relaxed)
    };
    // Before and after `prism_updates` in name order, on their own and in families.
    r.register("aa_counter_fn", "h", CounterFn::new(counting(0)))
        .unwrap();
    r.register("zz_counter_fn", "h", CounterFn::new(counting(1)))
        .unwrap();
    r.register("aa_gauge_fn", "h", GaugeFn::new(counting(2)))
        .unwrap();
    let (c3, c4) = (counting(3), counting(4));
    r.register(
        "aa_fn_family",
        "h",
        Family::builder(["k"])
            .build_with(move || CounterFn::new(c3.clone()))
            .unwrap(),
    )
    .unwrap()
    .get(&["x"]);
    r.register(
        "zz_fn_family",
        "h",
        Family::builder(["k"])
            .build_with(move || GaugeFn::new(c4.clone()))
            .unwrap(),
    )
    .unwrap()
    .get(&["x"]);
    r.register("zz_gauge_fn", "h", GaugeFn::new(counting(5)))
        .unwrap();
    struct Nothing;
    impl Visitor for Nothing {
        fn sample(&mut self, _: &Descriptor, _: &Sample<'_>) {}
    }
    r.visit(&mut Nothing);
    for (i, c) in calls.iter().enumerate() {
        assert_eq!(
            c.0.load(Ordering::Relaxed),
            1,
            "closure {i} read once per visit"
        );
    }
    r.visit(&mut Nothing);
    for c in &calls {
        assert_eq!(c.0.load(Ordering::Relaxed), 2);
    }
}

/// Counters named after `prism_updates` are summed before its turn and still come at their
/// own turn, in name order, with the value that was summed.
#[test]
fn counters_after_prism_updates_in_name_order_are_summed_and_kept_in_order() {
    let r = Registry::new();
    r.register("alpha", "h", Counter::new()).unwrap().add(3);
    r.register("zeta", "h", Counter::new()).unwrap().add(7);
    let f = r
        .register("zulu", "h", Family::<Counter>::new(["k"]))
        .unwrap();
    f.get(&["a"]).add(11);
    f.get(&["b"]).add(13);
    r.register("yankee", "h", Gauge::new()).unwrap().set(99);
    let snap = r.snapshot();
    let names: Vec<&str> = snap.families.iter().map(|f| f.descriptor.name()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert_eq!(
        snap.family("prism_updates").unwrap().series[0].value,
        Value::Counter(34)
    );
    assert_eq!(
        snap.family("zeta").unwrap().series[0].value,
        Value::Counter(7)
    );
    let zulu = snap.family("zulu").unwrap();
    let values: Vec<(Vec<String>, Value)> = zulu
        .series
        .iter()
        .map(|s| (s.label_values.clone(), s.value.clone()))
        .collect();
    assert_eq!(
        values,
        [
            (vec!["a".to_owned()], Value::Counter(11)),
            (vec!["b".to_owned()], Value::Counter(13))
        ]
    );
}

/// The total is kept modulo 2^64: past 2^64 it wraps, as the telemetry docs say.
#[test]
fn prism_updates_wraps_at_2_64() {
    let r = Registry::new();
    let c = r.register("big", "h", Counter::new()).unwrap();
    let mut expected = 0u64;
    for _ in 0..4 {
        c.add(1 << 62);
        expected = expected.wrapping_add(1 << 62);
        assert_eq!(updates(&r), expected);
    }
    assert_eq!(expected, 0, "four steps of 2^62 wrap to 0");
    c.inc();
    assert_eq!(updates(&r), 1);
}

/// Wrong arity is counted in `prism_label_arity_errors`, per family, and not in
/// `prism_refused_label_sets`.
#[test]
fn wrong_arity_is_its_own_telemetry_family() {
    let r = Registry::new();
    let f = r
        .register("by_user", "h", Family::<Counter>::new(["user", "region"]))
        .unwrap();
    let quiet = r
        .register("quiet", "h", Family::<Gauge>::new(["k"]))
        .unwrap();
    for _ in 0..2 {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f.with(&["only-user"], Counter::inc);
        }));
        assert_eq!(caught.is_err(), cfg!(debug_assertions));
    }
    quiet.get(&["fine"]).set(1);
    assert_eq!(f.arity_errors(), 2);
    assert_eq!(
        labelled(&r, "prism_label_arity_errors", "by_user"),
        Some(Value::Counter(2))
    );
    assert_eq!(
        labelled(&r, "prism_label_arity_errors", "quiet"),
        Some(Value::Counter(0))
    );
    assert_eq!(
        labelled(&r, "prism_refused_label_sets", "by_user"),
        Some(Value::Counter(0))
    );
    assert_eq!(updates(&r), 2, "the updates reached the overflow series");
    assert!(r
        .register("prism_label_arity_errors", "h", Gauge::new())
        .is_err());
}
