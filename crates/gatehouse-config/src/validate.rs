//! Turns the raw file into the typed model, collecting every problem instead of stopping at the
//! first, so an operator fixes a file in one pass.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{ConfigError, Issue};
use crate::model::*;
use crate::raw::{self, Scalar};
use gatehouse_units::{parse_duration, parse_size};

/// hyper refuses a smaller read buffer than this for HTTP/1.
const MIN_HEADER_BYTES: u64 = 8 << 10;
const MAX_HEADER_BYTES: u64 = 1 << 20;

#[derive(Default)]
struct Issues(Vec<Issue>);

impl Issues {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Issue {
            path: path.into(),
            message: message.into(),
        });
    }

    fn duration(&mut self, path: &str, value: Option<&Scalar>, default: Duration) -> Duration {
        match value {
            None => default,
            Some(Scalar::Number(0)) => Duration::ZERO,
            Some(Scalar::Number(n)) => {
                self.push(
                    path,
                    format!("{n} has no unit; write it like \"{n}s\" or \"{n}ms\""),
                );
                default
            }
            Some(Scalar::Text(text)) => parse_duration(text).unwrap_or_else(|e| {
                self.push(path, e);
                default
            }),
        }
    }

    fn positive_duration(
        &mut self,
        path: &str,
        value: Option<&Scalar>,
        default: Duration,
    ) -> Duration {
        let d = self.duration(path, value, default);
        if d.is_zero() {
            self.push(path, "must be longer than zero");
            return default;
        }
        d
    }

    fn size(&mut self, path: &str, value: Option<&Scalar>, default: u64) -> u64 {
        match value {
            None => default,
            Some(Scalar::Number(n)) => *n,
            Some(Scalar::Text(text)) => parse_size(text).unwrap_or_else(|e| {
                self.push(path, e);
                default
            }),
        }
    }

    fn count(&mut self, path: &str, value: Option<u64>, default: u64, range: (u64, u64)) -> u64 {
        let n = value.unwrap_or(default);
        if n < range.0 || n > range.1 {
            self.push(
                path,
                format!(
                    "{n} is out of range; use a value from {} to {}",
                    range.0, range.1
                ),
            );
            return default;
        }
        n
    }

    fn address(&mut self, path: &str, value: Option<&str>, default: &str) -> SocketAddr {
        let text = value.unwrap_or(default);
        text.parse().unwrap_or_else(|_| {
            self.push(
                path,
                format!("\"{text}\" is not an address; write it as IP:PORT, like \"0.0.0.0:8080\""),
            );
            // The default always parses; it is a literal above.
            default
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
        })
    }
}

