//! The coherent snapshot publisher under load: every publication a reader sees keeps
//! `errors <= latency_count <= requests` (updated in the order requests, latency, errors)
//! while writers update and a thread publishes; concurrent publishes are swapped in in the
//! order they were built; a panicking build leaves the publisher usable.
#![cfg(not(loom))]

use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use prism_core::{Counter, Histogram, Publisher};

#[derive(Debug, Clone, PartialEq)]
struct Status {
    requests: u64,
    errors: u64,
    latency_count: u64,
    seq: u64,
}

#[test]
fn every_publication_keeps_errors_at_most_requests_under_load() {
    let requests = Counter::new();
    let errors = Counter::new();
    let latency = Histogram::builder().shards(2).build().unwrap();
    let seq = Counter::new();

    let publisher = Publisher::new({
        let (requests, errors, latency, seq) = (
            requests.clone(),
            errors.clone(),
            latency.clone(),
            seq.clone(),
        );
        move || {
            // Updated in the order requests, latency, errors: read the other way round.
            let errors = errors.get();
            fence(Ordering::Acquire);
            let latency_count = latency.count();
            fence(Ordering::Acquire);
            let requests = requests.get();
            seq.inc();
            Status {
                requests,
                errors,
                latency_count,
                seq: seq.get(),
            }
        }
    });
    let task = publisher.spawn(Duration::from_micros(50));

    let stop = AtomicBool::new(false);
    let mut seen = 0u64;
    std::thread::scope(|s| {
        // Stops the writers however this closure ends: a failed check in a reader unwinds
        // through here, and the scope would otherwise wait for the writers forever.
        let _stop_writers = StopOnDrop(&stop);
        for w in 0..3u64 {
            let (requests, errors, latency, stop) = (&requests, &errors, &latency, &stop);
            s.spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    requests.inc();
                    fence(Ordering::Release);
                    latency.record(1_000 + i % 1000);
                    fence(Ordering::Release);
                    if (i + w).is_multiple_of(3) {
                        errors.inc();
                    }
                    i += 1;
                }
            });
        }
        // Readers check every publication they see, and publish too.
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let publisher = &publisher;
                s.spawn(move || {
                    let mut last_seq = 0;
                    let mut checked = 0u64;
                    for i in 0..20_000u64 {
                        let status = if (i + r) % 50 == 0 {
                            publisher.publish()
                        } else {
                            publisher.load()
                        };
                        assert!(status.errors <= status.latency_count, "{status:?}");
                        assert!(status.latency_count <= status.requests, "{status:?}");
                        assert!(status.seq >= last_seq, "publications went backwards");
                        last_seq = status.seq;
                        checked += 1;
                    }
                    checked
                })
            })
            .collect();
        for r in readers {
            seen += r.join().unwrap();
        }
    });
    task.stop();
    assert_eq!(seen, 40_000);
    assert!(publisher.publications() > 1);
    let last = publisher.publish();
    assert_eq!(last.requests, requests.get());
    assert_eq!(last.errors, errors.get());
    assert_eq!(last.latency_count, requests.get());
}

/// Sets the flag when dropped, also while unwinding.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Two threads publish at once, the first one's build slow: the publication left in place
/// is the one built last. (Before publishes took turns, the slow first build was swapped in
/// after the second and readers saw the publications go back in time.)
#[test]
fn concurrent_publishes_are_swapped_in_in_build_order() {
    let builds = Arc::new(AtomicU64::new(0));
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let started_tx = Mutex::new(started_tx);
    let publisher = Publisher::new({
        let builds = builds.clone();
        move || {
            let n = builds.fetch_add(1, Ordering::SeqCst);
            if n == 1 {
                // The first published build (0 is the one `new` makes): hold it until told.
                started_tx.lock().unwrap().send(()).unwrap();
                release_rx.lock().unwrap().recv().unwrap();
            }
            n
        }
    });
    std::thread::scope(|s| {
        let slow = s.spawn(|| *publisher.publish());
        started.recv().unwrap();
        let fast = s.spawn(|| *publisher.publish());
        // Give the second publish time to finish first if nothing makes it wait; with turns
        // taken it waits for the slow one, and the sleep changes nothing.
        std::thread::sleep(Duration::from_millis(50));
        release.send(()).unwrap();
        assert_eq!(slow.join().unwrap(), 1);
        assert_eq!(fast.join().unwrap(), 2);
    });
    assert_eq!(*publisher.load(), 2, "the newest build stays published");
    assert_eq!(publisher.publications(), 3);
}

/// A build that panics swaps nothing in, and the next publish works.
#[test]
fn a_panicking_build_leaves_the_publisher_usable() {
    let fail = Arc::new(AtomicBool::new(false));
    let n = Arc::new(AtomicU64::new(0));
    let publisher = Publisher::new({
        let (fail, n) = (fail.clone(), n.clone());
        move || {
            assert!(!fail.load(Ordering::SeqCst), "build failed on purpose");
            n.fetch_add(1, Ordering::SeqCst)
        }
    });
    fail.store(true, Ordering::SeqCst);
    let p = publisher.clone();
    let panicked = std::thread::spawn(move || p.publish()).join();
    assert!(panicked.is_err());
    assert_eq!(*publisher.load(), 0, "the failed build swapped nothing in");
    fail.store(false, Ordering::SeqCst);
    assert_eq!(*publisher.publish(), 1);
    assert_eq!(publisher.publications(), 2);
}

#[test]
fn dropping_the_task_stops_publishing() {
    let n = Counter::new();
    let publisher = Publisher::new({
        let n = n.clone();
        move || n.get()
    });
    let task = publisher.spawn(Duration::from_millis(1));
    drop(task);
    let after_stop = publisher.publications();
    n.inc();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(
        publisher.publications(),
        after_stop,
        "no publication after the drop"
    );
    assert_eq!(*publisher.load(), 0);
}
