//! gatehouse's own HTTP/1.1 loop on real connections: keep-alive, pipelining, response framing,
//! the hand-off to hyper in the middle of a connection, timeouts and draining.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gatehouse_testkit::{EchoServer, TestGateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn setup() -> (EchoServer, TestGateway) {
    let upstream = EchoServer::start().await;
    let yaml = format!(
        r#"
listen:
  address: 127.0.0.1:0
  header_read_timeout: 400ms
  keepalive_timeout: 600ms
upstreams:
  echo:
    endpoints: ["{}"]
routes:
  - name: all
    match: {{ prefix: / }}
    upstream: echo
"#,
        upstream.endpoint()
    );
    let gateway = TestGateway::start(&yaml).await;
    (upstream, gateway)
}

/// One response read off a connection.
#[derive(Debug)]
struct Response {
    head: String,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads responses off one connection, the way a client must: by their framing.
struct Reader {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Reader {
    fn new(stream: TcpStream) -> Self {
        Reader {
            stream,
            buf: Vec::new(),
        }
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk))
            .await
            .expect("no response within 5 s")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    async fn take_until(&mut self, end: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = self.buf.windows(end.len()).position(|w| w == end) {
                let taken = self.buf.drain(..at + end.len()).collect();
                return taken;
            }
            assert!(self.fill().await, "closed mid-response: {:?}", self.buf);
        }
    }

    async fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill().await, "closed mid-body");
        }
        self.buf.drain(..n).collect()
    }

    /// The next response; `bodyless` for the answer to a HEAD request.
    async fn response(&mut self, bodyless: bool) -> Response {
        let head = String::from_utf8(self.take_until(b"\r\n\r\n").await).unwrap();
        let mut response = Response {
            head,
            body: Vec::new(),
        };
        if bodyless {
            return response;
        }
        if let Some(length) = response.header("content-length") {
            response.body = self.take(length.parse().unwrap()).await;
        } else if response.header("transfer-encoding") == Some("chunked") {
            loop {
                let line = String::from_utf8(self.take_until(b"\r\n").await).unwrap();
                let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
                let data = self.take(size + 2).await;
                if size == 0 {
                    break;
                }
                response.body.extend_from_slice(&data[..size]);
            }
        } else {
            panic!("a response without framing: {}", response.head);
        }
        response
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Whether the server closes the connection, with nothing more sent, within 5 s.
    async fn closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill().await
    }
}

