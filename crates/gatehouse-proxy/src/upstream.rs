//! Upstream pools: named sets of endpoints behind one connection-pooling client, with load
//! balancing and passive health.

mod balance;
mod endpoint;
pub mod http1;
pub mod pool;
pub mod wire;
pub(crate) mod endpoint_clock {
    //! The monotonic millisecond clock shared by health and idle tracking.
    pub(crate) use super::endpoint::now_ms;
}

use std::sync::Arc;

use gatehouse_config::{UpstreamConfig, UpstreamProtocol};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

pub use balance::Balancer;
pub use endpoint::{Endpoint, InFlight};

use crate::body::ProxyBody;

/// The pooled HTTP client of one upstream.
pub type UpstreamClient = Client<HttpConnector, ProxyBody>;

/// One upstream pool.
#[derive(Debug)]
pub struct Upstream {
    /// The validated configuration; a reload keeps the pool when this is unchanged.
    pub config: UpstreamConfig,
    /// The endpoints, in configuration order.
    pub endpoints: Vec<Arc<Endpoint>>,
    /// The pooling HTTP/2 client of an `h2c` upstream; HTTP/1 upstreams use [`http1`] and
    /// per-thread [`pool`]s instead.
    pub client: Option<UpstreamClient>,
    balancer: Balancer,
}

impl Upstream {
    /// Builds a pool from its configuration.
    pub fn new(config: UpstreamConfig) -> Self {
        let client = (config.protocol == UpstreamProtocol::H2c).then(|| h2c_client(&config));
        let endpoints = config
            .endpoints
            .iter()
            .cloned()
            .map(|a| Arc::new(Endpoint::new(a)))
            .collect();
        Upstream {
            balancer: Balancer::new(config.balance),
            config,
            endpoints,
            client,
        }
    }

    /// How this pool's HTTP/1 connections are opened and kept.
    pub fn http1_settings(&self) -> http1::Settings {
        http1::Settings {
            connect_timeout: self.config.connect_timeout,
            idle_timeout: self.config.idle_timeout,
            max_idle: self.config.max_idle_per_endpoint,
        }
    }

    /// Picks a healthy endpoint, skipping `exclude` (an endpoint that just failed), or `None`
    /// when none is healthy.
    pub fn pick(&self, exclude: Option<&Arc<Endpoint>>) -> Option<Arc<Endpoint>> {
        let now = endpoint::now_ms();
        let usable =
            |e: &Arc<Endpoint>| e.is_healthy(now) && exclude.is_none_or(|x| !Arc::ptr_eq(x, e));
        // The usual pool is one endpoint: no need to gather candidates.
        if let [only] = self.endpoints.as_slice() {
            return usable(only).then(|| only.clone());
        }
        let healthy: Vec<&Arc<Endpoint>> = self.endpoints.iter().filter(|e| usable(e)).collect();
        self.balancer.pick(&healthy).cloned()
    }
}

fn h2c_client(config: &UpstreamConfig) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(config.connect_timeout));
    connector.set_nodelay(true);
    connector.enforce_http(true);
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_idle_timeout(config.idle_timeout)
        .pool_max_idle_per_host(config.max_idle_per_endpoint)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new());
    builder.http2_only(true);
    builder.build(connector)
}
