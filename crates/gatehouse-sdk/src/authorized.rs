//! Authorization as an extractor: a handler that takes `Authorized<P>` only runs when the caller
//! satisfies the policy `P`.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::FromRequestParts;
use gatehouse_context::Identity;
use http::request::Parts;

use crate::{Caller, Rejection, Requirement};

/// A named, static requirement, usually declared with [`crate::policy!`].
pub trait Policy: Send + Sync + 'static {
    /// The requirement; built once and kept.
    fn requirement() -> &'static Requirement;
}

/// Declares unit types implementing [`Policy`], for use with [`Authorized`].
///
/// ```
/// use gatehouse_sdk::{policy, require_any_role, require_permission};
///
/// policy! {
///     /// May place orders.
///     pub struct CreateOrders = require_permission("orders:create");
///     /// Support staff or administrators.
///     pub struct Staff = require_any_role(["support", "admin"]);
/// }
/// ```
#[macro_export]
macro_rules! policy {
    ($($(#[$meta:meta])* $vis:vis struct $name:ident = $requirement:expr;)+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;

        impl $crate::Policy for $name {
            fn requirement() -> &'static $crate::Requirement {
                static REQUIREMENT: ::std::sync::OnceLock<$crate::Requirement> =
                    ::std::sync::OnceLock::new();
                REQUIREMENT.get_or_init(|| $requirement)
            }
        }
    )+};
}

/// The caller, proven to satisfy the policy `P`; a JSON 401 or 403 otherwise.
#[derive(Debug, Clone)]
pub struct Authorized<P> {
    /// The caller's identity.
    pub identity: Identity,
    policy: PhantomData<fn() -> P>,
}

impl<P> Authorized<P> {
    /// The identity.
    pub fn into_inner(self) -> Identity {
        self.identity
    }
}

impl<P> Deref for Authorized<P> {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.identity
    }
}

impl<S: Send + Sync, P: Policy> FromRequestParts<S> for Authorized<P> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Caller(identity) =
            <Caller as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        P::requirement().check(&identity)?;
        Ok(Authorized {
            identity,
            policy: PhantomData,
        })
    }
}
