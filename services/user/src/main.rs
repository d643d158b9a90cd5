//! `user-service`: the user HTTP service as its own process (e.g. a Kubernetes pod).

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;

/// The reference system's user service (HTTP). Reachable only through the gateway: it trusts
/// the identity context in the request headers.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "USER_LISTEN", default_value = user_service::DEFAULT_ADDR)]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    service_runtime::init_logging();
    let listener = service_runtime::listen("user service", args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    user_service::serve(listener, service_runtime::terminated())
        .await
        .context("user service failed")
}
