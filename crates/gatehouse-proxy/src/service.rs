//! The request path, stage by stage: check framing → normalise the path → route → authenticate
//! → bound the body → rewrite headers (token out) → forward (spoofed identity out, verified
//! context in) → respond. Each stage either hands the request on or ends it
//! with a `ProxyError`, which `respond` renders.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request, Response, header};
use http_body_util::BodyExt;
use tracing::info;

use crate::body::{ProxyBody, RequestBody};
use crate::connection::Activity;
use crate::forward::{self, Outbound};
use crate::gateway::Shared;
use crate::headers::{self, ClientInfo};
use crate::normalize::normalize_path;
use crate::request_id::{RequestId, request_id};
use crate::respond::{ProxyError, is_grpc};
use crate::routing::RouteMatch;
use crate::{framing, runtime::Runtime};

/// What the listener knows about the connection a request came on.
#[derive(Debug)]
pub struct Connection {
    /// The client's address.
    pub peer: SocketAddr,
    /// The client's IP as a header value, for `X-Forwarded-For`.
    pub peer_ip: HeaderValue,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// In-flight tracking for the idle timeout.
    pub activity: Arc<Activity>,
    /// Which HTTP/1 request on this connection had both framing headers.
    pub ambiguity: Arc<crate::sniff::Ambiguity>,
    /// Requests seen on this connection so far.
    pub requests: std::sync::atomic::AtomicUsize,
}

/// A client's request body: hyper's, or none when our own HTTP/1 loop served the request.
pub trait ClientBody:
    http_body::Body<Data = bytes::Bytes, Error: Into<crate::body::BoxError>> + Send + Sync + 'static
{
}

impl<B> ClientBody for B where
    B: http_body::Body<Data = bytes::Bytes, Error: Into<crate::body::BoxError>>
        + Send
        + Sync
        + 'static
{
}

/// Which server parsed a request's head; it decides whether the head's header map may be kept
/// for the next request once this one has gone upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadSource {
    /// Our HTTP/1 loop, which takes at most 48 fields: the map's storage is bounded.
    Loop,
    /// hyper's servers. An HTTP/2 request may repeat one field thousands of times within its
    /// header-list limit, and a cleared map keeps the storage of the repeats: never kept.
    Hyper,
}

/// Handles one request; never fails, since every failure is itself a response.
pub async fn handle<B>(
    shared: Arc<Shared>,
    connection: Arc<Connection>,
    request: Request<B>,
    source: HeadSource,
) -> Result<Response<ProxyBody>, std::convert::Infallible>
where
    B: ClientBody,
{
    let started = Instant::now();
    let _load = crate::workers::RequestLoad::enter();
    let busy = connection.activity.start();
    let index = connection
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
        + 1;
    let ambiguous =
        request.version() <= http::Version::HTTP_11 && connection.ambiguity.is_ambiguous(index);
    let runtime = shared.runtime();
    let request_id = request_id(request.headers());
    let grpc = is_grpc(request.headers());
    let method = request.method().clone();
    let version = request.version();
    // Only the path is logged: a query string may carry credentials.
    let uri = request.uri().clone();

    let mut outcome = Outcome::default();
    let response = match proxy(
        &shared,
        &runtime,
        &connection,
        request,
        &request_id,
        Arrival { ambiguous, source },
        &mut outcome,
    )
    .await
    {
        Ok(response) => response,
        Err(error) => {
            outcome.error = Some(error.code());
            error.into_response(&request_id, grpc)
        }
    };
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let route_metrics = outcome
        .route
        .as_ref()
        .and_then(|r| runtime.route_metrics.get(r.index))
        .unwrap_or(&shared.unmatched);
    route_metrics.record(status, elapsed.as_secs_f64());
    let route = outcome
        .route
        .as_ref()
        .map_or("unmatched", |r| r.config.name.as_str());
    info!(
        target: "access",
        request_id = %request_id,
        method = %method,
        path = uri.path(),
        version = ?version,
        route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        upstream = outcome.upstream.as_ref().map_or("-", |u| u.config.name.as_str()),
        endpoint = outcome.endpoint.as_ref().map_or("-", |e| e.authority.as_str()),
        error = outcome.error.unwrap_or("-"),
        auth_failure = outcome.auth.unwrap_or("-"),
        authenticated = outcome.subject_present,
        client = %connection.peer.ip(),
    );
    let (parts, body) = response.into_parts();
    Ok(Response::from_parts(
        parts,
        crate::body::Guarded::new(body, busy).boxed(),
    ))
}

