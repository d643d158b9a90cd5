//! Forwarding: sends the rewritten request to an endpoint of the route's upstream and turns
//! transport failures into the right answer (502 refused, 504 timed out, 503 nobody healthy).

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, Uri, Version, header};
use http_body::Body as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tracing::{debug, warn};

use gatehouse_config::UpstreamProtocol;

use crate::body::{self, Guarded, ProxyBody, RequestBodyError};
use crate::headers;
use crate::metrics::Metrics;
use crate::request_id::{REQUEST_ID, RequestId};
use crate::respond::ProxyError;
use crate::upstream::{Endpoint, Upstream};

/// A request ready to go upstream: headers rewritten, body bounded.
pub struct Outbound {
    /// Method, forwarded path and query, headers.
    pub parts: http::request::Parts,
    /// The bounded request body.
    pub body: ProxyBody,
    /// The client side of a WebSocket upgrade, when one was requested.
    pub client_upgrade: Option<ClientUpgrade>,
    /// Time allowed for the response head.
    pub timeout: Duration,
}

/// A client's pending WebSocket upgrade, with the connection slot the tunnel will hold: hyper
/// releases the client connection once it is upgraded, so without its own slot a tunnel would
/// escape `listen.max_connections` and the shutdown grace period.
pub struct ClientUpgrade {
    /// Resolves to the client's raw connection after the 101 response.
    pub on_upgrade: hyper::upgrade::OnUpgrade,
    /// A connection slot, held until the tunnel ends.
    pub slot: tokio::sync::OwnedSemaphorePermit,
}

/// What came back, and from where.
pub struct Forwarded {
    /// The response for the client.
    pub response: Response<ProxyBody>,
    /// The endpoint that answered.
    pub endpoint: Arc<Endpoint>,
}

/// Sends a request upstream. A bodyless request whose connection could not be opened is tried
/// once more on another endpoint: nothing reached the first one, so this is always safe.
pub async fn forward(
    upstream: &Upstream,
    outbound: Outbound,
    request_id: &RequestId,
    metrics: &Metrics,
) -> Result<Forwarded, (ProxyError, Option<Arc<Endpoint>>)> {
    let Outbound {
        mut parts,
        body,
        client_upgrade,
        timeout,
    } = outbound;
    match upstream.config.protocol {
        UpstreamProtocol::Http1 => parts.version = Version::HTTP_11,
        UpstreamProtocol::H2c => {
            parts.version = Version::HTTP_2;
            // The endpoint's authority becomes `:authority`; a Host header beside it would be a
            // second, conflicting answer to the same question.
            parts.headers.remove(header::HOST);
        }
    }
    let retry_parts = body.is_end_stream().then(|| clone_parts(&parts));
    let Some(first) = upstream.pick(None) else {
        metrics.upstream_error(&upstream.config.name, "no_healthy_endpoint");
        return Err((
            ProxyError::NoHealthyUpstream(upstream.config.name.clone()),
            None,
        ));
    };
    let outcome = attempt(upstream, &first, parts, body, timeout, metrics).await;
    let (result, endpoint) = match (outcome, retry_parts) {
        (Err(Attempt::ConnectFailed(err)), Some(parts)) => match upstream.pick(Some(&first)) {
            Some(second) => {
                debug!(upstream = %upstream.config.name, "retrying a refused connect on another endpoint");
                let outcome =
                    attempt(upstream, &second, parts, body::empty(), timeout, metrics).await;
                (outcome.map_err(Attempt::into_error), second)
            }
            None => (Err(err), first),
        },
        (outcome, _) => (outcome.map_err(Attempt::into_error), first),
    };
    match result {
        Ok((response, in_flight)) => {
            let response = finish_response(response, client_upgrade, request_id, in_flight);
            Ok(Forwarded { response, endpoint })
        }
        Err(e) => Err((e, Some(endpoint))),
    }
}

enum Attempt {
    ConnectFailed(ProxyError),
    Failed(ProxyError),
}

impl Attempt {
    fn into_error(self) -> ProxyError {
        match self {
            Attempt::ConnectFailed(e) | Attempt::Failed(e) => e,
        }
    }
}

