//! Signature and registered-claim checks of one parsed token against one key.

use jsonwebtoken::{Algorithm, AlgorithmFamily};

use crate::keys::VerifyingKey;
use crate::payload::{Claim, Claims};
use crate::rejection::Rejection;
use crate::token::ParsedToken;

/// The registered-claim rules of one provider.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    /// Exact expected `iss`.
    pub issuer: String,
    /// Accepted `aud` values (any of).
    pub audiences: Vec<String>,
    /// Clock-skew allowance in seconds.
    pub leeway: i64,
    /// Whether `exp` must be present.
    pub require_exp: bool,
    /// Largest `exp - iat` in seconds, when limited.
    pub max_lifetime: Option<i64>,
}

/// Checks the signature with `key`, the algorithm being decided by the key and the allow-list.
///
/// The header's `alg` is only accepted when it is allowed for the provider, belongs to the key's
/// family and matches the key's pinned algorithm; the signature is then computed with that
/// algorithm. An RSA public key therefore can never be used as an HMAC secret.
pub(crate) fn check_signature(
    token: &ParsedToken<'_>,
    key: &VerifyingKey,
    allowed: &[Algorithm],
) -> Result<(), Rejection> {
    let alg = token.alg;
    if !allowed.contains(&alg) {
        return Err(Rejection::Algorithm("not allowed for this provider"));
    }
    if alg.family() != key.family || key.pinned.is_some_and(|pinned| pinned != alg) {
        return Err(Rejection::Algorithm("does not match the key"));
    }
    if key.family == AlgorithmFamily::Ec && !ecdsa_signature_is_plausible(alg, &token.signature) {
        return Err(Rejection::BadSignature);
    }
    if let Some(prepared) = key.prepared(alg) {
        return prepared
            .verify_sig(token.signing_input, &token.signature)
            .map_err(|_| Rejection::BadSignature);
    }
    // `parse` let only base64url through, so the segment is always UTF-8.
    let signature_b64 =
        std::str::from_utf8(token.signature_b64).map_err(|_| Rejection::BadSignature)?;
    match jsonwebtoken::crypto::verify(signature_b64, token.signing_input, &key.decoding, alg) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(Rejection::BadSignature),
    }
}

/// Refuses ECDSA signatures of the wrong size or with a zero `r` or `s` (CVE-2022-21449 class).
fn ecdsa_signature_is_plausible(alg: Algorithm, signature: &[u8]) -> bool {
    let half = match alg {
        Algorithm::ES256 => 32,
        Algorithm::ES384 => 48,
        _ => return false,
    };
    if signature.len() != half * 2 {
        return false;
    }
    let (r, s) = signature.split_at(half);
    r.iter().any(|b| *b != 0) && s.iter().any(|b| *b != 0)
}

/// Checks `exp`, `nbf`, `iat`, `iss`, `aud` and the lifetime; returns `exp` when present.
///
/// Time claims must be JSON numbers: a string `exp` is refused, never skipped (the bypass fixed
/// in jsonwebtoken 10.3).
pub(crate) fn check_claims(
    claims: &Claims<'_>,
    rules: &ClaimRules,
    now: i64,
) -> Result<Option<i64>, Rejection> {
    let exp = numeric_date(claims, "exp")?;
    let nbf = numeric_date(claims, "nbf")?;
    let iat = numeric_date(claims, "iat")?;
    match exp {
        None if rules.require_exp => return Err(Rejection::BadTimeClaim("exp missing")),
        Some(exp) if now >= exp.saturating_add(rules.leeway) => return Err(Rejection::Expired),
        _ => {}
    }
    let horizon = now.saturating_add(rules.leeway);
    if nbf.is_some_and(|nbf| nbf > horizon) || iat.is_some_and(|iat| iat > horizon) {
        return Err(Rejection::NotYetValid);
    }
    if claims.get("iss").and_then(Claim::as_str) != Some(rules.issuer.as_str()) {
        return Err(Rejection::WrongIssuer);
    }
    let accepted = |aud: &str| rules.audiences.iter().any(|a| a == aud);
    let audience_ok = match claims.get("aud") {
        Some(Claim::String(aud)) => accepted(aud),
        Some(Claim::Array(items)) => {
            items.iter().all(|item| item.as_str().is_some())
                && items.iter().filter_map(Claim::as_str).any(accepted)
        }
        _ => false,
    };
    if !audience_ok {
        return Err(Rejection::WrongAudience);
    }
    if let Some(max) = rules.max_lifetime {
        match (iat, exp) {
            (Some(iat), Some(exp)) if exp.saturating_sub(iat) <= max => {}
            _ => return Err(Rejection::LifetimeTooLong),
        }
    }
    Ok(exp)
}

