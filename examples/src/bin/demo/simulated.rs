//! The metric kinds with no HTTP meaning, updated by one background thread so that they
//! move too: a temperature (a float gauge that is set), a sloppy counter through a
//! thread-owned local, and a per-thread single-writer counter. Their help text says they
//! are simulated.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::api::random;
use crate::metrics::Metrics;

/// Starts the simulation thread; it stops when `stop` is set.
pub fn spawn(m: Metrics, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    thread::spawn(move || {
        let local = m.sloppy.local(64);
        let writer = m.per_thread.writer();
        while !stop.load(Ordering::Relaxed) {
            let r = random();
            m.temperature.set(20.0 + (r % 1000) as f64 / 100.0);
            for _ in 0..(r % 8) {
                local.inc();
                writer.inc();
            }
            thread::sleep(Duration::from_millis(50));
        }
    })
}
