//! The test vectors of `docs/context-contract.md`, checked in both directions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use gatehouse_context::{Identity, is_reserved_header_name, read_headers, write_headers};
use http::{HeaderMap, HeaderValue};

#[path = "vectors/format.rs"]
mod format;

use format::{header_map, load};

fn reserved_set(headers: &HeaderMap) -> BTreeSet<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| is_reserved_header_name(name.as_str()))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn vectors_are_for_this_contract_version() {
    assert_eq!(load().contract_version, gatehouse_context::CONTRACT_VERSION);
}

#[test]
fn roundtrip_vectors_encode_and_decode_exactly() {
    let vectors = load();
    assert!(!vectors.roundtrip.is_empty());
    for case in vectors.roundtrip {
        let identity = Identity::from(case.identity.unwrap());
        let expected = header_map(&case.headers);

        let mut written = HeaderMap::new();
        write_headers(&identity, &mut written).unwrap();
        assert_eq!(
            reserved_set(&written),
            reserved_set(&expected),
            "{}",
            case.name
        );

        let read = read_headers(&expected).unwrap();
        assert_eq!(read.as_ref(), Some(&identity), "{}", case.name);
    }
}

#[test]
fn decode_only_vectors_decode() {
    for case in load().decode_only {
        let identity = Identity::from(case.identity.unwrap());
        let read = read_headers(&header_map(&case.headers));
        assert_eq!(read, Ok(Some(identity)), "{}", case.name);
    }
}

#[test]
fn no_context_vectors_decode_to_none() {
    for case in load().no_context {
        assert_eq!(
            read_headers(&header_map(&case.headers)),
            Ok(None),
            "{}",
            case.name
        );
    }
}

#[test]
fn refused_vectors_fail_with_their_code() {
    for case in load().refused {
        let result = read_headers(&header_map(&case.headers));
        let error = result.expect_err(&case.name);
        assert_eq!(
            Some(error.code()),
            case.error.as_deref(),
            "{}: {error}",
            case.name
        );
    }
}

#[test]
fn unencodable_vectors_fail_and_leave_no_context() {
    for case in load().unencodable {
        let identity = Identity::from(case.identity.unwrap());
        let mut headers = HeaderMap::new();
        headers.insert("x-user-id", HeaderValue::from_static("mallory"));
        let error = write_headers(&identity, &mut headers).expect_err(&case.name);
        assert_eq!(
            Some(error.code()),
            case.error.as_deref(),
            "{}: {error}",
            case.name
        );
        assert!(
            headers.is_empty(),
            "{}: the namespace stays cleared",
            case.name
        );
    }
}
