//! Extracting exactly one bearer token from the `Authorization` header (RFC 6750 §2.1).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::rejection::Rejection;

/// Default bound on a token's length; real access tokens are 1–2 KiB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The bearer token of the request, `None` when there is no `Authorization` header.
///
/// The scheme is matched case-insensitively; anything but a single `Bearer <token>` value is
/// refused rather than guessed at, so that a proxy in front cannot smuggle a second token.
///
/// The token comes back as bytes, all visible ASCII: a token the cache knows is only hashed, and
/// needs no second pass to become a `str`.
pub(crate) fn bearer_token(
    headers: &HeaderMap,
    max_len: usize,
) -> Result<Option<&[u8]>, Rejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Rejection::MalformedRequest(
            "more than one Authorization header",
        ));
    }
    // Bytes throughout: the token is scanned once, not once per check.
    let bytes = value.as_bytes();
    let space = bytes
        .iter()
        .position(|b| *b == b' ')
        .ok_or(Rejection::MalformedRequest(
            "Authorization header has no credentials",
        ))?;
    if !bytes[..space].eq_ignore_ascii_case(b"bearer") {
        return Err(Rejection::MalformedRequest(
            "Authorization scheme is not Bearer",
        ));
    }
    let rest = &bytes[space + 1..];
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = rest.iter().position(|b| !blank(b)).unwrap_or(rest.len());
    let end = rest
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |at| at + 1);
    let token = &rest[start..end];
    if token.is_empty() {
        return Err(Rejection::MalformedRequest("empty bearer token"));
    }
    // Folded without short-circuit, so the compiler can check many bytes per instruction.
    let visible = token.iter().fold(true, |ok, b| {
        ok & (b.wrapping_sub(0x21) < 0x5e) & (*b != b',')
    });
    if !visible {
        return Err(Rejection::MalformedRequest(
            if token.iter().any(|b| blank(b) || *b == b',') {
                "more than one bearer token"
            } else {
                "Authorization header is not visible ASCII"
            },
        ));
    }
    if token.len() > max_len {
        return Err(Rejection::TooLarge { limit: max_len });
    }
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn absent_header_is_none() {
        assert_eq!(bearer_token(&HeaderMap::new(), 100), Ok(None));
    }

    #[test]
    fn scheme_is_case_insensitive_and_spaces_are_tolerated() {
        for v in [
            "Bearer a.b.c",
            "bearer a.b.c",
            "BEARER  a.b.c ",
            "bEaReR a.b.c",
        ] {
            assert_eq!(
                bearer_token(&headers(&[v]), 100),
                Ok(Some(&b"a.b.c"[..])),
                "{v}"
            );
        }
    }

    #[test]
    fn refuses_everything_else() {
        for v in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearer a.b.c d.e.f",
            "Bearer a,b",
            "Bearera.b.c",
        ] {
            let map = headers(&[v]);
            let got = bearer_token(&map, 100);
            assert!(
                matches!(got, Err(Rejection::MalformedRequest(_))),
                "{v}: {got:?}"
            );
        }
        let map = headers(&["Bearer a.b.c", "Bearer d.e.f"]);
        let two = bearer_token(&map, 100);
        assert!(matches!(two, Err(Rejection::MalformedRequest(_))));
        let long = format!("Bearer {}", "a".repeat(101));
        assert_eq!(
            bearer_token(&headers(&[&long]), 100),
            Err(Rejection::TooLarge { limit: 100 })
        );
    }
}
