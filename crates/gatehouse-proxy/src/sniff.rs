//! A second, independent reading of HTTP/1 request framing, beside hyper's. hyper resolves a
//! request carrying both `Content-Length` and `Transfer-Encoding` the way RFC 9112 §6.3 allows (it
//! drops the length and uses chunked framing) without telling the service that the length was
//! there. gatehouse refuses such a request instead of choosing a reading, so this wrapper watches
//! the bytes hyper reads, follows the message framing itself, and records which request on the
//! connection was ambiguous. Anything it cannot follow (HTTP/2, an upgrade, a parse error hyper
//! will refuse anyway) stops the watching; it never changes a byte.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest request head followed; longer heads are refused by hyper (431) anyway.
const MAX_HEAD: usize = 1 << 20;
/// Header fields parsed on the stack; a head with more is parsed again on the heap, up to the
/// most `listen.max_headers` can allow.
const STACK_HEADERS: usize = 64;
const MAX_HEADERS: usize = 1000;

/// Which request on a connection, counted from 1, carried both framing headers (0: none yet).
#[derive(Debug, Default)]
pub struct Ambiguity(AtomicUsize);

impl Ambiguity {
    /// Whether request number `index` (from 1) was ambiguous.
    pub fn is_ambiguous(&self, index: usize) -> bool {
        index != 0 && self.0.load(Ordering::Acquire) == index
    }
}

#[derive(Debug)]
enum State {
    Head(Vec<u8>),
    Fixed(u64),
    ChunkSize(Vec<u8>),
    ChunkData(u64),
    ChunkEnd(u8),
    Trailers(Vec<u8>),
    Stopped,
}

/// Follows request framing over the bytes of one connection.
#[derive(Debug)]
pub struct Sniffer {
    state: State,
    heads: usize,
    ambiguity: Arc<Ambiguity>,
}

impl Sniffer {
    /// A sniffer reporting into `ambiguity`.
    pub fn new(ambiguity: Arc<Ambiguity>) -> Self {
        Sniffer {
            state: State::Head(Vec::new()),
            heads: 0,
            ambiguity,
        }
    }

    /// Feeds bytes as they are read from the client.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            // Usually the whole head is in one read: parse it in place, copying nothing; the
            // parser finds where it ends.
            if matches!(&self.state, State::Head(buf) if buf.is_empty())
                && let Some((used, next)) = self.after_head(bytes)
            {
                self.state = next;
                bytes = &bytes[used..];
                continue;
            }
            let used = match &mut self.state {
                State::Stopped => return,
                State::Head(buf) => {
                    let (used, done) = take_until(buf, bytes, b"\r\n\r\n");
                    if buf.len() > MAX_HEAD {
                        self.state = State::Stopped;
                        return;
                    }
                    if done {
                        let head = std::mem::take(buf);
                        self.state = self
                            .after_head(&head)
                            .map_or(State::Stopped, |(_, next)| next);
                    }
                    used
                }
                State::Fixed(left) => {
                    let used = (*left).min(bytes.len() as u64);
                    *left -= used;
                    if *left == 0 {
                        self.state = State::Head(Vec::new());
                    }
                    used as usize
                }
                State::ChunkSize(buf) => {
                    let (used, done) = take_until(buf, bytes, b"\r\n");
                    if buf.len() > 4096 {
                        self.state = State::Stopped;
                        return;
                    }
                    if done {
                        let line = String::from_utf8_lossy(&buf[..buf.len() - 2]).into_owned();
                        let size = line.split(';').next().unwrap_or("").trim();
                        self.state = match u64::from_str_radix(size, 16) {
                            Ok(0) => State::Trailers(Vec::new()),
                            Ok(n) => State::ChunkData(n),
                            Err(_) => State::Stopped,
                        };
                    }
                    used
                }
                State::ChunkData(left) => {
                    let used = (*left).min(bytes.len() as u64);
                    *left -= used;
                    if *left == 0 {
                        self.state = State::ChunkEnd(2);
                    }
                    used as usize
                }
                State::ChunkEnd(left) => {
                    let used = usize::from(*left).min(bytes.len());
                    *left -= used as u8;
                    if *left == 0 {
                        self.state = State::ChunkSize(Vec::new());
                    }
                    used
                }
                State::Trailers(buf) => {
                    // Trailers end with an empty line; with none, that is the very next CRLF.
                    let (used, done) = take_until(buf, bytes, b"\r\n");
                    if buf.len() > MAX_HEAD {
                        self.state = State::Stopped;
                        return;
                    }
                    if done {
                        if buf.len() == 2 {
                            self.state = State::Head(Vec::new());
                        } else {
                            buf.clear();
                        }
                    }
                    used
                }
            };
            bytes = &bytes[used..];
        }
    }

    /// Parses the head at the start of `bytes`: how many bytes it took and the state after it,
    /// or `None` while it is incomplete.
    fn after_head(&mut self, bytes: &[u8]) -> Option<(usize, State)> {
        // Blank lines before a request line are tolerated by hyper (and skipped by httparse).
        let start = bytes
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .unwrap_or(bytes.len());
        if bytes[start..].starts_with(b"PRI * HTTP/2.0") {
            return Some((bytes.len(), State::Stopped));
        }
        let mut headers = [httparse::EMPTY_HEADER; STACK_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(bytes) {
            Ok(httparse::Status::Complete(used)) => Some((used, self.after_parsed(&request))),
            Ok(httparse::Status::Partial) => None,
            Err(httparse::Error::TooManyHeaders) => {
                let mut headers = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut request = httparse::Request::new(&mut headers);
                match request.parse(bytes) {
                    Ok(httparse::Status::Complete(used)) => {
                        Some((used, self.after_parsed(&request)))
                    }
                    Ok(httparse::Status::Partial) => None,
                    Err(_) => Some((bytes.len(), State::Stopped)),
                }
            }
            Err(_) => Some((bytes.len(), State::Stopped)),
        }
    }

    fn after_parsed(&mut self, request: &httparse::Request<'_, '_>) -> State {
        self.heads += 1;
        let mut lengths = Vec::new();
        let mut chunked = false;
        let mut encoded = false;
        let mut upgrade = request.method == Some("CONNECT");
        for h in request.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                lengths.push(String::from_utf8_lossy(h.value).trim().to_owned());
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                encoded = true;
                chunked = String::from_utf8_lossy(h.value)
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            } else if h.name.eq_ignore_ascii_case("upgrade") {
                upgrade = true;
            }
        }
        if encoded && !lengths.is_empty() {
            let _ = self.ambiguity.0.compare_exchange(
                0,
                self.heads,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            // hyper closes the connection after this request; nothing later matters.
            return State::Stopped;
        }
        if upgrade {
            return State::Stopped;
        }
        if encoded {
            return if chunked {
                State::ChunkSize(Vec::new())
            } else {
                State::Stopped
            };
        }
        match lengths.first().map(|l| l.parse::<u64>()) {
            None => State::Head(Vec::new()),
            Some(Ok(0)) => State::Head(Vec::new()),
            Some(Ok(n)) => State::Fixed(n),
            Some(Err(_)) => State::Stopped,
        }
    }
}

