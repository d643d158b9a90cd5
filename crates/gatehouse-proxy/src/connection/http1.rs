//! gatehouse's own HTTP/1.1 server loop, for the requests that make up nearly all traffic through
//! an authenticating gateway: HTTP/1.1, no request body, no upgrade. It reads a head, hands the
//! request to the service, writes the response and reads the next head, on the connection's own
//! task, without hyper's dispatcher, its per-connection write buffer or its per-head timer (0.5 µs
//! of the 5.5 µs of user-space CPU a cache-hit request cost with hyper's server).
//!
//! Anything else (a request body, `Transfer-Encoding`, `Expect`, `TE`, an upgrade, `CONNECT`,
//! HTTP/1.0, more header fields than parsed on the stack, a head it cannot parse or that is over
//! the listener's limits) is not handled here: the connection, with every byte read so far, goes to hyper's server
//! for the rest of its life ([`Served::HandOff`]), so each hard case keeps one implementation,
//! hyper's, with the framing sniffer beside it.

use std::cell::RefCell;
use std::convert::Infallible;
use std::io::{self, Write as _};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use gatehouse_config::ListenerConfig;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::body::ProxyBody;

/// Read buffer of a connection with bytes to read (one waiting for its next request holds none);
/// a head that does not fit grows it up to `max_header_bytes`.
const READ_BUFFER: usize = 8 * 1024;
/// Header fields parsed on the stack. A head with more goes to hyper, which allows up to
/// `listen.max_headers`.
const STACK_HEADERS: usize = 48;
/// Response data up to this size is copied behind the head, so a small response leaves in one
/// write; larger frames are written as they are.
const COPY_LIMIT: usize = 16 * 1024;

/// The request body of a request served here: there is none.
pub type NoBody = http_body_util::Empty<Bytes>;

/// How the loop ended.
pub enum Served<IO> {
    /// The connection is finished: closed by the client, idle, drained, or broken.
    Closed,
    /// A request this loop does not serve arrived: `read` holds every byte read and not yet
    /// served (that request's head first), to be replayed to hyper's server in front of `io`.
    HandOff {
        /// The connection.
        io: IO,
        /// Bytes read from it and not yet served.
        read: Bytes,
    },
}

/// The limits of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for a whole request head, from the first byte (for the first request: from
    /// the connection's acceptance).
    pub header_read_timeout: Duration,
    /// Time an idle keep-alive connection is kept.
    pub keepalive_timeout: Duration,
    /// Time a response write may make no progress (a client that stopped reading).
    pub write_stall_timeout: Duration,
    /// Largest request head.
    pub max_header_bytes: usize,
    /// Most header fields in a request head.
    pub max_headers: usize,
}

impl Limits {
    /// The limits of a listener.
    pub fn of(listener: &ListenerConfig) -> Self {
        Limits {
            header_read_timeout: listener.header_read_timeout,
            keepalive_timeout: listener.keepalive_timeout,
            write_stall_timeout: listener.body_read_timeout,
            max_header_bytes: listener.max_header_bytes,
            max_headers: listener.max_headers,
        }
    }
}

