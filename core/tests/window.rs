//! Sliding windows driven by a hand-moved clock: rotation, gaps longer than the window, a
//! clock standing still, and many threads recording across a rotation.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::Duration;

use prism_core::{ManualClock, Metric, Value, WindowedHistogram, WindowedRate};

const MINUTE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

fn window(clock: &ManualClock) -> WindowedHistogram {
    WindowedHistogram::builder()
        .slots(5)
        .slot_duration(MINUTE)
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[test]
fn each_slot_leaves_the_window_when_the_clock_comes_round() {
    let clock = ManualClock::new();
    let w = window(&clock);
    // One value per minute, minute m recording m+1 microseconds.
    for m in 0..5u64 {
        w.record((m + 1) * 1_000);
        clock.advance(MINUTE);
    }
    // Now in minute 5: minutes 1..=4 and the (empty) current one are the window.
    let read = w.snapshot();
    assert_eq!(read.count(), 4);
    assert_eq!(read.sum(), (2 + 3 + 4 + 5) * 1_000);
    assert_eq!(read.min(), 2_000);
    for expected in [3, 2, 1, 0] {
        clock.advance(MINUTE);
        assert_eq!(w.snapshot().count(), expected);
    }
    assert_eq!(w.total_count(), 5);
    assert_eq!(w.window(), 5 * MINUTE);
}

#[test]
fn a_slot_boundary_is_exact_to_the_nanosecond() {
    let clock = ManualClock::new();
    let w = window(&clock);
    clock.set(MINUTE - Duration::from_nanos(1));
    w.record(10);
    clock.set(MINUTE);
    w.record(20);
    // Slot 0 holds 10 until the clock reaches 5 minutes exactly.
    clock.set(5 * MINUTE - Duration::from_nanos(1));
    assert_eq!(w.snapshot().count(), 2);
    clock.set(5 * MINUTE);
    assert_eq!(w.snapshot().count(), 1);
    assert_eq!(w.snapshot().max(), 20);
}

#[test]
fn a_gap_longer_than_the_window_empties_it() {
    let clock = ManualClock::new();
    let w = window(&clock);
    for _ in 0..100 {
        w.record(1_000);
    }
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        w.snapshot().count(),
        0,
        "an hour later nothing is in a 5-minute window"
    );
    // The stale slot the clock lands on again is cleared before it is reused.
    clock.advance(Duration::from_secs(5 * 60 * 7)); // a multiple of the ring: same slot
    w.record(2_000);
    let read = w.snapshot();
    assert_eq!((read.count(), read.sum()), (1, 2_000));
    // The summary keeps its lifetime count and sum, and the window's quantiles.
    let Value::Summary(v) = w.read() else {
        panic!()
    };
    assert_eq!(v.count(), 101);
    assert!((v.sum() - 102_000e-9).abs() < 1e-15);
    assert_eq!(v.p50(), Some(2e-6));
}

#[test]
fn a_clock_standing_still_keeps_everything_in_one_slot() {
    let clock = ManualClock::new();
    clock.set(Duration::from_secs(1_000_000));
    let w = window(&clock);
    for v in 1..=10_000u64 {
        w.record(v);
    }
    w.tick();
    w.tick();
    let read = w.snapshot();
    assert_eq!(read.count(), 10_000);
    assert_eq!(read.sum(), 10_000 * 10_001 / 2);
    // tick() with no time passing clears nothing; tick() after a turn does.
    clock.advance(5 * MINUTE);
    w.tick();
    assert_eq!(w.snapshot().count(), 0);
}

