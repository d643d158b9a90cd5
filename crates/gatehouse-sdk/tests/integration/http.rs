//! axum: the extractors, the guards and the router layer, over loopback.

use axum::Router;
use axum::routing::get;
use gatehouse_sdk::{
    Authorized, Caller, IdentityLayer, policy, require_all_permissions, require_any_role,
    require_permission, require_role, testing,
};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use super::support::{get as fetch, serve_http};

policy! {
    /// Placing orders.
    struct CreateOrders = require_permission("orders:create");
    /// Support or admin staff.
    struct Staff = require_any_role(["support", "admin"]);
    /// Both reading and exporting reports.
    struct Reports = require_all_permissions(["reports:read", "reports:export"]);
}

async fn whoami(Caller(identity): Caller) -> axum::Json<serde_json::Value> {
    axum::Json(json!({ "subject": identity.subject, "email": identity.email }))
}

async fn maybe(caller: Option<Caller>) -> String {
    caller.map_or_else(|| "anonymous".to_owned(), |c| c.0.subject)
}

async fn create(caller: Authorized<CreateOrders>) -> String {
    format!("created by {}", caller.subject)
}

async fn staff(_: Authorized<Staff>) -> &'static str {
    "staff"
}

async fn reports(_: Authorized<Reports>) -> &'static str {
    "reports"
}

async fn app() -> std::net::SocketAddr {
    let admin = Router::new()
        .route("/admin/panel", get(|| async { "panel" }))
        .layer(IdentityLayer::require(require_role("admin")));
    let open = Router::new()
        .route("/open/home", get(maybe))
        .layer(IdentityLayer::optional());
    serve_http(
        Router::new()
            .route("/whoami", get(whoami))
            .route("/maybe", get(maybe))
            .route("/orders", get(create))
            .route("/staff", get(staff))
            .route("/reports", get(reports))
            .merge(admin)
            .merge(open),
    )
    .await
}

fn headers_of(identity: &gatehouse_sdk::Identity) -> HeaderMap {
    testing::headers(identity).unwrap()
}

fn malformed() -> HeaderMap {
    let mut headers = headers_of(&testing::identity("alice"));
    headers.append("x-user-id", HeaderValue::from_static("mallory"));
    headers
}

#[tokio::test]
async fn missing_context_is_a_json_401() {
    let addr = app().await;
    for path in ["/whoami", "/orders", "/admin/panel"] {
        let (status, body) = fetch(addr, path, HeaderMap::new()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"]["code"], "identity_missing", "{path}");
        assert!(body["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn malformed_context_is_a_json_401_with_the_reason() {
    let addr = app().await;
    for path in ["/whoami", "/maybe", "/orders", "/admin/panel", "/open/home"] {
        let (status, body) = fetch(addr, path, malformed()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"]["code"], "identity_invalid", "{path}");
        assert_eq!(body["error"]["reason"], "duplicate_header", "{path}");
    }
}

#[tokio::test]
async fn the_extractor_yields_the_caller() {
    let addr = app().await;
    let alice = testing::identity("a, b\r\nc").with_email("é@x");
    let (status, body) = fetch(addr, "/whoami", headers_of(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "subject": "a, b\r\nc", "email": "é@x" }));
}

#[tokio::test]
async fn the_optional_form_serves_anonymous_callers() {
    let addr = app().await;
    for path in ["/maybe", "/open/home"] {
        let (status, _) = fetch(addr, path, HeaderMap::new()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let (status, _) = fetch(addr, path, headers_of(&testing::identity("bob"))).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_missing_permission_is_a_json_403_naming_it() {
    let addr = app().await;
    let reader = testing::identity("r").with_permissions(["orders:read"]);
    let (status, body) = fetch(addr, "/orders", headers_of(&reader)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({ "error": {
            "code": "permission_denied",
            "message": "requires permission `orders:create`",
            "required": { "permissions": { "all_of": ["orders:create"] } },
        }})
    );
}

#[tokio::test]
async fn permissions_match_exactly_or_by_trailing_wildcard() {
    let addr = app().await;
    let cases = [
        (vec!["orders:create"], StatusCode::OK),
        (vec!["orders:*"], StatusCode::OK),
        (vec!["*"], StatusCode::FORBIDDEN),
        (vec!["orders"], StatusCode::FORBIDDEN),
        (vec!["Orders:create"], StatusCode::FORBIDDEN),
        (vec!["orders:create:draft"], StatusCode::FORBIDDEN),
    ];
    for (held, expected) in cases {
        let caller = testing::identity("u").with_permissions(held.clone());
        let (status, _) = fetch(addr, "/orders", headers_of(&caller)).await;
        assert_eq!(status, expected, "{held:?}");
    }
}

#[tokio::test]
async fn any_of_and_all_of_guards() {
    let addr = app().await;
    let support = testing::identity("s").with_roles(["support"]);
    let nobody = testing::identity("n").with_roles(["customer"]);
    assert_eq!(
        fetch(addr, "/staff", headers_of(&support)).await.0,
        StatusCode::OK
    );
    let (status, body) = fetch(addr, "/staff", headers_of(&nobody)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["required"],
        json!({ "roles": { "any_of": ["support", "admin"] } })
    );

    let half = testing::identity("h").with_permissions(["reports:read"]);
    let both = testing::identity("b").with_permissions(["reports:read", "reports:export"]);
    let wildcard = testing::identity("w").with_permissions(["reports:*"]);
    assert_eq!(
        fetch(addr, "/reports", headers_of(&half)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        fetch(addr, "/reports", headers_of(&both)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        fetch(addr, "/reports", headers_of(&wildcard)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_router_layer_guards_every_route_below_it() {
    let addr = app().await;
    let admin = testing::identity("a").with_roles(["admin"]);
    let user = testing::identity("u").with_roles(["user", "Admin"]);
    assert_eq!(
        fetch(addr, "/admin/panel", headers_of(&admin)).await.0,
        StatusCode::OK
    );
    let (status, body) = fetch(addr, "/admin/panel", headers_of(&user)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["message"], "requires role `admin`");
}
