//! The HTTP/1.1 response wire format as the gateway reads it from upstreams: head parsing, body
//! framing (RFC 9112 §6.3, strictly) and chunked decoding. Pure functions over bytes, so that
//! they can be tested and fuzzed without a socket; `http1` does the I/O around them.

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};

use super::http1::Http1Error;

/// Largest response head (status line and headers) accepted from an upstream.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields in a response head or trailer section.
pub const MAX_HEADERS: usize = 128;
/// Largest chunk-size line (with extensions) or trailer section.
pub const MAX_CHUNK_META: usize = 16 * 1024;
/// Response fields whose positions are noted on the stack while the head is split off.
const STACK_SPANS: usize = 32;

/// A parsed response head.
#[derive(Debug)]
pub struct Head {
    /// The status code.
    pub status: StatusCode,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The header fields, their values sharing the head's bytes.
    pub headers: HeaderMap,
}

/// Parses a complete head at the front of `buf` and removes it; `None` when more bytes are
/// needed.
pub fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, Http1Error> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Http1Error::Protocol("too many response headers"));
        }
        Err(_) => return Err(Http1Error::Protocol("malformed response head")),
    };
    let status = response
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(Http1Error::Protocol("invalid status code"))?;
    let version = match response.version {
        Some(1) => Version::HTTP_11,
        Some(0) => Version::HTTP_10,
        _ => return Err(Http1Error::Protocol("unsupported HTTP version")),
    };
    // Where each field sits in the head, so that values can share its bytes once it is frozen.
    let base = buf.as_ptr() as usize;
    // On the stack for the usual handful of fields; a long head pays one allocation.
    let count = response.headers.len();
    let mut stack = [(0usize, 0usize, 0usize, 0usize); STACK_SPANS];
    let mut heap = Vec::new();
    let spans = if count <= STACK_SPANS {
        &mut stack[..count]
    } else {
        heap.resize(count, (0, 0, 0, 0));
        &mut heap[..]
    };
    for (span, field) in spans.iter_mut().zip(response.headers.iter()) {
        *span = (
            field.name.as_ptr() as usize - base,
            field.name.len(),
            field.value.as_ptr() as usize - base,
            field.value.len(),
        );
    }
    let head = buf.split_to(len).freeze();
    // One more field than the upstream sent: the gateway adds the request id.
    let mut headers = crate::headers::reuse::map(count + 1);
    for &(name_at, name_len, value_at, value_len) in spans.iter() {
        let name = crate::headers::reuse::name(&head[name_at..name_at + name_len])
            .map_err(|_| Http1Error::Protocol("invalid header name"))?;
        let value = HeaderValue::from_maybe_shared(head.slice(value_at..value_at + value_len))
            .map_err(|_| Http1Error::Protocol("invalid header value"))?;
        headers.append(name, value);
    }
    Ok(Some(Head {
        status,
        version,
        headers,
    }))
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 204, 304).
    Empty,
    /// `Content-Length`: this many bytes remain.
    Length(u64),
    /// `Transfer-Encoding: chunked`, and where its decoder is.
    Chunked(Chunk),
    /// Until the upstream closes the connection.
    UntilClose,
}

