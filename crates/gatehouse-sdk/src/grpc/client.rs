//! The client-side interceptor.

use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::propagate_headers;

/// A tonic client interceptor that gives every outgoing call the [`crate::current`] identity
/// (or clears the reserved metadata when there is none).
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateInterceptor;

impl Interceptor for PropagateInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let mut headers = std::mem::take(request.metadata_mut()).into_headers();
        let written = propagate_headers(&mut headers);
        *request.metadata_mut() = MetadataMap::from_headers(headers);
        written.map_err(|error| {
            Status::internal(format!("cannot propagate the identity context: {error}"))
        })?;
        Ok(request)
    }
}
