//! The accept loop the bench's servers (`upstream`, `relay`) share.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

/// Binds `listen` (loopback only), says where, and runs `handle` as a task for every connection
/// accepted, until killed.
pub fn accept_loop<F, Fut>(runtime: &Runtime, listen: SocketAddr, handle: F) -> anyhow::Result<()>
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    anyhow::ensure!(
        listen.ip().is_loopback(),
        "the bench listens on loopback only"
    );
    runtime.block_on(async move {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        // Said once bound, so a caller that asked for port 0 learns which port it got.
        println!("listening on {}", listener.local_addr()?);
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(handle(stream));
        }
    })
}
