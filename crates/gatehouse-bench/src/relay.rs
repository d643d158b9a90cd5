//! The relay: the floor of any proxy's socket work, measured beside the peers.
//!
//! Each client connection gets one upstream connection of its own and bytes are copied both ways
//! as they come: no HTTP parsing, routing, header rewriting or authentication. Every proxy in the
//! run does at least its four socket operations per request (read the request, write it
//! upstream, read the response, write it back), so its CPU per request is the part of any
//! gateway's cost that no user-space work can remove on this machine.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpStream;

/// How long one upstream connect may take before the client's connection is dropped.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Options of `relay`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (loopback).
    #[arg(long)]
    listen: SocketAddr,
    /// The upstream every connection is relayed to (loopback).
    #[arg(long)]
    upstream: SocketAddr,
    /// Runtime worker threads (1: a current-thread runtime, as one gatehouse worker runs).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Relays until killed.
pub fn run(
    &Args {
        listen,
        upstream,
        threads,
    }: &Args,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        upstream.ip().is_loopback(),
        "the relay connects to loopback only"
    );
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .context("cannot start the runtime")?;
    crate::serve::accept_loop(&runtime, listen, move |client| relay(client, upstream))
}

/// Copies bytes both ways until either side closes; a connection that fails just ends.
async fn relay(mut client: TcpStream, upstream: SocketAddr) {
    let Ok(Ok(mut server)) =
        tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream)).await
    else {
        return;
    };
    // The same socket options as every proxy measured: small writes leave at once.
    if client.set_nodelay(true).is_err() || server.set_nodelay(true).is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
