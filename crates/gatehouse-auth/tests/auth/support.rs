//! Providers and authenticators over the shared loopback identity provider
//! (`gatehouse_testkit::idp`), and waiting helpers.

use std::future::Future;
use std::time::Duration;

use gatehouse_auth::{AuthOptions, Authenticator, ProviderConfig, Rejection, RoutePolicy};
use serde_json::{Value, json};

// Keys, token minting and the loopback identity provider are shared with the gateway's tests.
pub use gatehouse_testkit::idp::*;

/// A provider config from JSON; `overrides` are merged over a JWKS-URL provider of `idp`.
pub fn provider(name: &str, issuer: &str, keys: Value, overrides: Value) -> ProviderConfig {
    let mut config = json!({
        "name": name,
        "issuer": issuer,
        "audiences": [AUD],
        "keys": keys,
        "claims": { "preset": "keycloak" },
        "fetch_timeout": "300ms",
        "refresh": {
            "min_interval": "50ms", "max_interval": "10m", "retry_interval": "50ms",
            "unknown_kid_cooldown": "50ms", "unknown_kid_ttl": "10m",
        },
    });
    for (k, v) in overrides.as_object().unwrap() {
        match (config.get_mut(k), v) {
            (Some(Value::Object(existing)), Value::Object(extra)) => {
                existing.extend(extra.iter().map(|(a, b)| (a.clone(), b.clone())));
            }
            _ => config[k] = v.clone(),
        }
    }
    serde_json::from_value(config).unwrap()
}

pub fn jwks_provider(name: &str, idp: &Idp, overrides: Value) -> ProviderConfig {
    provider(
        name,
        &idp.issuer(),
        json!({ "jwks_url": idp.jwks_url() }),
        overrides,
    )
}

pub fn authenticator(providers: &[ProviderConfig]) -> Authenticator {
    Authenticator::new(providers, AuthOptions::default()).unwrap()
}

/// An authenticator over one JWKS provider named `idp`, started and loaded.
pub async fn loaded(idp: &Idp, overrides: Value) -> Authenticator {
    let auth = authenticator(&[jwks_provider("idp", idp, overrides)]);
    auth.start(gatehouse_auth::CancellationToken::new());
    until("keys loaded", || async { auth.ready() }).await;
    auth
}

pub fn required() -> RoutePolicy {
    RoutePolicy::required(["idp"])
}

pub async fn check(
    auth: &Authenticator,
    token: &str,
) -> Result<Option<gatehouse_auth::Identity>, Rejection> {
    auth.authenticate(&bearer(token), &required())
        .await
        .map(|caller| caller.map(|c| c.identity.clone()))
}

/// Waits until `condition` holds, polling, with a deadline; panics naming `what` otherwise.
pub async fn until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let poll = async {
        while !condition().await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .is_err()
    {
        panic!("timed out waiting for: {what}");
    }
}
