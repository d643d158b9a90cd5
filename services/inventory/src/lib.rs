//! The inventory service of the reference system: stock levels and reservations over gRPC.
//!
//! It verifies no token: every call must carry the identity context that the gateway (or the
//! order service, on its caller's behalf) wrote into the gRPC metadata, and calls without one are
//! refused with `UNAUTHENTICATED` by the SDK's [`gatehouse_sdk::grpc::ServerInterceptor`].
//! Reservations need `orders:create`: stock is only taken on behalf of someone who may order.

#![forbid(unsafe_code)]

mod client;
mod service;
mod stock;

/// Generated messages, server and client.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("shop.inventory.v1");
}

use std::future::Future;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

pub use client::{InventoryClient, connect_lazy};
pub use service::InventoryService;
pub use stock::{MAX_ITEM_LEN, MAX_QUANTITY, ReserveError, StockBook};

/// Where the service listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

/// Serves the inventory on `listener`, seeded with [`StockBook::demo`], until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(InventoryService::new(StockBook::demo()).into_server())
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}
