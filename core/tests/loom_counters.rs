//! loom models of the scalable counters: the striped table's growth, the sloppy counter's
//! local flush, and the per-thread counter's single-writer cells and their hand-over.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p prism-core --test "loom*" --release
//! --target-dir target/loom` (`.ci/test` does). Each model explores every interleaving of its
//! threads; a few also record, across all explored executions, that the path they exist for
//! (growth, reuse) was actually taken, so that a model cannot pass by never reaching it.
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};

use loom::thread;
use prism_core::{PerThreadCounter, ShardedCounter, SloppyCounter, StripedCounter};

/// Two threads racing on the single atomic: whichever way they interleave, a failed swap
/// turns the counter into a table, and no add is lost to that or to reads running beside it.
#[test]
fn striped_counter_grows_from_one_atomic_without_losing_a_count() {
    static GREW: AtomicUsize = AtomicUsize::new(0);
    loom::model(|| {
        let c = StripedCounter::with_max_stripes(4);
        let handles: Vec<_> = [1, 10]
            .into_iter()
            .map(|n| {
                let c = c.clone();
                thread::spawn(move || {
                    c.add(n);
                    c.add(n);
                })
            })
            .collect();
        let first = c.get();
        let second = c.get();
        assert!(
            first <= second,
            "a reader saw the count go down: {first} then {second}"
        );
        assert!(second <= 22);
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(c.get(), 22);
        if c.stripes() > 0 {
            GREW.fetch_add(1, Ordering::Relaxed);
        }
    });
    assert!(
        GREW.load(Ordering::Relaxed) > 0,
        "no explored execution made the table"
    );
}

/// Updates that land in cells while the table doubles from 2 cells to 4: the growth
/// publishes a new segment and raises the count, the adds keep going to the cells they
/// index, and the sum is exact.
#[test]
fn striped_counter_doubles_its_table_mid_stream_without_losing_a_count() {
    static DOUBLED: AtomicUsize = AtomicUsize::new(0);
    let mut builder = loom::model::Builder::new();
    // Three threads of several atomic steps each: bound the preemptions so the model ends
    // in seconds; two are enough for every collision that makes the table double.
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let c = StripedCounter::with_max_stripes(4);
        let handles: Vec<_> = [1, 100, 10_000]
            .into_iter()
            .map(|n| {
                let c = c.clone();
                thread::spawn(move || {
                    for _ in 0..3 {
                        c.add(n);
                    }
                })
            })
            .collect();
        let seen = c.get();
        assert!(seen <= 30_303);
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(c.get(), 30_303);
        assert!(c.stripes() <= 4);
        if c.stripes() == 4 {
            DOUBLED.fetch_add(1, Ordering::Relaxed);
        }
    });
    assert!(
        DOUBLED.load(Ordering::Relaxed) > 0,
        "no explored execution doubled the table"
    );
}

/// Two threads with locals of batch 2, each adding 3: one flush at the batch, one at drop.
/// A reader racing them sees only sums of flushed batches, and the total is exact once the
/// locals are gone.
#[test]
fn sloppy_counter_locals_flush_at_their_batch_and_on_drop() {
    loom::model(|| {
        let c = SloppyCounter::new();
        let handles: Vec<_> = [1u64, 10]
            .into_iter()
            .map(|n| {
                let c = c.clone();
                thread::spawn(move || {
                    let local = c.local(2 * n);
                    for _ in 0..3 {
                        local.add(n);
                    }
                    assert_eq!(local.pending(), n, "2n flushed, n held");
                })
            })
            .collect();
        let seen = c.get();
        // Each thread has flushed nothing, its batch of 2n, or all 3n.
        let possible: Vec<u64> = [0, 2, 3]
            .iter()
            .flat_map(|a| [0, 20, 30].iter().map(move |b| a + b))
            .collect();
        assert!(possible.contains(&seen), "read {seen}");
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(c.get(), 33);
    });
}

/// A local moved to another thread and dropped there: the move orders its adds, the drop
/// flushes them, and the reader on the first thread sees them after the join.
#[test]
fn sloppy_counter_local_moved_across_threads_flushes_once() {
    loom::model(|| {
        let c = SloppyCounter::new();
        let local = c.local(100);
        local.add(5);
        let t = thread::spawn(move || {
            local.add(6);
            // dropped here, on the other thread
        });
        c.add(1);
        t.join().unwrap();
        assert_eq!(c.get(), 12);
    });
}

/// A writer's load-and-store increments race a reader and a second writer; the first writer
/// is dropped and its cell, with its count, may be taken by the second. The reader's two
/// reads never go down, and the total is exact.
#[test]
fn per_thread_counter_single_writer_cells_are_exact_across_hand_over() {
    static REUSED: AtomicUsize = AtomicUsize::new(0);
    loom::model(|| {
        let c = PerThreadCounter::new();
        let first = {
            let c = c.clone();
            thread::spawn(move || {
                let w = c.writer();
                w.inc();
                w.inc();
            })
        };
        let second = {
            let c = c.clone();
            thread::spawn(move || {
                let w = c.writer();
                let inherited = w.cell_value();
                assert!(
                    inherited == 0 || inherited == 2,
                    "took a cell at {inherited}"
                );
                w.add(10);
                inherited
            })
        };
        let a = c.get();
        let b = c.get();
        assert!(a <= b, "a reader saw the count go down: {a} then {b}");
        first.join().unwrap();
        if second.join().unwrap() == 2 {
            REUSED.fetch_add(1, Ordering::Relaxed);
        }
        assert_eq!(c.get(), 12);
        assert!(c.cells() <= 2);
    });
    assert!(
        REUSED.load(Ordering::Relaxed) > 0,
        "no explored execution handed a cell over"
    );
}

/// Two threads each own a cell of a sharded counter (or share one): the sum is exact.
#[test]
fn sharded_counter_sums_every_threads_cell() {
    loom::model(|| {
        let c = ShardedCounter::with_shards(2);
        let handles: Vec<_> = [1, 10]
            .into_iter()
            .map(|n| {
                let c = c.clone();
                thread::spawn(move || c.add(n))
            })
            .collect();
        let seen = c.get();
        assert!([0, 1, 10, 11].contains(&seen), "read {seen}");
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(c.get(), 11);
    });
}
