//! Timing shared by prism-core's benchmarks (a module, not a bench target: cargo only makes
//! targets of `benches/*.rs` and `benches/*/main.rs`).

use std::time::Instant;

/// Nanoseconds per call of `f`, the best of five runs after a warm-up (the best run is the
/// one least disturbed by the rest of the machine).
pub fn ns_per_op(iters: u64, mut f: impl FnMut(u64)) -> f64 {
    for i in 0..iters / 10 {
        f(i);
    }
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for i in 0..iters {
                f(i);
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}
