//! The HTTP handlers.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_sdk::{Caller, require_role};
use serde_json::json;

use crate::{Directory, Profile};

/// `GET /users/me`: the caller, as the gateway verified them.
pub async fn me(State(directory): State<Arc<Directory>>, Caller(me): Caller) -> Json<Profile> {
    let profile = Profile::from(&me);
    directory.record(profile.clone()).await;
    Json(profile)
}

/// `GET /users/{id}`: the caller's own profile, or anyone's for an admin.
pub async fn profile(
    State(directory): State<Arc<Directory>>,
    Caller(me): Caller,
    Path(id): Path<String>,
) -> Response {
    if id == me.subject {
        return Json(Profile::from(&me)).into_response();
    }
    if let Err(forbidden) = require_role("admin").check(&me) {
        return forbidden.into_response();
    }
    match directory.get(&id).await {
        Some(profile) => Json(profile).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": { "code": "user_not_found", "message": "no such user seen yet" } })),
        )
            .into_response(),
    }
}
