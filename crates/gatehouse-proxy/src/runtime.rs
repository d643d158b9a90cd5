//! One configuration generation: the routes and upstream pools built from one validated file.
//! Requests take a snapshot at arrival and keep it to the end, so a reload never changes the
//! rules under a request in flight.

use std::sync::Arc;

use gatehouse_config::Config;

use crate::routing::Router;
use crate::upstream::Upstream;

/// Everything a request needs from the configuration.
#[derive(Debug)]
pub struct Runtime {
    /// The configuration this generation was built from.
    pub config: Arc<Config>,
    /// The route table.
    pub router: Router,
    /// Upstream pools, indexed like `config.upstreams`.
    pub upstreams: Vec<Arc<Upstream>>,
}

impl Runtime {
    /// Builds a generation. Pools whose configuration did not change are taken over from
    /// `previous`, keeping their pooled connections and health state.
    pub fn build(config: Config, previous: Option<&Runtime>) -> Self {
        let upstreams = config
            .upstreams
            .iter()
            .map(|wanted| {
                previous
                    .and_then(|p| p.upstreams.iter().find(|u| u.config == *wanted))
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Upstream::new(wanted.clone())))
            })
            .collect();
        Runtime {
            router: Router::new(&config.routes),
            upstreams,
            config: Arc::new(config),
        }
    }
}