/// Serves requests on `io` until it closes or a request needs hyper. `first_deadline` bounds the
/// first head; `shutdown` turning true closes an idle connection and the one after the request
/// in flight.
pub async fn serve<IO, S, F>(
    mut io: IO,
    limits: Limits,
    first_deadline: Instant,
    shutdown: &mut watch::Receiver<bool>,
    mut service: S,
) -> Served<IO>
where
    IO: AsyncRead + AsyncWrite + ReadReady + Unpin,
    S: FnMut(Request<NoBody>) -> F,
    // The service's own future, unwrapped here: an adapter around it would hold it twice over
    // and copy it on every request (it is a few KiB).
    F: Future<Output = Result<Response<ProxyBody>, Infallible>>,
{
    let mut buf = BytesMut::new();
    // Whether `buf` grew past a fresh buffer's size for a large head. After a split its capacity
    // no longer shows how large its allocation is, so this is kept: such a buffer is dropped
    // when the connection waits, never kept for another.
    let mut grown = false;
    let mut out = Vec::with_capacity(512);
    let mut draining = *shutdown.borrow();
    // One timer for the connection's life, moved rather than re-created: the header deadline,
    // then the keep-alive deadline after each response.
    let deadline = tokio::time::sleep_until(first_deadline);
    tokio::pin!(deadline);
    // The first head is timed from the connection's acceptance, not from its first byte.
    let mut head_timed = true;
    let bounds = HeadLimits {
        max_bytes: limits.max_header_bytes,
        max_fields: limits.max_headers,
    };
    loop {
        // 1. A whole request, from what is buffered or read.
        let (request, wants_keep_alive) = loop {
            if !buf.is_empty() {
                match take(&mut buf, bounds) {
                    Taken::Plain(request, keep_alive) => break (request, keep_alive),
                    Taken::Partial if buf.len() < limits.max_header_bytes => {
                        if !head_timed {
                            // A head has started: from now on it has the header timeout, not
                            // whatever is left of the keep-alive one.
                            head_timed = true;
                            deadline
                                .as_mut()
                                .reset(Instant::now() + limits.header_read_timeout);
                        }
                    }
                    Taken::Partial | Taken::Other => {
                        return Served::HandOff {
                            io,
                            read: buf.freeze(),
                        };
                    }
                    Taken::Refused(head) => {
                        let mut read = BytesMut::from(&head[..]);
                        read.extend_from_slice(&buf);
                        return Served::HandOff {
                            io,
                            read: read.freeze(),
                        };
                    }
                }
            } else if draining {
                return Served::Closed;
            }
            tokio::select! {
                biased;
                read = fill(&mut io, &mut buf, &mut grown) => match read {
                    Ok(0) | Err(_) => return Served::Closed,
                    Ok(_) => {}
                },
                () = deadline.as_mut() => return Served::Closed,
                _ = shutdown.changed(), if !draining => draining = true,
            }
        };

        // 2. The service. While it runs, a client that closes its connection cancels it (as
        //    hyper does), unless it already sent more: then its close is seen after the answer.
        let is_head = request.method() == Method::HEAD;
        let mut watching = buf.is_empty();
        if watching {
            grown |= make_room(&mut buf);
        }
        // In a block of its own, so the service's future is gone before the response is
        // written and the connection's state keeps room for one of the two, not both.
        let response = {
            let call = service(request);
            tokio::pin!(call);
            loop {
                tokio::select! {
                    biased;
                    response = &mut call => match response {
                        Ok(response) => break response,
                        Err(never) => match never {},
                    },
                    read = io.read_buf(&mut buf), if watching => match read {
                        Ok(0) | Err(_) => return Served::Closed,
                        Ok(_) => watching = false,
                    },
                }
            }
        };

        // 3. The response; a connection asked to close, or draining, closes after it.
        draining = draining || *shutdown.borrow();
        let keep_alive = wants_keep_alive && !draining;
        // One clock reading serves the date header and, unless the response had to wait, the
        // next keep-alive deadline.
        let now = Instant::now();
        let mut writer = Writer {
            io: &mut io,
            stall: limits.write_stall_timeout,
            waited: false,
        };
        let written = write_response(
            &mut writer,
            &mut out,
            response,
            Reply {
                is_head,
                keep_alive,
                now,
            },
        )
        .await;
        let waited = writer.waited;
        if !matches!(written, Ok(true)) || !keep_alive {
            let _ = tokio::time::timeout(limits.write_stall_timeout, io.shutdown()).await;
            return Served::Closed;
        }
        if out.capacity() > COPY_LIMIT + 1024 {
            out = Vec::with_capacity(512);
        }
        head_timed = false;
        let written_at = if waited { Instant::now() } else { now };
        deadline
            .as_mut()
            .reset(written_at + limits.keepalive_timeout);
    }
}

/// Reads into `buf`. A connection with nothing buffered that has to wait for its next bytes
/// waits without a read buffer, as nginx's and HAProxy's idle keep-alive connections do: the
/// buffer goes back to the thread, and one is taken again once the socket is readable.
async fn fill<IO>(io: &mut IO, buf: &mut BytesMut, grown: &mut bool) -> io::Result<usize>
where
    IO: AsyncRead + ReadReady + Unpin,
{
    std::future::poll_fn(|cx| {
        if !buf.is_empty() {
            *grown |= make_room(buf);
            return tokio_util::io::poll_read_buf(Pin::new(&mut *io), cx, buf);
        }
        let read = match io.poll_read_ready(cx) {
            Poll::Ready(Ok(())) => {
                if buf.capacity() == 0 {
                    *buf = spare_buffer();
                }
                *grown |= make_room(buf);
                // Through `poll_read`, not a `try_read`: tokio takes a read that did not fill the
                // buffer as proof the socket is drained and forgets its readiness, which saves the
                // next read a system call that would only find nothing. Readiness can be stale;
                // a read that finds nothing waits here with the waker registered.
                tokio_util::io::poll_read_buf(Pin::new(&mut *io), cx, buf)
            }
            other => other.map_ok(|()| 0),
        };
        if read.is_pending() {
            let waiting = std::mem::take(buf);
            if !std::mem::take(grown) {
                give_back(waiting);
            }
        }
        read
    })
    .await
}

/// Empty read buffers given back by waiting connections, kept by their thread for the next
/// connection with bytes to read: an 8 KiB buffer from the allocator on every request costs
/// more than the request's other allocations together. Only buffers that never grew past
/// `READ_BUFFER` come here, so at most 512 KiB a thread.
const SPARE_BUFFERS: usize = 64;

