//! One identity provider at run time: its keys, how they stay fresh, and token verification.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use gatehouse_context::Identity;
use http::Uri;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cache::TokenCache;
use crate::claims::ClaimMapping;
use crate::config::RefreshConfig;
use crate::fetch::{FetchError, Fetcher};
use crate::keys::{Fingerprint, KeySet, Lookup, VerifyingKey};
use crate::metrics::{LoadedAt, Metrics};
use crate::rejection::Rejection;
use crate::token::ParsedToken;
use crate::verify::{ClaimRules, check_claims, check_signature};

/// Most unknown `kid`s remembered per provider; beyond it the oldest are forgotten.
const UNKNOWN_KID_CAPACITY: usize = 1024;

/// What a successful verification yields.
pub(crate) struct Verified {
    /// The mapped identity.
    pub identity: Identity,
    /// The token's `exp`, if it has one.
    pub exp: Option<i64>,
    /// The key that verified it.
    pub key: Fingerprint,
}

/// Where a fetched key set lives.
#[derive(Debug)]
pub(crate) enum Endpoint {
    /// A configured JWKS URL.
    Jwks(Uri),
    /// Discovery from this issuer URL; the found JWKS URL is remembered.
    Discovery(String),
}

/// The remote half of a provider whose keys are fetched.
pub(crate) struct Remote {
    pub endpoint: Endpoint,
    pub fetcher: Fetcher,
    pub refresh: RefreshConfig,
    pub timeout: Duration,
    pub max_bytes: usize,
    /// JWKS URL found by discovery.
    pub discovered: ArcSwapOption<Uri>,
    /// Time of the last fetch triggered by an unknown `kid`; the lock makes such fetches
    /// single-flight.
    pub on_demand: Mutex<Option<Instant>>,
    /// `kid`s a fresh fetch did not contain, with the time they may be fetched for again.
    pub unknown_kids: quick_cache::sync::Cache<String, Instant>,
}

impl Remote {
    /// Builds the remote state.
    pub fn new(
        endpoint: Endpoint,
        fetcher: Fetcher,
        refresh: RefreshConfig,
        timeout: Duration,
        max_bytes: usize,
    ) -> Self {
        Self {
            endpoint,
            fetcher,
            refresh,
            timeout,
            max_bytes,
            discovered: ArcSwapOption::empty(),
            on_demand: Mutex::new(None),
            unknown_kids: quick_cache::sync::Cache::new(UNKNOWN_KID_CAPACITY),
        }
    }
}

/// A configured provider with its current keys.
pub(crate) struct Provider {
    pub name: String,
    pub issuer: String,
    pub algorithms: Vec<Algorithm>,
    pub rules: ClaimRules,
    pub mapping: ClaimMapping,
    pub remote: Option<Remote>,
    pub keys: ArcSwapOption<KeySet>,
    pub loaded_at: Arc<LoadedAt>,
    pub metrics: Metrics,
    pub cache: Arc<TokenCache>,
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
}

impl Provider {
    /// Whether keys have been loaded at least once.
    pub fn ready(&self) -> bool {
        self.keys.load().is_some()
    }

    /// Whether the key with this fingerprint is still in the current set.
    pub fn has_key(&self, fingerprint: &Fingerprint) -> bool {
        self.keys
            .load()
            .as_ref()
            .is_some_and(|set| set.contains(fingerprint))
    }

    /// Installs a new key set, dropping cache entries of keys that went away.
    pub fn install(&self, next: KeySet) {
        let previous = self.keys.swap(Some(Arc::new(next)));
        if let (Some(previous), Some(current)) = (previous, self.keys.load_full()) {
            let removed = previous.removed_in(&current);
            if !removed.is_empty() {
                tracing::info!(provider = %self.name, removed = removed.len(), "keys rotated away");
                self.cache.drop_keys(&removed);
            }
        }
        self.loaded_at.mark_now();
    }

    /// Verifies a parsed token issued by this provider.
    pub async fn verify(&self, token: &ParsedToken<'_>, now: i64) -> Result<Verified, Rejection> {
        // Checked before any key lookup, so a disallowed alg cannot trigger fetches.
        if !self.algorithms.contains(&token.alg) {
            return Err(Rejection::Algorithm("not allowed for this provider"));
        }
        // The claims next, before any key lookup or signature check, as Envoy's jwt_authn does:
        // a token its own claims refuse (expired, not yet valid, for another audience) is
        // refused without a signature verification, the one costly step, and cannot make the
        // gateway fetch keys for its `kid`. Refusing on claims nobody has verified is safe: it
        // can only keep a request out.
        let exp = check_claims(&token.claims, &self.rules, now)?;
        let candidates = self.candidates(token.kid.as_deref()).await?;
        let mut outcome = Err(Rejection::UnknownKey);
        for key in &candidates {
            outcome = check_signature(token, key, &self.algorithms).map(|()| key.fingerprint);
            if outcome.is_ok() {
                break;
            }
        }
        let key = outcome?;
        let identity = self
            .mapping
            .identity(&self.issuer, &token.claims)
            .ok_or(Rejection::MissingSubject)?;
        Ok(Verified { identity, exp, key })
    }

