//! Message framing checks: a request whose length could be read two ways is refused, never
//! forwarded, because a gateway and an upstream that disagree on where a request ends can be made
//! to smuggle a second request past the gateway.

use http::{HeaderMap, Version, header};

/// Why a request's framing is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// Both `Content-Length` and `Transfer-Encoding`.
    #[error("both Content-Length and Transfer-Encoding")]
    LengthAndEncoding,
    /// More than one `Content-Length` value, equal or not.
    #[error("more than one Content-Length")]
    RepeatedLength,
    /// A `Transfer-Encoding` other than a single `chunked`.
    #[error("unsupported Transfer-Encoding")]
    UnsupportedEncoding,
    /// More than one `Host`, or a `Host` that disagrees with the request target's authority.
    #[error("ambiguous Host")]
    AmbiguousHost,
}

/// Checks the framing headers of a request as hyper parsed them.
pub fn check(
    headers: &HeaderMap,
    version: Version,
    uri_authority: Option<&str>,
) -> Result<(), FramingError> {
    let mut lengths = headers.get_all(header::CONTENT_LENGTH).iter();
    let length = lengths.next();
    let repeated_length = lengths.next().is_some();
    let encodings: Vec<_> = headers.get_all(header::TRANSFER_ENCODING).iter().collect();
    if length.is_some() && !encodings.is_empty() {
        return Err(FramingError::LengthAndEncoding);
    }
    if repeated_length {
        return Err(FramingError::RepeatedLength);
    }
    if let Some(length) = length
        && (length.is_empty() || !length.as_bytes().iter().all(u8::is_ascii_digit))
    {
        return Err(FramingError::RepeatedLength);
    }
    if !encodings.is_empty() {
        let only_chunked = version == Version::HTTP_11
            && encodings.len() == 1
            && encodings[0]
                .to_str()
                .is_ok_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
        if !only_chunked {
            return Err(FramingError::UnsupportedEncoding);
        }
    }
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(FramingError::AmbiguousHost);
    }
    if let (Some(host), Some(authority)) = (host, uri_authority)
        && !host.as_bytes().eq_ignore_ascii_case(authority.as_bytes())
    {
        return Err(FramingError::AmbiguousHost);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cases() {
        let v11 = Version::HTTP_11;
        assert_eq!(
            check(&headers(&[("content-length", "5")]), v11, None),
            Ok(())
        );
        assert_eq!(
            check(&headers(&[("transfer-encoding", "chunked")]), v11, None),
            Ok(())
        );
        assert_eq!(
            check(
                &headers(&[("content-length", "5"), ("transfer-encoding", "chunked")]),
                v11,
                None
            ),
            Err(FramingError::LengthAndEncoding)
        );
        assert_eq!(
            check(
                &headers(&[("content-length", "5"), ("content-length", "5")]),
                v11,
                None
            ),
            Err(FramingError::RepeatedLength)
        );
        assert_eq!(
            check(
                &headers(&[("transfer-encoding", "gzip, chunked")]),
                v11,
                None
            ),
            Err(FramingError::UnsupportedEncoding)
        );
        assert_eq!(
            check(
                &headers(&[
                    ("transfer-encoding", "chunked"),
                    ("transfer-encoding", "chunked")
                ]),
                v11,
                None
            ),
            Err(FramingError::UnsupportedEncoding)
        );
        assert_eq!(
            check(&headers(&[("host", "a"), ("host", "b")]), v11, None),
            Err(FramingError::AmbiguousHost)
        );
        assert_eq!(
            check(&headers(&[("host", "a.example")]), v11, Some("b.example")),
            Err(FramingError::AmbiguousHost)
        );
        assert_eq!(
            check(&headers(&[("host", "A.example")]), v11, Some("a.example")),
            Ok(())
        );
    }
}