thread_local! {
    static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// An empty read buffer: one this thread kept, or none yet (`make_room` gives it room).
fn spare_buffer() -> BytesMut {
    SPARE
        .try_with(|spare| spare.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Keeps an empty buffer of at most the usual size for the next reader; any other is dropped.
/// What it held before is never read again: a buffer's reader sees only what it read into it.
/// The caller makes sure the buffer never grew: after a split, `capacity` shows only what is
/// left, not the allocation behind it.
fn give_back(buf: BytesMut) {
    if !buf.is_empty() || buf.capacity() == 0 || buf.capacity() > READ_BUFFER {
        return;
    }
    // During thread teardown, or if the store is somehow in use, the buffer is just dropped.
    let _ = SPARE.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut()
            && spare.len() < SPARE_BUFFERS
        {
            spare.push(buf);
        }
    });
}

/// A connection that tells when it has bytes to read without being handed a buffer.
pub trait ReadReady {
    /// Ready once the connection looks readable (the look can be stale: the read that follows
    /// may wait); pending, with the waker registered, until then.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl ReadReady for tokio::net::TcpStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::net::TcpStream::poll_read_ready(self, cx)
    }
}

/// Makes room for a read: `read_buf` into a full buffer would read nothing and look like the
/// end of the stream. Says whether the buffer is now larger than a fresh one: room for a head
/// that did not fit is made by growing it.
fn make_room(buf: &mut BytesMut) -> bool {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(READ_BUFFER);
    }
    buf.capacity() > READ_BUFFER
}

/// The bounds of a request head this loop takes; a head beyond them goes to hyper, which
/// answers it 431.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Largest head, in bytes.
    pub max_bytes: usize,
    /// Most header fields.
    pub max_fields: usize,
}

/// What the read buffer holds.
#[derive(Debug)]
pub enum Taken {
    /// A request this loop serves, and whether the client wants the connection kept.
    Plain(Request<NoBody>, bool),
    /// Not a whole head yet.
    Partial,
    /// A request this loop leaves to hyper; its head is still at the front of the buffer.
    Other,
    /// A head split off the buffer with a part the `http` types refuse (hyper answers it with
    /// a 400): it goes back in front of the rest.
    Refused(Bytes),
}

/// Takes the request head at the front of `buf`, if it is whole and one this loop serves; leaves
/// `buf` as it was otherwise (but for [`Taken::Refused`], which returns the head it split off).
pub fn take(buf: &mut BytesMut, limits: HeadLimits) -> Taken {
    // Offsets of each part of the head, so the head can be split off the buffer and shared by
    // the request's parts without a copy.
    let mut spans = [(0u32, 0u32, 0u32, 0u32); STACK_HEADERS];
    let (len, method, target, count, keep_alive) = {
        let mut fields = [httparse::EMPTY_HEADER; STACK_HEADERS];
        let mut request = httparse::Request::new(&mut fields);
        let len = match request.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Taken::Partial,
            Err(_) => return Taken::Other,
        };
        let (Some(method), Some(target), Some(1)) = (request.method, request.path, request.version)
        else {
            return Taken::Other;
        };
        if method == "CONNECT"
            || len > limits.max_bytes
            || request.headers.len() > limits.max_fields
        {
            return Taken::Other;
        }
        // httparse's slices all lie within the head; checked anyway, so that a parser that broke
        // that promise would cost a hand-off to hyper, never a panic.
        let base = buf.as_ptr() as usize;
        let span = |part: &[u8]| -> Option<(u32, u32)> {
            let start = (part.as_ptr() as usize).checked_sub(base)?;
            let end = start.checked_add(part.len()).filter(|end| *end <= len)?;
            Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?))
        };
        let mut keep_alive = true;
        let mut lengths = 0;
        for (slot, field) in spans.iter_mut().zip(request.headers.iter()) {
            let name = field.name.as_bytes();
            match name.len() {
                // A body, in either framing: hyper's. So are two lengths, even both zero, for
                // the framing stage to refuse.
                14 if name.eq_ignore_ascii_case(b"content-length") => {
                    lengths += 1;
                    if field.value != b"0" || lengths > 1 {
                        return Taken::Other;
                    }
                }
                17 if name.eq_ignore_ascii_case(b"transfer-encoding") => return Taken::Other,
                6 if name.eq_ignore_ascii_case(b"expect") => return Taken::Other,
                7 if name.eq_ignore_ascii_case(b"upgrade") => return Taken::Other,
                // Trailers asked for (`TE: trailers`) are hyper's to send.
                2 if name.eq_ignore_ascii_case(b"te") => return Taken::Other,
                10 if name.eq_ignore_ascii_case(b"connection") => {
                    for token in field.value.split(|b| *b == b',') {
                        let token = token.trim_ascii();
                        if token.eq_ignore_ascii_case(b"close") {
                            keep_alive = false;
                        } else if token.eq_ignore_ascii_case(b"upgrade") {
                            return Taken::Other;
                        }
                    }
                }
                _ => {}
            }
            let (Some((name_start, name_end)), Some((value_start, value_end))) =
                (span(name), span(field.value))
            else {
                return Taken::Other;
            };
            *slot = (name_start, name_end, value_start, value_end);
        }
        let (Some(method), Some(target)) = (span(method.as_bytes()), span(target.as_bytes()))
        else {
            return Taken::Other;
        };
        (len, method, target, request.headers.len(), keep_alive)
    };
    let head = buf.split_to(len).freeze();
    let range = |(start, end): (u32, u32)| start as usize..end as usize;
    let request = (|| {
        let method = Method::from_bytes(&head[range(method)]).ok()?;
        let uri = Uri::from_maybe_shared(head.slice(range(target))).ok()?;
        let mut headers = crate::headers::reuse::map(count + crate::headers::ADDED_UPSTREAM);
        for &(name_start, name_end, value_start, value_end) in &spans[..count] {
            let name = crate::headers::reuse::name(&head[range((name_start, name_end))]).ok()?;
            let value =
                HeaderValue::from_maybe_shared(head.slice(range((value_start, value_end)))).ok()?;
            headers.append(name, value);
        }
        let mut request = Request::new(NoBody::new());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = headers;
        Some(request)
    })();
    match request {
        Some(request) => Taken::Plain(request, keep_alive),
        None => Taken::Refused(head),
    }
}

