//! gatehouse's own HTTP/1.1 loop on real connections: keep-alive, pipelining, response framing,
//! the hand-off to hyper in the middle of a connection, timeouts and draining.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gatehouse_testkit::{EchoServer, TestGateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A gateway in front of `upstream`, with the given listener settings (YAML lines).
async fn gateway(upstream: &str, listen: &str) -> TestGateway {
    let yaml = format!(
        "listen:\n  address: 127.0.0.1:0\n{listen}upstreams:\n  echo:\n    endpoints: [\"{upstream}\"]\nroutes:\n  - name: all\n    match: {{ prefix: / }}\n    upstream: echo\n"
    );
    TestGateway::start(&yaml).await
}

/// An echo upstream and a gateway with a 400 ms header timeout and a 3 s keep-alive: far enough
/// apart that a test can tell which one closed a connection.
async fn setup() -> (EchoServer, TestGateway) {
    let upstream = EchoServer::start().await;
    let gateway = gateway(
        &upstream.endpoint(),
        "  header_read_timeout: 400ms\n  keepalive_timeout: 3s\n",
    )
    .await;
    (upstream, gateway)
}

/// A request head read byte by byte off an upstream's connection; `None` once it closes.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(head)
}

/// An upstream that answers only when the test says so, and reports when the gateway hangs up
/// on it before that.
struct HeldUpstream {
    addr: std::net::SocketAddr,
    release: tokio::sync::watch::Sender<bool>,
    hung_up: tokio::sync::mpsc::UnboundedReceiver<()>,
    arrived: tokio::sync::mpsc::UnboundedReceiver<()>,
}