pub(crate) fn validate(raw: raw::RawConfig) -> Result<Config, ConfigError> {
    let mut issues = Issues::default();

    let listen = raw.listen.unwrap_or_default();
    let max_header_bytes = issues.size(
        "listen.max_header_bytes",
        listen.max_header_bytes.as_ref(),
        16 << 10,
    );
    if !(MIN_HEADER_BYTES..=MAX_HEADER_BYTES).contains(&max_header_bytes) {
        issues.push(
            "listen.max_header_bytes",
            format!("{max_header_bytes} is out of range; use a value from 8KiB to 1MiB"),
        );
    }
    let listener = ListenerConfig {
        address: issues.address("listen.address", listen.address.as_deref(), "0.0.0.0:8080"),
        max_header_bytes: max_header_bytes.clamp(MIN_HEADER_BYTES, MAX_HEADER_BYTES) as usize,
        max_headers: issues.count("listen.max_headers", listen.max_headers, 100, (1, 1000))
            as usize,
        header_read_timeout: issues.positive_duration(
            "listen.header_read_timeout",
            listen.header_read_timeout.as_ref(),
            Duration::from_secs(10),
        ),
        body_read_timeout: issues.positive_duration(
            "listen.body_read_timeout",
            listen.body_read_timeout.as_ref(),
            Duration::from_secs(30),
        ),
        keepalive_timeout: issues.positive_duration(
            "listen.keepalive_timeout",
            listen.keepalive_timeout.as_ref(),
            Duration::from_secs(60),
        ),
        max_connections: issues.count(
            "listen.max_connections",
            listen.max_connections,
            10_000,
            (1, 1_000_000),
        ) as usize,
        http2_max_concurrent_streams: issues.count(
            "listen.http2_max_concurrent_streams",
            listen.http2_max_concurrent_streams,
            256,
            (1, 65_535),
        ) as u32,
        max_body_bytes: issues.size(
            "listen.max_body_bytes",
            listen.max_body_bytes.as_ref(),
            10 << 20,
        ),
        trust_forwarded_headers: listen.trust_forwarded_headers.unwrap_or(false),
    };

    let admin = AdminConfig {
        address: issues.address(
            "admin.address",
            raw.admin.unwrap_or_default().address.as_deref(),
            "127.0.0.1:9901",
        ),
    };
    if admin.address == listener.address && admin.address.port() != 0 {
        issues.push(
            "admin.address",
            "must differ from listen.address; the admin plane needs its own port",
        );
    }

    let upstreams: Vec<UpstreamConfig> = raw
        .upstreams
        .into_iter()
        .map(|(name, upstream)| validate_upstream(&mut issues, name, upstream))
        .collect();
    let names: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();

    for issue in gatehouse_auth::validate_providers(&raw.providers, "providers") {
        issues.push(issue.path, issue.message);
    }
    let provider_names: Vec<&str> = raw.providers.iter().map(|p| p.name.as_str()).collect();
    let authentication = raw.authentication.unwrap_or_default();
    let max_token_bytes = issues.size(
        "authentication.max_token_bytes",
        authentication.max_token_bytes.as_ref(),
        gatehouse_auth::DEFAULT_MAX_TOKEN_BYTES as u64,
    );
    if !(256..=64 << 10).contains(&max_token_bytes) {
        issues.push(
            "authentication.max_token_bytes",
            format!("{max_token_bytes} is out of range; use a value from 256 to 64KiB"),
        );
    }
    let authentication = AuthenticationConfig {
        token_cache_entries: issues.count(
            "authentication.token_cache_entries",
            authentication.token_cache_entries,
            10_000,
            (0, 10_000_000),
        ) as usize,
        max_token_bytes: max_token_bytes as usize,
    };

    let mut routes = Vec::with_capacity(raw.routes.len());
    let mut seen_names = BTreeSet::new();
    let mut seen_matches = BTreeSet::new();
    for (i, route) in raw.routes.into_iter().enumerate() {
        let path = format!("routes[{i}]");
        if let Some(route) = validate_route(
            &mut issues,
            &path,
            route,
            &names,
            &provider_names,
            &listener,
        ) {
            if !seen_names.insert(route.name.clone()) {
                issues.push(
                    format!("{path}.name"),
                    format!(
                        "\"{}\" is used by an earlier route; route names must be unique",
                        route.name
                    ),
                );
            }
            let key = (
                route.host.clone(),
                route.prefix.clone(),
                format!("{:?}", route.methods),
            );
            if !seen_matches.insert(key) {
                issues.push(
                    format!("{path}.match"),
                    "an earlier route has the same host, prefix and methods, so this one could never match",
                );
            }
            routes.push(route);
        }
    }

    let logging = raw.logging.unwrap_or_default();
    let format = match logging.format.as_deref() {
        None | Some("json") => LogFormat::Json,
        Some("pretty") => LogFormat::Pretty,
        Some(other) => {
            issues.push(
                "logging.format",
                format!("unknown format \"{other}\"; use \"json\" or \"pretty\""),
            );
            LogFormat::Json
        }
    };
    let logging = LoggingConfig {
        format,
        level: logging.level.unwrap_or_else(|| "info".to_owned()),
    };

    let shutdown = raw.shutdown.unwrap_or_default();
    let shutdown = ShutdownConfig {
        drain_delay: issues.duration(
            "shutdown.drain_delay",
            shutdown.drain_delay.as_ref(),
            Duration::ZERO,
        ),
        grace_period: issues.duration(
            "shutdown.grace_period",
            shutdown.grace_period.as_ref(),
            Duration::from_secs(30),
        ),
    };
    let reload = ReloadConfig {
        watch_interval: issues.duration(
            "reload.watch_interval",
            raw.reload.unwrap_or_default().watch_interval.as_ref(),
            Duration::from_secs(2),
        ),
    };

    if !issues.0.is_empty() {
        return Err(ConfigError::Invalid(issues.0));
    }
    Ok(Config {
        listener,
        admin,
        upstreams,
        routes,
        providers: raw.providers,
        authentication,
        logging,
        shutdown,
        reload,
    })
}

