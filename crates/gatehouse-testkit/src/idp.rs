//! A loopback identity provider and real signing keys: RSA, EC P-256 and Ed25519 keys generated
//! at test time, JWT minting (well-formed or deliberately not), and a JWKS + OIDC discovery server
//! that counts fetches and can be switched to fail or hang.

// Test support: a panic is how a broken fixture reports itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// The audience every test provider accepts.
pub const AUD: &str = "orders-api";

/// A signing key of one of the three asymmetric families.
#[derive(Clone)]
pub enum TestKey {
    /// RSA 2048, signing RS256.
    Rsa(Arc<RsaKeyPair>),
    /// EC P-256, signing ES256.
    Ec(Arc<EcdsaKeyPair>),
    /// Ed25519, signing EdDSA.
    Ed(Arc<Ed25519KeyPair>),
}

impl TestKey {
    /// The RSA key (one per test binary: generation is slow).
    pub fn rsa() -> Self {
        // RSA generation is the slow one; one key serves the whole binary.
        static RSA: OnceLock<Arc<RsaKeyPair>> = OnceLock::new();
        Self::Rsa(Arc::clone(RSA.get_or_init(|| {
            Arc::new(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
        })))
    }

    /// A fresh EC P-256 key.
    pub fn ec() -> Self {
        Self::Ec(Arc::new(
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        ))
    }

    /// A fresh Ed25519 key.
    pub fn ed() -> Self {
        Self::Ed(Arc::new(Ed25519KeyPair::generate().unwrap()))
    }

    /// The JWS `alg` this key signs with.
    pub fn alg(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RS256",
            Self::Ec(_) => "ES256",
            Self::Ed(_) => "EdDSA",
        }
    }

    /// Signs `message` with this key's algorithm.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .unwrap();
                sig
            }
            Self::Ec(k) => k
                .sign(&SystemRandom::new(), message)
                .unwrap()
                .as_ref()
                .to_vec(),
            Self::Ed(k) => k.sign(message).as_ref().to_vec(),
        }
    }

    /// The public key as a JWK with `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match self {
            Self::Rsa(k) => {
                let public = k.public_key();
                json!({
                    "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Self::Ec(k) => {
                let point = k.public_key().as_ref();
                json!({ "kty": "EC", "kid": kid, "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]) })
            }
            Self::Ed(k) => {
                json!({ "kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(k.public_key().as_ref()) })
            }
        }
    }

    /// The public key as an SPKI PEM.
    pub fn public_pem(&self) -> String {
        let der: Vec<u8> = match self {
            Self::Rsa(k) => AsDer::as_der(k.public_key()).unwrap().as_ref().to_vec(),
            Self::Ec(k) => AsDer::as_der(k.public_key()).unwrap().as_ref().to_vec(),
            Self::Ed(k) => AsDer::as_der(k.public_key()).unwrap().as_ref().to_vec(),
        };
        let body = STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A JSON value as unpadded base64url, as in a JWT segment.
pub fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Standard claims of a valid token of `issuer`.
pub fn claims(issuer: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer, "aud": AUD, "sub": "user-1", "email": "user@example.com",
        "iat": now, "nbf": now, "exp": now + 300,
        "realm_access": { "roles": ["buyer"] }, "scope": "openid orders:read",
    })
}

/// Claims with some members replaced (a `null` removes the member).
pub fn claims_with(issuer: &str, changes: Value) -> Value {
    let mut base = claims(issuer);
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

/// A token with a conventional header, signed by `key`.
pub fn token(key: &TestKey, kid: &str, claims: &Value) -> String {
    signed(
        key,
        &json!({ "alg": key.alg(), "typ": "JWT", "kid": kid }),
        claims,
    )
}

/// A token with an arbitrary header, signed by `key` whatever the header says.
pub fn signed(key: &TestKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64_json(header), b64_json(claims));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A token with an arbitrary header and signature bytes.
pub fn raw(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64_json(header),
        b64_json(claims),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// Headers holding `Authorization: Bearer {token}`.
pub fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

/// How the loopback provider answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Mode {
    /// Answer normally.
    Serve = 0,
    /// Answer 500.
    Fail = 1,
    /// Never answer.
    Hang = 2,
}

#[derive(Default)]
struct State {
    base: OnceLock<String>,
    jwks: RwLock<String>,
    cache_control: RwLock<Option<String>>,
    mode: AtomicU8,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
}

/// A JWKS + OIDC discovery server on 127.0.0.1 that counts fetches and can fail or hang.
pub struct Idp {
    state: Arc<State>,
    _server: JoinSet<()>,
}

impl Idp {
    /// Starts a server on a free loopback port, publishing an empty key set.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let state = Arc::new(State::default());
        state
            .base
            .set(format!("http://{}", listener.local_addr().unwrap()))
            .unwrap();
        *state.jwks.write().unwrap() = json!({ "keys": [] }).to_string();
        let mut server = JoinSet::new();
        let accept_state = Arc::clone(&state);
        server.spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&accept_state);
                connections.spawn(async move {
                    let service = service_fn(move |req| respond(Arc::clone(&state), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            state,
            _server: server,
        }
    }

    /// A started server publishing `keys`.
    pub async fn serving(keys: &[(&TestKey, &str)]) -> Self {
        let idp = Self::start().await;
        idp.publish(keys);
        idp
    }

    /// The issuer URL (also the discovery base).
    pub fn issuer(&self) -> String {
        self.state.base.get().unwrap().clone()
    }

    /// `{issuer}/jwks`.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.issuer())
    }

    /// Publishes these keys (JWKs with the given kids), replacing the previous set.
    pub fn publish(&self, keys: &[(&TestKey, &str)]) {
        let keys: Vec<Value> = keys.iter().map(|(k, kid)| k.jwk(kid)).collect();
        self.publish_raw(&json!({ "keys": keys }).to_string());
    }

    /// Publishes an arbitrary body at `/jwks`.
    pub fn publish_raw(&self, body: &str) {
        *self.state.jwks.write().unwrap() = body.to_owned();
    }

    /// Sets (or removes) the `Cache-Control` header of answers.
    pub fn set_cache_control(&self, value: Option<&str>) {
        *self.state.cache_control.write().unwrap() = value.map(str::to_owned);
    }

    /// Switches how the server answers from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.state.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Requests to `/jwks` so far.
    pub fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    /// Requests to the discovery document so far.
    pub fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }
}

async fn respond(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let base = state.base.get().cloned().unwrap_or_default();
    let body = match req.uri().path() {
        "/jwks" => {
            state.jwks_hits.fetch_add(1, Ordering::SeqCst);
            state.jwks.read().unwrap().clone()
        }
        "/.well-known/openid-configuration" => {
            state.discovery_hits.fetch_add(1, Ordering::SeqCst);
            json!({ "issuer": base, "jwks_uri": format!("{base}/jwks") }).to_string()
        }
        _ => {
            return Ok(Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Full::default())
                .unwrap());
        }
    };
    match state.mode.load(Ordering::SeqCst) {
        1 => {
            return Ok(Response::builder()
                .status(500)
                .body(Full::default())
                .unwrap());
        }
        2 => std::future::pending::<()>().await,
        _ => {}
    }
    let mut response = Response::builder().header(CONTENT_TYPE, "application/json");
    if let Some(cc) = state.cache_control.read().unwrap().clone() {
        response = response.header(CACHE_CONTROL, cc);
    }
    Ok(response.body(Full::new(Bytes::from(body))).unwrap())
}