/// RFC 9112 §6.3, strictly: both length headers, lengths that disagree, or `chunked` anywhere but
/// last are refused rather than read one of two ways.
pub fn response_framing(head: &Head, expects_body: bool) -> Result<Framing, Http1Error> {
    let code = head.status.as_u16();
    if !expects_body || code == 204 || code == 304 || (100..200).contains(&code) {
        return Ok(Framing::Empty);
    }
    // One lookup per name, kept for the values below.
    let encodings = head.headers.get_all(TRANSFER_ENCODING);
    let lengths = head.headers.get_all(CONTENT_LENGTH);
    let has_te = encodings.iter().next().is_some();
    let has_cl = lengths.iter().next().is_some();
    if has_te && has_cl {
        return Err(Http1Error::Protocol(
            "both Content-Length and Transfer-Encoding",
        ));
    }
    if has_te {
        let mut codings = Vec::new();
        for value in encodings {
            let text = value
                .to_str()
                .map_err(|_| Http1Error::Protocol("invalid Transfer-Encoding"))?;
            codings.extend(text.split(',').map(str::trim).filter(|c| !c.is_empty()));
        }
        let chunked = |c: &&str| c.eq_ignore_ascii_case("chunked");
        return Ok(match codings.iter().position(chunked) {
            Some(at) if at + 1 == codings.len() => Framing::Chunked(Chunk::Size),
            Some(_) => return Err(Http1Error::Protocol("chunked is not the last coding")),
            None => Framing::UntilClose,
        });
    }
    if has_cl {
        let mut length = None;
        for value in lengths {
            let text = value
                .to_str()
                .map_err(|_| Http1Error::Protocol("invalid Content-Length"))?;
            for item in text.split(',').map(str::trim) {
                let n = (!item.is_empty() && item.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| item.parse::<u64>().ok())
                    .flatten()
                    .ok_or(Http1Error::Protocol("invalid Content-Length"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(Http1Error::Protocol("conflicting Content-Length"));
                }
                length = Some(n);
            }
        }
        return Ok(Framing::Length(length.unwrap_or(0)));
    }
    Ok(Framing::UntilClose)
}

/// Whether the connection may carry another exchange after this response, as far as its head
/// tells.
pub fn keeps_alive(head: &Head) -> bool {
    head.version == Version::HTTP_11
        && !head
            .headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("close"))
}

/// Where the chunked decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data: this many bytes remain.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailers, then an empty line.
    Trailers,
    /// The body is complete.
    Done,
}

