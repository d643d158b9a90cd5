//! The properties gatehouse's fuzz targets check, one function per parser that sees untrusted
//! bytes. Each takes one input and panics when a property breaks; a panic is how a fuzzer learns
//! of a finding.
//!
//! Two callers feed them: `fuzz/` (cargo-fuzz, `scripts/fuzz.sh`) for as long as it is asked to
//! run, and this crate's `tests/smoke.rs`, a bounded, seeded run on every `cargo test`. Keeping the
//! properties here means the long run and the smoke run can never check different things.

// A broken property must stop the run with the input that broke it: panicking is this crate's job.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::BytesMut;
use gatehouse_auth::{AuthOptions, Authenticator, ProviderConfig, RoutePolicy};
use gatehouse_proxy::connection::http1::{HeadLimits, Taken, take};
use gatehouse_proxy::upstream::wire::{Chunk, Decoded, Framing, parse_head, response_framing};

/// The HMAC secret of [`token`]'s provider. No input can carry a valid signature under it unless
/// it was signed with it, which the fuzzer cannot do.
pub const TOKEN_SECRET: &str = "a fuzzing secret that nobody can guess, 32+ bytes long";
/// The issuer [`token`]'s provider expects.
pub const TOKEN_ISSUER: &str = "https://fuzz.example";
/// The audience [`token`]'s provider expects.
pub const TOKEN_AUDIENCE: &str = "api";

struct TokenHarness {
    runtime: tokio::runtime::Runtime,
    auth: Authenticator,
    policy: RoutePolicy,
}

fn token_harness() -> &'static TokenHarness {
    static HARNESS: OnceLock<TokenHarness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let provider: ProviderConfig = serde_json::from_value(serde_json::json!({
            "name": "fuzz",
            "issuer": TOKEN_ISSUER,
            "audiences": [TOKEN_AUDIENCE],
            "algorithms": ["HS256"],
            "keys": { "hmac_secret": TOKEN_SECRET },
        }))
        .expect("provider");
        let auth = runtime
            .block_on(async { Authenticator::new(&[provider], AuthOptions::default()) })
            .expect("authenticator");
        TokenHarness {
            runtime,
            auth,
            policy: RoutePolicy::required(["fuzz"]),
        }
    })
}

/// The `Authorization` value [`token`] makes of an input: after a leading 0 byte, up to three
/// parts split at 0xFF, each base64url-encoded and joined with dots (so the parser beyond the
/// split is reached); otherwise the input itself.
pub fn authorization(data: &[u8]) -> String {
    match data.split_first() {
        Some((0, rest)) => {
            let parts: Vec<String> = rest
                .splitn(3, |b| *b == 0xFF)
                .map(|p| URL_SAFE_NO_PAD.encode(p))
                .collect();
            format!("Bearer {}", parts.join("."))
        }
        _ => String::from_utf8_lossy(data).into_owned(),
    }
}

/// Bearer tokens from the network: whatever the bytes, authentication answers (never panics) and
/// never accepts a token that was not signed with the configured secret.
pub fn token(data: &[u8]) {
    let h = token_harness();
    let Ok(value) = http::HeaderValue::from_str(&authorization(data)) else {
        return;
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, value);
    let result = h.runtime.block_on(h.auth.authenticate(&headers, &h.policy));
    assert!(result.is_err(), "a token that nobody signed was accepted");
}

/// The header map [`context_headers`] makes of an input: values for the contract's headers, in
/// the order of `names::ALL`, separated by 0xFF.
pub fn context_header_map(data: &[u8]) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (name, value) in gatehouse_context::names::ALL
        .iter()
        .zip(data.split(|b| *b == 0xFF))
    {
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            headers.append(*name, value);
        }
    }
    headers
}

/// Identity-context headers as a service receives them: decoding never panics, and whatever it
/// accepts re-encodes to exactly the same identity.
pub fn context_headers(data: &[u8]) {
    let headers = context_header_map(data);
    if let Ok(Some(identity)) = gatehouse_context::read_headers(&headers) {
        let mut again = http::HeaderMap::new();
        gatehouse_context::write_headers(&identity, &mut again)
            .expect("a decoded identity encodes");
        let decoded = gatehouse_context::read_headers(&again).expect("re-decodes");
        assert_eq!(decoded, Some(identity));
    }
}

