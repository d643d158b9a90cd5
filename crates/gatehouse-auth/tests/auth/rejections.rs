//! Every refused token, crafted, with the status and challenge the client would see.

use aws_lc_rs::hmac;
use http::StatusCode;
use serde_json::json;

use crate::support::*;
use gatehouse_auth::Rejection;

/// One provider serving an RSA, an EC and an Ed25519 key.
async fn setup() -> (Idp, gatehouse_auth::Authenticator, [TestKey; 3]) {
    let keys = [TestKey::rsa(), TestKey::ec(), TestKey::ed()];
    let idp = Idp::serving(&[(&keys[0], "rsa"), (&keys[1], "ec"), (&keys[2], "ed")]).await;
    let auth = loaded(&idp, json!({})).await;
    (idp, auth, keys)
}

fn assert_refused(
    result: Result<Option<gatehouse_auth::Identity>, Rejection>,
    reason: &str,
    status: StatusCode,
) {
    let rejection = result.expect_err("token should be refused");
    assert_eq!(rejection.reason(), reason, "{rejection}");
    assert_eq!(rejection.status(), status);
    if status == StatusCode::UNAUTHORIZED {
        let challenge = rejection.www_authenticate().unwrap();
        assert!(
            challenge.to_str().unwrap().starts_with("Bearer"),
            "{challenge:?}"
        );
    }
}

#[tokio::test]
async fn valid_tokens_of_every_family_are_accepted_and_mapped() {
    let (idp, auth, [rsa, ec, ed]) = setup().await;
    for (key, kid) in [(&rsa, "rsa"), (&ec, "ec"), (&ed, "ed")] {
        let identity = check(&auth, &token(key, kid, &claims(&idp.issuer())))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(identity.subject, "user-1");
        assert_eq!(identity.email.as_deref(), Some("user@example.com"));
        assert_eq!(identity.roles, ["buyer"]);
        assert_eq!(identity.permissions, ["openid", "orders:read"]);
        assert_eq!(identity.issuer, idp.issuer());
    }
}

#[tokio::test]
async fn alg_none_is_refused_in_every_casing() {
    let (idp, auth, _) = setup().await;
    let claims = claims(&idp.issuer());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({ "alg": alg, "kid": "rsa" });
        let unsigned = format!("{}.{}.", b64_json(&header), b64_json(&claims));
        assert_refused(
            check(&auth, &unsigned).await,
            "algorithm",
            StatusCode::UNAUTHORIZED,
        );
        assert_refused(
            check(&auth, &raw(&header, &claims, b"x")).await,
            "algorithm",
            StatusCode::UNAUTHORIZED,
        );
    }
}

#[tokio::test]
async fn rs256_to_hs256_confusion_with_the_public_key_as_secret_fails() {
    let (idp, auth, [rsa, _, _]) = setup().await;
    let claims = claims(&idp.issuer());
    for alg in ["HS256", "HS384", "HS512"] {
        let header = json!({ "alg": alg, "kid": "rsa" });
        let input = format!("{}.{}", b64_json(&header), b64_json(&claims));
        let hmac_alg = match alg {
            "HS256" => hmac::HMAC_SHA256,
            "HS384" => hmac::HMAC_SHA384,
            _ => hmac::HMAC_SHA512,
        };
        for secret in [
            rsa.public_pem().into_bytes(),
            rsa.public_pem().trim().as_bytes().to_vec(),
        ] {
            let tag = hmac::sign(&hmac::Key::new(hmac_alg, &secret), input.as_bytes());
            let forged = raw(&header, &claims, tag.as_ref());
            assert_refused(
                check(&auth, &forged).await,
                "algorithm",
                StatusCode::UNAUTHORIZED,
            );
        }
    }
}

#[tokio::test]
async fn an_algorithm_other_than_the_keys_is_refused() {
    let (idp, auth, [rsa, ec, _]) = setup().await;
    let claims = claims(&idp.issuer());
    // RS256 header naming the EC key, ES256 header naming the RSA key, PS256 against an RS256 key.
    let cases = [
        signed(&rsa, &json!({ "alg": "RS256", "kid": "ec" }), &claims),
        signed(&ec, &json!({ "alg": "ES256", "kid": "rsa" }), &claims),
        signed(&rsa, &json!({ "alg": "PS256", "kid": "rsa" }), &claims),
        signed(&ec, &json!({ "alg": "ES384", "kid": "ec" }), &claims),
    ];
    for forged in cases {
        assert_refused(
            check(&auth, &forged).await,
            "algorithm",
            StatusCode::UNAUTHORIZED,
        );
    }
}

