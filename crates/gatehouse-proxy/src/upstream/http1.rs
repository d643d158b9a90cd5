//! One HTTP/1.1 exchange with an upstream, on a pooled connection of our own. The request head is
//! written and the response head parsed in the request's own task, and the response body is read
//! by the body the client is sent: no connection task and no channel between them, which is what
//! a general-purpose client spends most of its time on for a small proxied request.
//!
//! Framing is strict both ways: a response with both `Content-Length` and `Transfer-Encoding`, or
//! with lengths that disagree, is refused rather than read one of two ways, and a connection is
//! only reused after an exchange that ended exactly where its framing said.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{Method, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

use super::endpoint::Endpoint;
use super::pool;
use super::wire::{
    Decoded, Framing, Head, MAX_HEAD_BYTES, keeps_alive, parse_head, response_framing,
};
use crate::body::{BoxError, ProxyBody, RequestBodyError, find_request_body_error};

/// How long the rest of a request body may take to go out after the upstream answered in full.
const REST_OF_BODY: Duration = Duration::from_secs(30);
/// Bytes reserved per socket read.
const READ_CHUNK: usize = 8 * 1024;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum Http1Error {
    /// The TCP connection could not be opened.
    #[error("connect failed: {0}")]
    Connect(io::Error),
    /// The TCP connection was not open within the connect timeout.
    #[error("connect timed out")]
    ConnectTimeout,
    /// The client's body broke a limit of the gateway (size, pause).
    #[error(transparent)]
    RequestBody(RequestBodyError),
    /// The client's body failed or did not match its own declared length.
    #[error("the client's request body failed")]
    ClientBody,
    /// The upstream closed the connection before a byte of response.
    #[error("upstream closed the connection before responding")]
    Closed,
    /// Reading or writing the upstream connection failed.
    #[error("upstream connection failed: {0}")]
    Io(io::Error),
    /// The upstream's response is not valid HTTP/1.1, or could be read two ways.
    #[error("invalid upstream response: {0}")]
    Protocol(&'static str),
}

/// How to reach an endpoint and keep its connections.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
    /// Most idle connections per endpoint and thread.
    pub max_idle: usize,
}

/// A response, and the raw connection behind it when the upstream switched protocols.
pub struct Sent {
    /// The response, its body streaming from the upstream connection.
    pub response: Response<ProxyBody>,
    /// After `101 Switching Protocols`: the connection and any bytes already read past the head.
    pub upgraded: Option<RawUpgrade>,
}

/// An upstream connection that switched protocols.
pub struct RawUpgrade {
    /// The connection.
    pub io: TcpStream,
    /// Bytes the upstream sent right after its 101 head.
    pub read_ahead: Bytes,
}

/// Sends `parts` (then `extra_lines`, ready-made header lines) and `body` to `endpoint` and
/// returns the response once its head is in.
///
/// A pooled connection can be closed by the upstream at the moment it is reused; an idempotent
/// request without a body that meets such a connection is sent once more on a new connection,
/// since nothing of it can have been acted on twice.
pub async fn send(
    endpoint: &Arc<Endpoint>,
    settings: Settings,
    parts: &http::request::Parts,
    extra_lines: &[u8],
    body: ProxyBody,
) -> Result<Sent, Http1Error> {
    let framing = RequestFraming::of(&parts.method, &body);
    let head = encode_head(parts, extra_lines, &endpoint.authority, framing);
    let expects_body = parts.method != Method::HEAD;
    let empty = matches!(framing, RequestFraming::None | RequestFraming::Length(0));
    let resend = empty && parts.method.is_idempotent();
    let mut body = Some(body);
    if let Some(io) = pool::checkout(endpoint) {
        let first = body.take().unwrap_or_else(crate::body::empty);
        match exchange(io, &head, first, framing, expects_body, endpoint, settings).await {
            Err(Http1Error::Closed) if resend => {}
            done => return done,
        }
    }
    let io = connect(endpoint, settings.connect_timeout).await?;
    let body = body.unwrap_or_else(crate::body::empty);
    exchange(io, &head, body, framing, expects_body, endpoint, settings).await
}

async fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<TcpStream, Http1Error> {
    let authority = &endpoint.authority;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let io = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| Http1Error::ConnectTimeout)?
        .map_err(|e| {
            if e.kind() == io::ErrorKind::TimedOut {
                Http1Error::ConnectTimeout
            } else {
                Http1Error::Connect(e)
            }
        })?;
    // Small heads and bodies must leave at once, not wait for an acknowledgement.
    io.set_nodelay(true).map_err(Http1Error::Connect)?;
    Ok(io)
}

