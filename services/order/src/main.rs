//! `order-service`: the order HTTP service as its own process (e.g. a Kubernetes pod).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;

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
    service_runtime::init_logging();
    let listener = service_runtime::listen("order service", args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    order_service::serve(
        listener,
        args.database,
        args.inventory,
        service_runtime::terminated(),
    )
    .await
    .context("order service failed")
}
