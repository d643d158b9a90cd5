//! The gateway as a whole: the current configuration generation, readiness, and the lifecycle
//! from bind to graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use gatehouse_config::Config;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::runtime::Runtime;
use crate::workers::Workers;
use crate::{admin, listener};

/// A readiness condition beyond the gateway's own (for example: identity providers loaded).
pub type ReadinessCheck = Box<dyn Fn() -> bool + Send + Sync>;

/// State shared by every connection.
pub struct Shared {
    runtime: ArcSwap<Runtime>,
    /// The request-path metrics.
    pub metrics: Metrics,
    /// Series for requests no route took.
    pub unmatched: crate::metrics::RouteMetrics,
    serving: AtomicBool,
    readiness: Vec<ReadinessCheck>,
    /// Connection slots (`listen.max_connections`): each client connection, and each upgraded
    /// tunnel, holds one; draining waits to take them all back.
    pub(crate) slots: Arc<Semaphore>,
}

impl Shared {
    /// The current configuration generation.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.load_full()
    }

    /// Ready for traffic: serving, not draining, every identity provider has loaded keys once,
    /// and every extra check passes.
    pub fn is_ready(&self) -> bool {
        self.serving.load(Ordering::Acquire)
            && self
                .runtime()
                .auth
                .as_ref()
                .is_none_or(|auth| auth.authenticator.ready())
            && self.readiness.iter().all(|check| check())
    }
}

/// Why a new configuration was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// A listener address changed; that needs a restart.
    #[error("{0} cannot change on reload; restart the gateway to move it")]
    AddressChanged(&'static str),
    /// The identity providers could not be set up (a key file, a secret variable).
    #[error(transparent)]
    Auth(#[from] gatehouse_auth::BuildError),
}

/// The gateway: build it from a configuration, bind, run until told to stop.
pub struct Gateway {
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    workers: Option<Arc<Workers>>,
}

/// Sockets bound and ready to serve.
pub struct Bound {
    listener: TcpListener,
    admin: TcpListener,
}

impl Bound {
    /// The public listener's address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The admin listener's address.
    pub fn admin_addr(&self) -> std::io::Result<SocketAddr> {
        self.admin.local_addr()
    }
}

impl Gateway {
    /// Builds a gateway; `registry` may already hold other components' metrics. Must be called
    /// inside a tokio runtime: key-set refresh starts here.
    pub fn new(
        config: Config,
        mut registry: Registry,
        readiness: Vec<ReadinessCheck>,
    ) -> Result<Self, ReloadError> {
        let metrics = Metrics::new(&mut registry);
        let slots = Arc::new(Semaphore::new(config.listener.max_connections));
        let shared = Arc::new(Shared {
            slots,
            runtime: ArcSwap::from_pointee(Runtime::build(config, None, &metrics)?),
            unmatched: metrics.for_route("unmatched"),
            metrics,
            serving: AtomicBool::new(false),
            readiness,
        });
        Ok(Gateway {
            shared,
            registry: Arc::new(registry),
            workers: None,
        })
    }

    /// Serves connections on these worker runtimes instead of the one `run` is called on.
    pub fn with_workers(mut self, workers: Workers) -> Self {
        self.workers = Some(Arc::new(workers));
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.shared.runtime().config.clone()
    }

    /// Whether `/readyz` answers ready.
    pub fn is_ready(&self) -> bool {
        self.shared.is_ready()
    }

    /// Applies a new, already validated configuration atomically. Requests in flight finish on
    /// the generation they started with; new ones see the new one.
    pub fn reload(&self, config: Config) -> Result<(), ReloadError> {
        let current = self.shared.runtime();
        let result = if config.listener.address != current.config.listener.address {
            Err(ReloadError::AddressChanged("listen.address"))
        } else if config.admin.address != current.config.admin.address {
            Err(ReloadError::AddressChanged("admin.address"))
        } else {
            Runtime::build(config, Some(&current), &self.shared.metrics)
                .map(|next| self.shared.runtime.store(Arc::new(next)))
                .map_err(ReloadError::from)
        };
        self.shared.metrics.reload(result.is_ok());
        result
    }

    /// Counts a reload that failed before reaching the gateway (an invalid file).
    pub fn reload_failed(&self) {
        self.shared.metrics.reload(false);
    }

    /// Binds the public and admin listeners.
    pub async fn bind(&self) -> std::io::Result<Bound> {
        let config = self.config();
        let listener = TcpListener::bind(config.listener.address).await?;
        let admin = TcpListener::bind(config.admin.address).await?;
        Ok(Bound { listener, admin })
    }

    /// Serves until `shutdown` completes, then drains: readiness turns false, after the drain
    /// delay the listener closes, and connections get the grace period to finish their requests.
    /// Returns the number of connections still open when the grace period ran out.
    pub async fn run(&self, bound: Bound, shutdown: impl Future<Output = ()>) -> usize {
        let config = self.config();
        let max_connections = config.listener.max_connections;
        let slots = self.shared.slots.clone();
        let (stop_accepting, stop_rx) = watch::channel(false);
        let (drain, drain_rx) = watch::channel(false);
        let (stop_admin, admin_rx) = watch::channel(false);

        let admin = tokio::spawn(admin::serve(
            bound.admin,
            self.shared.clone(),
            self.registry.clone(),
            admin_rx,
        ));
        let accept = tokio::spawn(listener::accept_loop(
            bound.listener,
            self.shared.clone(),
            slots.clone(),
            stop_rx,
            drain_rx,
            self.workers.clone(),
        ));
        self.shared.serving.store(true, Ordering::Release);
        info!(address = %config.listener.address, admin = %config.admin.address, "gatehouse is serving");

        shutdown.await;
        let config = self.config();
        self.shared.serving.store(false, Ordering::Release);
        info!(drain_delay = ?config.shutdown.drain_delay, "shutting down: readiness is now false");
        if !config.shutdown.drain_delay.is_zero() {
            // Load balancers need this long to notice readiness turned false.
            tokio::time::sleep(config.shutdown.drain_delay).await;
        }
        let _ = stop_accepting.send(true);
        let _ = accept.await;
        let _ = drain.send(true);
        let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
        let left = match tokio::time::timeout(config.shutdown.grace_period, slots.acquire_many(all))
            .await
        {
            Ok(_) => 0,
            Err(_) => {
                let left = max_connections - slots.available_permits();
                warn!(
                    connections = left,
                    "grace period over; closing the remaining connections"
                );
                left
            }
        };
        let _ = stop_admin.send(true);
        let _ = admin.await;
        info!("gatehouse stopped");
        left
    }
}
