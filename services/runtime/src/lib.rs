//! What every reference service binary shares, so each `main` is only its flags and its
//! `serve` call: log setup, the listener, and the signal that stops it.

#![forbid(unsafe_code)]

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tracing::info;

/// Logs to stderr at `info`, or as `RUST_LOG` says.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// Binds `addr` and logs where `service` listens.
pub async fn listen(service: &str, addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await?;
    info!(listen = %listener.local_addr()?, "{service} listening");
    Ok(listener)
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or SIGINT (Ctrl-C).
pub async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