fn validate_upstream(issues: &mut Issues, name: String, raw: raw::RawUpstream) -> UpstreamConfig {
    let path = format!("upstreams.{name}");
    if !valid_name(&name) {
        issues.push(
            &path,
            "upstream names use letters, digits, '-', '_' and '.' only",
        );
    }
    let protocol = match raw.protocol.as_deref() {
        None | Some("http1") => UpstreamProtocol::Http1,
        Some("h2c") => UpstreamProtocol::H2c,
        Some(other) => {
            issues.push(
                format!("{path}.protocol"),
                format!("unknown protocol \"{other}\"; use \"http1\" or \"h2c\" (gRPC needs h2c)"),
            );
            UpstreamProtocol::Http1
        }
    };
    let balance = match raw.balance.as_deref() {
        None | Some("round_robin") => Balance::RoundRobin,
        Some("power_of_two_choices") | Some("p2c") => Balance::PowerOfTwoChoices,
        Some(other) => {
            issues.push(
                format!("{path}.balance"),
                format!(
                    "unknown balancing \"{other}\"; use \"round_robin\" or \"power_of_two_choices\""
                ),
            );
            Balance::RoundRobin
        }
    };
    if raw.endpoints.is_empty() {
        issues.push(
            format!("{path}.endpoints"),
            "an upstream needs at least one endpoint, like \"127.0.0.1:9001\"",
        );
    }
    let mut endpoints = Vec::with_capacity(raw.endpoints.len());
    for (i, endpoint) in raw.endpoints.iter().enumerate() {
        match endpoint.parse::<http::uri::Authority>() {
            Ok(a) if a.port_u16().is_some() && !endpoint.contains('@') => {
                if endpoints.contains(&a) {
                    issues.push(
                        format!("{path}.endpoints[{i}]"),
                        format!("\"{endpoint}\" is listed twice"),
                    );
                }
                endpoints.push(a);
            }
            _ => issues.push(
                format!("{path}.endpoints[{i}]"),
                format!("\"{endpoint}\" is not HOST:PORT; write it like \"10.0.0.5:8080\" or \"orders.shop.svc:8080\""),
            ),
        }
    }
    let health = raw.health.unwrap_or_default();
    UpstreamConfig {
        protocol,
        endpoints,
        balance,
        connect_timeout: issues.positive_duration(
            &format!("{path}.connect_timeout"),
            raw.connect_timeout.as_ref(),
            Duration::from_secs(2),
        ),
        request_timeout: issues.positive_duration(
            &format!("{path}.request_timeout"),
            raw.request_timeout.as_ref(),
            Duration::from_secs(30),
        ),
        idle_timeout: issues.positive_duration(
            &format!("{path}.idle_timeout"),
            raw.idle_timeout.as_ref(),
            Duration::from_secs(90),
        ),
        max_idle_per_endpoint: issues.count(
            &format!("{path}.max_idle_per_endpoint"),
            raw.max_idle_per_endpoint,
            64,
            (0, 100_000),
        ) as usize,
        health: PassiveHealth {
            consecutive_failures: issues.count(
                &format!("{path}.health.consecutive_failures"),
                health.consecutive_failures,
                5,
                (1, 1_000),
            ) as u32,
            ejection_time: issues.duration(
                &format!("{path}.health.ejection_time"),
                health.ejection_time.as_ref(),
                Duration::from_secs(30),
            ),
        },
        name,
    }
}

