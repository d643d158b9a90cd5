//! `x-request-id`: a client's id is kept when it is well-formed, so traces join up across
//! systems; anything else is replaced, so the header can never carry an injection into logs.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

/// Header name of the request id (a constant, so no lookup parses it again).
pub const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

const MAX_LEN: usize = 128;

/// A request id, held as a header value so it is copied into requests and responses by
/// reference count, never re-validated.
#[derive(Debug, Clone)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text (always ASCII: it is either well-formed or generated).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("-")
    }

    /// The id as a header value.
    pub fn header(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The request's id: the client's if exactly one well-formed value was sent, a new one otherwise.
pub fn request_id(headers: &HeaderMap) -> RequestId {
    let mut values = headers.get_all(&REQUEST_ID).iter();
    match (values.next(), values.next()) {
        (Some(v), None) if well_formed(v.as_bytes()) => RequestId(v.clone()),
        _ => RequestId(generated_header()),
    }
}

fn generated_header() -> HeaderValue {
    // Owned by the value itself: one allocation, and the copies into the request and the
    // response only count references (a `Vec` would allocate again at its first copy).
    HeaderValue::from_maybe_shared(Bytes::from_owner(generate()))
        .unwrap_or_else(|_| HeaderValue::from_static("-"))
}

fn well_formed(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'+' | b'=' | b'/')
        })
}

/// A random 128-bit id in UUID v4 form, as its 36 ASCII characters.
pub fn generate() -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let mut digits = [0u8; 32];
    for (pair, b) in digits.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0F)]]);
    }
    // 8-4-4-4-12, the dashes already in place.
    let mut out = [b'-'; 36];
    out[..8].copy_from_slice(&digits[..8]);
    out[9..13].copy_from_slice(&digits[8..12]);
    out[14..18].copy_from_slice(&digits[12..16]);
    out[19..23].copy_from_slice(&digits[16..20]);
    out[24..].copy_from_slice(&digits[20..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_well_formed_and_replaces_others() {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h).as_str(), "abc-123");

        h.insert(REQUEST_ID, HeaderValue::from_static("bad id\"with quotes"));
        assert_ne!(request_id(&h).as_str(), "bad id\"with quotes");
        assert_eq!(request_id(&h).as_str().len(), 36);

        h.insert(REQUEST_ID, HeaderValue::from_static("a"));
        h.append(REQUEST_ID, HeaderValue::from_static("b"));
        assert_eq!(request_id(&h).as_str().len(), 36);

        let long = "x".repeat(MAX_LEN + 1);
        h.insert(REQUEST_ID, HeaderValue::from_str(&long).unwrap());
        assert_ne!(request_id(&h).as_str(), long);
    }

    #[test]
    fn generated_ids_are_uuid_v4_shaped() {
        let id = generate();
        let id = std::str::from_utf8(&id).unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!(&id[8..9], "-");
        assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_ne!(&generate()[..], id.as_bytes());
    }
}
