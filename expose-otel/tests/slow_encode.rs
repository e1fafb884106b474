//! A registry that takes longer to encode than an export may wait: the encodes an export
//! gives up on must neither pile up (one at a time, however many exports time out) nor read
//! between a later export's encode and its commit (which would make delta temporality lose
//! the changes in between).
//!
//! Found by the bounded-memory work (tests/down_endpoint.rs): before the exporter waited for
//! an abandoned encode, a 2 ms interval over a 40 ms encode grew the blocking pool to 516
//! threads, and exports with sub-millisecond timeouts lost 265 of 72,962 delta increments.
//! Counts are asserted, never durations: how many exports time out depends on the machine,
//! what they may cost and lose does not. (Delta delivery is at least once, so the delta test
//! asserts nothing lost, not nothing repeated; see the assertion's comment.)

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prism_core::{Counter, Family, GaugeFn, Registry};
use prism_otel::{Exporter, RetryPolicy, Temporality};
use support::{metrics, Number};

/// Threads of this process, from `/proc` (Linux; elsewhere the check is left out).
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encodes_that_outlast_the_interval_run_one_at_a_time() {
    let registry = Registry::builder().self_telemetry(false).build();
    // A gauge that takes 20 ms to read: every export (2 ms interval, so a 2 ms limit) gives
    // up on its encode. `inside` counts reads running at once.
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicUsize::new(0));
    registry
        .register("slow", "A gauge slow to read.", {
            let (inside, most, reads) = (inside.clone(), most.clone(), reads.clone());
            GaugeFn::new(move || {
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                inside.fetch_sub(1, Ordering::SeqCst);
                reads.fetch_add(1, Ordering::SeqCst) as i64
            })
        })
        .unwrap();
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let before = threads();
    let exporter = Exporter::new(registry.clone())
        .endpoint(format!("http://{refused}/v1/metrics"))
        .interval(Duration::from_millis(2))
        .timeout(Duration::from_millis(100))
        .retry(RetryPolicy::none())
        .start()
        .unwrap();
    // Long enough for hundreds of ticks, and for the pile-up the old code made.
    let mut peak = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        peak = peak.max(threads().unwrap_or(0));
    }
    drop(exporter);
    let failures = reads.load(Ordering::SeqCst);
    assert!(failures >= 2, "the slow gauge was read {failures} times");
    assert_eq!(most.load(Ordering::SeqCst), 1, "reads overlapped");
    if let Some(before) = before {
        // The runtime's two workers, the exporter's, and a blocking thread or two: nothing
        // like one per tick. (The old code reached tokio's 512-thread blocking limit.)
        assert!(
            peak <= before + 16,
            "threads grew from {before} to {peak} while encodes timed out"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_exports_lose_nothing_when_encodes_time_out() {
    let (addr, receiver) = support::http_receiver().await;
    let registry = Registry::builder().self_telemetry(false).build();
    // Enough series that an encode takes longer than the short flushes below allow.
    let family = registry
        .register(
            "f",
            "Padding.",
            Family::<Counter>::builder(["id"])
                .cardinality_limit(10_000)
                .build()
                .unwrap(),
        )
        .unwrap();
    for i in 0..3_000 {
        family.get(&[format!("{i}")]).inc();
    }
    let jobs = registry
        .register("jobs", "Counted all along.", Counter::new())
        .unwrap();
    let exporter = Exporter::new(registry.clone())
        .endpoint(format!("http://{addr}/v1/metrics"))
        .temporality(Temporality::Delta)
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (jobs, stop) = (jobs.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                jobs.inc();
                std::thread::sleep(Duration::from_micros(50));
            }
        })
    };
    for _ in 0..150 {
        // Exports that give up on their encode, then one that has time.
        for _ in 0..3 {
            let _ = exporter.force_flush_async(Duration::from_micros(300)).await;
        }
        let _ = exporter.force_flush_async(Duration::from_secs(30)).await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let last = exporter
        .force_flush_async(Duration::from_secs(30))
        .await
        .unwrap();
    assert!(last.delivered(), "{last:?}");
    let delivered: i64 = receiver
        .received()
        .iter()
        .filter_map(|r| metrics(&r.request).get("jobs").cloned())
        .map(|sent| match sent.points[0].value {
            Number::Int(v) => v,
            ref other => panic!("jobs sent as {other:?}"),
        })
        .sum();
    // At least every increment: none lost to an abandoned read. Possibly more: a short
    // flush whose encode did fit may have sent its request and given up before the answer;
    // its delta, delivered but not committed, is sent again by the next export (at least
    // once, as the README says). The old code lost increments here (fewer than counted).
    let counted = jobs.get();
    assert!(
        delivered as u64 >= counted,
        "the deltas delivered ({delivered}) miss increments ({counted} counted)"
    );
    if delivered as u64 > counted {
        println!(
            "{} increments delivered twice by exports that timed out after sending",
            delivered as u64 - counted
        );
    }
}
