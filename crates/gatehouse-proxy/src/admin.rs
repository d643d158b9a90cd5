//! The admin plane, on its own port: liveness, readiness and Prometheus metrics.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::debug;

use crate::body::{self, ProxyBody};
use crate::gateway::Shared;

/// Serves the admin endpoints until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    debug!(error = %e, "admin accept failed");
                    continue;
                }
            },
            _ = stop.wait_for(|s| *s) => return,
        };
        let shared = shared.clone();
        let registry = registry.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = answer(&shared, &registry, &request);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let result = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(5))
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = result {
                debug!(%peer, %error, "admin connection ended with an error");
            }
        });
    }
}

fn answer(
    shared: &Shared,
    registry: &Registry,
    request: &Request<Incoming>,
) -> Response<ProxyBody> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    match request.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => {
            if shared.is_ready() {
                text(StatusCode::OK, "ready\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
            }
        }
        "/metrics" => {
            let mut out = String::new();
            // The authenticator changes when providers are reloaded, so its metrics are encoded
            // from the current generation at each scrape, after the fixed registry.
            let mut auth_registry = Registry::default();
            if let Some(auth) = &shared.runtime().auth {
                auth.authenticator.register_metrics(&mut auth_registry);
            }
            let encoded = prometheus_client::encoding::text::encode_registry(&mut out, registry)
                .and_then(|()| {
                    prometheus_client::encoding::text::encode_registry(&mut out, &auth_registry)
                })
                .and_then(|()| prometheus_client::encoding::text::encode_eof(&mut out));
            match encoded {
                Ok(()) => Response::builder()
                    .header(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )
                    .body(body::full(Bytes::from(out)))
                    .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "error\n")),
                Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n"),
            }
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn text(status: StatusCode, message: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(body::full(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
