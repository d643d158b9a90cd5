//! The entry point the proxy calls: verify a request's bearer token against a route policy.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwapOption;
use http::HeaderMap;
use jsonwebtoken::Algorithm;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::algorithm::parse_algorithm;
use crate::authenticated::Authenticated;
use crate::bearer::{DEFAULT_MAX_TOKEN_BYTES, bearer_token};
use crate::cache::{CachedToken, TokenCache, token_hash};
use crate::claims::ClaimMapping;
use crate::config::{ProviderConfig, check_fetch_url, validate_providers};
use crate::fetch::{FetchError, Fetcher, HttpClientOptions};
use crate::issue::ConfigIssue;
use crate::keys::{KeyError, KeySet};
use crate::metrics::{CacheLabels, LoadedAt, Metrics, ReasonLabels};
use crate::payload::Claim;
use crate::policy::{AuthMode, RoutePolicy};
use crate::provider::{Endpoint, Provider, Remote};
use crate::rejection::Rejection;
use crate::verify::ClaimRules;

/// Options of the authenticator as a whole.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// The client that fetches key sets.
    pub http: HttpClientOptions,
    /// Longest bearer token accepted, in bytes.
    pub max_token_bytes: usize,
    /// Entries of the verified-token cache; zero disables it.
    pub cache_capacity: usize,
}

impl Default for AuthOptions {
    fn default() -> Self {
        Self {
            http: HttpClientOptions::default(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            cache_capacity: 10_000,
        }
    }
}

/// Why an authenticator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The provider configuration is invalid.
    #[error("invalid authentication configuration:\n{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigIssue>),
    /// A static key file could not be read or used.
    #[error("{path}: {file}: {message}")]
    KeyFile {
        /// Location in the configuration.
        path: String,
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The HMAC secret's environment variable is unset or too short.
    #[error("{path}: environment variable {var} is unset, not UTF-8 or shorter than 32 bytes")]
    Env {
        /// Location in the configuration.
        path: String,
        /// The variable.
        var: String,
    },
    /// The HTTP client could not be built.
    #[error("key-set HTTP client: {0}")]
    Client(FetchError),
}

/// Verifies bearer tokens for the gateway; cheap to clone, all clones share state.
///
/// Background refresh runs after [`Authenticator::start`] and stops when the token passed there
/// is cancelled or when the last clone is dropped.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    providers: Vec<Arc<Provider>>,
    /// foldhash, not SipHash: looked up on every verification, filled only from configuration,
    /// so no client can choose its keys.
    by_issuer: HashMap<String, usize, foldhash::fast::RandomState>,
    cache: Arc<TokenCache>,
    metrics: Metrics,
    // Resolved once: a labelled lookup per request took a lock and hashed the labels.
    cache_hits: Counter,
    cache_misses: Counter,
    max_token_bytes: usize,
    started: AtomicBool,
    shutdown: CancellationToken,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .inner
            .providers
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        f.debug_struct("Authenticator")
            .field("providers", &names)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Validates the providers, loads static keys and secrets, and prepares fetchers.
    ///
    /// Nothing is fetched yet: call [`Authenticator::start`] (or [`Authenticator::refresh_now`]).
    pub fn new(providers: &[ProviderConfig], options: AuthOptions) -> Result<Self, BuildError> {
        let issues = validate_providers(providers, "providers");
        if !issues.is_empty() {
            return Err(BuildError::Invalid(issues));
        }
        let fetcher = Fetcher::new(&options.http).map_err(BuildError::Client)?;
        let cache = Arc::new(TokenCache::new(options.cache_capacity));
        let metrics = Metrics::default();
        let mut built = Vec::with_capacity(providers.len());
        let mut by_issuer = HashMap::default();
        for (index, config) in providers.iter().enumerate() {
            let path = format!("providers[{index}]");
            let provider = build_provider(config, &path, &fetcher, &metrics, &cache)?;
            by_issuer.insert(config.issuer.clone(), index);
            built.push(Arc::new(provider));
        }
        let cache_hits = metrics
            .cache
            .get_or_create(&CacheLabels { result: "hit" })
            .clone();
        let cache_misses = metrics
            .cache
            .get_or_create(&CacheLabels { result: "miss" })
            .clone();
        Ok(Self {
            inner: Arc::new(Inner {
                providers: built,
                by_issuer,
                cache,
                cache_hits,
                cache_misses,
                metrics,
                max_token_bytes: options.max_token_bytes,
                started: AtomicBool::new(false),
                shutdown: CancellationToken::new(),
            }),
        })
    }

    /// Spawns one refresh task per fetched key set; a second call does nothing.
    ///
    /// Must be called inside a Tokio runtime. The tasks stop when `stop` is cancelled or when
    /// the last clone of this authenticator is dropped.
    pub fn start(&self, stop: CancellationToken) {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        for provider in &self.inner.providers {
            if provider.remote.is_some() {
                let task =
                    Arc::clone(provider).run_refresh(stop.clone(), self.inner.shutdown.clone());
                tokio::spawn(task);
            }
        }
    }