/// One step of the chunked decoder.
#[derive(Debug)]
pub enum Decoded {
    /// Body data.
    Data(Bytes),
    /// The trailer section; the body is complete after it.
    Trailers(HeaderMap),
    /// A framing element was consumed; decode again.
    Continue,
    /// The body is complete.
    End,
    /// More bytes are needed.
    NeedMore,
    /// The body is not validly chunked.
    Invalid(&'static str),
}

impl Chunk {
    /// Decodes what it can from the front of `buf`, consuming it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Decoded {
        match *self {
            Chunk::Size => match httparse::parse_chunk_size(buf) {
                Ok(httparse::Status::Complete((used, size))) => {
                    buf.advance(used);
                    *self = if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    };
                    Decoded::Continue
                }
                Ok(httparse::Status::Partial) if buf.len() < MAX_CHUNK_META => Decoded::NeedMore,
                Ok(httparse::Status::Partial) => Decoded::Invalid("chunk size line too long"),
                Err(_) => Decoded::Invalid("invalid chunk size"),
            },
            Chunk::Data(remaining) => {
                if buf.is_empty() {
                    return Decoded::NeedMore;
                }
                let n = remaining.min(buf.len() as u64);
                let left = remaining - n;
                *self = if left == 0 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left)
                };
                Decoded::Data(buf.split_to(n as usize).freeze())
            }
            Chunk::DataEnd => {
                if buf.len() < 2 {
                    return Decoded::NeedMore;
                }
                if &buf[..2] != b"\r\n" {
                    return Decoded::Invalid("chunk data not followed by CRLF");
                }
                buf.advance(2);
                *self = Chunk::Size;
                Decoded::Continue
            }
            Chunk::Trailers => {
                if buf.starts_with(b"\r\n") {
                    buf.advance(2);
                    *self = Chunk::Done;
                    return Decoded::End;
                }
                let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
                match httparse::parse_headers(buf, &mut fields) {
                    Ok(httparse::Status::Complete((used, fields))) => {
                        let mut trailers = HeaderMap::new();
                        for field in fields {
                            let (Ok(name), Ok(value)) = (
                                HeaderName::from_bytes(field.name.as_bytes()),
                                HeaderValue::from_bytes(field.value),
                            ) else {
                                return Decoded::Invalid("invalid trailer field");
                            };
                            trailers.append(name, value);
                        }
                        buf.advance(used);
                        *self = Chunk::Done;
                        Decoded::Trailers(trailers)
                    }
                    Ok(httparse::Status::Partial) if buf.len() < MAX_CHUNK_META => {
                        Decoded::NeedMore
                    }
                    Ok(httparse::Status::Partial) => Decoded::Invalid("trailer section too large"),
                    Err(_) => Decoded::Invalid("invalid trailer section"),
                }
            }
            Chunk::Done => Decoded::End,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a whole chunked body fed in pieces of `step` bytes.
    fn decode_all(input: &[u8], step: usize) -> Result<(Vec<u8>, Option<HeaderMap>), &'static str> {
        let mut state = Chunk::Size;
        let mut buf = BytesMut::new();
        let mut fed = 0;
        let (mut data, mut trailers) = (Vec::new(), None);
        loop {
            match state.decode(&mut buf) {
                Decoded::Data(bytes) => data.extend_from_slice(&bytes),
                Decoded::Trailers(t) => trailers = Some(t),
                Decoded::Continue => {}
                Decoded::End => return Ok((data, trailers)),
                Decoded::Invalid(why) => return Err(why),
                Decoded::NeedMore => {
                    if fed == input.len() {
                        return Err("truncated");
                    }
                    let end = (fed + step).min(input.len());
                    buf.extend_from_slice(&input[fed..end]);
                    fed = end;
                }
            }
        }
    }

    #[test]
    fn chunked_bodies_decode_whatever_the_read_sizes() {
        let body = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc\r\n\r\n";
        for step in [1, 2, 3, 7, 64] {
            let (data, trailers) = decode_all(body, step).unwrap();
            assert_eq!(data, b"hello world", "step {step}");
            assert_eq!(trailers.unwrap()["x-checksum"], "abc");
        }
        assert_eq!(decode_all(b"0\r\n\r\n", 1).unwrap().0, b"");
    }

    #[test]
    fn broken_chunking_is_refused() {
        for body in [
            &b"5\r\nhelloXX0\r\n\r\n"[..],
            b"zz\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
            b"ffffffffffffffffffff\r\n",
        ] {
            assert!(
                decode_all(body, 4).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(decode_all(b"5\r\nhel", 2), Err("truncated"));
    }

    fn head(text: &str) -> Head {
        let mut buf = BytesMut::from(text);
        parse_head(&mut buf).unwrap().unwrap()
    }

    #[test]
    fn framing_follows_rfc_9112_strictly() {
        let framing = |text: &str| response_framing(&head(text), true).ok();
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"),
            Some(Framing::Length(5))
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\ncontent-length: 5\r\n\r\n"),
            Some(Framing::Length(5))
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n"),
            Some(Framing::Chunked(Chunk::Size))
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\n\r\n"),
            Some(Framing::UntilClose)
        );
        assert_eq!(
            framing("HTTP/1.1 204 No Content\r\ncontent-length: 9\r\n\r\n"),
            Some(Framing::Empty)
        );
        for refused in [
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\n",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n",
        ] {
            assert_eq!(framing(refused), None, "{refused}");
        }
        let head_request = head("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
        assert_eq!(
            response_framing(&head_request, false).ok(),
            Some(Framing::Empty)
        );
    }

    #[test]
    fn heads_keep_their_bytes_and_say_whether_to_reuse() {
        let mut buf = BytesMut::from("HTTP/1.1 200 OK\r\nx-a: 1\r\n\r\nbody");
        let parsed = parse_head(&mut buf).unwrap().unwrap();
        assert_eq!(parsed.headers["x-a"], "1");
        assert_eq!(&buf[..], b"body", "what follows the head stays");
        assert!(keeps_alive(&parsed));
        assert!(!keeps_alive(&head(
            "HTTP/1.1 200 OK\r\nconnection: keep-alive, close\r\n\r\n"
        )));
        assert!(!keeps_alive(&head("HTTP/1.0 200 OK\r\n\r\n")));
        let mut partial = BytesMut::from("HTTP/1.1 200 OK\r\nx-a: 1\r\n");
        assert!(parse_head(&mut partial).unwrap().is_none());
        let mut bad = BytesMut::from("HTTP/1.1 2000 OK\r\n\r\n");
        assert!(parse_head(&mut bad).is_err());
    }
}
