//! The JOSE header of a compact JWS, read member by member into only what gatehouse acts on.
//!
//! A generic JSON map would allocate every name and value and then be searched once per member
//! of interest; this reader looks at each name once, borrows strings from the decoded header and
//! keeps none of the values it does not need. It still reads them, as the payload's [`Claim`]s,
//! so they must be valid JSON by the same rules.

use std::fmt;

use serde::Deserializer;
use serde::de::{MapAccess, Visitor};

use crate::payload::{Claim, next_name};

/// Header parameters that would let the token choose its own key, or demand semantics we do not
/// implement; any of them refuses the token, whatever its value (`"jwk": null` included).
const FORBIDDEN_PARAMS: [&str; 6] = ["jwk", "jku", "x5u", "x5c", "crit", "b64"];

/// Parameters of encrypted tokens (JWE), which are never accepted.
const ENCRYPTION_PARAMS: [&str; 2] = ["enc", "zip"];

/// What the header says about the members gatehouse reads.
#[derive(Debug, Default)]
pub(crate) struct JoseHeader<'de> {
    /// `alg`, when present.
    pub alg: Option<Claim<'de>>,
    /// `kid`, when present.
    pub kid: Option<Claim<'de>>,
    /// The first forbidden parameter present, if any.
    pub forbidden: Option<&'static str>,
    /// Whether an encryption parameter is present.
    pub encryption: bool,
    /// Whether `alg` or `kid` appears twice: RFC 7515 lets a parser refuse that or take the last,
    /// and refusing leaves no doubt about which key and algorithm were meant.
    pub duplicate: bool,
}

impl<'de> JoseHeader<'de> {
    /// Reads a header, which must be a single JSON object.
    pub(crate) fn from_slice(json: &'de [u8]) -> Result<Self, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let header = deserializer.deserialize_map(HeaderVisitor)?;
        deserializer.end()?;
        Ok(header)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = JoseHeader<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut header = JoseHeader::default();
        while let Some(name) = next_name(&mut map)? {
            let slot = match name.as_ref() {
                "alg" => &mut header.alg,
                "kid" => &mut header.kid,
                other => {
                    if let Some(param) = FORBIDDEN_PARAMS.iter().find(|p| **p == other) {
                        header.forbidden.get_or_insert(*param);
                    }
                    header.encryption |= ENCRYPTION_PARAMS.contains(&other);
                    // Read, not skipped: skipping would let invalid UTF-8, lone surrogates,
                    // numbers out of range and unbounded nesting through.
                    map.next_value::<Claim<'de>>()?;
                    continue;
                }
            };
            header.duplicate |= slot.is_some();
            *slot = Some(map.next_value::<Claim<'de>>()?);
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn read(json: &str) -> JoseHeader<'_> {
        JoseHeader::from_slice(json.as_bytes()).unwrap()
    }

    #[test]
    fn reads_alg_and_kid_borrowed_and_skips_the_rest() {
        let h = read(r#"{"typ":"JWT","alg":"RS256","x":{"a":[1,{"b":null}]},"kid":"k1"}"#);
        assert!(matches!(h.alg, Some(Claim::String(Cow::Borrowed("RS256")))));
        assert!(matches!(h.kid, Some(Claim::String(Cow::Borrowed("k1")))));
        assert!(h.forbidden.is_none() && !h.encryption && !h.duplicate);
    }

    #[test]
    fn unescapes_names_and_values() {
        // `\u0061lg` is `alg`: a name spelled with escapes is the same name.
        let h = read(r#"{"\u0061lg":"RS256","kid":"a\/b"}"#);
        assert!(matches!(h.alg, Some(Claim::String(Cow::Borrowed("RS256")))));
        assert!(matches!(h.kid, Some(Claim::String(Cow::Owned(ref kid))) if kid == "a/b"));
        assert_eq!(read(r#"{"j\u0077k":1}"#).forbidden, Some("jwk"));
    }

    #[test]
    fn a_forbidden_or_encryption_member_counts_whatever_its_value() {
        for value in ["null", "false", "0", "\"\"", "[]", "{}"] {
            let json = format!(r#"{{"alg":"RS256","jwk":{value}}}"#);
            assert_eq!(read(&json).forbidden, Some("jwk"), "{json}");
            let json = format!(r#"{{"alg":"RS256","zip":{value}}}"#);
            assert!(read(&json).encryption, "{json}");
        }
        assert_eq!(read(r#"{"x5c":[],"crit":[]}"#).forbidden, Some("x5c"));
    }

    #[test]
    fn values_other_than_strings_are_told_apart() {
        for value in [
            "null",
            "true",
            "-1",
            "1.5",
            "18446744073709551615",
            "[\"RS256\"]",
            "{}",
        ] {
            let json = format!(r#"{{"alg":{value}}}"#);
            let alg = read(&json).alg;
            assert!(alg.is_some_and(|alg| alg.as_str().is_none()), "{json}");
        }
    }

    #[test]
    fn a_repeated_alg_or_kid_is_flagged_and_other_repeats_are_not() {
        assert!(read(r#"{"alg":"RS256","alg":"HS256"}"#).duplicate);
        assert!(read(r#"{"kid":"a","alg":"RS256","kid":"b"}"#).duplicate);
        assert!(!read(r#"{"alg":"RS256","typ":"JWT","typ":"JWT"}"#).duplicate);
    }

    #[test]
    fn anything_but_one_object_is_an_error() {
        for json in [
            "[]",
            "\"alg\"",
            "null",
            r#"{"alg":"RS256"} {}"#,
            r#"{"alg":"RS256""#,
            "",
        ] {
            assert!(JoseHeader::from_slice(json.as_bytes()).is_err(), "{json}");
        }
        assert!(JoseHeader::from_slice(br#" {"alg":"RS256"} "#).is_ok());
    }

    #[test]
    fn members_it_ignores_must_still_be_valid_json() {
        let deep = format!(
            r#"{{"alg":"RS256","x":{}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let mut bad_utf8 = br#"{"alg":"RS256","typ":""#.to_vec();
        bad_utf8.extend_from_slice(b"\xff\"}");
        for json in [
            br#"{"alg":"RS256","x":"\ud800"}"#.to_vec(),
            br#"{"alg":"RS256","x":1e400}"#.to_vec(),
            br#"{"alg":"RS256","x":[{"y":"\udfff"}]}"#.to_vec(),
            br#"{"alg":["RS256",1e999]}"#.to_vec(),
            deep.into_bytes(),
            bad_utf8,
        ] {
            assert!(
                JoseHeader::from_slice(&json).is_err(),
                "{}",
                String::from_utf8_lossy(&json)
            );
        }
        let nested = format!(
            r#"{{"alg":"RS256","x":{}{}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(JoseHeader::from_slice(nested.as_bytes()).is_ok());
    }
}
