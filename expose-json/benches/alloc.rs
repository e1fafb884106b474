//! What [`CountingAllocator`] adds to an allocation: 64-byte allocate-and-free pairs through
//! `System` directly and through `CountingAllocator<System>`, on 1 thread and on 2 threads
//! at once (which contend for the counters' cache line). Prints nanoseconds per pair and the
//! ratio; asserts nothing (timings belong in a benchmark, not a test).
//!
//! Run: `cargo bench -p prism-json --bench alloc`. Results are in the crate's README.md.

#![allow(unsafe_code)] // calls GlobalAlloc methods directly, as an allocator's user does

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::time::Instant;

use prism_json::CountingAllocator;

const PAIRS: usize = 5_000_000;

fn pairs<A: GlobalAlloc + Sync>(a: &A, threads: usize) -> f64 {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..PAIRS {
                    // SAFETY:
                    // - `layout` has a non-zero size; the block is freed once, with the
                    //   layout it was allocated with, by the allocator that gave it.
                    unsafe {
                        let p = a.alloc(layout);
                        assert!(!p.is_null());
                        black_box(p);
                        a.dealloc(p, layout);
                    }
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / PAIRS as f64
}

fn main() {
    let counting = CountingAllocator::new();
    println!("| threads | System ns/pair | CountingAllocator ns/pair | ratio |");
    println!("|---|---|---|---|");
    for threads in [1, 2] {
        // Best of three, alternated, on a machine other work may share.
        let (mut system, mut counted) = (f64::MAX, f64::MAX);
        for _ in 0..3 {
            system = system.min(pairs(&System, threads));
            counted = counted.min(pairs(&counting, threads));
        }
        println!(
            "| {threads} | {system:.1} | {counted:.1} | {:.2}x |",
            counted / system
        );
    }
}
