//! Parsing a compact JWS and its JOSE header before anything is trusted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::rejection::Rejection;

/// Longest `kid` accepted; it is only ever a map key, but there is no reason to hash megabytes.
const MAX_KID_BYTES: usize = 256;

/// Header parameters that would let the token choose its own key, or demand semantics we do not
/// implement; any of them refuses the token.
const FORBIDDEN_HEADER_PARAMS: [&str; 6] = ["jwk", "jku", "x5u", "x5c", "crit", "b64"];

/// A token split and decoded, nothing verified yet.
#[derive(Debug)]
pub(crate) struct ParsedToken<'a> {
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a str,
    /// The signature segment, still base64url.
    pub signature_b64: &'a str,
    /// The decoded signature.
    pub signature: Vec<u8>,
    /// The header's `alg`, already known to be a supported algorithm (not yet allowed).
    pub alg: Algorithm,
    /// The header's `kid`, used only as a lookup key.
    pub kid: Option<String>,
    /// The payload's claims: always a JSON object.
    pub claims: Value,
}

/// Splits, decodes and sanity-checks a compact JWS.
pub(crate) fn parse(token: &str) -> Result<ParsedToken<'_>, Rejection> {
    // Folded without short-circuit, so the compiler can check many bytes per instruction.
    let (base64url, dots) = token.bytes().fold((true, 0usize), |(ok, dots), b| {
        (
            ok & (b.is_ascii_alphanumeric() | (b == b'-') | (b == b'_') | (b == b'.')),
            dots + usize::from(b == b'.'),
        )
    });
    if !base64url {
        return Err(Rejection::Malformed("character outside base64url"));
    }
    let segments = match dots {
        2 => token
            .split_once('.')
            .and_then(|(header, rest)| Some((header, rest.split_once('.')?))),
        4 => {
            return Err(Rejection::Malformed(
                "five segments: encrypted tokens (JWE) are not accepted",
            ));
        }
        _ => None,
    };
    let Some((header_b64, (payload_b64, signature_b64))) = segments else {
        return Err(Rejection::Malformed("not three segments"));
    };
    let header =
        decode_object(header_b64).ok_or(Rejection::Malformed("header is not a JSON object"))?;
    let alg = header_algorithm(&header)?;
    for name in FORBIDDEN_HEADER_PARAMS {
        if header.contains_key(name) {
            return Err(Rejection::ForbiddenHeader(name));
        }
    }
    if header.contains_key("enc") || header.contains_key("zip") {
        return Err(Rejection::Malformed("encryption header parameters"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => {
            Some(kid.clone())
        }
        Some(_) => return Err(Rejection::Malformed("kid is not a short string")),
    };
    let claims = Value::Object(
        decode_object(payload_b64).ok_or(Rejection::Malformed("payload is not a JSON object"))?,
    );
    if signature_b64.is_empty() {
        return Err(Rejection::Malformed("empty signature"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| Rejection::Malformed("signature is not base64url"))?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    Ok(ParsedToken {
        signing_input,
        signature_b64,
        signature,
        alg,
        kid,
        claims,
    })
}

/// The header's algorithm; `none` in any casing and anything unknown are refused here.
fn header_algorithm(header: &Map<String, Value>) -> Result<Algorithm, Rejection> {
    let Some(Value::String(name)) = header.get("alg") else {
        return Err(Rejection::Malformed("alg is missing or not a string"));
    };
    if name.eq_ignore_ascii_case("none") {
        return Err(Rejection::Algorithm("none"));
    }
    crate::algorithm::parse_algorithm(name).map_err(|_| Rejection::Algorithm("unsupported"))
}

fn decode_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.{}",
            b64(&header),
            b64(&claims),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    #[test]
    fn parses_a_well_formed_token() {
        let t = token(
            json!({ "alg": "RS256", "kid": "k1", "typ": "JWT" }),
            json!({ "sub": "u" }),
        );
        let parsed = parse(&t).unwrap();
        assert_eq!(parsed.alg, Algorithm::RS256);
        assert_eq!(parsed.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.signature, b"sig");
        assert_eq!(parsed.claims.get("sub"), Some(&json!("u")));
        assert!(t.starts_with(parsed.signing_input));
        assert_eq!(parsed.signing_input.matches('.').count(), 1);
    }

    #[test]
    fn refuses_alg_none_in_any_casing() {
        for alg in ["none", "None", "NONE", "nOnE"] {
            let t = token(json!({ "alg": alg }), json!({}));
            assert_eq!(
                parse(&t).unwrap_err(),
                Rejection::Algorithm("none"),
                "{alg}"
            );
        }
        let unsigned = format!("{}.{}.", b64(&json!({ "alg": "none" })), b64(&json!({})));
        assert_eq!(parse(&unsigned).unwrap_err(), Rejection::Algorithm("none"));
    }

    #[test]
    fn refuses_key_carrying_and_critical_header_parameters() {
        for param in ["jwk", "jku", "x5u", "x5c", "crit"] {
            let t = token(json!({ "alg": "RS256", param: "x" }), json!({}));
            assert_eq!(parse(&t).unwrap_err(), Rejection::ForbiddenHeader(param));
        }
    }

    #[test]
    fn refuses_wrong_shapes() {
        let h = b64(&json!({ "alg": "RS256" }));
        let p = b64(&json!({}));
        for bad in [
            format!("{h}.{p}"),
            format!("{h}.{p}.c2ln.x.y"),
            format!("{h}.{p}."),
            format!("{h}.{p}.c2ln="),
            format!("{}.{p}.c2ln", b64(&json!(["alg"]))),
            format!("{h}.{}.c2ln", b64(&json!("claims"))),
            format!("{}.{p}.c2ln", b64(&json!({ "alg": 5 }))),
            format!("{}.{p}.c2ln", b64(&json!({ "alg": "RS256", "kid": 7 }))),
            format!(
                "{}.{p}.c2ln",
                b64(&json!({ "alg": "RS256", "enc": "A256GCM" }))
            ),
            "not-a-token".to_owned(),
        ] {
            assert!(matches!(parse(&bad), Err(Rejection::Malformed(_))), "{bad}");
        }
        let five = format!("{h}.{p}.a.b.c");
        assert_eq!(
            parse(&five).unwrap_err(),
            Rejection::Malformed("five segments: encrypted tokens (JWE) are not accepted")
        );
    }
}
