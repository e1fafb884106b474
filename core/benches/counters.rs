//! Scalable counters against one shared `AtomicU64::fetch_add(Relaxed)` and a plain `u64`
//! increment, in one run, printing times and ratios. No timing is asserted anywhere: the
//! figures go in docs/counters.md, measured by
//!
//!     cargo bench -p prism-core --bench counters
//!
//! `PRISM_BENCH_THREADS=1,2,4,8,16` sets the thread counts of the contention sections
//! (default `1,2`). Results of the last run, one thread, on a shared 2-vCPU x86-64 VM
//! (glibc 2.36); the two-thread table, and why it was not representative on that machine, are
//! in docs/counters.md:
//!
//! | increment, one thread           | ns/op | x fetch_add |
//! |---------------------------------|-------|-------------|
//! | plain `u64 += 1`                | 0.59  | 0.27        |
//! | `AtomicU64::fetch_add(Relaxed)` | 2.20  | 1.00        |
//! | `ShardedCounter::inc`           | 1.80  | 0.82        |
//! | `PerCpuCounter::inc`            | 4.09  | 1.86        |
//! | `NumaCounter::inc`              | 3.59  | 1.63        |
//! | `StripedCounter::inc`, quiet    | 2.48  | 1.13        |
//! | `StripedCounter::inc`, 2 cells  | 2.96  | 1.34        |
//! | `LocalCounter::inc` (1024)      | 0.56  | 0.25        |
//! | `PerThreadWriter::inc`          | 0.55  | 0.25        |
//! | `ShardedCounter::get`, 64 cells | 12.9  |             |

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use prism_core::{
    Counter, NumaCounter, PerCpuCounter, PerThreadCounter, ShardedCounter, SloppyCounter,
    StripedCounter,
};

/// The local (sloppy) counter's batch in every section: the Linux `percpu_counter` default
/// batch is 32 per CPU; 1024 makes the flush cost vanish against the increments.
const BATCH: u64 = 1024;

