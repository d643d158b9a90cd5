//! The gateway's request path. Read the modules in the order a request meets them:
//!
//! 1. [`listener`] accepts connections; [`connection`] serves HTTP/1.1 and h2c on each: plain
//!    HTTP/1.1 requests in our own loop ([`connection::http1`]), everything else in hyper's
//!    servers, with [`sniff`] following HTTP/1 framing beside hyper to catch ambiguous requests.
//! 2. [`service`] runs the stages for every request:
//!    [`framing`] (refuse ambiguous messages) → [`normalize`] (one canonical path) →
//!    [`routing`] (pick the route) → [`body`] (bound the body) → [`headers`] (hop-by-hop out,
//!    forwarding headers in) → [`forward`] (to an [`upstream`] endpoint).
//! 3. [`respond`] renders every failure, as JSON or as a gRPC status.
//!
//! [`gateway`] holds it together: configuration generations ([`runtime`]), reload, readiness,
//! the [`admin`] plane and graceful shutdown.

pub mod admin;
pub mod body;
pub mod connection;
pub mod forward;
pub mod framing;
pub mod gateway;
pub mod headers;
pub mod listener;
pub mod metrics;
pub mod normalize;
pub mod request_id;
pub mod respond;
pub mod routing;
pub mod runtime;
pub mod service;
pub mod sniff;
pub mod upstream;
pub mod workers;

pub use gateway::{Bound, Gateway, ReadinessCheck, ReloadError};
pub use workers::Workers;
