//! A gateway running in-process on loopback ports, for tests that need no separate process.

use std::net::SocketAddr;
use std::sync::Arc;

use gatehouse_proxy::Gateway;
use prometheus_client::registry::Registry;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running gateway.
pub struct TestGateway {
    /// The public listener.
    pub addr: SocketAddr,
    /// The admin listener.
    pub admin: SocketAddr,
    /// The gateway, for reloads and readiness.
    pub gateway: Arc<Gateway>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<usize>>,
}

impl TestGateway {
    /// Starts a gateway from YAML; `listen.address` and `admin.address` default to free loopback
    /// ports when the YAML does not set them.
    pub async fn start(yaml: &str) -> Self {
        let yaml = with_loopback_listeners(yaml);
        let config = gatehouse_config::parse(&yaml)
            .unwrap_or_else(|e| panic!("test config is invalid: {e}\n{yaml}"));
        Self::start_config(config).await
    }

    /// Starts a gateway from a validated configuration.
    pub async fn start_config(config: gatehouse_config::Config) -> Self {
        let gateway =
            Arc::new(Gateway::new(config, Registry::default(), Vec::new()).expect("build gateway"));
        let bound = gateway.bind().await.expect("bind gateway");
        let addr = bound.local_addr().expect("gateway address");
        let admin = bound.admin_addr().expect("admin address");
        let (stop, stopped) = oneshot::channel::<()>();
        let runner = gateway.clone();
        let task = tokio::spawn(async move {
            runner
                .run(bound, async {
                    let _ = stopped.await;
                })
                .await
        });
        TestGateway {
            addr,
            admin,
            gateway,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://ADDR` of the public listener.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Reloads from YAML (loopback listeners kept as they are).
    pub fn reload(&self, yaml: &str) -> Result<(), String> {
        let current = self.gateway.config();
        let yaml = with_loopback_listeners(yaml);
        let mut config = gatehouse_config::parse(&yaml).map_err(|e| e.to_string())?;
        config.listener.address = current.listener.address;
        config.admin.address = current.admin.address;
        self.gateway.reload(config).map_err(|e| e.to_string())
    }

    /// Starts the graceful shutdown and waits for it; returns connections left at the end.
    pub async fn stop(mut self) -> usize {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(usize::MAX),
            None => 0,
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn with_loopback_listeners(yaml: &str) -> String {
    let mut yaml = yaml.to_owned();
    if !yaml.contains("listen:") {
        yaml.push_str("\nlisten:\n  address: 127.0.0.1:0\n");
    }
    if !yaml.contains("admin:") {
        yaml.push_str("\nadmin:\n  address: 127.0.0.1:0\n");
    }
    yaml
}
