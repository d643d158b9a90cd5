//! The HTTP handlers: authorization from the identity context, then the work.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use gatehouse_sdk::{Authorized, Identity, policy, require_permission, require_role};
use inventory_service::pb::ReserveRequest;
use inventory_service::{MAX_ITEM_LEN, MAX_QUANTITY};
use serde::Deserialize;
use tracing::info;

use crate::store::NewOrder;
use crate::{ApiError, AppState, Order};

policy! {
    /// May place orders.
    pub struct CreateOrders = require_permission("orders:create");
    /// May look at orders (their own, or all for an admin).
    pub struct ReadOrders = require_permission("orders:read");
}

/// The body of `POST /orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    item: String,
    quantity: u32,
}

fn sees_everything(caller: &Identity) -> bool {
    require_role("admin").is_satisfied_by(caller)
}

/// `POST /orders`: reserve the stock on the caller's behalf, then record the order.
pub async fn create(
    State(state): State<AppState>,
    caller: Authorized<CreateOrders>,
    body: Result<Json<OrderRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let Json(request) = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })?;
    if request.item.is_empty() || request.item.len() > MAX_ITEM_LEN {
        return Err(ApiError::BadRequest(format!(
            "item must be 1 to {MAX_ITEM_LEN} bytes"
        )));
    }
    if request.quantity == 0 || request.quantity > MAX_QUANTITY {
        return Err(ApiError::BadRequest(format!(
            "quantity must be 1 to {MAX_QUANTITY}"
        )));
    }
    // No identity is passed by hand: the client's interceptor reads the caller from the scope
    // that the IdentityLayer opened for this request.
    let reservation = state
        .inventory
        .clone()
        .reserve(ReserveRequest {
            item: request.item.clone(),
            quantity: request.quantity,
        })
        .await?
        .into_inner();
    // A failure from here on leaves the reservation in place; the demo has no compensation step.
    let order = state
        .store
        .create(NewOrder {
            item: request.item,
            quantity: request.quantity,
            created_by: caller.subject.clone(),
            // Ids count up from 1; SQLite integers are signed.
            reservation_id: i64::try_from(reservation.id).unwrap_or(i64::MAX),
            reserved_by: reservation.reserved_by,
        })
        .await?;
    info!(id = order.id, created_by = %order.created_by, "order created");
    Ok((StatusCode::CREATED, Json(order)))
}

/// `GET /orders`: the caller's orders, or everyone's for an admin.
pub async fn list(
    State(state): State<AppState>,
    caller: Authorized<ReadOrders>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let owner = (!sees_everything(&caller)).then(|| caller.subject.clone());
    let orders = state.store.list(owner).await?;
    Ok(Json(serde_json::json!({ "orders": orders })))
}

/// `GET /orders/{id}`: one order, if it is the caller's (or the caller is an admin).
pub async fn read(
    State(state): State<AppState>,
    caller: Authorized<ReadOrders>,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
) -> Result<Json<Order>, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(ApiError::NotFound);
    };
    match state.store.get(id).await? {
        Some(order) if order.created_by == caller.subject || sees_everything(&caller) => {
            Ok(Json(order))
        }
        // Someone else's order looks exactly like a missing one.
        _ => Err(ApiError::NotFound),
    }
}
