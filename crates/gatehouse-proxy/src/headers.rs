//! Header rewriting between client and upstream. Hop-by-hop headers, and those a peer names in
//! `Connection`, are removed first; only then does the gateway write its own, so no peer can use
//! `Connection` to delete a header the gateway set.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::request_id::{REQUEST_ID, RequestId};

pub mod reuse;

/// Fields the gateway adds to a request it forwards (`X-Forwarded-For/Proto/Host` and the request
/// id), so a request's map is sized for them from the start.
pub const ADDED_UPSTREAM: usize = 4;

/// Headers that describe one connection, never the message (RFC 9110 §7.6.1), plus the
/// non-standard ones that servers still honour.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "upgrade",
    "trailer",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Headers a `Connection` list may not remove: dropping them would change how the message is
/// framed or routed upstream.
const PROTECTED: [&str; 2] = ["host", "content-length"];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

/// What the gateway knows about the client connection, for `X-Forwarded-*`.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The peer's IP address, rendered once per connection.
    pub ip: HeaderValue,
    /// `http` or `https`, as the client reached the gateway.
    pub scheme: &'static str,
    /// The host the client asked for, if any.
    pub host: Option<HeaderValue>,
}

/// Whether the request asks for a WebSocket upgrade (the only upgrade forwarded; an `h2c`
/// upgrade in particular would let a client tunnel past every later request check).
pub fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    upgrade && connection_tokens(headers).iter().any(|t| t == "upgrade")
}

/// The lower-cased tokens of every `Connection` header.
fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Removes hop-by-hop headers and those named in `Connection`. `te: trailers` survives because
/// gRPC requires it end to end; `keep_upgrade` keeps a WebSocket handshake intact.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // Most messages carry none of these: one pass over the names, without hashing any, tells.
    // Names listed in `Connection` need `Connection` itself, which is one of them.
    if !keep_upgrade
        && !headers
            .keys()
            .any(|name| HOP_BY_HOP.contains(&name.as_str()))
    {
        return;
    }
    let keep_te = headers
        .get_all(header::TE)
        .iter()
        .all(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"))
        && headers.contains_key(header::TE);
    for name in connection_tokens(headers) {
        if PROTECTED.contains(&name.as_str()) {
            continue;
        }
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
            headers.remove(name);
        }
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if keep_te {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
    if keep_upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    }
}

