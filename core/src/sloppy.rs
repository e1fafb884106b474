//! A shared counter fed by thread-owned batches: [`SloppyCounter`] and its [`LocalCounter`].

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use crossbeam_utils::CachePadded;

use crate::metric::{Kind, Metric, Value};
use crate::primitive::{AtomicU64, Ordering};

/// A `u64` counter whose hot path is a thread-owned [`LocalCounter`]: a plain add to a
/// local number, and one `fetch_add` on the shared count every `batch` increments (the
/// "sloppy counter" of Boyd-Wickizer et al., *An Analysis of Linux Scalability to Many
/// Cores*, 2010, and of the Linux kernel's `percpu_counter`).
///
/// # Exactness
///
/// [`get`](SloppyCounter::get) reads the shared count only. It lags the true total by what
/// the live locals hold: at most `batch - 1` each, since a local flushes as soon as it
/// reaches its batch. A local also flushes when it is dropped, on a normal return, during a
/// panic's unwinding, and at thread exit when it lives in a `thread_local!`, so the count
/// is exact once every local is flushed or dropped. A process that aborts, or a local that
/// is leaked with `mem::forget`, loses what that local held.
///
/// ```
/// let sent = prism_core::SloppyCounter::new();
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             let local = sent.local(1024);
///             for _ in 0..10_000 {
///                 local.inc(); // a plain add; a fetch_add every 1024
///             }
///             assert!(local.pending() < 1024);
///         }); // the local is dropped here and adds what it held
///     }
/// });
/// assert_eq!(sent.get(), 40_000);
/// ```
///
/// Kept in a thread-local, a local serves every call on its thread and flushes when the
/// thread exits:
///
/// ```
/// use prism_core::{LocalCounter, SloppyCounter};
/// use std::sync::LazyLock;
///
/// static SENT: LazyLock<SloppyCounter> = LazyLock::new(SloppyCounter::new);
/// thread_local! {
///     static LOCAL_SENT: LocalCounter = SENT.local(256);
/// }
///
/// std::thread::spawn(|| {
///     for _ in 0..1000 {
///         LOCAL_SENT.with(|c| c.inc());
///     }
/// })
/// .join()
/// .unwrap();
/// assert_eq!(SENT.get(), 1000);
/// ```
///
/// # Size and alignment
///
/// The shared count is a `crossbeam_utils::CachePadded<AtomicU64>` (128 bytes on x86-64),
/// so that the line the locals flush into is not also written by its neighbours. A local is
/// 24 bytes, kept by its thread.
#[derive(Clone, Default)]
pub struct SloppyCounter {
    total: Arc<CachePadded<AtomicU64>>,
}

impl SloppyCounter {
    /// A counter at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// A thread-owned accumulator that adds to this counter every `batch` increments and
    /// when dropped. A `batch` of 0 or 1 adds every increment at once.
    pub fn local(&self, batch: u64) -> LocalCounter {
        LocalCounter {
            total: Arc::clone(&self.total),
            pending: Cell::new(0),
            batch: batch.max(1),
        }
    }

