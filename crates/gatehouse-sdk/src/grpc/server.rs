//! The server-side interceptor and the handler-side accessor.

use gatehouse_context::Identity;
use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::gate::Gate;
use crate::{Requirement, Unauthenticated};

/// A tonic interceptor that admits a call only with valid identity context (and, when built
/// with [`ServerInterceptor::require`], the required permissions or roles); otherwise
/// `UNAUTHENTICATED` or `PERMISSION_DENIED`.
#[derive(Debug, Clone)]
pub struct ServerInterceptor {
    gate: Gate,
}

impl ServerInterceptor {
    /// Every call must carry a valid identity context.
    pub fn required() -> Self {
        ServerInterceptor {
            gate: Gate::required(),
        }
    }

    /// Calls without context pass as anonymous; malformed context is still refused.
    pub fn optional() -> Self {
        ServerInterceptor {
            gate: Gate::optional(),
        }
    }

    /// Every call must carry a valid identity context that satisfies `requirement`.
    pub fn require(requirement: Requirement) -> Self {
        ServerInterceptor {
            gate: Gate::require(requirement),
        }
    }
}

impl Interceptor for ServerInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        // MetadataMap is a thin wrapper over a HeaderMap; moving it out and back copies nothing.
        let headers = std::mem::take(request.metadata_mut()).into_headers();
        let admitted = self.gate.admit(&headers, request.extensions());
        *request.metadata_mut() = MetadataMap::from_headers(headers);
        if let Some(identity) = admitted? {
            request.extensions_mut().insert(identity);
        }
        Ok(request)
    }
}

/// Access to the caller's identity in a tonic handler.
pub trait RequestIdentity {
    /// The identity admitted by [`ServerInterceptor`] or [`crate::IdentityLayer`], or
    /// `UNAUTHENTICATED` when there is none.
    fn identity(&self) -> Result<&Identity, Status>;
}

impl<T> RequestIdentity for Request<T> {
    fn identity(&self) -> Result<&Identity, Status> {
        self.extensions()
            .get::<Identity>()
            .ok_or_else(|| Unauthenticated::missing().into())
    }
}
