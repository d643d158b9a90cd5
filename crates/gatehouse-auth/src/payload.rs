//! A token's payload, read once into claims borrowed from the decoded bytes.
//!
//! A `serde_json::Value` allocates every name and string, sorts the members into a tree, is
//! searched about ten times and then dropped. These claims keep the members in their order,
//! borrow every string that has no escapes, and find a name by scanning from the end, so the
//! last of a repeated name wins, as it did with a map (RFC 7519 §4 lets a parser take the last).
//! Every value is still read in full, so the payload must be valid JSON by serde_json's rules,
//! nesting limit included.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// A JSON value of a token: a claim of its payload, or a member of its JOSE header.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json reads it.
    Number(Number),
    /// A string, borrowed unless it had escapes.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Claim<'a>>),
    /// An object.
    Object(Claims<'a>),
}

impl<'a> Claim<'a> {
    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Claim::String(text) => Some(text),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&Claims<'a>> {
        match self {
            Claim::Object(object) => Some(object),
            _ => None,
        }
    }
}

/// A JSON object of a token's payload (the payload itself is one): its members in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims<'a> {
    members: Vec<(Cow<'a, str>, Claim<'a>)>,
}

impl<'a> Claims<'a> {
    /// Reads a payload, which must be a single JSON object.
    pub fn parse(json: &'a [u8]) -> Result<Self, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let claims = deserializer.deserialize_map(ObjectVisitor)?;
        deserializer.end()?;
        Ok(claims)
    }

    /// The member called `name`; the last one when the name is repeated.
    pub fn get(&self, name: &str) -> Option<&Claim<'a>> {
        self.members
            .iter()
            .rev()
            .find(|(member, _)| member == name)
            .map(|(_, value)| value)
    }
}

impl<'de> de::Deserialize<'de> for Claim<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ClaimVisitor)
    }
}

struct ClaimVisitor;

