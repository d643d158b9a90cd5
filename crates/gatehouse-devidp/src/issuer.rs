//! The issuer name and audience of the development identity provider.

use std::net::SocketAddr;

/// The path under which everything is served; it is part of the issuer (`iss`), so every token
/// and every configuration that trusts it says plainly that this is not a real provider.
pub const ISSUER_PATH: &str = "/insecure-dev-idp";

/// The audience (`aud`) of every minted token; `config/demo.yaml` accepts exactly this one.
pub const AUDIENCE: &str = "shop";

/// The issuer URL of a provider listening on `addr`.
pub fn issuer_for(addr: SocketAddr) -> String {
    format!("http://{addr}{ISSUER_PATH}")
}