#[tokio::test]
async fn embedded_keys_and_key_urls_in_the_header_are_refused() {
    let (idp, auth, _) = setup().await;
    let attacker = TestKey::ed();
    let claims = claims(&idp.issuer());
    let headers = [
        json!({ "alg": "EdDSA", "kid": "ed", "jwk": attacker.jwk("ed") }),
        json!({ "alg": "EdDSA", "kid": "evil", "jku": "https://attacker.example/jwks" }),
        json!({ "alg": "EdDSA", "kid": "ed", "jku": idp.jwks_url() }),
        json!({ "alg": "EdDSA", "kid": "ed", "x5u": "https://attacker.example/cert.pem" }),
        json!({ "alg": "EdDSA", "kid": "ed", "x5c": ["MIIB"] }),
    ];
    for header in headers {
        let forged = signed(&attacker, &header, &claims);
        assert_refused(
            check(&auth, &forged).await,
            "forbidden_header",
            StatusCode::UNAUTHORIZED,
        );
    }
    assert_eq!(idp.jwks_hits(), 1, "no header may cause a fetch");
}

#[tokio::test]
async fn unknown_crit_extensions_are_refused_even_with_a_valid_signature() {
    let (idp, auth, [_, _, ed]) = setup().await;
    let header = json!({ "alg": "EdDSA", "kid": "ed", "crit": ["exp-ext"], "exp-ext": true });
    let t = signed(&ed, &header, &claims(&idp.issuer()));
    assert_refused(
        check(&auth, &t).await,
        "forbidden_header",
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn kid_path_tricks_are_only_unknown_keys() {
    let (idp, auth, [_, _, ed]) = setup().await;
    let claims = claims(&idp.issuer());
    for kid in [
        "../../etc/passwd",
        "/dev/null",
        "ed/../ed",
        "ed\u{0}",
        "http://127.0.0.1/jwks",
        "ED",
    ] {
        let t = signed(&ed, &json!({ "alg": "EdDSA", "kid": kid }), &claims);
        assert_refused(
            check(&auth, &t).await,
            "unknown_key",
            StatusCode::UNAUTHORIZED,
        );
    }
}

#[tokio::test]
async fn a_zero_ecdsa_signature_is_refused() {
    let (idp, auth, _) = setup().await;
    let header = json!({ "alg": "ES256", "kid": "ec" });
    let claims = claims(&idp.issuer());
    assert_refused(
        check(&auth, &raw(&header, &claims, &[0; 64])).await,
        "bad_signature",
        StatusCode::UNAUTHORIZED,
    );
    let mut zero_s = [0u8; 64];
    zero_s[..32].fill(7);
    assert_refused(
        check(&auth, &raw(&header, &claims, &zero_s)).await,
        "bad_signature",
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn a_tampered_payload_fails_the_signature() {
    let (idp, auth, [rsa, _, _]) = setup().await;
    let good = token(&rsa, "rsa", &claims(&idp.issuer()));
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = b64_json(&claims_with(&idp.issuer(), json!({ "sub": "admin" })));
    assert_refused(
        check(&auth, &parts.join(".")).await,
        "bad_signature",
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn registered_claims_are_enforced() {
    let (idp, auth, [_, ec, _]) = setup().await;
    let iss = idp.issuer();
    let now = now();
    let cases = [
        (json!({ "exp": now - 120 }), "expired"),
        (json!({ "nbf": now + 3600 }), "not_yet_valid"),
        (json!({ "iat": now + 3600 }), "not_yet_valid"),
        (json!({ "exp": null }), "bad_time_claim"),
        (
            json!({ "exp": format!("{}", now + 3600) }),
            "bad_time_claim",
        ),
        (json!({ "aud": "someone-else" }), "wrong_audience"),
        (json!({ "aud": ["a", "b"] }), "wrong_audience"),
        (json!({ "aud": null }), "wrong_audience"),
        (json!({ "sub": null }), "missing_subject"),
    ];
    for (changes, reason) in cases {
        let t = token(&ec, "ec", &claims_with(&iss, changes.clone()));
        assert_refused(check(&auth, &t).await, reason, StatusCode::UNAUTHORIZED);
    }
    let expired = check(
        &auth,
        &token(&ec, "ec", &claims_with(&iss, json!({ "exp": now - 120 }))),
    )
    .await;
    assert_eq!(expired.unwrap_err().code(), "token_expired");
    // Any one accepted audience in an array is enough.
    let multi = token(
        &ec,
        "ec",
        &claims_with(&iss, json!({ "aud": ["x", AUD, "y"] })),
    );
    assert!(check(&auth, &multi).await.unwrap().is_some());
}

#[tokio::test]
async fn a_wrong_or_unknown_issuer_is_refused() {
    let (idp, auth, [_, _, ed]) = setup().await;
    for iss in [
        json!("https://attacker.example"),
        json!(format!("{}/", idp.issuer())),
        json!([idp.issuer()]),
        json!(null),
    ] {
        let t = token(
            &ed,
            "ed",
            &claims_with(&idp.issuer(), json!({ "iss": iss })),
        );
        assert_refused(
            check(&auth, &t).await,
            "wrong_issuer",
            StatusCode::UNAUTHORIZED,
        );
    }
}

#[tokio::test]
async fn malformed_tokens_and_headers_are_refused() {
    let (idp, auth, [_, _, ed]) = setup().await;
    let good = token(&ed, "ed", &claims(&idp.issuer()));
    let five = format!("{good}.AAAA.BBBB");
    assert_refused(
        check(&auth, &five).await,
        "malformed",
        StatusCode::UNAUTHORIZED,
    );
    let two = good.rsplit_once('.').unwrap().0.to_owned();
    assert_refused(
        check(&auth, &two).await,
        "malformed",
        StatusCode::UNAUTHORIZED,
    );

    let oversize = format!("{good}{}", "A".repeat(9000));
    let r = check(&auth, &oversize).await.unwrap_err();
    assert_eq!((r.reason(), r.code()), ("too_large", "invalid_request"));
    assert_eq!(
        r.www_authenticate().unwrap(),
        "Bearer error=\"invalid_request\""
    );

    let mut headers = bearer(&good);
    headers.append(
        http::header::AUTHORIZATION,
        format!("Bearer {good}").parse().unwrap(),
    );
    let r = auth.authenticate(&headers, &required()).await.unwrap_err();
    assert_eq!(r.reason(), "malformed_request");

    for value in [
        format!("Bearer {good} {good}"),
        format!("Basic {good}"),
        "Bearer".to_owned(),
    ] {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        let r = auth.authenticate(&headers, &required()).await.unwrap_err();
        assert_eq!(
            (r.reason(), r.status()),
            ("malformed_request", StatusCode::UNAUTHORIZED),
            "{value}"
        );
    }
    // The scheme is case-insensitive.
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("bEARER {good}").parse().unwrap(),
    );
    assert!(
        auth.authenticate(&headers, &required())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn rejections_are_counted_by_reason_in_metrics() {
    let (idp, auth, [_, _, ed]) = setup().await;
    let mut registry = prometheus_client::registry::Registry::default();
    auth.register_metrics(&mut registry);
    let expired = token(
        &ed,
        "ed",
        &claims_with(&idp.issuer(), json!({ "exp": now() - 300 })),
    );
    assert!(check(&auth, &expired).await.is_err());
    let good = token(&ed, "ed", &claims(&idp.issuer()));
    assert!(check(&auth, &good).await.is_ok());
    assert!(check(&auth, &good).await.is_ok());
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for line in [
        "auth_rejections_total{reason=\"expired\"} 1",
        "auth_token_cache_lookups_total{result=\"hit\"} 1",
        "auth_key_fetches_total{provider=\"idp\",document=\"jwks\",outcome=\"success\"} 1",
        "auth_key_set_age_seconds{provider=\"idp\"}",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(
        !text.contains(&good) && !text.contains(&expired),
        "tokens must never reach metrics"
    );
}