impl<'de> Visitor<'de> for ClaimVisitor {
    type Value = Claim<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Claim::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Claim::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Claim::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Claim::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // What `serde_json::Value` does: serde_json never produces a non-finite number.
        Ok(Number::from_f64(v).map_or(Claim::Null, Claim::Number))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Claim::String(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Claim::String(Cow::Owned(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Claim::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ObjectVisitor.visit_map(map).map(Claim::Object)
    }
}

/// The next member's name of an object being read, borrowed unless it had escapes. Read as a
/// claim: `Cow`'s own `Deserialize` would always copy it.
pub(crate) fn next_name<'de, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<Option<Cow<'de, str>>, A::Error> {
    match map.next_key::<Claim<'de>>()? {
        None => Ok(None),
        Some(Claim::String(name)) => Ok(Some(name)),
        Some(_) => Err(de::Error::custom("a member name that is not a string")),
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Claims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(name) = next_name(&mut map)? {
            let value = map.next_value::<Claim<'de>>()?;
            members.push((name, value));
        }
        Ok(Claims { members })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// Whether a claim reads as serde_json reads `value`. Objects are compared through `get`, name
    /// by name, so what is checked is the lookup, the last of a repeated name included.
    fn agrees(claim: &Claim<'_>, value: &Value) -> bool {
        match (claim, value) {
            (Claim::Null, Value::Null) => true,
            (Claim::Bool(a), Value::Bool(b)) => a == b,
            (Claim::Number(a), Value::Number(b)) => a == b,
            (Claim::String(a), Value::String(b)) => a == b,
            (Claim::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| agrees(x, y))
            }
            (Claim::Object(a), Value::Object(b)) => {
                let names: BTreeSet<&str> = a.members.iter().map(|(n, _)| n.as_ref()).collect();
                names.len() == b.len()
                    && b.iter()
                        .all(|(name, v)| a.get(name).is_some_and(|c| agrees(c, v)))
            }
            _ => false,
        }
    }

    /// What the map this reader replaced made of `json`.
    fn map(json: &[u8]) -> Result<serde_json::Map<String, Value>, serde_json::Error> {
        serde_json::from_slice(json)
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for json in [
            r#"{}"#,
            r#"{"sub":"u","n":-1,"u":18446744073709551615,"f":1.5e3,"b":true,"z":null,"m":-0}"#,
            r#"{"a":[1,"x",[],{},{"b":[null,false]}],"o":{"p":{"q":"r"}}}"#,
            r#"{"esc\u0061ped":"a\/b\n\u00e9\ud83d\ude00","e":""}"#,
            r#"{"dup":1,"other":2,"dup":"last"}"#,
            r#"{"a":{"b":1},"a":2}"#,
            r#"{"o":{"k":1,"\u006b":2},"o":{"k":3,"k":4}}"#,
            r#"  {"ws" : [ 1 , 2 ] }  "#,
        ] {
            let ours = Claims::parse(json.as_bytes()).unwrap();
            let theirs = map(json.as_bytes()).unwrap();
            assert!(
                agrees(&Claim::Object(ours), &Value::Object(theirs)),
                "{json}"
            );
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        for json in [
            &b"[]"[..],
            b"\"text\"",
            b"1",
            b"null",
            b"{",
            b"{\"a\":1,}",
            b"{\"a\":1} x",
            b"{\"a\":1}{}",
            b"{a:1}",
            b"{\"a\":\"\xff\"}",
            b"{\"\xc3\":1}",
            b"{\"a\":\"\\ud800\"}",
            b"{\"\\ud800\":1}",
            b"{\"a\":1e999}",
            b"{\"a\":NaN}",
            b"{\"a\":\"\\x\"}",
            deep.as_bytes(),
        ] {
            let shown = String::from_utf8_lossy(json);
            assert!(map(json).is_err(), "{shown}");
            assert!(Claims::parse(json).is_err(), "{shown}");
        }
    }

    #[test]
    fn borrows_strings_without_escapes_and_takes_the_last_of_a_repeated_name() {
        let claims = Claims::parse(br#"{"sub":"alice","sub":"bob","e":"a\/b"}"#).unwrap();
        assert!(matches!(
            claims.get("sub"),
            Some(Claim::String(Cow::Borrowed("bob")))
        ));
        assert_eq!(claims.get("e").and_then(Claim::as_str), Some("a/b"));
        assert_eq!(claims.get("missing"), None);
        let nested = Claims::parse(br#"{"o":{"k":[1]}}"#).unwrap();
        let inner = nested.get("o").and_then(Claim::as_object).unwrap();
        assert_eq!(
            inner.get("k"),
            Some(&Claim::Array(vec![Claim::Number(1.into())]))
        );
    }

    /// A JSON value as text, from pieces chosen to meet the parser's edges: repeated names, names
    /// spelled with escapes, lone surrogates, invalid escapes, numbers out of range.
    fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| format!("{f:e}")),
            Just("1e999".to_owned()),
            "[a-z \u{e9}\u{1f600}\\\\\"/]{0,6}".prop_map(|s| Value::String(s).to_string()),
            prop::sample::select(vec![
                r#""\u00e9""#,
                r#""\ud83d\ude00""#,
                r#""\ud800""#,
                r#""\x""#,
                r#""a\/b""#
            ])
            .prop_map(str::to_owned),
        ];
        leaf.prop_recursive(4, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                object(inner),
            ]
        })
    }

    fn object(values: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec![
            r#""a""#,
            r#""\u0061""#,
            r#""b""#,
            r#""sub""#,
            r#""\ud83d\ude00""#,
            r#""\ud800""#,
        ]);
        prop::collection::vec((name, values), 0..6).prop_map(|members| {
            let members: Vec<String> = members.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{{}}}", members.join(","))
        })
    }

    proptest! {
        #[test]
        fn accepts_refuses_and_looks_up_as_serde_json_does(
            text in object(json_value()),
            flip in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
        ) {
            let mut json = text.into_bytes();
            if let Some((at, byte)) = flip {
                let at = at.index(json.len());
                json[at] = byte;
            }
            let (ours, theirs) = (Claims::parse(&json), map(&json));
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{}", String::from_utf8_lossy(&json));
            if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
                prop_assert!(agrees(&Claim::Object(ours), &Value::Object(theirs)));
            }
        }
    }
}