/// How a response body is delimited on the wire.
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// How a response is to be written.
#[derive(Debug, Clone, Copy)]
struct Reply {
    /// The request was `HEAD`: headers only.
    is_head: bool,
    /// The connection stays open after it; otherwise the response says `connection: close`.
    keep_alive: bool,
    /// The time, for the `Date` header.
    now: Instant,
}

/// The client side of a connection, as responses are written to it.
struct Writer<'a, IO> {
    io: &'a mut IO,
    /// Time a write may make no progress (a client that stopped reading).
    stall: Duration,
    /// Whether the response had to wait, for the client or for its body.
    waited: bool,
}

impl<IO: AsyncWrite + Unpin> Writer<'_, IO> {
    /// Writes all of `bytes`.
    async fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.bounded(|io| io.write(bytes)).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => bytes = &bytes[n..],
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.bounded(|io| io.flush()).await
    }

    /// Runs one operation, failing after `stall` without progress. The timer (and the clock
    /// read it needs) is set only when the operation cannot complete at once, which a write of
    /// a small response nearly always can.
    async fn bounded<'b, T, F>(&'b mut self, op: impl FnOnce(&'b mut IO) -> F) -> io::Result<T>
    where
        F: Future<Output = io::Result<T>> + 'b,
    {
        let stall = self.stall;
        let waited = &mut self.waited;
        let mut op = std::pin::pin!(op(self.io));
        if let Poll::Ready(done) =
            std::future::poll_fn(|cx| Poll::Ready(op.as_mut().poll(cx))).await
        {
            return done;
        }
        *waited = true;
        tokio::time::timeout(stall, op)
            .await
            .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
    }
}

