//! The format of `vectors.json`, shared by this crate's tests and the SDK's (which check the
//! same vectors through gRPC metadata); each uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use gatehouse_context::Identity;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Vectors {
    pub contract_version: String,
    pub roundtrip: Vec<Case>,
    pub decode_only: Vec<Case>,
    pub no_context: Vec<Case>,
    pub refused: Vec<Case>,
    pub unencodable: Vec<Case>,
}

#[derive(Deserialize)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub identity: Option<JsonIdentity>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct JsonIdentity {
    pub subject: String,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub permissions: Vec<String>,
    pub issuer: String,
    pub attributes: BTreeMap<String, String>,
}

impl From<JsonIdentity> for Identity {
    fn from(j: JsonIdentity) -> Self {
        Identity {
            subject: j.subject,
            email: j.email,
            roles: j.roles,
            permissions: j.permissions,
            issuer: j.issuer,
            attributes: j.attributes,
        }
    }
}

pub fn load() -> Vectors {
    let text = include_str!("../vectors.json");
    serde_json::from_str(text).expect("vectors.json parses")
}

/// Header values in the file are strings whose code points are bytes (see its `about`).
pub fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let bytes: Vec<u8> = value
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("one byte per code point"))
            .collect();
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(&bytes).unwrap(),
        );
    }
    map
}
