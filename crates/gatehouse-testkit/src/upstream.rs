//! An upstream that answers with what it received, so a test can assert exactly what the
//! gateway forwarded.
//!
//! Paths: `/status/N` answers status N; `/delay/MS` answers after MS milliseconds; `/stream/N/SIZE`
//! streams N chunks of SIZE bytes; `/echo` streams the request body back; anything else answers a
//! JSON description of the request (method, path, query, version, headers, body length).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type Body = BoxBody<Bytes, hyper::Error>;

/// A running echo upstream; stops accepting when dropped.
pub struct EchoServer {
    /// Where it listens.
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl EchoServer {
    /// Starts an upstream on a free loopback port, speaking HTTP/1.1 and h2c.
    pub async fn start() -> Self {
        Self::start_with_name("echo").await
    }

    /// Starts an upstream that reports `name` in an `x-upstream` response header.
    pub async fn start_with_name(name: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("upstream address");
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let counter = counter.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        answer(name, request)
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        EchoServer { addr, hits, task }
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// `127.0.0.1:PORT`, as an upstream endpoint in a gateway config.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

async fn answer(
    name: &'static str,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut response = match segments.as_slice() {
        ["echo"] => {
            let body = request.into_body().boxed();
            Response::new(body)
        }
        ["stream", n, size] => {
            let n: usize = n.parse().unwrap_or(1);
            let size: usize = size.parse().unwrap_or(1);
            let chunks =
                futures_util::stream::iter((0..n).map(move |_| {
                    Ok::<_, hyper::Error>(Frame::data(Bytes::from(vec![b'x'; size])))
                }));
            Response::new(StreamBody::new(chunks).boxed())
        }
        ["delay", ms] => {
            let ms: u64 = ms.parse().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            describe(request, StatusCode::OK).await
        }
        ["status", code] => {
            let status = code
                .parse()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::OK);
            describe(request, status).await
        }
        _ => describe(request, StatusCode::OK).await,
    };
    response
        .headers_mut()
        .insert("x-upstream", http::HeaderValue::from_static(name));
    Ok(response)
}

async fn describe(request: Request<Incoming>, status: StatusCode) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &parts.headers {
        headers
            .entry(name.as_str().to_owned())
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let body_bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes().len() as i64,
        Err(_) => -1,
    };
    let json = serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "version": format!("{:?}", parts.version),
        "headers": headers,
        "body_bytes": body_bytes,
    });
    let mut response = Response::new(full(json.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
