//! The validated, typed configuration the gateway runs on. Every value here has passed
//! validation; code that holds a `Config` never re-checks it.

use std::net::SocketAddr;
use std::time::Duration;

/// The whole gateway configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The public listener.
    pub listener: ListenerConfig,
    /// The admin plane (health, readiness, metrics).
    pub admin: AdminConfig,
    /// Upstream pools, in name order; routes refer to them by index.
    pub upstreams: Vec<UpstreamConfig>,
    /// Routes, in file order.
    pub routes: Vec<RouteConfig>,
    /// Identity providers whose tokens routes may accept.
    pub providers: Vec<gatehouse_auth::ProviderConfig>,
    /// Settings shared by all providers.
    pub authentication: AuthenticationConfig,
    /// Log output.
    pub logging: LoggingConfig,
    /// Shutdown behaviour on SIGTERM/SIGINT.
    pub shutdown: ShutdownConfig,
    /// Configuration reload behaviour.
    pub reload: ReloadConfig,
}

/// The public listener: one port for HTTP/1.1 and h2c.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerConfig {
    /// Address to bind.
    pub address: SocketAddr,
    /// Largest request head (request line and headers) accepted; larger is answered 431.
    pub max_header_bytes: usize,
    /// Most header fields accepted in one request.
    pub max_headers: usize,
    /// Time a client has to send a complete request head (defeats slowloris).
    pub header_read_timeout: Duration,
    /// Longest pause allowed between two chunks of a request body.
    pub body_read_timeout: Duration,
    /// How long an idle keep-alive connection is kept open.
    pub keepalive_timeout: Duration,
    /// Most connections open at once; further ones wait in the accept queue.
    pub max_connections: usize,
    /// Most concurrent HTTP/2 streams per connection.
    pub http2_max_concurrent_streams: u32,
    /// Default request body limit for routes that set none.
    pub max_body_bytes: u64,
    /// Whether to append to a client's `X-Forwarded-For` instead of replacing it. Only for a
    /// gateway that sits behind a trusted proxy.
    pub trust_forwarded_headers: bool,
}

/// The admin plane.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminConfig {
    /// Address to bind; keep it off the public network.
    pub address: SocketAddr,
}

/// How the gateway talks to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProtocol {
    /// HTTP/1.1 with keep-alive.
    Http1,
    /// HTTP/2 over cleartext with prior knowledge (gRPC services).
    H2c,
}

/// How an endpoint is picked for each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// Each healthy endpoint in turn.
    RoundRobin,
    /// Two random healthy endpoints, the one with fewer requests in flight.
    PowerOfTwoChoices,
}

/// A named upstream pool.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamConfig {
    /// Name routes refer to.
    pub name: String,
    /// Protocol spoken to every endpoint.
    pub protocol: UpstreamProtocol,
    /// Endpoints as `host:port` authorities.
    pub endpoints: Vec<http::uri::Authority>,
    /// Endpoint selection.
    pub balance: Balance,
    /// Time allowed to open a TCP connection.
    pub connect_timeout: Duration,
    /// Time allowed from sending the request to receiving the response head.
    pub request_timeout: Duration,
    /// How long an idle pooled connection is kept.
    pub idle_timeout: Duration,
    /// Most idle pooled connections per endpoint.
    pub max_idle_per_endpoint: usize,
    /// Passive health checking.
    pub health: PassiveHealth,
}

/// Passive health: an endpoint that keeps failing is ejected for a while.
#[derive(Debug, Clone, PartialEq)]
pub struct PassiveHealth {
    /// Consecutive transport failures (refused, reset, timed out) that eject an endpoint.
    pub consecutive_failures: u32,
    /// How long an ejected endpoint is left out.
    pub ejection_time: Duration,
}

/// A route: which requests it takes and where they go.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteConfig {
    /// Name used in metrics and logs.
    pub name: String,
    /// Normalised path prefix, matched segment by segment.
    pub prefix: String,
    /// Host to match (lower case, without port); `None` matches any host.
    pub host: Option<String>,
    /// Methods to match; empty matches any method.
    pub methods: Vec<http::Method>,
    /// Index into `Config::upstreams`.
    pub upstream: usize,
    /// Replacement for the matched prefix in the forwarded path.
    pub rewrite_prefix: Option<String>,
    /// Request body limit.
    pub max_body_bytes: u64,
    /// Overrides the upstream's request timeout.
    pub request_timeout: Option<Duration>,
    /// Who may use the route: public, optional or required, with which providers.
    pub auth: gatehouse_auth::RoutePolicy,
    /// Forward the client's `Authorization` header upstream. Off by default: services get the
    /// verified context, never the token.
    pub forward_authorization: bool,
}

/// Log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line, for collectors.
    Json,
    /// Human-readable lines, for terminals.
    Pretty,
}

/// Log output settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggingConfig {
    /// Output format.
    pub format: LogFormat,
    /// A `tracing` filter directive such as `info` or `gatehouse_proxy=debug`.
    pub level: String,
}

/// Shutdown behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct ShutdownConfig {
    /// Time between turning readiness false and closing the listener, so load balancers
    /// (Kubernetes endpoints) stop sending new traffic first.
    pub drain_delay: Duration,
    /// Time in-flight requests get to finish before the process exits anyway.
    pub grace_period: Duration,
}

/// Reload behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadConfig {
    /// How often the config file is checked for changes; zero turns watching off (SIGHUP still
    /// reloads).
    pub watch_interval: Duration,
}

/// Settings of edge authentication as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationConfig {
    /// Entries of the verified-token cache (keyed by a hash of the token); zero turns it off.
    pub token_cache_entries: usize,
    /// Longest bearer token accepted.
    pub max_token_bytes: usize,
}
