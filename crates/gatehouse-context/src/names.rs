//! The header (and gRPC metadata) names of contract version 1, all lower-case.

/// The contract version; required whenever any context header is present.
pub const VERSION: &str = "x-user-context-version";
/// The subject id; required.
pub const ID: &str = "x-user-id";
/// The issuer the identity was verified against; required.
pub const ISSUER: &str = "x-user-issuer";
/// The e-mail address; absent when the identity has none.
pub const EMAIL: &str = "x-user-email";
/// The roles, a list; absent when empty.
pub const ROLES: &str = "x-user-roles";
/// The permissions, a list; absent when empty.
pub const PERMISSIONS: &str = "x-user-permissions";
/// The extra attributes, a list of `key=value` pairs; absent when empty.
pub const ATTRIBUTES: &str = "x-user-attributes";

/// Every name of the contract, in the order they are written.
pub const ALL: [&str; 7] = [VERSION, ID, ISSUER, EMAIL, ROLES, PERMISSIONS, ATTRIBUTES];
