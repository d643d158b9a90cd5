//! Property tests: encoding round-trips any identity, and never emits a dangerous byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gatehouse_context::{
    EncodedContext, Identity, is_reserved_header_name, names, permission_matches, read_headers,
    write_headers,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

/// Any non-empty string: every Unicode scalar, control characters and separators included.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("(?s).{1,24}").unwrap()
}

fn identity() -> impl Strategy<Value = Identity> {
    (
        text(),
        proptest::option::of(text()),
        vec(text(), 0..8),
        vec(text(), 0..8),
        text(),
        btree_map(
            text(),
            proptest::string::string_regex("(?s).{0,24}").unwrap(),
            0..6,
        ),
    )
        .prop_map(
            |(subject, email, roles, permissions, issuer, attributes)| Identity {
                subject,
                email,
                roles,
                permissions,
                issuer,
                attributes,
            },
        )
}

/// Header names that a client might use to spoof context, in every spelling.
fn spoofed_name() -> impl Strategy<Value = String> {
    ("[xX][-_][uU][sS][eE][rR][-_]", "[a-zA-Z_-]{0,12}").prop_map(|(prefix, rest)| prefix + &rest)
}

/// The bytes an encoded value may contain: the bare set plus `%`, `,` and `=`.
fn allowed(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~:/@*%,=".contains(&byte)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_the_identity(id in identity()) {
        let mut headers = HeaderMap::new();
        write_headers(&id, &mut headers).unwrap();
        prop_assert_eq!(read_headers(&headers), Ok(Some(id)));
    }

    #[test]
    fn encoded_values_hold_only_safe_bytes(id in identity()) {
        let mut headers = HeaderMap::new();
        write_headers(&id, &mut headers).unwrap();
        for (name, value) in &headers {
            prop_assert!(names::ALL.contains(&name.as_str()));
            prop_assert!(value.as_bytes().iter().all(|&b| allowed(b)), "{name}: {value:?}");
            prop_assert!(value.to_str().is_ok());
        }
    }

    #[test]
    fn header_lines_are_exactly_the_written_headers(id in identity()) {
        let encoded = EncodedContext::new(&id).unwrap();
        let text = std::str::from_utf8(encoded.lines()).unwrap();
        let body = text.strip_suffix("\r\n").unwrap();
        let mut from_lines = HeaderMap::new();
        for line in body.split("\r\n") {
            let (name, value) = line.split_once(": ").unwrap();
            prop_assert!(!value.contains(['\r', '\n']));
            from_lines.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let mut written = HeaderMap::new();
        encoded.write(&mut written);
        prop_assert_eq!(&from_lines, &written);
        prop_assert_eq!(read_headers(&from_lines), Ok(Some(id)));
    }

    #[test]
    fn spoofed_context_never_survives_a_write(
        id in identity(),
        spoofed in vec((spoofed_name(), "[ -~]{0,16}"), 1..6),
    ) {
        let mut headers = HeaderMap::new();
        headers.insert("accept", HeaderValue::from_static("*/*"));
        for (name, value) in &spoofed {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            prop_assert!(is_reserved_header_name(name.as_str()));
            headers.append(name, HeaderValue::from_str(value).unwrap());
        }
        write_headers(&id, &mut headers).unwrap();
        prop_assert!(headers.contains_key("accept"));
        for name in headers.keys().filter(|n| is_reserved_header_name(n.as_str())) {
            prop_assert!(names::ALL.contains(&name.as_str()), "{name} survived");
        }
        prop_assert_eq!(read_headers(&headers), Ok(Some(id)));
    }

    #[test]
    fn decoding_arbitrary_values_is_total_and_consistent(
        values in vec((0..names::ALL.len(), vec(0x20u8..=0xff, 0..64)), 0..10),
    ) {
        let mut headers = HeaderMap::new();
        for (which, bytes) in &values {
            if let Ok(value) = HeaderValue::from_bytes(bytes) {
                headers.append(names::ALL[*which], value);
            }
        }
        // Whatever it answers, an accepted context must survive re-encoding unchanged.
        if let Ok(Some(id)) = read_headers(&headers) {
            let mut again = HeaderMap::new();
            write_headers(&id, &mut again).unwrap();
            prop_assert_eq!(read_headers(&again), Ok(Some(id)));
        }
    }

    #[test]
    fn wildcard_grants_exactly_its_subtree(prefix in "[a-z]{1,8}(:[a-z]{1,8}){0,2}", rest in "[a-z:]{0,8}") {
        let wildcard = format!("{prefix}:*");
        let below = format!("{prefix}:{rest}");
        prop_assert_eq!(permission_matches(&wildcard, &below), !rest.is_empty());
        prop_assert!(!permission_matches(&wildcard, &prefix));
        prop_assert!(permission_matches(&below, &below));
    }
}
