//! tonic: the server interceptor and the layer answer gRPC callers with gRPC statuses.

use gatehouse_sdk::grpc::ServerInterceptor;
use gatehouse_sdk::{IdentityLayer, require_any_permission, testing};
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::support::{channel, check, serve_health, serve_health_layered};

fn plain() -> tonic::Request<HealthCheckRequest> {
    tonic::Request::new(HealthCheckRequest::default())
}

fn as_caller(identity: &gatehouse_sdk::Identity) -> tonic::Request<HealthCheckRequest> {
    testing::grpc_request(identity, HealthCheckRequest::default()).unwrap()
}

fn malformed() -> tonic::Request<HealthCheckRequest> {
    let mut request = as_caller(&testing::identity("alice"));
    request
        .metadata_mut()
        .insert("x-user-context-version", "2".parse().unwrap());
    request
}

/// Runs the same expectations against the interceptor and the layer.
async fn servers() -> Vec<std::net::SocketAddr> {
    let requirement = || require_any_permission(["health:read", "ops:*"]);
    vec![
        serve_health(ServerInterceptor::require(requirement())).await,
        serve_health_layered(IdentityLayer::require(requirement())).await,
    ]
}

#[tokio::test]
async fn missing_or_malformed_context_is_unauthenticated() {
    for addr in servers().await {
        let mut client = HealthClient::new(channel(addr).await);
        assert_eq!(check(&mut client, plain()).await, Code::Unauthenticated);
        assert_eq!(check(&mut client, malformed()).await, Code::Unauthenticated);
    }
}

#[tokio::test]
async fn a_missing_permission_is_permission_denied() {
    for addr in servers().await {
        let mut client = HealthClient::new(channel(addr).await);
        let caller = testing::identity("u").with_permissions(["orders:read"]);
        let status = client.check(as_caller(&caller)).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(
            status.message().contains("`health:read`"),
            "{}",
            status.message()
        );
    }
}

#[tokio::test]
async fn a_permitted_caller_is_served() {
    for addr in servers().await {
        let mut client = HealthClient::new(channel(addr).await);
        for held in ["health:read", "health:*", "ops:*"] {
            let caller = testing::identity("u").with_permissions([held]);
            assert_eq!(
                check(&mut client, as_caller(&caller)).await,
                Code::Ok,
                "{held}"
            );
        }
    }
}

#[tokio::test]
async fn the_optional_interceptor_admits_anonymous_calls_only() {
    let addr = serve_health(ServerInterceptor::optional()).await;
    let mut client = HealthClient::new(channel(addr).await);
    assert_eq!(check(&mut client, plain()).await, Code::Ok);
    assert_eq!(check(&mut client, malformed()).await, Code::Unauthenticated);
}
