//! The user service in process on a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use gatehouse_sdk::{Identity, testing};
use gatehouse_testkit::{TestClient, TestResponse};
use http::{Request, StatusCode};

async fn get(base: &str, path: &str, who: Option<&Identity>) -> TestResponse {
    let request = Request::get(format!("{base}{path}"))
        .body(Bytes::new())
        .unwrap();
    let request = match who {
        Some(identity) => testing::http_request(identity, request).unwrap(),
        None => request,
    };
    TestClient::http1().send(request).await.unwrap()
}

#[tokio::test]
async fn me_comes_from_context_and_other_profiles_are_for_admins() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(user_service::serve(listener, std::future::pending()));

    let alice = testing::identity("alice")
        .with_email("alice@example.com")
        .with_roles(["customer"]);
    let me = get(&base, "/users/me", Some(&alice)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["id"], "alice");
    assert_eq!(me.json()["email"], "alice@example.com");

    let own = get(&base, "/users/alice", Some(&alice)).await;
    assert_eq!(own.status, StatusCode::OK);
    let bob = testing::identity("bob");
    let other = get(&base, "/users/alice", Some(&bob)).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert_eq!(other.json()["error"]["code"], "permission_denied");

    let admin = testing::identity("carol").with_roles(["admin"]);
    let seen = get(&base, "/users/alice", Some(&admin)).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.json()["roles"], serde_json::json!(["customer"]));
    let unseen = get(&base, "/users/dave", Some(&admin)).await;
    assert_eq!(unseen.status, StatusCode::NOT_FOUND);

    let anonymous = get(&base, "/users/me", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&base, "/healthz", None).await.status, StatusCode::OK);
}
