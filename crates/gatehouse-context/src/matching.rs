//! How a held permission is compared with a required one. Roles are always compared exactly.

/// Whether the held permission `held` grants `required`.
///
/// Exact, case-sensitive byte equality, with one wildcard form: a held permission whose last
/// `:`-separated segment is exactly `*` (such as `orders:*`) grants every permission that starts
/// with the part before the `*` and has at least one more byte (`orders:create`,
/// `orders:lines:update`, but not `orders` nor `orders:`). A `*` anywhere else, a bare `*`, and
/// any `*` in the required permission are plain characters: there is no "grant everything".
pub fn permission_matches(held: &str, required: &str) -> bool {
    if held == required {
        return true;
    }
    match held.strip_suffix('*') {
        Some(prefix) if prefix.ends_with(':') => {
            required.len() > prefix.len() && required.starts_with(prefix)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::permission_matches as m;

    #[test]
    fn exact_match_is_case_sensitive() {
        assert!(m("orders:create", "orders:create"));
        assert!(!m("orders:create", "Orders:create"));
        assert!(!m("orders:create", "orders:create "));
        assert!(!m("orders:create", "orders"));
    }

    #[test]
    fn trailing_segment_wildcard_grants_below_it() {
        assert!(m("orders:*", "orders:create"));
        assert!(m("orders:*", "orders:lines:update"));
        assert!(m("orders:*", "orders:*"));
        assert!(m("a:b:*", "a:b:c"));
        assert!(!m("orders:*", "orders:"));
        assert!(!m("orders:*", "orders"));
        assert!(!m("orders:*", "ordersx:create"));
        assert!(!m("a:b:*", "a:c:d"));
    }

    #[test]
    fn other_stars_are_literal() {
        assert!(!m("*", "orders:create"));
        assert!(m("*", "*"));
        assert!(!m("orders*", "orders:create"));
        assert!(!m("orders:*:read", "orders:1:read"));
        assert!(!m("orders:create", "orders:*"));
        assert!(!m(":*", "orders:create"));
        assert!(m(":*", ":x"));
    }
}
