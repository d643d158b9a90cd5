//! The reserved header namespace: the gateway owns it, clients never get to write into it.

use http::HeaderMap;

/// Every header whose name starts with this (after normalisation) belongs to the contract.
pub const RESERVED_PREFIX: &str = "x-user-";

/// Whether a header name is in the reserved namespace, compared case-insensitively and with `_`
/// taken as `-`, because some servers and CGI-style bridges fold the two together.
pub fn is_reserved_header_name(name: &str) -> bool {
    let prefix = RESERVED_PREFIX.as_bytes();
    let name = name.as_bytes();
    name.len() >= prefix.len() && name.iter().zip(prefix).all(|(&n, &p)| normalise(n) == p)
}

fn normalise(byte: u8) -> u8 {
    if byte == b'_' {
        b'-'
    } else {
        byte.to_ascii_lowercase()
    }
}

/// Removes every reserved header, with all its values.
pub fn strip_reserved(headers: &mut HeaderMap) {
    let reserved: Vec<_> = headers
        .keys()
        .filter(|name| is_reserved_header_name(name.as_str()))
        .cloned()
        .collect();
    for name in reserved {
        headers.remove(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_normalised() {
        for name in [
            "x-user-id",
            "X-User-Id",
            "x_user_id",
            "X_USER-ROLES",
            "x-user-",
        ] {
            assert!(is_reserved_header_name(name), "{name}");
        }
        for name in [
            "x-user",
            "x-users-id",
            "user-id",
            "x-userid",
            "",
            "authorization",
        ] {
            assert!(!is_reserved_header_name(name), "{name}");
        }
    }

    #[test]
    fn strip_removes_every_value_and_spelling() {
        let mut headers = HeaderMap::new();
        headers.append("x-user-id", "a".parse().unwrap());
        headers.append("x-user-id", "b".parse().unwrap());
        headers.append("x_user_roles", "admin".parse().unwrap());
        headers.append("x-user-anything", "x".parse().unwrap());
        headers.append("accept", "*/*".parse().unwrap());
        strip_reserved(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("accept"));
    }
}
