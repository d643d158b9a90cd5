//! The axum extractor for the caller's identity.

use std::ops::Deref;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use gatehouse_context::{Identity, read_headers};
use http::request::Parts;
use http::{Extensions, HeaderMap};

use crate::Unauthenticated;

/// The verified caller, extracted from the request's identity context.
///
/// Rejects with a JSON 401 when the context is missing or malformed. `Option<Caller>` serves
/// routes open to anonymous callers: `None` without context, still a 401 for malformed context,
/// because a broken context means something between the gateway and here is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub Identity);

impl Caller {
    /// The identity, when an [`crate::IdentityLayer`] already read it, else read from headers.
    pub(crate) fn resolve(
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<Option<Identity>, Unauthenticated> {
        if let Some(identity) = extensions.get::<Identity>() {
            return Ok(Some(identity.clone()));
        }
        read_headers(headers).map_err(Unauthenticated::invalid)
    }

    /// The identity.
    pub fn into_inner(self) -> Identity {
        self.0
    }
}

impl Deref for Caller {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Unauthenticated;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Caller::resolve(&parts.headers, &parts.extensions)?
            .map(Caller)
            .ok_or_else(Unauthenticated::missing)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Caller {
    type Rejection = Unauthenticated;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(Caller::resolve(&parts.headers, &parts.extensions)?.map(Caller))
    }
}
