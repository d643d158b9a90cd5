//! The order service in process on real sockets, with a real inventory service behind it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use bytes::Bytes;
use gatehouse_sdk::{Identity, testing};
use gatehouse_testkit::{TestClient, TestResponse};
use http::{Request, StatusCode};
use tokio::net::TcpListener;

struct Shop {
    order: SocketAddr,
    client: TestClient,
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// An order service talking to `inventory` (a real one unless the test says otherwise).
async fn shop_with(name: &str, inventory: String) -> Shop {
    let database =
        std::env::temp_dir().join(format!("order-test-{name}-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&database);
    let order = listener().await;
    let addr = order.local_addr().unwrap();
    tokio::spawn(order_service::serve(
        order,
        database,
        inventory,
        std::future::pending(),
    ));
    Shop {
        order: addr,
        client: TestClient::http1(),
    }
}

async fn shop(name: &str) -> Shop {
    let inventory = listener().await;
    let at = format!("http://{}", inventory.local_addr().unwrap());
    tokio::spawn(inventory_service::serve(inventory, std::future::pending()));
    shop_with(name, at).await
}

impl Shop {
    async fn send(
        &self,
        method: &str,
        path: &str,
        who: Option<&Identity>,
        body: &str,
    ) -> TestResponse {
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.order))
            .header("content-type", "application/json")
            .body(Bytes::from(body.to_owned()))
            .unwrap();
        let request = match who {
            Some(identity) => testing::http_request(identity, request).unwrap(),
            None => request,
        };
        self.client.send(request).await.unwrap()
    }

    async fn order(&self, who: &Identity, body: &str) -> TestResponse {
        self.send("POST", "/orders", Some(who), body).await
    }
}

fn customer(name: &str) -> Identity {
    testing::identity(name).with_permissions(["orders:create", "orders:read"])
}

#[tokio::test]
async fn an_order_reserves_stock_as_the_caller_and_is_listed_for_its_owner() {
    let shop = shop("create").await;
    let created = shop
        .order(&customer("alice"), r#"{"item":"tea","quantity":2}"#)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let order = created.json();
    assert_eq!(order["created_by"], "alice");
    assert_eq!(order["reserved_by"], "alice");

    // A wildcard permission is honoured by the service and by the inventory it calls.
    let admin = testing::identity("carol")
        .with_roles(["admin"])
        .with_permissions(["orders:*"]);
    let by_admin = shop
        .order(&admin, r#"{"item":"coffee","quantity":1}"#)
        .await;
    assert_eq!(by_admin.status, StatusCode::CREATED);

    let mine = shop
        .send("GET", "/orders", Some(&customer("alice")), "")
        .await;
    assert_eq!(mine.json()["orders"].as_array().unwrap().len(), 1);
    let all = shop.send("GET", "/orders", Some(&admin), "").await;
    assert_eq!(all.json()["orders"].as_array().unwrap().len(), 2);
    let path = format!("/orders/{}", order["id"]);
    let other = shop.send("GET", &path, Some(&customer("bob")), "").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let bad_id = shop.send("GET", "/orders/x", Some(&admin), "").await;
    assert_eq!(bad_id.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_orders_are_refused_with_their_own_codes() {
    let shop = shop("refusals").await;
    let alice = customer("alice");
    for (body, status, code) in [
        (
            r#"{"item":"tea","quantity":0}"#,
            StatusCode::BAD_REQUEST,
            "invalid_order",
        ),
        (
            r#"{"item":"","quantity":1}"#,
            StatusCode::BAD_REQUEST,
            "invalid_order",
        ),
        (
            r#"{"item":"tea"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_order",
        ),
        (r#"not json"#, StatusCode::BAD_REQUEST, "invalid_order"),
        (
            r#"{"item":"caviar","quantity":1}"#,
            StatusCode::NOT_FOUND,
            "unknown_item",
        ),
        (
            r#"{"item":"mug","quantity":4}"#,
            StatusCode::CONFLICT,
            "out_of_stock",
        ),
    ] {
        let response = shop.order(&alice, body).await;
        assert_eq!(response.status, status, "{body}");
        assert_eq!(response.json()["error"]["code"], code, "{body}");
    }
    let huge = format!(r#"{{"item":"{}","quantity":1}}"#, "x".repeat(32 * 1024));
    assert_eq!(
        shop.order(&alice, &huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let reader = testing::identity("bob").with_permissions(["orders:read"]);
    let denied = shop.order(&reader, r#"{"item":"tea","quantity":1}"#).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.json()["error"]["code"], "permission_denied");
}

#[tokio::test]
async fn requests_without_or_with_broken_context_are_401_and_probes_pass() {
    let shop = shop("context").await;
    let none = shop.send("GET", "/orders", None, "").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.json()["error"]["code"], "identity_missing");
    let request = Request::get(format!("http://{}/orders", shop.order))
        .header("x-user-id", "alice")
        .body(Bytes::new())
        .unwrap();
    let broken = shop.client.send(request).await.unwrap();
    assert_eq!(broken.status, StatusCode::UNAUTHORIZED);
    assert_eq!(broken.json()["error"]["code"], "identity_invalid");
    let health = shop.send("GET", "/healthz", None, "").await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_inventory_is_a_502_and_no_order() {
    // A port that was free a moment ago: nothing listens there.
    let closed = listener().await.local_addr().unwrap();
    let shop = shop_with("down", format!("http://{closed}")).await;
    let alice = customer("alice");
    let failed = shop.order(&alice, r#"{"item":"tea","quantity":1}"#).await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY);
    assert_eq!(failed.json()["error"]["code"], "inventory_unavailable");
    let listed = shop.send("GET", "/orders", Some(&alice), "").await;
    assert_eq!(listed.json()["orders"], serde_json::json!([]));
}