/// Appends bytes to `buf` up to and including the first `delimiter` ending in `buf`; returns the
/// bytes used and whether the delimiter was reached. The delimiter may straddle the boundary
/// between what `buf` already holds and `bytes`.
fn take_until(buf: &mut Vec<u8>, bytes: &[u8], delimiter: &[u8]) -> (usize, bool) {
    let carried = buf.len().min(delimiter.len() - 1);
    let start = buf.len() - carried;
    buf.extend_from_slice(bytes);
    match find(&buf[start..], delimiter) {
        Some(at) => {
            let end = start + at + delimiter.len();
            let used = end - (buf.len() - bytes.len());
            buf.truncate(end);
            (used, true)
        }
        None => (bytes.len(), false),
    }
}

/// Position of the first `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pin_project_lite::pin_project! {
    /// An I/O stream whose reads pass through a [`Sniffer`].
    pub struct SniffedIo<IO> {
        #[pin]
        inner: IO,
        sniffer: Sniffer,
    }
}

impl<IO> SniffedIo<IO> {
    /// Wraps a client connection.
    pub fn new(inner: IO, ambiguity: Arc<Ambiguity>) -> Self {
        SniffedIo {
            inner,
            sniffer: Sniffer::new(ambiguity),
        }
    }
}

impl<IO: AsyncRead> AsyncRead for SniffedIo<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let polled = this.inner.poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.sniffer.feed(&buf.filled()[before..]);
        }
        polled
    }
}

impl<IO: AsyncWrite> AsyncWrite for SniffedIo<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ambiguous_index(stream: &[u8], split: usize) -> usize {
        let ambiguity = Arc::new(Ambiguity::default());
        let mut sniffer = Sniffer::new(ambiguity.clone());
        for piece in stream.chunks(split) {
            sniffer.feed(piece);
        }
        ambiguity.0.load(Ordering::Acquire)
    }

    #[test]
    fn finds_the_ambiguous_request_among_pipelined_ones() {
        let stream = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
            POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nCL: 1\
            POST /y HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n\
            POST /z HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        for split in [1, 2, 7, 64, stream.len()] {
            assert_eq!(ambiguous_index(stream, split), 4, "split {split}");
        }
    }

    #[test]
    fn body_bytes_are_never_read_as_heads() {
        let body = b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut stream = format!(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        stream.extend_from_slice(body);
        stream.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(ambiguous_index(&stream, 3), 0);
    }

    #[test]
    fn heads_with_many_headers_are_still_followed() {
        let many: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
        let stream = format!(
            "GET / HTTP/1.1\r\nHost: a\r\n{many}\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        );
        assert_eq!(ambiguous_index(stream.as_bytes(), 100), 2);
    }

    #[test]
    fn stops_at_http2_and_upgrades() {
        assert_eq!(
            ambiguous_index(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 5),
            0
        );
        assert_eq!(
            ambiguous_index(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 9),
            0
        );
    }
}
