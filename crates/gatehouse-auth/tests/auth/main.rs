//! Integration tests of edge authentication against a real JWKS / OIDC server on loopback, with
//! real RSA, EC P-256 and Ed25519 keys generated at test time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod config;
mod keysets;
mod policy;
mod rejections;
mod static_keys;
