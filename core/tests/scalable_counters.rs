//! Exact totals from every scalable counter under many threads, through the registry and
//! through families, including threads that exit holding sloppy locals and a striped counter
//! that grows while it counts.

use std::cell::RefCell;
use std::sync::{Arc, Barrier};
use std::thread;

use prism_core::{
    Family, Kind, LocalCounter, Metric, NumaCounter, PerCpuCounter, PerThreadCounter, Registry,
    ShardedCounter, SloppyCounter, StripedCounter, Value,
};

/// Even: one test splits the threads over two series, another fails every other thread.
const THREADS: usize = if cfg!(miri) { 4 } else { 8 };
/// Small under Miri, which runs each step some thousand times slower.
const PER_THREAD: u64 = if cfg!(miri) { 100 } else { 100_000 };
const TOTAL: u64 = THREADS as u64 * PER_THREAD;

/// Runs `f(thread)` on `THREADS` threads released together, so that they contend.
fn hammer(f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (f, start) = (f.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                f(t)
            })
        })
        .collect();
    for h in handles {
        h.join().expect("worker panicked");
    }
}

fn value(registry: &Registry, name: &str) -> Value {
    registry.snapshot().family(name).unwrap().series[0]
        .value
        .clone()
}

#[test]
fn every_kind_is_a_counter_to_the_registry_and_exact_under_threads() {
    let registry = Registry::new();
    let sharded = registry
        .register("sharded", "h", ShardedCounter::new())
        .unwrap();
    let per_cpu = registry
        .register("per_cpu", "h", PerCpuCounter::new())
        .unwrap();
    let striped = registry
        .register("striped", "h", StripedCounter::new())
        .unwrap();
    let numa = registry.register("numa", "h", NumaCounter::new()).unwrap();
    let sloppy = registry
        .register("sloppy", "h", SloppyCounter::new())
        .unwrap();
    let per_thread = registry
        .register("per_thread", "h", PerThreadCounter::new())
        .unwrap();
    {
        let (sharded, per_cpu, striped, numa, sloppy, per_thread) = (
            sharded.clone(),
            per_cpu.clone(),
            striped.clone(),
            numa.clone(),
            sloppy.clone(),
            per_thread.clone(),
        );
        hammer(move |t| {
            let local = sloppy.local(1000 + t as u64);
            let writer = per_thread.writer();
            for i in 0..PER_THREAD {
                sharded.inc();
                per_cpu.inc();
                striped.inc();
                numa.inc();
                local.inc();
                writer.add(1 + i % 2);
            }
        });
    }
    for name in ["sharded", "per_cpu", "striped", "numa", "sloppy"] {
        assert_eq!(value(&registry, name), Value::Counter(TOTAL), "{name}");
    }
    assert_eq!(
        value(&registry, "per_thread"),
        Value::Counter(TOTAL / 2 * 3)
    );
    let kinds = [
        ShardedCounter::KIND,
        PerCpuCounter::KIND,
        StripedCounter::KIND,
        NumaCounter::KIND,
        SloppyCounter::KIND,
        PerThreadCounter::KIND,
    ];
    assert!(kinds.iter().all(|&k| k == Kind::Counter));
    assert!(striped.stripes() <= striped.max_stripes());
    assert!(per_thread.cells() <= THREADS);
}

#[test]
fn families_of_every_kind_count_exactly_per_series() {
    fn check<M: Metric + Default>(update: impl Fn(&M, u64) + Send + Sync + 'static) {
        let family = Arc::new(Family::<M>::new(["shard"]));
        let f = family.clone();
        hammer(move |t| {
            let series = f.get(&[["a", "b"][t % 2]]);
            for _ in 0..PER_THREAD {
                update(&series, 1);
            }
        });
        for label in ["a", "b"] {
            assert_eq!(
                family.get(&[label]).read(),
                Value::Counter(TOTAL / 2),
                "{} series {label}",
                std::any::type_name::<M>()
            );
        }
    }
    check::<ShardedCounter>(ShardedCounter::add);
    check::<PerCpuCounter>(PerCpuCounter::add);
    check::<StripedCounter>(StripedCounter::add);
    check::<NumaCounter>(NumaCounter::add);
    check::<SloppyCounter>(SloppyCounter::add);
    check::<PerThreadCounter>(PerThreadCounter::add);
}

