//! Verification keys and key sets, from JWKS documents, PEM files and HMAC secrets.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind};
use serde::Deserialize;
use serde_json::Value;

use crate::algorithm::{is_hmac, parse_algorithm};

/// Most keys taken from one JWKS document; providers publish two or three.
const MAX_KEYS: usize = 64;
/// Most keys tried for a token without `kid`.
const MAX_ANONYMOUS_CANDIDATES: usize = 4;
/// Smallest RSA modulus accepted.
const MIN_RSA_BITS: usize = 2048;

/// A SHA-256 over a key's public material; identifies the key across refreshes.
pub(crate) type Fingerprint = [u8; 32];

/// One key able to verify signatures of one algorithm family.
#[derive(Debug)]
pub(crate) struct VerifyingKey {
    /// The key id, when the key has one.
    pub kid: Option<String>,
    /// The family the key's material belongs to; a token's `alg` must be of it.
    pub family: AlgorithmFamily,
    /// The one algorithm the key may be used with, when the key says so (EC curves always do).
    pub pinned: Option<Algorithm>,
    /// The key material.
    pub decoding: DecodingKey,
    /// The material parsed once per algorithm it may verify, so a verification does no key
    /// parsing (jsonwebtoken's path re-parses the key and re-decodes the signature each time).
    prepared: Vec<(Algorithm, ParsedPublicKey)>,
    /// Identity of the material, to drop cache entries when the key goes away.
    pub fingerprint: Fingerprint,
}

impl VerifyingKey {
    fn new(kid: Option<String>, pinned: Option<Algorithm>, decoding: DecodingKey) -> Self {
        let family = decoding.family();
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(format!("{family:?}").as_bytes());
        match decoding.kind() {
            DecodingKeyKind::SecretOrDer(bytes) => ctx.update(bytes),
            DecodingKeyKind::RsaModulusExponent { n, e } => {
                ctx.update(n);
                ctx.update(b".");
                ctx.update(e);
            }
        }
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(ctx.finish().as_ref());
        let prepared = prepare(&decoding, family, pinned);
        Self {
            kid,
            family,
            pinned,
            decoding,
            prepared,
            fingerprint,
        }
    }

    /// The key parsed for `alg`, when it could be prepared.
    pub fn prepared(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.prepared
            .iter()
            .find_map(|(a, key)| (*a == alg).then_some(key))
    }
}

/// Parses a public key once for every asymmetric algorithm it may be used with. Material that
/// does not parse is simply not prepared: verification then takes jsonwebtoken's own path,
/// which refuses it the same way.
fn prepare(
    decoding: &DecodingKey,
    family: AlgorithmFamily,
    pinned: Option<Algorithm>,
) -> Vec<(Algorithm, ParsedPublicKey)> {
    use Algorithm::{ES256, ES384, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512};
    let candidates: &[Algorithm] = match family {
        AlgorithmFamily::Rsa => &[RS256, RS384, RS512, PS256, PS384, PS512],
        AlgorithmFamily::Ec => &[ES256, ES384],
        AlgorithmFamily::Ed => &[EdDSA],
        // HMAC secrets are not public keys; jsonwebtoken verifies them.
        _ => &[],
    };
    let material = match decoding.kind() {
        DecodingKeyKind::SecretOrDer(bytes) => bytes.clone(),
        DecodingKeyKind::RsaModulusExponent { n, e } => rsa_public_key_der(n, e),
    };
    candidates
        .iter()
        .filter(|alg| pinned.is_none_or(|p| p == **alg))
        .filter_map(|alg| {
            let parsed = ParsedPublicKey::new(verification_algorithm(*alg)?, &material).ok()?;
            Some((*alg, parsed))
        })
        .collect()
}

fn verification_algorithm(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        _ => return None,
    })
}

