//! Edge authentication end to end: a real gateway, a real echo upstream and a real JWKS server on
//! loopback, with keys generated at test time. Every case checks both what the client got and
//! what the upstream saw (or that it saw nothing).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gatehouse_testkit::idp::{AUD, Idp, Mode, TestKey, claims_with, raw, signed, token};
use gatehouse_testkit::{
    EchoServer, TestClient, TestGateway, TestResponse, eventually, raw_exchange,
};
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(10);

fn config(upstream: &str, idp: &Idp) -> String {
    format!(
        r#"
upstreams:
  echo:
    endpoints: ["{upstream}"]
  echo-h2c:
    protocol: h2c
    endpoints: ["{upstream}"]
providers:
  - name: idp
    issuer: {issuer}
    audiences: [{AUD}]
    keys: {{ jwks_url: {jwks} }}
    claims: {{ preset: keycloak }}
    fetch_timeout: 300ms
    refresh:
      min_interval: 50ms
      max_interval: 200ms
      retry_interval: 50ms
      unknown_kid_cooldown: 50ms
      unknown_kid_ttl: 50ms
routes:
  - name: public
    match: {{ prefix: /public }}
    upstream: echo
    auth: {{ mode: public }}
  - name: optional
    match: {{ prefix: /optional }}
    upstream: echo
    auth: {{ mode: optional, providers: [idp] }}
  - name: admin
    match: {{ prefix: /required/admin }}
    upstream: echo
    auth:
      mode: required
      providers: [idp]
      require: {{ any_of: {{ permissions: [orders:write], roles: [admin] }} }}
  - name: required
    match: {{ prefix: /required }}
    upstream: echo
    auth: {{ mode: required, providers: [idp] }}
  - name: h2c
    match: {{ prefix: /h2c }}
    upstream: echo-h2c
    auth: {{ mode: required, providers: [idp] }}
  - name: forwarded
    match: {{ prefix: /forwarded }}
    upstream: echo
    auth: {{ mode: required, providers: [idp] }}
    forward_authorization: true
"#,
        issuer = idp.issuer(),
        jwks = idp.jwks_url(),
    )
}

/// An upstream, an identity provider publishing the RSA key as `k1`, and a gateway whose keys
/// have loaded.
struct Setup {
    upstream: EchoServer,
    idp: Idp,
    gw: TestGateway,
    key: TestKey,
}

async fn setup() -> Setup {
    let key = TestKey::rsa();
    let idp = Idp::serving(&[(&key, "k1")]).await;
    let upstream = EchoServer::start().await;
    let gw = TestGateway::start(&config(&upstream.endpoint(), &idp)).await;
    assert!(
        eventually(DEADLINE, || async { gw.gateway.is_ready() }).await,
        "keys never loaded"
    );
    Setup {
        upstream,
        idp,
        gw,
        key,
    }
}

/// A valid token for `sub`, signed by `key` as `kid`.
fn valid(idp: &Idp, key: &TestKey, kid: &str, sub: &str) -> String {
    token(key, kid, &claims_with(&idp.issuer(), json!({ "sub": sub })))
}

async fn get(gw: &TestGateway, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut request = Request::get(gw.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    TestClient::http1()
        .send(request.body(Bytes::new()).unwrap())
        .await
        .unwrap()
}

async fn with_token(gw: &TestGateway, path: &str, token: &str) -> TestResponse {
    get(gw, path, &[("authorization", &format!("Bearer {token}"))]).await
}

/// Sends raw HTTP/1.1 and returns the status line and the upstream's JSON description (`Null`
/// when the response carried none).
async fn raw_get(gw: &TestGateway, path: &str, extra_headers: &str) -> (String, Value) {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra_headers}\r\n");
    let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
    let status = response.lines().next().unwrap_or_default().to_owned();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    let seen = match (body.find('{'), body.rfind('}')) {
        (Some(start), Some(end)) => serde_json::from_str(&body[start..=end]).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, seen)
}

/// Every header the upstream saw in the reserved namespace, in any spelling, as (name, values).
fn reserved_seen(seen: &Value) -> Vec<(String, Vec<String>)> {
    seen["headers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| {
            name.to_ascii_lowercase()
                .replace('_', "-")
                .starts_with("x-user-")
        })
        .map(|(name, values)| {
            let values = values
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            (name.clone(), values)
        })
        .collect()
}

