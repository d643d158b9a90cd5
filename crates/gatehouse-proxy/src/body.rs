//! Bodies on the request path: streamed frame by frame, never buffered whole. Request bodies are
//! bounded in size and in the pause allowed between frames; response bodies carry guards that
//! release per-request resources when the stream ends.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use tokio::time::Sleep;

/// Any error crossing a body boundary.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type the gateway sends, to upstreams and to clients.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// An empty body.
pub fn empty() -> ProxyBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

/// A body with one chunk.
pub fn full(bytes: Bytes) -> ProxyBody {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed()
}

/// Why the gateway stopped reading a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestBodyError {
    /// More bytes than the route allows.
    #[error("request body exceeds the limit")]
    TooLarge,
    /// The client paused longer than the body read timeout.
    #[error("request body read timed out")]
    Timeout,
}

pin_project_lite::pin_project! {
    /// A client's request body on its way upstream: at most `limit` bytes, and no pause between
    /// frames longer than `idle`.
    pub struct RequestBody<B> {
        #[pin]
        inner: B,
        remaining: u64,
        idle: Duration,
        timer: Option<Pin<Box<Sleep>>>,
    }
}

impl<B> RequestBody<B> {
    /// Wraps a body.
    pub fn new(inner: B, limit: u64, idle: Duration) -> Self {
        RequestBody {
            inner,
            remaining: limit,
            idle,
            timer: None,
        }
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        // A client's trailers are dropped, never forwarded: they would be a second set of
        // headers that no stage of the request path checked (a spoofed `x-user-id`, an
        // `Authorization` the route strips), and upstreams that merge trailers into headers
        // would believe them.
        let polled = loop {
            match this.inner.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) if frame.is_trailers() => continue,
                polled => break polled,
            }
        };
        match polled {
            Poll::Ready(frame) => {
                *this.timer = None;
                match frame {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            let len = data.len() as u64;
                            if len > *this.remaining {
                                return Poll::Ready(Some(Err(RequestBodyError::TooLarge.into())));
                            }
                            *this.remaining -= len;
                        }
                        Poll::Ready(Some(Ok(frame)))
                    }
                    Some(Err(e)) => Poll::Ready(Some(Err(e.into()))),
                    None => Poll::Ready(None),
                }
            }
            Poll::Pending => {
                let idle = *this.idle;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(RequestBodyError::Timeout.into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

use std::future::Future as _;

pin_project_lite::pin_project! {
    /// A response body that holds `guard` until the stream ends or is dropped, so in-flight
    /// counts (load balancing, connection idleness) follow the whole exchange, not just its head.
    pub struct Guarded<B, G> {
        #[pin]
        inner: B,
        guard: Option<G>,
    }
}

impl<B, G> Guarded<B, G> {
    /// Wraps a body with a guard.
    pub fn new(inner: B, guard: G) -> Self {
        Guarded {
            inner,
            guard: Some(guard),
        }
    }
}

impl<B, G> Body for Guarded<B, G>
where
    B: Body,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        if let Poll::Ready(None) | Poll::Ready(Some(Err(_))) = polled {
            this.guard.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Finds a [`RequestBodyError`] anywhere in an error's cause chain.
pub fn find_request_body_error(
    error: &(dyn std::error::Error + 'static),
) -> Option<RequestBodyError> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<RequestBodyError>() {
            return Some(*found);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limit_is_enforced() {
        let body = RequestBody::new(
            http_body_util::Full::new(Bytes::from_static(b"0123456789")),
            5,
            Duration::from_secs(1),
        );
        let err = body.collect().await.expect_err("over the limit");
        assert_eq!(
            find_request_body_error(err.as_ref()),
            Some(RequestBodyError::TooLarge)
        );
        let body = RequestBody::new(
            http_body_util::Full::new(Bytes::from_static(b"01234")),
            5,
            Duration::from_secs(1),
        );
        assert_eq!(body.collect().await.unwrap().to_bytes().len(), 5);
    }

    #[tokio::test]
    async fn client_trailers_are_dropped() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-user-id", http::HeaderValue::from_static("admin"));
        let frames: Vec<Result<Frame<Bytes>, BoxError>> = vec![
            Ok(Frame::data(Bytes::from_static(b"hello"))),
            Ok(Frame::trailers(trailers)),
        ];
        let body = RequestBody::new(
            http_body_util::StreamBody::new(futures_util::stream::iter(frames)),
            100,
            Duration::from_secs(1),
        );
        let collected = body.collect().await.unwrap();
        assert!(collected.trailers().is_none());
        assert_eq!(collected.to_bytes(), "hello");
    }

    #[tokio::test(start_paused = true)]
    async fn stalled_body_times_out() {
        let stalled = http_body_util::StreamBody::new(futures_util::stream::pending::<
            Result<Frame<Bytes>, BoxError>,
        >());
        let body = RequestBody::new(stalled, 100, Duration::from_secs(5));
        let err = body.collect().await.expect_err("stalled");
        assert_eq!(
            find_request_body_error(err.as_ref()),
            Some(RequestBodyError::Timeout)
        );
    }
}
