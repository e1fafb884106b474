//! [`ResponseBody`]: the inner response body, counted and timed to its end.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::record::{grpc_status, ErrorType, Finish};

pin_project! {
    /// The response body of a [`MetricsService`](super::MetricsService): the inner body,
    /// unchanged, whose data bytes are counted. The request is recorded when the body
    /// ends, returns an error or is dropped, so a streamed response is timed to its last
    /// byte and one dropped half-sent is counted as aborted.
    pub struct ResponseBody<B: Body> {
        #[pin]
        inner: B,
        finish: Option<Finish>,
    }

    impl<B: Body> PinnedDrop for ResponseBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(mut finish) = this.finish.take() {
                // A body dropped at its end (hyper stops polling once `is_end_stream`
                // says so) is complete; dropped before it, the response was cut short.
                finish.complete = this.inner.is_end_stream();
            }
        }
    }
}

impl<B: Body> ResponseBody<B> {
    pub(crate) fn new(inner: B, finish: Option<Finish>) -> Self {
        Self { inner, finish }
    }
}

impl<B: Body + std::fmt::Debug> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = {
            // Marks the request as panicked if the inner body panics while polled; the
            // `Finish` records when the body is dropped, which is after the unwinding.
            let _probe = PanicProbe(this.finish);
            ready!(this.inner.as_mut().poll_frame(cx))
        };
        match &frame {
            Some(Ok(frame)) => {
                if let Some(finish) = this.finish.as_mut() {
                    if let Some(data) = frame.data_ref() {
                        finish.response_size += remaining(data);
                    } else if let Some(trailers) = frame.trailers_ref().filter(|_| finish.grpc) {
                        finish.grpc_status = grpc_status(trailers).or(finish.grpc_status);
                    }
                }
            }
            Some(Err(_)) => {
                if let Some(mut finish) = this.finish.take() {
                    finish.error = Some(ErrorType::Body);
                }
            }
            None => {
                if let Some(mut finish) = this.finish.take() {
                    finish.complete = true;
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Sets [`ErrorType::Panic`] on the request if dropped while unwinding.
pub(crate) struct PanicProbe<'a>(pub(crate) &'a mut Option<Finish>);

impl Drop for PanicProbe<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(finish) = self.0.as_mut() {
                finish.error = Some(ErrorType::Panic);
            }
        }
    }
}

/// The bytes left in a body's data chunk, as a `u64`.
#[inline]
fn remaining<D: bytes::Buf>(data: &D) -> u64 {
    u64::try_from(data.remaining()).unwrap_or(u64::MAX)
}
