//! Errors: the one place that turns a failure into the client's status and JSON body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::warn;

use crate::StoreError;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened.
    #[error("order database: {0}")]
    Store(#[from] StoreError),
    /// The inventory address is not a valid URI.
    #[error("inventory address: {0}")]
    Inventory(#[from] tonic::transport::Error),
    /// Serving failed.
    #[error("serving: {0}")]
    Io(std::io::Error),
}

/// A request that failed, rendered as `{"error": {"code", "message"}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not a valid order.
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than an order can be.
    #[error("request body too large")]
    TooLarge,
    /// No such order, or not the caller's.
    #[error("order not found")]
    NotFound,
    /// The inventory service refused the reservation for this caller.
    #[error("{0}")]
    ReservationDenied(String),
    /// The item does not exist.
    #[error("{0}")]
    UnknownItem(String),
    /// Not enough stock.
    #[error("{0}")]
    OutOfStock(String),
    /// The inventory service failed or is unreachable.
    #[error("inventory unavailable")]
    Inventory(tonic::Status),
    /// The database failed.
    #[error("storage failed")]
    Store(#[from] StoreError),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid_order"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "order_not_found"),
            ApiError::ReservationDenied(_) => (StatusCode::FORBIDDEN, "permission_denied"),
            ApiError::UnknownItem(_) => (StatusCode::NOT_FOUND, "unknown_item"),
            ApiError::OutOfStock(_) => (StatusCode::CONFLICT, "out_of_stock"),
            ApiError::Inventory(_) => (StatusCode::BAD_GATEWAY, "inventory_unavailable"),
            ApiError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "storage_failed"),
        }
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let message = status.message().to_owned();
        match status.code() {
            tonic::Code::PermissionDenied => ApiError::ReservationDenied(message),
            tonic::Code::NotFound => ApiError::UnknownItem(message),
            tonic::Code::FailedPrecondition => ApiError::OutOfStock(message),
            tonic::Code::InvalidArgument => ApiError::BadRequest(message),
            _ => ApiError::Inventory(status),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            // Details of internal failures go to the log, not to the client.
            ApiError::Inventory(status) => warn!(%status, "inventory call failed"),
            ApiError::Store(error) => warn!(%error, "order storage failed"),
            _ => {}
        }
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        (status, Json(body)).into_response()
    }
}
