//! The two client-visible rejections, and the one place that renders them as an HTTP JSON body
//! or a gRPC status.

use axum::Json;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use gatehouse_context::ContextError;
use http::StatusCode;
use serde_json::{Value, json};

use crate::{Mode, Requirement};

/// No usable identity context: missing (`identity_missing`) or malformed (`identity_invalid`).
/// HTTP 401, gRPC `UNAUTHENTICATED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unauthenticated {
    reason: Option<ContextError>,
}

impl Unauthenticated {
    /// The request carried no identity context at all.
    pub fn missing() -> Self {
        Unauthenticated { reason: None }
    }

    /// The request carried identity context that the contract refuses.
    pub fn invalid(reason: ContextError) -> Self {
        Unauthenticated {
            reason: Some(reason),
        }
    }

    /// Why the context was refused, when it was present.
    pub fn reason(&self) -> Option<&ContextError> {
        self.reason.as_ref()
    }

    /// The stable code: `identity_missing` or `identity_invalid`.
    pub fn code(&self) -> &'static str {
        match self.reason {
            None => "identity_missing",
            Some(_) => "identity_invalid",
        }
    }

    /// A human-readable message, free of any value the caller sent.
    pub fn message(&self) -> String {
        match &self.reason {
            None => "this endpoint requires an authenticated caller".to_owned(),
            Some(reason) => format!("invalid identity context: {reason}"),
        }
    }

    fn body(&self) -> Value {
        let mut error = json!({ "code": self.code(), "message": self.message() });
        if let Some(reason) = &self.reason {
            error["reason"] = Value::from(reason.code());
        }
        json!({ "error": error })
    }
}

/// The caller is authenticated but lacks what was required. HTTP 403, gRPC `PERMISSION_DENIED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    requirement: Requirement,
}

impl Forbidden {
    /// A refusal naming the unmet `requirement`.
    pub fn new(requirement: Requirement) -> Self {
        Forbidden { requirement }
    }

    /// The requirement that was not met.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }

    /// The stable code: `permission_denied`.
    pub fn code(&self) -> &'static str {
        "permission_denied"
    }

    /// A message naming what was required.
    pub fn message(&self) -> String {
        format!("requires {}", describe(&self.requirement))
    }

    fn body(&self) -> Value {
        json!({ "error": {
            "code": self.code(),
            "message": self.message(),
            "required": required(&self.requirement),
        }})
    }
}

fn describe(requirement: &Requirement) -> String {
    let (kind, mode, values) = match requirement {
        Requirement::Permissions { mode, values } => ("permission", mode, values),
        Requirement::Roles { mode, values } => ("role", mode, values),
        Requirement::All(all) => {
            let parts: Vec<String> = all.iter().map(describe).collect();
            return parts.join(" and ");
        }
    };
    let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    match (mode, quoted.as_slice()) {
        (Mode::AllOf, [one]) => format!("{kind} {one}"),
        (Mode::AllOf, _) => format!("all of the {kind}s {}", quoted.join(", ")),
        (Mode::AnyOf, _) => format!("any of the {kind}s {}", quoted.join(", ")),
    }
}

fn required(requirement: &Requirement) -> Value {
    match requirement {
        Requirement::Permissions { mode, values } => {
            json!({ "permissions": { mode.as_str(): values } })
        }
        Requirement::Roles { mode, values } => json!({ "roles": { mode.as_str(): values } }),
        Requirement::All(all) => json!({ "all": all.iter().map(required).collect::<Vec<_>>() }),
    }
}

/// Either rejection; what layers and guards return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// 401 / `UNAUTHENTICATED`.
    Unauthenticated(Unauthenticated),
    /// 403 / `PERMISSION_DENIED`.
    Forbidden(Forbidden),
}

impl Rejection {
    /// The HTTP status: 401 or 403.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Rejection::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The stable code of the inner rejection.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Unauthenticated(r) => r.code(),
            Rejection::Forbidden(r) => r.code(),
        }
    }

    /// The gRPC status: `UNAUTHENTICATED` or `PERMISSION_DENIED`, with the same message.
    pub fn to_status(&self) -> tonic::Status {
        match self {
            Rejection::Unauthenticated(r) => tonic::Status::unauthenticated(r.message()),
            Rejection::Forbidden(r) => tonic::Status::permission_denied(r.message()),
        }
    }

    /// The response for a request: a gRPC status when it is a gRPC call, JSON otherwise.
    pub fn render(&self, grpc: bool) -> Response<Body> {
        if grpc {
            return self.to_status().into_http();
        }
        let body = match self {
            Rejection::Unauthenticated(r) => r.body(),
            Rejection::Forbidden(r) => r.body(),
        };
        (self.status(), Json(body)).into_response()
    }
}

impl From<Unauthenticated> for Rejection {
    fn from(rejection: Unauthenticated) -> Self {
        Rejection::Unauthenticated(rejection)
    }
}

impl From<Forbidden> for Rejection {
    fn from(rejection: Forbidden) -> Self {
        Rejection::Forbidden(rejection)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.render(false)
    }
}

impl IntoResponse for Unauthenticated {
    fn into_response(self) -> Response {
        Rejection::from(self).render(false)
    }
}

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        Rejection::from(self).render(false)
    }
}

impl From<Rejection> for tonic::Status {
    fn from(rejection: Rejection) -> Self {
        rejection.to_status()
    }
}

impl From<Unauthenticated> for tonic::Status {
    fn from(rejection: Unauthenticated) -> Self {
        Rejection::from(rejection).to_status()
    }
}

impl From<Forbidden> for tonic::Status {
    fn from(rejection: Forbidden) -> Self {
        Rejection::from(rejection).to_status()
    }
}

/// Whether a request is a gRPC call, judged by its content type as gRPC itself does.
pub(crate) fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{require_any_role, require_permission};

    #[test]
    fn forbidden_names_what_was_required() {
        let f = Forbidden::new(require_permission("orders:create"));
        assert_eq!(f.message(), "requires permission `orders:create`");
        assert_eq!(
            f.body()["error"]["required"],
            json!({ "permissions": { "all_of": ["orders:create"] } })
        );
        let f = Forbidden::new(require_any_role(["a", "b"]));
        assert_eq!(f.message(), "requires any of the roles `a`, `b`");
    }

    #[test]
    fn statuses_map_to_grpc_codes() {
        let r = Rejection::from(Unauthenticated::missing());
        assert_eq!(r.to_status().code(), tonic::Code::Unauthenticated);
        let r = Rejection::from(Forbidden::new(require_permission("x")));
        assert_eq!(r.to_status().code(), tonic::Code::PermissionDenied);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}
