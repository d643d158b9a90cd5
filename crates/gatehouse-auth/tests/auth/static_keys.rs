//! Static keys: PEM files, JWK files and HMAC secrets, no network involved.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_auth::{AuthOptions, Authenticator, BuildError};
use serde_json::json;

use crate::support::*;

const ISS: &str = "https://static.example";

fn temp_file(name: &str, contents: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "gatehouse-auth-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[tokio::test]
async fn pem_and_jwk_files_verify_without_any_fetch() {
    let (rsa, ec, ed) = (TestKey::rsa(), TestKey::ec(), TestKey::ed());
    let rsa_pem = temp_file("rsa.pem", &rsa.public_pem());
    let ec_pem = temp_file("ec.pem", &ec.public_pem());
    let ed_jwk = temp_file("ed.json", &json!({ "keys": [ed.jwk("ed-1")] }).to_string());
    let keys = json!({ "static": [
        { "file": rsa_pem, "kid": "rsa-1", "algorithm": "RS256" },
        { "file": ec_pem, "kid": "ec-1" },
        { "file": ed_jwk },
    ]});
    let auth = authenticator(&[provider("idp", ISS, keys, json!({}))]);
    assert!(auth.ready(), "static keys are ready at once");
    for (key, kid) in [(&rsa, "rsa-1"), (&ec, "ec-1"), (&ed, "ed-1")] {
        assert!(
            check(&auth, &token(key, kid, &claims(ISS)))
                .await
                .unwrap()
                .is_some(),
            "{kid}"
        );
    }
    let r = check(&auth, &token(&ed, "nope", &claims(ISS)))
        .await
        .unwrap_err();
    assert_eq!(r.reason(), "unknown_key");
}

#[tokio::test]
async fn an_anonymous_pem_key_matches_tokens_with_or_without_kid() {
    let ec = TestKey::ec();
    let pem = temp_file("ec.pem", &ec.public_pem());
    let auth = authenticator(&[provider(
        "idp",
        ISS,
        json!({ "static": [{ "file": pem }] }),
        json!({}),
    )]);
    let no_kid = signed(&ec, &json!({ "alg": "ES256" }), &claims(ISS));
    assert!(check(&auth, &no_kid).await.unwrap().is_some());
    assert!(
        check(&auth, &token(&ec, "whatever", &claims(ISS)))
            .await
            .unwrap()
            .is_some()
    );
    // Another EC key's signature does not verify against it.
    let other = TestKey::ec();
    assert_eq!(
        check(&auth, &token(&other, "x", &claims(ISS)))
            .await
            .unwrap_err()
            .reason(),
        "bad_signature"
    );
}

#[tokio::test]
async fn hmac_secrets_come_from_static_configuration() {
    let secret = "0123456789abcdef0123456789abcdef-test-secret";
    let config = provider(
        "idp",
        ISS,
        json!({ "hmac_secret": secret }),
        json!({ "algorithms": ["HS256"] }),
    );
    let auth = authenticator(&[config]);
    let header = json!({ "alg": "HS256", "typ": "JWT" });
    let input = format!("{}.{}", b64_json(&header), b64_json(&claims(ISS)));
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
        input.as_bytes(),
    );
    let good = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    assert!(check(&auth, &good).await.unwrap().is_some());
    let wrong = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, b"another-secret-another-secret-00"),
        input.as_bytes(),
    );
    let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(wrong.as_ref()));
    assert_eq!(
        check(&auth, &forged).await.unwrap_err().reason(),
        "bad_signature"
    );
    // An RS256 token cannot reach an HMAC-only provider.
    let rsa = TestKey::rsa();
    assert_eq!(
        check(&auth, &token(&rsa, "k", &claims(ISS)))
            .await
            .unwrap_err()
            .reason(),
        "algorithm"
    );
}

#[test]
fn a_missing_secret_variable_or_key_file_fails_the_build() {
    let config = provider(
        "idp",
        ISS,
        json!({ "hmac_secret_env": "GATEHOUSE_AUTH_TEST_SURELY_UNSET" }),
        json!({ "algorithms": ["HS256"] }),
    );
    let err = Authenticator::new(&[config], AuthOptions::default()).unwrap_err();
    assert!(matches!(err, BuildError::Env { .. }), "{err}");

    let missing = provider(
        "idp",
        ISS,
        json!({ "static": [{ "file": "/nonexistent/key.pem" }] }),
        json!({}),
    );
    let err = Authenticator::new(&[missing], AuthOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("providers[0].keys.static[0]: /nonexistent/key.pem"),
        "{err}"
    );

    let not_a_key = temp_file(
        "junk.pem",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    );
    let junk = provider(
        "idp",
        ISS,
        json!({ "static": [{ "file": not_a_key }] }),
        json!({}),
    );
    assert!(Authenticator::new(&[junk], AuthOptions::default()).is_err());
}

#[test]
fn invalid_configuration_lists_every_issue() {
    let bad = provider(
        "idp",
        ISS,
        json!({ "jwks_url": "http://idp.example.com/jwks" }),
        json!({ "algorithms": ["RS1", "HS256"], "audiences": [] }),
    );
    let Err(BuildError::Invalid(issues)) = Authenticator::new(&[bad], AuthOptions::default())
    else {
        panic!("expected invalid configuration");
    };
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "providers[0].audiences",
            "providers[0].algorithms[0]",
            "providers[0].algorithms[1]",
            "providers[0].keys.jwks_url"
        ]
    );
}

#[tokio::test]
async fn only_a_cache_miss_reports_a_fresh_verification() {
    let rsa = TestKey::rsa();
    let pem = temp_file("rsa.pem", &rsa.public_pem());
    let keys = json!({ "static": [{ "file": pem, "kid": "rsa-1", "algorithm": "RS256" }] });
    let config = provider("idp", ISS, keys, json!({}));
    let token = token(&rsa, "rsa-1", &claims(ISS));
    let cached = authenticator(std::slice::from_ref(&config));
    let uncached = Authenticator::new(
        std::slice::from_ref(&config),
        AuthOptions {
            cache_capacity: 0,
            ..AuthOptions::default()
        },
    )
    .unwrap();
    let fresh = |auth: &Authenticator| {
        let headers = bearer(&token);
        let auth = auth.clone();
        async move {
            let done = auth
                .authenticate_detailed(&headers, &required())
                .await
                .unwrap();
            assert!(done.caller.is_some());
            done.verified_now
        }
    };
    assert!(fresh(&cached).await, "first sight of the token");
    assert!(!fresh(&cached).await, "served from the cache");
    assert!(fresh(&uncached).await && fresh(&uncached).await);
    let public = cached
        .authenticate_detailed(&bearer(&token), &gatehouse_auth::RoutePolicy::public())
        .await
        .unwrap();
    assert!(public.caller.is_none() && !public.verified_now);
}
