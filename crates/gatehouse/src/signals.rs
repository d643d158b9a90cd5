//! Process signals: the first SIGTERM or SIGINT starts a graceful shutdown; a second one ends the
//! process at once, for an operator who does not want to wait out the grace period.

use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, warn};

/// Completes on the first SIGTERM or SIGINT.
pub async fn terminate() {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        error!("cannot install signal handlers; stop the process with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => warn!("SIGTERM received"),
        _ = int.recv() => warn!("SIGINT received"),
    }
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        warn!("second signal: exiting without waiting for connections");
        std::process::exit(1);
    });
}
