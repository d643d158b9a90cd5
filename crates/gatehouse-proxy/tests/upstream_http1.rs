//! The gateway's own HTTP/1.1 upstream client against a scripted upstream that answers exactly
//! the bytes each test needs: every response framing, informational responses, ambiguous
//! framing, early answers, connection reuse, and upstreams that close pooled connections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gatehouse_testkit::{TestClient, TestGateway, raw_exchange};
use http::{Method, Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An upstream that answers each request with the bytes `script` returns for its path. After
/// answering, `close` paths drop the connection (without saying so) and `early` paths answer
/// before reading the body, then drain it.
struct Scripted {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    /// Request bodies `/early-ok` read in full after answering.
    late_bodies: Arc<AtomicUsize>,
}

fn script(path: &str) -> &'static [u8] {
    match path {
        "/cl" | "/cl-then-close" | "/second-dropped" => b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
        "/chunked" => {
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc\r\n\r\n"
        }
        "/until-close" => b"HTTP/1.1 200 OK\r\n\r\nuntil the end",
        "/both" => {
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        }
        "/conflict" => b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!",
        "/continue" => {
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        }
        "/no-content" => b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
        // Ten interim answers (a long operation's keep-alives), then the final one.
        "/processing" => {
            b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndone"
        }
        "/garbage" => b"HTTP/1.1 two hundred\r\n\r\n",
        "/truncated" => b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort",
        "/early" => b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
    }
}

