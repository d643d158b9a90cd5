//! A complete service behind the gatehouse gateway: an HTTP API with per-route authorization,
//! an admin area guarded as a whole, an anonymous-friendly catalog, an onward HTTP call that
//! carries the caller's identity, and a gRPC endpoint guarded by the interceptor.
//!
//! Run: `cargo run -p gatehouse-sdk --example orders_service`, then (as the gateway would):
//! `curl -H 'x-user-context-version: 1' -H 'x-user-id: alice' \
//!   -H 'x-user-issuer: https://issuer.example' -H 'x-user-permissions: orders:*' \
//!   -X POST localhost:3000/orders`

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use gatehouse_sdk::grpc::ServerInterceptor;
use gatehouse_sdk::{
    Authorized, Caller, IdentityLayer, PropagateLayer, policy, require_permission, require_role,
};
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tonic::service::interceptor::InterceptedService;
use tower::{Service, ServiceBuilder, ServiceExt};

policy! {
    /// May place orders (`orders:create`, or `orders:*`).
    struct CreateOrders = require_permission("orders:create");
}

/// Where onward calls go; the HTTP client propagates the current caller on every request.
#[derive(Clone)]
struct AppState {
    inventory: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Any authenticated caller sees their own orders.
async fn list_orders(Caller(me): Caller) -> Json<Value> {
    Json(json!({ "owner": me.subject, "orders": [] }))
}

/// Only callers holding `orders:create`; everyone else gets a JSON 403 naming it.
async fn create_order(caller: Authorized<CreateOrders>) -> (StatusCode, Json<Value>) {
    (
        StatusCode::CREATED,
        Json(json!({ "created_by": caller.subject })),
    )
}

/// Open to anonymous callers, personalised for known ones.
async fn catalog(caller: Option<Caller>) -> Json<Value> {
    let greeting = caller.map_or_else(|| "guest".to_owned(), |c| c.0.subject);
    Json(json!({ "hello": greeting, "items": ["tea", "coffee"] }))
}

/// Calls the inventory service on the caller's behalf: no identity is passed by hand, the
/// `PropagateLayer` takes it from the scope the `IdentityLayer` opened for this request.
async fn stock(State(state): State<AppState>, Path(item): Path<String>) -> (StatusCode, String) {
    let mut client = ServiceBuilder::new()
        .layer(PropagateLayer)
        .service(state.client.clone());
    let Ok(request) = http::Request::get(format!("{}/stock/{item}", state.inventory))
        .body(Full::new(Bytes::new()))
    else {
        return (StatusCode::BAD_REQUEST, "bad item".to_owned());
    };
    let response = match client.ready().await {
        Ok(ready) => ready.call(request).await,
        Err(error) => Err(error),
    };
    match response {
        Ok(response) => {
            let status = response.status();
            let body = response.into_body().collect().await.map(|b| b.to_bytes());
            let text = body.map(|b| String::from_utf8_lossy(&b).into_owned());
            (status, text.unwrap_or_default())
        }
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()),
    }
}

fn app(state: AppState) -> Router {
    let admin = Router::new()
        .route("/admin/stats", get(|| async { "all good" }))
        .layer(IdentityLayer::require(require_role("admin")));
    Router::new()
        .route("/orders", get(list_orders).post(create_order))
        .route("/catalog", get(catalog))
        .route("/stock/{item}", get(stock))
        .merge(admin)
        // Outermost: reads the context once, refuses malformed context, opens the scope.
        .layer(IdentityLayer::optional())
        .with_state(state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let http_addr: SocketAddr = "127.0.0.1:3000".parse()?;
    let grpc_addr: SocketAddr = "127.0.0.1:3001".parse()?;
    let state = AppState {
        inventory: std::env::var("INVENTORY_URL").unwrap_or("http://127.0.0.1:3002".into()),
        client: Client::builder(TokioExecutor::new()).build_http(),
    };

    // gRPC: every call needs `health:read` (or `health:*`); handlers read the caller with
    // `gatehouse_sdk::grpc::RequestIdentity::identity(&request)`.
    let (_reporter, health) = tonic_health::server::health_reporter();
    let guarded = InterceptedService::new(
        health,
        ServerInterceptor::require(require_permission("health:read")),
    );
    let grpc = tonic::transport::Server::builder()
        .add_service(guarded)
        .serve(grpc_addr);

    let listener = tokio::net::TcpListener::bind(http_addr).await?;
    let http = axum::serve(listener, app(state));
    tokio::try_join!(
        async { http.await.map_err(Box::<dyn std::error::Error>::from) },
        async { grpc.await.map_err(Box::<dyn std::error::Error>::from) }
    )?;
    Ok(())
}
