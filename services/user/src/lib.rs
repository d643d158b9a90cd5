//! The user service of the reference system (HTTP, axum).
//!
//! - `GET /users/me`: the caller's profile, straight from the identity context (no database, no
//!   token); the service remembers the profiles it has seen.
//! - `GET /users/{id}`: another user's last-seen profile, for the `admin` role only (403
//!   otherwise); a caller may always read their own.
//! - `GET /healthz`: liveness, the only route without identity context.
//!
//! Requests without identity context are refused with 401 by [`gatehouse_sdk::IdentityLayer`].

#![forbid(unsafe_code)]

mod directory;
mod handlers;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use gatehouse_sdk::IdentityLayer;
use tokio::net::TcpListener;

pub use directory::{Directory, Profile};

/// Where the service listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8082";

/// The service's routes over `directory`.
pub fn app(directory: Arc<Directory>) -> Router {
    Router::new()
        .route("/users/me", get(handlers::me))
        .route("/users/{id}", get(handlers::profile))
        .layer(IdentityLayer::required())
        // Added after the layer, so probes need no identity.
        .route("/healthz", get(|| async { "ok" }))
        .with_state(directory)
}

/// Serves on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(Arc::new(Directory::default())))
        .with_graceful_shutdown(shutdown)
        .await
}
