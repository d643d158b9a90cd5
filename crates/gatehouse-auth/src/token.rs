//! Parsing a compact JWS and its JOSE header before anything is trusted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;

use crate::jose::JoseHeader;
use crate::payload::{Claim, Claims};
use crate::rejection::Rejection;

/// Longest `kid` accepted; it is only ever a map key, but there is no reason to hash megabytes.
const MAX_KID_BYTES: usize = 256;

/// A token split and decoded, nothing verified yet.
#[derive(Debug)]
pub(crate) struct ParsedToken<'a> {
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a [u8],
    /// The signature segment, still base64url.
    pub signature_b64: &'a [u8],
    /// The decoded signature.
    pub signature: Vec<u8>,
    /// The header's `alg`, already known to be a supported algorithm (not yet allowed).
    pub alg: Algorithm,
    /// The header's `kid`, used only as a lookup key.
    pub kid: Option<String>,
    /// The payload's claims, borrowed from the decoded payload.
    pub claims: Claims<'a>,
}

/// Splits, decodes and sanity-checks a compact JWS; the payload is decoded into `payload`, which
/// the claims borrow from.
pub(crate) fn parse<'a>(
    token: &'a [u8],
    payload: &'a mut Vec<u8>,
) -> Result<ParsedToken<'a>, Rejection> {
    // The three decoders below refuse any byte outside base64url, so only the dots are looked
    // for here (memchr, many bytes per instruction) rather than checking every byte twice.
    let (header_b64, payload_b64, signature_b64) = match dots(token) {
        Dots::Two(first, second) => match (
            token.get(..first),
            token.get(first + 1..second),
            token.get(second + 1..),
        ) {
            (Some(header), Some(payload), Some(signature)) => (header, payload, signature),
            _ => return Err(Rejection::Malformed("not three segments")),
        },
        Dots::Four => {
            return Err(Rejection::Malformed(
                "five segments: encrypted tokens (JWE) are not accepted",
            ));
        }
        Dots::Other => return Err(Rejection::Malformed("not three segments")),
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| Rejection::Malformed("header is not base64url"))?;
    let header = JoseHeader::from_slice(&header_json)
        .map_err(|_| Rejection::Malformed("header is not a JSON object"))?;
    if header.duplicate {
        return Err(Rejection::Malformed(
            "alg or kid appears twice in the header",
        ));
    }
    let alg = header_algorithm(header.alg.as_ref())?;
    if let Some(name) = header.forbidden {
        return Err(Rejection::ForbiddenHeader(name));
    }
    if header.encryption {
        return Err(Rejection::Malformed("encryption header parameters"));
    }
    let kid = match header.kid {
        None => None,
        Some(Claim::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => {
            Some(kid.into_owned())
        }
        Some(_) => return Err(Rejection::Malformed("kid is not a short string")),
    };
    let not_an_object = || Rejection::Malformed("payload is not a JSON object");
    payload.clear();
    URL_SAFE_NO_PAD
        .decode_vec(payload_b64, payload)
        .map_err(|_| Rejection::Malformed("payload is not base64url"))?;
    let payload: &'a Vec<u8> = payload;
    let claims = Claims::parse(payload).map_err(|_| not_an_object())?;
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

/// The dots of a token: where they are when there are two, the only count that can be a JWS.
#[derive(Debug, PartialEq, Eq)]
enum Dots {
    /// Exactly two, at these offsets: three segments.
    Two(usize, usize),
    /// Exactly four: the five segments of a JWE.
    Four,
    /// Any other count.
    Other,
}

/// Where the dots of `token` are.
fn dots(token: &[u8]) -> Dots {
    let mut found = memchr::memchr_iter(b'.', token);
    match (found.next(), found.next()) {
        (Some(first), Some(second)) => match found.count() {
            0 => Dots::Two(first, second),
            2 => Dots::Four,
            _ => Dots::Other,
        },
        _ => Dots::Other,
    }
}

/// The header's algorithm; `none` in any casing and anything unknown are refused here.
fn header_algorithm(alg: Option<&Claim<'_>>) -> Result<Algorithm, Rejection> {
    let Some(Claim::String(name)) = alg else {
        return Err(Rejection::Malformed("alg is missing or not a string"));
    };
    if name.eq_ignore_ascii_case("none") {
        return Err(Rejection::Algorithm("none"));
    }
    crate::algorithm::parse_algorithm(name).map_err(|_| Rejection::Algorithm("unsupported"))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    /// `parse` with a payload buffer of its own, leaked: a test can afford it.
    fn parse(token: &[u8]) -> Result<ParsedToken<'_>, Rejection> {
        super::parse(token, Box::leak(Box::default()))
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
        let parsed = parse(t.as_bytes()).unwrap();
        assert_eq!(parsed.alg, Algorithm::RS256);
        assert_eq!(parsed.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.signature, b"sig");
        assert_eq!(parsed.claims.get("sub").and_then(Claim::as_str), Some("u"));
        assert!(t.as_bytes().starts_with(parsed.signing_input));
        assert_eq!(
            parsed.signing_input.iter().filter(|b| **b == b'.').count(),
            1
        );
    }

    #[test]
    fn refuses_alg_none_in_any_casing() {
        for alg in ["none", "None", "NONE", "nOnE"] {
            let t = token(json!({ "alg": alg }), json!({}));
            assert_eq!(
                parse(t.as_bytes()).unwrap_err(),
                Rejection::Algorithm("none"),
                "{alg}"
            );
        }
        let unsigned = format!("{}.{}.", b64(&json!({ "alg": "none" })), b64(&json!({})));
        assert_eq!(
            parse(unsigned.as_bytes()).unwrap_err(),
            Rejection::Algorithm("none")
        );
    }

    #[test]
    fn refuses_key_carrying_and_critical_header_parameters() {
        for param in ["jwk", "jku", "x5u", "x5c", "crit"] {
            let t = token(json!({ "alg": "RS256", param: "x" }), json!({}));
            assert_eq!(
                parse(t.as_bytes()).unwrap_err(),
                Rejection::ForbiddenHeader(param)
            );
        }
    }

    #[test]
    fn refuses_a_forbidden_parameter_whatever_its_value() {
        for value in [json!(null), json!(false), json!({}), json!([])] {
            let t = token(json!({ "alg": "RS256", "jwk": value }), json!({}));
            assert_eq!(
                parse(t.as_bytes()).unwrap_err(),
                Rejection::ForbiddenHeader("jwk")
            );
        }
    }

    #[test]
    fn refuses_a_repeated_alg_or_kid() {
        let p = b64(&json!({}));
        for header in [
            r#"{"alg":"RS256","alg":"HS256"}"#,
            r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
        ] {
            let t = format!("{}.{p}.c2ln", URL_SAFE_NO_PAD.encode(header));
            assert_eq!(
                parse(t.as_bytes()).unwrap_err(),
                Rejection::Malformed("alg or kid appears twice in the header"),
                "{header}"
            );
        }
    }

    #[test]
    fn checks_every_byte_whatever_the_length() {
        // The decoders check the alphabet: a bad byte anywhere in a segment is refused, with
        // the segment it fell in; one in place of a dot leaves too few segments.
        let t = token(
            json!({ "alg": "RS256", "kid": "k".repeat(100) }),
            json!({ "sub": "u" }),
        );
        assert!(parse(t.as_bytes()).is_ok());
        let first = t.find('.').unwrap();
        let second = t.rfind('.').unwrap();
        for at in 0..t.len() {
            let expected = match at {
                _ if at == first || at == second => "not three segments",
                _ if at < first => "header is not base64url",
                _ if at < second => "payload is not base64url",
                _ => "signature is not base64url",
            };
            for bad in [b'+', b'/', b'=', b' ', 0x80, 0] {
                let mut bytes = t.clone().into_bytes();
                bytes[at] = bad;
                assert_eq!(
                    parse(&bytes).unwrap_err(),
                    Rejection::Malformed(expected),
                    "{at}"
                );
            }
        }
    }

    #[test]
    fn finds_the_dots_wherever_they_fall() {
        let len = 100;
        for first in 0..len {
            for second in first + 1..len {
                let mut bytes = vec![b'a'; len];
                bytes[first] = b'.';
                bytes[second] = b'.';
                assert_eq!(dots(&bytes), Dots::Two(first, second), "{first} {second}");
            }
        }
        for (count, expected) in [(0, Dots::Other), (1, Dots::Other), (3, Dots::Other)]
            .into_iter()
            .chain([(4, Dots::Four), (5, Dots::Other), (40, Dots::Other)])
        {
            let mut bytes = vec![b'a'; len];
            for i in 0..count {
                bytes[i * 2] = b'.';
            }
            assert_eq!(dots(&bytes), expected, "{count}");
        }
    }

    #[test]
    fn refuses_wrong_shapes() {
        let h = b64(&json!({ "alg": "RS256" }));
        let p = b64(&json!({}));
        for (bad, reason) in [
            (format!("{h}.{p}"), "not three segments"),
            (
                format!("{h}.{p}.c2ln.x.y"),
                "five segments: encrypted tokens (JWE) are not accepted",
            ),
            (format!("{h}.{p}."), "empty signature"),
            (format!("{h}.{p}.c2ln="), "signature is not base64url"),
            (format!("{h}.e30=.c2ln"), "payload is not base64url"),
            (format!("{h}=.{p}.c2ln"), "header is not base64url"),
            (
                format!("{}.{p}.c2ln", b64(&json!(["alg"]))),
                "header is not a JSON object",
            ),
            (
                format!("{h}.{}.c2ln", b64(&json!("claims"))),
                "payload is not a JSON object",
            ),
            (
                format!("{}.{p}.c2ln", b64(&json!({ "alg": 5 }))),
                "alg is missing or not a string",
            ),
            (
                format!("{}.{p}.c2ln", b64(&json!({ "alg": "RS256", "kid": 7 }))),
                "kid is not a short string",
            ),
            (
                format!(
                    "{}.{p}.c2ln",
                    b64(&json!({ "alg": "RS256", "enc": "A256GCM" }))
                ),
                "encryption header parameters",
            ),
            ("not-a-token".to_owned(), "not three segments"),
            ("a.b.c.d".to_owned(), "not three segments"),
        ] {
            assert_eq!(
                parse(bad.as_bytes()).unwrap_err(),
                Rejection::Malformed(reason),
                "{bad}"
            );
        }
        let five = format!("{h}.{p}.a.b.c");
        assert_eq!(
            parse(five.as_bytes()).unwrap_err(),
            Rejection::Malformed("five segments: encrypted tokens (JWE) are not accepted")
        );
    }
}
