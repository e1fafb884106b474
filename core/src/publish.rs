//! Coherent snapshots of several metrics: [`Publisher`], which builds one immutable value
//! from a group of metrics and swaps it in atomically, and [`PublishTask`], which does so on
//! an interval.
//!
//! # Keeping invariants true in every publication
//!
//! Readers of a [`Publisher`] get one whole publication or the next, never a mix: each is
//! built, then swapped in with one `arc-swap` store. What each publication *holds* is up to
//! the build closure, and its read order decides which invariants hold:
//!
//! - **Read in the reverse of the order the code updates.** A service that counts a request
//!   on arrival and an error later (`requests.inc()` ... `errors.inc()`) keeps
//!   `errors <= requests` in every publication when the closure reads `errors` *first* and
//!   `requests` second: every error it sees was preceded by its request, which the later read
//!   sees too. Read the other way, a request and its error that both land between the two
//!   reads make `errors` run ahead.
//! - **Order the two updates for the reader.** prism's counters update with relaxed atomics.
//!   On x86-64 loads are not reordered with loads nor stores with stores, and the order above
//!   is enough; on weakly ordered CPUs (ARM, POWER) also put
//!   `std::sync::atomic::fence(Release)` between the two updates, and the build closure puts
//!   `fence(Acquire)` between its two reads (the test in `tests/publish.rs` does both).
//! - **Derive rather than read twice.** A ratio or a difference computed from the values in
//!   the publication is consistent with them; one read again from the metrics is not.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;

type BuildFn<T> = dyn Fn() -> T + Send + Sync;

/// Publishes one immutable value built from several metrics; readers always see a whole
/// publication.
///
/// ```
/// use std::sync::atomic::{fence, Ordering};
/// use prism_core::{Counter, Publisher};
///
/// #[derive(Debug)]
/// struct Status { requests: u64, errors: u64 }
///
/// let (requests, errors) = (Counter::new(), Counter::new());
/// let status = Publisher::new({
///     let (requests, errors) = (requests.clone(), errors.clone());
///     move || {
///         let errors = errors.get(); // updated last, so read first
///         fence(Ordering::Acquire);
///         Status { requests: requests.get(), errors }
///     }
/// });
///
/// requests.inc();
/// fence(Ordering::Release);
/// errors.inc();
/// assert_eq!(status.load().requests, 0); // the last publication, until the next one
/// status.publish();
/// let now = status.load();
/// assert_eq!((now.requests, now.errors), (1, 1));
/// ```
pub struct Publisher<T> {
    current: Arc<ArcSwap<T>>,
    build: Arc<BuildFn<T>>,
    /// Held from the start of a build to its store, so that publications are swapped in in
    /// the order they were built (see [`Publisher::publish`]).
    publishing: Arc<Mutex<()>>,
    published: Arc<AtomicU64>,
}

impl<T: Send + Sync + 'static> Publisher<T> {
    /// A publisher of what `build` returns; publishes once now.
    pub fn new(build: impl Fn() -> T + Send + Sync + 'static) -> Self {
        let first = build();
        Self {
            current: Arc::new(ArcSwap::from_pointee(first)),
            build: Arc::new(build),
            publishing: Arc::new(Mutex::new(())),
            published: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Builds a publication now, swaps it in and returns it.
    ///
    /// Publications never go back in time: calls from several threads (the
    /// [`spawn`](Self::spawn)ed task and a handler publishing on demand, say) take turns, so
    /// each build starts after the previous publication was swapped in, and a reader that
    /// loads twice never sees an older publication the second time. A caller waits while
    /// another call builds; [`load`](Self::load) never waits. A build closure that panics
    /// swaps nothing in and leaves the publisher usable.
    pub fn publish(&self) -> Arc<T> {
        // The guard protects no data, only the order; a panic in an earlier build left
        // nothing half-done behind it.
        let _turn = self
            .publishing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let next = Arc::new((self.build)());
        self.current.store(next.clone());
        self.published.fetch_add(1, Ordering::Relaxed);
        next
    }

    /// The latest publication. Never blocks, never sees half of one.
    pub fn load(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// Publications so far, the first one included.
    pub fn publications(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Publishes every `interval` on a thread of its own until the returned task is dropped
    /// or [`stop`](PublishTask::stop)ped.
    pub fn spawn(&self, interval: Duration) -> PublishTask {
        let (stop, stopped) = mpsc::channel::<()>();
        let publisher = self.clone();
        let thread = std::thread::Builder::new()
            .name("prism-publish".into())
            .spawn(move || loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {
                        publisher.publish();
                    }
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .expect("spawning the publishing thread");
        PublishTask {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl<T> Clone for Publisher<T> {
    fn clone(&self) -> Self {
        Self {
            current: self.current.clone(),
            build: self.build.clone(),
            publishing: self.publishing.clone(),
            published: self.published.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("current", &self.current.load())
            .finish()
    }
}

/// The thread of [`Publisher::spawn`]; dropping it stops the thread and waits for it.
#[derive(Debug)]
pub struct PublishTask {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl PublishTask {
    /// Stops publishing and waits for the thread to finish its current publication.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic in the build closure ended the thread already; nothing to stop.
            let _ = thread.join();
        }
    }
}

impl Drop for PublishTask {
    fn drop(&mut self) {
        self.shutdown();
    }
}
