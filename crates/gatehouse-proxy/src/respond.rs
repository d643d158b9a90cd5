//! The one place where a failure becomes a response: an HTTP status with a JSON body for HTTP
//! clients, a trailers-only `grpc-status` for gRPC clients. Every client-visible failure has a
//! stable machine-readable code; details stay in the logs.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use crate::body::{self, ProxyBody};
use crate::request_id::{REQUEST_ID, RequestId};

/// Where a failure came from, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The client sent something we refuse.
    Downstream,
    /// The upstream failed or was unreachable.
    Upstream,
    /// The gateway itself.
    Internal,
}

/// A request the gateway answers itself instead of forwarding.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The request is malformed or ambiguous.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// No route matches.
    #[error("no route matches the request")]
    RouteNotFound,
    /// A route matches the path but not the method.
    #[error("method not allowed")]
    MethodNotAllowed(Vec<http::Method>),
    /// The request body is larger than the route allows.
    #[error("request body too large")]
    BodyTooLarge,
    /// The client paused too long while sending the body.
    #[error("request body read timed out")]
    BodyTimeout,
    /// Every connection slot is taken; a new long-lived tunnel cannot be opened.
    #[error("the gateway is at its connection limit")]
    OverCapacity,
    /// No endpoint of the upstream is healthy.
    #[error("no healthy endpoint in upstream {0}")]
    NoHealthyUpstream(String),
    /// The upstream refused or failed the connection.
    #[error("cannot connect to upstream")]
    UpstreamConnect,
    /// The upstream took longer than the configured timeout.
    #[error("upstream timed out")]
    UpstreamTimeout,
    /// The upstream broke the exchange (reset, protocol error).
    #[error("upstream failed the request")]
    UpstreamFailed,
    /// Edge authentication refused the request (401, 403, or 503 while keys are unavailable).
    #[error("authentication: {}", .0.reason())]
    Auth(gatehouse_auth::Rejection),
    /// The verified identity cannot be encoded within the context contract's bounds.
    #[error("identity context refused: {0}")]
    Context(gatehouse_context::ContextError),
    /// A bug or resource failure in the gateway.
    #[error("internal error")]
    Internal,
}