/// Appends one header field as an HTTP/1.1 line, for the writers that serialise a head
/// themselves (our server loop's responses, our client's requests).
pub(crate) fn push_line(out: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    out.extend_from_slice(name.as_str().as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, as a `Content-Length` value: the formatting machinery would cost
/// several times what the rest of a small head costs to write.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut len = 0;
    for slot in digits.iter_mut().rev() {
        // `n % 10` is below 10, so the narrowing loses nothing.
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[digits.len() - len..]);
}

/// A peer address as the value of `X-Forwarded-For`.
pub fn peer_ip_header(ip: IpAddr) -> HeaderValue {
    // An IP address's text form is always a valid header value.
    HeaderValue::from_str(&ip.to_string()).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Writes `X-Forwarded-For/Proto/Host` and the request id. Unless `trust_forwarded` is set,
/// whatever the client sent in these (and in `Forwarded` and `X-Real-IP`) is replaced: at the
/// edge, the client is the only one who could have written them.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    client: &ClientInfo,
    request_id: &RequestId,
    trust_forwarded: bool,
) {
    if trust_forwarded {
        let previous: Vec<&str> = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let xff = if previous.is_empty() {
            client.ip.clone()
        } else {
            let ip = client.ip.to_str().unwrap_or_default();
            let joined = format!("{}, {ip}", previous.join(", "));
            HeaderValue::from_str(&joined).unwrap_or_else(|_| client.ip.clone())
        };
        headers.insert(X_FORWARDED_FOR, xff);
        if !headers.contains_key(X_FORWARDED_PROTO) {
            headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(client.scheme));
        }
        if !headers.contains_key(X_FORWARDED_HOST)
            && let Some(host) = &client.host
        {
            headers.insert(X_FORWARDED_HOST, host.clone());
        }
    } else {
        headers.remove(header::FORWARDED);
        headers.remove(X_REAL_IP);
        // `insert` replaces every value the client sent under the same name.
        headers.insert(X_FORWARDED_FOR, client.ip.clone());
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(client.scheme));
        match &client.host {
            Some(host) => headers.insert(X_FORWARDED_HOST, host.clone()),
            None => headers.remove(X_FORWARDED_HOST),
        };
    }
    headers.insert(REQUEST_ID, request_id.header());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid(id: &'static str) -> RequestId {
        let mut h = HeaderMap::new();
        h.insert(REQUEST_ID, HeaderValue::from_static(id));
        crate::request_id::request_id(&h)
    }

    fn client() -> ClientInfo {
        ClientInfo {
            ip: peer_ip_header(IpAddr::from([127, 0, 0, 9])),
            scheme: "http",
            host: Some(HeaderValue::from_static("shop.example")),
        }
    }

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        for n in [
            0,
            7,
            9,
            10,
            99,
            100,
            1_234_567,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn connection_cannot_remove_gateway_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("x-request-id, x-forwarded-for, x-foo, host, content-length"),
        );
        h.insert("x-foo", HeaderValue::from_static("1"));
        h.insert("host", HeaderValue::from_static("shop.example"));
        h.insert("content-length", HeaderValue::from_static("0"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("te", HeaderValue::from_static("gzip"));
        strip_hop_by_hop(&mut h, false);
        set_forwarded(&mut h, &client(), &rid("rid-1"), false);
        assert!(!h.contains_key("x-foo"));
        assert!(!h.contains_key("connection"));
        assert!(!h.contains_key("keep-alive"));
        assert!(!h.contains_key("te"));
        assert_eq!(h["host"], "shop.example");
        assert_eq!(h["content-length"], "0");
        assert_eq!(h["x-request-id"], "rid-1");
        assert_eq!(h["x-forwarded-for"], "127.0.0.9");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "shop.example");
    }

    #[test]
    fn te_trailers_survives_for_grpc() {
        let mut h = HeaderMap::new();
        h.insert("te", HeaderValue::from_static("trailers"));
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h["te"], "trailers");
    }

    #[test]
    fn client_forwarded_headers_are_replaced_unless_trusted() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.insert("x-forwarded-host", HeaderValue::from_static("evil.example"));
        h.insert("forwarded", HeaderValue::from_static("for=6.6.6.6"));
        h.insert("x-real-ip", HeaderValue::from_static("6.6.6.6"));
        let mut untrusted = h.clone();
        // Every value under a name goes, not only the first.
        untrusted.append("x-forwarded-for", HeaderValue::from_static("7.7.7.7"));
        untrusted.append("x-forwarded-proto", HeaderValue::from_static("https"));
        untrusted.append("x-forwarded-proto", HeaderValue::from_static("gopher"));
        let mut hostless = untrusted.clone();
        set_forwarded(&mut untrusted, &client(), &rid("r"), false);
        let all = |h: &HeaderMap, name: &str| -> Vec<String> {
            h.get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(all(&untrusted, "x-forwarded-for"), ["127.0.0.9"]);
        assert_eq!(all(&untrusted, "x-forwarded-proto"), ["http"]);
        assert_eq!(all(&untrusted, "x-forwarded-host"), ["shop.example"]);
        assert!(!untrusted.contains_key("forwarded"));
        assert!(!untrusted.contains_key("x-real-ip"));
        // A request without a host of its own keeps none of the client's either.
        let no_host = ClientInfo {
            host: None,
            ..client()
        };
        set_forwarded(&mut hostless, &no_host, &rid("r"), false);
        assert!(!hostless.contains_key("x-forwarded-host"));
        assert_eq!(all(&hostless, "x-forwarded-for"), ["127.0.0.9"]);

        set_forwarded(&mut h, &client(), &rid("r"), true);
        assert_eq!(h["x-forwarded-for"], "6.6.6.6, 127.0.0.9");
        assert_eq!(h["x-forwarded-host"], "evil.example");
    }

    #[test]
    fn websocket_upgrade_detection() {
        let mut h = HeaderMap::new();
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(is_websocket_upgrade(&h));
        h.insert("upgrade", HeaderValue::from_static("h2c"));
        assert!(!is_websocket_upgrade(&h));
        strip_hop_by_hop(&mut h, false);
        assert!(!h.contains_key("upgrade"));
    }
}
