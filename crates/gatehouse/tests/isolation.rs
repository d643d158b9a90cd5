#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Gateway-only authentication on a real network: the article's topology built from Linux
//! network namespaces this test creates (and removes) itself.
//!
//! ```text
//!  client host              edge host                       private host
//!  10.231.1.10 ── veth ── 10.231.1.1 | gatehouse | 10.231.2.1 ── veth ── 10.231.2.10
//!                                                                          :8082 user service
//!                                                                          :8099 header echo
//! ```
//!
//! The private host runs the reference user service (which trusts the identity headers) and a
//! header echo (to see exactly what the gateway forwards). The client's default route points at
//! the edge host, so a direct connection to them really is attempted; it fails because the edge
//! host does not forward packets between its two networks. Only the gateway, which has a foot in
//! each, connects onwards. As a control, turning forwarding on lets a direct request with forged
//! identity headers through, and the user service believes them: what the isolation prevents.
//!
//! The private host and the client are this test binary run again inside their namespaces
//! (`helper_*` below, which do nothing in a normal run): a process of its own in each namespace is
//! what a host is, and the user service comes in as the library the `gatehouse` package already
//! depends on. Needs root and `ip` (iproute2); anywhere else it prints why it is skipped and
//! passes.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CLIENT_IP: &str = "10.231.1.10";
const EDGE_PUBLIC_IP: &str = "10.231.1.1";
const EDGE_PRIVATE_IP: &str = "10.231.2.1";
const PRIVATE_IP: &str = "10.231.2.10";
const GATEWAY_PORT: u16 = 8080;
const SERVICE_PORT: u16 = 8082;
const ECHO_PORT: u16 = 8099;

const ISSUER: &str = "https://id.isolation.test/";
const AUDIENCE: &str = "shop-api";
const SECRET: &str = "isolation-test-hmac-secret-0123456789abcdef";

/// Environment variable that turns a `helper_*` test into its role.
const ROLE: &str = "GATEHOUSE_ISOLATION_ROLE";
const TARGET: &str = "GATEHOUSE_ISOLATION_TARGET";
const TOKEN: &str = "GATEHOUSE_ISOLATION_TOKEN";
/// Extra request headers for the client helper, `name: value` a line.
const HEADERS: &str = "GATEHOUSE_ISOLATION_HEADERS";

/// A complete forged identity context (docs/context-contract.md), as an attacker would send it.
const FORGED_CONTEXT: &str = "x-user-context-version: 1\nx-user-id: mallory\n\
                              x-user-issuer: https://id.isolation.test/\nx-user-roles: admin";

/// Bounds on every network wait, so a broken topology fails fast instead of hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// The private helper exits on its own after this, even if the test never kills it.
const HELPER_LIFETIME: Duration = Duration::from_secs(120);

/// The namespaces, processes and files of one run; all removed on drop, also after a panic.
struct Topology {
    prefix: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
    dir: PathBuf,
}