impl Scripted {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let late_bodies = Arc::new(AtomicUsize::new(0));
        let (counter, late) = (connections.clone(), late_bodies.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, late.clone()));
            }
        });
        Scripted {
            addr,
            connections,
            late_bodies,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, late_bodies: Arc<AtomicUsize>) {
    let mut buf = Vec::new();
    let mut served = 0;
    loop {
        let Some(end) = read_until_head_end(&mut stream, &mut buf).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        buf.drain(..end);
        let mut words = head.split_whitespace();
        let method = words.next().unwrap_or_default().to_owned();
        let path = words.next().unwrap_or_default().to_owned();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if path == "/second-dropped" && served > 0 {
            // Closes a reused connection on the request it was reused for, unanswered: what a
            // keep-alive timeout firing at that instant looks like.
            return;
        }
        served += 1;
        if path == "/early" {
            let _ = stream.write_all(script(&path)).await;
            // A lingering close: stop writing, drain what the client still sends, so that the
            // answer is not lost to a reset.
            let _ = stream.shutdown().await;
            let mut sink = [0u8; 65536];
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
            return;
        }
        if path == "/early-ok" {
            // A complete answer first, then the whole body, on a connection that stays open.
            let answer = b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n";
            if stream.write_all(answer).await.is_err()
                || !fill(&mut stream, &mut buf, |b| b.len() >= length).await
            {
                return;
            }
            buf.drain(..length);
            late_bodies.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        if path == "/framing" {
            // Answers with how the body was framed, once it has read all of it.
            let chunked = head.contains("transfer-encoding: chunked\r\n");
            let framing = if chunked {
                // The last chunk, then trailers (if any) up to an empty line.
                let ended = |b: &[u8]| {
                    b.windows(5)
                        .position(|w| w == b"\r\n0\r\n")
                        .is_some_and(|at| b[at + 3..].windows(4).any(|w| w == b"\r\n\r\n"))
                };
                if !fill(&mut stream, &mut buf, ended).await {
                    return;
                }
                let trailer = buf.windows(9).any(|w| w.eq_ignore_ascii_case(b"x-user-id"));
                buf.clear();
                format!("chunked{}", if trailer { " with a trailer" } else { "" })
            } else {
                format!("length {length}")
            };
            let lengths =
                head.matches("content-length").count() + head.matches("transfer-encoding").count();
            let body = format!("{framing}, {lengths} framing header(s)");
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            if !chunked {
                if !fill(&mut stream, &mut buf, |b| b.len() >= length).await {
                    return;
                }
                buf.drain(..length);
            }
            continue;
        }
        if !fill(&mut stream, &mut buf, |b| b.len() >= length).await {
            return;
        }
        buf.drain(..length);
        let mut answer = script(&path).to_vec();
        if method == "HEAD" {
            answer.truncate(answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4);
        }
        if stream.write_all(&answer).await.is_err() {
            return;
        }
        if matches!(
            path.as_str(),
            "/until-close" | "/cl-then-close" | "/truncated"
        ) {
            return;
        }
    }
}

async fn read_until_head_end(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    let end = |b: &[u8]| b.windows(4).position(|w| w == b"\r\n\r\n");
    fill(stream, buf, |b| end(b).is_some())
        .await
        .then(|| end(buf).map(|at| at + 4))?
}

/// Reads into `buf` until `done` holds; false if the connection ended first.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, done: impl Fn(&[u8]) -> bool) -> bool {
    while !done(buf) {
        let mut chunk = [0u8; 65536];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

async fn succeeds(client: &TestClient, url: &str) -> bool {
    client.get(url).await.unwrap().status.is_success()
}

async fn setup() -> (Scripted, TestGateway) {
    let upstream = Scripted::start().await;
    let yaml = format!(
        "upstreams:\n  app:\n    endpoints: [\"{}\"]\n    request_timeout: 2s\n    health: {{ consecutive_failures: 1000 }}\nroutes:\n  - match: {{ prefix: / }}\n    upstream: app\n",
        upstream.addr
    );
    let gw = TestGateway::start(&yaml).await;
    (upstream, gw)
}

#[tokio::test]
async fn every_response_framing_is_relayed() {
    let (upstream, gw) = setup().await;
    let client = TestClient::http1();
    for (path, body) in [
        ("/cl", &b"hello"[..]),
        ("/chunked", b"hello world"),
        ("/until-close", b"until the end"),
        ("/continue", b"ok"),
        ("/processing", b"done"),
        ("/no-content", b""),
    ] {
        let response = client.get(&gw.url(path)).await.unwrap();
        assert!(response.status.is_success(), "{path}: {}", response.status);
        assert_eq!(response.body, Bytes::from_static(body), "{path}");
    }
    let head = client
        .send(Request::head(gw.url("/cl")).body(Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers["content-length"], "5");
    assert!(head.body.is_empty());
    drop(upstream);
}

#[tokio::test]
async fn connections_are_reused_after_complete_responses_only() {
    let (upstream, gw) = setup().await;
    let client = TestClient::http1();
    for path in [
        "/cl",
        "/chunked",
        "/continue",
        "/no-content",
        "/cl",
        "/chunked",
    ] {
        assert!(succeeds(&client, &gw.url(path)).await);
    }
    for _ in 0..5 {
        let head = Request::head(gw.url("/cl")).body(Bytes::new()).unwrap();
        assert_eq!(client.send(head).await.unwrap().status, StatusCode::OK);
    }
    assert_eq!(
        upstream.connections(),
        1,
        "one connection carried every exchange"
    );

    // A response delimited by the close cannot leave a reusable connection behind.
    assert!(succeeds(&client, &gw.url("/until-close")).await);
    assert!(succeeds(&client, &gw.url("/cl")).await);
    assert_eq!(upstream.connections(), 2);
}

#[tokio::test]
async fn ambiguous_or_broken_responses_are_502() {
    let (_upstream, gw) = setup().await;
    let client = TestClient::http1();
    for path in ["/both", "/conflict", "/garbage"] {
        let response = client.get(&gw.url(path)).await.unwrap();
        assert_eq!(response.status, StatusCode::BAD_GATEWAY, "{path}");
        assert_eq!(
            response.json()["error"]["code"],
            "upstream_failed",
            "{path}"
        );
    }
    // A body cut short reaches the client as a broken response, never as a complete one.
    let response = client.get(&gw.url("/truncated")).await;
    assert!(
        response.is_err() || response.unwrap().body.len() < 100,
        "a truncated body was completed"
    );
}

#[tokio::test]
async fn an_upstream_closing_pooled_connections_costs_no_request() {
    let (upstream, gw) = setup().await;
    let client = TestClient::http1();
    // Each answer leaves a connection that looks reusable and is closed right after.
    for i in 0..30 {
        let response = client.get(&gw.url("/cl-then-close")).await.unwrap();
        assert_eq!(response.status, StatusCode::OK, "request {i}");
        assert_eq!(response.body, "hello");
    }
    assert_eq!(upstream.connections(), 30);
}

#[tokio::test]
async fn a_pooled_connection_closed_under_a_request_is_retried_only_when_idempotent() {
    let (upstream, gw) = setup().await;
    let client = TestClient::http1();
    for i in 0..10 {
        let response = client.get(&gw.url("/second-dropped")).await.unwrap();
        assert_eq!(response.status, StatusCode::OK, "request {i}");
    }
    // Every request after the first met a reused connection that closed, and went again.
    assert_eq!(upstream.connections(), 10);

    // A POST may have been acted on before the close: it is not sent twice.
    let post = Request::post(gw.url("/second-dropped"))
        .body(Bytes::new())
        .unwrap();
    let response = client.send(post).await.unwrap();
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert_eq!(upstream.connections(), 10);
}

#[tokio::test]
async fn an_early_answer_reaches_the_client() {
    let (_upstream, gw) = setup().await;
    let client = TestClient::http1();
    let response = client
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(gw.url("/early"))
                .body(Bytes::from(vec![0u8; 1 << 20]))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_complete_early_answer_does_not_cut_the_body_off() {
    let (upstream, gw) = setup().await;
    let client = TestClient::http1();
    let response = client
        .send(
            Request::post(gw.url("/early-ok"))
                .body(Bytes::from(vec![0u8; 4 << 20]))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::ACCEPTED);
    // The upstream kept the connection open and still reads: the rest of the body must reach it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while upstream.late_bodies.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the body was cut off after the answer"
        );
        tokio::task::yield_now().await;
    }
    assert!(succeeds(&client, &gw.url("/cl")).await);
}

#[tokio::test]
async fn request_framing_is_the_gateways_own() {
    let (_upstream, gw) = setup().await;
    // A body the client framed as chunked goes upstream chunked again; one with a length keeps
    // it; an empty POST says so. Whatever the client said about length is never passed on.
    let request = "POST /framing HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.ends_with("chunked, 1 framing header(s)"),
        "{response}"
    );

    // A client's trailers are a second set of headers nothing checked: they are dropped.
    let request = "POST /framing HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTrailer: x-user-id\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nx-user-id: admin\r\n\r\n";
    let response = raw_exchange(gw.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(
        response.ends_with("chunked, 1 framing header(s)"),
        "{response}"
    );

    let client = TestClient::http1();
    for (body, expected) in [(vec![1u8; 3000], "length 3000"), (Vec::new(), "length 0")] {
        let response = client
            .send(
                Request::post(gw.url("/framing"))
                    .body(Bytes::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            response.body,
            format!("{expected}, 1 framing header(s)"),
            "{expected}"
        );
    }
}
