//! The lock, once-slot and thread-local index the scalable counters share, swapped for
//! versions loom can see under `cfg(loom)` (the companion of `primitive.rs`).
//!
//! loom runs its model threads as coroutines on one OS thread and only sees the
//! synchronisation it provides itself, so a `std` mutex, `OnceLock` or `thread_local!` would
//! hide from it the very edges its models check. Everything here compiles to the `std`
//! item, or a thin wrapper around it, outside loom.

use std::cell::Cell;

#[cfg(loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(not(loom))]
pub(crate) use std::sync::Mutex;

/// Locks `mutex`, recovering the data of a poisoned lock: every critical section in the
/// counters leaves its data consistent at every step, so a panic inside one (an allocation
/// failure) leaves nothing to repair.
#[cfg(not(loom))]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T>
where
    T: ?Sized,
{
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(loom)]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> loom::sync::MutexGuard<'_, T>
where
    T: ?Sized,
{
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A slot written once and read without a lock ever after: `std::sync::OnceLock` outside
/// loom.
#[cfg(not(loom))]
#[derive(Default)]
pub(crate) struct OnceSlot<T>(std::sync::OnceLock<T>);

#[cfg(not(loom))]
impl<T> OnceSlot<T> {
    pub(crate) fn new() -> Self {
        Self(std::sync::OnceLock::new())
    }

    /// The value, once some thread has published it.
    #[inline]
    pub(crate) fn get(&self) -> Option<&T> {
        self.0.get()
    }

    /// The value, made by `init` if no thread has published one yet. Exactly one `init`
    /// runs; a racing thread waits for it.
    pub(crate) fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(init)
    }
}

/// Under loom: the value lives in a `std` `OnceLock` (which keeps the reference sound) and
/// is published through a loom atomic with release and acquire, so that loom sees the
/// happens-before edge from the writer to every reader, as `OnceLock` gives it outside.
#[cfg(loom)]
pub(crate) struct OnceSlot<T> {
    ready: loom::sync::atomic::AtomicBool,
    writer: Mutex<()>,
    value: std::sync::OnceLock<T>,
}

#[cfg(loom)]
impl<T> OnceSlot<T> {
    pub(crate) fn new() -> Self {
        Self {
            ready: loom::sync::atomic::AtomicBool::new(false),
            writer: Mutex::new(()),
            value: std::sync::OnceLock::new(),
        }
    }

    #[inline]
    pub(crate) fn get(&self) -> Option<&T> {
        if self.ready.load(std::sync::atomic::Ordering::Acquire) {
            self.value.get()
        } else {
            None
        }
    }

    pub(crate) fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        if let Some(value) = self.get() {
            return value;
        }
        let _writer = lock(&self.writer);
        if !self.ready.load(std::sync::atomic::Ordering::Acquire) {
            let value = self.value.get_or_init(init);
            self.ready.store(true, std::sync::atomic::Ordering::Release);
            return value;
        }
        self.value.get_or_init(init)
    }
}

#[cfg(loom)]
impl<T> Default for OnceSlot<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Marks a thread-local index not handed out yet.
const UNSET: usize = usize::MAX;

#[cfg(not(loom))]
std::thread_local! {
    static THREAD_INDEX: Cell<usize> = const { Cell::new(UNSET) };
}

#[cfg(loom)]
loom::thread_local! {
    static THREAD_INDEX: Cell<usize> = Cell::new(UNSET);
}

#[cfg(not(loom))]
fn next_index() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(loom)]
fn next_index() -> usize {
    // Reset with every execution of a model, so that the same schedule picks the same
    // cells and loom's exploration stays deterministic.
    loom::lazy_static! {
        static ref NEXT: loom::sync::atomic::AtomicUsize = loom::sync::atomic::AtomicUsize::new(0);
    }
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// This thread's index: 0 for the first thread that asks, 1 for the next, and so on,
/// fixed for the thread's life. Sharded cells are chosen by it, so that up to `cells`
/// threads each get a cell of their own, where a hash would make some of them collide.
#[inline]
pub(crate) fn thread_index() -> usize {
    THREAD_INDEX.with(|index| {
        let current = index.get();
        if current != UNSET {
            return current;
        }
        // Skip UNSET itself, should the process ever start 2^64 threads.
        let fresh = next_index() % UNSET;
        index.set(fresh);
        fresh
    })
}