async fn connect(gw: &TestGateway) -> Reader {
    Reader::new(TcpStream::connect(gw.addr).await.unwrap())
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

#[tokio::test]
async fn one_connection_carries_many_requests_and_every_framing() {
    let (_upstream, gw) = setup().await;
    let mut c = connect(&gw).await;
    for i in 0..3 {
        c.send(get(&format!("/plain/{i}")).as_bytes()).await;
        let r = c.response(false).await;
        assert!(r.head.starts_with("HTTP/1.1 200 OK\r\n"), "{}", r.head);
        assert!(r.body_text().contains(&format!("\"path\":\"/plain/{i}\"")));
        assert!(r.header("date").is_some());
        assert!(r.header("x-request-id").is_some());
    }
    // A HEAD answer has no body, whatever its length says: the next response must parse.
    c.send(b"HEAD /head HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let r = c.response(true).await;
    assert!(r.head.starts_with("HTTP/1.1 200 OK\r\n"), "{}", r.head);
    // A streamed upstream body, of no declared length, goes out chunked.
    c.send(get("/stream/3/7000").as_bytes()).await;
    let r = c.response(false).await;
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.body, vec![b'x'; 21_000]);
    // Still usable.
    c.send(get("/after").as_bytes()).await;
    assert!(c.response(false).await.body_text().contains("/after"));
}

#[tokio::test]
async fn a_client_that_asks_to_close_gets_its_answer_then_the_close() {
    let (_upstream, gw) = setup().await;
    let mut c = connect(&gw).await;
    c.send(b"GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await;
    let r = c.response(false).await;
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed().await);
}

#[tokio::test]
async fn requests_with_bodies_mid_connection_go_to_hyper_with_nothing_lost() {
    let (upstream, gw) = setup().await;
    let mut c = connect(&gw).await;
    // Two plain requests, a body, and another plain one, all in one write: the hand-off
    // happens with the rest of the write already read.
    let mut bytes = get("/one") + &get("/two");
    bytes.push_str("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    bytes.push_str(&get("/three"));
    c.send(bytes.as_bytes()).await;
    assert!(c.response(false).await.body_text().contains("/one"));
    assert!(c.response(false).await.body_text().contains("/two"));
    assert_eq!(c.response(false).await.body, b"hello");
    assert!(c.response(false).await.body_text().contains("/three"));
    assert_eq!(upstream.hits(), 4);
}

#[tokio::test]
async fn an_ambiguous_request_after_plain_ones_is_still_refused() {
    // The framing sniffer starts at the hand-off; it must blame the right request.
    let (upstream, gw) = setup().await;
    let mut c = connect(&gw).await;
    c.send(get("/first").as_bytes()).await;
    assert!(c.response(false).await.head.starts_with("HTTP/1.1 200"));
    c.send(get("/second").as_bytes()).await;
    assert!(c.response(false).await.head.starts_with("HTTP/1.1 200"));
    c.send(
        b"POST /smuggle HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .await;
    let r = c.response(false).await;
    assert!(r.head.starts_with("HTTP/1.1 400"), "{}", r.head);
    assert!(
        r.body_text().contains("ambiguous_request"),
        "{}",
        r.body_text()
    );
    assert_eq!(upstream.hits(), 2);
}

#[tokio::test]
async fn a_spoofed_identity_never_passes_on_a_kept_connection() {
    let (_upstream, gw) = setup().await;
    let mut c = connect(&gw).await;
    for _ in 0..2 {
        c.send(b"GET /who HTTP/1.1\r\nHost: t\r\nX-User-Id: admin\r\nx-user-roles: root\r\nAuthorization: Bearer abc\r\n\r\n")
            .await;
        let body = c.response(false).await.body_text();
        assert!(!body.contains("x-user-"), "{body}");
        assert!(!body.contains("authorization"), "{body}");
    }
}

#[tokio::test]
async fn idle_and_half_sent_connections_are_closed_by_the_gateway() {
    let (_upstream, gw) = setup().await;
    // After a request, the keep-alive timeout (600 ms) applies.
    let mut c = connect(&gw).await;
    c.send(get("/x").as_bytes()).await;
    c.response(false).await;
    let started = std::time::Instant::now();
    assert!(c.closed().await);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    // Half a head after a served request: the header timeout (400 ms) from its first byte.
    let mut c = connect(&gw).await;
    c.send(get("/x").as_bytes()).await;
    c.response(false).await;
    c.send(b"GET /never HTTP/1.1\r\nHost: t\r\n").await;
    assert!(c.closed().await);
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_finishes_the_request_in_flight() {
    let (upstream, gw) = setup().await;
    let mut idle = connect(&gw).await;
    idle.send(get("/x").as_bytes()).await;
    idle.response(false).await;
    let mut busy = connect(&gw).await;
    busy.send(get("/delay/300").as_bytes()).await;
    // The slow request reaches the upstream before the drain starts.
    assert!(
        gatehouse_testkit::eventually(Duration::from_secs(5), || {
            let hits = upstream.hits();
            async move { hits == 2 }
        })
        .await
    );
    let stopping = tokio::spawn(gw.stop());
    let r = busy.response(false).await;
    assert!(r.head.starts_with("HTTP/1.1 200"), "{}", r.head);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(busy.closed().await);
    assert!(idle.closed().await);
    assert_eq!(stopping.await.unwrap(), 0);
}