impl ProxyError {
    /// The HTTP status sent to the client.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::RouteNotFound => StatusCode::NOT_FOUND,
            ProxyError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ProxyError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ProxyError::NoHealthyUpstream(_) | ProxyError::OverCapacity => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ProxyError::UpstreamConnect | ProxyError::UpstreamFailed => StatusCode::BAD_GATEWAY,
            ProxyError::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Auth(rejection) => rejection.status(),
            ProxyError::Context(_) => StatusCode::UNAUTHORIZED,
            ProxyError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code in the JSON body; clients may branch on it.
    pub fn code(&self) -> &'static str {
        match self {
            ProxyError::BadRequest(code) => code,
            ProxyError::RouteNotFound => "route_not_found",
            ProxyError::MethodNotAllowed(_) => "method_not_allowed",
            ProxyError::BodyTooLarge => "body_too_large",
            ProxyError::BodyTimeout => "body_timeout",
            ProxyError::NoHealthyUpstream(_) => "no_healthy_upstream",
            ProxyError::OverCapacity => "over_capacity",
            ProxyError::UpstreamConnect => "upstream_connect_failed",
            ProxyError::UpstreamTimeout => "upstream_timeout",
            ProxyError::UpstreamFailed => "upstream_failed",
            ProxyError::Auth(rejection) => rejection.code(),
            ProxyError::Context(_) => "invalid_token",
            ProxyError::Internal => "internal_error",
        }
    }

    /// Where the failure came from.
    pub fn origin(&self) -> Origin {
        match self {
            ProxyError::BadRequest(_)
            | ProxyError::RouteNotFound
            | ProxyError::MethodNotAllowed(_)
            | ProxyError::BodyTooLarge
            | ProxyError::BodyTimeout
            | ProxyError::Context(_) => Origin::Downstream,
            ProxyError::Auth(rejection) if rejection.status().is_server_error() => Origin::Internal,
            ProxyError::Auth(_) => Origin::Downstream,
            ProxyError::NoHealthyUpstream(_)
            | ProxyError::UpstreamConnect
            | ProxyError::UpstreamTimeout
            | ProxyError::UpstreamFailed => Origin::Upstream,
            ProxyError::Internal | ProxyError::OverCapacity => Origin::Internal,
        }
    }

    fn message(&self) -> &'static str {
        match self {
            ProxyError::BadRequest(_) => "the request is malformed or ambiguous",
            ProxyError::RouteNotFound => "no route matches this request",
            ProxyError::MethodNotAllowed(_) => "this method is not allowed here",
            ProxyError::BodyTooLarge => "the request body is larger than this route allows",
            ProxyError::BodyTimeout => "the request body arrived too slowly",
            ProxyError::NoHealthyUpstream(_) => "no healthy upstream is available",
            ProxyError::OverCapacity => "the gateway is at its connection limit",
            ProxyError::UpstreamConnect => "the upstream could not be reached",
            ProxyError::UpstreamTimeout => "the upstream did not answer in time",
            ProxyError::UpstreamFailed => "the upstream failed to answer",
            ProxyError::Auth(rejection) => match rejection.status().as_u16() {
                401 => "valid credentials are required",
                403 => "the credentials do not grant access to this route",
                _ => "authentication is temporarily unavailable",
            },
            ProxyError::Context(_) => "the token's claims cannot be forwarded",
            ProxyError::Internal => "the gateway failed to handle the request",
        }
    }

    /// The gRPC status code equivalent to the HTTP status.
    pub fn grpc_code(&self) -> u8 {
        match self.status().as_u16() {
            400 => 3,        // INVALID_ARGUMENT
            401 => 16,       // UNAUTHENTICATED
            403 => 7,        // PERMISSION_DENIED
            404 | 405 => 12, // UNIMPLEMENTED
            408 | 504 => 4,  // DEADLINE_EXCEEDED
            413 => 8,        // RESOURCE_EXHAUSTED
            502 | 503 => 14, // UNAVAILABLE
            _ => 13,         // INTERNAL
        }
    }

    /// Renders the response: JSON for HTTP clients, trailers-only for gRPC clients.
    pub fn into_response(self, request_id: &RequestId, grpc: bool) -> Response<ProxyBody> {
        let mut builder = Response::builder().header(REQUEST_ID, request_id.header());
        let challenge = match &self {
            ProxyError::Auth(rejection) => rejection.www_authenticate(),
            ProxyError::Context(_) => {
                Some(HeaderValue::from_static("Bearer error=\"invalid_token\""))
            }
            _ => None,
        };
        if let Some(challenge) = challenge {
            builder = builder.header(header::WWW_AUTHENTICATE, challenge);
        }
        if let ProxyError::MethodNotAllowed(allow) = &self {
            let allow: Vec<&str> = allow.iter().map(http::Method::as_str).collect();
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                builder = builder.header(header::ALLOW, v);
            }
        }
        let response = if grpc {
            builder
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/grpc")
                .header("grpc-status", self.grpc_code().to_string())
                .header("grpc-message", self.message().replace(' ', "%20"))
                .body(body::empty())
        } else {
            let json = serde_json::json!({
                "error": {
                    "code": self.code(),
                    "message": self.message(),
                    "request_id": request_id.as_str(),
                }
            });
            builder
                .status(self.status())
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CACHE_CONTROL, "no-store")
                .body(body::full(Bytes::from(json.to_string())))
        };
        // The builder only fails on invalid parts, and every part above is a constant or was
        // validated; still, a response must always go out.
        response.unwrap_or_else(|_| {
            let mut r = Response::new(body::empty());
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
    }
}

/// Whether the client speaks gRPC, so errors must be reported as `grpc-status`.
pub fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.get(..16)
                .is_some_and(|p| p.eq_ignore_ascii_case("application/grpc"))
        })
}
