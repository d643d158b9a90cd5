//! The gRPC methods: each reads the caller from the metadata and authorizes from it.

use std::sync::Arc;

use gatehouse_sdk::grpc::{RequestIdentity as _, ServerInterceptor};
use gatehouse_sdk::{require_permission, require_role};
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};
use tracing::info;

use crate::pb::inventory_server::{Inventory, InventoryServer};
use crate::pb::{
    GetStockRequest, ListReservationsRequest, Reservation, Reservations, ReserveRequest, Stock,
};
use crate::{ReserveError, StockBook};

/// The permission a reservation needs: stock is taken only for someone who may place orders.
const RESERVE_PERMISSION: &str = "orders:create";

/// The inventory gRPC service.
#[derive(Debug, Clone)]
pub struct InventoryService {
    book: Arc<StockBook>,
}

impl InventoryService {
    /// A service over `book`.
    pub fn new(book: StockBook) -> Self {
        InventoryService {
            book: Arc::new(book),
        }
    }

    /// The tonic server, behind the SDK's interceptor: calls without valid identity context are
    /// refused with `UNAUTHENTICATED` before any method runs.
    pub fn into_server(self) -> InterceptedService<InventoryServer<Self>, ServerInterceptor> {
        InterceptedService::new(InventoryServer::new(self), ServerInterceptor::required())
    }
}

#[tonic::async_trait]
impl Inventory for InventoryService {
    async fn get_stock(
        &self,
        request: Request<GetStockRequest>,
    ) -> Result<Response<Stock>, Status> {
        request.identity()?;
        let item = &request.get_ref().item;
        match self.book.stock(item).await {
            Some(stock) => Ok(Response::new(stock)),
            None => Err(Status::not_found(format!("unknown item {item:?}"))),
        }
    }

    async fn reserve(
        &self,
        request: Request<ReserveRequest>,
    ) -> Result<Response<Reservation>, Status> {
        let caller = request.identity()?;
        require_permission(RESERVE_PERMISSION).check(caller)?;
        let ReserveRequest { item, quantity } = request.get_ref();
        let reservation = self
            .book
            .reserve(item, *quantity, &caller.subject)
            .await
            .map_err(|error| match error {
                ReserveError::UnknownItem(_) => Status::not_found(error.to_string()),
                ReserveError::Invalid(_) => Status::invalid_argument(error.to_string()),
                ReserveError::OutOfStock { .. } => Status::failed_precondition(error.to_string()),
            })?;
        info!(
            id = reservation.id,
            item = %reservation.item,
            quantity = reservation.quantity,
            reserved_by = %reservation.reserved_by,
            "reserved"
        );
        Ok(Response::new(reservation))
    }

    async fn list_reservations(
        &self,
        request: Request<ListReservationsRequest>,
    ) -> Result<Response<Reservations>, Status> {
        let caller = request.identity()?;
        let subject = if require_role("admin").is_satisfied_by(caller) {
            None
        } else {
            Some(caller.subject.as_str())
        };
        let reservations = self.book.reservations(subject).await;
        Ok(Response::new(Reservations { reservations }))
    }
}