fn assert_json_error(response: &TestResponse, code: &str) {
    let body = response.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

fn challenge(response: &TestResponse) -> String {
    response
        .headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn valid_token_reaches_upstream_as_identity_headers_without_the_token() {
    let s = setup().await;
    let response = with_token(
        &s.gw,
        "/required/orders",
        &valid(&s.idp, &s.key, "k1", "user-7"),
    )
    .await;
    assert_reached_as_user_7(&response, &s.idp);
    assert_eq!(s.upstream.hits(), 1);
}

/// The upstream answered, and saw user-7's identity (the token's own claims, nothing the client
/// added) and no token.
fn assert_reached_as_user_7(response: &TestResponse, idp: &Idp) {
    assert_eq!(response.status, StatusCode::OK, "{:?}", response.body);
    // The whole namespace, one value each: nothing the token carries is left out, nothing else
    // is in it.
    let mut names: Vec<_> = reserved_seen(&response.json())
        .into_iter()
        .map(|(name, values)| {
            assert_eq!(values.len(), 1, "{name}: {values:?}");
            name
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "x-user-context-version",
            "x-user-email",
            "x-user-id",
            "x-user-issuer",
            "x-user-permissions",
            "x-user-roles",
        ]
    );
    assert_eq!(response.seen_header("x-user-id"), ["user-7"]);
    assert_eq!(response.seen_header("x-user-issuer"), [idp.issuer()]);
    assert_eq!(response.seen_header("x-user-context-version"), ["1"]);
    let roles = response.seen_header("x-user-roles");
    assert!(roles.len() == 1 && roles[0].contains("buyer"), "{roles:?}");
    assert!(!roles[0].contains("admin"), "{roles:?}");
    let permissions = response.seen_header("x-user-permissions");
    assert!(
        permissions.len() == 1 && permissions[0].contains("orders:read"),
        "{permissions:?}"
    );
    assert!(response.seen_header("authorization").is_empty());
}

#[tokio::test]
async fn an_h2c_upstream_gets_the_same_identity_and_never_the_client_s() {
    // hyper's client serialises a header map, so the context goes in through its map form, not
    // its ready-made lines: twice, the second time from the cache.
    let s = setup().await;
    let token = valid(&s.idp, &s.key, "k1", "user-7");
    for _ in 0..2 {
        let response = get(
            &s.gw,
            "/h2c/orders",
            &[
                ("authorization", &format!("Bearer {token}")),
                ("x-user-id", "mallory"),
                ("x-user-roles", "admin"),
            ],
        )
        .await;
        // The echo upstream answers HTTP/1.1 too: this is what shows the h2c client was used.
        assert_eq!(response.json()["version"], "HTTP/2.0");
        assert_reached_as_user_7(&response, &s.idp);
    }
    assert_eq!(s.upstream.hits(), 2);
}

#[tokio::test]
async fn missing_token_is_a_bearer_challenge_and_never_reaches_upstream() {
    let s = setup().await;
    let response = get(&s.gw, "/required/orders", &[]).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&response), "Bearer");
    assert_json_error(&response, "token_missing");
    assert_eq!(s.upstream.hits(), 0);
}

#[tokio::test]
async fn bad_signature_expired_and_alg_none_are_invalid_token() {
    let s = setup().await;
    let issuer = s.idp.issuer();
    let other = TestKey::ec();
    let good_claims = claims_with(&issuer, json!({}));
    let cases = [
        // Signed by a key the provider never published, under the published kid.
        (
            "bad signature",
            signed(
                &other,
                &json!({ "alg": "RS256", "kid": "k1" }),
                &good_claims,
            ),
        ),
        (
            "tampered signature",
            raw(
                &json!({ "alg": "RS256", "kid": "k1" }),
                &good_claims,
                &[7u8; 256],
            ),
        ),
        (
            "expired",
            token(
                &s.key,
                "k1",
                &claims_with(
                    &issuer,
                    json!({ "iat": gatehouse_testkit::idp::now() - 7200,
                            "nbf": gatehouse_testkit::idp::now() - 7200,
                            "exp": gatehouse_testkit::idp::now() - 3600 }),
                ),
            ),
        ),
        (
            "alg none",
            raw(&json!({ "alg": "none", "typ": "JWT" }), &good_claims, b""),
        ),
        (
            "alg none with kid",
            raw(&json!({ "alg": "none", "kid": "k1" }), &good_claims, b""),
        ),
    ];
    for (what, token) in cases {
        let response = with_token(&s.gw, "/required/orders", &token).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(
            challenge(&response),
            "Bearer error=\"invalid_token\"",
            "{what}"
        );
        let code = response.json()["error"]["code"].clone();
        assert!(
            code == "invalid_token" || code == "token_expired",
            "{what}: {code}"
        );
    }
    assert_eq!(s.upstream.hits(), 0);
}