    /// Fetches every remote key set once, one after another; returns the failures by provider.
    pub async fn refresh_now(&self) -> Vec<(String, FetchError)> {
        let fetches = self.inner.providers.iter().filter_map(|provider| {
            let remote = provider.remote.as_ref()?;
            Some(async move {
                provider
                    .refresh(remote)
                    .await
                    .err()
                    .map(|e| (provider.name.clone(), e))
            })
        });
        let mut failures = Vec::new();
        for fetch in fetches {
            if let Some(failure) = fetch.await {
                failures.push(failure);
            }
        }
        failures
    }

    /// True once every provider has loaded keys at least once (for `/readyz`).
    pub fn ready(&self) -> bool {
        self.inner.providers.iter().all(|p| p.ready())
    }

    /// Names of the providers whose keys have never loaded.
    pub fn not_ready(&self) -> Vec<String> {
        self.inner
            .providers
            .iter()
            .filter(|p| !p.ready())
            .map(|p| p.name.clone())
            .collect()
    }

    /// Names of the configured providers, in configuration order.
    pub fn provider_names(&self) -> Vec<&str> {
        self.inner
            .providers
            .iter()
            .map(|p| p.name.as_str())
            .collect()
    }

    /// Number of entries in the verified-token cache.
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.len()
    }

    /// Registers the authentication metrics.
    pub fn register_metrics(&self, registry: &mut Registry) {
        let ages = self
            .inner
            .providers
            .iter()
            .map(|p| (p.name.clone(), Arc::clone(&p.loaded_at)))
            .collect();
        self.inner.metrics.register(registry, ages);
    }

    /// Authenticates a request for a route.
    ///
    /// `Ok(None)` means anonymous access is allowed (public route, or optional route without a
    /// token); `Ok(Some(_))` carries the verified identity. The token is never logged or stored;
    /// only its SHA-256 is kept, as the cache key.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        policy: &RoutePolicy,
    ) -> Result<Option<Arc<Authenticated>>, Rejection> {
        self.authenticate_detailed(headers, policy)
            .await
            .map(|done| done.caller)
    }

    /// [`authenticate`](Self::authenticate), also telling whether a signature was checked.
    pub async fn authenticate_detailed(
        &self,
        headers: &HeaderMap,
        policy: &RoutePolicy,
    ) -> Result<Authentication, Rejection> {
        let mut verified_now = false;
        let result = self
            .authenticate_inner(headers, policy, &mut verified_now)
            .await
            .map(|caller| Authentication {
                caller,
                verified_now,
            });
        if let Err(rejection) = &result {
            self.inner
                .metrics
                .rejections
                .get_or_create(&ReasonLabels {
                    reason: rejection.reason(),
                })
                .inc();
            tracing::debug!(reason = rejection.reason(), detail = %rejection, "request refused");
        }
        result
    }

    async fn authenticate_inner(
        &self,
        headers: &HeaderMap,
        policy: &RoutePolicy,
        verified_now: &mut bool,
    ) -> Result<Option<Arc<Authenticated>>, Rejection> {
        if policy.mode == AuthMode::Public {
            return Ok(None);
        }
        let Some(token) = bearer_token(headers, self.inner.max_token_bytes)? else {
            return match policy.mode {
                AuthMode::Required => Err(Rejection::Missing),
                AuthMode::Optional | AuthMode::Public => Ok(None),
            };
        };
        let now = unix_now();
        // With the cache off, the token is not even hashed.
        let hash = self.inner.cache.is_enabled().then(|| token_hash(token));
        if let Some(hash) = &hash {
            if let Some(hit) = self.inner.cache.get(hash, now) {
                match self.inner.providers.get(hit.provider) {
                    Some(provider) if provider.has_key(&hit.key) => {
                        if policy.accepts_provider(&provider.name) {
                            self.inner.cache_hits.inc();
                            return permit(policy, hit.caller.clone());
                        }
                    }
                    // The verifying key rotated away since: verify afresh.
                    _ => self.inner.cache.remove(hash),
                }
            }
            self.inner.cache_misses.inc();
        }
        let mut payload = Vec::new();
        let parsed = crate::token::parse(token, &mut payload)?;
        let index = parsed
            .claims
            .get("iss")
            .and_then(Claim::as_str)
            .and_then(|iss| self.inner.by_issuer.get(iss))
            .copied()
            .ok_or(Rejection::WrongIssuer)?;
        let provider = self
            .inner
            .providers
            .get(index)
            .ok_or(Rejection::WrongIssuer)?;
        if !policy.accepts_provider(&provider.name) {
            return Err(Rejection::WrongIssuer);
        }
        let verified = provider.verify(&parsed, now).await?;
        let caller = Arc::new(Authenticated::new(verified.identity));
        if let (Some(hash), Some(exp)) = (hash, verified.exp) {
            self.inner.cache.insert(
                hash,
                CachedToken {
                    provider: index,
                    caller: caller.clone(),
                    exp,
                    key: verified.key,
                },
            );
        }
        *verified_now = true;
        permit(policy, caller)
    }
}

