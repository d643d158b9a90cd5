//! Loopback servers and a client, shared by the integration tests.

use std::net::SocketAddr;

use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

/// Binds before returning, so a client can connect at once: no waiting, no sleeping.
async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Serves an axum router on loopback.
pub async fn serve_http(app: Router) -> SocketAddr {
    let (listener, addr) = listener().await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Serves the standard gRPC health service behind `interceptor`.
pub async fn serve_health<I>(interceptor: I) -> SocketAddr
where
    I: Interceptor + Clone + Send + Sync + 'static,
{
    let (_reporter, health) = tonic_health::server::health_reporter();
    let (listener, addr) = listener().await;
    let service = InterceptedService::new(health, interceptor);
    tokio::spawn(
        Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    addr
}

/// Serves the standard gRPC health service behind a tower layer.
pub async fn serve_health_layered(layer: gatehouse_sdk::IdentityLayer) -> SocketAddr {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let (listener, addr) = listener().await;
    tokio::spawn(
        Server::builder()
            .layer(layer)
            .add_service(health)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    addr
}

/// A channel to a loopback gRPC server.
pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// One health check over `client`; the status code, or SERVING.
pub async fn check<T>(
    client: &mut HealthClient<T>,
    request: tonic::Request<HealthCheckRequest>,
) -> tonic::Code
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: http_body::Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    match client.check(request).await {
        Ok(response) => {
            assert_eq!(response.into_inner().status(), ServingStatus::Serving);
            tonic::Code::Ok
        }
        Err(status) => status.code(),
    }
}

/// A plain HTTP/1 client.
pub fn http_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// GET `path` with `headers`; the status and the body as JSON (`Null` when it is not JSON).
pub async fn get(
    addr: SocketAddr,
    path: &str,
    headers: HeaderMap,
) -> (StatusCode, serde_json::Value) {
    let mut request = Request::get(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    *request.headers_mut() = headers;
    let response = http_client().request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}