fn validate_route(
    issues: &mut Issues,
    path: &str,
    raw: raw::RawRoute,
    upstreams: &[&str],
    providers: &[&str],
    listener: &ListenerConfig,
) -> Option<RouteConfig> {
    let before = issues.0.len();
    let matcher = raw.matcher.unwrap_or_default();
    let prefix = match matcher.prefix {
        None => {
            issues.push(
                format!("{path}.match.prefix"),
                "a route needs a path prefix, like \"/api/orders\" (\"/\" matches everything)",
            );
            String::new()
        }
        Some(p) => match canonical_prefix(&p) {
            Ok(p) => p,
            Err(e) => {
                issues.push(format!("{path}.match.prefix"), e);
                String::new()
            }
        },
    };
    let host = matcher.host.map(|h| h.to_ascii_lowercase());
    if let Some(h) = &host {
        let ok = !h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !ok {
            issues.push(
                format!("{path}.match.host"),
                format!("\"{h}\" is not a host name; write it without scheme or port, like \"api.example.com\""),
            );
        }
    }
    let mut methods = Vec::new();
    for (i, m) in matcher.methods.unwrap_or_default().iter().enumerate() {
        let upper = m.to_ascii_uppercase();
        match http::Method::from_bytes(upper.as_bytes()) {
            Ok(method) if !upper.is_empty() => methods.push(method),
            _ => issues.push(
                format!("{path}.match.methods[{i}]"),
                format!("\"{m}\" is not an HTTP method"),
            ),
        }
    }
    let upstream = match raw.upstream {
        None => {
            issues.push(
                format!("{path}.upstream"),
                format!(
                    "a route needs an upstream; defined upstreams: {}",
                    list(upstreams)
                ),
            );
            0
        }
        Some(name) => match upstreams.iter().position(|u| *u == name) {
            Some(i) => i,
            None => {
                let hint = closest(&name, upstreams)
                    .map(|c| format!("did you mean \"{c}\"? "))
                    .unwrap_or_default();
                issues.push(
                    format!("{path}.upstream"),
                    format!(
                        "unknown upstream \"{name}\"; {hint}defined upstreams: {}",
                        list(upstreams)
                    ),
                );
                0
            }
        },
    };
    let rewrite_prefix = raw.rewrite_prefix.and_then(|r| match canonical_prefix(&r) {
        Ok(r) => Some(r),
        Err(e) => {
            issues.push(format!("{path}.rewrite_prefix"), e);
            None
        }
    });
    let name = raw.name.unwrap_or_else(|| {
        host.as_deref()
            .map(|h| format!("{h}{prefix}"))
            .unwrap_or_else(|| prefix.clone())
    });
    let max_body_bytes = issues.size(
        &format!("{path}.max_body_bytes"),
        raw.max_body_bytes.as_ref(),
        listener.max_body_bytes,
    );
    let request_timeout = raw.request_timeout.as_ref().map(|t| {
        issues.positive_duration(
            &format!("{path}.request_timeout"),
            Some(t),
            Duration::from_secs(30),
        )
    });
    // Without providers there is nothing to authenticate with, so routes are public. With
    // providers, every route must say who may use it: a forgotten `auth` must not mean "open".
    let auth = match raw.auth {
        Some(policy) => {
            for issue in policy.validate(&format!("{path}.auth"), providers) {
                issues.push(issue.path, issue.message);
            }
            policy
        }
        None if providers.is_empty() => gatehouse_auth::RoutePolicy::public(),
        None => {
            issues.push(
                format!("{path}.auth"),
                "every route needs an auth policy when providers are configured; write `auth: { mode: required, providers: [...] }`, or `auth: { mode: public }` to open it deliberately",
            );
            gatehouse_auth::RoutePolicy::public()
        }
    };
    (issues.0.len() == before).then_some(RouteConfig {
        name,
        prefix,
        host,
        methods,
        upstream,
        rewrite_prefix,
        max_body_bytes,
        request_timeout,
        auth,
        forward_authorization: raw.forward_authorization.unwrap_or(false),
    })
}

/// A prefix in the form the router compares against normalised paths: starts with `/`, no empty,
/// `.` or `..` segments, no percent-encoding, no trailing slash (except the root itself).
fn canonical_prefix(prefix: &str) -> Result<String, String> {
    if !prefix.starts_with('/') {
        return Err(format!("\"{prefix}\" must start with '/'"));
    }
    let trimmed = if prefix.len() > 1 {
        prefix.trim_end_matches('/')
    } else {
        prefix
    };
    let bad_segment = trimmed
        .split('/')
        .skip(1)
        .any(|s| (s.is_empty() && trimmed != "/") || s == "." || s == "..");
    let bad_char = trimmed
        .bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b)));
    if bad_segment || bad_char {
        return Err(format!(
            "\"{prefix}\" is not a normalised path; use plain segments like \"/api/orders\" (no '//', '.', '..', '%', '?' or '#')"
        ));
    }
    Ok(trimmed.to_owned())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// The defined name nearest to a misspelling, when it is close enough to be a likely typo.
fn closest<'a>(wanted: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (edit_distance(wanted, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_canonical() {
        assert_eq!(canonical_prefix("/"), Ok("/".to_owned()));
        assert_eq!(canonical_prefix("/api/"), Ok("/api".to_owned()));
        assert!(canonical_prefix("api").is_err());
        assert!(canonical_prefix("/a//b").is_err());
        assert!(canonical_prefix("/a/../b").is_err());
        assert!(canonical_prefix("/a%2Fb").is_err());
        assert!(canonical_prefix("/a?b").is_err());
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("ordrs", &["orders", "users"]), Some("orders"));
        assert_eq!(closest("zzzzzz", &["orders", "users"]), None);
    }
}
