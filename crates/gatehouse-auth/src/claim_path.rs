//! Paths into a token's claims, for nested objects and claim names that contain dots.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::payload::{Claim, Claims};

/// Most segments a path may have; real providers nest two or three levels deep.
const MAX_SEGMENTS: usize = 16;

/// A path to a claim inside the token's JSON payload.
///
/// Written in configuration either as a string or as a list of literal segments:
///
/// - `sub`: the top-level claim `sub`;
/// - `realm_access.roles`: the member `roles` of the object claim `realm_access`;
/// - `["https://example.com/roles"]`: one segment taken literally, dots and all (the text between
///   `["` and `"]` may contain anything except `"]`);
/// - `resource_access["my.app"].roles`: both forms mixed;
/// - the YAML list `[resource_access, my.app, roles]`: every item is one literal segment, which
///   needs no quoting at all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath {
    segments: Vec<String>,
}

impl ClaimPath {
    /// Parses the string form described on the type.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        let mut rest = text;
        let mut expect_segment = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"") {
                let end = after.find("\"]").ok_or_else(|| {
                    format!("claim path \"{text}\": `[\"` is not closed by `\"]`")
                })?;
                segments.push(after[..end].to_owned());
                rest = &after[end + 2..];
            } else if expect_segment {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                if end == 0 {
                    return Err(format!("claim path \"{text}\" has an empty segment"));
                }
                segments.push(rest[..end].to_owned());
                rest = &rest[end..];
            } else {
                return Err(format!(
                    "claim path \"{text}\": expected `.` or `[\"` after a segment"
                ));
            }
            // After a segment: the end, a `.` and another segment, or a bracket directly.
            if let Some(after) = rest.strip_prefix('.') {
                if after.is_empty() {
                    return Err(format!("claim path \"{text}\" ends with `.`"));
                }
                rest = after;
                expect_segment = true;
            } else {
                expect_segment = false;
            }
        }
        Self::from_segments(segments).map_err(|e| format!("claim path \"{text}\": {e}"))
    }

    /// Builds a path from literal segments.
    pub fn from_segments(segments: Vec<String>) -> Result<Self, String> {
        if segments.is_empty() {
            return Err("a claim path needs at least one segment".to_owned());
        }
        if segments.len() > MAX_SEGMENTS {
            return Err(format!("a claim path has at most {MAX_SEGMENTS} segments"));
        }
        if segments.iter().any(String::is_empty) {
            return Err("a claim path segment cannot be empty".to_owned());
        }
        Ok(Self { segments })
    }

    /// A path of one top-level claim; used by presets, whose names are known to be valid.
    pub(crate) fn claim(name: &str) -> Self {
        Self {
            segments: vec![name.to_owned()],
        }
    }

    /// A nested path; used by presets.
    pub(crate) fn nested(names: &[&str]) -> Self {
        Self {
            segments: names.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// The literal segments.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The value at this path in `claims`, if every segment names a member of an object.
    pub fn lookup<'c, 'a>(&self, claims: &'c Claims<'a>) -> Option<&'c Claim<'a>> {
        let (first, rest) = self.segments.split_first()?;
        rest.iter().try_fold(claims.get(first)?, |value, segment| {
            value.as_object()?.get(segment)
        })
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            let plain = !segment.contains(['.', '[', ']', '"']);
            match (plain, i) {
                (true, 0) => f.write_str(segment)?,
                (true, _) => write!(f, ".{segment}")?,
                (false, _) => write!(f, "[\"{segment}\"]")?,
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for ClaimPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Segments(Vec<String>),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(text) => Self::parse(&text),
            Raw::Segments(segments) => Self::from_segments(segments),
        }
        .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn segs(text: &str) -> Vec<String> {
        match ClaimPath::parse(text) {
            Ok(path) => path.segments,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn parses_plain_nested_and_quoted_segments() {
        assert_eq!(segs("sub"), ["sub"]);
        assert_eq!(segs("realm_access.roles"), ["realm_access", "roles"]);
        assert_eq!(
            segs("[\"https://example.com/roles\"]"),
            ["https://example.com/roles"]
        );
        assert_eq!(
            segs("resource_access[\"my.app\"].roles"),
            ["resource_access", "my.app", "roles"]
        );
        assert_eq!(segs("a.[\"b.c\"]"), ["a", "b.c"]);
    }

    #[test]
    fn refuses_malformed_paths() {
        for bad in [
            "", ".", "a.", ".a", "a..b", "[\"open", "[\"\"]", "[\"a\"]b", "a[b]",
        ] {
            assert!(ClaimPath::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn displays_back_to_the_parsed_form() {
        for text in ["sub", "realm_access.roles", "[\"https://x.io/r\"].a"] {
            assert_eq!(
                ClaimPath::parse(text).map(|p| p.to_string()),
                Ok(text.to_owned())
            );
        }
    }

    #[test]
    fn looks_up_nested_values_and_literal_dotted_names() {
        let text = json!({
            "realm_access": { "roles": ["a", "b"] },
            "https://example.com/roles": ["x"],
            "realm_access.roles": "decoy",
        })
        .to_string();
        let claims = Claims::parse(text.as_bytes()).unwrap();
        let strings = |items: &[&'static str]| {
            Claim::Array(items.iter().map(|s| Claim::String((*s).into())).collect())
        };
        let nested = ClaimPath::parse("realm_access.roles").ok();
        let literal = ClaimPath::parse("[\"https://example.com/roles\"]").ok();
        assert_eq!(
            nested.and_then(|p| p.lookup(&claims).cloned()),
            Some(strings(&["a", "b"]))
        );
        assert_eq!(
            literal.and_then(|p| p.lookup(&claims).cloned()),
            Some(strings(&["x"]))
        );
        let missing = ClaimPath::parse("realm_access.roles.deeper").ok();
        assert_eq!(missing.and_then(|p| p.lookup(&claims).cloned()), None);
    }

    #[test]
    fn deserialises_from_string_or_segment_list() {
        let from_list: ClaimPath = serde_json::from_value(json!(["a.b", "c"])).unwrap();
        assert_eq!(from_list.segments(), ["a.b", "c"]);
        let from_text: ClaimPath = serde_json::from_value(json!("a.b")).unwrap();
        assert_eq!(from_text.segments(), ["a", "b"]);
    }
}