/// The DER `RSAPublicKey` (RFC 8017 A.1.1) of a modulus and exponent given as big-endian bytes.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn push_len(out: &mut Vec<u8>, len: usize) {
        match len {
            0..0x80 => out.push(len as u8),
            0x80..0x100 => out.extend_from_slice(&[0x81, len as u8]),
            _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
        }
    }
    fn integer(value: &[u8]) -> Vec<u8> {
        let start = value.iter().position(|b| *b != 0).unwrap_or(value.len());
        let digits = &value[start..];
        // A set high bit would read as negative: DER needs a leading zero then.
        let pad = digits.first().is_none_or(|b| b & 0x80 != 0);
        let mut out = vec![0x02];
        push_len(&mut out, digits.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(digits);
        out
    }
    let body = [integer(n), integer(e)].concat();
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// Keys of one provider at one point in time.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    /// foldhash, not SipHash: looked up on every verification, filled only from configuration
    /// and the provider's key set, so no client can choose its keys.
    by_kid: HashMap<String, Arc<VerifyingKey>, foldhash::fast::RandomState>,
    anonymous: Vec<Arc<VerifyingKey>>,
    fingerprints: HashSet<Fingerprint>,
    /// The same fingerprints in a list: a set of a few keys is searched faster by comparing
    /// than by hashing, and a cache hit asks on every request.
    listed: Vec<Fingerprint>,
}

/// Up to this many keys, `contains` compares instead of hashing.
const LISTED_KEYS: usize = 16;

/// Why a key document could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not JSON, or not a JWK / JWKS.
    #[error("not a JWK or JWKS document: {0}")]
    Document(String),
    /// Not a public key PEM this crate understands.
    #[error("not an RSA, EC (P-256/P-384) or Ed25519 public key PEM")]
    Pem,
    /// The document had no key usable with the provider's algorithms.
    #[error("no usable signing key (HMAC keys are never taken from key sets; {skipped} skipped)")]
    NoUsableKeys {
        /// Keys that were present but skipped.
        skipped: usize,
    },
    /// The configured algorithm does not fit the key.
    #[error("algorithm {0} does not fit this key")]
    AlgorithmMismatch(String),
}

/// The outcome of looking a token's key up.
pub(crate) enum Lookup {
    /// Keys to try, in order.
    Found(Vec<Arc<VerifyingKey>>),
    /// The token names a `kid` this set does not have.
    UnknownKid,
}

impl KeySet {
    fn insert(&mut self, key: VerifyingKey) {
        self.insert_shared(Arc::new(key));
    }