impl Topology {
    fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// Creates the three hosts and wires them; `None` (after printing why) where namespaces
    /// cannot be created.
    fn create() -> Option<Self> {
        let prefix = format!("ghiso{}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        let mut topology = Topology {
            prefix,
            namespaces: Vec::new(),
            children: Vec::new(),
            dir,
        };
        let first = topology.ns("client");
        match Command::new("ip").args(["netns", "add", &first]).output() {
            Ok(out) if out.status.success() => topology.namespaces.push(first),
            Ok(out) => {
                skip(&format!(
                    "`ip netns add` failed (needs root): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
                return None;
            }
            Err(error) => {
                skip(&format!("cannot run `ip` (iproute2): {error}"));
                return None;
            }
        }
        for host in ["edge", "private"] {
            let name = topology.ns(host);
            ip(&["netns", "add", &name]);
            topology.namespaces.push(name);
        }
        std::fs::create_dir_all(&topology.dir).unwrap();
        let (client, edge, private) = (
            topology.ns("client"),
            topology.ns("edge"),
            topology.ns("private"),
        );
        // Interfaces are created straight inside their namespaces: nothing touches the host's.
        ip(&[
            "link", "add", "c0", "netns", &client, "type", "veth", "peer", "name", "e0", "netns",
            &edge,
        ]);
        ip(&[
            "link", "add", "e1", "netns", &edge, "type", "veth", "peer", "name", "p0", "netns",
            &private,
        ]);
        for (ns, link, addr) in [
            (&client, "c0", CLIENT_IP),
            (&edge, "e0", EDGE_PUBLIC_IP),
            (&edge, "e1", EDGE_PRIVATE_IP),
            (&private, "p0", PRIVATE_IP),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", link]);
            ip(&["-n", ns, "link", "set", link, "up"]);
        }
        for ns in [&client, &edge, &private] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        // Both outer hosts send everything to the edge host, as on a real network with a
        // gateway machine; whether it goes further is the edge host's forwarding setting.
        ip(&[
            "-n",
            &client,
            "route",
            "add",
            "default",
            "via",
            EDGE_PUBLIC_IP,
        ]);
        ip(&[
            "-n",
            &private,
            "route",
            "add",
            "default",
            "via",
            EDGE_PRIVATE_IP,
        ]);
        topology.set_forwarding(false);
        Some(topology)
    }

    fn set_forwarding(&self, on: bool) {
        let value = if on { "1" } else { "0" };
        run_in(
            &self.ns("edge"),
            "sh",
            &[
                "-c",
                &format!("echo {value} > /proc/sys/net/ipv4/ip_forward"),
            ],
        );
    }

    /// Starts a process inside a namespace; it is killed when the topology drops.
    fn spawn_in(
        &mut self,
        host: &str,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        log: &str,
    ) {
        let log = std::fs::File::create(self.dir.join(log)).unwrap();
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns(host), program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        self.children.push(command.spawn().unwrap());
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// One HTTP request from the client host, made by this binary's `helper_client_request`.
    fn request_from_client(&self, target: &str, token: Option<&str>) -> Response {
        self.request_with_headers(target, token, "")
    }

    /// Like `request_from_client`, with extra headers (`name: value` a line).
    fn request_with_headers(&self, target: &str, token: Option<&str>, headers: &str) -> Response {
        let exe = std::env::current_exe().unwrap();
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns("client")])
            .arg(&exe)
            .args([
                "--exact",
                "helper_client_request",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE, "client")
            .env(TARGET, target)
            .env(HEADERS, headers)
            .stdin(Stdio::null());
        if let Some(token) = token {
            command.env(TOKEN, token);
        }
        let out = command.output().unwrap();
        Response::parse(&out)
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Deleting a namespace deletes the veth ends inside it (and so their peers).
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn skip(reason: &str) {
    eprintln!("SKIPPED isolation test: {reason}. It needs Linux, root and iproute2 (CI has them).");
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_in(ns: &str, program: &str, args: &[&str]) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, program])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{program} in {ns}: {out:?}");
}

/// What the client helper saw.
#[derive(Debug)]
enum Response {
    /// An HTTP response: status and body.
    Http(u16, String),
    /// No connection (refused, unreachable, timed out).
    NoConnection(String),
}

impl Response {
    /// Parses the helper's `RESULT` line.
    fn parse(out: &Output) -> Self {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let Some(at) = stdout.find("RESULT ") else {
            panic!("client helper printed no result: {out:?}");
        };
        let line = stdout[at + "RESULT ".len()..].lines().next().unwrap_or("");
        let Some(rest) = line.strip_prefix("status=") else {
            return Response::NoConnection(line.to_owned());
        };
        let (code, body) = rest.split_once(" body=").unwrap();
        let body: String = serde_json::from_str(body).unwrap();
        Response::Http(code.parse().unwrap(), body)
    }

    fn status(&self) -> Option<u16> {
        match self {
            Response::Http(code, _) => Some(*code),
            Response::NoConnection(_) => None,
        }
    }
}

fn token_signed_with(secret: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "email": "alice@example.com",
        "iat": now,
        "exp": now + 300,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn gateway_config() -> String {
    format!(
        r#"
listen:
  address: {EDGE_PUBLIC_IP}:{GATEWAY_PORT}
admin:
  address: 127.0.0.1:9901
upstreams:
  users:
    endpoints: ["{PRIVATE_IP}:{SERVICE_PORT}"]
    connect_timeout: 2s
  echo:
    endpoints: ["{PRIVATE_IP}:{ECHO_PORT}"]
    connect_timeout: 2s
providers:
  - name: test
    issuer: {ISSUER}
    audiences: [{AUDIENCE}]
    algorithms: [HS256]
    keys: {{ hmac_secret: "{SECRET}" }}
routes:
  - name: users
    match: {{ prefix: /api/users }}
    upstream: users
    rewrite_prefix: /users
    auth: {{ mode: required, providers: [test] }}
  - name: echo
    match: {{ prefix: /api/echo }}
    upstream: echo
    rewrite_prefix: /echo
    auth: {{ mode: required, providers: [test] }}
logging:
  format: pretty
reload:
  watch_interval: 0
"#
    )
}

#[test]
fn services_are_reachable_only_through_the_gateway() {
    let Some(mut topology) = Topology::create() else {
        return;
    };
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    topology.spawn_in(
        "private",
        exe,
        &[
            "--exact",
            "helper_private_host",
            "--nocapture",
            "--test-threads=1",
        ],
        &[(ROLE, "private")],
        "private.log",
    );
    let config = topology.dir.join("gatehouse.yaml");
    std::fs::write(&config, gateway_config()).unwrap();
    topology.spawn_in(
        "edge",
        env!("CARGO_BIN_EXE_gatehouse"),
        &["run", "--config", config.to_str().unwrap()],
        &[],
        "gateway.log",
    );

    let through_gateway = format!("{EDGE_PUBLIC_IP}:{GATEWAY_PORT}/api/users/me");
    let logs = |t: &Topology| {
        format!(
            "\n--- gateway log\n{}\n--- private host log\n{}",
            t.log("gateway.log"),
            t.log("private.log")
        )
    };

    // The gateway is up once it answers; without a token that is a 401.
    let started = Instant::now();
    let mut anonymous = topology.request_from_client(&through_gateway, None);
    while anonymous.status().is_none() && started.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(200));
        anonymous = topology.request_from_client(&through_gateway, None);
    }
    assert_eq!(
        anonymous.status(),
        Some(401),
        "{anonymous:?}{}",
        logs(&topology)
    );

    // With a valid token the request reaches the user service, which answers from the
    // verified identity.
    let token = token_signed_with(SECRET);
    let me = format!("{EDGE_PUBLIC_IP}:{GATEWAY_PORT}/api/users/me");
    let profile = topology.request_from_client(&me, Some(&token));
    let Response::Http(200, body) = &profile else {
        panic!("{profile:?}{}", logs(&topology));
    };
    let profile: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(profile["id"], "alice", "{profile}");
    assert_eq!(profile["issuer"], ISSUER, "{profile}");

    // Identity headers a client sends are replaced by the verified ones, never passed on.
    let spoofed = topology.request_with_headers(&me, Some(&token), FORGED_CONTEXT);
    let Response::Http(200, body) = &spoofed else {
        panic!("{spoofed:?}");
    };
    assert!(
        body.contains("\"alice\"") && !body.contains("mallory"),
        "{body}"
    );
    let spoofed_anonymous = topology.request_with_headers(&me, None, FORGED_CONTEXT);
    assert_eq!(
        spoofed_anonymous.status(),
        Some(401),
        "{spoofed_anonymous:?}"
    );

    // What exactly goes upstream: the verified context, not the token.
    let echo = format!("{EDGE_PUBLIC_IP}:{GATEWAY_PORT}/api/echo");
    let echoed = topology.request_from_client(&echo, Some(&token));
    let Response::Http(200, seen) = &echoed else {
        panic!("{echoed:?}{}", logs(&topology));
    };
    let seen = seen.to_ascii_lowercase();
    assert!(seen.starts_with("get /echo "), "{seen}");
    assert!(seen.contains("\nx-user-id: alice"), "{seen}");
    assert!(
        !seen.contains("\nauthorization:"),
        "the raw token was forwarded: {seen}"
    );

    // A token signed with another key is refused at the edge.
    let forged = topology.request_from_client(
        &me,
        Some(&token_signed_with(
            "another-secret-of-at-least-32-bytes-xxxxxxxx",
        )),
    );
    assert_eq!(forged.status(), Some(401), "{forged:?}");

    // Neither service can be reached from the client's network, whatever is sent: the edge host
    // does not route between its networks.
    let direct = format!("{PRIVATE_IP}:{SERVICE_PORT}/users/me");
    let direct_echo = format!("{PRIVATE_IP}:{ECHO_PORT}/echo");
    for target in [&direct, &direct_echo] {
        match topology.request_with_headers(target, Some(&token), FORGED_CONTEXT) {
            Response::NoConnection(reason) => assert!(!reason.is_empty()),
            answered => panic!("{target} answered the client directly: {answered:?}"),
        }
    }

    // Control: with forwarding on, the same direct request gets through, and the user service
    // takes the forged context at its word. The isolation above is what prevents this.
    topology.set_forwarding(true);
    let exposed = topology.request_with_headers(&direct, None, FORGED_CONTEXT);
    topology.set_forwarding(false);
    let Response::Http(200, body) = &exposed else {
        panic!("{exposed:?}{}", logs(&topology));
    };
    assert!(body.contains("\"mallory\""), "{body}");
}

/// The private host when run with `GATEHOUSE_ISOLATION_ROLE=private`: the reference user service
/// on port 8082 and a header echo on 8099, for a bounded time. Does nothing otherwise.
#[test]
fn helper_private_host() {
    if std::env::var(ROLE).as_deref() != Ok("private") {
        return;
    }
    let echo = TcpListener::bind(("0.0.0.0", ECHO_PORT)).unwrap();
    std::thread::spawn(move || serve_echo(echo));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("0.0.0.0", SERVICE_PORT))
            .await
            .unwrap();
        user_service::serve(listener, tokio::time::sleep(HELPER_LIFETIME))
            .await
            .unwrap();
    });
}

