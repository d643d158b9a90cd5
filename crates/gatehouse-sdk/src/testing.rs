//! Test support for service authors: an identity in one line, and the headers, metadata or
//! requests that carry it.
//!
//! ```
//! use gatehouse_sdk::testing;
//!
//! let alice = testing::identity("alice").with_permissions(["orders:create"]);
//! let request = testing::http_request(&alice, http::Request::new(()))?;
//! assert_eq!(request.headers()["x-user-id"], "alice");
//! # Ok::<(), gatehouse_sdk::ContextError>(())
//! ```

use gatehouse_context::{ContextError, Identity, write_headers};
use http::HeaderMap;
use tonic::metadata::MetadataMap;

/// The issuer [`identity`] uses.
pub const TEST_ISSUER: &str = "https://issuer.test";

/// An identity with this subject, issued by [`TEST_ISSUER`]; chain `with_roles`,
/// `with_permissions`, `with_email`, `with_attribute` for more.
pub fn identity(subject: &str) -> Identity {
    Identity::new(subject, TEST_ISSUER)
}

/// The headers the gateway would send for `identity`.
pub fn headers(identity: &Identity) -> Result<HeaderMap, ContextError> {
    let mut headers = HeaderMap::new();
    write_headers(identity, &mut headers)?;
    Ok(headers)
}

/// The gRPC metadata the gateway would send for `identity`.
pub fn metadata(identity: &Identity) -> Result<MetadataMap, ContextError> {
    headers(identity).map(MetadataMap::from_headers)
}

/// `request` with the context of `identity` (any earlier context replaced).
pub fn http_request<B>(
    identity: &Identity,
    mut request: http::Request<B>,
) -> Result<http::Request<B>, ContextError> {
    write_headers(identity, request.headers_mut())?;
    Ok(request)
}

/// A tonic request for `message` carrying the context of `identity`.
pub fn grpc_request<T>(identity: &Identity, message: T) -> Result<tonic::Request<T>, ContextError> {
    let mut request = tonic::Request::new(message);
    *request.metadata_mut() = metadata(identity)?;
    Ok(request)
}

/// The identity carried by gRPC `metadata`, read exactly as a server would.
pub fn read_metadata(metadata: &MetadataMap) -> Result<Option<Identity>, ContextError> {
    gatehouse_context::read_headers(&metadata.clone().into_headers())
}
