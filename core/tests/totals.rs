//! Exact totals under threads: N threads doing M updates each give exactly N*M, for every
//! kind, through family handles, through the overflow series, and while series are removed.

use std::sync::Arc;
use std::thread;

use prism_core::{
    Capped, Counter, Family, FloatCounter, FloatGauge, Gauge, Max, Min, Overflow, Registry, Value,
};

const THREADS: usize = 4;
const PER_THREAD: usize = 50_000;
const TOTAL: u64 = (THREADS * PER_THREAD) as u64;

fn run(f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let f = f.clone();
            thread::spawn(move || f(t))
        })
        .collect();
    for h in handles {
        h.join().expect("worker panicked");
    }
}

#[test]
fn counters_and_gauges_are_exact() {
    let (c, fc, g, fg) = (
        Counter::new(),
        FloatCounter::new(),
        Gauge::new(),
        FloatGauge::new(),
    );
    let in_flight = Gauge::new();
    let (c2, fc2, g2, fg2, f2) = (
        c.clone(),
        fc.clone(),
        g.clone(),
        fg.clone(),
        in_flight.clone(),
    );
    run(move |_| {
        for _ in 0..PER_THREAD {
            c2.inc();
            fc2.add(1.0);
            g2.add(2);
            g2.dec();
            fg2.add(1.0);
            let _guard = f2.track();
        }
    });
    assert_eq!(c.get(), TOTAL);
    assert_eq!(fc.get(), TOTAL as f64);
    assert_eq!(g.get(), TOTAL as i64);
    assert_eq!(fg.get(), TOTAL as f64);
    assert_eq!(in_flight.get(), 0);
}

#[test]
fn trackers_keep_the_extremes_of_every_thread() {
    let (max, min) = (Max::new(), Min::new());
    let (max2, min2) = (max.clone(), min.clone());
    run(move |t| {
        for i in 0..PER_THREAD {
            let v = (i * THREADS + t) as i64 - 1000;
            max2.observe(v);
            min2.observe(v);
        }
    });
    assert_eq!(max.get(), Some(TOTAL as i64 - 1 - 1000));
    assert_eq!(min.get(), Some(-1000));
}

#[test]
fn capped_admits_exactly_its_cap() {
    let cap = TOTAL / 3;
    let c = Capped::new(cap);
    let wins = Arc::new(Counter::new());
    let (c2, w2) = (c.clone(), wins.clone());
    run(move |_| {
        for _ in 0..PER_THREAD {
            if c2.try_inc() {
                w2.inc();
            }
        }
    });
    assert_eq!(wins.get(), cap);
    assert_eq!(c.get(), cap);
}

#[test]
fn family_lookups_from_many_threads_are_exact_per_series() {
    let f = Family::<Counter>::new(["method", "code", "path"]);
    let f2 = f.clone();
    run(move |t| {
        for i in 0..PER_THREAD {
            let code = ["200", "404", "500"][i % 3];
            let path = format!("/p{}", i % 7);
            if (i + t) % 2 == 0 {
                f2.get(&["GET", code, &path]).inc();
            } else {
                f2.with(&["GET", code, path.as_str()], Counter::inc);
            }
        }
    });
    assert_eq!(f.len(), 21);
    let mut sum = 0;
    for i in 0..21 {
        let code = ["200", "404", "500"][i % 3];
        let path = format!("/p{}", i % 7);
        let expected = (0..PER_THREAD).filter(|j| j % 21 == i).count() as u64 * THREADS as u64;
        let got = f.get(&["GET", code, &path]).get();
        assert_eq!(got, expected, "{code} {path}");
        sum += got;
    }
    assert_eq!(sum, TOTAL);
    assert_eq!(f.refused(), 0);
}

#[test]
fn overflow_keeps_the_family_total_exact() {
    let registry = Registry::builder().self_telemetry(false).build();
    let f = registry
        .register(
            "bomb",
            "h",
            Family::<Counter>::builder(["k"])
                .cardinality_limit(5)
                .build()
                .unwrap(),
        )
        .unwrap();
    let f2 = f.clone();
    run(move |t| {
        for i in 0..PER_THREAD {
            f2.get(&[format!("k{}", (i + t) % 20)]).inc();
        }
    });
    assert_eq!(
        f.len(),
        5,
        "never past the limit, even when threads race at it"
    );
    let family = registry.snapshot().family("bomb").unwrap().clone();
    assert_eq!(family.series.len(), 6);
    let sum: u64 = family
        .series
        .iter()
        .map(|s| match s.value {
            Value::Counter(v) => v,
            ref other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(sum, TOTAL);
    let overflow = match family.overflow().unwrap().value {
        Value::Counter(v) => v,
        ref other => panic!("{other:?}"),
    };
    assert_eq!(
        overflow,
        f.refused(),
        "one refused lookup per overflow increment"
    );
}

#[test]
fn drop_policy_counts_exactly_what_it_drops() {
    let registry = Registry::builder().self_telemetry(false).build();
    let f = Family::<Counter>::builder(["k"])
        .cardinality_limit(3)
        .overflow(Overflow::Drop)
        .build()
        .unwrap();
    let f = registry.register("dropping", "h", f).unwrap();
    let f2 = f.clone();
    run(move |t| {
        for i in 0..PER_THREAD {
            f2.get(&[format!("k{}", (i * 7 + t) % 10)]).inc();
        }
    });
    let family = registry.snapshot().family("dropping").unwrap().clone();
    assert_eq!(
        family.series.len(),
        3,
        "no overflow series under Overflow::Drop"
    );
    let kept: u64 = family.series.iter().map(|s| s.value.as_f64() as u64).sum();
    assert_eq!(kept + f.refused(), TOTAL);
}

#[test]
fn removing_series_never_touches_live_neighbours() {
    let f = Family::<Counter>::builder(["k"])
        .cardinality_limit(64)
        .build()
        .unwrap();
    let churn = f.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let churner = thread::spawn(move || {
        let mut round = 0u64;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            for i in 0..20 {
                churn.get(&[format!("churn{i}")]).inc();
            }
            for i in 0..20 {
                assert!(churn.remove(&[format!("churn{i}")]));
            }
            round += 1;
        }
        round
    });
    let f2 = f.clone();
    run(move |t| {
        for i in 0..PER_THREAD {
            f2.get(&[format!("live{}", (i + t) % 8)]).inc();
        }
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rounds = churner.join().unwrap();
    assert!(rounds > 0);
    // Each live series holds exactly its own updates: thread t's i-th update went to
    // live{(i + t) % 8}, none was lost to a removal and none landed on a neighbour.
    for k in 0..8 {
        let expected = (0..THREADS)
            .map(|t| (0..PER_THREAD).filter(|i| (i + t) % 8 == k).count() as u64)
            .sum::<u64>();
        assert_eq!(f.get(&[format!("live{k}")]).get(), expected, "live{k}");
    }
    let live: u64 = (0..8).map(|k| f.get(&[format!("live{k}")]).get()).sum();
    assert_eq!(live, TOTAL);
    assert_eq!(f.refused(), 0);
    assert_eq!(f.len(), 8);
}