#[tokio::test]
async fn coarse_policy_failure_is_403_insufficient_scope() {
    let s = setup().await;
    let issuer = s.idp.issuer();
    let buyer = valid(&s.idp, &s.key, "k1", "user-1");
    let response = with_token(&s.gw, "/required/admin", &buyer).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(challenge(&response), "Bearer error=\"insufficient_scope\"");
    assert_json_error(&response, "insufficient_scope");
    assert_eq!(s.upstream.hits(), 0);

    // One of the listed grants is enough.
    let writer = token(
        &s.key,
        "k1",
        &claims_with(&issuer, json!({ "scope": "openid orders:write" })),
    );
    let response = with_token(&s.gw, "/required/admin", &writer).await;
    assert_eq!(response.status, StatusCode::OK);
    let admin = token(
        &s.key,
        "k1",
        &claims_with(&issuer, json!({ "realm_access": { "roles": ["admin"] } })),
    );
    let response = with_token(&s.gw, "/required/admin", &admin).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(s.upstream.hits(), 2);
}

const SPOOF: &str = "x-user-id: evil\r\nX-User-Roles: admin\r\nx_user_id: evil\r\n\
                     X_USER_PERMISSIONS: *\r\nX-User-Context-Version: 1\r\nX-USER-ISSUER: evil\r\n";

fn assert_no_spoofed_values(seen: &Value, what: &str) {
    for (name, values) in reserved_seen(seen) {
        assert_eq!(
            name,
            name.to_ascii_lowercase(),
            "{what}: client spelling {name} reached the upstream"
        );
        assert!(!name.contains('_'), "{what}: {name} reached the upstream");
        for value in values {
            assert!(
                !["evil", "admin", "*"].contains(&value.as_str()),
                "{what}: spoofed {name}: {value} reached the upstream"
            );
        }
    }
}

#[tokio::test]
async fn client_identity_headers_never_reach_upstream_in_any_spelling() {
    let s = setup().await;

    for path in ["/public/x", "/optional/x"] {
        let (status, seen) = raw_get(&s.gw, path, SPOOF).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{path}: {status}");
        assert_no_spoofed_values(&seen, path);
        assert!(reserved_seen(&seen).is_empty(), "{path}: {seen}");
    }

    let token = valid(&s.idp, &s.key, "k1", "user-1");
    let auth = format!("Authorization: Bearer {token}\r\n");
    for path in ["/optional/x", "/required/x"] {
        let (status, seen) = raw_get(&s.gw, path, &format!("{auth}{SPOOF}")).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{path}: {status}");
        assert_no_spoofed_values(&seen, path);
        assert_eq!(seen["headers"]["x-user-id"], json!(["user-1"]), "{path}");
        assert_eq!(
            seen["headers"]["x-user-issuer"],
            json!([s.idp.issuer()]),
            "{path}"
        );
        assert_eq!(
            seen["headers"]["x-user-context-version"],
            json!(["1"]),
            "{path}"
        );
    }

    // A token on a public route is ignored: no identity, and nothing of the client's.
    let (status, seen) = raw_get(&s.gw, "/public/x", &format!("{auth}{SPOOF}")).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(reserved_seen(&seen).is_empty(), "{seen}");

    // Spoofing with no token on a required route is refused before the upstream.
    let before = s.upstream.hits();
    let (status, _) = raw_get(&s.gw, "/required/x", SPOOF).await;
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");
    assert_eq!(s.upstream.hits(), before);
}

#[tokio::test]
async fn connection_header_cannot_remove_the_gateway_identity() {
    let s = setup().await;
    let token = valid(&s.idp, &s.key, "k1", "user-9");
    let extra = format!(
        "Authorization: Bearer {token}\r\nConnection: x-user-id, x-user-roles\r\nx-user-id: evil\r\n"
    );
    let (status, seen) = raw_get(&s.gw, "/required/x", &extra).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(seen["headers"]["x-user-id"], json!(["user-9"]), "{seen}");
    assert!(seen["headers"]["x-user-roles"].is_array(), "{seen}");
    assert_no_spoofed_values(&seen, "connection");
}

