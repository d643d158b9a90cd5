//! Path normalisation: the path is normalised once, before routing, and the normalised form is
//! what gets forwarded. Anything with more than one reasonable reading is refused, because a
//! gateway and an upstream that read a path differently let a request match one route and reach
//! another resource.

use std::borrow::Cow;

/// Longest request path accepted after decoding.
pub const MAX_PATH_BYTES: usize = 8 << 10;

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Not origin-form (`/…`): `*`, authority-form or empty.
    #[error("the request target must be an absolute path")]
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    #[error("the path has an invalid percent-encoding")]
    BadEncoding,
    /// An encoded `/`, `\` or NUL: different servers disagree on what they mean.
    #[error("the path encodes a slash, backslash or NUL")]
    EncodedSeparator,
    /// A raw backslash or control character.
    #[error("the path contains a backslash or control character")]
    ForbiddenByte,
    /// A `.`/`..` segment with a `;` parameter: some servers strip the parameter and then
    /// resolve the segment (`/public/..;/admin`).
    #[error("the path has a dot segment with parameters")]
    DotSegmentParameter,
    /// Longer than [`MAX_PATH_BYTES`].
    #[error("the path is too long")]
    TooLong,
}

/// Normalises a raw request path (without the query): decodes percent-encoded unreserved
/// characters, upper-cases the remaining escapes, merges repeated slashes and resolves `.` and
/// `..` segments (never above the root). A trailing slash is kept.
/// Borrowed when the path is already in normal form, which is nearly always.
pub fn normalize_path(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    if is_already_normal(raw.as_bytes()) {
        return Ok(Cow::Borrowed(raw));
    }
    let decoded = decode_unreserved(raw.as_bytes())?;

    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    // The first split item is the empty string before the leading '/'.
    for segment in decoded.split('/').skip(1) {
        trailing_slash = false;
        match segment {
            "" => trailing_slash = true,
            "." => trailing_slash = true,
            ".." => {
                segments.pop();
                trailing_slash = true;
            }
            s => {
                let before_params = s.split(';').next().unwrap_or(s);
                if s.contains(';') && (before_params == "." || before_params == "..") {
                    return Err(PathError::DotSegmentParameter);
                }
                segments.push(s);
            }
        }
    }
    let mut out = String::with_capacity(decoded.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    Ok(Cow::Owned(out))
}

fn decode_unreserved(raw: &[u8]) -> Result<String, PathError> {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        match b {
            b'%' => {
                let (hi, lo) = match (raw.get(i + 1), raw.get(i + 2)) {
                    (Some(h), Some(l)) => (hex(*h), hex(*l)),
                    _ => (None, None),
                };
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(PathError::BadEncoding);
                };
                let value = hi << 4 | lo;
                match value {
                    b'/' | b'\\' | 0 => return Err(PathError::EncodedSeparator),
                    v if v.is_ascii_alphanumeric() || matches!(v, b'-' | b'.' | b'_' | b'~') => {
                        out.push(char::from(v));
                    }
                    v => {
                        out.push('%');
                        out.push(char::from(HEX_UPPER[usize::from(v >> 4)]));
                        out.push(char::from(HEX_UPPER[usize::from(v & 0xF)]));
                    }
                }
                i += 3;
            }
            b'\\' => return Err(PathError::ForbiddenByte),
            b if !(0x21..0x7F).contains(&b) => return Err(PathError::ForbiddenByte),
            b => {
                out.push(char::from(b));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The common case, checked in one pass: only plain bytes, no escapes, and no empty, `.` or
/// `..` segment. Such a path is its own normal form.
fn is_already_normal(raw: &[u8]) -> bool {
    let mut segment_start = 0;
    for (i, &b) in raw.iter().enumerate() {
        match b {
            b'%' | b'\\' | b';' => return false,
            b if !(0x21..0x7F).contains(&b) => return false,
            b'/' if i > 0 => {
                let segment = &raw[segment_start..i];
                if segment.is_empty() || segment == b"." || segment == b".." {
                    return false;
                }
                segment_start = i + 1;
            }
            b'/' => segment_start = 1,
            _ => {}
        }
    }
    let last = &raw[segment_start..];
    last != b"." && last != b".."
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Result<&str, PathError>)] = &[
            ("/", Ok("/")),
            ("/a/b", Ok("/a/b")),
            ("/a/b/", Ok("/a/b/")),
            ("//a///b", Ok("/a/b")),
            ("/a/./b", Ok("/a/b")),
            ("/a/../b", Ok("/b")),
            ("/../../etc/passwd", Ok("/etc/passwd")),
            ("/a/b/..", Ok("/a/")),
            ("/a/b/.", Ok("/a/b/")),
            ("/%61%70%69/x", Ok("/api/x")),
            ("/api/%2e%2e/admin", Ok("/admin")),
            ("/api/%2E%2E/admin", Ok("/admin")),
            ("/api/.%2e/admin", Ok("/admin")),
            ("/a%20b", Ok("/a%20b")),
            ("/a%c3%a9", Ok("/a%C3%A9")),
            ("/100%25", Ok("/100%25")),
            ("/a;b/c", Ok("/a;b/c")),
            ("/api%2Fadmin", Err(PathError::EncodedSeparator)),
            ("/api%2fadmin", Err(PathError::EncodedSeparator)),
            ("/api%5Cadmin", Err(PathError::EncodedSeparator)),
            ("/api%00", Err(PathError::EncodedSeparator)),
            ("/api\\admin", Err(PathError::ForbiddenByte)),
            ("/a%zz", Err(PathError::BadEncoding)),
            ("/a%4", Err(PathError::BadEncoding)),
            ("/public/..;/admin", Err(PathError::DotSegmentParameter)),
            ("/public/.;x/admin", Err(PathError::DotSegmentParameter)),
            ("*", Err(PathError::NotAbsolute)),
            ("", Err(PathError::NotAbsolute)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                normalize_path(input).as_deref().map_err(|e| *e),
                *expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn idempotent() {
        for p in ["/a/../b//c/./d/", "/%41%2e/x", "/a%20b/%7e"] {
            let once = normalize_path(p).unwrap();
            assert_eq!(normalize_path(&once).unwrap(), once);
        }
    }

    #[test]
    fn fast_path_agrees_with_full_normalisation() {
        for p in [
            "/",
            "/a",
            "/a/",
            "/a/b/c",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/a/.",
            "/a/..",
            "/.",
            "/..",
            "/a.b/c..d/.e",
            "/a;b",
            "/a%41",
            "/a\\b",
            "/ab/",
        ] {
            if is_already_normal(p.as_bytes()) {
                assert_eq!(decode_unreserved(p.as_bytes()).as_deref(), Ok(p), "{p}");
                let segments: Vec<&str> = p.split('/').skip(1).collect();
                let last = segments.len() - 1;
                for (i, s) in segments.iter().enumerate() {
                    assert!(*s != "." && *s != "..", "{p}");
                    assert!(!s.is_empty() || i == last, "{p}");
                }
            }
        }
        assert!(is_already_normal(b"/a/b/"));
        assert!(!is_already_normal(b"/a//b"));
        assert!(!is_already_normal(b"/a/../b"));
    }

    #[test]
    fn too_long() {
        let long = format!("/{}", "a".repeat(MAX_PATH_BYTES));
        assert_eq!(normalize_path(&long), Err(PathError::TooLong));
    }
}
