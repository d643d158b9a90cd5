//! tonic integration: read the context on the server, propagate it on the client.
//!
//! The [`ServerInterceptor`] reads and checks the context and puts the [`crate::Identity`] into
//! the request extensions. An interceptor runs before the handler and cannot wrap it, so to make
//! the caller's identity [`crate::current`] inside handlers (for onward calls), add
//! [`crate::IdentityLayer`] to the server instead, or as well.

mod client;
mod server;

pub use client::PropagateInterceptor;
pub use server::{RequestIdentity, ServerInterceptor};
