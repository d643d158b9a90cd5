//! Bearer tokens from the network: whatever the bytes, authentication must answer (never panic)
//! and must never accept a token that was not signed with the configured secret.
#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_auth::{AuthOptions, Authenticator, ProviderConfig, RoutePolicy};
use libfuzzer_sys::fuzz_target;

struct Harness {
    runtime: tokio::runtime::Runtime,
    auth: Authenticator,
    policy: RoutePolicy,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let provider: ProviderConfig = serde_json::from_value(serde_json::json!({
            "name": "fuzz",
            "issuer": "https://fuzz.example",
            "audiences": ["api"],
            "algorithms": ["HS256"],
            "keys": { "hmac_secret": "a fuzzing secret that nobody can guess, 32+ bytes long" },
        }))
        .expect("provider");
        let auth = runtime
            .block_on(async { Authenticator::new(&[provider], AuthOptions::default()) })
            .expect("authenticator");
        Harness {
            runtime,
            auth,
            policy: RoutePolicy::required(["fuzz"]),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    // Half the inputs become three base64url segments, so the parser beyond the split is reached.
    let value = match data.split_first() {
        Some((0, rest)) => {
            let parts: Vec<&[u8]> = rest.splitn(3, |b| *b == 0xFF).collect();
            let segments: Vec<String> = parts.iter().map(|p| URL_SAFE_NO_PAD.encode(p)).collect();
            format!("Bearer {}", segments.join("."))
        }
        _ => String::from_utf8_lossy(data).into_owned(),
    };
    let Ok(value) = http::HeaderValue::from_str(&value) else {
        return;
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, value);
    let result = h.runtime.block_on(h.auth.authenticate(&headers, &h.policy));
    assert!(result.is_err(), "a token that nobody signed was accepted");
});
