//! What crosses the gateway: paths, headers, bodies and protocols, checked against real
//! upstreams on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bytes::Bytes;
use gatehouse_testkit::{EchoServer, TestClient, TestGateway, raw_exchange};
use http::{Method, Request, StatusCode};

fn config(upstream: &str) -> String {
    format!(
        r#"
listen:
  address: 127.0.0.1:0
  max_header_bytes: 8KiB
  header_read_timeout: 500ms
  body_read_timeout: 300ms
  max_body_bytes: 1MiB
upstreams:
  echo:
    endpoints: ["{upstream}"]
  echo2:
    protocol: h2c
    endpoints: ["{upstream}"]
routes:
  - name: orders
    match: {{ prefix: /api/orders }}
    upstream: echo
    rewrite_prefix: /orders
  - name: api
    match: {{ prefix: /api }}
    upstream: echo
  - name: h2
    match: {{ prefix: /h2 }}
    upstream: echo2
  - name: big
    match: {{ prefix: /echo }}
    upstream: echo
    max_body_bytes: 64MiB
  - name: stream
    match: {{ prefix: /stream }}
    upstream: echo
  - name: readonly
    match: {{ prefix: /ro, methods: [GET, HEAD] }}
    upstream: echo
  - name: hosted
    match: {{ prefix: /, host: shop.example }}
    upstream: echo
    rewrite_prefix: /shop
"#
    )
}

async fn setup() -> (EchoServer, TestGateway) {
    let upstream = EchoServer::start().await;
    let gateway = TestGateway::start(&config(&upstream.endpoint())).await;
    (upstream, gateway)
}

