//! One client connection: HTTP/1.1 or HTTP/2 (prior knowledge) on the same port, closed when it
//! idles past its limit and drained gracefully on shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use gatehouse_config::ListenerConfig;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tracing::debug;

use crate::gateway::Shared;
use crate::service::{self, Connection};
use crate::upstream::endpoint_clock::now_ms;

/// Tracks requests in flight on a connection and when the last one ended, so an idle connection
/// can be told from a busy one.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    served: AtomicUsize,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            last_ms: AtomicU64::new(now_ms()),
        }
    }

    /// Marks a request in flight until the guard drops (at the end of its response body).
    pub fn start(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
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

fn builder(settings: &ListenerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(settings.max_header_bytes)
        .max_headers(settings.max_headers)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(settings.http2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(settings.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    builder
}

/// Serves one connection until the client closes it, it idles out, or shutdown drains it.
pub async fn serve<IO>(
    io: IO,
    peer: SocketAddr,
    scheme: &'static str,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _gauge = shared.metrics.connection_opened();
    let settings = shared.runtime().config.listener.clone();
    let activity = Arc::new(Activity::new());
    let ambiguity = Arc::new(crate::sniff::Ambiguity::default());
    let connection = Arc::new(Connection {
        peer,
        scheme,
        activity: activity.clone(),
        ambiguity: ambiguity.clone(),
        requests: AtomicUsize::new(0),
    });
    let handler = shared.clone();
    let service =
        service_fn(move |request| service::handle(handler.clone(), connection.clone(), request));
    let builder = builder(&settings);
    let io = crate::sniff::SniffedIo::new(io, ambiguity);
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);

    let mut draining = *shutdown.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
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
            _ = shutdown.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(Duration::from_millis(deadline)), if !draining => {
                let idle = activity
                    .idle_deadline(settings.header_read_timeout, settings.keepalive_timeout)
                    .is_some_and(|at| at <= now_ms());
                if idle {
                    debug!(%peer, "closing idle connection");
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
