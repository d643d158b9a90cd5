//! The order service of the reference system (HTTP, axum).
//!
//! - `POST /orders` `{"item": "tea", "quantity": 2}`: needs `orders:create`; reserves the stock
//!   through the inventory service over gRPC, on the caller's behalf (the SDK propagates the
//!   caller's identity into the call's metadata), then stores the order with `created_by`.
//! - `GET /orders`: needs `orders:read`; the caller's own orders, or all for the `admin` role.
//! - `GET /orders/{id}`: needs `orders:read`; an order of someone else is "not found" unless the
//!   caller is an admin, so ids do not reveal which orders exist.
//! - `GET /healthz`: liveness, the only route without identity context.
//!
//! Every other request without identity context is refused with 401 by the SDK's
//! [`gatehouse_sdk::IdentityLayer`]: the service is meant to be reachable only through the gateway.

#![forbid(unsafe_code)]

mod error;
mod handlers;
mod store;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use gatehouse_sdk::IdentityLayer;
use tokio::net::TcpListener;

pub use error::{ApiError, ServeError};
pub use store::{Order, OrderStore, StoreError};

/// Where the service listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8081";
/// The inventory service it calls unless told otherwise.
pub const DEFAULT_INVENTORY: &str = "http://127.0.0.1:50051";
/// Largest request body: an order is a few dozen bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    store: Arc<OrderStore>,
    inventory: inventory_service::InventoryClient,
}

impl AppState {
    /// The state over an open store and an inventory client.
    pub fn new(store: OrderStore, inventory: inventory_service::InventoryClient) -> Self {
        AppState {
            store: Arc::new(store),
            inventory,
        }
    }
}

/// The service's routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/orders", get(handlers::list).post(handlers::create))
        .route("/orders/{id}", get(handlers::read))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Outermost: no handler runs without valid context, and each runs in the caller's scope
        // so the inventory client can propagate the identity.
        .layer(IdentityLayer::required())
        // Added after the layer, so probes need no identity.
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// Opens the database at `database`, connects (lazily) to the inventory at `inventory`
/// (`http://host:port`) and serves on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    database: PathBuf,
    inventory: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let store = OrderStore::open(database).await?;
    let inventory = inventory_service::connect_lazy(&inventory)?;
    axum::serve(listener, app(AppState::new(store, inventory)))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Io)
}
