//! `order-service`: the order HTTP service as its own process (e.g. a Kubernetes pod).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use tracing::info;

/// The reference system's order service (HTTP). Reachable only through the gateway: it trusts
/// the identity context in the request headers.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "ORDER_LISTEN", default_value = order_service::DEFAULT_ADDR)]
    listen: SocketAddr,
    /// The inventory gRPC service.
    #[arg(long, env = "INVENTORY_URL", default_value = order_service::DEFAULT_INVENTORY)]
    inventory: String,
    /// The SQLite database file (created if missing).
    #[arg(long, env = "ORDER_DATABASE", default_value = "orders.sqlite")]
    database: PathBuf,
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
    info!(
        listen = %listener.local_addr()?,
        inventory = %args.inventory,
        "order service listening"
    );
    order_service::serve(listener, args.database, args.inventory, terminated())
        .await
        .context("order service failed")
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
