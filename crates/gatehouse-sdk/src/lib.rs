//! Service SDK for the gatehouse identity context.
//!
//! The gateway verifies the caller's token and forwards only the verified [`Identity`] as
//! `x-user-*` headers (HTTP) or metadata (gRPC). This crate lets a service built with axum, tower
//! and tonic read that context, authorize from it, and pass it on to the services it calls:
//!
//! - [`Caller`]: an axum extractor yielding the [`Identity`], or a JSON 401; `Option<Caller>` for
//!   routes that also serve anonymous callers.
//! - [`Requirement`] ([`require_permission`], [`require_any_permission`], [`require_all_roles`],
//!   …): what a route needs, checked by the [`Authorized`] extractor (with a [`Policy`] declared by
//!   [`policy!`]) or for a whole router by [`IdentityLayer::require`]; a failure is a JSON 403
//!   naming what was required.
//! - [`IdentityLayer`]: a tower layer for axum routers and tonic servers alike; it answers HTTP
//!   callers with JSON and gRPC callers with `UNAUTHENTICATED` / `PERMISSION_DENIED`, and runs the
//!   handler inside a [`scope`] so outgoing calls carry the caller's context.
//! - [`grpc::ServerInterceptor`] and [`grpc::PropagateInterceptor`] for tonic,
//!   [`PropagateLayer`] for outgoing HTTP clients.
//! - [`testing`]: one-line identities, headers and metadata for tests.
//!
//! Matching rules: roles match exactly; permissions match exactly or through a trailing `:*`
//! segment held by the caller ([`gatehouse_context::permission_matches`]).
//!
//! ```
//! use axum::Router;
//! use axum::routing::{get, post};
//! use gatehouse_sdk::{Authorized, Caller, IdentityLayer, policy, require_permission, testing};
//! use tower::ServiceExt;
//!
//! policy! {
//!     /// Placing orders.
//!     pub struct CreateOrders = require_permission("orders:create");
//! }
//!
//! async fn whoami(Caller(me): Caller) -> String {
//!     me.subject
//! }
//!
//! async fn create(caller: Authorized<CreateOrders>) -> String {
//!     format!("created by {}", caller.subject)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app: Router = Router::new()
//!     .route("/me", get(whoami))
//!     .route("/orders", post(create))
//!     .layer(IdentityLayer::optional());
//!
//! let alice = testing::identity("alice").with_permissions(["orders:*"]);
//! let request = http::Request::post("/orders").body(axum::body::Body::empty())?;
//! let response = app.clone().oneshot(testing::http_request(&alice, request)?).await?;
//! assert_eq!(response.status(), 200);
//!
//! let bob = testing::identity("bob").with_permissions(["orders:read"]);
//! let request = http::Request::post("/orders").body(axum::body::Body::empty())?;
//! let response = app.oneshot(testing::http_request(&bob, request)?).await?;
//! assert_eq!(response.status(), 403);
//! # Ok(())
//! # }
//! ```
//!
//! `examples/orders_service.rs` is a complete service with an onward HTTP call and a gRPC
//! endpoint; `docs/context-contract.md` specifies the wire format.

#![forbid(unsafe_code)]

mod authorized;
mod caller;
mod current;
mod gate;
pub mod grpc;
mod layer;
mod propagate;
mod rejection;
mod requirement;
pub mod testing;

pub use authorized::{Authorized, Policy};
pub use caller::Caller;
pub use current::{current, in_current_scope, scope};
pub use gatehouse_context::{ContextError, Identity};
pub use layer::{IdentityLayer, IdentityService};
pub use propagate::{PropagateLayer, PropagateService, propagate_headers};
pub use rejection::{Forbidden, Rejection, Unauthenticated};
pub use requirement::{
    Mode, Requirement, require_all_permissions, require_all_roles, require_any_permission,
    require_any_role, require_permission, require_role,
};
