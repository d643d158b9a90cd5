//! The client other services use: every call carries the current caller's identity.

use gatehouse_sdk::grpc::PropagateInterceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::pb::inventory_client;

/// An inventory client that propagates [`gatehouse_sdk::current`] on every call.
pub type InventoryClient =
    inventory_client::InventoryClient<InterceptedService<Channel, PropagateInterceptor>>;

/// A client for the service at `uri` (`http://host:port`); it connects on first use, so the
/// order service can start before the inventory does.
pub fn connect_lazy(uri: &str) -> Result<InventoryClient, tonic::transport::Error> {
    let channel = Endpoint::from_shared(uri.to_owned())?.connect_lazy();
    Ok(inventory_client::InventoryClient::with_interceptor(
        channel,
        PropagateInterceptor,
    ))
}
