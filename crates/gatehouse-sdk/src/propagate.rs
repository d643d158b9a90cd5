//! Outgoing HTTP calls carry the current caller's context, and never a stale or foreign one.

use std::task::{Context, Poll};

use futures_util::TryFutureExt;
use futures_util::future::{Either, ErrInto, Ready, ready};
use gatehouse_context::{ContextError, strip_reserved, write_headers};
use http::{HeaderMap, Request};
use tower::{BoxError, Layer, Service};

use crate::current;

/// Replaces the reserved namespace of outgoing `headers` with the [`current`] identity, or
/// clears it when there is none.
pub fn propagate_headers(headers: &mut HeaderMap) -> Result<(), ContextError> {
    match current() {
        Some(identity) => write_headers(&identity, headers),
        None => {
            strip_reserved(headers);
            Ok(())
        }
    }
}

/// A tower layer for HTTP clients: every request gets [`propagate_headers`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateLayer;

impl<S> Layer<S> for PropagateLayer {
    type Service = PropagateService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PropagateService { inner }
    }
}

/// The service made by [`PropagateLayer`]; fails the call (without sending it) when the current
/// identity cannot be encoded.
#[derive(Debug, Clone)]
pub struct PropagateService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for PropagateService<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Either<Ready<Result<S::Response, BoxError>>, ErrInto<S::Future, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        match propagate_headers(request.headers_mut()) {
            Ok(()) => Either::Right(self.inner.call(request).err_into()),
            Err(error) => Either::Left(ready(Err(error.into()))),
        }
    }
}
