//! The HTTP side: OIDC discovery, the JWKS and a token endpoint, all under [`ISSUER_PATH`].

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tracing::warn;

use crate::{ISSUER_PATH, Minter, demo_user, demo_users};

/// Logged when the provider starts, and printed by the CLI.
pub const BANNER: &str = "DEVELOPMENT ONLY: this identity provider hands any demo user's token \
                          to anyone who asks; never expose it or trust its issuer in production";

/// The provider's routes, nested under [`ISSUER_PATH`].
pub fn router(minter: Minter) -> Router {
    let routes = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks.json", get(jwks))
        .route("/token", post(token))
        .route("/users", get(users))
        .with_state(Arc::new(minter));
    Router::new().nest(ISSUER_PATH, routes)
}

/// Serves the provider on `listener` until `shutdown` completes, after logging [`BANNER`].
pub async fn serve(
    listener: TcpListener,
    minter: Minter,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    warn!(issuer = minter.issuer(), "{BANNER}");
    axum::serve(listener, router(minter))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn discovery(State(minter): State<Arc<Minter>>) -> Response {
    let issuer = minter.issuer();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks.json"),
        "token_endpoint": format!("{issuer}/token"),
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "x-development-only": true,
    }))
    .into_response()
}

async fn jwks(State(minter): State<Arc<Minter>>) -> Response {
    Json(json!({ "keys": [minter.key().jwk()] })).into_response()
}

#[derive(Deserialize)]
struct TokenQuery {
    user: String,
}

async fn token(State(minter): State<Arc<Minter>>, Query(query): Query<TokenQuery>) -> Response {
    let Some(user) = demo_user(&query.user) else {
        let known: Vec<&str> = demo_users().iter().map(|u| u.name).collect();
        let body = json!({ "error": "unknown_user", "known_users": known });
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    };
    match minter.mint(user) {
        Ok(token) => Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": minter.lifetime().as_secs(),
        }))
        .into_response(),
        Err(error) => {
            warn!(%error, "cannot mint a token");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "mint_failed" })),
            )
                .into_response()
        }
    }
}

async fn users() -> Response {
    let list: Vec<_> = demo_users()
        .iter()
        .map(|u| {
            json!({
                "name": u.name, "description": u.description, "email": u.email,
                "roles": u.roles, "permissions": u.permissions,
            })
        })
        .collect();
    Json(json!({ "users": list })).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use http_body_util::BodyExt as _;
    use serde_json::Value;
    use tower::ServiceExt as _;

    use super::*;
    use crate::SigningKey;

    async fn call(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn discovery_points_at_the_jwks_and_tokens_are_minted_for_known_users() {
        let issuer = "http://127.0.0.1:8090/insecure-dev-idp";
        let minter = Minter::new(SigningKey::generate().unwrap(), issuer);
        let kid = minter.key().kid().to_owned();
        let app = router(minter);

        let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
        let (status, doc) = call(
            &app,
            get("/insecure-dev-idp/.well-known/openid-configuration"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(doc["issuer"], issuer);
        assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks.json"));

        let (status, jwks) = call(&app, get("/insecure-dev-idp/jwks.json")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(jwks["keys"][0]["kid"], kid.as_str());

        let post = |path: &str| Request::post(path).body(Body::empty()).unwrap();
        let (status, token) = call(&app, post("/insecure-dev-idp/token?user=alice")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(token["token_type"], "Bearer");
        assert_eq!(
            token["access_token"].as_str().unwrap().split('.').count(),
            3
        );

        let (status, body) = call(&app, post("/insecure-dev-idp/token?user=mallory")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "unknown_user");
    }
}