/// Writes a response; `Ok(true)` when it was written whole and framed so that the connection can
/// carry another one.
async fn write_response<IO>(
    io: &mut Writer<'_, IO>,
    out: &mut Vec<u8>,
    response: Response<ProxyBody>,
    reply: Reply,
) -> io::Result<bool>
where
    IO: AsyncWrite + Unpin,
{
    let Reply {
        is_head,
        keep_alive,
        now,
    } = reply;
    let (parts, mut body) = response.into_parts();
    let status = parts.status;
    // RFC 9110 §6.4.1: no content after these, whatever the headers say.
    let bodyless = is_head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut declared: Option<u64> = None;
    let mut lengths = 0;
    let mut dated = false;
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH {
            lengths += 1;
            declared = std::str::from_utf8(value.as_bytes())
                .ok()
                .and_then(|v| v.trim().parse().ok());
            // A length says how long the body is, so it is written below with the framing;
            // for HEAD and 304 it describes the representation and passes as it is; 1xx and
            // 204 must not carry one (RFC 9110 §8.6).
            if !bodyless || status.is_informational() || status == StatusCode::NO_CONTENT {
                continue;
            }
        } else if name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
            || name.as_str() == "keep-alive"
        {
            // The framing and the connection's fate are this hop's to say.
            continue;
        } else if name == header::DATE {
            dated = true;
        }
        crate::headers::push_line(out, name, value);
    }
    // A response head here comes from our upstream client (at most 128 fields), hyper's h2c
    // client (a 16 KiB header list) or the gateway itself: bounded, so its map can be kept.
    crate::headers::reuse::recycle(parts.headers);
    if !dated {
        out.extend_from_slice(b"date: ");
        date::append(out, now);
        out.extend_from_slice(b"\r\n");
    }
    // Two lengths, or one that is not a number, say nothing: the body's own size does.
    if lengths != 1 {
        declared = None;
    }
    let framing = if bodyless {
        Framing::None
    } else if let Some(length) = declared.or_else(|| body.size_hint().exact()) {
        out.extend_from_slice(b"content-length: ");
        crate::headers::push_decimal(out, length);
        out.extend_from_slice(b"\r\n");
        Framing::Length(length)
    } else {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
        Framing::Chunked
    };
    if !keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");

    let mut framing = framing;
    if matches!(framing, Framing::None) {
        // Dropped unread: a HEAD response's upstream body is empty and ends here.
        drop(body);
        io.write_all(out).await?;
        io.flush().await?;
        // An interim status is never a final answer; the service does not produce one, and
        // should it, the connection ends rather than wait for a response that will not come.
        return Ok(!status.is_informational());
    }
    loop {
        // Take what the body has ready without waiting; write what is gathered only when it
        // has nothing more yet, so a small response leaves in one write with its head.
        let frame = match poll_now(&mut body).await {
            Some(frame) => frame,
            None => {
                if !out.is_empty() {
                    io.write_all(out).await?;
                    out.clear();
                }
                io.flush().await?;
                // A body that streams (server-sent events, a slow download) may outlast the
                // keep-alive timeout: the deadline is then taken after it, not before.
                io.waited = true;
                body.frame().await
            }
        };
        let data = match frame {
            None => break,
            Some(Err(_)) => {
                // The head is out and the body cannot be finished: only closing the connection
                // tells the client the response is incomplete.
                io.write_all(out).await?;
                return Ok(false);
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                // HTTP/1 trailers are sent only to a client that asked for them (`TE:
                // trailers`); this loop serves none, so they are dropped.
                Err(_) => continue,
            },
        };
        if data.is_empty() {
            continue;
        }
        match &mut framing {
            Framing::Length(left) => {
                if data.len() as u64 > *left {
                    io.write_all(out).await?;
                    return Ok(false);
                }
                *left -= data.len() as u64;
            }
            Framing::Chunked => {
                let _ = write!(out, "{:x}\r\n", data.len());
            }
            Framing::None => {}
        }
        // Gathered bytes never exceed `COPY_LIMIT`: past it they are written, so a fast
        // upstream is held to the client's pace instead of being buffered here.
        if out.len() + data.len() > COPY_LIMIT {
            io.write_all(out).await?;
            out.clear();
        }
        if data.len() <= COPY_LIMIT {
            out.extend_from_slice(&data);
        } else {
            io.write_all(&data).await?;
        }
        if matches!(framing, Framing::Chunked) {
            out.extend_from_slice(b"\r\n");
        }
    }
    let complete = match framing {
        Framing::Length(left) => left == 0,
        Framing::Chunked => {
            out.extend_from_slice(b"0\r\n\r\n");
            true
        }
        Framing::None => true,
    };
    io.write_all(out).await?;
    io.flush().await?;
    Ok(complete)
}

