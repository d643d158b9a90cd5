//! The tiny upstream: a fixed 200 on keep-alive that reflects the identity it received.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::Context as _;
use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// Response header carrying the `x-user-id` the upstream received (`-` when none).
pub const SEEN_USER: &str = "x-bench-user-id";
/// Response header saying whether an `Authorization` header reached the upstream.
pub const SEEN_AUTHORIZATION: &str = "x-bench-authorization";
/// Request header asking the upstream to reflect every `x-user-*` header it received, as
/// `x-bench-seen-NAME` (the functional check sends it; load requests do not).
pub const ECHO: &str = "x-bench-echo";
/// Prefix of the reflected identity headers.
pub const SEEN_PREFIX: &str = "x-bench-seen-";

/// Options of `upstream`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (loopback).
    #[arg(long)]
    listen: SocketAddr,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Serves until killed.
pub fn run(&Args { listen, threads }: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    crate::serve::accept_loop(&runtime, listen, |stream| async move {
        let _ = stream.set_nodelay(true);
        let _ = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service_fn(respond))
            .await;
    })
}

async fn respond(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let user = request
        .headers()
        .get("x-user-id")
        .cloned()
        .unwrap_or(HeaderValue::from_static("-"));
    let authorization = if request.headers().contains_key(http::header::AUTHORIZATION) {
        "present"
    } else {
        "absent"
    };
    let mut response = Response::new(Full::new(Bytes::from_static(b"ok\n")));
    let headers = response.headers_mut();
    if request.headers().contains_key(ECHO) {
        for (name, value) in request.headers() {
            if name.as_str().starts_with("x-user-")
                && let Ok(seen) = http::HeaderName::try_from(format!("{SEEN_PREFIX}{name}"))
            {
                headers.append(seen, value.clone());
            }
        }
    }
    headers.insert(SEEN_USER, user);
    headers.insert(SEEN_AUTHORIZATION, HeaderValue::from_static(authorization));
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    Ok(response)
}
