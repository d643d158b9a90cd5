//! `inventory-service`: the inventory gRPC service as its own process (e.g. a Kubernetes pod).

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;
use tracing::info;

/// The reference system's inventory service (gRPC). Reachable only through the gateway or
/// other services: it trusts the identity context in the metadata.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "INVENTORY_LISTEN", default_value = inventory_service::DEFAULT_ADDR)]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    info!(listen = %listener.local_addr()?, "inventory service listening");
    inventory_service::serve(listener, terminated())
        .await
        .context("inventory service failed")
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or SIGINT (Ctrl-C).
async fn terminated() {
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
