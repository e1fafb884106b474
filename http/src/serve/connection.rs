//! One connection's clock: which phase it is in (reading a head, serving a request, idle
//! between requests) and the deadline of that phase, enforced on the socket's reads.
//!
//! hyper's own `header_read_timeout` starts when hyper begins waiting for a head, which on
//! a kept-alive connection is right after the previous response: one timer for both the
//! idle wait and the head. Go's `net/http`, which scrapers are written against, keeps them
//! apart (`IdleTimeout` until the first byte, then `ReadHeaderTimeout`), and so does this
//! module: hyper's timer is left off, the service wrapper ([`Tracked`]) says when a request
//! starts and when its response body is done, and the socket wrapper ([`Guarded`]) sees
//! the first byte of the next head and fails a read that is still waiting at the deadline,
//! which makes hyper drop the connection without a response.
//!
//! A read that went pending while a request was served armed no timer, and hyper does not
//! read again until the socket wakes it; so the end of a request wakes the task of the
//! last pending read, whose next read arms the idle timer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where a connection is between two requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head whose clock started at `since` (the accept for the first
    /// request, the head's first byte for later ones).
    Head { since: Instant },
    /// Serving `requests` requests: from their head to the end of their response body.
    /// No deadline: the handler's own timeouts apply.
    Busy { requests: usize },
    /// Waiting since `since` for the first byte of the next request.
    Idle { since: Instant },
}

/// The phase of one connection, shared by its socket wrapper and its service wrapper
/// (both polled by the connection's one task, so the lock is never contended).
#[derive(Debug)]
pub(super) struct Clock {
    state: Mutex<State>,
    header_read: Duration,
    idle: Duration,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// The task of the last read that found nothing to read.
    reader: Option<Waker>,
}

impl Clock {
    /// A connection accepted at `accepted`: its first head is due `header_read` later.
    pub(super) fn new(accepted: Instant, header_read: Duration, idle: Duration) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                phase: Phase::Head { since: accepted },
                reader: None,
            }),
            header_read,
            idle,
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Phase) -> R) -> R {
        // Every update is a single assignment, so a poisoned lock still holds a phase.
        f(&mut self.lock().phase)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers the task of a read that found nothing to read.
    fn park_reader(&self, waker: &Waker) {
        let mut state = self.lock();
        match &state.reader {
            Some(parked) if parked.will_wake(waker) => {}
            _ => state.reader = Some(waker.clone()),
        }
    }

    /// Bytes arrived: an idle connection is now reading a head, on the header clock.
    fn bytes_read(&self, now: Instant) {
        self.with(|phase| {
            if let Phase::Idle { .. } = phase {
                *phase = Phase::Head { since: now };
            }
        });
    }

    /// hyper has parsed a head and hands the request to the service.
    fn request_started(&self) {
        self.with(|phase| {
            *phase = match *phase {
                Phase::Busy { requests } => Phase::Busy {
                    requests: requests + 1,
                },
                Phase::Head { .. } | Phase::Idle { .. } => Phase::Busy { requests: 1 },
            }
        });
    }

    /// A response body is done (sent whole, or dropped with the connection).
    fn request_finished(&self, now: Instant) {
        let reader = {
            let mut state = self.lock();
            match state.phase {
                Phase::Busy { requests } if requests > 1 => {
                    state.phase = Phase::Busy {
                        requests: requests - 1,
                    };
                    None
                }
                Phase::Busy { .. } => {
                    state.phase = Phase::Idle { since: now };
                    state.reader.take()
                }
                Phase::Head { .. } | Phase::Idle { .. } => None,
            }
        };
        // Outside the lock: the woken task may poll at once on another thread.
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    /// When a read still waiting must fail, and why; `None` while a request is served.
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        self.with(|phase| match *phase {
            Phase::Head { since } => Some((
                since + self.header_read,
                "the request head did not arrive within the header read timeout",
            )),
            Phase::Idle { since } => {
                Some((since + self.idle, "no request came within the idle timeout"))
            }
            Phase::Busy { .. } => None,
        })
    }
}

/// A socket whose reads fail with [`io::ErrorKind::TimedOut`] once they have waited past
/// the connection's deadline.
pub(super) struct Guarded<T> {
    io: T,
    clock: Arc<Clock>,
    /// Armed at the deadline of the phase last seen; re-armed when the phase moves it.
    sleep: Pin<Box<Sleep>>,
    armed: Instant,
}

impl<T> Guarded<T> {
    pub(super) fn new(io: T, clock: Arc<Clock>) -> Self {
        let armed = clock
            .deadline()
            .map_or_else(|| Instant::now() + clock.idle, |(at, _)| at);
        Self {
            io,
            clock,
            sleep: Box::pin(tokio::time::sleep_until(armed)),
            armed,
        }
    }

