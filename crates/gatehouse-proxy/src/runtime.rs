//! One configuration generation: the routes and upstream pools built from one validated file.
//! Requests take a snapshot at arrival and keep it to the end, so a reload never changes the
//! rules under a request in flight.

use std::sync::Arc;

use gatehouse_auth::{AuthOptions, Authenticator, BuildError, CancellationToken};
use gatehouse_config::Config;

use crate::metrics::{Metrics, RouteMetrics};
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
    /// Edge authentication, when providers are configured.
    pub auth: Option<Arc<Auth>>,
    /// Metric handles, indexed like `config.routes`.
    pub route_metrics: Vec<RouteMetrics>,
}

/// A running authenticator; its key refresh stops when the last generation using it is gone.
#[derive(Debug)]
pub struct Auth {
    /// The authenticator.
    pub authenticator: Authenticator,
    providers: Vec<gatehouse_auth::ProviderConfig>,
    settings: gatehouse_config::AuthenticationConfig,
    stop: CancellationToken,
}

impl Drop for Auth {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Runtime {
    /// Builds a generation. Pools whose configuration did not change are taken over from
    /// `previous`, keeping their pooled connections and health state.
    pub fn build(
        config: Config,
        previous: Option<&Runtime>,
        metrics: &Metrics,
    ) -> Result<Self, BuildError> {
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
        let auth = match previous.and_then(|p| p.auth.as_ref()) {
            // Same providers: keep the keys, the verified-token cache and the refresh tasks.
            Some(auth)
                if auth.providers == config.providers && auth.settings == config.authentication =>
            {
                Some(auth.clone())
            }
            _ if config.providers.is_empty() => None,
            _ => {
                let options = AuthOptions {
                    cache_capacity: config.authentication.token_cache_entries,
                    max_token_bytes: config.authentication.max_token_bytes,
                    ..AuthOptions::default()
                };
                let authenticator = Authenticator::new(&config.providers, options)?;
                let stop = CancellationToken::new();
                authenticator.start(stop.clone());
                Some(Arc::new(Auth {
                    authenticator,
                    providers: config.providers.clone(),
                    settings: config.authentication.clone(),
                    stop,
                }))
            }
        };
        Ok(Runtime {
            router: Router::new(&config.routes),
            route_metrics: config
                .routes
                .iter()
                .map(|r| metrics.for_route(&r.name))
                .collect(),
            upstreams,
            auth,
            config: Arc::new(config),
        })
    }
}
