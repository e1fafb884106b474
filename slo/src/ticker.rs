//! [`Tick`] and [`Ticker`]: what drives reporters, SLOs and watches in a service.

use std::fmt;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Something read on a schedule: an [`IntervalReporter`](crate::IntervalReporter), a
/// [`Slo`](crate::Slo), a [`Watch`](crate::Watch).
pub trait Tick: Send + Sync {
    /// Reads its counters once and updates what it reports.
    fn tick(&self);
}

/// A thread that ticks its items every interval until dropped.
///
/// ```
/// use prism_core::Counter;
/// use prism_slo::{IntervalReporter, Source, Tick, Ticker};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let requests = Counter::new();
/// let reporter = IntervalReporter::new().source(Source::counter("requests", &requests));
/// let items: Vec<Arc<dyn Tick>> = vec![Arc::new(reporter)];
/// let ticker = Ticker::spawn(Duration::from_secs(10), items);
/// drop(ticker); // stops the thread and waits for it
/// ```
pub struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts a thread named `prism-slo-ticker` that ticks `items`, in order, every
    /// `interval` (the first time one interval from now).
    pub fn spawn(interval: Duration, items: Vec<Arc<dyn Tick>>) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("prism-slo-ticker".to_owned())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    for item in &items {
                        // A hook or callback that panics stops neither the other items nor
                        // the next ticks.
                        let ticked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            item.tick();
                        }));
                        if ticked.is_err() {
                            tracing::error!(target: "prism_slo", "a tick panicked (in a hook or callback); ticking goes on");
                        }
                    }
                }
            })
            .ok();
        if thread.is_none() {
            tracing::error!(target: "prism_slo", "could not start the ticker thread: nothing will be ticked");
        }
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Flaky(AtomicU32);

    impl Tick for Flaky {
        fn tick(&self) {
            if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a hook panicked");
            }
        }
    }

    #[test]
    fn a_panicking_tick_does_not_stop_the_ticker() {
        let flaky = Arc::new(Flaky(AtomicU32::new(0)));
        let items: Vec<Arc<dyn Tick>> = vec![flaky.clone()];
        let ticker = Ticker::spawn(Duration::from_millis(1), items);
        // A deadline for the failure message only; nothing here measures time.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while flaky.0.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(ticker);
        assert!(
            flaky.0.load(Ordering::SeqCst) >= 3,
            "ticking stopped after the panic"
        );
    }
}