#[tokio::test]
async fn forward_authorization_route_passes_the_token_on() {
    let s = setup().await;
    let token = valid(&s.idp, &s.key, "k1", "user-1");
    let response = with_token(&s.gw, "/forwarded/x", &token).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.seen_header("authorization"),
        [format!("Bearer {token}")]
    );
    assert_eq!(response.seen_header("x-user-id"), ["user-1"]);
    // The default is to drop it.
    let response = with_token(&s.gw, "/required/x", &token).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.seen_header("authorization").is_empty());
}

#[tokio::test]
async fn grpc_request_without_token_gets_unauthenticated() {
    let s = setup().await;
    let request = Request::builder()
        .method(Method::POST)
        .uri(s.gw.url("/required/pkg.Service/Method"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Bytes::from_static(&[0, 0, 0, 0, 0]))
        .unwrap();
    let response = TestClient::h2c().send(request).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers["grpc-status"], "16");
    assert_eq!(response.headers["content-type"], "application/grpc");
    assert_eq!(s.upstream.hits(), 0);
}

#[tokio::test]
async fn key_rotation_under_traffic_loses_no_request() {
    let s = Arc::new(setup().await);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut traffic = Vec::new();
    for worker in 0..3 {
        let (s, stop, ok, refused) = (s.clone(), stop.clone(), ok.clone(), refused.clone());
        traffic.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                // A fresh token each time, so verification happens and no cache answers.
                let token = valid(&s.idp, &s.key, "k1", &format!("w{worker}-{n}"));
                let response = with_token(&s.gw, "/required/x", &token).await;
                let counter = if response.status == StatusCode::OK {
                    &ok
                } else {
                    &refused
                };
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    assert!(eventually(DEADLINE, || async { ok.load(Ordering::SeqCst) >= 20 }).await);

    // Rotate: publish a new key next to the old one.
    let new_key = TestKey::ec();
    s.idp.publish(&[(&s.key, "k1"), (&new_key, "k2")]);
    let hits_before = s.idp.jwks_hits();
    let first = with_token(
        &s.gw,
        "/required/x",
        &valid(&s.idp, &new_key, "k2", "new-1"),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.seen_header("x-user-id"), ["new-1"]);
    // Background refreshes run every 200 ms, so allow for one of them racing the kid refetch.
    assert!(s.idp.jwks_hits() - hits_before <= 2);

    let ok_at_rotation = ok.load(Ordering::SeqCst);
    for n in 0..20 {
        let token = valid(&s.idp, &new_key, "k2", &format!("new-{n}"));
        let response = with_token(&s.gw, "/required/x", &token).await;
        assert_eq!(response.status, StatusCode::OK);
    }
    assert!(
        eventually(DEADLINE, || async {
            ok.load(Ordering::SeqCst) >= ok_at_rotation + 20
        })
        .await
    );
    stop.store(true, Ordering::SeqCst);
    for task in traffic {
        task.await.unwrap();
    }
    assert_eq!(
        refused.load(Ordering::SeqCst),
        0,
        "correctly signed tokens were refused"
    );
}

#[tokio::test]
async fn jwks_outage_after_first_load_keeps_accepting_known_keys() {
    let s = setup().await;
    let admin = format!("http://{}/readyz", s.gw.admin);
    let check = |n: usize| {
        let token = valid(&s.idp, &s.key, "k1", &format!("outage-{n}"));
        let gw = &s.gw;
        async move { with_token(gw, "/required/x", &token).await.status }
    };
    assert_eq!(check(0).await, StatusCode::OK);

    for (mode, round) in [(Mode::Fail, 1), (Mode::Hang, 2)] {
        s.idp.set_mode(mode);
        // Wait for the background refresh to hit the outage (more than once).
        let hits = s.idp.jwks_hits();
        assert!(
            eventually(DEADLINE, || async { s.idp.jwks_hits() >= hits + 2 }).await,
            "{mode:?}: no refresh attempted"
        );
        for n in 0..10 {
            assert_eq!(check(round * 100 + n).await, StatusCode::OK, "{mode:?}");
        }
        let ready = TestClient::http1().get(&admin).await.unwrap();
        assert_eq!(
            ready.status,
            StatusCode::OK,
            "{mode:?}: keys were loaded once"
        );
    }
    s.idp.set_mode(Mode::Serve);
    assert_eq!(check(999).await, StatusCode::OK);
}

#[tokio::test]
async fn readyz_waits_for_keys() {
    for start_mode in [Mode::Hang, Mode::Fail] {
        let key = TestKey::rsa();
        let idp = Idp::serving(&[(&key, "k1")]).await;
        idp.set_mode(start_mode);
        let upstream = EchoServer::start().await;
        let gw = TestGateway::start(&config(&upstream.endpoint(), &idp)).await;
        let readyz = format!("http://{}/readyz", gw.admin);
        let client = TestClient::http1();

        // The first fetch has been tried and has not succeeded.
        assert!(eventually(DEADLINE, || async { idp.jwks_hits() >= 1 }).await);
        let response = client.get(&readyz).await.unwrap();
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{start_mode:?}"
        );
        let token = valid(&idp, &key, "k1", "early");
        let response = with_token(&gw, "/required/x", &token).await;
        assert_eq!(
            response.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{start_mode:?}"
        );
        assert_eq!(upstream.hits(), 0);

        idp.set_mode(Mode::Serve);
        assert!(
            eventually(DEADLINE, || async {
                client
                    .get(&readyz)
                    .await
                    .is_ok_and(|r| r.status == StatusCode::OK)
            })
            .await,
            "{start_mode:?}: never became ready"
        );
        let response = with_token(&gw, "/required/x", &token).await;
        assert_eq!(response.status, StatusCode::OK, "{start_mode:?}");
        assert_eq!(response.seen_header("x-user-id"), ["early"]);
    }
}

