//! loom models of the histogram's shared shards and of window rotation (`ring.rs`): every
//! interleaving of recorders, a clock moving and a reader.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p prism-core --test loom_histogram --release`
//! (`.ci/test` runs every `tests/loom*.rs`). Under loom every thread records through the
//! shared, read-modify-write path: loom's model threads share one OS thread, so none could
//! own a shard alone.
#![cfg(loom)]

use std::time::Duration;

use loom::thread;
use prism_core::{Histogram, ManualClock, WindowedHistogram, WindowedRate};

/// A layout of 5 bins, so that loom tracks few atomics.
fn tiny() -> prism_core::HistogramConfig {
    Histogram::builder()
        .lowest(1)
        .highest(8)
        .significant_digits(0)
        .unit_scale(1.0)
        .buckets([2.0])
        .shards(1)
        .config()
        .unwrap()
}

#[test]
fn concurrent_records_into_one_histogram_all_count() {
    loom::model(|| {
        let h = tiny().build();
        let recorders: Vec<_> = [1u64, 3]
            .into_iter()
            .map(|v| {
                let h = h.clone();
                thread::spawn(move || h.record(v))
            })
            .collect();
        // A read racing the records sees some of them, never more than were made.
        let during = h.snapshot();
        assert!(during.count() <= 2);
        if during.count() > 0 {
            // Whatever the read saw of the extremes, it reports values within [1, 3].
            assert!(1 <= during.min() && during.min() <= during.max() && during.max() <= 3);
        }
        for r in recorders {
            r.join().unwrap();
        }
        let after = h.snapshot();
        assert_eq!((after.count(), after.sum()), (2, 4));
        assert_eq!((after.min(), after.max()), (1, 3));
    });
}

#[test]
fn window_rotation_loses_no_count_of_the_window() {
    // Three preemptions at most (tokio's loom runs use two): the unbounded model of two
    // recorders, a clock and a rotation took five minutes once the extremes were added.
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(3);
    model.check(|| {
        let clock = ManualClock::new();
        let w = WindowedHistogram::builder()
            .histogram(tiny())
            .slots(2)
            .slot_duration(Duration::from_secs(1))
            .clock(clock.clone())
            .build()
            .unwrap();
        let recorders: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|v| {
                let w = w.clone();
                thread::spawn(move || w.record(v))
            })
            .collect();
        // Time moves one slot while they record: slot 1 is rotated (cleared and retagged)
        // by whichever thread gets there first, racing the records.
        clock.advance(Duration::from_secs(1));
        w.tick();
        for r in recorders {
            r.join().unwrap();
        }
        // Both records are in epoch 0 or 1, both inside the 2-slot window.
        let read = w.snapshot();
        assert_eq!((read.count(), read.sum()), (2, 3));
        assert_eq!((read.min(), read.max()), (1, 2));
    });
}

#[test]
fn rate_rotation_loses_no_event() {
    loom::model(|| {
        let clock = ManualClock::new();
        let rate = WindowedRate::builder()
            .slots(2)
            .slot_duration(Duration::from_secs(1))
            .clock(clock.clone())
            .build()
            .unwrap();
        let counters: Vec<_> = (0..2)
            .map(|_| {
                let rate = rate.clone();
                thread::spawn(move || rate.inc())
            })
            .collect();
        clock.advance(Duration::from_secs(1));
        for c in counters {
            c.join().unwrap();
        }
        clock.advance(Duration::from_secs(1));
        assert_eq!(rate.count(), 2);
    });
}