/// How the request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestFraming {
    /// No body, and no length header.
    None,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`: the length is not known in advance.
    Chunked,
}

impl RequestFraming {
    fn of(method: &Method, body: &ProxyBody) -> Self {
        if body.is_end_stream() {
            // Servers may demand a length on the methods that usually carry a body (411).
            return if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
                RequestFraming::Length(0)
            } else {
                RequestFraming::None
            };
        }
        match body.size_hint().exact() {
            Some(n) => RequestFraming::Length(n),
            None => RequestFraming::Chunked,
        }
    }
}

/// The request line and headers, with framing headers of our own choosing: whatever the client
/// said about length described its own connection, not this one.
fn encode_head(
    parts: &http::request::Parts,
    extra_lines: &[u8],
    authority: &http::uri::Authority,
    framing: RequestFraming,
) -> Vec<u8> {
    let mut head = Vec::with_capacity(256 + parts.headers.len() * 48 + extra_lines.len());
    head.extend_from_slice(parts.method.as_str().as_bytes());
    head.push(b' ');
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    if !parts.headers.contains_key(HOST) {
        head.extend_from_slice(b"host: ");
        head.extend_from_slice(authority.as_str().as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    for (name, value) in &parts.headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        crate::headers::push_line(&mut head, name, value);
    }
    head.extend_from_slice(extra_lines);
    match framing {
        RequestFraming::None => {}
        RequestFraming::Length(n) => {
            head.extend_from_slice(b"content-length: ");
            crate::headers::push_decimal(&mut head, n);
            head.extend_from_slice(b"\r\n");
        }
        RequestFraming::Chunked => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// One request and response head on `io`.
async fn exchange(
    mut io: TcpStream,
    head: &[u8],
    body: ProxyBody,
    framing: RequestFraming,
    expects_body: bool,
    endpoint: &Arc<Endpoint>,
    settings: Settings,
) -> Result<Sent, Http1Error> {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    if framing == RequestFraming::None || body.is_end_stream() {
        io.write_all(head).await.map_err(closed_or_io)?;
        let parsed = read_head(&mut io, &mut buf).await?;
        return respond(
            Conn::Whole(io),
            buf,
            parsed,
            expects_body,
            endpoint,
            settings,
        );
    }
    // The body streams from its own task, so the upstream can answer (and stream its answer)
    // while it is still reading: an echo, or an early refusal.
    let (mut read, write) = io.into_split();
    let mut sender = BodySender {
        task: Some(tokio::spawn(send_owned(
            write,
            head.to_vec(),
            body,
            framing,
        ))),
        write: None,
    };
    let parsed = {
        let receiving = read_head(&mut read, &mut buf);
        tokio::pin!(receiving);
        loop {
            tokio::select! {
                joined = sender.join(), if sender.task.is_some() => match joined {
                    Ok(Ok(write)) => sender.write = Some(write),
                    // The gateway's own limits and a failing client end the exchange at once.
                    Ok(Err(e @ (Http1Error::RequestBody(_) | Http1Error::ClientBody))) => {
                        return Err(e);
                    }
                    // The upstream may have stopped reading because it already answered.
                    Ok(Err(_)) => {}
                    Err(_) => return Err(Http1Error::ClientBody),
                },
                parsed = &mut receiving => break parsed?,
            }
        }
    };
    respond(
        Conn::Split { read, sender },
        buf,
        parsed,
        expects_body,
        endpoint,
        settings,
    )
}

/// The upstream connection behind a response body.
enum Conn {
    /// The request was sent whole before the response.
    Whole(TcpStream),
    /// The request body may still be streaming from its own task.
    Split {
        read: tokio::net::tcp::OwnedReadHalf,
        sender: BodySender,
    },
}

impl Conn {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        match self {
            Conn::Whole(io) => tokio_util::io::poll_read_buf(Pin::new(io), cx, buf),
            Conn::Split { read, .. } => tokio_util::io::poll_read_buf(Pin::new(read), cx, buf),
        }
    }

    /// Gives the connection back after a response that ended cleanly: to the pool at once when
    /// the request was sent whole, or once the request body has gone out when it is still
    /// streaming (an upstream may answer before it has read the whole body, and unless it closes
    /// the connection it expects the rest, RFC 9112 §9.5).
    fn release(self, endpoint: &Arc<Endpoint>, settings: Settings) {
        let (read, mut sender) = match self {
            Conn::Whole(io) => {
                return pool::checkin(endpoint, io, settings.max_idle, settings.idle_timeout);
            }
            Conn::Split { read, sender } => (read, sender),
        };
        if let Some(write) = sender.write.take() {
            if let Ok(io) = read.reunite(write) {
                pool::checkin(endpoint, io, settings.max_idle, settings.idle_timeout);
            }
            return;
        }
        let (Some(task), Ok(runtime)) = (sender.task.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let endpoint = endpoint.clone();
        runtime.spawn(async move {
            // An upstream that answered and then stopped reading must not hold the body forever.
            let abort = task.abort_handle();
            match tokio::time::timeout(REST_OF_BODY, task).await {
                Ok(Ok(Ok(write))) => {
                    if let Ok(io) = read.reunite(write) {
                        pool::checkin(&endpoint, io, settings.max_idle, settings.idle_timeout);
                    }
                }
                Ok(_) => {}
                Err(_) => abort.abort(),
            }
        });
    }
}

/// The task sending a request body; aborted if the exchange ends first.
struct BodySender {
    task: Option<tokio::task::JoinHandle<Result<OwnedWriteHalf, Http1Error>>>,
    /// The write half, back from a task that sent the whole body.
    write: Option<OwnedWriteHalf>,
}

impl BodySender {
    async fn join(&mut self) -> Result<Result<OwnedWriteHalf, Http1Error>, tokio::task::JoinError> {
        let joined = match self.task.as_mut() {
            Some(task) => task.await,
            None => std::future::pending().await,
        };
        self.task = None;
        joined
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn send_owned(
    mut write: OwnedWriteHalf,
    head: Vec<u8>,
    body: ProxyBody,
    framing: RequestFraming,
) -> Result<OwnedWriteHalf, Http1Error> {
    send_body(&mut write, &head, body, framing).await?;
    Ok(write)
}

/// Writes the head, then the body in its framing.
async fn send_body<W: AsyncWrite + Unpin>(
    writer: &mut W,
    head: &[u8],
    mut body: ProxyBody,
    framing: RequestFraming,
) -> Result<(), Http1Error> {
    writer.write_all(head).await.map_err(closed_or_io)?;
    let mut written: u64 = 0;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| match find_request_body_error(e.as_ref()) {
            Some(limit) => Http1Error::RequestBody(limit),
            None => Http1Error::ClientBody,
        })?;
        // Trailers never come this far: `RequestBody` drops a client's trailers.
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        written += data.len() as u64;
        match framing {
            RequestFraming::Length(n) if written > n => return Err(Http1Error::ClientBody),
            RequestFraming::Chunked => {
                let size = format!("{:x}\r\n", data.len());
                let mut chunk = Buf::chain(size.as_bytes(), data).chain(&b"\r\n"[..]);
                writer
                    .write_all_buf(&mut chunk)
                    .await
                    .map_err(Http1Error::Io)?;
            }
            _ => writer.write_all(&data).await.map_err(Http1Error::Io)?,
        }
    }
    match framing {
        RequestFraming::Length(n) if written != n => return Err(Http1Error::ClientBody),
        RequestFraming::Chunked => writer
            .write_all(b"0\r\n\r\n")
            .await
            .map_err(Http1Error::Io)?,
        _ => {}
    }
    writer.flush().await.map_err(Http1Error::Io)
}

/// A failure before any response byte on a connection: the upstream closed it.
fn closed_or_io(e: io::Error) -> Http1Error {
    match e.kind() {
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::UnexpectedEof => Http1Error::Closed,
        _ => Http1Error::Io(e),
    }
}

/// Reads until a final (non-1xx, or 101) response head is complete; what follows it stays in
/// `buf`.
async fn read_head<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
) -> Result<Head, Http1Error> {
    let mut received_any = false;
    loop {
        if !buf.is_empty() {
            if let Some(head) = parse_head(buf)? {
                let code = head.status.as_u16();
                // Informational answers (100, 102 every few seconds, 103) precede the final one;
                // the request timeout bounds how long they may go on.
                if (100..200).contains(&code) && code != 101 {
                    continue;
                }
                return Ok(head);
            }
            if buf.len() >= MAX_HEAD_BYTES {
                return Err(Http1Error::Protocol("response head too large"));
            }
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(READ_CHUNK);
        }
        let n = reader.read_buf(buf).await.map_err(|e| {
            if received_any {
                Http1Error::Io(e)
            } else {
                closed_or_io(e)
            }
        })?;
        if n == 0 {
            return Err(if received_any {
                Http1Error::Protocol("connection closed inside the response head")
            } else {
                Http1Error::Closed
            });
        }
        received_any = true;
    }
}

fn respond(
    conn: Conn,
    buf: BytesMut,
    head: Head,
    expects_body: bool,
    endpoint: &Arc<Endpoint>,
    settings: Settings,
) -> Result<Sent, Http1Error> {
    if head.status == StatusCode::SWITCHING_PROTOCOLS {
        // Only a request sent whole (a WebSocket handshake has no body) can switch.
        let Conn::Whole(io) = conn else {
            return Err(Http1Error::Protocol("101 to a request with a body"));
        };
        let mut response = Response::new(crate::body::empty());
        *response.status_mut() = head.status;
        *response.version_mut() = head.version;
        *response.headers_mut() = head.headers;
        return Ok(Sent {
            response,
            upgraded: Some(RawUpgrade {
                io,
                read_ahead: buf.freeze(),
            }),
        });
    }
    let framing = response_framing(&head, expects_body)?;
    let reusable = keeps_alive(&head) && framing != Framing::UntilClose;
    let body = UpstreamBody {
        conn: Some(conn),
        buf,
        framing,
        reusable,
        endpoint: endpoint.clone(),
        settings,
    };
    let mut response = Response::new(http_body_util::BodyExt::boxed(body));
    *response.status_mut() = head.status;
    *response.version_mut() = head.version;
    *response.headers_mut() = head.headers;
    Ok(Sent {
        response,
        upgraded: None,
    })
}

/// A response body read from the upstream connection; the connection goes back to the pool
/// when the body ends exactly where its framing said, and is closed otherwise.
struct UpstreamBody {
    conn: Option<Conn>,
    buf: BytesMut,
    framing: Framing,
    reusable: bool,
    endpoint: Arc<Endpoint>,
    settings: Settings,
}

impl UpstreamBody {
    /// Reads more from the upstream; `Ok(0)` at its end of stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(conn) = self.conn.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(READ_CHUNK);
        }
        conn.poll_read_buf(cx, &mut self.buf)
    }

    /// The body ended where its framing said: the connection may serve again.
    fn finish(&mut self) {
        // Dropping a connection that cannot serve again also stops a body still being sent:
        // an upstream that closes does not want the rest.
        if let Some(conn) = self.conn.take()
            && self.reusable
            && self.buf.is_empty()
        {
            conn.release(&self.endpoint, self.settings);
        }
    }

    fn fail(&mut self, reason: &'static str) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.conn = None;
        Poll::Ready(Some(Err(Http1Error::Protocol(reason).into())))
    }
    /// Reads more, failing when the upstream ends the stream mid-message.
    fn poll_more(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        let error = match ready!(self.poll_fill(cx)) {
            Ok(0) => Http1Error::Protocol("upstream closed the connection mid-body"),
            Ok(_) => return Poll::Ready(Ok(())),
            Err(e) => Http1Error::Io(e),
        };
        self.conn = None;
        Poll::Ready(Err(error.into()))
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            match this.framing {
                Framing::Empty | Framing::Length(0) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Framing::Length(remaining) => {
                    if this.buf.is_empty() {
                        if let Err(e) = ready!(this.poll_more(cx)) {
                            return Poll::Ready(Some(Err(e)));
                        }
                        continue;
                    }
                    let n = remaining.min(this.buf.len() as u64);
                    this.framing = Framing::Length(remaining - n);
                    let data = this.buf.split_to(n as usize).freeze();
                    if remaining == n {
                        // The last byte is in: the connection can serve the next request
                        // while this one's response is still being written to the client.
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::UntilClose => {
                    if !this.buf.is_empty() {
                        let data = this.buf.split().freeze();
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    match ready!(this.poll_fill(cx)) {
                        Ok(0) => {
                            this.conn = None;
                            return Poll::Ready(None);
                        }
                        Ok(_) => continue,
                        Err(e) => {
                            this.conn = None;
                            return Poll::Ready(Some(Err(Http1Error::Io(e).into())));
                        }
                    }
                }
                Framing::Chunked(mut state) => {
                    let step = state.decode(&mut this.buf);
                    this.framing = Framing::Chunked(state);
                    match step {
                        Decoded::Data(data) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                        Decoded::Trailers(trailers) => {
                            // The body ends after this frame; `Empty` returns the connection.
                            this.framing = Framing::Empty;
                            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                        }
                        Decoded::Continue => {}
                        Decoded::End => {
                            this.finish();
                            this.framing = Framing::Empty;
                            return Poll::Ready(None);
                        }
                        Decoded::NeedMore => {
                            if let Err(e) = ready!(this.poll_more(cx)) {
                                return Poll::Ready(Some(Err(e)));
                            }
                        }
                        Decoded::Invalid(reason) => return this.fail(reason),
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.framing, Framing::Empty | Framing::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Empty => SizeHint::with_exact(0),
            Framing::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for UpstreamBody {
    fn drop(&mut self) {
        // A reader that stops at `is_end_stream` never polls the end: the body is complete.
        if self.is_end_stream() {
            self.finish();
        }
    }
}
