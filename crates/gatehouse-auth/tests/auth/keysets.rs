//! Key sets over the wire: discovery, refresh, rotation, outages and unknown-kid floods.

use std::sync::Arc;

use gatehouse_auth::CancellationToken;
use http::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn keys_never_loaded_mean_503_and_not_ready() {
    let idp = Idp::start().await;
    idp.set_mode(Mode::Fail);
    let auth = authenticator(&[jwks_provider("idp", &idp, json!({}))]);
    assert!(!auth.ready());
    auth.start(CancellationToken::new());
    until("two failed fetches", || async { idp.jwks_hits() >= 2 }).await;
    assert!(!auth.ready());
    assert_eq!(auth.not_ready(), ["idp"]);
    let ed = TestKey::ed();
    let r = check(&auth, &token(&ed, "k", &claims(&idp.issuer())))
        .await
        .unwrap_err();
    assert_eq!(
        (r.status(), r.reason(), r.code()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "keys_unavailable",
            "auth_unavailable"
        )
    );
    // A token its own claims refuse is the client's fault whatever the keys: a 401.
    let expired = token(
        &ed,
        "k",
        &claims_with(&idp.issuer(), json!({ "exp": now() - 120 })),
    );
    let r = check(&auth, &expired).await.unwrap_err();
    assert_eq!(
        (r.status(), r.code()),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
    // Recovery once the endpoint answers.
    idp.publish(&[(&ed, "k")]);
    idp.set_mode(Mode::Serve);
    until("ready after recovery", || async { auth.ready() }).await;
    assert!(
        check(&auth, &token(&ed, "k", &claims(&idp.issuer())))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn discovery_finds_the_key_set_from_the_issuer() {
    let ec = TestKey::ec();
    let idp = Idp::serving(&[(&ec, "ec1")]).await;
    let config = provider(
        "idp",
        &idp.issuer(),
        json!({ "discovery": true }),
        json!({}),
    );
    let auth = authenticator(&[config]);
    assert_eq!(auth.refresh_now().await, []);
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (1, 1));
    assert!(
        check(&auth, &token(&ec, "ec1", &claims(&idp.issuer())))
            .await
            .unwrap()
            .is_some()
    );
    // The discovered URL is remembered.
    assert_eq!(auth.refresh_now().await, []);
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (1, 2));
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let idp = Idp::start().await;
    idp.publish(&[(&TestKey::ed(), "k")]);
    // Configured with a trailing slash: the document's issuer then differs, which OIDC forbids.
    let config = provider(
        "idp",
        &format!("{}/", idp.issuer()),
        json!({ "discovery": true }),
        json!({}),
    );
    let auth = authenticator(&[config]);
    let failures = auth.refresh_now().await;
    assert_eq!(failures.len(), 1);
    assert_eq!(idp.jwks_hits(), 0);
    assert!(!auth.ready());
}

#[tokio::test]
async fn a_new_key_is_accepted_within_one_refetch_and_removed_keys_drop_cached_tokens() {
    let (old, new) = (TestKey::ed(), TestKey::ed());
    let idp = Idp::serving(&[(&old, "old")]).await;
    // Background refresh is slow here, so only the unknown-kid refetch can bring the new key.
    let auth = loaded(&idp, json!({ "refresh": { "min_interval": "10m" } })).await;
    let old_token = token(&old, "old", &claims(&idp.issuer()));
    assert!(check(&auth, &old_token).await.unwrap().is_some());
    assert_eq!(auth.cached_tokens(), 1);

    // Rotation: the provider publishes the new key and retires the old one.
    idp.publish(&[(&new, "new")]);
    let hits = idp.jwks_hits();
    let new_token = token(&new, "new", &claims(&idp.issuer()));
    assert!(
        check(&auth, &new_token).await.unwrap().is_some(),
        "accepted on first sight"
    );
    assert_eq!(idp.jwks_hits(), hits + 1, "exactly one refetch");
    assert_eq!(
        auth.cached_tokens(),
        1,
        "the old key's cached token is gone, the new one cached"
    );
    let r = check(&auth, &old_token).await.unwrap_err();
    assert_eq!(
        r.reason(),
        "unknown_key",
        "a cached token does not outlive its key"
    );
}

#[tokio::test]
async fn background_refresh_honours_cache_control_within_bounds() {
    let ed = TestKey::ed();
    let idp = Idp::serving(&[(&ed, "k")]).await;
    // max-age=3600 is clamped down to max_interval=100ms: refreshes keep coming.
    idp.set_cache_control(Some("public, max-age=3600"));
    let auth = loaded(
        &idp,
        json!({ "refresh": { "min_interval": "20ms", "max_interval": "100ms" } }),
    )
    .await;
    until("three background refreshes", || async {
        idp.jwks_hits() >= 3
    })
    .await;

    // A new key published is picked up by background refresh alone, without an unknown kid.
    let next = TestKey::ed();
    idp.publish(&[(&ed, "k"), (&next, "k2")]);
    until("background refresh installed k2", || async {
        let t = token(&next, "k2", &claims(&idp.issuer()));
        check(&auth, &t).await.is_ok()
    })
    .await;
    drop(auth);
}

#[tokio::test]
async fn outages_keep_the_last_good_keys() {
    let rsa = TestKey::rsa();
    let idp = Idp::serving(&[(&rsa, "rsa")]).await;
    let overrides = json!({
        "refresh": { "min_interval": "20ms", "max_interval": "20ms", "retry_interval": "20ms" },
        "fetch_timeout": "100ms",
    });
    let auth = loaded(&idp, overrides).await;
    let mut registry = prometheus_client::registry::Registry::default();
    auth.register_metrics(&mut registry);
    let iss = idp.issuer();

    idp.set_mode(Mode::Fail);
    let hits = idp.jwks_hits();
    until("several failed refreshes", || async {
        idp.jwks_hits() >= hits + 3
    })
    .await;
    for _ in 0..3 {
        // Fresh tokens each time, so the cache cannot be what keeps them working.
        let t = token(&rsa, "rsa", &claims_with(&iss, json!({ "jti": rand_id() })));
        assert!(check(&auth, &t).await.unwrap().is_some());
    }

    idp.set_mode(Mode::Hang);
    let hits = idp.jwks_hits();
    until("several hanging refreshes", || async {
        idp.jwks_hits() >= hits + 3
    })
    .await;
    let t = token(&rsa, "rsa", &claims_with(&iss, json!({ "jti": rand_id() })));
    assert!(check(&auth, &t).await.unwrap().is_some());
    // An unknown kid during the hang waits at most for one fetch timeout, then is refused.
    let started = tokio::time::Instant::now();
    let stranger = token(&rsa, "other", &claims(&iss));
    assert_eq!(
        check(&auth, &stranger).await.unwrap_err().reason(),
        "unknown_key"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert!(auth.ready());

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("document=\"jwks\",outcome=\"failure\""),
        "{text}"
    );
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_a_bounded_number_of_fetches() {
    let ed = TestKey::ed();
    let idp = Idp::serving(&[(&ed, "k")]).await;
    let auth = loaded(
        &idp,
        json!({ "refresh": { "min_interval": "10m", "unknown_kid_cooldown": "10m" } }),
    )
    .await;
    let before = idp.jwks_hits();
    let iss = idp.issuer();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let auth = auth.clone();
        let t = token(&ed, &format!("random-{i}"), &claims(&iss));
        tasks.spawn(async move { check(&auth, &t).await.unwrap_err().reason() });
    }
    while let Some(reason) = tasks.join_next().await {
        assert_eq!(reason.unwrap(), "unknown_key");
    }
    // Repeating the same kids hits the negative cache, new ones the cooldown.
    for i in 0..50 {
        let t = token(&ed, &format!("random-{}", i % 5), &claims(&iss));
        assert_eq!(check(&auth, &t).await.unwrap_err().reason(), "unknown_key");
    }
    let fetched = idp.jwks_hits() - before;
    assert!(fetched <= 1, "{fetched} fetches for 350 unknown kids");
    // Valid tokens are unaffected.
    assert!(check(&auth, &token(&ed, "k", &claims(&iss))).await.is_ok());
}

#[tokio::test]
async fn with_a_short_cooldown_fetches_stay_bounded_by_elapsed_time() {
    let ed = TestKey::ed();
    let idp = Idp::serving(&[(&ed, "k")]).await;
    let auth = loaded(
        &idp,
        json!({ "refresh": { "min_interval": "10m", "unknown_kid_cooldown": "100ms" } }),
    )
    .await;
    let before = idp.jwks_hits();
    let started = tokio::time::Instant::now();
    let iss = idp.issuer();
    let auth = Arc::new(auth);
    for i in 0..200 {
        let t = token(&ed, &format!("r{i}"), &claims(&iss));
        assert_eq!(check(&auth, &t).await.unwrap_err().reason(), "unknown_key");
    }
    let elapsed_ms = started.elapsed().as_millis() as usize;
    let fetched = idp.jwks_hits() - before;
    assert!(
        fetched <= 1 + elapsed_ms / 100,
        "{fetched} fetches in {elapsed_ms}ms"
    );
}

#[tokio::test]
async fn oversize_and_garbage_key_sets_are_refused_and_keep_the_old_keys() {
    let ed = TestKey::ed();
    let idp = Idp::serving(&[(&ed, "k")]).await;
    let auth = loaded(
        &idp,
        json!({ "max_response_size": "1KiB", "refresh": { "min_interval": "10m" } }),
    )
    .await;
    let padding = "x".repeat(2048);
    idp.publish_raw(&json!({ "keys": [ed.jwk("k")], "padding": padding }).to_string());
    assert_eq!(auth.refresh_now().await.len(), 1);
    idp.publish_raw("{\"keys\": [{\"kty\": \"oct\", \"kid\": \"h\", \"k\": \"c2VjcmV0\"}]}");
    assert_eq!(
        auth.refresh_now().await.len(),
        1,
        "an HMAC-only set is no set"
    );
    idp.publish_raw("<html>");
    assert_eq!(auth.refresh_now().await.len(), 1);
    assert!(
        check(&auth, &token(&ed, "k", &claims(&idp.issuer())))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn refresh_stops_when_cancelled() {
    let idp = Idp::start().await;
    idp.publish(&[(&TestKey::ed(), "k")]);
    let auth = authenticator(&[jwks_provider(
        "idp",
        &idp,
        json!({ "refresh": { "max_interval": "20ms", "min_interval": "20ms" } }),
    )]);
    let stop = CancellationToken::new();
    auth.start(stop.clone());
    until("refreshing", || async { idp.jwks_hits() >= 2 }).await;
    stop.cancel();
    // Once cancelled, at most the in-flight fetch completes; a quiet stretch of ten refresh
    // intervals proves the loop ended.
    let mut last = idp.jwks_hits();
    let mut quiet = 0;
    until("no more refreshes", || {
        let now = idp.jwks_hits();
        quiet = if now == last { quiet + 1 } else { 0 };
        last = now;
        async move { quiet >= 40 }
    })
    .await;
}

fn rand_id() -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn tokens_their_own_claims_refuse_cost_no_key_fetch_and_no_signature() {
    let ed = TestKey::ed();
    let idp = Idp::serving(&[(&ed, "k")]).await;
    let auth = loaded(&idp, json!({ "refresh": { "min_interval": "10m" } })).await;
    let iss = idp.issuer();
    let before = idp.jwks_hits();
    // A `kid` nobody published would make the provider refetch its keys; claims that refuse
    // the token come first, so it never gets that far.
    let stranger = TestKey::ed();
    // A `kid` of its own for each: one the provider had already looked for would be refused
    // from its negative cache without a fetch, whatever the order.
    for (kid, changes, reason) in [
        ("unpublished-1", json!({ "exp": now() - 120 }), "expired"),
        (
            "unpublished-2",
            json!({ "nbf": now() + 3600 }),
            "not_yet_valid",
        ),
        (
            "unpublished-3",
            json!({ "aud": "another-api" }),
            "wrong_audience",
        ),
    ] {
        let t = token(&stranger, kid, &claims_with(&iss, changes.clone()));
        assert_eq!(
            check(&auth, &t).await.unwrap_err().reason(),
            reason,
            "{changes}"
        );
    }
    assert_eq!(
        idp.jwks_hits(),
        before,
        "no fetch for tokens refused by their claims"
    );
    // Signed by nobody the gateway knows, with a known `kid`: still refused on its claims.
    let forged = token(
        &stranger,
        "k",
        &claims_with(&iss, json!({ "exp": now() - 120 })),
    );
    assert_eq!(check(&auth, &forged).await.unwrap_err().reason(), "expired");
    // Claims that hold leave the signature to decide.
    let forged = token(&stranger, "k", &claims(&iss));
    assert_eq!(
        check(&auth, &forged).await.unwrap_err().reason(),
        "bad_signature"
    );
    assert!(check(&auth, &token(&ed, "k", &claims(&iss))).await.is_ok());
}