/// Requests in flight on a connection worker from which a fresh signature check yields before
/// forwarding.
///
/// A signature check is the longest stretch of CPU on the request path (13 to 40 µs). On a busy
/// worker, other requests wait behind it; yielding lets them run first, and the verified requests
/// then go upstream together, so an upstream on the same host is woken once per batch rather
/// than once per request (RS256 with every token new, 128 connections: 0.79 → 0.05 upstream
/// wake-ups per request, about 4 µs less CPU per request). On a quiet worker the yield would only
/// delay the request (4 connections: +17 µs median latency); from 8 requests in flight on, it
/// measured as a gain.
const BUSY_WORKER_REQUESTS: usize = 8;

/// What the server that parsed a request knew of it before the first stage.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    /// The framing sniffer saw both length headers on it.
    ambiguous: bool,
    /// Which server parsed its head.
    source: HeadSource,
}

#[derive(Default)]
struct Outcome {
    route: Option<Arc<crate::routing::Route>>,
    upstream: Option<Arc<crate::upstream::Upstream>>,
    endpoint: Option<Arc<crate::upstream::Endpoint>>,
    error: Option<&'static str>,
    auth: Option<&'static str>,
    subject_present: bool,
}

async fn proxy<B: ClientBody>(
    shared: &Shared,
    runtime: &Runtime,
    connection: &Connection,
    mut request: Request<B>,
    request_id: &RequestId,
    arrival: Arrival,
    outcome: &mut Outcome,
) -> Result<Response<ProxyBody>, ProxyError> {
    // 1. Framing: refuse anything whose length or host could be read two ways.
    if arrival.ambiguous {
        return Err(ProxyError::BadRequest("ambiguous_request"));
    }
    let authority = request.uri().authority().map(|a| a.as_str().to_owned());
    framing::check(request.headers(), request.version(), authority.as_deref())
        .map_err(|_| ProxyError::BadRequest("ambiguous_request"))?;

    // 2. Normalise the path once; this exact path is matched and forwarded.
    let path =
        normalize_path(request.uri().path()).map_err(|_| ProxyError::BadRequest("invalid_path"))?;
    let host_value = authority
        .as_deref()
        .and_then(|a| HeaderValue::from_str(a).ok())
        .or_else(|| request.headers().get(header::HOST).cloned());
    let host = host_value.as_ref().map(host_without_port).transpose()?;

    // 3. Route.
    let route = match runtime
        .router
        .find(host.as_deref(), &path, request.method())
    {
        RouteMatch::Found(route) => route,
        RouteMatch::MethodNotAllowed { allow } => return Err(ProxyError::MethodNotAllowed(allow)),
        RouteMatch::NotFound => return Err(ProxyError::RouteNotFound),
    };
    outcome.route = Some(route.clone());
    let upstream = runtime
        .upstreams
        .get(route.config.upstream)
        .ok_or(ProxyError::Internal)?;
    outcome.upstream = Some(upstream.clone());

    // 4. Authenticate: the route's policy decides whether a token is needed.
    let identity = match (&runtime.auth, route.config.auth.mode) {
        (_, gatehouse_auth::AuthMode::Public) => None,
        (Some(auth), _) => {
            let authentication = auth
                .authenticator
                .authenticate_detailed(request.headers(), &route.config.auth)
                .await
                .map_err(|rejection| {
                    outcome.auth = Some(rejection.reason());
                    ProxyError::Auth(rejection)
                })?;
            if authentication.verified_now && crate::workers::load() >= BUSY_WORKER_REQUESTS {
                tokio::task::yield_now().await;
            }
            authentication.caller
        }
        // Validation makes this unreachable: a non-public route needs providers. Fail closed.
        (None, _) => return Err(ProxyError::Internal),
    };
    outcome.subject_present = identity.is_some();

    // 5. Bound the body: a declared length over the limit is refused before any byte is read.
    let limit = route.config.max_body_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ProxyError::BodyTooLarge);
    }

    // Built once the request is admitted, and before the request is taken apart: the normalised
    // path may still borrow from it.
    let path_and_query = forwarded_target(&route.rewrite(&path), request.uri().query());

    // 6. Rewrite headers: hop-by-hop out first, then the token; the forwarder then clears every
    //    client-supplied identity header before writing the gateway's own. The order is what
    //    makes spoofing impossible.
    let websocket = request.version() == http::Version::HTTP_11
        && headers::is_websocket_upgrade(request.headers());
    let client_upgrade = if websocket {
        let slot = shared
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| ProxyError::OverCapacity)?;
        Some(forward::ClientUpgrade {
            on_upgrade: hyper::upgrade::on(&mut request),
            slot,
        })
    } else {
        None
    };
    let (mut parts, incoming) = request.into_parts();
    // Room for the forwarding headers at once: one growth of the map, not several (none for a
    // map our HTTP/1 loop made: it is sized for them already).
    parts.headers.reserve(headers::ADDED_UPSTREAM);
    headers::strip_hop_by_hop(&mut parts.headers, websocket);
    if !route.config.forward_authorization {
        parts.headers.remove(header::AUTHORIZATION);
    }
    // The forwarder replaces the whole reserved namespace with this context (or with nothing).
    let context = identity
        .as_ref()
        .map(|caller| caller.context().cloned())
        .transpose()
        .map_err(|e| ProxyError::Context(e.clone()))?;
    let listener = &runtime.config.listener;
    headers::set_forwarded(
        &mut parts.headers,
        &ClientInfo {
            ip: connection.peer_ip.clone(),
            scheme: connection.scheme,
            host: host_value,
        },
        request_id,
        listener.trust_forwarded_headers,
    );
    let mut uri = http::uri::Parts::default();
    uri.path_and_query = Some(
        http::uri::PathAndQuery::from_maybe_shared(bytes::Bytes::from(path_and_query))
            .map_err(|_| ProxyError::BadRequest("invalid_path"))?,
    );
    parts.uri = http::Uri::from_parts(uri).map_err(|_| ProxyError::BadRequest("invalid_path"))?;
    let body = RequestBody::new(incoming, limit, listener.body_read_timeout).boxed();

    // 7. Forward and respond.
    let outbound = Outbound {
        parts,
        context,
        body,
        client_upgrade,
        reuse_headers: arrival.source == HeadSource::Loop,
        timeout: route
            .config
            .request_timeout
            .unwrap_or(upstream.config.request_timeout),
    };
    match forward::forward(upstream, outbound, request_id, &shared.metrics).await {
        Ok(forwarded) => {
            outcome.endpoint = Some(forwarded.endpoint);
            Ok(forwarded.response)
        }
        Err((error, endpoint)) => {
            outcome.endpoint = endpoint;
            Err(error)
        }
    }
}

