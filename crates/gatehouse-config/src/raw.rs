//! The file as written: serde structs that mirror the YAML one to one. Nothing here is trusted;
//! `validate` turns it into the typed model and reports every problem with its location.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A number or a string in the file; sizes and durations accept both spellings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A plain number (bytes for sizes).
    Number(u64),
    /// A string with a unit (`"30s"`, `"1MiB"`).
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub listen: Option<RawListen>,
    pub admin: Option<RawAdmin>,
    #[serde(default)]
    pub upstreams: BTreeMap<String, RawUpstream>,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    #[serde(default)]
    pub providers: Vec<gatehouse_auth::ProviderConfig>,
    pub authentication: Option<RawAuthentication>,
    pub logging: Option<RawLogging>,
    pub shutdown: Option<RawShutdown>,
    pub reload: Option<RawReload>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListen {
    pub address: Option<String>,
    pub max_header_bytes: Option<Scalar>,
    pub max_headers: Option<u64>,
    pub header_read_timeout: Option<Scalar>,
    pub body_read_timeout: Option<Scalar>,
    pub keepalive_timeout: Option<Scalar>,
    pub max_connections: Option<u64>,
    pub http2_max_concurrent_streams: Option<u64>,
    pub max_body_bytes: Option<Scalar>,
    pub trust_forwarded_headers: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthentication {
    pub token_cache_entries: Option<u64>,
    pub max_token_bytes: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub protocol: Option<String>,
    #[serde(default)]
    pub endpoints: Vec<String>,
    pub balance: Option<String>,
    pub connect_timeout: Option<Scalar>,
    pub request_timeout: Option<Scalar>,
    pub idle_timeout: Option<Scalar>,
    pub max_idle_per_endpoint: Option<u64>,
    pub health: Option<RawHealth>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub consecutive_failures: Option<u64>,
    pub ejection_time: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub matcher: Option<RawMatch>,
    pub upstream: Option<String>,
    pub rewrite_prefix: Option<String>,
    pub max_body_bytes: Option<Scalar>,
    pub request_timeout: Option<Scalar>,
    pub auth: Option<gatehouse_auth::RoutePolicy>,
    pub forward_authorization: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    pub prefix: Option<String>,
    pub host: Option<String>,
    pub methods: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    pub format: Option<String>,
    pub level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShutdown {
    pub drain_delay: Option<Scalar>,
    pub grace_period: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReload {
    pub watch_interval: Option<Scalar>,
}
