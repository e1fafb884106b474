//! Histogram benchmarks: prism's sharded [`Histogram`] against a plain
//! `hdrhistogram::Histogram`, in one run, printing times and ratios. No timing is asserted
//! anywhere; run with
//!
//!     cargo bench -p prism-core --bench histogram
//!
//! The goals: `record` on one thread at most 1.5x the plain `record`; two threads at least
//! 1.7x the throughput of one; the p99 of a 16-shard histogram at most 20x one plain merge
//! of two histograms. The current figures are in docs/histograms.md, with the machine they
//! ran on.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::Instant;

use prism_core::Histogram;

mod support;
use support::ns_per_op;

const RING: usize = 4096;

/// Latencies spread log-uniformly over 10 us .. 10 ms, in ns, from a fixed seed.
fn latencies() -> Vec<u64> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..RING)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = (x >> 11) as f64 / (1u64 << 53) as f64;
            (10_000.0 * 1000f64.powf(f)) as u64
        })
        .collect()
}

/// Records per second of `threads` threads each recording `iters` values, best of three.
fn throughput(threads: usize, iters: u64, h: &Histogram, values: &[u64]) -> f64 {
    (0..3)
        .map(|_| {
            let barrier = Barrier::new(threads + 1);
            let start = std::thread::scope(|s| {
                for t in 0..threads {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        for i in 0..iters {
                            h.record(values[(i as usize + t * 977) % RING]);
                        }
                    });
                }
                barrier.wait();
                Instant::now()
            });
            (threads as u64 * iters) as f64 / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn main() {
    let values = latencies();
    let iters = 20_000_000;
    println!(
        "cpus: {}",
        std::thread::available_parallelism().map_or(1, usize::from)
    );

    // 1. One thread: prism's record vs the plain record.
    let mut plain = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let plain_ns = ns_per_op(iters, |i| {
        let _ = plain.record(black_box(values[i as usize % RING]));
    });
    let prism = Histogram::new();
    let prism_ns = ns_per_op(iters, |i| {
        prism.record(black_box(values[i as usize % RING]))
    });
    println!("record, one thread:    hdrhistogram {plain_ns:6.2} ns   prism {prism_ns:6.2} ns   ratio {:.2}x (goal <= 1.5x)", prism_ns / plain_ns);
    black_box(&plain);

    // 2. Two threads into one histogram vs one.
    let shared = Histogram::new();
    let one = throughput(1, iters / 2, &shared, &values);
    let two = throughput(2, iters / 2, &shared, &values);
    println!(
        "throughput:            1 thread {:6.1} M/s   2 threads {:6.1} M/s   scaling {:.2}x (goal >= 1.7x)",
        one / 1e6,
        two / 1e6,
        two / one
    );

    // 3. p99 of a 16-shard histogram, every shard written, vs one plain merge.
    let h16 = Histogram::builder().shards(16).build().unwrap();
    let barrier = Barrier::new(16);
    std::thread::scope(|s| {
        for t in 0..16 {
            let (h16, values, barrier) = (&h16, &values, &barrier);
            s.spawn(move || {
                barrier.wait(); // all alive at once: 16 distinct slots, 16 shards
                for i in 0..100_000 {
                    h16.record(values[(i + t * 977) % RING]);
                }
            });
        }
    });
    let mut a = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let mut b = a.clone();
    for (i, &v) in values.iter().cycle().take(1_600_000).enumerate() {
        if i % 2 == 0 {
            a.record(v).unwrap()
        } else {
            b.record(v).unwrap()
        }
    }
    let merge_ns = ns_per_op(2_000, |_| a.add(black_box(&b)).unwrap());
    let p99_ns = ns_per_op(200, |_| {
        black_box(h16.quantile(0.99));
    });
    println!(
        "read:                  plain merge of two {:7.1} us   p99 of 16 shards {:7.1} us   ratio {:.1}x (goal <= 20x)",
        merge_ns / 1e3,
        p99_ns / 1e3,
        p99_ns / merge_ns
    );
    println!(
        "memory:                16-shard histogram after the read test {} KiB (bound {} KiB); plain hdrhistogram {} KiB",
        h16.allocated_bytes() / 1024,
        h16.config().max_bytes() / 1024,
        a.distinct_values() * 8 / 1024
    );
}
