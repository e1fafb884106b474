//! The coherent snapshot publisher under load: every publication a reader sees keeps
//! `errors <= requests` and `ok + errors == requests` while writers update and a thread
//! publishes.
#![cfg(not(loom))]

use std::sync::atomic::{fence, AtomicBool, Ordering};
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
        stop.store(true, Ordering::Relaxed);
    });
    task.stop();
    assert_eq!(seen, 40_000);
    assert!(publisher.publications() > 1);
    let last = publisher.publish();
    assert_eq!(last.requests, requests.get());
    assert_eq!(last.errors, errors.get());
    assert_eq!(last.latency_count, requests.get());
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
