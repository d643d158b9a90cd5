//! One client connection: HTTP/1.1 or HTTP/2 (prior knowledge) on the same port, closed when it
//! idles past its limit and drained gracefully on shutdown. HTTP/1.1 starts in our own loop
//! ([`http1`]) and moves to hyper's server at the first request that loop does not serve; HTTP/2
//! is hyper's throughout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use gatehouse_config::ListenerConfig;
use std::pin::Pin;

use hyper::server::conn::{http1 as hyper_http1, http2 as hyper_http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::debug;

use crate::gateway::Shared;
use crate::service::{self, Connection};
use crate::upstream::endpoint_clock::now_ms;

pub mod http1;

/// Tracks requests in flight on a connection and when the last one ended, so an idle connection
/// can be told from a busy one.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    served: AtomicUsize,
    last_ms: AtomicU64,
}

impl Activity {
    /// A connection accepted at `accepted_ms`: its first request is due a header timeout after
    /// that, however long telling its protocol took.
    fn new(accepted_ms: u64) -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            last_ms: AtomicU64::new(accepted_ms),
        }
    }

    /// Marks a request in flight until the guard drops (at the end of its response body).
    pub fn start(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }

    /// Whether a request has completed on this connection.
    fn has_served(&self) -> bool {
        self.served.load(Ordering::Acquire) > 0
    }

    /// When the connection should be closed if nothing happens before then, or `None` while a
    /// request is in flight.
    fn idle_deadline(&self, header_timeout: Duration, keepalive: Duration) -> Option<u64> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        // A connection that never completed a request gets only the header timeout, so a
        // client cannot hold a slot by connecting and saying nothing.
        let limit = if self.served.load(Ordering::Acquire) == 0 {
            header_timeout
        } else {
            keepalive
        };
        Some(self.last_ms.load(Ordering::Acquire) + limit.as_millis() as u64)
    }
}

/// A request in flight on a connection.
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.served.fetch_add(1, Ordering::AcqRel);
        self.0.last_ms.store(now_ms(), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The HTTP/2 connection preface a prior-knowledge (h2c) client opens with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Which protocol a connection speaks, as far as its first bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.x.
    Http1,
    /// HTTP/2 with prior knowledge.
    Http2,
    /// Too few bytes yet to tell: hyper-util's detector reads the rest.
    Undecided,
}

/// Looks at a new connection's first bytes without consuming them. Deciding here, rather than in
/// hyper-util's `auto` reader, spares every HTTP/1 connection the replay buffer that reader puts
/// in front of it, which made hyper grow its read buffer from 8 to 16 KiB on every connection.
/// `None`: the client closed, or said nothing within the header timeout.
pub async fn detect(stream: &TcpStream, timeout: Duration) -> Option<Protocol> {
    let mut first = [0u8; H2_PREFACE.len()];
    let n = match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(n)) if n > 0 => n,
        _ => return None,
    };
    Some(if first[..n] != H2_PREFACE[..n] {
        Protocol::Http1
    } else if n == H2_PREFACE.len() {
        Protocol::Http2
    } else {
        Protocol::Undecided
    })
}

// The same settings apply to hyper's own builders and to hyper-util's `auto` ones, which have
// the same methods on different types.
macro_rules! http1_settings {
    ($builder:expr, $settings:expr) => {
        $builder
            .timer(TokioTimer::new())
            .header_read_timeout($settings.header_read_timeout)
            .max_buf_size($settings.max_header_bytes)
            .max_headers($settings.max_headers)
            .keep_alive(true)
    };
}

macro_rules! http2_settings {
    ($builder:expr, $settings:expr) => {
        $builder
            .timer(TokioTimer::new())
            .max_concurrent_streams($settings.http2_max_concurrent_streams)
            .max_header_list_size(u32::try_from($settings.max_header_bytes).unwrap_or(u32::MAX))
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(10))
    };
}

fn auto_builder(settings: &ListenerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    http1_settings!(builder.http1(), settings);
    http2_settings!(builder.http2(), settings);
    builder
}