/// Request paths: normalisation never panics, is idempotent, and its output never contains a
/// dot segment, a doubled slash, or an encoded separator.
pub fn path(data: &[u8]) {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(normal) = gatehouse_proxy::normalize::normalize_path(path) {
        assert_eq!(
            gatehouse_proxy::normalize::normalize_path(&normal).as_deref(),
            Ok(&*normal)
        );
        assert!(!normal.contains("//"), "a doubled slash in {normal:?}");
        assert!(
            !normal.split('/').any(|s| s == "." || s == ".."),
            "a dot segment in {normal:?}"
        );
        let upper = normal.to_ascii_uppercase();
        assert!(
            !upper.contains("%2F") && !upper.contains("%5C") && !upper.contains("%00"),
            "an encoded separator in {normal:?}"
        );
    }
}

/// Configuration files: parsing and validation report problems, never panic (a panic on reload
/// would take the gateway down).
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gatehouse_config::parse(text);
    }
}

/// Upstream HTTP/1.1 responses, as the gateway's own client reads them: head parsing, framing and
/// chunked decoding never panic, whatever an upstream sends and however the reads split it (the
/// first byte sets the read size), and a chunked body never decodes to more bytes than were
/// received.
pub fn upstream_response(data: &[u8]) {
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 64) + 1;
    let expects_body = step % 2 == 0;
    let mut buf = BytesMut::from(stream);
    let Ok(Some(head)) = parse_head(&mut buf) else {
        return;
    };
    let _ = gatehouse_proxy::upstream::wire::keeps_alive(&head);
    let Ok(Framing::Chunked(mut state)) = response_framing(&head, expects_body) else {
        return;
    };
    let body = buf.split();
    let mut fed = 0;
    let mut decoded = 0;
    loop {
        match state.decode(&mut buf) {
            Decoded::Data(bytes) => {
                decoded += bytes.len();
                assert!(decoded <= fed, "decoded more than was received");
            }
            Decoded::Trailers(_) | Decoded::End => {
                assert_eq!(state, Chunk::Done);
                return;
            }
            Decoded::Continue => {}
            Decoded::Invalid(_) => return,
            Decoded::NeedMore => {
                if fed == body.len() {
                    return;
                }
                let end = (fed + step).min(body.len());
                buf.extend_from_slice(&body[fed..end]);
                fed = end;
            }
        }
    }
}

/// The limits [`request_head`] reads heads with: tight enough that a fuzzer reaches both sides
/// of each.
pub const HEAD_LIMITS: HeadLimits = HeadLimits {
    max_bytes: 512,
    max_fields: 8,
};

/// Client request heads, as gatehouse's own HTTP/1.1 loop reads them: taking a head never
/// panics, consumes exactly one head or nothing, and never takes a request whose framing could
/// be read two ways (a body, `Transfer-Encoding`, two lengths) or that asks for an upgrade: those
/// go to hyper's server with every byte intact.
pub fn request_head(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    match take(&mut buf, HEAD_LIMITS) {
        Taken::Plain(request, _) => {
            // What is left is exactly the rest of the input, after one head.
            assert!(buf.len() < data.len());
            assert!(data.len() - buf.len() <= HEAD_LIMITS.max_bytes);
            assert_eq!(&buf[..], &data[data.len() - buf.len()..]);
            assert_eq!(request.version(), http::Version::HTTP_11);
            assert_ne!(request.method(), http::Method::CONNECT);
            let headers = request.headers();
            assert!(headers.len() <= HEAD_LIMITS.max_fields);
            assert!(!headers.contains_key(http::header::TE));
            assert!(!headers.contains_key(http::header::TRANSFER_ENCODING));
            assert!(!headers.contains_key(http::header::UPGRADE));
            assert!(!headers.contains_key(http::header::EXPECT));
            let lengths: Vec<_> = headers
                .get_all(http::header::CONTENT_LENGTH)
                .iter()
                .collect();
            assert!(lengths.is_empty() || lengths == ["0"]);
        }
        Taken::Refused(head) => {
            let mut both = head.to_vec();
            both.extend_from_slice(&buf);
            assert_eq!(both, data);
        }
        Taken::Partial | Taken::Other => assert_eq!(&buf[..], data),
    }
}
