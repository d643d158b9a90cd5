//! Why a request was refused, and how that is shown to the client (RFC 6750) and to operators.

use http::StatusCode;

/// A refused request. `Display` is for logs: it names the reason but never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No `Authorization` header on a route that requires a token.
    #[error("no bearer token")]
    Missing,
    /// The `Authorization` header is not exactly one well-formed `Bearer` token.
    #[error("malformed authorization header: {0}")]
    MalformedRequest(&'static str),
    /// The token exceeds the configured length bound.
    #[error("token longer than {limit} bytes")]
    TooLarge {
        /// The configured bound.
        limit: usize,
    },
    /// The token is not a well-formed compact JWS.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names `none`, an algorithm outside the allow-list, or one the key cannot use.
    #[error("algorithm refused: {0}")]
    Algorithm(&'static str),
    /// The header carries a parameter that is always refused (`jwk`, `jku`, `x5u`, `x5c`, `crit`).
    #[error("forbidden header parameter \"{0}\"")]
    ForbiddenHeader(&'static str),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// No key of the provider matches the token's `kid`.
    #[error("unknown key id")]
    UnknownKey,
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` lies in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// `exp` is missing while required, or a time claim is not a number.
    #[error("bad time claim: {0}")]
    BadTimeClaim(&'static str),
    /// `exp - iat` exceeds the provider's maximum lifetime, or `iat` is missing when one is set.
    #[error("token lifetime exceeds the maximum")]
    LifetimeTooLong,
    /// No provider accepted on this route issued the token.
    #[error("issuer not accepted on this route")]
    WrongIssuer,
    /// None of the token's audiences is accepted.
    #[error("audience not accepted")]
    WrongAudience,
    /// The subject claim is missing or not a string.
    #[error("subject claim missing")]
    MissingSubject,
    /// The identity fails the route's coarse requirement.
    #[error("insufficient scope for this route")]
    Policy,
    /// The provider's keys have never loaded, so nothing can be verified yet.
    #[error("keys for provider \"{0}\" not loaded yet")]
    KeysUnavailable(String),
}

impl Rejection {
    /// HTTP status: 401 for token problems, 403 for policy, 503 while keys have never loaded.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Policy => StatusCode::FORBIDDEN,
            Self::KeysUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// RFC 6750 `error` code, `None` when the request carried no credentials at all.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::Missing | Self::KeysUnavailable(_) => None,
            Self::MalformedRequest(_) | Self::TooLarge { .. } => Some("invalid_request"),
            Self::Policy => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }

    /// `WWW-Authenticate` value, or `None` for a 503 (it is not a credentials problem).
    ///
    /// It carries only the RFC 6750 error code: the precise reason would tell an attacker which
    /// check a forged token failed.
    pub fn www_authenticate(&self) -> Option<http::HeaderValue> {
        if matches!(self, Self::KeysUnavailable(_)) {
            return None;
        }
        let value = match self.error_code() {
            None => "Bearer",
            Some("invalid_request") => "Bearer error=\"invalid_request\"",
            Some("insufficient_scope") => "Bearer error=\"insufficient_scope\"",
            Some(_) => "Bearer error=\"invalid_token\"",
        };
        Some(http::HeaderValue::from_static(value))
    }

    /// Stable machine-readable code for the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "token_missing",
            Self::MalformedRequest(_) | Self::TooLarge { .. } => "invalid_request",
            // Telling a client its token expired lets it refresh; it reveals nothing exploitable.
            Self::Expired => "token_expired",
            Self::Policy => "insufficient_scope",
            Self::KeysUnavailable(_) => "auth_unavailable",
            _ => "invalid_token",
        }
    }

    /// Low-cardinality reason label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::MalformedRequest(_) => "malformed_request",
            Self::TooLarge { .. } => "too_large",
            Self::Malformed(_) => "malformed",
            Self::Algorithm(_) => "algorithm",
            Self::ForbiddenHeader(_) => "forbidden_header",
            Self::BadSignature => "bad_signature",
            Self::UnknownKey => "unknown_key",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::BadTimeClaim(_) => "bad_time_claim",
            Self::LifetimeTooLong => "lifetime_too_long",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingSubject => "missing_subject",
            Self::Policy => "policy",
            Self::KeysUnavailable(_) => "keys_unavailable",
        }
    }

    /// Every reason label, so dashboards can pre-create series.
    pub const REASONS: [&'static str; 17] = [
        "missing",
        "malformed_request",
        "too_large",
        "malformed",
        "algorithm",
        "forbidden_header",
        "bad_signature",
        "unknown_key",
        "expired",
        "not_yet_valid",
        "bad_time_claim",
        "lifetime_too_long",
        "wrong_issuer",
        "wrong_audience",
        "missing_subject",
        "policy",
        "keys_unavailable",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_challenges_follow_rfc_6750() {
        let missing = Rejection::Missing;
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(missing.www_authenticate().unwrap(), "Bearer");

        let malformed = Rejection::MalformedRequest("two tokens");
        assert_eq!(
            malformed.www_authenticate().unwrap(),
            "Bearer error=\"invalid_request\""
        );

        let bad = Rejection::BadSignature;
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            bad.www_authenticate().unwrap(),
            "Bearer error=\"invalid_token\""
        );
        assert_eq!(bad.code(), "invalid_token");

        let policy = Rejection::Policy;
        assert_eq!(policy.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            policy.www_authenticate().unwrap(),
            "Bearer error=\"insufficient_scope\""
        );

        let down = Rejection::KeysUnavailable("kc".into());
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(down.www_authenticate().is_none());
    }

    #[test]
    fn attack_details_stay_out_of_client_facing_values() {
        for r in [
            Rejection::BadSignature,
            Rejection::UnknownKey,
            Rejection::WrongIssuer,
            Rejection::WrongAudience,
            Rejection::ForbiddenHeader("jku"),
            Rejection::Algorithm("none"),
        ] {
            assert_eq!(r.code(), "invalid_token");
            assert_eq!(
                r.www_authenticate().unwrap(),
                "Bearer error=\"invalid_token\""
            );
        }
    }

    #[test]
    fn every_reason_is_listed() {
        let all = [
            Rejection::Missing,
            Rejection::MalformedRequest(""),
            Rejection::TooLarge { limit: 1 },
            Rejection::Malformed(""),
            Rejection::Algorithm(""),
            Rejection::ForbiddenHeader(""),
            Rejection::BadSignature,
            Rejection::UnknownKey,
            Rejection::Expired,
            Rejection::NotYetValid,
            Rejection::BadTimeClaim(""),
            Rejection::LifetimeTooLong,
            Rejection::WrongIssuer,
            Rejection::WrongAudience,
            Rejection::MissingSubject,
            Rejection::Policy,
            Rejection::KeysUnavailable(String::new()),
        ];
        let reasons: Vec<_> = all.iter().map(Rejection::reason).collect();
        assert_eq!(reasons, Rejection::REASONS);
    }
}