/// A NumericDate claim in whole seconds: absent is `None`, anything but a finite number refuses.
fn numeric_date(claims: &Claims<'_>, name: &'static str) -> Result<Option<i64>, Rejection> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let bad = || Rejection::BadTimeClaim(name);
    let Claim::Number(number) = value else {
        return Err(bad());
    };
    if let Some(int) = number.as_i64() {
        return Ok(Some(int));
    }
    match number.as_f64() {
        // Saturating float-to-int conversion; a fraction is floored, as RFC 7519 allows.
        Some(f) if f.is_finite() => Ok(Some(f.floor() as i64)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://idp".into(),
            audiences: vec!["api".into(), "other".into()],
            leeway: 30,
            require_exp: true,
            max_lifetime: None,
        }
    }

    fn check(claims: Value, rules: &ClaimRules) -> Result<Option<i64>, Rejection> {
        let text = claims.to_string();
        check_claims(&Claims::parse(text.as_bytes()).unwrap(), rules, NOW)
    }

    fn base() -> Value {
        json!({ "iss": "https://idp", "aud": "api", "exp": NOW + 60, "iat": NOW, "nbf": NOW })
    }

    fn with(key: &str, value: Value) -> Value {
        let mut claims = base();
        claims[key] = value;
        claims
    }

    #[test]
    fn accepts_a_valid_token() {
        assert_eq!(check(base(), &rules()), Ok(Some(NOW + 60)));
        assert_eq!(
            check(with("exp", json!((NOW + 60) as f64 + 0.5)), &rules()),
            Ok(Some(NOW + 60))
        );
    }

    #[test]
    fn time_claims_use_the_leeway() {
        assert_eq!(
            check(with("exp", json!(NOW - 10)), &rules()),
            Ok(Some(NOW - 10))
        );
        assert_eq!(
            check(with("exp", json!(NOW - 30)), &rules()),
            Err(Rejection::Expired)
        );
        assert_eq!(
            check(with("nbf", json!(NOW + 30)), &rules()),
            Ok(Some(NOW + 60))
        );
        assert_eq!(
            check(with("nbf", json!(NOW + 31)), &rules()),
            Err(Rejection::NotYetValid)
        );
        assert_eq!(
            check(with("iat", json!(NOW + 31)), &rules()),
            Err(Rejection::NotYetValid)
        );
    }

    #[test]
    fn string_or_odd_time_claims_never_bypass_the_checks() {
        for (claim, value) in [
            ("exp", json!("1")),
            ("exp", json!(format!("{}", NOW + 1000))),
            ("exp", json!(null)),
            ("exp", json!([NOW + 60])),
            ("nbf", json!("0")),
            ("iat", json!(true)),
        ] {
            let got = check(with(claim, value.clone()), &rules());
            assert!(
                matches!(got, Err(Rejection::BadTimeClaim(_))),
                "{claim}={value}: {got:?}"
            );
        }
        assert_eq!(
            check(with("exp", json!(-5)), &rules()),
            Err(Rejection::Expired)
        );
        assert_eq!(
            check(with("exp", json!(1e300)), &rules()),
            Ok(Some(i64::MAX))
        );
    }

    #[test]
    fn exp_is_required_unless_configured_otherwise() {
        let mut claims = base();
        claims.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            check(claims.clone(), &rules()),
            Err(Rejection::BadTimeClaim("exp missing"))
        );
        let lax = ClaimRules {
            require_exp: false,
            ..rules()
        };
        assert_eq!(check(claims, &lax), Ok(None));
    }

    #[test]
    fn issuer_is_exact_and_audience_is_any_of() {
        assert_eq!(
            check(with("iss", json!("https://idp/")), &rules()),
            Err(Rejection::WrongIssuer)
        );
        assert_eq!(
            check(with("iss", json!(["https://idp"])), &rules()),
            Err(Rejection::WrongIssuer)
        );
        assert!(check(with("aud", json!(["x", "other"])), &rules()).is_ok());
        assert_eq!(
            check(with("aud", json!(["x", "y"])), &rules()),
            Err(Rejection::WrongAudience)
        );
        assert_eq!(
            check(with("aud", json!("API")), &rules()),
            Err(Rejection::WrongAudience)
        );
        assert_eq!(
            check(with("aud", json!(["api", 5])), &rules()),
            Err(Rejection::WrongAudience)
        );
        assert_eq!(
            check(with("aud", json!([])), &rules()),
            Err(Rejection::WrongAudience)
        );
        let mut no_aud = base();
        no_aud.as_object_mut().unwrap().remove("aud");
        assert_eq!(check(no_aud, &rules()), Err(Rejection::WrongAudience));
    }

    #[test]
    fn maximum_lifetime_needs_iat() {
        let limited = ClaimRules {
            max_lifetime: Some(60),
            ..rules()
        };
        assert!(check(base(), &limited).is_ok());
        assert_eq!(
            check(with("iat", json!(NOW - 1)), &limited),
            Err(Rejection::LifetimeTooLong)
        );
        let mut no_iat = base();
        no_iat.as_object_mut().unwrap().remove("iat");
        assert_eq!(check(no_iat, &limited), Err(Rejection::LifetimeTooLong));
    }

    #[test]
    fn zero_or_misshapen_ecdsa_signatures_are_implausible() {
        assert!(!ecdsa_signature_is_plausible(Algorithm::ES256, &[0; 64]));
        let mut zero_s = [1u8; 64];
        zero_s[32..].fill(0);
        assert!(!ecdsa_signature_is_plausible(Algorithm::ES256, &zero_s));
        assert!(!ecdsa_signature_is_plausible(Algorithm::ES256, &[1; 63]));
        assert!(!ecdsa_signature_is_plausible(Algorithm::ES384, &[1; 64]));
        assert!(ecdsa_signature_is_plausible(Algorithm::ES256, &[1; 64]));
    }

    #[test]
    fn an_hmac_header_against_an_rsa_key_is_refused_before_any_crypto() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;

        let n = URL_SAFE_NO_PAD.encode([0x9au8; 256]);
        let doc = json!({ "keys": [{ "kty": "RSA", "kid": "k", "n": n, "e": "AQAB" }] });
        let set =
            crate::keys::KeySet::from_jwk_document(doc.to_string().as_bytes(), &[Algorithm::RS256])
                .unwrap();
        let crate::keys::Lookup::Found(keys) = set.lookup(Some("k")) else {
            panic!("key k")
        };
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k"}"#);
        let payload = URL_SAFE_NO_PAD.encode("{}");
        let token = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode([7u8; 32]));
        let mut decoded = Vec::new();
        let parsed = crate::token::parse(token.as_bytes(), &mut decoded).unwrap();
        // Even with HS256 wrongly allowed, the RSA key's family decides.
        let allowed = [Algorithm::RS256, Algorithm::HS256];
        assert_eq!(
            check_signature(&parsed, &keys[0], &allowed),
            Err(Rejection::Algorithm("does not match the key"))
        );
        assert_eq!(
            check_signature(&parsed, &keys[0], &[Algorithm::RS256]),
            Err(Rejection::Algorithm("not allowed for this provider"))
        );
    }
}
