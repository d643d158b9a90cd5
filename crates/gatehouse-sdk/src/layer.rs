//! The server-side tower layer: authenticate (and optionally authorize) every request of a
//! router or a tonic server, and run the handler in the caller's scope.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::{Either, Map, Ready, ready};
use gatehouse_context::Identity;
use http::{Request, Response};
use tokio::task::futures::TaskLocalFuture;
use tower::{BoxError, Layer, Service};

use crate::gate::Gate;
use crate::rejection::is_grpc;
use crate::{Requirement, scope};

/// Reads the identity context of every request, rejects what the mode refuses, puts the
/// [`Identity`] into the request extensions and runs the inner service inside [`scope`].
///
/// Rejections are JSON 401/403 for HTTP callers and `UNAUTHENTICATED`/`PERMISSION_DENIED` for
/// gRPC callers (recognised by `content-type: application/grpc…`), so the same layer serves
/// axum routers and tonic servers.
#[derive(Debug, Clone)]
pub struct IdentityLayer {
    gate: Gate,
}

impl IdentityLayer {
    /// Every request must carry a valid identity context.
    pub fn required() -> Self {
        IdentityLayer {
            gate: Gate::required(),
        }
    }

    /// Requests without context pass as anonymous; malformed context is still refused.
    pub fn optional() -> Self {
        IdentityLayer {
            gate: Gate::optional(),
        }
    }

    /// Every request must carry a valid identity context that satisfies `requirement`.
    pub fn require(requirement: Requirement) -> Self {
        IdentityLayer {
            gate: Gate::require(requirement),
        }
    }
}

impl<S> Layer<S> for IdentityLayer {
    type Service = IdentityService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IdentityService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`IdentityLayer`].
#[derive(Debug, Clone)]
pub struct IdentityService<S> {
    inner: S,
    layer: IdentityLayer,
}

type ToBody<B, E> = fn(Result<Response<B>, E>) -> Result<Response<Body>, E>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for IdentityService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    #[allow(clippy::type_complexity)]
    type Future = Either<
        Ready<Result<Response<Body>, S::Error>>,
        Map<TaskLocalFuture<Option<Arc<Identity>>, S::Future>, ToBody<ResBody, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self
            .layer
            .gate
            .admit(request.headers(), request.extensions())
        {
            Err(rejection) => Either::Left(ready(Ok(rejection.render(is_grpc(request.headers()))))),
            Ok(identity) => {
                if let Some(identity) = &identity {
                    request.extensions_mut().insert(identity.clone());
                }
                let to_body: ToBody<ResBody, S::Error> = |result| result.map(|r| r.map(Body::new));
                Either::Right(scope(identity.map(Arc::new), self.inner.call(request)).map(to_body))
            }
        }
    }
}