/// The target sent upstream: the (rewritten) path, then the client's query untouched.
fn forwarded_target(path: &str, query: Option<&str>) -> String {
    let mut target = String::with_capacity(path.len() + query.map_or(0, |q| q.len() + 1));
    target.push_str(path);
    if let Some(query) = query {
        target.push('?');
        target.push_str(query);
    }
    target
}

/// The host a request names, lower case and without port, for route matching. Borrowed when it
/// is already lower case, which is nearly always.
fn host_without_port(value: &HeaderValue) -> Result<std::borrow::Cow<'_, str>, ProxyError> {
    let invalid = ProxyError::BadRequest("invalid_host");
    let text = value
        .to_str()
        .map_err(|_| ProxyError::BadRequest("invalid_host"))?;
    let host = if let Some(rest) = text.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        let end = rest
            .find(']')
            .ok_or(ProxyError::BadRequest("invalid_host"))?;
        let after = &rest[end + 1..];
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return Err(invalid);
        }
        &text[..end + 2]
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) if is_port(port) => host,
            Some(_) => return Err(invalid),
            None => text,
        }
    };
    let valid = !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'[' | b']' | b':')
        });
    if !valid {
        return Err(invalid);
    }
    Ok(if host.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(host.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(host)
    })
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let host = |v: &'static str| {
            host_without_port(&HeaderValue::from_static(v))
                .map(|h| h.into_owned())
                .ok()
        };
        assert_eq!(host("shop.example").as_deref(), Some("shop.example"));
        assert_eq!(host("Shop.Example:8080").as_deref(), Some("shop.example"));
        assert_eq!(host("[::1]:8080").as_deref(), Some("[::1]"));
        assert_eq!(host("127.0.0.1:80").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("a:b"), None);
        assert_eq!(host("a b"), None);
        assert_eq!(host("user@host"), None);
        assert_eq!(host(""), None);
        assert_eq!(host("[::1]x"), None);
    }
}