/// The outcome of [`Authenticator::authenticate_detailed`].
#[derive(Debug, Clone)]
pub struct Authentication {
    /// The verified caller; `None` when anonymous access is allowed.
    pub caller: Option<Arc<Authenticated>>,
    /// Whether a signature was verified for this request (a cache miss): the one expensive step.
    pub verified_now: bool,
}

fn permit(
    policy: &RoutePolicy,
    caller: Arc<Authenticated>,
) -> Result<Option<Arc<Authenticated>>, Rejection> {
    if policy.permits(&caller.identity) {
        Ok(Some(caller))
    } else {
        Err(Rejection::Policy)
    }
}

/// Seconds since the Unix epoch. On Linux from the kernel's coarse clock: claims are checked to
/// the second, and this is read on every request, cache hits included.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn unix_now() -> i64 {
    rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec
}

/// Seconds since the Unix epoch.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn unix_now() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn build_provider(
    config: &ProviderConfig,
    path: &str,
    fetcher: &Fetcher,
    metrics: &Metrics,
    cache: &Arc<TokenCache>,
) -> Result<Provider, BuildError> {
    // Validation has run, so every name parses; filter_map keeps this panic-free regardless.
    let algorithms: Vec<Algorithm> = config
        .algorithms
        .iter()
        .filter_map(|a| parse_algorithm(a).ok())
        .collect();
    let keys = &config.keys;
    let mut initial = None;
    let mut remote = None;
    let invalid = |at: &str, msg: String| BuildError::Invalid(vec![ConfigIssue::new(at, msg)]);
    if let Some(url) = &keys.jwks_url {
        let uri = check_fetch_url(url).map_err(|m| invalid(&format!("{path}.keys.jwks_url"), m))?;
        remote = Some(Endpoint::Jwks(uri));
    } else if keys.discovery {
        remote = Some(Endpoint::Discovery(config.issuer.clone()));
    } else if let Some(files) = &keys.static_keys {
        initial = Some(load_static(files, &algorithms, path)?);
    } else if let Some(var) = &keys.hmac_secret_env {
        let secret = std::env::var(var)
            .ok()
            .filter(|s| s.len() >= crate::config::MIN_HMAC_SECRET_BYTES)
            .ok_or_else(|| BuildError::Env {
                path: format!("{path}.keys.hmac_secret_env"),
                var: var.clone(),
            })?;
        initial = Some(
            KeySet::hmac(secret.as_bytes())
                .map_err(|e| invalid(&format!("{path}.keys"), e.to_string()))?,
        );
    } else if let Some(secret) = &keys.hmac_secret {
        initial = Some(
            KeySet::hmac(secret.0.as_bytes())
                .map_err(|e| invalid(&format!("{path}.keys"), e.to_string()))?,
        );
    }
    let loaded_at = Arc::new(LoadedAt::default());
    if initial.is_some() {
        loaded_at.mark_now();
    }
    let leeway = i64::try_from(config.leeway.get().as_secs()).unwrap_or(i64::MAX);
    Ok(Provider {
        name: config.name.clone(),
        issuer: config.issuer.clone(),
        rules: ClaimRules {
            issuer: config.issuer.clone(),
            audiences: config.audiences.clone(),
            leeway,
            require_exp: config.require_exp,
            max_lifetime: config
                .max_token_lifetime
                .map(|d| i64::try_from(d.get().as_secs()).unwrap_or(i64::MAX)),
        },
        algorithms,
        mapping: ClaimMapping::from_config(&config.claims),
        remote: remote.map(|endpoint| {
            Remote::new(
                endpoint,
                fetcher.clone(),
                config.refresh.clone(),
                config.fetch_timeout.get(),
                config.max_response_size.as_usize(),
            )
        }),
        keys: ArcSwapOption::new(initial.map(Arc::new)),
        loaded_at,
        metrics: metrics.clone(),
        cache: Arc::clone(cache),
    })
}

fn load_static(
    files: &[crate::config::StaticKeyConfig],
    algorithms: &[Algorithm],
    path: &str,
) -> Result<KeySet, BuildError> {
    let mut set = KeySet::default();
    for (i, file) in files.iter().enumerate() {
        let key_error = |message: String| BuildError::KeyFile {
            path: format!("{path}.keys.static[{i}]"),
            file: file.file.clone(),
            message,
        };
        let bytes = std::fs::read(&file.file).map_err(|e| key_error(e.to_string()))?;
        if bytes.len() > 1 << 20 {
            return Err(key_error("larger than 1MiB".to_owned()));
        }
        let pinned = file
            .algorithm
            .as_deref()
            .and_then(|a| parse_algorithm(a).ok());
        let trimmed = bytes.trim_ascii_start();
        if trimmed.starts_with(b"{") {
            let doc = KeySet::from_jwk_document(trimmed, algorithms)
                .map_err(|e: KeyError| key_error(e.to_string()))?;
            set.extend(doc);
        } else {
            set.add_pem(trimmed, file.kid.clone(), pinned)
                .map_err(|e| key_error(e.to_string()))?;
        }
    }
    Ok(set)
}
