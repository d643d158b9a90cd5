//! The identity-context contract: the one definition of how a verified user context travels
//! from the gateway to services, as HTTP headers or gRPC metadata.
//!
//! The gateway verifies a token once, throws it away and forwards only an [`Identity`]. It calls
//! [`write_headers`], which always clears the reserved `x-user-` namespace before writing, so a
//! client can never smuggle its own context through. Services call [`read_headers`], which is
//! strict and bounded: malformed, partial, duplicated or oversize context is an error, never a
//! best guess. `docs/context-contract.md` specifies the same rules for other languages.
//!
//! ```
//! use gatehouse_context::{Identity, read_headers, write_headers};
//!
//! let alice = Identity::new("alice", "https://issuer.example")
//!     .with_roles(["admin"])
//!     .with_permissions(["orders:create"]);
//! let mut headers = http::HeaderMap::new();
//! write_headers(&alice, &mut headers)?;
//! assert_eq!(read_headers(&headers)?, Some(alice));
//! # Ok::<(), gatehouse_context::ContextError>(())
//! ```

#![forbid(unsafe_code)]

mod encoding;
mod error;
mod identity;
pub mod limits;
mod matching;
pub mod names;
mod read;
mod reserved;
mod write;

pub use error::ContextError;
pub use identity::Identity;
pub use matching::permission_matches;
pub use read::read_headers;
pub use reserved::{RESERVED_PREFIX, is_reserved_header_name, strip_reserved};
pub use write::{EncodedContext, write_headers};

/// The contract version this crate reads and writes (the `x-user-context-version` value).
pub const CONTRACT_VERSION: &str = "1";