#[tokio::test]
async fn claim_values_cannot_inject_headers_and_oversize_contexts_are_refused() {
    let s = setup().await;
    let nasty = [
        "admin\r\nx-user-id: root",
        "a,b",
        "é ü 日本",
        "x=y;z",
        "\u{0}nul",
    ];
    let claims = claims_with(
        &s.idp.issuer(),
        json!({ "sub": "user\r\nx-injected: 1", "realm_access": { "roles": nasty } }),
    );
    let response = with_token(&s.gw, "/required/x", &token(&s.key, "k1", &claims)).await;
    assert_eq!(response.status, StatusCode::OK, "{:?}", response.body);
    // The upstream got headers that decode, through the contract, to exactly the claims.
    let mut seen = http::HeaderMap::new();
    for (name, values) in response.json()["headers"].as_object().unwrap() {
        for v in values.as_array().unwrap() {
            seen.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
            );
        }
    }
    assert!(!seen.contains_key("x-injected"));
    let identity = gatehouse_context::read_headers(&seen).unwrap().unwrap();
    assert_eq!(identity.subject, "user\r\nx-injected: 1");
    for role in nasty {
        assert!(
            identity.roles.iter().any(|r| r == role),
            "{:?}",
            identity.roles
        );
    }

    // More roles than the contract carries: refused at the edge, never truncated silently.
    let many: Vec<String> = (0..300).map(|i| format!("r{i}")).collect();
    let claims = claims_with(
        &s.idp.issuer(),
        json!({ "sub": "u", "realm_access": { "roles": many } }),
    );
    let hits = s.upstream.hits();
    let response = with_token(&s.gw, "/required/x", &token(&s.key, "k1", &claims)).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&response).contains("invalid_token"));
    assert_eq!(s.upstream.hits(), hits);
}

#[tokio::test]
async fn authentication_settings_bound_tokens_and_switch_the_cache_off() {
    let key = TestKey::rsa();
    let idp = Idp::serving(&[(&key, "k1")]).await;
    let upstream = EchoServer::start().await;
    let yaml = config(&upstream.endpoint(), &idp).replacen(
        "\nproviders:",
        "\nauthentication:\n  token_cache_entries: 0\n  max_token_bytes: 2KiB\nproviders:",
        1,
    );
    let gw = TestGateway::start(&yaml).await;
    assert!(eventually(DEADLINE, || async { gw.gateway.is_ready() }).await);
    let small = valid(&idp, &key, "k1", "user-1");
    for _ in 0..3 {
        assert_eq!(
            with_token(&gw, "/required/x", &small).await.status,
            StatusCode::OK
        );
    }
    let metrics = TestClient::http1()
        .get(&format!("http://{}/metrics", gw.admin))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        !text.contains("result=\"hit\"} 1") && !text.contains("result=\"hit\"} 2"),
        "{text}"
    );

    let padded = claims_with(
        &idp.issuer(),
        json!({ "sub": "u", "pad": "x".repeat(3000) }),
    );
    let response = with_token(&gw, "/required/x", &token(&key, "k1", &padded)).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(upstream.hits(), 3);
}
