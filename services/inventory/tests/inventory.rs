//! The inventory service in process on a real socket, called as a service would call it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gatehouse_sdk::testing;
use inventory_service::pb::inventory_client::InventoryClient;
use inventory_service::pb::{GetStockRequest, ListReservationsRequest, ReserveRequest};
use tonic::Code;
use tonic::transport::Channel;

async fn inventory() -> InventoryClient<Channel> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(inventory_service::serve(listener, std::future::pending()));
    InventoryClient::connect(url).await.unwrap()
}

fn reserve(quantity: u32) -> ReserveRequest {
    ReserveRequest {
        item: "mug".into(),
        quantity,
    }
}

#[tokio::test]
async fn reservations_are_authorized_from_the_metadata() {
    let mut client = inventory().await;
    let alice = testing::identity("alice").with_permissions(["orders:create"]);
    let bob = testing::identity("bob").with_permissions(["orders:read"]);
    let carol = testing::identity("carol").with_roles(["admin"]);

    let none = client.reserve(reserve(1)).await.unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated);
    let denied = client
        .reserve(testing::grpc_request(&bob, reserve(1)).unwrap())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let made = client
        .reserve(testing::grpc_request(&alice, reserve(2)).unwrap())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(made.reserved_by, "alice");
    let short = client
        .reserve(testing::grpc_request(&alice, reserve(2)).unwrap())
        .await
        .unwrap_err();
    assert_eq!(short.code(), Code::FailedPrecondition);

    let stock = client
        .get_stock(testing::grpc_request(&bob, GetStockRequest { item: "mug".into() }).unwrap())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((stock.available, stock.reserved), (1, 2));

    let list = |who| testing::grpc_request(who, ListReservationsRequest {}).unwrap();
    let bobs = client.list_reservations(list(&bob)).await.unwrap();
    assert!(bobs.into_inner().reservations.is_empty());
    let all = client.list_reservations(list(&carol)).await.unwrap();
    assert_eq!(all.into_inner().reservations.len(), 1);
}
