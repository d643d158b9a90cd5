//! Provider configuration as it appears in the gateway's YAML, and its validation.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;

use crate::algorithm::{DEFAULT_ALGORITHMS, is_hmac, parse_algorithm};
use crate::claims::ClaimMappingConfig;
use crate::issue::ConfigIssue;
use gatehouse_units::ByteSize;
use gatehouse_units::ConfigDuration;

/// Shortest HMAC secret accepted: RFC 7518 asks for at least the hash size, 256 bits for HS256.
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// One identity provider: who issues tokens, for whom, and where its keys come from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ProviderConfig {
    /// Name that routes use to accept this provider.
    pub name: String,
    /// Exact `iss` value of its tokens; tokens are matched to providers by it.
    pub issuer: String,
    /// Accepted `aud` values; a token must carry at least one of them.
    pub audiences: Vec<String>,
    /// Algorithm allow-list; asymmetric algorithms by default, `HS*` only with an HMAC secret.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock-skew allowance for `exp`, `nbf` and `iat`.
    #[serde(default = "default_leeway")]
    pub leeway: ConfigDuration,
    /// Refuse tokens without `exp` (default true).
    #[serde(default = "default_true")]
    pub require_exp: bool,
    /// Refuse tokens whose `exp - iat` exceeds this (and tokens without `iat` when set).
    #[serde(default)]
    pub max_token_lifetime: Option<ConfigDuration>,
    /// Where the verification keys come from.
    pub keys: KeysConfig,
    /// Refresh schedule for fetched key sets.
    #[serde(default)]
    pub refresh: RefreshConfig,
    /// Timeout of one key-set or discovery fetch, connection included.
    #[serde(default = "default_fetch_timeout")]
    pub fetch_timeout: ConfigDuration,
    /// Largest key-set or discovery document accepted.
    #[serde(default = "default_max_response_size")]
    pub max_response_size: ByteSize,
    /// How claims map to the forwarded identity.
    #[serde(default)]
    pub claims: ClaimMappingConfig,
}

/// The source of a provider's keys; exactly one field must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct KeysConfig {
    /// A JWKS document URL (https, or http on a loopback address).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Find the JWKS URL through `{issuer}/.well-known/openid-configuration`.
    #[serde(default)]
    pub discovery: bool,
    /// Key files: PEM public keys, or a JWK / JWKS document (never an HMAC `oct` key).
    #[serde(default, rename = "static")]
    pub static_keys: Option<Vec<StaticKeyConfig>>,
    /// Name of the environment variable holding the HMAC secret.
    #[serde(default)]
    pub hmac_secret_env: Option<String>,
    /// The HMAC secret itself; prefer `hmac_secret_env` so the secret stays out of files.
    #[serde(default)]
    pub hmac_secret: Option<Secret>,
}

/// One static key file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct StaticKeyConfig {
    /// Path of a PEM public key or of a JWK / JWKS JSON file.
    pub file: String,
    /// Key id tokens name in `kid`; a PEM key without one matches tokens without `kid`.
    #[serde(default)]
    pub kid: Option<String>,
    /// Pins the key to one algorithm; otherwise any allowed algorithm of the key's family.
    #[serde(default)]
    pub algorithm: Option<String>,
}

/// Refresh schedule of a fetched key set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RefreshConfig {
    /// Lower bound applied to `Cache-Control: max-age`.
    #[serde(default = "default_min_interval")]
    pub min_interval: ConfigDuration,
    /// Upper bound applied to `Cache-Control: max-age`, and the interval when there is none.
    #[serde(default = "default_max_interval")]
    pub max_interval: ConfigDuration,
    /// Delay before retrying a failed fetch.
    #[serde(default = "default_retry_interval")]
    pub retry_interval: ConfigDuration,
    /// Least time between two fetches triggered by unknown `kid`s.
    #[serde(default = "default_unknown_kid_cooldown")]
    pub unknown_kid_cooldown: ConfigDuration,
    /// How long a `kid` that a fetch did not find is refused without fetching again.
    #[serde(default = "default_unknown_kid_ttl")]
    pub unknown_kid_ttl: ConfigDuration,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        Self {
            min_interval: default_min_interval(),
            max_interval: default_max_interval(),
            retry_interval: default_retry_interval(),
            unknown_kid_cooldown: default_unknown_kid_cooldown(),
            unknown_kid_ttl: default_unknown_kid_ttl(),
        }
    }
}

