//! Forwarding: sends the rewritten request to an endpoint of the route's upstream and turns
//! transport failures into the right answer (502 refused, 504 timed out, 503 nobody healthy).

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, Uri, Version, header};
use http_body::Body as _;
use hyper_util::rt::TokioIo;
use tracing::{debug, warn};

use gatehouse_config::UpstreamProtocol;
use gatehouse_context::EncodedContext;

use crate::body::{self, Guarded, ProxyBody, RequestBodyError};
use crate::headers;
use crate::metrics::Metrics;
use crate::request_id::{REQUEST_ID, RequestId};
use crate::respond::ProxyError;
use crate::upstream::http1::{self, Http1Error};
use crate::upstream::{Endpoint, Upstream};

/// A request ready to go upstream: headers rewritten, body bounded.
pub struct Outbound {
    /// Method, forwarded path and query, headers; `forward` removes the client's `x-user-*` ones.
    pub parts: http::request::Parts,
    /// The caller's verified context, written in place of the reserved namespace; `None` for an
    /// anonymous request.
    pub context: Option<Arc<EncodedContext>>,
    /// The bounded request body.
    pub body: ProxyBody,
    /// The client side of a WebSocket upgrade, when one was requested.
    pub client_upgrade: Option<ClientUpgrade>,
    /// Whether the header map may be kept for reuse once the request has gone out (only a map
    /// of bounded size: see `service::HeadSource`).
    pub reuse_headers: bool,
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
        context,
        body,
        client_upgrade,
        reuse_headers,
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
    // The reserved namespace is the gateway's alone: whatever the client sent in it goes here,
    // whoever the caller, and the verified context, if any, takes its place. hyper's client (h2c)
    // serialises the map, so the context goes into it; our HTTP/1 writer appends the context's
    // ready-made lines after the map instead.
    gatehouse_context::strip_reserved(&mut parts.headers);
    let lines = match (&upstream.client, context.as_deref()) {
        (Some(_), Some(context)) => {
            context.write(&mut parts.headers);
            &[][..]
        }
        (None, Some(context)) => context.lines(),
        (_, None) => &[][..],
    };
    // Nothing of a bodyless request reached an endpoint it could not connect to: it can go to
    // another one.
    let replayable = body.is_end_stream();
    let Some(first) = upstream.pick(None) else {
        metrics.upstream_error(&upstream.config.name, "no_healthy_endpoint");
        return Err((
            ProxyError::NoHealthyUpstream(upstream.config.name.clone()),
            None,
        ));
    };
    let outcome = attempt(upstream, &first, &parts, lines, body, timeout, metrics).await;
    let (result, endpoint) = match outcome {
        Err(Attempt::ConnectFailed(err)) if replayable => match upstream.pick(Some(&first)) {
            Some(second) => {
                debug!(upstream = %upstream.config.name, "retrying a refused connect on another endpoint");
                let outcome = attempt(
                    upstream,
                    &second,
                    &parts,
                    lines,
                    body::empty(),
                    timeout,
                    metrics,
                )
                .await;
                (outcome.map_err(Attempt::into_error), second)
            }
            None => (Err(err), first),
        },
        outcome => (outcome.map_err(Attempt::into_error), first),
    };
    // The request's head has been written (or copied for h2c) by now.
    if reuse_headers {
        crate::headers::reuse::recycle(parts.headers);
    }
    match result {
        Ok(answered) => {
            let response = finish_response(answered, client_upgrade, request_id);
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

/// A response head from an endpoint, its body still streaming.
struct Answered {
    response: Response<ProxyBody>,
    upgraded: Option<http1::RawUpgrade>,
    in_flight: crate::upstream::InFlight,
}

async fn attempt(
    upstream: &Upstream,
    endpoint: &Arc<Endpoint>,
    parts: &http::request::Parts,
    context_lines: &[u8],
    body: ProxyBody,
    timeout: Duration,
    metrics: &Metrics,
) -> Result<Answered, Attempt> {
    let in_flight = endpoint.start();
    let name = upstream.config.name.as_str();
    let health = &upstream.config.health;
    let fail = |kind: &'static str| {
        metrics.upstream_error(name, kind);
        if endpoint.record_failure(health) {
            warn!(upstream = name, endpoint = %endpoint.authority, "endpoint ejected after consecutive failures");
        }
    };
    let exchange = match &upstream.client {
        Some(client) => h2c(client, endpoint, clone_parts(parts), body, timeout).await,
        None => {
            let settings = upstream.http1_settings();
            // Pinned where it is made, and only a reference given to the `Timeout`: the
            // exchange's future is most of a KiB, and each move of it is a copy on every request.
            // `Timeout` itself, not a race against a sleep, because it checks its deadline even
            // when the exchange has used up the task's poll budget (an upstream sending 1xx heads
            // as fast as it can would otherwise keep the timer from ever being polled).
            let sent = std::pin::pin!(http1::send(endpoint, settings, parts, context_lines, body));
            match tokio::time::timeout(timeout, sent).await {
                Ok(result) => result
                    .map(|sent| (sent.response, sent.upgraded))
                    .map_err(Failure::Http1),
                Err(_) => Err(Failure::Timeout),
            }
        }
    };
    let failure = match exchange {
        Ok((response, upgraded)) => {
            endpoint.record_success();
            return Ok(Answered {
                response,
                upgraded,
                in_flight,
            });
        }
        Err(failure) => failure,
    };
    Err(match failure {
        Failure::Timeout | Failure::Http1(Http1Error::ConnectTimeout) => {
            let connecting = matches!(failure, Failure::Http1(_));
            fail(if connecting {
                "connect_timeout"
            } else {
                "timeout"
            });
            Attempt::Failed(ProxyError::UpstreamTimeout)
        }
        // The client's fault, not the endpoint's: no health penalty.
        Failure::Http1(Http1Error::RequestBody(RequestBodyError::TooLarge)) => {
            Attempt::Failed(ProxyError::BodyTooLarge)
        }
        Failure::Http1(Http1Error::RequestBody(RequestBodyError::Timeout)) => {
            Attempt::Failed(ProxyError::BodyTimeout)
        }
        Failure::Http1(Http1Error::ClientBody) => {
            Attempt::Failed(ProxyError::BadRequest("invalid_body"))
        }
        Failure::Http1(Http1Error::Connect(error)) => {
            fail("connect");
            debug!(upstream = name, endpoint = %endpoint.authority, %error, "connect failed");
            Attempt::ConnectFailed(ProxyError::UpstreamConnect)
        }
        Failure::Http1(error) => {
            fail("protocol");
            debug!(upstream = name, endpoint = %endpoint.authority, %error, "upstream exchange failed");
            Attempt::Failed(ProxyError::UpstreamFailed)
        }
        Failure::Hyper(error) => hyper_failure(&error, fail, name, endpoint),
    })
}

/// Why an attempt failed, by client.
enum Failure {
    Timeout,
    Http1(Http1Error),
    Hyper(hyper_util::client::legacy::Error),
}

/// One exchange with an `h2c` endpoint through hyper's pooling client.
async fn h2c(
    client: &crate::upstream::UpstreamClient,
    endpoint: &Endpoint,
    mut parts: http::request::Parts,
    body: ProxyBody,
    timeout: Duration,
) -> Result<(Response<ProxyBody>, Option<http1::RawUpgrade>), Failure> {
    let mut uri = std::mem::take(&mut parts.uri).into_parts();
    uri.scheme = Some(http::uri::Scheme::HTTP);
    uri.authority = Some(endpoint.authority.clone());
    if uri.path_and_query.is_none() {
        uri.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    // Every part is present and was valid on its own; a failure here is still a clean 502.
    parts.uri = Uri::from_parts(uri)
        .map_err(|_| Failure::Http1(Http1Error::Protocol("cannot form the upstream URI")))?;
    let request = Request::from_parts(parts, body);
    match tokio::time::timeout(timeout, client.request(request)).await {
        Ok(Ok(response)) => {
            use http_body_util::BodyExt;
            Ok((response.map(|b| b.map_err(Into::into).boxed()), None))
        }
        Ok(Err(error)) => Err(Failure::Hyper(error)),
        Err(_) => Err(Failure::Timeout),
    }
}

fn hyper_failure(
    error: &hyper_util::client::legacy::Error,
    fail: impl Fn(&'static str),
    name: &str,
    endpoint: &Endpoint,
) -> Attempt {
    if let Some(body_error) = body::find_request_body_error(error) {
        // The client's fault, not the endpoint's: no health penalty.
        return Attempt::Failed(match body_error {
            RequestBodyError::TooLarge => ProxyError::BodyTooLarge,
            RequestBodyError::Timeout => ProxyError::BodyTimeout,
        });
    }
    if error.is_connect() {
        if has_timed_out(error) {
            fail("connect_timeout");
            return Attempt::Failed(ProxyError::UpstreamTimeout);
        }
        fail("connect");
        debug!(upstream = name, endpoint = %endpoint.authority, %error, "connect failed");
        return Attempt::ConnectFailed(ProxyError::UpstreamConnect);
    }
    fail("protocol");
    debug!(upstream = name, endpoint = %endpoint.authority, %error, "upstream exchange failed");
    Attempt::Failed(ProxyError::UpstreamFailed)
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
    answered: Answered,
    client_upgrade: Option<ClientUpgrade>,
    request_id: &RequestId,
) -> Response<ProxyBody> {
    let Answered {
        response,
        upgraded,
        in_flight,
    } = answered;
    let (mut parts, body) = response.into_parts();
    let switching = parts.status == http::StatusCode::SWITCHING_PROTOCOLS;
    let websocket = switching && headers::is_websocket_upgrade(&parts.headers);
    headers::strip_hop_by_hop(&mut parts.headers, websocket);
    parts.headers.insert(REQUEST_ID, request_id.header());
    match (websocket, client_upgrade, upgraded) {
        (true, Some(client), Some(upstream)) => {
            tokio::spawn(tunnel(client, upstream, in_flight));
            Response::from_parts(parts, body::empty())
        }
        // A switch nobody asked for, or to something other than WebSocket, cannot be relayed.
        _ if switching => {
            debug!("upstream switched protocols without a WebSocket upgrade to relay");
            ProxyError::UpstreamFailed.into_response(request_id, false)
        }
        _ => {
            use http_body_util::BodyExt;
            Response::from_parts(parts, Guarded::new(body, in_flight).boxed())
        }
    }
}

/// Copies bytes both ways between an upgraded client and upstream connection.
async fn tunnel(
    client: ClientUpgrade,
    upstream: http1::RawUpgrade,
    _in_flight: crate::upstream::InFlight,
) {
    use tokio::io::AsyncWriteExt;
    let ClientUpgrade {
        on_upgrade,
        slot: _slot,
    } = client;
    let client = match on_upgrade.await {
        Ok(client) => client,
        Err(e) => {
            debug!(error = %e, "upgrade failed");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let http1::RawUpgrade {
        io: mut upstream,
        read_ahead,
    } = upstream;
    // The upstream may have spoken first, in the same segment as its 101.
    if !read_ahead.is_empty()
        && let Err(e) = client.write_all(&read_ahead).await
    {
        debug!(error = %e, "upgraded connection ended with an error");
        return;
    }
    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        debug!(error = %e, "upgraded connection ended with an error");
    }
}
