//! **DEVELOPMENT ONLY.** A tiny OpenID provider for the gatehouse demo and tests.
//!
//! It generates an RS256 signing key (or reuses the one in its data directory), serves OIDC
//! discovery and a JWKS, and mints tokens for a fixed set of named demo users, over HTTP
//! (`POST {issuer}/token?user=alice`) and as a function ([`Minter::mint`]) for the CLI. There is
//! no login, no password and no consent: anyone who can reach it gets any demo user's token. Its
//! issuer path says so ([`ISSUER_PATH`]) and it logs a warning banner when it starts. Never put it
//! in front of anything real.

#![forbid(unsafe_code)]

mod error;
mod issuer;
mod key;
mod mint;
mod server;
mod users;

pub use error::DevIdpError;
pub use issuer::{AUDIENCE, ISSUER_PATH, issuer_for};
pub use key::SigningKey;
pub use mint::{DEFAULT_LIFETIME, Minter};
pub use server::{BANNER, router, serve};
pub use users::{DemoUser, demo_user, demo_users};