#[tokio::test]
async fn forwards_path_query_and_sets_forwarding_headers() {
    let (_upstream, gw) = setup().await;
    let client = TestClient::http1();
    let response = client
        .send(
            Request::get(gw.url("/api/orders/7?expand=items&x=%20"))
                .header("x-request-id", "trace-abc")
                .header("x-forwarded-for", "6.6.6.6")
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    let seen = response.json();
    assert_eq!(seen["path"], "/orders/7");
    assert_eq!(seen["query"], "expand=items&x=%20");
    assert_eq!(response.seen_header("x-request-id"), ["trace-abc"]);
    assert_eq!(response.seen_header("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(response.seen_header("x-forwarded-proto"), ["http"]);
    assert_eq!(
        response.seen_header("x-forwarded-host"),
        [gw.addr.to_string()]
    );
    assert_eq!(response.headers["x-request-id"], "trace-abc");

    // A malformed id is replaced, and the replacement is what the upstream and client see.
    let response = client
        .send(
            Request::get(gw.url("/api/x"))
                .header("x-request-id", "bad id with spaces")
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let id = response.headers["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36);
    assert_eq!(response.seen_header("x-request-id"), [id]);
}

#[tokio::test]
async fn routing_is_segment_aware_and_unmatched_is_json_404() {
    let (upstream, gw) = setup().await;
    let client = TestClient::http1();
    let response = client.get(&gw.url("/apix")).await.unwrap();
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let body = response.json();
    assert_eq!(body["error"]["code"], "route_not_found");
    assert_eq!(
        body["error"]["request_id"],
        response.headers["x-request-id"].to_str().unwrap()
    );
    assert_eq!(response.headers["content-type"], "application/json");
    assert_eq!(upstream.hits(), 0);

    let response = client.get(&gw.url("/api")).await.unwrap();
    assert_eq!(response.json()["path"], "/api");

    let response = client
        .send(Request::post(gw.url("/ro/x")).body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers["allow"], "GET, HEAD");

    let response = client
        .send(
            Request::get(gw.url("/anything"))
                .header("host", "SHOP.example:8080")
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.json()["path"], "/shop/anything");
}

#[tokio::test]
async fn paths_are_normalised_before_matching_and_forwarded_as_matched() {
    let (upstream, gw) = setup().await;
    // Raw requests: an HTTP library would normalise some of these itself.
    let cases: &[(&str, u16, Option<&str>)] = &[
        ("/api/orders/../orders/1", 200, Some("/orders/1")),
        ("/api//orders///2", 200, Some("/orders/2")),
        ("/api/./orders/3", 200, Some("/orders/3")),
        ("/%61pi/%6Frders/4", 200, Some("/orders/4")),
        ("/api/orders/%2e%2e/%2e%2e/ro", 200, Some("/ro")),
        ("/api/x/../../ro/y", 200, Some("/ro/y")),
        ("/api/a%20b", 200, Some("/api/a%20b")),
        ("/api%2forders", 400, None),
        ("/api/orders%2F..%2Fadmin", 400, None),
        ("/api/%5c..%5cadmin", 400, None),
        ("/api/%00", 400, None),
        ("/api/%zz", 400, None),
        ("/api/..;/ro", 400, None),
        ("/../../../api/z", 200, Some("/api/z")),
    ];
    for (path, status, forwarded) in cases {
        let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status}")),
            "{path}: {response}"
        );
        if let Some(forwarded) = forwarded {
            assert!(
                response.contains(&format!("\"path\":\"{forwarded}\"")),
                "{path} should reach {forwarded}: {response}"
            );
        }
    }
    let hits_before = upstream.hits();
    let _ = raw_exchange(
        gw.addr,
        b"GET /api%2f..%2fsecret HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        upstream.hits(),
        hits_before,
        "a refused path never reaches the upstream"
    );
}

#[tokio::test]
async fn hop_by_hop_headers_are_removed_and_cannot_remove_gateway_headers() {
    let (_upstream, gw) = setup().await;
    let request = "GET /api/h HTTP/1.1\r\nHost: t\r\nConnection: close, x-foo, x-request-id, x-forwarded-for\r\n\
                   x-foo: secret\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\nTE: gzip\r\n\
                   Upgrade: h2c\r\nx-keep: yes\r\n\r\n";
    let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body = body.lines().find(|l| l.starts_with('{')).unwrap_or(body);
    let seen: serde_json::Value = serde_json::from_str(body).expect(&response);
    let headers = seen["headers"].as_object().unwrap();
    for gone in [
        "x-foo",
        "keep-alive",
        "proxy-authorization",
        "te",
        "upgrade",
        "connection",
    ] {
        assert!(!headers.contains_key(gone), "{gone} was forwarded: {seen}");
    }
    assert_eq!(seen["headers"]["x-keep"][0], "yes");
    assert!(headers.contains_key("x-request-id"));
    assert_eq!(seen["headers"]["x-forwarded-for"][0], "127.0.0.1");
}

#[tokio::test]
async fn ambiguous_framing_is_refused_and_never_forwarded() {
    let (upstream, gw) = setup().await;
    let cases: &[&str] = &[
        "POST /api/a HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /api/a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        "POST /api/a HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        "POST /api/a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "POST /api/a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
        "GET /api/a HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n",
        "GET /api/a HTTP/1.1\r\nHost: t\r\nBad\x01Name: x\r\n\r\n",
        "GET /api/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /api/a HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n",
        "GET /api/a HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
    ];
    for request in cases {
        let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
        assert!(
            response.starts_with("HTTP/1.1 400"),
            "{request:?} got {response:?}"
        );
    }
    assert_eq!(upstream.hits(), 0);
}

#[tokio::test]
async fn oversize_headers_get_431_and_slow_headers_are_cut_off() {
    let (_upstream, gw) = setup().await;
    let big = "a".repeat(10_000);
    let request = format!("GET /api/a HTTP/1.1\r\nHost: t\r\nx-big: {big}\r\n\r\n");
    let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");

    // Slowloris: half a request head, then silence. The gateway must hang up by itself; the
    // deadline here is far above the configured 500 ms.
    let started = std::time::Instant::now();
    let response = raw_exchange(
        gw.addr,
        b"GET /api/a HTTP/1.1\r\nHost: t\r\nx-slow: ",
        Duration::from_secs(10),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "connection was never closed"
    );
    assert!(!response.contains("200 OK"));

    // A connection that says nothing at all is closed too.
    let started = std::time::Instant::now();
    let _ = raw_exchange(gw.addr, b"", Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "idle connection was never closed"
    );
}

#[tokio::test]
async fn body_limits_answer_413() {
    let (_upstream, gw) = setup().await;
    let client = TestClient::http1();
    let small = client
        .send(
            Request::post(gw.url("/api/up"))
                .body(Bytes::from(vec![1u8; 1000]))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(small.status, StatusCode::OK);
    assert_eq!(small.json()["body_bytes"], 1000);

    let declared = client
        .send(
            Request::post(gw.url("/api/up"))
                .body(Bytes::from(vec![1u8; 2 << 20]))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(declared.json()["error"]["code"], "body_too_large");

    // Chunked, so the gateway only finds out while streaming.
    let chunk = format!("{:x}\r\n{}\r\n", 600 * 1024, "a".repeat(600 * 1024));
    let request = format!(
        "POST /api/up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}{chunk}0\r\n\r\n"
    );
    let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(
        response.starts_with("HTTP/1.1 413"),
        "{}",
        &response[..response.len().min(200)]
    );
}

#[tokio::test]
async fn large_bodies_stream_both_ways() {
    let (_upstream, gw) = setup().await;
    for client in [TestClient::http1(), TestClient::h2c()] {
        let payload = Bytes::from(vec![7u8; 24 << 20]);
        let response = client
            .send(
                Request::post(gw.url("/echo"))
                    .body(payload.clone())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body.len(), payload.len());
        assert!(response.body == payload);

        let response = client.get(&gw.url("/stream/512/65536")).await.unwrap();
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body.len(), 512 * 65536);
    }
}

#[tokio::test]
async fn http2_clients_and_h2c_upstreams() {
    let (_upstream, gw) = setup().await;
    let h2 = TestClient::h2c();
    let response = h2.get(&gw.url("/api/orders/1")).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["version"], "HTTP/1.1");
    assert_eq!(response.json()["path"], "/orders/1");

    let h1 = TestClient::http1();
    let response = h1.get(&gw.url("/h2/x")).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["version"], "HTTP/2.0");
    // The original authority travels as X-Forwarded-Host; no conflicting Host header is sent.
    assert!(response.seen_header("host").is_empty());
    assert_eq!(
        response.seen_header("x-forwarded-host"),
        [gw.addr.to_string()]
    );

    // Many concurrent streams on one connection.
    let mut tasks = Vec::new();
    for i in 0..50 {
        let h2 = h2.clone();
        let url = gw.url(&format!("/api/c{i}"));
        tasks.push(tokio::spawn(
            async move { h2.get(&url).await.unwrap().status },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
}

#[tokio::test]
async fn head_and_methods_pass_through() {
    let (_upstream, gw) = setup().await;
    let client = TestClient::http1();
    for method in [Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS] {
        let response = client
            .send(
                Request::builder()
                    .method(method.clone())
                    .uri(gw.url("/api/m"))
                    .body(Bytes::new())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.json()["method"], method.as_str());
    }
}

#[tokio::test]
async fn identity_headers_and_tokens_never_pass_even_without_providers() {
    let (_upstream, gw) = setup().await;
    let request = "GET /api/spoof HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-User-Id: admin\r\n\
                   x_user_roles: admin\r\nX_USER-PERMISSIONS: *\r\nx-user-context-version: 1\r\n\
                   Authorization: Bearer abc.def.ghi\r\n\r\n";
    let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let seen: serde_json::Value = serde_json::from_str(body).expect(&response);
    for name in seen["headers"].as_object().unwrap().keys() {
        let folded = name.to_ascii_lowercase().replace('_', "-");
        assert!(
            !folded.starts_with("x-user-"),
            "{name} reached the upstream"
        );
        assert_ne!(folded, "authorization");
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let (_upstream, gw) = setup().await;
    let request = "GET /api/first HTTP/1.1\r\nHost: t\r\n\r\n\
                   POST /api/second HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc\
                   GET /api/third HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(response.matches("HTTP/1.1 200 OK").count(), 3, "{response}");
    let first = response.find("/api/first").unwrap();
    let second = response.find("/api/second").unwrap();
    let third = response.find("/api/third").unwrap();
    assert!(first < second && second < third, "{response}");
    assert!(response.contains("\"body_bytes\":3"));
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_with_408() {
    let (_upstream, gw) = setup().await;
    let mut stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"POST /api/slow HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    // Nothing more is sent; the gateway must answer by itself within the deadline.
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("body_timeout"), "{response}");
}
