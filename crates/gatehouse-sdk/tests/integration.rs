//! The SDK over real loopback servers: axum, tonic, and hops between them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod integration {
    pub mod support;

    mod grpc;
    mod http;
    mod metadata;
    mod propagation;
}