    /// Adds one straight to the shared count (a `fetch_add`), for updates off the hot path.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` straight to the shared count.
    #[inline]
    pub fn add(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    /// The shared count: everything added directly or flushed by a local. Lags the true
    /// total by at most `batch - 1` per live local.
    #[inline]
    pub fn get(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

impl Metric for SloppyCounter {
    const KIND: Kind = Kind::Counter;
    fn read(&self) -> Value {
        Value::Counter(self.get())
    }
}

impl fmt::Debug for SloppyCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SloppyCounter").field(&self.get()).finish()
    }
}

/// A batch of increments owned by one thread, made by [`SloppyCounter::local`]. It can be
/// moved to another thread (`Send`) but not shared between threads (`!Sync`), so that its
/// pending count needs no atomic.
///
/// Dropping it adds what it holds to the shared count, during unwinding too.
pub struct LocalCounter {
    total: Arc<CachePadded<AtomicU64>>,
    pending: Cell<u64>,
    batch: u64,
}

impl LocalCounter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` locally; adds the batch to the shared count once it reaches `batch`.
    #[inline]
    pub fn add(&self, n: u64) {
        // Wrapping, like the shared atomic: the sum stays exact modulo 2^64, and a wrap
        // (`pending < n`) flushes at once.
        let pending = self.pending.get().wrapping_add(n);
        if pending >= self.batch || pending < n {
            self.pending.set(0);
            self.total.fetch_add(pending, Ordering::Relaxed);
        } else {
            self.pending.set(pending);
        }
    }

    /// Adds what this local holds to the shared count now.
    pub fn flush(&self) {
        let pending = self.pending.replace(0);
        if pending != 0 {
            self.total.fetch_add(pending, Ordering::Relaxed);
        }
    }

    /// What this local holds and the shared count does not show yet; always below
    /// [`batch`](LocalCounter::batch).
    #[inline]
    pub fn pending(&self) -> u64 {
        self.pending.get()
    }

    /// The batch size: how many increments this local holds before it flushes.
    pub fn batch(&self) -> u64 {
        self.batch
    }
}

impl Drop for LocalCounter {
    fn drop(&mut self) {
        self.flush();
    }
}

impl fmt::Debug for LocalCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCounter")
            .field("pending", &self.pending())
            .field("batch", &self.batch)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_local_flushes_at_its_batch_and_on_drop() {
        let c = SloppyCounter::new();
        let local = c.local(4);
        for expected_pending in [1, 2, 3] {
            local.inc();
            assert_eq!((local.pending(), c.get()), (expected_pending, 0));
        }
        local.inc();
        assert_eq!((local.pending(), c.get()), (0, 4));
        local.add(2);
        c.inc();
        assert_eq!(c.get(), 5, "direct adds show at once, the local's 2 do not");
        drop(local);
        assert_eq!(c.get(), 7);
        assert_eq!(c.read(), Value::Counter(7));
    }

    #[test]
    fn a_large_add_flushes_at_once_and_flush_empties() {
        let c = SloppyCounter::new();
        let local = c.local(10);
        local.add(3);
        local.add(100);
        assert_eq!((local.pending(), c.get()), (0, 103));
        local.add(9);
        local.flush();
        assert_eq!((local.pending(), c.get()), (0, 112));
        local.flush();
        assert_eq!(c.get(), 112);
        assert_eq!(
            format!("{local:?}"),
            "LocalCounter { pending: 0, batch: 10 }"
        );
        assert_eq!(format!("{c:?}"), "SloppyCounter(112)");
    }

    #[test]
    fn a_wrapping_add_is_flushed_and_stays_exact_modulo_2_64() {
        let c = SloppyCounter::new();
        let local = c.local(u64::MAX);
        local.add(5);
        local.add(u64::MAX); // 5 + MAX wraps to 4
        assert_eq!((local.pending(), c.get()), (0, 4));
    }

    #[test]
    fn batch_zero_or_one_adds_every_increment() {
        let c = SloppyCounter::new();
        for batch in [0, 1] {
            let local = c.local(batch);
            assert_eq!(local.batch(), 1);
            local.inc();
            assert_eq!(local.pending(), 0);
        }
        assert_eq!(c.get(), 2);
    }

    #[test]
    fn a_panicking_thread_flushes_its_local_while_unwinding() {
        let c = SloppyCounter::new();
        let worker = {
            let c = c.clone();
            std::thread::spawn(move || {
                let local = c.local(1000);
                local.add(7);
                panic!("worker fails holding 7 unflushed");
            })
        };
        assert!(worker.join().is_err());
        assert_eq!(c.get(), 7);
    }

    #[test]
    fn the_lag_is_bounded_by_batch_minus_one_per_live_local() {
        let c = SloppyCounter::new();
        let locals: Vec<_> = (0..3).map(|_| c.local(8)).collect();
        let mut added = 0;
        for round in 0..100u64 {
            for local in &locals {
                local.add(round % 5);
                added += round % 5;
                let lag = added - c.get();
                assert!(lag <= 3 * 7, "lag {lag} above 3 locals of batch 8");
            }
        }
        drop(locals);
        assert_eq!(c.get(), added);
    }
}
