//! Edge authentication for gatehouse: verifies a request's bearer JWT once, against configured
//! identity providers, and returns only the verified [`Identity`] for forwarding.
//!
//! The flow for one request: [`Authenticator::authenticate`] takes exactly one `Bearer` token
//! from the `Authorization` header, refuses malformed and dangerous JOSE headers before any
//! cryptography, picks the provider by `iss`, takes the algorithm from the provider's key (never
//! from the token alone), checks the signature and the registered claims, maps claims to an
//! [`Identity`], and applies the route's coarse [`RoutePolicy`] requirement. Refusals are
//! [`Rejection`]s that render as RFC 6750 responses.
//!
//! Key sets are fetched in the background ([`Authenticator::start`]) and kept through outages; a
//! token with an unknown `kid` triggers at most one throttled refetch.

mod algorithm;
mod authenticated;
mod authenticator;
mod bearer;
mod cache;
mod claim_path;
mod claims;
mod config;
mod fetch;
mod issue;
mod jose;
mod keys;
mod metrics;
mod payload;
mod policy;
mod provider;
mod rejection;
mod token;
mod verify;

pub use algorithm::{DEFAULT_ALGORITHMS, KNOWN_ALGORITHMS};
pub use authenticated::Authenticated;
pub use authenticator::{AuthOptions, Authentication, Authenticator, BuildError};
pub use bearer::DEFAULT_MAX_TOKEN_BYTES;
pub use claim_path::ClaimPath;
pub use claims::{ClaimMapping, ClaimMappingConfig, ClaimPreset};
pub use config::{
    KeysConfig, ProviderConfig, RefreshConfig, Secret, StaticKeyConfig, validate_providers,
};
pub use fetch::{FetchError, HttpClientOptions};
pub use gatehouse_context::Identity;
pub use gatehouse_units::{ByteSize, parse_size};
pub use gatehouse_units::{ConfigDuration, parse_duration};
pub use issue::ConfigIssue;
pub use keys::KeyError;
pub use payload::{Claim, Claims};
pub use policy::{AuthMode, Grants, Requirement, RoutePolicy};
pub use rejection::Rejection;
pub use tokio_util::sync::CancellationToken;
