//! Route policies: public, optional, required, provider lists and the coarse requirement.

use gatehouse_auth::{AuthMode, Grants, Requirement, RoutePolicy};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn public_optional_and_required_routes() {
    let ed = TestKey::ed();
    let idp = Idp::serving(&[(&ed, "k")]).await;
    let auth = loaded(&idp, json!({})).await;
    let good = bearer(&token(&ed, "k", &claims(&idp.issuer())));
    let bad = bearer(&token(
        &ed,
        "k",
        &claims_with(&idp.issuer(), json!({ "exp": now() - 600 })),
    ));
    let none = HeaderMap::new();

    let public = RoutePolicy::public();
    assert_eq!(auth.authenticate(&none, &public).await, Ok(None));
    assert_eq!(
        auth.authenticate(&good, &public).await,
        Ok(None),
        "public routes ignore tokens"
    );
    assert_eq!(auth.authenticate(&bad, &public).await, Ok(None));

    let optional = RoutePolicy::optional(["idp"]);
    assert_eq!(auth.authenticate(&none, &optional).await, Ok(None));
    assert!(auth.authenticate(&good, &optional).await.unwrap().is_some());
    let r = auth.authenticate(&bad, &optional).await.unwrap_err();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "an invalid token is never anonymous"
    );

    let required = RoutePolicy::required(["idp"]);
    let r = auth.authenticate(&none, &required).await.unwrap_err();
    assert_eq!((r.reason(), r.code()), ("missing", "token_missing"));
    assert_eq!(
        r.www_authenticate().unwrap(),
        "Bearer",
        "no error code without credentials"
    );
    assert!(auth.authenticate(&good, &required).await.unwrap().is_some());
}

#[tokio::test]
async fn a_route_accepts_only_its_providers() {
    let (a, b) = (Idp::start().await, Idp::start().await);
    let (ka, kb) = (TestKey::ed(), TestKey::ec());
    a.publish(&[(&ka, "a")]);
    b.publish(&[(&kb, "b")]);
    let auth = authenticator(&[
        jwks_provider("alpha", &a, json!({})),
        jwks_provider("beta", &b, json!({})),
    ]);
    auth.start(gatehouse_auth::CancellationToken::new());
    until("both loaded", || async { auth.ready() }).await;
    let token_a = bearer(&token(&ka, "a", &claims(&a.issuer())));
    let token_b = bearer(&token(&kb, "b", &claims(&b.issuer())));

    // The issuer of the identity, or the rejection reason.
    let outcome = async |headers: &HeaderMap, policy: &RoutePolicy| match auth
        .authenticate(headers, policy)
        .await
    {
        Ok(identity) => identity
            .map(|i| i.identity.issuer.clone())
            .unwrap_or_default(),
        Err(rejection) => rejection.reason().to_owned(),
    };
    let only_beta = RoutePolicy::required(["beta"]);
    let either = RoutePolicy::required(["alpha", "beta"]);
    assert_eq!(outcome(&token_a, &only_beta).await, "wrong_issuer");
    assert_eq!(outcome(&token_b, &only_beta).await, b.issuer());
    assert_eq!(outcome(&token_a, &either).await, a.issuer());
    assert_eq!(outcome(&token_b, &either).await, b.issuer());
    // A cached token is still subject to the route's provider list.
    assert_eq!(outcome(&token_a, &only_beta).await, "wrong_issuer");

    // A token of one provider signed with the other provider's key fails.
    let crossed = bearer(&token(&kb, "a", &claims(&a.issuer())));
    assert!(auth.authenticate(&crossed, &either).await.is_err());
}

#[tokio::test]
async fn the_coarse_requirement_answers_403() {
    let ed = TestKey::ed();
    let idp = Idp::serving(&[(&ed, "k")]).await;
    let auth = loaded(&idp, json!({})).await;
    let headers = bearer(&token(&ed, "k", &claims(&idp.issuer())));

    let needs_admin = RoutePolicy::required(["idp"]).with_requirement(Requirement {
        any_of: Some(Grants {
            roles: vec!["admin".into()],
            permissions: vec!["orders:admin".into()],
        }),
        all_of: None,
    });
    let r = auth.authenticate(&headers, &needs_admin).await.unwrap_err();
    assert_eq!(
        (r.status(), r.reason(), r.code()),
        (StatusCode::FORBIDDEN, "policy", "insufficient_scope")
    );
    assert_eq!(
        r.www_authenticate().unwrap(),
        "Bearer error=\"insufficient_scope\""
    );
    // The second request is a cache hit and must be refused just the same.
    assert_eq!(
        auth.authenticate(&headers, &needs_admin)
            .await
            .unwrap_err()
            .status(),
        StatusCode::FORBIDDEN
    );

    let reader: RoutePolicy = serde_json::from_value(json!({
        "mode": "required", "providers": ["idp"],
        "require": { "all_of": { "permissions": ["orders:read"], "roles": ["buyer"] } },
    }))
    .unwrap();
    assert_eq!(reader.mode, AuthMode::Required);
    assert!(
        auth.authenticate(&headers, &reader)
            .await
            .unwrap()
            .is_some()
    );
}