async fn attempt(
    upstream: &Upstream,
    endpoint: &Arc<Endpoint>,
    mut parts: http::request::Parts,
    body: ProxyBody,
    timeout: Duration,
    metrics: &Metrics,
) -> Result<(Response<Incoming>, crate::upstream::InFlight), Attempt> {
    let mut uri = std::mem::take(&mut parts.uri).into_parts();
    uri.scheme = Some(http::uri::Scheme::HTTP);
    uri.authority = Some(endpoint.authority.clone());
    if uri.path_and_query.is_none() {
        uri.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    parts.uri = Uri::from_parts(uri).map_err(|_| Attempt::Failed(ProxyError::Internal))?;
    let in_flight = endpoint.start();
    let request = Request::from_parts(parts, body);
    let name = upstream.config.name.as_str();
    let health = &upstream.config.health;
    let fail = |kind: &'static str| {
        metrics.upstream_error(name, kind);
        if endpoint.record_failure(health) {
            warn!(upstream = name, endpoint = %endpoint.authority, "endpoint ejected after consecutive failures");
        }
    };
    match tokio::time::timeout(timeout, upstream.client.request(request)).await {
        Ok(Ok(response)) => {
            endpoint.record_success();
            Ok((response, in_flight))
        }
        Err(_elapsed) => {
            fail("timeout");
            Err(Attempt::Failed(ProxyError::UpstreamTimeout))
        }
        Ok(Err(error)) => {
            if let Some(body_error) = body::find_request_body_error(&error) {
                // The client's fault, not the endpoint's: no health penalty.
                return Err(Attempt::Failed(match body_error {
                    RequestBodyError::TooLarge => ProxyError::BodyTooLarge,
                    RequestBodyError::Timeout => ProxyError::BodyTimeout,
                }));
            }
            if error.is_connect() {
                if has_timed_out(&error) {
                    fail("connect_timeout");
                    return Err(Attempt::Failed(ProxyError::UpstreamTimeout));
                }
                fail("connect");
                debug!(upstream = name, endpoint = %endpoint.authority, error = %error, "connect failed");
                return Err(Attempt::ConnectFailed(ProxyError::UpstreamConnect));
            }
            fail("protocol");
            debug!(upstream = name, endpoint = %endpoint.authority, error = %error, "upstream exchange failed");
            Err(Attempt::Failed(ProxyError::UpstreamFailed))
        }
    }
}

fn has_timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        current = e.source();
    }
    false
}

fn clone_parts(parts: &http::request::Parts) -> http::request::Parts {
    let mut request = Request::new(());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    request.into_parts().0
}

fn finish_response(
    response: Response<Incoming>,
    client_upgrade: Option<ClientUpgrade>,
    request_id: &RequestId,
    in_flight: crate::upstream::InFlight,
) -> Response<ProxyBody> {
    let switching = response.status() == http::StatusCode::SWITCHING_PROTOCOLS;
    let (mut parts, incoming) = response.into_parts();
    let upgraded =
        switching && client_upgrade.is_some() && headers::is_websocket_upgrade(&parts.headers);
    headers::strip_hop_by_hop(&mut parts.headers, upgraded);
    parts.headers.insert(REQUEST_ID, request_id.header());
    if upgraded && let Some(client_upgrade) = client_upgrade {
        let upstream_response = Response::from_parts(parts.clone(), incoming);
        tokio::spawn(tunnel(client_upgrade, upstream_response, in_flight));

        return Response::from_parts(parts, body::empty());
    }
    use http_body_util::BodyExt;
    let body = Guarded::new(incoming, in_flight)
        .map_err(Into::into)
        .boxed();
    Response::from_parts(parts, body)
}

/// Copies bytes both ways between an upgraded client and upstream connection.
async fn tunnel(
    client: ClientUpgrade,
    upstream: Response<Incoming>,
    _in_flight: crate::upstream::InFlight,
) {
    let ClientUpgrade {
        on_upgrade,
        slot: _slot,
    } = client;
    let (client, upstream) = match tokio::try_join!(on_upgrade, hyper::upgrade::on(upstream)) {
        Ok(pair) => pair,
        Err(e) => {
            debug!(error = %e, "upgrade failed");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut upstream = TokioIo::new(upstream);
    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        debug!(error = %e, "upgraded connection ended with an error");
    }
}
