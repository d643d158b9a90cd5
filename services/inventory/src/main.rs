//! `inventory-service`: the inventory gRPC service as its own process (e.g. a Kubernetes pod).

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;

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
    service_runtime::init_logging();
    let listener = service_runtime::listen("inventory service", args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    inventory_service::serve(listener, service_runtime::terminated())
        .await
        .context("inventory service failed")
}
