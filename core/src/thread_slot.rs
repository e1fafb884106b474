//! Process-wide thread slots: a small number that no two live threads share, which lets a
//! histogram give each of its first shards to one thread alone.
//!
//! A thread takes the lowest free slot the first time it records into any histogram and
//! gives it back when it exits. Because two live threads never hold the same slot, the
//! shard of slot `k` has one writer, which records with plain loads and stores (no
//! read-modify-write, no lock prefix). The slot pool's mutex orders an exiting thread's
//! last store before the next owner's first load.

#[cfg(not(loom))]
mod pool {
    use std::sync::Mutex;

    struct Pool {
        next: usize,
        free: Vec<usize>,
    }

    static POOL: Mutex<Pool> = Mutex::new(Pool {
        next: 0,
        free: Vec::new(),
    });

    fn pool() -> std::sync::MutexGuard<'static, Pool> {
        // The pool is consistent after every statement: recover it from poisoning.
        POOL.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot held by the current thread until it exits.
    struct Slot(usize);

    impl Slot {
        fn take() -> Self {
            let mut pool = pool();
            // Lowest first, so that the few recording threads of a process get the first
            // (exclusive) shards even after other threads came and went.
            match pool
                .free
                .iter()
                .enumerate()
                .min_by_key(|(_, &s)| s)
                .map(|(i, _)| i)
            {
                Some(i) => Slot(pool.free.swap_remove(i)),
                None => {
                    pool.next += 1;
                    Slot(pool.next - 1)
                }
            }
        }
    }

    impl Drop for Slot {
        fn drop(&mut self) {
            pool().free.push(self.0);
        }
    }

    thread_local! {
        static SLOT: Slot = Slot::take();
    }

    pub(super) fn current() -> usize {
        SLOT.try_with(|s| s.0).unwrap_or(usize::MAX)
    }
}

/// The calling thread's slot; `usize::MAX` while the thread is being torn down (its
/// thread-locals already destroyed), and always under loom, whose model threads share one
/// OS thread and so could not own a shard alone.
#[inline]
pub(crate) fn current() -> usize {
    #[cfg(loom)]
    {
        usize::MAX
    }
    #[cfg(not(loom))]
    {
        pool::current()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn live_threads_hold_distinct_slots_and_exited_ones_give_them_back() {
        let barrier = std::sync::Barrier::new(8);
        let slots: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        let slot = current();
                        barrier.wait(); // all eight alive at once
                        slot
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = slots.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 8, "{slots:?}");
    }
}