/// A secret string whose `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

fn default_algorithms() -> Vec<String> {
    DEFAULT_ALGORITHMS.iter().map(|s| (*s).to_owned()).collect()
}
fn default_leeway() -> ConfigDuration {
    ConfigDuration::from_secs(30)
}
fn default_true() -> bool {
    true
}
fn default_fetch_timeout() -> ConfigDuration {
    ConfigDuration::from_secs(5)
}
fn default_max_response_size() -> ByteSize {
    ByteSize::kib(512)
}
fn default_min_interval() -> ConfigDuration {
    ConfigDuration::from_secs(60)
}
fn default_max_interval() -> ConfigDuration {
    ConfigDuration::from_secs(900)
}
fn default_retry_interval() -> ConfigDuration {
    ConfigDuration::from_secs(5)
}
fn default_unknown_kid_cooldown() -> ConfigDuration {
    ConfigDuration::from_secs(30)
}
fn default_unknown_kid_ttl() -> ConfigDuration {
    ConfigDuration::from_secs(60)
}

/// Whether `name` is a usable provider name: 1–64 of `a-z`, `0-9`, `_`, `-`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks that a fetch URL is https, or plain http to a loopback host (tests, sidecars).
pub(crate) fn check_fetch_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url.parse().map_err(|_| format!("\"{url}\" is not a URL"))?;
    let host = uri.host().ok_or_else(|| format!("\"{url}\" has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback(host) => Ok(uri),
        Some("http") => Err(format!(
            "\"{url}\" uses plain http; key material must come over https (http is allowed only on loopback)"
        )),
        _ => Err(format!("\"{url}\" must be an https URL")),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl ProviderConfig {
    /// Every problem in this provider, located under `path` (e.g. `providers[1]`).
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut push = |at: String, msg: String| issues.push(ConfigIssue::new(at, msg));
        if !valid_name(&self.name) {
            push(
                format!("{path}.name"),
                format!(
                    "\"{}\" is not a valid provider name; use 1 to 64 of a-z, 0-9, `_`, `-`",
                    self.name
                ),
            );
        }
        if self.issuer.is_empty() {
            push(
                format!("{path}.issuer"),
                "the issuer cannot be empty".to_owned(),
            );
        }
        if self.audiences.is_empty() {
            push(
                format!("{path}.audiences"),
                "list at least one accepted audience; tokens minted for other services must not pass".to_owned(),
            );
        }
        for (i, aud) in self.audiences.iter().enumerate() {
            if aud.is_empty() {
                push(
                    format!("{path}.audiences[{i}]"),
                    "an audience cannot be empty".to_owned(),
                );
            }
        }
        let hmac_keys = self.keys.hmac_secret.is_some() || self.keys.hmac_secret_env.is_some();
        if self.algorithms.is_empty() {
            push(
                format!("{path}.algorithms"),
                "list at least one algorithm".to_owned(),
            );
        }
        for (i, name) in self.algorithms.iter().enumerate() {
            match parse_algorithm(name) {
                Err(msg) => push(format!("{path}.algorithms[{i}]"), msg),
                Ok(alg) if is_hmac(alg) && !hmac_keys => push(
                    format!("{path}.algorithms[{i}]"),
                    format!(
                        "{name} needs `keys.hmac_secret_env` or `keys.hmac_secret`; HMAC keys never come from a fetched key set"
                    ),
                ),
                Ok(alg) if !is_hmac(alg) && hmac_keys => push(
                    format!("{path}.algorithms[{i}]"),
                    format!("{name} needs a public key; this provider only has an HMAC secret"),
                ),
                Ok(_) => {}
            }
        }
        if self.leeway.get().as_secs() > 300 {
            push(
                format!("{path}.leeway"),
                "leeway above 5m would accept long-expired tokens".to_owned(),
            );
        }
        if self.max_token_lifetime.is_some_and(|d| d.get().is_zero()) {
            push(
                format!("{path}.max_token_lifetime"),
                "must be greater than zero".to_owned(),
            );
        }
        issues.extend(self.validate_keys(&format!("{path}.keys")));
        issues.extend(self.validate_fetching(path));
        issues.extend(self.claims.validate(&format!("{path}.claims")));
        issues
    }

    fn validate_keys(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let keys = &self.keys;
        let chosen = [
            keys.jwks_url.is_some(),
            keys.discovery,
            keys.static_keys.is_some(),
            keys.hmac_secret_env.is_some() || keys.hmac_secret.is_some(),
        ]
        .iter()
        .filter(|set| **set)
        .count();
        if chosen != 1 {
            issues.push(ConfigIssue::new(
                path,
                "set exactly one of `jwks_url`, `discovery: true`, `static`, `hmac_secret_env` / `hmac_secret`",
            ));
        }
        if keys.hmac_secret_env.is_some() && keys.hmac_secret.is_some() {
            issues.push(ConfigIssue::new(
                path,
                "set `hmac_secret_env` or `hmac_secret`, not both",
            ));
        }
        if let Some(url) = &keys.jwks_url
            && let Err(msg) = check_fetch_url(url)
        {
            issues.push(ConfigIssue::new(format!("{path}.jwks_url"), msg));
        }
        if keys.discovery
            && let Err(msg) = check_fetch_url(&self.issuer)
        {
            issues.push(ConfigIssue::new(
                format!("{path}.discovery"),
                format!("the issuer is used for discovery: {msg}"),
            ));
        }
        if let Some(list) = &keys.static_keys {
            if list.is_empty() {
                issues.push(ConfigIssue::new(
                    format!("{path}.static"),
                    "list at least one key file",
                ));
            }
            for (i, key) in list.iter().enumerate() {
                if key.file.is_empty() {
                    issues.push(ConfigIssue::new(
                        format!("{path}.static[{i}].file"),
                        "the file path cannot be empty",
                    ));
                }
                if let Some(alg) = &key.algorithm {
                    match parse_algorithm(alg) {
                        Err(msg) => issues.push(ConfigIssue::new(
                            format!("{path}.static[{i}].algorithm"),
                            msg,
                        )),
                        Ok(parsed) if is_hmac(parsed) => issues.push(ConfigIssue::new(
                            format!("{path}.static[{i}].algorithm"),
                            "key files hold public keys; HMAC secrets go in `hmac_secret_env`",
                        )),
                        Ok(_) if !self.algorithms.contains(alg) => issues.push(ConfigIssue::new(
                            format!("{path}.static[{i}].algorithm"),
                            format!("{alg} is not in this provider's `algorithms`"),
                        )),
                        Ok(_) => {}
                    }
                }
            }
        }
        if let Some(var) = &keys.hmac_secret_env
            && var.is_empty()
        {
            issues.push(ConfigIssue::new(
                format!("{path}.hmac_secret_env"),
                "name an environment variable",
            ));
        }
        if let Some(secret) = &keys.hmac_secret
            && secret.0.len() < MIN_HMAC_SECRET_BYTES
        {
            issues.push(ConfigIssue::new(
                format!("{path}.hmac_secret"),
                format!("an HMAC secret needs at least {MIN_HMAC_SECRET_BYTES} bytes"),
            ));
        }
        issues
    }

    fn validate_fetching(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let r = &self.refresh;
        if r.min_interval.get().is_zero() {
            issues.push(ConfigIssue::new(
                format!("{path}.refresh.min_interval"),
                "must be greater than zero",
            ));
        }
        if r.min_interval > r.max_interval {
            issues.push(ConfigIssue::new(
                format!("{path}.refresh.max_interval"),
                format!(
                    "{} is below min_interval {}",
                    r.max_interval, r.min_interval
                ),
            ));
        }
        if r.retry_interval.get().is_zero() {
            issues.push(ConfigIssue::new(
                format!("{path}.refresh.retry_interval"),
                "must be greater than zero",
            ));
        }
        let timeout = self.fetch_timeout.get();
        if timeout.is_zero() || timeout.as_secs() > 60 {
            issues.push(ConfigIssue::new(
                format!("{path}.fetch_timeout"),
                "must be between 1ms and 60s",
            ));
        }
        let size = self.max_response_size.0;
        if !(1024..=16 << 20).contains(&size) {
            issues.push(ConfigIssue::new(
                format!("{path}.max_response_size"),
                "must be between 1KiB and 16MiB",
            ));
        }
        issues
    }
}

/// Validates a list of providers, including names and issuers that must be unique.
pub fn validate_providers(providers: &[ProviderConfig], path: &str) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let mut names = HashSet::new();
    let mut issuers = HashSet::new();
    for (i, provider) in providers.iter().enumerate() {
        let at = format!("{path}[{i}]");
        issues.extend(provider.validate(&at));
        if !names.insert(provider.name.as_str()) {
            issues.push(ConfigIssue::new(
                format!("{at}.name"),
                format!("provider \"{}\" is defined twice", provider.name),
            ));
        }
        if !issuers.insert(provider.issuer.as_str()) {
            issues.push(ConfigIssue::new(
                format!("{at}.issuer"),
                format!("issuer \"{}\" is used by two providers; tokens are matched to a provider by `iss`", provider.issuer),
            ));
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn provider(value: serde_json::Value) -> ProviderConfig {
        serde_json::from_value(value).unwrap()
    }

    fn paths(issues: &[ConfigIssue]) -> Vec<&str> {
        issues.iter().map(|i| i.path.as_str()).collect()
    }

    #[test]
    fn defaults_are_asymmetric_and_strict() {
        let p = provider(json!({
            "name": "kc", "issuer": "https://id.example.com", "audiences": ["api"],
            "keys": { "discovery": true },
        }));
        assert!(p.validate("providers[0]").is_empty());
        assert!(p.require_exp);
        assert!(p.algorithms.iter().all(|a| !a.starts_with("HS")));
        assert_eq!(p.algorithms.len(), 9);
    }

    #[test]
    fn reports_every_problem_with_its_location() {
        let p = provider(json!({
            "name": "Bad Name", "issuer": "", "audiences": [],
            "algorithms": ["RS1", "HS256", "none"],
            "keys": { "jwks_url": "http://idp.example.com/jwks", "discovery": true },
            "refresh": { "min_interval": "10m", "max_interval": "1m" },
            "fetch_timeout": "0",
        }));
        let issues = p.validate("providers[1]");
        let got = paths(&issues);
        for want in [
            "providers[1].name",
            "providers[1].issuer",
            "providers[1].audiences",
            "providers[1].algorithms[0]",
            "providers[1].algorithms[1]",
            "providers[1].algorithms[2]",
            "providers[1].keys",
            "providers[1].keys.jwks_url",
            "providers[1].keys.discovery",
            "providers[1].refresh.max_interval",
            "providers[1].fetch_timeout",
        ] {
            assert!(got.contains(&want), "missing {want} in {got:?}");
        }
        let rs1 = issues
            .iter()
            .find(|i| i.path == "providers[1].algorithms[0]")
            .unwrap();
        assert!(
            rs1.message
                .starts_with("unknown algorithm \"RS1\"; use one of"),
            "{}",
            rs1.message
        );
    }

    #[test]
    fn hmac_only_with_a_static_secret_and_never_mixed() {
        let ok = provider(json!({
            "name": "h", "issuer": "i", "audiences": ["a"], "algorithms": ["HS256"],
            "keys": { "hmac_secret_env": "SECRET" },
        }));
        assert!(ok.validate("p").is_empty());
        let mixed = provider(json!({
            "name": "h", "issuer": "i", "audiences": ["a"], "algorithms": ["HS256", "RS256"],
            "keys": { "hmac_secret": "short" },
        }));
        let got = mixed.validate("p");
        assert_eq!(paths(&got), ["p.algorithms[1]", "p.keys.hmac_secret"]);
        assert!(
            !format!("{mixed:?}").contains("short"),
            "secrets must not appear in Debug"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let res: Result<ProviderConfig, _> = serde_json::from_value(json!({
            "name": "a", "issuer": "i", "audiences": ["a"], "keys": { "discovery": true },
            "audience": "typo",
        }));
        assert!(res.is_err());
    }

    #[test]
    fn duplicate_names_and_issuers_are_reported() {
        let p = provider(json!({
            "name": "a", "issuer": "https://i", "audiences": ["x"], "keys": { "discovery": true },
        }));
        let issues = validate_providers(&[p.clone(), p], "auth.providers");
        assert_eq!(
            paths(&issues),
            ["auth.providers[1].name", "auth.providers[1].issuer"]
        );
    }

    #[test]
    fn fetch_urls_must_be_https_or_loopback_http() {
        assert!(check_fetch_url("https://idp.example.com/jwks").is_ok());
        assert!(check_fetch_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_fetch_url("http://[::1]:8080/jwks").is_ok());
        assert!(check_fetch_url("http://localhost/jwks").is_ok());
        assert!(check_fetch_url("http://10.0.0.1/jwks").is_err());
        assert!(check_fetch_url("file:///etc/passwd").is_err());
        assert!(check_fetch_url("/relative").is_err());
    }
}