#[test]
fn many_threads_recording_across_a_rotation_lose_no_count() {
    const THREADS: usize = 8;
    const PER_THREAD: u64 = 20_000;
    for _round in 0..5 {
        let clock = ManualClock::new();
        let w = window(&clock);
        let rate = WindowedRate::builder()
            .slots(60)
            .slot_duration(SECOND)
            .clock(clock.clone())
            .build()
            .unwrap();
        let start = Barrier::new(THREADS + 1);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (w, rate, start) = (&w, &rate, &start);
                s.spawn(move || {
                    start.wait();
                    for i in 0..PER_THREAD {
                        w.record(1_000 + (t as u64) * 10 + i % 7);
                        rate.inc();
                    }
                });
            }
            start.wait();
            // Move time while they record, each step once a quarter more is recorded: three
            // rotations of the window (3 of its 5 slots), all inside it.
            let total = THREADS as u64 * PER_THREAD;
            for k in 1..=3 {
                while w.total_count() < k * total / 4 {
                    std::thread::yield_now();
                }
                clock.advance(MINUTE);
            }
        });
        let total = THREADS as u64 * PER_THREAD;
        assert_eq!(w.snapshot().count(), total);
        assert_eq!(w.total_count(), total);
        assert_eq!(w.snapshot().sum(), w.total_sum());
        // The rate's minute-long window: only the events of the last minute remain, and no
        // more than were counted.
        clock.advance(SECOND);
        assert!(rate.count() <= total);
    }
}

#[test]
fn many_threads_counting_across_rotations_lose_no_event() {
    const THREADS: usize = 8;
    const PER_THREAD: u64 = 20_000;
    let clock = ManualClock::new();
    let rate = WindowedRate::builder()
        .slots(60)
        .slot_duration(SECOND)
        .clock(clock.clone())
        .build()
        .unwrap();
    let start = Barrier::new(THREADS + 1);
    let done = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let (rate, start, done) = (&rate, &start, &done);
            s.spawn(move || {
                start.wait();
                for _ in 0..PER_THREAD {
                    rate.inc();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        start.wait();
        // A rotation every 1/40 of the work: 39 rotations, all inside the 60-slot window.
        let total = THREADS as u64 * PER_THREAD;
        for k in 1..40 {
            while done.load(Ordering::Relaxed) < k * total / 40 {
                std::thread::yield_now();
            }
            clock.advance(SECOND);
        }
    });
    clock.advance(SECOND);
    assert_eq!(rate.count(), THREADS as u64 * PER_THREAD);
}

#[test]
fn rate_counts_exactly_the_last_window_at_slot_boundaries() {
    let clock = ManualClock::new();
    let rate = WindowedRate::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    // 7 events at each tenth of a second for 4 minutes; at chosen whole seconds, before
    // that instant's events, the count is exactly the events of the 60 seconds before.
    let checks = [1u64, 30, 59, 60, 61, 120, 180, 181, 239];
    let mut events: Vec<u64> = Vec::new();
    for tenth in 0..2400u64 {
        let ms = tenth * 100;
        clock.set(Duration::from_millis(ms));
        if ms % 1000 == 0 && checks.contains(&(ms / 1000)) {
            let expected = events.iter().filter(|&&t| t + 60_000 >= ms).count() as u64 * 7;
            assert_eq!(rate.count(), expected, "window ending at {ms} ms");
            assert_eq!(rate.rate(), expected as f64 / 60.0);
            assert_eq!(rate.read(), Value::GaugeF64(expected as f64 / 60.0));
        }
        rate.add(7);
        events.push(ms);
    }
}

#[test]
fn rate_with_a_clock_standing_still_counts_into_the_running_slot() {
    let clock = ManualClock::new();
    let rate = WindowedRate::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    for _ in 0..500 {
        rate.inc();
    }
    rate.tick();
    assert_eq!((rate.current(), rate.count()), (500, 0));
    clock.advance(SECOND);
    assert_eq!((rate.current(), rate.count()), (0, 500));
    clock.advance(Duration::from_secs(3600));
    assert_eq!(rate.count(), 0);
}

#[test]
fn empty_windows_and_slots_are_refused() {
    assert!(WindowedHistogram::builder().slots(0).build().is_err());
    assert!(WindowedHistogram::builder()
        .slot_duration(Duration::ZERO)
        .build()
        .is_err());
    assert!(WindowedRate::builder().slots(0).build().is_err());
}
