//! The accept loop: a bounded number of connections at once (the rest wait in the kernel's
//! backlog), each served on its own task, on a worker runtime when there are workers.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::{error, warn};

use crate::connection;
use crate::gateway::Shared;
use crate::workers::Workers;

/// Accepts connections until `stop` turns true. Each connection holds a permit of `slots` for its
/// whole life, so shutdown can wait for every connection by taking all permits back.
pub async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
    drain: watch::Receiver<bool>,
    workers: Option<Arc<Workers>>,
) {
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.wait_for(|s| *s) => return,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                if let Err(e) = stream.set_nodelay(true) {
                    warn!(%peer, error = %e, "cannot set TCP_NODELAY");
                }
                let shared = shared.clone();
                let drain = drain.clone();
                match &workers {
                    Some(workers) => {
                        // The socket moves to the worker's own I/O driver.
                        let stream = match stream.into_std() {
                            Ok(stream) => stream,
                            Err(e) => {
                                warn!(%peer, error = %e, "cannot hand the connection to a worker");
                                continue;
                            }
                        };
                        workers.next().spawn(async move {
                            match tokio::net::TcpStream::from_std(stream) {
                                Ok(stream) => open(stream, peer, shared, drain).await,
                                Err(e) => {
                                    warn!(%peer, error = %e, "worker cannot take the connection")
                                }
                            }
                            drop(permit);
                        });
                    }
                    None => {
                        tokio::spawn(async move {
                            open(stream, peer, shared, drain).await;
                            drop(permit);
                        });
                    }
                }
            }
            Err(e) => {
                // Out of file descriptors or similar: back off briefly instead of spinning.
                error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Tells the protocol from the first bytes, then serves the connection. A client that sends
/// nothing within the header timeout, or only until shutdown begins, is simply closed.
async fn open(
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    shared: Arc<Shared>,
    mut drain: watch::Receiver<bool>,
) {
    let accepted_ms = crate::upstream::endpoint_clock::now_ms();
    let timeout = shared.runtime().config.listener.header_read_timeout;
    let protocol = tokio::select! {
        protocol = connection::detect(&stream, timeout) => protocol,
        _ = drain.wait_for(|d| *d) => None,
    };
    if let Some(protocol) = protocol {
        connection::serve(stream, protocol, accepted_ms, peer, "http", shared, drain).await;
    }
}