/// Nanoseconds per call of `f`, the best of seven runs after a warm-up (the best run is the
/// one least disturbed by the rest of the machine).
fn ns_per_op(iters: u64, mut f: impl FnMut()) -> f64 {
    for _ in 0..iters / 10 {
        f();
    }
    (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Aggregate operations per second of `threads` threads, each running the closure that
/// `make(thread)` returns `iters` times; the best of three runs. `make` runs before the
/// start barrier, so per-thread setup (a local, a writer) is not timed. Each thread reads
/// the clock itself and a run lasts from the first start to the last end: a main thread
/// that reads the clock after the barrier can be descheduled on a loaded machine and miss
/// the whole run.
fn throughput<G: FnMut()>(threads: usize, iters: u64, make: impl Fn(usize) -> G + Sync) -> f64 {
    (0..3)
        .map(|_| {
            let barrier = Barrier::new(threads);
            let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let (make, barrier) = (&make, &barrier);
                        s.spawn(move || {
                            let mut op = make(t);
                            barrier.wait();
                            let start = Instant::now();
                            for _ in 0..iters {
                                op();
                            }
                            (start, Instant::now())
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let start = spans.iter().map(|s| s.0).min().unwrap();
            let end = spans.iter().map(|s| s.1).max().unwrap();
            (threads as u64 * iters) as f64 / (end - start).as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn row(name: &str, ns: f64, note: &str) {
    println!("  {name:<44} {ns:>8.2} ns  {note}");
}

/// Runs the two-thread contention that turns a striped counter into a table, for up to a
/// second; says whether it grew.
fn contend(striped: &StripedCounter) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while striped.stripes() == 0 && Instant::now() < deadline {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| (0..100_000).for_each(|_| striped.inc()));
            }
        });
    }
    striped.stripes() > 0
}

fn main() {
    let threads: Vec<usize> = std::env::var("PRISM_BENCH_THREADS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .filter(|&t| t > 0)
        .collect();
    println!(
        "prism scalable counters, {} CPUs available, per-CPU index {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if PerCpuCounter::cpu_index_available() {
            "from sched_getcpu"
        } else {
            "unavailable (thread index)"
        }
    );

    // ---- one thread -------------------------------------------------------------------
    println!("\nincrement, one thread (best of 7 runs of 20M)");
    const ITERS: u64 = 20_000_000;
    let mut plain = 0u64;
    let plain_ns = ns_per_op(ITERS, || *black_box(&mut plain) += 1);
    let atomic = AtomicU64::new(0);
    let base = ns_per_op(ITERS, || {
        black_box(&atomic).fetch_add(1, Ordering::Relaxed);
    });
    let vs = |ns: f64| format!("{:.2}x fetch_add, {:.1}x plain", ns / base, ns / plain_ns);
    row(
        "plain u64 += 1",
        plain_ns,
        &format!("{:.2}x fetch_add", plain_ns / base),
    );
    row("AtomicU64::fetch_add(Relaxed)", base, "1.00x (baseline)");

    let counter = Counter::new();
    let ns = ns_per_op(ITERS, || black_box(&counter).inc());
    row("Counter::inc", ns, &vs(ns));
    let sharded = ShardedCounter::new();
    let ns = ns_per_op(ITERS, || black_box(&sharded).inc());
    row(
        "ShardedCounter::inc",
        ns,
        &format!("{} (goal <= 1.5x)", vs(ns)),
    );
    let per_cpu = PerCpuCounter::new();
    let ns = ns_per_op(ITERS, || black_box(&per_cpu).inc());
    row(
        "PerCpuCounter::inc",
        ns,
        &format!("{} (goal <= 1.5x)", vs(ns)),
    );
    let numa = NumaCounter::new();
    let ns = ns_per_op(ITERS, || black_box(&numa).inc());
    row("NumaCounter::inc", ns, &vs(ns));
    let striped = StripedCounter::new();
    let ns = ns_per_op(ITERS, || black_box(&striped).inc());
    let note = format!("{} (goal <= 1.1x)", vs(ns));
    row("StripedCounter::inc, before contention", ns, &note);
    if contend(&striped) {
        let ns = ns_per_op(ITERS, || black_box(&striped).inc());
        let note = format!("{} (goal <= 1.5x), {} cells", vs(ns), striped.stripes());
        row("StripedCounter::inc, after contention", ns, &note);
    } else {
        println!("  StripedCounter::inc, after contention: two threads never collided in 1 s");
    }
    let sloppy = SloppyCounter::new();
    let local = sloppy.local(BATCH);
    let ns = ns_per_op(ITERS, || black_box(&local).inc());
    row(
        "LocalCounter::inc (batch 1024)",
        ns,
        &format!("{} (goal <= 0.3x)", vs(ns)),
    );
    let per_thread = PerThreadCounter::new();
    let writer = per_thread.writer();
    let ns = ns_per_op(ITERS, || black_box(&writer).inc());
    row(
        "PerThreadWriter::inc",
        ns,
        &format!("{} (goal <= 0.5x)", vs(ns)),
    );
    drop((local, writer));

    // ---- many threads -----------------------------------------------------------------
    println!("\nincrement, N threads on one counter: aggregate Mops/s");
    println!("  (xNT/1T: scaling against the same counter on one thread; x shared: against one");
    println!("  AtomicU64 hammered by the same N threads)");
    const PER_THREAD: u64 = 5_000_000;
    let shared = AtomicU64::new(0);
    let shared_ops: Vec<f64> = threads
        .iter()
        .map(|&n| {
            throughput(n, PER_THREAD, |_| {
                || {
                    black_box(&shared).fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let report = |name: &str, ops: &[f64], goal: &str| {
        let mut line = format!("  {name:<34}");
        for (i, (&n, &o)) in threads.iter().zip(ops).enumerate() {
            line.push_str(&format!(
                " {n}T {:>7.1} ({:.2}x 1T, {:.2}x shared)",
                o / 1e6,
                o / ops[0],
                o / shared_ops[i]
            ));
        }
        println!("{line}{goal}");
    };
    report("one shared AtomicU64", &shared_ops, "");
    let padded: Vec<CachePadded<AtomicU64>> = (0..threads.iter().copied().max().unwrap_or(1))
        .map(|_| CachePadded::new(AtomicU64::new(0)))
        .collect();
    let ops: Vec<f64> = threads
        .iter()
        .map(|&n| {
            throughput(n, PER_THREAD, |t| {
                let cell = &padded[t];
                move || {
                    black_box(cell).fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    report("padded atomic per thread (ideal)", &ops, "");
    let goal = "  (goal at 2T: >= 1.8x 1T, >= 2.5x shared)";

    let counter = Counter::new();
    let ops = scale(&threads, PER_THREAD, |_| || black_box(&counter).inc());
    report("Counter", &ops, "");
    let sharded = ShardedCounter::new();
    let ops = scale(&threads, PER_THREAD, |_| || black_box(&sharded).inc());
    report("ShardedCounter", &ops, goal);
    let per_cpu = PerCpuCounter::new();
    let ops = scale(&threads, PER_THREAD, |_| || black_box(&per_cpu).inc());
    report("PerCpuCounter", &ops, goal);
    let numa = NumaCounter::new();
    let ops = scale(&threads, PER_THREAD, |_| || black_box(&numa).inc());
    report("NumaCounter", &ops, "");
    let striped = StripedCounter::new();
    let ops = scale(&threads, PER_THREAD, |_| || black_box(&striped).inc());
    report("StripedCounter (from new)", &ops, goal);
    println!("  {:<34} grew to {} cells", "", striped.stripes());
    let sloppy = SloppyCounter::new();
    let ops = scale(&threads, PER_THREAD, |_| {
        let local = sloppy.local(BATCH);
        move || black_box(&local).inc()
    });
    report("LocalCounter (batch 1024)", &ops, "");
    let per_thread = PerThreadCounter::new();
    let ops = scale(&threads, PER_THREAD, |_| {
        let writer = per_thread.writer();
        move || black_box(&writer).inc()
    });
    report("PerThreadWriter", &ops, "");

    // ---- false sharing ----------------------------------------------------------------
    println!("\nfalse sharing: each thread increments its own atomic, adjacent or padded (Mops/s)");
    let adjacent: Vec<AtomicU64> = (0..padded.len()).map(|_| AtomicU64::new(0)).collect();
    for &n in threads.iter().filter(|&&n| n >= 2) {
        let apart = throughput(n, PER_THREAD, |t| {
            let cell = &padded[t];
            move || {
                black_box(cell).fetch_add(1, Ordering::Relaxed);
            }
        });
        let together = throughput(n, PER_THREAD, |t| {
            let cell = &adjacent[t];
            move || {
                black_box(cell).fetch_add(1, Ordering::Relaxed);
            }
        });
        println!(
            "  {n}T  adjacent (8 bytes apart) {:>7.1}   padded (128 bytes apart) {:>7.1}   padded is {:.2}x",
            together / 1e6,
            apart / 1e6,
            apart / together
        );
    }

    // ---- reads --------------------------------------------------------------------------
    println!("\nget, one thread, counters that were counted on by every thread above");
    let ns = ns_per_op(1_000_000, || {
        black_box(black_box(&sharded).get());
    });
    row(
        &format!("ShardedCounter::get ({} cells)", sharded.shards()),
        ns,
        "(goal < 1000 ns for 64 cells)",
    );
    let ns = ns_per_op(1_000_000, || {
        black_box(black_box(&per_cpu).get());
    });
    row(
        &format!("PerCpuCounter::get ({} cells)", per_cpu.cpus()),
        ns,
        "",
    );
    let ns = ns_per_op(1_000_000, || {
        black_box(black_box(&numa).get());
    });
    row("NumaCounter::get", ns, "");
    let wide = StripedCounter::with_max_stripes(64);
    // Grow it with rounds of four contending threads, for up to a second.
    let deadline = Instant::now() + Duration::from_secs(1);
    while wide.stripes() < 64 && Instant::now() < deadline {
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| (0..100_000).for_each(|_| wide.inc()));
            }
        });
    }
    let grown = wide.stripes();
    let ns = ns_per_op(1_000_000, || {
        black_box(black_box(&wide).get());
    });
    row(&format!("StripedCounter::get ({grown} cells)"), ns, "");
    let writers: Vec<_> = (0..64).map(|_| per_thread.writer()).collect();
    let ns = ns_per_op(1_000_000, || {
        black_box(black_box(&per_thread).get());
    });
    row(
        &format!(
            "PerThreadCounter::get ({} cells, a lock)",
            per_thread.cells()
        ),
        ns,
        "",
    );
    drop(writers);
    let ns = ns_per_op(1_000_000, || {
        black_box(black_box(&sloppy).get());
    });
    row("SloppyCounter::get (one atomic)", ns, "");
}

/// Throughput of `make`'s closures at every thread count.
fn scale<G: FnMut()>(threads: &[usize], iters: u64, make: impl Fn(usize) -> G + Sync) -> Vec<f64> {
    threads
        .iter()
        .map(|&n| throughput(n, iters, &make))
        .collect()
}