/// Answers every HTTP/1.1 request with 200 and the request head as the body.
fn serve_echo(listener: TcpListener) {
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || serve_connection(stream));
    }
}

/// Serves keep-alive requests on one connection until the peer closes or goes quiet.
fn serve_connection(mut stream: TcpStream) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
            if buffer.len() > 64 * 1024 {
                return;
            }
        }
        let end = buffer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        // GET requests only: no body to skip.
        let head: Vec<u8> = buffer.drain(..end).collect();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n",
            head.len()
        );
        if stream.write_all(response.as_bytes()).is_err() || stream.write_all(&head).is_err() {
            return;
        }
    }
}

/// The client host's request when run with `GATEHOUSE_ISOLATION_ROLE=client`: one GET to
/// `GATEHOUSE_ISOLATION_TARGET` (`ip:port/path`), printing `RESULT status=N body="..."`, or
/// `RESULT no-connection: ...`. Does nothing otherwise.
#[test]
fn helper_client_request() {
    if std::env::var(ROLE).as_deref() != Ok("client") {
        return;
    }
    let target = std::env::var(TARGET).unwrap();
    let (authority, path) = target.split_at(target.find('/').unwrap());
    let addr: SocketAddr = authority.parse().unwrap();
    let mut stream = match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
        Ok(stream) => stream,
        Err(error) => {
            println!("RESULT no-connection: {error}");
            return;
        }
    };
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let authorization = std::env::var(TOKEN)
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let extra: String = std::env::var(HEADERS)
        .unwrap_or_default()
        .lines()
        .map(|line| format!("{line}\r\n"))
        .collect();
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {authority}\r\n{authorization}{extra}connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    // A read error after some bytes (a timeout on a kept-open connection) still leaves a
    // complete, length-delimited response to report.
    let _ = stream.take(256 * 1024).read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    match text.split_once("\r\n\r\n") {
        Some((head, body)) => {
            let status = head.split(' ').nth(1).unwrap_or("0");
            // The body as one JSON string: libtest's own output surrounds the helper's.
            let body = serde_json::to_string(body).unwrap();
            println!("RESULT status={status} body={body}");
        }
        None => println!(
            "RESULT no-connection: no HTTP response ({} bytes)",
            response.len()
        ),
    }
}
