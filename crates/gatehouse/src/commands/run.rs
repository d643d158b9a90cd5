//! `gatehouse run`: serve until SIGTERM or SIGINT, reloading on SIGHUP or a file change.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use gatehouse_proxy::{Gateway, Workers};
use prometheus_client::registry::Registry;
use tracing::info;

use crate::{logging, reload, signals};

/// Loads the configuration, serves, and returns after a graceful shutdown.
pub fn run(path: &Path) -> anyhow::Result<()> {
    let config = gatehouse_config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let _logs = logging::init(&config.logging)?;
    let workers = worker_threads()?.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    // This thread runs the control plane (signals, reload, admin, key refresh); connections run
    // on the workers.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let watch_interval = config.reload.watch_interval;
        let gateway = Arc::new(
            Gateway::new(config, Registry::default(), Vec::new())
                .context("cannot set up the gateway")?
                .with_workers(Workers::start(workers).context("cannot start the workers")?),
        );
        let bound = gateway.bind().await.context("cannot bind the listeners")?;
        info!(
            listen = %bound.local_addr()?,
            admin = %bound.admin_addr()?,
            "listening"
        );
        let reloader = tokio::spawn(reload::watch(
            path.to_owned(),
            gateway.clone(),
            watch_interval,
        ));
        let left = gateway.run(bound, signals::terminate()).await;
        reloader.abort();
        if left > 0 {
            info!(connections = left, "exited with connections still open");
        }
        Ok(())
    })
}

/// Connection worker threads from `GATEHOUSE_WORKER_THREADS` (default: one per core).
fn worker_threads() -> anyhow::Result<Option<usize>> {
    match std::env::var("GATEHOUSE_WORKER_THREADS") {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(error) => Err(anyhow::anyhow!("GATEHOUSE_WORKER_THREADS: {error}")),
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(anyhow::anyhow!(
                "GATEHOUSE_WORKER_THREADS: expected a positive integer, got {value:?}"
            )),
        },
    }
}
