//! Test support for gatehouse: real servers on loopback sockets, an in-process gateway, and
//! clients for HTTP/1.1, h2c, gRPC, WebSocket and raw bytes. Nothing here is mocked below the
//! socket: what a test sees is what crossed the wire.

// A fixture that cannot bind a loopback port has nothing sensible to return; failing the test
// at once, with the reason, is the useful behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod client;
pub mod gateway;
pub mod grpc;
pub mod idp;
pub mod upstream;
pub mod wait;
pub mod websocket;

pub use client::{TestClient, TestResponse, raw_exchange};
pub use gateway::TestGateway;
pub use upstream::EchoServer;
pub use wait::eventually;

/// A loopback port that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1)
}