/// Serves one connection, accepted at `accepted_ms` (`now_ms`), until the client closes it, it
/// idles out, or shutdown drains it.
pub async fn serve<IO>(
    io: IO,
    protocol: Protocol,
    accepted_ms: u64,
    peer: SocketAddr,
    scheme: &'static str,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + http1::ReadReady + Unpin + Send + 'static,
{
    let _gauge = shared.metrics.connection_opened();
    let settings = shared.runtime().config.listener.clone();
    let activity = Arc::new(Activity::new(accepted_ms));
    let ambiguity = Arc::new(crate::sniff::Ambiguity::default());
    let connection = Arc::new(Connection {
        peer,
        peer_ip: crate::headers::peer_ip_header(peer.ip()),
        scheme,
        activity: activity.clone(),
        ambiguity: ambiguity.clone(),
        requests: AtomicUsize::new(0),
    });
    let handler = shared.clone();
    let hyper_connection = connection.clone();
    let service = service_fn(move |request| {
        service::handle(
            handler.clone(),
            hyper_connection.clone(),
            request,
            service::HeadSource::Hyper,
        )
    });
    let mut watch = Watch {
        peer,
        activity: &activity,
        settings: &settings,
        shutdown,
    };
    match protocol {
        Protocol::Http1 => {
            // Our own loop serves the plain requests; the first one it does not serve takes the
            // connection, and every byte read from it, to hyper's server.
            let limits = http1::Limits::of(&settings);
            let waited = Duration::from_millis(now_ms().saturating_sub(accepted_ms));
            let first_deadline =
                tokio::time::Instant::now() + limits.header_read_timeout.saturating_sub(waited);
            let served = http1::serve(io, limits, first_deadline, &mut watch.shutdown, |request| {
                service::handle(
                    shared.clone(),
                    connection.clone(),
                    request,
                    service::HeadSource::Loop,
                )
            })
            .await;
            let http1::Served::HandOff { io, read } = served else {
                return;
            };
            // hyper's requests are counted from its first, as the sniffer counts heads.
            connection.requests.store(0, Ordering::Release);
            // Only HTTP/1 framing can be read two ways; HTTP/2 frames carry their own lengths.
            let io = TokioIo::new(crate::sniff::SniffedIo::new(
                WriteStall::new(http1::Rewind::new(io, read), settings.body_read_timeout),
                ambiguity,
            ));
            let mut builder = hyper_http1::Builder::new();
            http1_settings!(builder, settings);
            let conn = builder.serve_connection(io, service).with_upgrades();
            tokio::pin!(conn);
            watch.drive(conn, |c| c.graceful_shutdown()).await;
        }
        Protocol::Http2 => {
            let mut builder = hyper_http2::Builder::new(TokioExecutor::new());
            http2_settings!(builder, settings);
            let io = WriteStall::new(io, settings.body_read_timeout);
            let conn = builder.serve_connection(TokioIo::new(io), service);
            tokio::pin!(conn);
            watch.drive(conn, |c| c.graceful_shutdown()).await;
        }
        Protocol::Undecided => {
            let io = TokioIo::new(crate::sniff::SniffedIo::new(
                WriteStall::new(io, settings.body_read_timeout),
                ambiguity,
            ));
            let builder = auto_builder(&settings);
            let conn = builder.serve_connection_with_upgrades(io, service);
            tokio::pin!(conn);
            watch.drive(conn, |c| c.graceful_shutdown()).await;
        }
    }
}

pin_project_lite::pin_project! {
    /// A client connection on which a write may wait at most `stall` for the client to read:
    /// past it the write fails and the connection ends. hyper's servers have no such bound, and
    /// a client that stops reading would otherwise hold its response, and the upstream
    /// connection behind it, for as long as it likes.
    pub struct WriteStall<IO> {
        #[pin]
        inner: IO,
        stall: Duration,
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<IO> WriteStall<IO> {
    /// Bounds the writes on `inner`.
    pub fn new(inner: IO, stall: Duration) -> Self {
        WriteStall {
            inner,
            stall,
            timer: None,
        }
    }
}

/// Passes a write's outcome on, timing the wait when it has to wait.
fn bound_write<T>(
    polled: Poll<std::io::Result<T>>,
    timer: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    stall: Duration,
    cx: &mut Context<'_>,
) -> Poll<std::io::Result<T>> {
    if polled.is_ready() {
        *timer = None;
        return polled;
    }
    let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
    match timer.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err(std::io::ErrorKind::TimedOut.into())),
        Poll::Pending => Poll::Pending,
    }
}

impl<IO: AsyncRead> AsyncRead for WriteStall<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite> AsyncWrite for WriteStall<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.project();
        bound_write(this.inner.poll_write(cx, buf), this.timer, *this.stall, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.project();
        let polled = this.inner.poll_write_vectored(cx, bufs);
        bound_write(polled, this.timer, *this.stall, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.project();
        bound_write(this.inner.poll_flush(cx), this.timer, *this.stall, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.project();
        bound_write(this.inner.poll_shutdown(cx), this.timer, *this.stall, cx)
    }
}

/// What decides when a connection is closed: its activity, its limits and the drain signal.
struct Watch<'a> {
    peer: SocketAddr,
    activity: &'a Activity,
    settings: &'a ListenerConfig,
    shutdown: watch::Receiver<bool>,
}

impl Watch<'_> {
    /// Polls `conn` to completion, asking it to close gracefully (`close`) on shutdown or once
    /// it has idled past its limit.
    async fn drive<C, E>(mut self, mut conn: Pin<&mut C>, close: impl Fn(Pin<&mut C>))
    where
        C: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let (peer, settings, activity) = (self.peer, self.settings, self.activity);
        let mut draining = *self.shutdown.borrow();
        if draining {
            close(conn.as_mut());
        }
        loop {
            let deadline = activity
                .idle_deadline(settings.header_read_timeout, settings.keepalive_timeout)
                .map(|at| at.saturating_sub(now_ms()))
                // While busy, look again later: the request's own timeouts bound it.
                .unwrap_or(settings.keepalive_timeout.as_millis() as u64);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(error) = result {
                        debug!(%peer, %error, "connection ended with an error");
                    }
                    return;
                }
                _ = self.shutdown.changed(), if !draining => {
                    draining = true;
                    close(conn.as_mut());
                }
                () = tokio::time::sleep(Duration::from_millis(deadline)), if !draining => {
                    let idle = activity
                        .idle_deadline(settings.header_read_timeout, settings.keepalive_timeout)
                        .is_some_and(|at| at <= now_ms());
                    if idle && !activity.has_served() {
                        // Nothing in flight to finish: a client that has not completed one
                        // request head within the header timeout of connecting is cut off,
                        // whatever state the parser is in.
                        debug!(%peer, "closing a connection that sent no request in time");
                        return;
                    }
                    if idle {
                        debug!(%peer, "closing idle connection");
                        draining = true;
                        close(conn.as_mut());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// A connected pair on loopback: (client, server side).
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    async fn detect_after(bytes: &[u8]) -> Option<Protocol> {
        let (mut client, server) = pair().await;
        client.write_all(bytes).await.unwrap();
        detect(&server, Duration::from_secs(5)).await
    }

    #[tokio::test]
    async fn first_bytes_tell_the_protocol() {
        assert_eq!(
            detect_after(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await,
            Some(Protocol::Http1)
        );
        // Diverges from the preface at the second byte.
        assert_eq!(detect_after(b"POST /").await, Some(Protocol::Http1));
        assert_eq!(detect_after(H2_PREFACE).await, Some(Protocol::Http2));
        let mut preface_and_frame = H2_PREFACE.to_vec();
        preface_and_frame.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        assert_eq!(
            detect_after(&preface_and_frame).await,
            Some(Protocol::Http2)
        );
        assert_eq!(
            detect_after(&H2_PREFACE[..10]).await,
            Some(Protocol::Undecided)
        );
    }

    #[tokio::test]
    async fn nothing_said_is_no_protocol() {
        let (client, server) = pair().await;
        drop(client);
        assert_eq!(detect(&server, Duration::from_secs(5)).await, None);

        let (_client, server) = pair().await;
        let started = std::time::Instant::now();
        assert_eq!(detect(&server, Duration::from_millis(50)).await, None);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[tokio::test]
    async fn detection_consumes_nothing() {
        use tokio::io::AsyncReadExt;
        let (mut client, mut server) = pair().await;
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!(
            detect(&server, Duration::from_secs(5)).await,
            Some(Protocol::Http1)
        );
        drop(client);
        let mut all = Vec::new();
        server.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"GET / HTTP/1.1\r\n\r\n");
    }
}