    fn insert_shared(&mut self, key: Arc<VerifyingKey>) {
        if key.kid.is_none() && self.fingerprints.contains(&key.fingerprint) {
            return;
        }
        match &key.kid {
            Some(kid) => {
                // The first key with a given kid wins; a duplicate would make lookup ambiguous.
                if self.by_kid.contains_key(kid) {
                    return;
                }
                self.by_kid.insert(kid.clone(), Arc::clone(&key));
            }
            None => self.anonymous.push(Arc::clone(&key)),
        }
        if self.fingerprints.insert(key.fingerprint) {
            self.listed.push(key.fingerprint);
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.by_kid.len() + self.anonymous.len()
    }

    /// Whether a key with this fingerprint is still present.
    pub fn contains(&self, fingerprint: &Fingerprint) -> bool {
        if self.listed.len() <= LISTED_KEYS {
            self.listed.contains(fingerprint)
        } else {
            self.fingerprints.contains(fingerprint)
        }
    }

    /// Whether the set has a key with this id.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }

    /// Fingerprints present here and absent from `next`.
    pub fn removed_in(&self, next: &KeySet) -> HashSet<Fingerprint> {
        self.fingerprints
            .difference(&next.fingerprints)
            .copied()
            .collect()
    }

    /// Keys to try for a token with the given `kid`.
    ///
    /// The `kid` is only ever a hash-map key: it never reaches a file system, a URL or a query.
    pub fn lookup(&self, kid: Option<&str>) -> Lookup {
        match kid {
            Some(kid) => match self.by_kid.get(kid) {
                Some(key) => Lookup::Found(vec![Arc::clone(key)]),
                // Keys configured without ids (a PEM file, an HMAC secret) match any kid.
                None if self.by_kid.is_empty() && !self.anonymous.is_empty() => Lookup::Found(
                    self.anonymous
                        .iter()
                        .take(MAX_ANONYMOUS_CANDIDATES)
                        .cloned()
                        .collect(),
                ),
                None => Lookup::UnknownKid,
            },
            None => Lookup::Found(
                self.anonymous
                    .iter()
                    .chain(self.by_kid.values())
                    .take(MAX_ANONYMOUS_CANDIDATES)
                    .cloned()
                    .collect(),
            ),
        }
    }

    /// A set holding one HMAC secret.
    pub fn hmac(secret: &[u8]) -> Result<Self, KeyError> {
        let key =
            DecodingKey::from_secret(secret).map_err(|_| KeyError::NoUsableKeys { skipped: 0 })?;
        let mut set = Self::default();
        set.insert(VerifyingKey::new(None, None, key));
        Ok(set)
    }

    /// Parses a JWKS (`{"keys": [...]}`) or a single JWK; HMAC (`oct`) keys are skipped.
    pub fn from_jwk_document(bytes: &[u8], allowed: &[Algorithm]) -> Result<Self, KeyError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| KeyError::Document(e.to_string()))?;
        let entries: Vec<Value> = match value {
            Value::Object(mut map) => match map.remove("keys") {
                Some(Value::Array(keys)) => keys,
                Some(_) => return Err(KeyError::Document("`keys` is not an array".to_owned())),
                None => vec![Value::Object(map)],
            },
            _ => return Err(KeyError::Document("not a JSON object".to_owned())),
        };
        let mut set = Self::default();
        let mut skipped = 0;
        for entry in entries.into_iter().take(MAX_KEYS) {
            match jwk_to_key(entry, allowed) {
                Some(key) => set.insert(key),
                None => skipped += 1,
            }
        }
        if set.len() == 0 {
            return Err(KeyError::NoUsableKeys { skipped });
        }
        Ok(set)
    }

    /// Parses a PEM public key (RSA, EC P-256/P-384 or Ed25519).
    pub fn add_pem(
        &mut self,
        pem: &[u8],
        kid: Option<String>,
        pinned: Option<Algorithm>,
    ) -> Result<(), KeyError> {
        let (decoding, derived) = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            (key, None)
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            let alg = match key.try_get_as_bytes().map(<[u8]>::len) {
                Ok(65) => Algorithm::ES256,
                Ok(97) => Algorithm::ES384,
                _ => return Err(KeyError::Pem),
            };
            (key, Some(alg))
        } else if let Ok(key) = DecodingKey::from_ed_pem(pem) {
            (key, Some(Algorithm::EdDSA))
        } else {
            return Err(KeyError::Pem);
        };
        let pinned = match (pinned, derived) {
            (Some(p), _) if p.family() != decoding.family() => {
                return Err(KeyError::AlgorithmMismatch(
                    crate::algorithm::algorithm_name(p).to_owned(),
                ));
            }
            (Some(p), Some(d)) if p != d => {
                return Err(KeyError::AlgorithmMismatch(
                    crate::algorithm::algorithm_name(p).to_owned(),
                ));
            }
            (p, d) => p.or(d),
        };
        self.insert(VerifyingKey::new(kid, pinned, decoding));
        Ok(())
    }

    /// Adds every key of another set (static configurations may list several files).
    pub fn extend(&mut self, other: KeySet) {
        for key in other
            .anonymous
            .into_iter()
            .chain(other.by_kid.into_values())
        {
            self.insert_shared(key);
        }
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

/// One JWK as a verifying key; `None` for keys that are not public signature keys we accept.
fn jwk_to_key(entry: Value, allowed: &[Algorithm]) -> Option<VerifyingKey> {
    let jwk: RawJwk = serde_json::from_value(entry).ok()?;
    if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return None;
    }
    if jwk
        .kid
        .as_ref()
        .is_some_and(|kid| kid.is_empty() || kid.len() > 256)
    {
        return None;
    }
    let declared = match &jwk.alg {
        None => None,
        Some(name) => Some(parse_algorithm(name).ok()?),
    };
    if declared.is_some_and(|alg| is_hmac(alg) || !allowed.contains(&alg)) {
        return None;
    }
    let (decoding, derived) = match jwk.kty.as_str() {
        "RSA" => {
            let n = jwk.n.as_deref()?;
            let modulus = URL_SAFE_NO_PAD.decode(n).ok()?;
            let leading_zeros = modulus.iter().take_while(|b| **b == 0).count();
            if (modulus.len() - leading_zeros) * 8 < MIN_RSA_BITS {
                return None;
            }
            (
                DecodingKey::from_rsa_components(n, jwk.e.as_deref()?).ok()?,
                None,
            )
        }
        "EC" => {
            let (alg, size) = match jwk.crv.as_deref()? {
                "P-256" => (Algorithm::ES256, 32),
                "P-384" => (Algorithm::ES384, 48),
                _ => return None,
            };
            let (x, y) = (jwk.x.as_deref()?, jwk.y.as_deref()?);
            let sizes_ok = [x, y]
                .iter()
                .all(|c| URL_SAFE_NO_PAD.decode(c).is_ok_and(|b| b.len() == size));
            if !sizes_ok {
                return None;
            }
            (DecodingKey::from_ec_components(x, y).ok()?, Some(alg))
        }
        "OKP" => {
            if jwk.crv.as_deref()? != "Ed25519" {
                return None;
            }
            let x = jwk.x.as_deref()?;
            if !URL_SAFE_NO_PAD.decode(x).is_ok_and(|b| b.len() == 32) {
                return None;
            }
            (
                DecodingKey::from_ed_components(x).ok()?,
                Some(Algorithm::EdDSA),
            )
        }
        // `oct` (HMAC) keys are refused: a secret published in a key set is no secret, and
        // accepting one is the classic way to let anyone mint tokens.
        _ => return None,
    };
    let pinned = match (declared, derived) {
        (Some(d), _) if d.family() != decoding.family() => return None,
        (Some(d), Some(curve)) if d != curve => return None,
        (d, c) => d.or(c),
    };
    if let Some(alg) = pinned
        && !allowed.contains(&alg)
    {
        return None;
    }
    if pinned.is_none() && !allowed.iter().any(|a| a.family() == decoding.family()) {
        return None;
    }
    Some(VerifyingKey::new(jwk.kid, pinned, decoding))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    pub(super) const ALL: [Algorithm; 9] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    fn b64(len: usize) -> String {
        URL_SAFE_NO_PAD.encode(vec![0x5au8; len])
    }

    #[test]
    fn oct_keys_and_non_signature_keys_are_skipped() {
        let doc = json!({ "keys": [
            { "kty": "oct", "kid": "h", "k": b64(32), "alg": "HS256" },
            { "kty": "RSA", "kid": "enc", "use": "enc", "n": b64(256), "e": "AQAB" },
            { "kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": b64(256), "e": "AQAB" },
            { "kty": "RSA", "kid": "small", "n": b64(128), "e": "AQAB" },
            { "kty": "EC", "kid": "p521", "crv": "P-521", "x": b64(66), "y": b64(66) },
            { "kty": "RSA", "kid": "ok", "n": b64(256), "e": "AQAB" },
        ]});
        let set = KeySet::from_jwk_document(doc.to_string().as_bytes(), &ALL).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.has_kid("ok"));
    }

    #[test]
    fn a_set_with_only_hmac_keys_is_an_error() {
        let doc = json!({ "keys": [{ "kty": "oct", "kid": "h", "k": b64(32) }] });
        let err = KeySet::from_jwk_document(doc.to_string().as_bytes(), &ALL).unwrap_err();
        assert_eq!(err, KeyError::NoUsableKeys { skipped: 1 });
    }

    #[test]
    fn ec_keys_are_pinned_to_their_curve_and_alg_must_agree() {
        let doc = json!({ "keys": [
            { "kty": "EC", "kid": "a", "crv": "P-256", "x": b64(32), "y": b64(32) },
            { "kty": "EC", "kid": "b", "crv": "P-256", "alg": "ES384", "x": b64(32), "y": b64(32) },
            { "kty": "EC", "kid": "c", "crv": "P-256", "alg": "RS256", "x": b64(32), "y": b64(32) },
        ]});
        let set = KeySet::from_jwk_document(doc.to_string().as_bytes(), &ALL).unwrap();
        assert_eq!(set.len(), 1);
        let Lookup::Found(keys) = set.lookup(Some("a")) else {
            panic!("a should be found")
        };
        assert_eq!(keys[0].pinned, Some(Algorithm::ES256));
    }

    #[test]
    fn keys_outside_the_allow_list_are_skipped() {
        let doc = json!({ "keys": [
            { "kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b64(32) },
            { "kty": "RSA", "kid": "rs", "alg": "RS512", "n": b64(256), "e": "AQAB" },
        ]});
        let set =
            KeySet::from_jwk_document(doc.to_string().as_bytes(), &[Algorithm::EdDSA]).unwrap();
        assert!(set.has_kid("ed") && !set.has_kid("rs"));
    }

    #[test]
    fn kid_lookup_is_exact_and_never_a_path() {
        let doc =
            json!({ "keys": [{ "kty": "OKP", "kid": "k1", "crv": "Ed25519", "x": b64(32) }] });
        let set = KeySet::from_jwk_document(doc.to_string().as_bytes(), &ALL).unwrap();
        for kid in ["../../etc/passwd", "k1/../k1", "K1", "k1 ", "/dev/null"] {
            assert!(matches!(set.lookup(Some(kid)), Lookup::UnknownKid), "{kid}");
        }
        assert!(matches!(set.lookup(Some("k1")), Lookup::Found(_)));
        assert!(matches!(set.lookup(None), Lookup::Found(v) if v.len() == 1));
    }

    #[test]
    fn removed_keys_are_found_by_fingerprint() {
        let one = json!({ "keys": [
            { "kty": "OKP", "kid": "a", "crv": "Ed25519", "x": b64(32) },
            { "kty": "OKP", "kid": "b", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([1u8; 32]) },
        ]});
        let two = json!({ "keys": [{ "kty": "OKP", "kid": "b", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([1u8; 32]) }] });
        let before = KeySet::from_jwk_document(one.to_string().as_bytes(), &ALL).unwrap();
        let after = KeySet::from_jwk_document(two.to_string().as_bytes(), &ALL).unwrap();
        let removed = before.removed_in(&after);
        assert_eq!(removed.len(), 1);
        let Lookup::Found(a) = before.lookup(Some("a")) else {
            panic!()
        };
        assert!(removed.contains(&a[0].fingerprint));
    }

    #[test]
    fn membership_is_the_same_for_small_and_large_sets() {
        for n in [1u8, 3, LISTED_KEYS as u8, LISTED_KEYS as u8 + 4] {
            let keys: Vec<_> = (0..n)
                .map(|i| json!({ "kty": "OKP", "kid": format!("k{i}"), "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([i + 1; 32]) }))
                .collect();
            let doc = json!({ "keys": keys });
            let set = KeySet::from_jwk_document(doc.to_string().as_bytes(), &ALL).unwrap();
            assert_eq!(set.len(), usize::from(n));
            for i in 0..n {
                let Lookup::Found(key) = set.lookup(Some(&format!("k{i}"))) else {
                    panic!("k{i} missing")
                };
                assert!(set.contains(&key[0].fingerprint), "{n} keys, k{i}");
            }
            assert!(!set.contains(&[0xee; 32]), "{n} keys");
        }
    }

    #[test]
    fn garbage_documents_are_errors() {
        assert!(KeySet::from_jwk_document(b"not json", &ALL).is_err());
        assert!(KeySet::from_jwk_document(b"[]", &ALL).is_err());
        assert!(KeySet::from_jwk_document(br#"{"keys": 5}"#, &ALL).is_err());
        assert!(KeySet::from_jwk_document(b"{\"keys\": []}", &ALL).is_err());
    }
}

#[cfg(test)]
mod prepared_tests {
    use gatehouse_testkit::idp::TestKey;
    use serde_json::json;

    use super::*;

    use super::tests::ALL as ASYMMETRIC;

    fn only_key(set: &KeySet) -> Arc<VerifyingKey> {
        match set.lookup(Some("k")) {
            Lookup::Found(keys) => keys[0].clone(),
            _ => panic!("key k missing"),
        }
    }

    /// Every real key, from a JWKS document or from PEM, is parsed ahead for its algorithm, and
    /// the parsed key verifies what the key signed and nothing else.
    #[test]
    fn keys_are_prepared_once_and_verify() {
        for key in [TestKey::rsa(), TestKey::ec(), TestKey::ed()] {
            let alg = parse_algorithm(key.alg()).unwrap();
            let doc = json!({ "keys": [key.jwk("k")] });
            let from_jwks =
                KeySet::from_jwk_document(doc.to_string().as_bytes(), &ASYMMETRIC).unwrap();
            let mut from_pem = KeySet::default();
            from_pem
                .add_pem(key.public_pem().as_bytes(), Some("k".into()), None)
                .unwrap();
            for set in [from_jwks, from_pem] {
                let verifying = only_key(&set);
                let prepared = verifying
                    .prepared(alg)
                    .unwrap_or_else(|| panic!("{alg:?} key not prepared"));
                let signature = key.sign(b"header.payload");
                assert!(prepared.verify_sig(b"header.payload", &signature).is_ok());
                assert!(prepared.verify_sig(b"header.payloaD", &signature).is_err());
            }
        }
    }

    #[test]
    fn der_integers_are_minimal_and_positive() {
        // A high bit gets a leading zero; leading zeros of the input go.
        assert_eq!(
            rsa_public_key_der(&[0, 0, 0x80, 1], &[1, 0, 1]),
            vec![
                0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
        let long = rsa_public_key_der(&[0x7f; 256], &[3]);
        assert_eq!(
            &long[..8],
            &[0x30, 0x82, 0x01, 0x07, 0x02, 0x82, 0x01, 0x00]
        );
    }
}
