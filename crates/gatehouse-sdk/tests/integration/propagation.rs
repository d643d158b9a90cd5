//! A service passes its caller's identity onwards without threading it by hand: HTTP → gRPC
//! and HTTP → HTTP hops keep the same identity, and nothing leaks outside a caller's scope.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use bytes::Bytes;
use gatehouse_sdk::grpc::{PropagateInterceptor, ServerInterceptor};
use gatehouse_sdk::{Caller, Identity, IdentityLayer, PropagateLayer, in_current_scope, testing};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower::{Service, ServiceBuilder, ServiceExt};

use super::support::{channel, get as fetch, http_client, serve_health, serve_http};

/// A gRPC health server that reports the identity each call arrived with.
async fn recording_grpc(
    mut gate: ServerInterceptor,
) -> (
    std::net::SocketAddr,
    mpsc::UnboundedReceiver<Option<Identity>>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let addr = serve_health(move |request: tonic::Request<()>| {
        let request = gate.call(request)?;
        // The receiver outlives every call of a test, so a failed send cannot hide a result.
        let _ = tx.send(request.extensions().get::<Identity>().cloned());
        Ok(request)
    })
    .await;
    (addr, rx)
}

async fn call_health(channel: Channel) -> Result<(), tonic::Status> {
    let mut client = HealthClient::with_interceptor(channel, PropagateInterceptor);
    client.check(HealthCheckRequest::default()).await.map(drop)
}

async fn direct(State(grpc): State<Channel>) -> StatusCode {
    match call_health(grpc).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::BAD_GATEWAY,
    }
}

async fn spawned(State(grpc): State<Channel>) -> StatusCode {
    match tokio::spawn(in_current_scope(call_health(grpc))).await {
        Ok(Ok(())) => StatusCode::OK,
        _ => StatusCode::BAD_GATEWAY,
    }
}

#[tokio::test]
async fn http_to_grpc_keeps_the_same_identity() {
    let (grpc_addr, mut seen) = recording_grpc(ServerInterceptor::required()).await;
    let front = serve_http(
        Router::new()
            .route("/direct", get(direct))
            .route("/spawned", get(spawned))
            .layer(IdentityLayer::required())
            .with_state(channel(grpc_addr).await),
    )
    .await;

    let alice = testing::identity("alice, the \"first\"\r\n")
        .with_email("alice@example.com")
        .with_roles(["admin", "ünïcödé"])
        .with_permissions(["orders:*"])
        .with_attribute("tenant", "acme,inc");
    for path in ["/direct", "/spawned"] {
        let (status, _) = fetch(front, path, testing::headers(&alice).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(seen.recv().await, Some(Some(alice.clone())), "{path}");
    }
}

#[tokio::test]
async fn outside_any_scope_the_client_sends_no_context() {
    let (grpc_addr, mut seen) = recording_grpc(ServerInterceptor::optional()).await;
    let mut client = HealthClient::with_interceptor(channel(grpc_addr).await, PropagateInterceptor);
    // A stale or forged context on the request itself must not go out either.
    let forged =
        testing::grpc_request(&testing::identity("mallory"), HealthCheckRequest::default())
            .unwrap();
    client.check(forged).await.unwrap();
    assert_eq!(seen.recv().await, Some(None));
}

async fn echo(Caller(identity): Caller) -> axum::Json<Value> {
    axum::Json(json!({
        "subject": identity.subject,
        "email": identity.email,
        "roles": identity.roles,
        "permissions": identity.permissions,
        "issuer": identity.issuer,
        "attributes": identity.attributes,
    }))
}

async fn relay(State(backend): State<std::net::SocketAddr>) -> axum::response::Response {
    let mut client = ServiceBuilder::new()
        .layer(PropagateLayer)
        .service(http_client());
    let request = Request::get(format!("http://{backend}/echo"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.ready().await.unwrap().call(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    axum::response::Response::from_parts(parts, axum::body::Body::from(body))
}

#[tokio::test]
async fn http_to_http_keeps_the_same_identity() {
    let backend = serve_http(Router::new().route("/echo", get(echo))).await;
    let front = serve_http(
        Router::new()
            .route("/relay", get(relay))
            .layer(IdentityLayer::optional())
            .with_state(backend),
    )
    .await;

    let bob = testing::identity("bob")
        .with_roles(["a,b", "x y"])
        .with_attribute("k", "");
    let (status, body) = fetch(front, "/relay", testing::headers(&bob).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["subject"], "bob");
    assert_eq!(body["roles"], json!(["a,b", "x y"]));
    assert_eq!(body["issuer"], testing::TEST_ISSUER);
    assert_eq!(body["attributes"], json!({ "k": "" }));

    // An anonymous caller of the front reaches the backend anonymous: the backend says 401.
    let (status, body) = fetch(front, "/relay", HeaderMap::new()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "identity_missing");
}