thread_local! {
    static LOCAL: RefCell<Option<LocalCounter>> = const { RefCell::new(None) };
}

#[test]
fn threads_that_exit_holding_sloppy_locals_flush_them() {
    let sent = SloppyCounter::new();
    let s = sent.clone();
    hammer(move |t| {
        LOCAL.with(|l| *l.borrow_mut() = Some(s.local(4096)));
        // Less than a batch on most threads: only the thread-exit flush delivers it.
        let n = 1000 + t as u64;
        for _ in 0..n {
            LOCAL.with(|l| l.borrow().as_ref().unwrap().inc());
        }
        // The thread returns with the local still in its thread-local.
    });
    let expected: u64 = (0..THREADS as u64).map(|t| 1000 + t).sum();
    assert_eq!(sent.get(), expected);
}

#[test]
fn threads_that_panic_holding_locals_and_writers_lose_nothing() {
    let sent = SloppyCounter::new();
    let parsed = PerThreadCounter::new();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (sent, parsed) = (sent.clone(), parsed.clone());
            thread::spawn(move || {
                let local = sent.local(1 << 20);
                let writer = parsed.writer();
                for _ in 0..PER_THREAD {
                    local.inc();
                    writer.inc();
                }
                if t % 2 == 0 {
                    panic!("thread {t} fails holding {} unflushed", local.pending());
                }
            })
        })
        .collect();
    let failed = handles
        .into_iter()
        .map(|h| h.join())
        .filter(Result::is_err)
        .count();
    assert_eq!(failed, THREADS / 2);
    assert_eq!(sent.get(), TOTAL);
    assert_eq!(parsed.get(), TOTAL);
}

#[test]
fn a_striped_counter_growing_mid_stream_keeps_every_count() {
    for round in 0..if cfg!(miri) { 2 } else { 20 } {
        let c = StripedCounter::with_max_stripes(64);
        let reader = c.clone();
        let c2 = c.clone();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done2 = done.clone();
        // A reader checks the count never goes down while the table grows.
        let watcher = thread::spawn(move || {
            let mut last = 0;
            while !done2.load(std::sync::atomic::Ordering::Relaxed) {
                let now = reader.get();
                assert!(now >= last, "round {round}: read {now} after {last}");
                last = now;
            }
        });
        hammer(move |t| {
            for i in 0..PER_THREAD / 4 {
                c2.add(1 + (i + t as u64) % 3);
            }
        });
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        watcher.join().unwrap();
        let per_thread: u64 = (0..THREADS as u64)
            .map(|t| (0..PER_THREAD / 4).map(|i| 1 + (i + t) % 3).sum::<u64>())
            .sum();
        assert_eq!(c.get(), per_thread, "round {round}");
    }
}

#[test]
fn many_short_lived_threads_share_bounded_cells() {
    let sharded = ShardedCounter::with_shards(4);
    let parsed = PerThreadCounter::new();
    for _ in 0..if cfg!(miri) { 3 } else { 50 } {
        let (s, p) = (sharded.clone(), parsed.clone());
        hammer(move |_| {
            let w = p.writer();
            for _ in 0..100 {
                s.inc();
                w.inc();
            }
        });
    }
    let rounds = if cfg!(miri) { 3 } else { 50 };
    assert_eq!(sharded.get(), rounds * THREADS as u64 * 100);
    assert_eq!(parsed.get(), rounds * THREADS as u64 * 100);
    assert!(parsed.cells() <= THREADS);
}
