//! Configuration reload on SIGHUP and on a change of the file's content. Content, not
//! modification time or inotify, is compared: Kubernetes updates a mounted ConfigMap by swapping
//! a symlink, which breaks file watches but never a read.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_proxy::Gateway;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

fn fingerprint(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    Some(hasher.finish())
}

/// Watches for reload triggers until the task is dropped.
pub async fn watch(path: PathBuf, gateway: Arc<Gateway>, interval: Duration) {
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!(error = %e, "cannot install the SIGHUP handler; reload by file change only");
            None
        }
    };
    let mut last = fingerprint(&path);
    loop {
        let trigger = tokio::select! {
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => None } } => "SIGHUP",
            () = tokio::time::sleep(interval), if !interval.is_zero() => {
                let now = fingerprint(&path);
                if now == last || now.is_none() {
                    continue;
                }
                "file change"
            }
        };
        last = fingerprint(&path);
        reload(&path, &gateway, trigger);
    }
}

fn reload(path: &Path, gateway: &Gateway, trigger: &str) {
    match gatehouse_config::load(path) {
        Ok(config) => match gateway.reload(config) {
            Ok(()) => info!(trigger, "configuration reloaded"),
            Err(e) => {
                error!(trigger, error = %e, "configuration not reloaded; the previous one stays in force")
            }
        },
        Err(e) => {
            gateway.reload_failed();
            error!(
                trigger,
                problems = ?e.issues(),
                "configuration not reloaded; the previous one stays in force"
            );
        }
    }
}