    async fn candidates(&self, kid: Option<&str>) -> Result<Vec<Arc<VerifyingKey>>, Rejection> {
        let Some(current) = self.keys.load_full() else {
            return Err(Rejection::KeysUnavailable(self.name.clone()));
        };
        match (current.lookup(kid), kid, &self.remote) {
            (Lookup::Found(keys), _, _) => Ok(keys),
            (Lookup::UnknownKid, Some(kid), Some(remote)) => {
                match self.fetch_for_kid(remote, kid).await {
                    Some(set) => match set.lookup(Some(kid)) {
                        Lookup::Found(keys) => Ok(keys),
                        Lookup::UnknownKid => Err(Rejection::UnknownKey),
                    },
                    None => Err(Rejection::UnknownKey),
                }
            }
            _ => Err(Rejection::UnknownKey),
        }
    }

    /// Refetches the key set for a token naming an unknown `kid`.
    ///
    /// At most one such fetch runs at a time, they are at least `unknown_kid_cooldown` apart, and
    /// a `kid` that a fresh fetch did not contain is refused without fetching for
    /// `unknown_kid_ttl`: a flood of random `kid`s costs the provider at most one request per
    /// cooldown.
    async fn fetch_for_kid(&self, remote: &Remote, kid: &str) -> Option<Arc<KeySet>> {
        let now = Instant::now();
        if remote
            .unknown_kids
            .get(kid)
            .is_some_and(|until| until > now)
        {
            return None;
        }
        let mut last = tokio::time::timeout(remote.timeout, remote.on_demand.lock())
            .await
            .ok()?;
        // The fetch we waited for may have brought the key.
        if let Some(set) = self.keys.load_full()
            && set.has_kid(kid)
        {
            return Some(set);
        }
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < remote.refresh.unknown_kid_cooldown.get())
        {
            return None;
        }
        *last = Some(now);
        if let Err(error) = self.refresh(remote).await {
            tracing::warn!(provider = %self.name, %error, "key-set fetch for an unknown kid failed");
        }
        drop(last);
        let set = self.keys.load_full()?;
        if set.has_kid(kid) {
            return Some(set);
        }
        let until = Instant::now() + remote.refresh.unknown_kid_ttl.get();
        remote.unknown_kids.insert(kid.to_owned(), until);
        None
    }

    /// Fetches and installs the key set once; returns how long it may be considered fresh.
    pub async fn refresh(&self, remote: &Remote) -> Result<Duration, FetchError> {
        let uri = match &remote.endpoint {
            Endpoint::Jwks(uri) => uri.clone(),
            Endpoint::Discovery(issuer) => match remote.discovered.load_full() {
                Some(uri) => Uri::clone(&uri),
                None => {
                    let uri = self.discover(remote, issuer).await?;
                    remote.discovered.store(Some(Arc::new(uri.clone())));
                    uri
                }
            },
        };
        let result = self.fetch_keys(remote, &uri).await;
        self.metrics.fetch(&self.name, "jwks", result.is_ok());
        match result {
            Ok((set, max_age)) => {
                self.install(set);
                let bounds = &remote.refresh;
                let fresh = max_age
                    .unwrap_or(bounds.max_interval.get())
                    .clamp(bounds.min_interval.get(), bounds.max_interval.get());
                Ok(fresh)
            }
            Err(error) => {
                // A moved key set is found again through discovery on the next attempt.
                remote.discovered.store(None);
                Err(error)
            }
        }
    }

    async fn fetch_keys(
        &self,
        remote: &Remote,
        uri: &Uri,
    ) -> Result<(KeySet, Option<Duration>), FetchError> {
        let fetched = remote
            .fetcher
            .get(uri, remote.timeout, remote.max_bytes)
            .await?;
        let set = KeySet::from_jwk_document(&fetched.body, &self.algorithms)
            .map_err(|e| FetchError::Document(e.to_string()))?;
        Ok((set, fetched.max_age))
    }

    async fn discover(&self, remote: &Remote, issuer: &str) -> Result<Uri, FetchError> {
        let result = self.discover_once(remote, issuer).await;
        self.metrics.fetch(&self.name, "discovery", result.is_ok());
        result
    }

    async fn discover_once(&self, remote: &Remote, issuer: &str) -> Result<Uri, FetchError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let uri: Uri = url
            .parse()
            .map_err(|_| FetchError::Document("issuer does not form a discovery URL".to_owned()))?;
        let fetched = remote
            .fetcher
            .get(&uri, remote.timeout, remote.max_bytes)
            .await?;
        let doc: DiscoveryDocument = serde_json::from_slice(&fetched.body)
            .map_err(|e| FetchError::Document(e.to_string()))?;
        // OpenID Connect Discovery §4.3: the document must name exactly the issuer we asked.
        if doc.issuer != issuer {
            return Err(FetchError::Document(
                "discovery issuer differs from the configured issuer".to_owned(),
            ));
        }
        crate::config::check_fetch_url(&doc.jwks_uri).map_err(FetchError::Document)
    }

    /// Keeps the key set fresh until `stop` or `shutdown` is cancelled.
    pub async fn run_refresh(
        self: Arc<Self>,
        stop: CancellationToken,
        shutdown: CancellationToken,
    ) {
        let Some(remote) = &self.remote else { return };
        loop {
            let wait = match self.refresh(remote).await {
                Ok(fresh) => fresh,
                Err(error) => {
                    tracing::warn!(provider = %self.name, %error, "key-set refresh failed; keeping the last good keys");
                    remote.refresh.retry_interval.get()
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => return,
                () = shutdown.cancelled() => return,
            }
        }
    }
}
