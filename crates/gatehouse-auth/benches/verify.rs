//! Cost of authenticating one request, per algorithm, with the verified-token cache off (every
//! request pays parsing, signature and claim checks) and on (a repeated token), and of claim
//! mapping alone. `cargo bench -p gatehouse-auth`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_auth::{
    AuthOptions, Authenticator, ClaimMapping, ClaimMappingConfig, Claims, ProviderConfig,
    RoutePolicy,
};
use gatehouse_testkit::idp::{TestKey, bearer, claims, token};

const ISSUER: &str = "https://bench.example";

fn authenticator(key: &TestKey, cache_capacity: usize) -> Authenticator {
    let dir = std::env::temp_dir().join(format!("gatehouse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.pem", key.alg()));
    std::fs::write(&file, key.public_pem()).unwrap();
    let provider: ProviderConfig = serde_json::from_value(serde_json::json!({
        "name": "bench",
        "issuer": ISSUER,
        "audiences": [gatehouse_testkit::idp::AUD],
        "keys": { "static": [{ "file": file, "kid": "k1" }] },
        "claims": { "preset": "keycloak" },
    }))
    .unwrap();
    let options = AuthOptions {
        cache_capacity,
        ..AuthOptions::default()
    };
    Authenticator::new(&[provider], options).unwrap()
}

fn verification(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let policy = RoutePolicy::required(["bench"]);
    for (name, key) in [
        ("RS256", TestKey::rsa()),
        ("ES256", TestKey::ec()),
        ("EdDSA", TestKey::ed()),
    ] {
        let headers = bearer(&token(&key, "k1", &claims(ISSUER)));
        let uncached = authenticator(&key, 0);
        assert!(
            runtime
                .block_on(uncached.authenticate(&headers, &policy))
                .is_ok()
        );
        c.bench_function(&format!("authenticate/{name}/uncached"), |b| {
            b.iter(|| runtime.block_on(uncached.authenticate(black_box(&headers), &policy)))
        });
        let cached = authenticator(&key, 1000);
        c.bench_function(&format!("authenticate/{name}/cached"), |b| {
            b.iter(|| runtime.block_on(cached.authenticate(black_box(&headers), &policy)))
        });
    }
}

fn claim_mapping(c: &mut Criterion) {
    let config: ClaimMappingConfig =
        serde_json::from_value(serde_json::json!({ "preset": "keycloak" })).unwrap();
    let mapping = ClaimMapping::from_config(&config);
    let payload = serde_json::json!({
        "iss": ISSUER, "sub": "user-42", "email": "user42@example.com",
        "realm_access": { "roles": ["buyer", "reviewer", "beta"] },
        "scope": "openid profile orders:read orders:create users:read",
    })
    .to_string();
    let claims = Claims::parse(payload.as_bytes()).unwrap();
    c.bench_function("claim_mapping/keycloak", |b| {
        b.iter(|| mapping.identity(ISSUER, black_box(&claims)))
    });
}

criterion_group!(benches, verification, claim_mapping);
criterion_main!(benches);