/// The body's next frame if it has one ready now; `None` when it would have to wait.
async fn poll_now(
    body: &mut ProxyBody,
) -> Option<Option<Result<http_body::Frame<Bytes>, crate::body::BoxError>>> {
    std::future::poll_fn(|cx| match Pin::new(&mut *body).poll_frame(cx) {
        Poll::Ready(frame) => Poll::Ready(Some(frame)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// The `Date` header, formatted once a second per thread.
mod date {
    use std::cell::RefCell;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use tokio::time::Instant;

    struct Cached {
        text: String,
        /// When the next second starts, by the monotonic clock.
        until: Option<Instant>,
    }

    thread_local! {
        static CACHED: RefCell<Cached> = const {
            RefCell::new(Cached { text: String::new(), until: None })
        };
    }

    /// Appends the time at `now` (a reading the caller has anyway) as an HTTP date; the wall
    /// clock is read only when a new second has begun.
    pub fn append(out: &mut Vec<u8>, now: Instant) {
        CACHED.with_borrow_mut(|cached| {
            if cached.until.is_none_or(|until| now >= until) {
                // A clock set before 1970 would make the formatter panic.
                let wall = SystemTime::now().max(UNIX_EPOCH);
                let into_second = wall.duration_since(UNIX_EPOCH).map_or(Duration::ZERO, |d| {
                    Duration::from_nanos(d.subsec_nanos().into())
                });
                cached.text = httpdate::fmt_http_date(wall);
                cached.until = Some(now + (Duration::from_secs(1) - into_second));
            }
            out.extend_from_slice(cached.text.as_bytes());
        });
    }
}

/// A connection with bytes already read from it put back in front: what hyper reads after a
/// hand-off.
pub struct Rewind<IO> {
    read: Bytes,
    io: IO,
}

impl<IO> Rewind<IO> {
    /// `io`, with `read` to be read first.
    pub fn new(io: IO, read: Bytes) -> Self {
        Rewind { read, io }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Rewind<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.read.is_empty() {
            let n = this.read.len().min(buf.remaining());
            buf.put_slice(&this.read.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Rewind<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::StreamBody;

    const LIMITS: HeadLimits = HeadLimits {
        max_bytes: 64 * 1024,
        max_fields: 100,
    };

    fn taken(head: &str) -> Taken {
        take(&mut BytesMut::from(head.as_bytes()), LIMITS)
    }

    fn plain(head: &str) -> (Request<NoBody>, bool) {
        match taken(head) {
            Taken::Plain(request, keep_alive) => (request, keep_alive),
            _ => panic!("not served here: {head:?}"),
        }
    }

    fn is_other(head: &str) -> bool {
        matches!(taken(head), Taken::Other)
    }

    #[test]
    fn plain_requests_are_taken_whole() {
        let mut buf = BytesMut::from(
            &b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Many: 1\r\nx-many: 2\r\n\r\nGET /next"[..],
        );
        let Taken::Plain(request, keep_alive) = take(&mut buf, LIMITS) else {
            panic!("not taken");
        };
        assert!(keep_alive);
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri(), "/a?b=c");
        assert_eq!(request.version(), Version::HTTP_11);
        assert_eq!(request.headers()["host"], "x");
        let many: Vec<_> = request.headers().get_all("x-many").iter().collect();
        assert_eq!(many, ["1", "2"]);
        // The next request stays in the buffer, whole or not.
        assert_eq!(&buf[..], b"GET /next");
        assert!(matches!(take(&mut buf, LIMITS), Taken::Partial));

        let (_, keep_alive) = plain("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n");
        assert!(!keep_alive);
        plain("DELETE /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        plain("\r\nGET / HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn everything_else_is_left_to_hyper() {
        for head in [
            "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            "POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "GET / HTTP/1.1\r\nTE: trailers\r\n\r\n",
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n",
            "CONNECT a:443 HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            "GARBAGE\r\n\r\n",
        ] {
            assert!(is_other(head), "taken: {head:?}");
        }
        let mut many = String::from("GET / HTTP/1.1\r\n");
        for i in 0..=STACK_HEADERS {
            many.push_str(&format!("x-{i}: v\r\n"));
        }
        many.push_str("\r\n");
        assert!(is_other(&many));
    }

    #[test]
    fn the_listener_limits_hold_for_heads_taken_here() {
        let head = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        let tight = |max_bytes, max_fields| {
            take(
                &mut BytesMut::from(head.as_bytes()),
                HeadLimits {
                    max_bytes,
                    max_fields,
                },
            )
        };
        assert!(matches!(tight(head.len(), 3), Taken::Plain(..)));
        assert!(matches!(tight(head.len() - 1, 3), Taken::Other));
        assert!(matches!(tight(head.len(), 2), Taken::Other));
    }

    #[test]
    fn a_head_the_http_types_refuse_is_kept_for_hyper() {
        // httparse takes this target; `http::Uri` does not (an unclosed IPv6 literal).
        match taken("GET http://[::1/ HTTP/1.1\r\n\r\n") {
            Taken::Refused(head) => assert_eq!(&head[..], b"GET http://[::1/ HTTP/1.1\r\n\r\n"),
            _ => panic!("not refused"),
        }
    }

    fn reply(is_head: bool, keep_alive: bool) -> Reply {
        Reply {
            is_head,
            keep_alive,
            now: Instant::now(),
        }
    }

    async fn written_to<IO: AsyncWrite + Unpin>(
        wire: &mut IO,
        response: Response<ProxyBody>,
        reply: Reply,
    ) -> bool {
        let mut writer = Writer {
            io: wire,
            stall: Duration::from_secs(5),
            waited: false,
        };
        let mut out = Vec::new();
        write_response(&mut writer, &mut out, response, reply)
            .await
            .unwrap()
    }

    async fn written(response: Response<ProxyBody>, reply: Reply) -> (String, bool) {
        let mut wire = Vec::new();
        let reusable = written_to(&mut wire, response, reply).await;
        (String::from_utf8(wire).unwrap(), reusable)
    }

    fn streamed(chunks: Vec<Result<&'static str, &'static str>>) -> ProxyBody {
        let frames = futures_util::stream::iter(chunks.into_iter().map(|c| {
            c.map(|data| http_body::Frame::data(Bytes::from_static(data.as_bytes())))
                .map_err(|e| -> crate::body::BoxError { e.into() })
        }));
        StreamBody::new(frames).boxed()
    }

    #[tokio::test]
    async fn a_known_length_is_declared_and_the_body_follows_the_head() {
        let mut response = Response::new(crate::body::full(Bytes::from_static(b"hello")));
        response
            .headers_mut()
            .insert("x-a", HeaderValue::from_static("1"));
        response
            .headers_mut()
            .insert("connection", HeaderValue::from_static("keep-alive"));
        let (wire, reusable) = written(response, reply(false, true)).await;
        assert!(reusable);
        assert!(
            wire.starts_with("HTTP/1.1 200 OK\r\nx-a: 1\r\ndate: "),
            "{wire}"
        );
        assert!(
            wire.ends_with("\r\ncontent-length: 5\r\n\r\nhello"),
            "{wire}"
        );
        assert!(!wire.contains("connection"), "{wire}");
        assert_eq!(wire.matches("date: ").count(), 1);
    }

    #[tokio::test]
    async fn an_unknown_length_is_chunked_and_trailers_are_dropped() {
        let response = Response::new(streamed(vec![Ok("abc"), Ok(""), Ok("0123456789abcdef")]));
        let (wire, reusable) = written(response, reply(false, true)).await;
        assert!(reusable);
        assert!(wire.contains("transfer-encoding: chunked\r\n"), "{wire}");
        assert!(
            wire.ends_with("\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"),
            "{wire}"
        );
    }

    #[tokio::test]
    async fn closing_is_said() {
        let response = Response::new(crate::body::empty());
        let (wire, _) = written(response, reply(false, false)).await;
        assert!(
            wire.ends_with("content-length: 0\r\nconnection: close\r\n\r\n"),
            "{wire}"
        );
    }

    #[tokio::test]
    async fn bodyless_responses_keep_or_drop_their_length_as_the_rfc_says() {
        // HEAD: the length describes what GET would send; no body follows, even one the
        // service had.
        let mut response = Response::new(crate::body::full(Bytes::from_static(b"hello")));
        response
            .headers_mut()
            .insert("content-length", HeaderValue::from_static("42"));
        let (wire, reusable) = written(response, reply(true, true)).await;
        assert!(reusable);
        assert!(wire.contains("content-length: 42\r\n"), "{wire}");
        assert!(wire.ends_with("\r\n\r\n"), "{wire}");
        assert!(!wire.contains("hello"), "{wire}");

        // 204: no length at all.
        let mut response = Response::new(crate::body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        response
            .headers_mut()
            .insert("content-length", HeaderValue::from_static("0"));
        let (wire, _) = written(response, reply(false, true)).await;
        assert!(wire.starts_with("HTTP/1.1 204 No Content\r\n"), "{wire}");
        assert!(!wire.contains("content-length"), "{wire}");
        assert!(!wire.contains("transfer-encoding"), "{wire}");

        // An interim status as a final answer: written without a body, and the connection ends.
        let mut response = Response::new(crate::body::empty());
        *response.status_mut() = StatusCode::from_u16(103).unwrap();
        let (wire, reusable) = written(response, reply(false, true)).await;
        assert!(wire.starts_with("HTTP/1.1 103 "), "{wire}");
        assert!(!reusable);
    }

    #[tokio::test]
    async fn a_body_that_breaks_its_framing_ends_the_connection() {
        // Longer than declared.
        let mut response = Response::new(streamed(vec![Ok("abcdef")]));
        response
            .headers_mut()
            .insert("content-length", HeaderValue::from_static("3"));
        let (wire, reusable) = written(response, reply(false, true)).await;
        assert!(!reusable);
        assert!(!wire.contains("abc"), "{wire}");

        // Shorter than declared.
        let mut response = Response::new(streamed(vec![Ok("ab")]));
        response
            .headers_mut()
            .insert("content-length", HeaderValue::from_static("3"));
        let (_, reusable) = written(response, reply(false, true)).await;
        assert!(!reusable);

        // An error mid-stream, chunked: no terminating chunk is written.
        let response = Response::new(streamed(vec![Ok("ab"), Err("upstream reset")]));
        let (wire, reusable) = written(response, reply(false, true)).await;
        assert!(!reusable);
        assert!(!wire.ends_with("0\r\n\r\n"), "{wire}");
    }

    /// A client connection that records the size of every write.
    #[derive(Default)]
    struct Recorder {
        writes: Vec<usize>,
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().writes.push(buf.len());
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_body_that_is_always_ready_is_not_gathered_whole() {
        // 100 frames of 8 KiB, every one ready at once: what a fast upstream on loopback gives.
        let frames = futures_util::stream::iter((0..100).map(|_| {
            Ok::<_, crate::body::BoxError>(http_body::Frame::data(Bytes::from(vec![b'x'; 8192])))
        }));
        let response = Response::new(StreamBody::new(frames).boxed());
        let mut wire = Recorder::default();
        assert!(written_to(&mut wire, response, reply(false, true)).await);
        let largest = wire.writes.iter().max().copied().unwrap_or(0);
        assert!(largest <= COPY_LIMIT + 64, "a write of {largest} bytes");
        assert!(wire.writes.iter().sum::<usize>() > 100 * 8192);
    }

    /// Polls `future` once.
    async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
    }

    async fn loopback_pair() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    /// A waker that counts its wake-ups and lets a test await the first one.
    #[derive(Default)]
    struct Wakes {
        count: std::sync::atomic::AtomicUsize,
        woken: tokio::sync::Notify,
    }

    impl std::task::Wake for Wakes {
        fn wake(self: std::sync::Arc<Self>) {
            self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // `notify_one` stores a permit, so a wake-up before the test awaits is not lost.
            self.woken.notify_one();
        }
    }

    impl Wakes {
        fn count(&self) -> usize {
            self.count.load(std::sync::atomic::Ordering::SeqCst)
        }

        /// Waits, with a deadline, until the waker has been woken (by the runtime's I/O driver).
        async fn until_woken(&self) {
            tokio::time::timeout(Duration::from_secs(10), self.woken.notified())
                .await
                .expect("never woken");
        }
    }

    fn spare_count() -> usize {
        SPARE.with(|spare| spare.borrow().len())
    }

    #[tokio::test]
    async fn a_connection_waiting_for_bytes_holds_no_read_buffer() {
        let (mut client, mut server) = loopback_pair().await;
        let mut buf = BytesMut::with_capacity(READ_BUFFER);
        let mut grown = false;
        let wakes = std::sync::Arc::new(Wakes::default());
        let waker = std::task::Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        {
            let mut read = std::pin::pin!(fill(&mut server, &mut buf, &mut grown));
            assert!(read.as_mut().poll(&mut cx).is_pending());
            // Had the wait not registered (stale readiness never cleared), the read would have
            // spun until the task's budget ran out, and the budget wakes the task at once.
            assert_eq!(wakes.count(), 0, "waiting, not spinning");
            assert_eq!(spare_count(), 1, "the buffer went back to the thread");

            client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
            wakes.until_woken().await;
            assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(16))));
        }
        assert_eq!(&buf[..], b"GET / HTTP/1.1\r\n");
        assert_eq!(spare_count(), 0, "the kept buffer was taken again");

        // A part of a head already read keeps its buffer while the rest is awaited.
        {
            let mut read = std::pin::pin!(fill(&mut server, &mut buf, &mut grown));
            assert!(poll_once(&mut read).await.is_pending());
        }
        assert_eq!(&buf[..], b"GET / HTTP/1.1\r\n");
        client.write_all(b"host: a\r\n").await.unwrap();
        tokio::time::timeout(
            Duration::from_secs(10),
            fill(&mut server, &mut buf, &mut grown),
        )
        .await
        .expect("bytes arrive")
        .unwrap();
        assert_eq!(&buf[..], b"GET / HTTP/1.1\r\nhost: a\r\n");
        assert!(!grown);

        drop(client);
        let end = tokio::time::timeout(
            Duration::from_secs(10),
            fill(&mut server, &mut buf, &mut grown),
        )
        .await
        .expect("the close arrives");
        assert_eq!(end.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_buffer_grown_for_a_large_head_is_dropped_not_kept() {
        let (mut client, mut server) = loopback_pair().await;
        let head = format!(
            "GET / HTTP/1.1\r\nx-large: {}\r\n\r\n",
            "a".repeat(3 * READ_BUFFER)
        );
        client.write_all(head.as_bytes()).await.unwrap();
        let mut buf = BytesMut::new();
        let mut grown = false;
        let deadline = Duration::from_secs(10);
        while buf.len() < head.len() {
            tokio::time::timeout(deadline, fill(&mut server, &mut buf, &mut grown))
                .await
                .expect("the head arrives")
                .unwrap();
        }
        assert!(grown, "the head did not fit a fresh buffer");
        // As `take` does: the head leaves, and what remains of the buffer looks small.
        let _head = buf.split_to(buf.len()).freeze();
        {
            let mut read = std::pin::pin!(fill(&mut server, &mut buf, &mut grown));
            assert!(poll_once(&mut read).await.is_pending());
        }
        assert_eq!(buf.capacity(), 0, "the buffer was let go while waiting");
        assert!(!grown);
        assert_eq!(spare_count(), 0, "and not kept for another connection");
    }

    #[test]
    fn only_empty_buffers_of_the_usual_size_are_kept() {
        std::thread::spawn(|| {
            let mut holding = BytesMut::with_capacity(READ_BUFFER);
            holding.extend_from_slice(b"GET /");
            give_back(holding);
            give_back(BytesMut::with_capacity(4 * READ_BUFFER));
            assert_eq!(spare_buffer().capacity(), 0, "neither was kept");

            let mut used = BytesMut::with_capacity(READ_BUFFER);
            used.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
            let _head = used.split_to(used.len());
            give_back(used);
            let kept = spare_buffer();
            assert!(kept.is_empty() && kept.capacity() > 0);

            for _ in 0..SPARE_BUFFERS + 10 {
                give_back(BytesMut::with_capacity(READ_BUFFER));
            }
            let kept = SPARE.with(|spare| spare.borrow().len());
            assert_eq!(kept, SPARE_BUFFERS);
        })
        .join()
        .unwrap();
    }

    #[tokio::test]
    async fn a_rewound_connection_reads_the_kept_bytes_first() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut rewound = Rewind::new(server, Bytes::from_static(b"kept "));
        client.write_all(b"then read").await.unwrap();
        drop(client);
        let mut all = String::new();
        rewound.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "kept then read");
    }
}