impl HeldUpstream {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (release, released) = tokio::sync::watch::channel(false);
        let (hung_up_tx, hung_up) = tokio::sync::mpsc::unbounded_channel();
        let (arrived_tx, arrived) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut released = released.clone();
                let hung_up = hung_up_tx.clone();
                let arrived = arrived_tx.clone();
                tokio::spawn(async move {
                    if read_head(&mut stream).await.is_none() {
                        return;
                    }
                    let _ = arrived.send(());
                    let mut rest = [0u8; 1];
                    tokio::select! {
                        _ = async { released.wait_for(|go| *go).await.is_ok() } => {
                            let _ = stream
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                                .await;
                        }
                        read = stream.read(&mut rest) => {
                            if matches!(read, Ok(0) | Err(_)) {
                                let _ = hung_up.send(());
                            }
                        }
                    }
                });
            }
        });
        HeldUpstream {
            addr,
            release,
            hung_up,
            arrived,
        }
    }

    /// Waits (5 s at most) for a request to reach this upstream.
    async fn arrival(&mut self) {
        tokio::time::timeout(Duration::from_secs(5), self.arrived.recv())
            .await
            .expect("no request reached the upstream");
    }
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

    /// How long the server takes to close the connection, with nothing more sent.
    async fn time_to_close(&mut self) -> Duration {
        let started = std::time::Instant::now();
        assert!(self.closed().await, "not closed, or more was sent");
        started.elapsed()
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
    // At once, not after the 3 s keep-alive timeout.
    assert!(c.time_to_close().await < Duration::from_millis(1500));
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
async fn idle_connections_are_closed_after_the_keepalive_timeout() {
    let upstream = EchoServer::start().await;
    let gw = gateway(&upstream.endpoint(), "  keepalive_timeout: 600ms\n").await;
    let mut c = connect(&gw).await;
    c.send(get("/x").as_bytes()).await;
    c.response(false).await;
    let waited = c.time_to_close().await;
    assert!(
        waited >= Duration::from_millis(500),
        "closed after {waited:?}"
    );
}

#[tokio::test]
async fn a_half_sent_head_gets_the_header_timeout_not_the_keepalive_one() {
    let (_upstream, gw) = setup().await;
    let mut c = connect(&gw).await;
    c.send(get("/x").as_bytes()).await;
    c.response(false).await;
    c.send(b"GET /never HTTP/1.1\r\nHost: t\r\n").await;
    // 400 ms header timeout; the keep-alive timeout is 3 s.
    assert!(c.time_to_close().await < Duration::from_millis(2000));
}

#[tokio::test]
async fn the_first_head_is_timed_from_the_connection_not_from_its_first_byte() {
    let upstream = EchoServer::start().await;
    let gw = gateway(
        &upstream.endpoint(),
        "  header_read_timeout: 1s\n  keepalive_timeout: 10s\n",
    )
    .await;
    let started = std::time::Instant::now();
    let mut c = connect(&gw).await;
    // A client that waits most of the header timeout before its first byte gets only the rest.
    tokio::time::sleep(Duration::from_millis(800)).await;
    c.send(b"G").await;
    assert!(c.closed().await);
    let lived = started.elapsed();
    assert!(
        lived < Duration::from_millis(1600),
        "the connection lived {lived:?}"
    );
}

#[tokio::test]
async fn heads_over_the_listener_limits_get_431_even_mid_connection() {
    let upstream = EchoServer::start().await;
    let gw = gateway(
        &upstream.endpoint(),
        "  max_headers: 10\n  max_header_bytes: 8KiB\n",
    )
    .await;
    let mut c = connect(&gw).await;
    c.send(get("/ok").as_bytes()).await;
    assert!(c.response(false).await.head.starts_with("HTTP/1.1 200"));
    let mut many = String::from("GET /many HTTP/1.1\r\nHost: t\r\n");
    for i in 0..20 {
        many.push_str(&format!("x-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    c.send(many.as_bytes()).await;
    let r = c.response(false).await;
    assert!(r.head.starts_with("HTTP/1.1 431"), "{}", r.head);

    // A head that grows past the limit over two writes (the loop hands a partial head at the
    // limit to hyper; a whole head over it is covered by the unit tests of `take`).
    let mut c = connect(&gw).await;
    c.send(b"GET /big HTTP/1.1\r\nHost: t\r\nx-a: ").await;
    c.send(format!("{}\r\n\r\n", "a".repeat(9000)).as_bytes())
        .await;
    let r = c.response(false).await;
    assert!(r.head.starts_with("HTTP/1.1 431"), "{}", r.head);
    assert_eq!(upstream.hits(), 1);
}

#[tokio::test]
async fn a_target_the_http_types_refuse_is_answered_400() {
    let (upstream, gw) = setup().await;
    let mut c = connect(&gw).await;
    c.send(get("/ok").as_bytes()).await;
    assert!(c.response(false).await.head.starts_with("HTTP/1.1 200"));
    c.send(b"GET http://[::1/ HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let r = c.response(false).await;
    assert!(r.head.starts_with("HTTP/1.1 400"), "{}", r.head);
    assert_eq!(upstream.hits(), 1);
}

#[tokio::test]
async fn a_head_split_across_writes_is_handed_over_whole() {
    let (_upstream, gw) = setup().await;
    let mut c = connect(&gw).await;
    c.send(get("/first").as_bytes()).await;
    assert!(c.response(false).await.body_text().contains("/first"));
    c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-").await;
    c.send(b"Length: 5\r\n\r\nhello").await;
    assert_eq!(c.response(false).await.body, b"hello");
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_request_cancels_it_upstream() {
    let mut upstream = HeldUpstream::start().await;
    let gw = gateway(&upstream.addr.to_string(), "").await;
    let mut c = connect(&gw).await;
    c.send(get("/slow").as_bytes()).await;
    upstream.arrival().await;
    drop(c);
    tokio::time::timeout(Duration::from_secs(5), upstream.hung_up.recv())
        .await
        .expect("the gateway kept the upstream request after the client left");
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_finishes_the_request_in_flight() {
    let echo = EchoServer::start().await;
    let mut upstream = HeldUpstream::start().await;
    let yaml = format!(
        "listen:\n  address: 127.0.0.1:0\n  keepalive_timeout: 10s\nupstreams:\n  echo:\n    endpoints: [\"{}\"]\n  held:\n    endpoints: [\"{}\"]\nroutes:\n  - match: {{ prefix: /held }}\n    upstream: held\n  - match: {{ prefix: / }}\n    upstream: echo\n",
        echo.endpoint(),
        upstream.addr
    );
    let gw = TestGateway::start(&yaml).await;
    // Kept alive after one answer: in the loop, waiting for a next head.
    let mut idle = connect(&gw).await;
    idle.send(get("/x").as_bytes()).await;
    idle.response(false).await;
    let mut busy = connect(&gw).await;
    busy.send(get("/held").as_bytes()).await;
    upstream.arrival().await;
    let stopping = tokio::spawn(gw.stop());
    // The idle connection goes at once; the busy one only after its answer.
    assert!(idle.time_to_close().await < Duration::from_secs(3));
    upstream.release.send(true).unwrap();
    let r = busy.response(false).await;
    assert!(r.head.starts_with("HTTP/1.1 200"), "{}", r.head);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(busy.time_to_close().await < Duration::from_secs(3));
    assert_eq!(stopping.await.unwrap(), 0);
}

/// The gateway's count of open client connections, from its metrics.
async fn open_connections(gw: &TestGateway) -> Option<u64> {
    let metrics = gatehouse_testkit::TestClient::http1()
        .get(&format!("http://{}/metrics", gw.admin))
        .await
        .ok()?;
    String::from_utf8_lossy(&metrics.body)
        .lines()
        .find_map(|line| line.strip_prefix("gatehouse_open_connections "))
        .and_then(|n| n.trim().parse().ok())
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_on_both_servers() {
    let upstream = EchoServer::start().await;
    let gw = gateway(
        &upstream.endpoint(),
        "  body_read_timeout: 300ms\n  keepalive_timeout: 30s\n",
    )
    .await;
    // Far more than the socket buffers hold; the client reads none of it.
    let big = get("/stream/400/65536");
    // Our loop serves the first; the second connection is hyper's after a request with a body.
    let mut ours = connect(&gw).await;
    ours.send(big.as_bytes()).await;
    let mut hypers = connect(&gw).await;
    hypers
        .send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
        .await;
    assert_eq!(hypers.response(false).await.body, b"hi");
    hypers.send(big.as_bytes()).await;
    assert!(
        gatehouse_testkit::eventually(Duration::from_secs(10), || async {
            open_connections(&gw).await == Some(0)
        })
        .await,
        "a connection whose client stopped reading was kept: {:?} open",
        open_connections(&gw).await
    );
    drop((ours, hypers));
}

/// An upstream that answers `/slow` with a chunked body whose last chunk comes `pause` after the
/// first, and anything else at once.
async fn streaming_upstream(pause: Duration) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                while let Some(head) = read_head(&mut stream).await {
                    let sent = if head.starts_with(b"GET /slow ") {
                        let start =
                            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n";
                        let _ = stream.write_all(start).await;
                        // The upstream's own pace: the behaviour under test, not a wait for it.
                        tokio::time::sleep(pause).await;
                        stream.write_all(b"3\r\ndef\r\n0\r\n\r\n").await
                    } else {
                        stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nnext")
                            .await
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_response_that_outlasts_the_keepalive_timeout_leaves_the_connection_usable() {
    let upstream = streaming_upstream(Duration::from_millis(900)).await;
    let gw = gateway(&upstream.to_string(), "  keepalive_timeout: 400ms\n").await;
    let mut c = connect(&gw).await;
    c.send(get("/slow").as_bytes()).await;
    let r = c.response(false).await;
    assert_eq!(r.body, b"abcdef");
    assert_eq!(r.header("connection"), None);
    // At once on the same connection: the keep-alive timeout counts from the end of the answer.
    c.send(get("/next").as_bytes()).await;
    assert_eq!(c.response(false).await.body, b"next");
}

/// Header maps are kept for reuse from one request to the next, on a connection and across the
/// connections a worker serves: no field of a request or a response may show up in a later one.
#[tokio::test]
async fn no_header_field_outlives_its_request_or_response() {
    // An upstream that adds a field to its first answer only, and reports every head it reads.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        let mut answered = 0;
        while let Ok((mut stream, _)) = listener.accept().await {
            while let Some(head) = read_head(&mut stream).await {
                let _ = seen_tx.send(String::from_utf8_lossy(&head).to_ascii_lowercase());
                answered += 1;
                let extra = if answered == 1 {
                    "x-only-first: upstream-secret\r\n"
                } else {
                    ""
                };
                let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n{extra}\r\nok");
                if stream.write_all(answer.as_bytes()).await.is_err() {
                    break;
                }
            }
        }
    });
    let gw = gateway(&addr.to_string(), "").await;
    let mut first = connect(&gw).await;
    first
        .send(b"GET /1 HTTP/1.1\r\nHost: t\r\nX-Client-Only: client-secret\r\n\r\n")
        .await;
    let answer = first.response(false).await;
    assert_eq!(answer.header("x-only-first"), Some("upstream-secret"));
    let head = seen.recv().await.unwrap();
    assert!(head.contains("x-client-only: client-secret"), "{head}");

    let second = connect(&gw).await;
    for (i, mut c) in [first, second].into_iter().enumerate() {
        for round in 0..3 {
            c.send(get(&format!("/later/{i}/{round}")).as_bytes()).await;
            let answer = c.response(false).await;
            assert_eq!(answer.header("x-only-first"), None, "{}", answer.head);
            let head = seen.recv().await.unwrap();
            assert!(!head.contains("x-client-only"), "{head}");
            assert!(!head.contains("secret"), "{head}");
        }
    }
}
