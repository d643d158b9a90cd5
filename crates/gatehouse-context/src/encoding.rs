//! The value encoding: UTF-8, then every byte outside a small bare set as `%XX`.
//!
//! The bare set (`A-Z a-z 0-9 - . _ ~ : / @ *`) excludes `%`, `,`, `=` and every byte that is
//! illegal, trimmed or otherwise dangerous in a header value, so any string fits in one header,
//! lists can be split on `,` and attribute pairs on `=` without ambiguity.

use crate::ContextError;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Whether an encoder leaves this byte as it is.
pub(crate) fn is_bare(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(byte, b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'@' | b'*')
}

/// Appends the encoding of `value` to `out`.
pub(crate) fn encode_into(value: &str, out: &mut Vec<u8>) {
    let mut rest = value.as_bytes();
    // Runs of bare bytes are copied whole: most values have no byte to escape at all.
    while let Some(at) = rest.iter().position(|&byte| !is_bare(byte)) {
        let (bare, escaped) = rest.split_at(at);
        out.extend_from_slice(bare);
        let Some((&byte, after)) = escaped.split_first() else {
            break;
        };
        out.extend_from_slice(&[
            b'%',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0x0f)],
        ]);
        rest = after;
    }
    out.extend_from_slice(rest);
}

/// Decodes one value. Escapes of either hex case are accepted, as is an escape of a bare byte
/// (other languages' encoders differ there, and comparisons happen on decoded values); anything
/// else outside the bare set, a cut escape or a result that is not UTF-8 is refused.
pub(crate) fn decode(encoded: &[u8], header: &'static str) -> Result<String, ContextError> {
    let invalid = |reason| ContextError::InvalidEncoding { header, reason };
    let mut out = Vec::with_capacity(encoded.len());
    let mut bytes = encoded.iter();
    while let Some(&byte) = bytes.next() {
        if byte == b'%' {
            let (Some(&hi), Some(&lo)) = (bytes.next(), bytes.next()) else {
                return Err(invalid("truncated percent escape"));
            };
            let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo)) else {
                return Err(invalid("percent escape is not two hex digits"));
            };
            out.push(hi << 4 | lo);
        } else if is_bare(byte) {
            out.push(byte);
        } else {
            return Err(invalid("character must be percent-encoded"));
        }
    }
    String::from_utf8(out).map_err(|_| invalid("decoded bytes are not UTF-8"))
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(value: &str) -> String {
        let mut out = Vec::new();
        encode_into(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bare_set_is_kept_and_the_rest_escaped() {
        assert_eq!(enc("alice@example.com"), "alice@example.com");
        assert_eq!(enc("https://id.example/x"), "https://id.example/x");
        assert_eq!(enc("orders:*"), "orders:*");
        assert_eq!(enc("a,b c=%"), "a%2Cb%20c%3D%25");
        assert_eq!(enc("é\r\n\0"), "%C3%A9%0D%0A%00");
    }

    #[test]
    fn decoding_accepts_either_case_and_escaped_bare_bytes() {
        assert_eq!(decode(b"%c3%A9%41", "h").unwrap(), "éA");
    }

    #[test]
    fn decoding_refuses_bad_input() {
        for bad in [
            &b"a b"[..],
            b"a,b",
            b"%",
            b"%4",
            b"%zz",
            b"%FF",
            b"\xc3\xa9",
            b"a+b",
        ] {
            let err = decode(bad, "h").unwrap_err();
            assert_eq!(err.code(), "invalid_encoding", "{bad:?}");
        }
    }
}