    /// Called when a read found nothing to read: `Pending` until the deadline (registering
    /// the timer's wake-up), then an error that ends the connection.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.clock.park_reader(cx.waker());
        let Some((deadline, why)) = self.clock.deadline() else {
            return Poll::Pending;
        };
        if deadline != self.armed {
            self.sleep.as_mut().reset(deadline);
            self.armed = deadline;
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.clock.bytes_read(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // hyper reads whenever it waits for a head or between requests, so this is
            // where both clocks are watched.
            Poll::Pending => this.poll_deadline(cx),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The user's tower service as hyper calls it, with each request's span reported to the
/// connection's [`Clock`].
pub(super) struct Service<S> {
    inner: S,
    clock: Arc<Clock>,
}

impl<S> Service<S> {
    pub(super) fn new(inner: S, clock: Arc<Clock>) -> Self {
        Self { inner, clock }
    }
}

impl<S, B> hyper::service::Service<Request<Incoming>> for Service<S>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
{
    type Response = Response<Tracked<B>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let busy = Busy::start(self.clock.clone());
        // tower's `call` takes `&mut self`; hyper's `&self`: each request gets a clone, as
        // axum's own server does.
        let mut inner = self.inner.clone();
        Box::pin(async move {
            std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            let response = inner.call(request).await?;
            Ok(response.map(|body| Tracked {
                body: Box::pin(body),
                _busy: busy,
            }))
        })
    }
}

/// Marks a request as being served from its head until it is dropped: with the response
/// body once there is one, with the handler's future if that ends first.
struct Busy(Arc<Clock>);

impl Busy {
    fn start(clock: Arc<Clock>) -> Self {
        clock.request_started();
        Self(clock)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_finished(Instant::now());
    }
}

/// A response body that ends its request's busy span when hyper drops it, which hyper does
/// once the body's last frame is out or the connection is gone.
pub(super) struct Tracked<B> {
    /// Boxed so that the wrapper is `Unpin` whatever the body is.
    body: Pin<Box<B>>,
    _busy: Busy,
}

impl<B: Body> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.get_mut().body.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Duration = Duration::from_secs(5);
    const I: Duration = Duration::from_secs(30);

    #[test]
    fn phases_move_the_deadline_as_go_does() {
        let t0 = Instant::now();
        let clock = Clock::new(t0, H, I);
        // First request: the head is due H after the accept, bytes or not.
        assert_eq!(clock.deadline().map(|d| d.0), Some(t0 + H));
        clock.bytes_read(t0 + Duration::from_secs(1));
        assert_eq!(clock.deadline().map(|d| d.0), Some(t0 + H));
        clock.request_started();
        assert_eq!(clock.deadline(), None);
        // Reading the request body does not restart a clock.
        clock.bytes_read(t0 + Duration::from_secs(2));
        assert_eq!(clock.deadline(), None);
        let t1 = t0 + Duration::from_secs(3);
        clock.request_finished(t1);
        assert_eq!(clock.deadline().map(|d| d.0), Some(t1 + I));
        // The next head's first byte switches to the header clock from that byte.
        let t2 = t1 + Duration::from_secs(20);
        clock.bytes_read(t2);
        assert_eq!(clock.deadline().map(|d| d.0), Some(t2 + H));
        clock.bytes_read(t2 + Duration::from_secs(1));
        assert_eq!(clock.deadline().map(|d| d.0), Some(t2 + H));
    }

    #[test]
    fn the_end_of_the_last_request_wakes_the_parked_reader() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::task::Wake;

        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let t0 = Instant::now();
        let clock = Clock::new(t0, H, I);
        clock.request_started();
        clock.request_started();
        clock.park_reader(&waker);
        clock.request_finished(t0);
        assert_eq!(count.0.load(Ordering::Relaxed), 0, "still busy");
        clock.request_finished(t0);
        assert_eq!(
            count.0.load(Ordering::Relaxed),
            1,
            "idle: the reader must arm its timer"
        );
        clock.request_started();
        clock.request_finished(t0);
        assert_eq!(count.0.load(Ordering::Relaxed), 1, "woken once per park");
    }

    #[test]
    fn overlapping_requests_keep_the_connection_busy_until_the_last_ends() {
        let t0 = Instant::now();
        let clock = Clock::new(t0, H, I);
        clock.request_started();
        clock.request_started();
        clock.request_finished(t0);
        assert_eq!(clock.deadline(), None);
        clock.request_finished(t0);
        assert_eq!(clock.deadline().map(|d| d.0), Some(t0 + I));
        // A finish without a start (cannot happen) leaves an idle connection idle.
        clock.request_finished(t0 + H);
        assert_eq!(clock.deadline().map(|d| d.0), Some(t0 + I));
    }
}
