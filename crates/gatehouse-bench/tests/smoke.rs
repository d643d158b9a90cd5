//! The benchmark's smoke run, in the default suite: the bench's own helpers (`keys`, `upstream`,
//! `check`) and its gateway configuration (`bench/conf/gatehouse.yaml`, rendered as `run.sh`
//! renders it), end to end on loopback, with the verified-token cache on and off. Every token
//! file a scenario loads is sent through the gateway and each answer checked. What needs the
//! peers and wrk installed (nginx, HAProxy, Node, the timed load) is `bench/run.sh --quick`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use gatehouse_testkit::client::TestClient;
use gatehouse_testkit::gateway::TestGateway;
use http::{Request, StatusCode};

/// Distinct valid tokens per algorithm (`ALG.tokens`; the flood file holds as many invalid ones).
const TOKENS: usize = 40;
/// Further valid tokens (`ALG.many`, the uncached scenarios' file).
const MANY: usize = 40;

/// A directory removed when the test ends, however it ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-bench-smoke-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A helper process, killed when the test ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn helper() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gatehouse-bench"))
}

/// A fresh directory with the bench's keys and `count` (`many`) tokens per algorithm.
fn make_keys(count: usize, many: usize) -> TempDir {
    let dir = TempDir::new();
    let made = helper()
        .args(["keys", "--out"])
        .arg(&dir.0)
        .args(["--count", &count.to_string(), "--many", &many.to_string()])
        .output()
        .expect("run keys");
    assert!(made.status.success(), "keys failed: {made:?}");
    dir
}

/// A helper server (`upstream`, `relay`) on a port of its choosing.
fn start_server(mut command: Command) -> (Process, SocketAddr) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the helper");
    let stdout = child.stdout.take().expect("the helper's stdout");
    let process = Process(child);
    // Bounded: the helper prints this line once bound, or exits and closes its stdout.
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the helper's first line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("the helper did not say where it listens: {line:?}"));
    (process, addr)
}

/// The bench's upstream on a port of its choosing.
fn start_upstream() -> (Process, SocketAddr) {
    let mut command = helper();
    command.args(["upstream", "--listen", "127.0.0.1:0", "--threads", "1"]);
    start_server(command)
}

/// `bench/conf/gatehouse.yaml` with its placeholders filled as `run.sh` fills them, the ports
/// left to the system.
fn render(keys: &Path, upstream: SocketAddr, cache_entries: usize) -> String {
    let rendered = include_str!("../../../bench/conf/gatehouse.yaml")
        .replace("@PORT@", "0")
        .replace("@ADMIN_PORT@", "0")
        .replace("@MAXCONN@", "1024")
        .replace("@CACHE_ENTRIES@", &cache_entries.to_string())
        .replace("@UPSTREAM_PORT@", &upstream.port().to_string())
        .replace("@KEYS@", &keys.display().to_string());
    let unfilled = rendered
        .lines()
        .any(|line| !line.trim_start().starts_with('#') && line.contains('@'));
    assert!(
        !unfilled,
        "a placeholder this smoke run does not know (run.sh must fill it too):\n{rendered}"
    );
    rendered
}

fn lines(keys: &Path, file: &str) -> Vec<String> {
    let path = keys.join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Sends `tokens` to `path`, four connections at a time, and returns each answer's status and
/// the `x-user-id` the upstream reported, in the tokens' order.
async fn send_all(
    gateway: &TestGateway,
    path: &str,
    tokens: Vec<String>,
) -> Vec<(StatusCode, String)> {
    assert!(!tokens.is_empty(), "no tokens to send to {path}");
    let client = TestClient::http1();
    let url = gateway.url(path);
    let mut tasks = tokio::task::JoinSet::new();
    for (lane, chunk) in tokens.chunks(tokens.len().div_ceil(4)).enumerate() {
        let (client, url, chunk) = (client.clone(), url.clone(), chunk.to_vec());
        tasks.spawn(async move {
            let mut answers = Vec::new();
            for token in chunk {
                let request = Request::get(&url)
                    .header("authorization", format!("Bearer {token}"))
                    .header("x-user-id", "spoofed")
                    .body(Bytes::new())
                    .expect("request");
                let response = client.send(request).await.expect("an answer");
                let seen = response
                    .headers
                    .get("x-bench-user-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("(none)")
                    .to_owned();
                answers.push((response.status, seen));
            }
            (lane, answers)
        });
    }
    let mut lanes = tasks.join_all().await;
    lanes.sort_by_key(|(lane, _)| *lane);
    lanes.into_iter().flat_map(|(_, answers)| answers).collect()
}

/// The verified-token cache's "HITS MISSES", read from `/metrics` as `run.sh` reads them.
async fn cache_lookups(gateway: &TestGateway) -> (u64, u64) {
    let metrics = TestClient::http1()
        .get(&format!("http://{}/metrics", gateway.admin))
        .await
        .expect("metrics");
    let text = String::from_utf8_lossy(&metrics.body);
    let (mut hits, mut misses) = (0, 0);
    for line in text.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or_default();
        if !(name.ends_with("auth_token_cache_lookups_total") && series.contains('{')) {
            continue;
        }
        let value: u64 = value
            .parse()
            .unwrap_or_else(|_| panic!("a lookup count that is not a count: {line}"));
        if series.contains("result=\"hit\"") {
            hits += value;
        } else if series.contains("result=\"miss\"") {
            misses += value;
        }
    }
    (hits, misses)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_helpers_and_gateway_configuration_work_end_to_end() {
    let dir = make_keys(TOKENS, MANY);
    let keys = dir.0.as_path();
    let (_upstream, upstream) = start_upstream();

    for cache_entries in [10_000, 0] {
        let gateway = TestGateway::start(&render(keys, upstream, cache_entries)).await;
        for alg in ["rs256", "es256", "eddsa"] {
            let what = format!("{alg}, cache entries {cache_entries}");
            // The functional check `run.sh` runs before measuring: valid, none, bad signature,
            // expired, alg none; the identity upstream, never the client's.
            let mut check = helper();
            check
                .args(["check", "--name", "gatehouse", "--addr"])
                .arg(gateway.addr.to_string())
                .args(["--path", &format!("/{alg}"), "--keys"])
                .arg(keys)
                .args(["--alg", alg]);
            let checked = tokio::task::spawn_blocking(move || check.output())
                .await
                .expect("check task")
                .expect("run check");
            assert!(
                checked.status.success(),
                "{what}: check failed: {checked:?}"
            );
            assert!(
                String::from_utf8_lossy(&checked.stdout).contains("functional check passed"),
                "{what}: {checked:?}"
            );

            // The flood scenario's file: valid and invalid tokens alternating.
            let flood = lines(keys, &format!("{alg}.flood"));
            assert_eq!(flood.len(), 2 * TOKENS, "{what}");
            let answers = send_all(&gateway, &format!("/{alg}"), flood).await;
            for (i, (status, seen)) in answers.iter().enumerate() {
                if i % 2 == 0 {
                    let user = format!("user-{}", 1000 + i / 2);
                    assert_eq!(
                        (*status, seen.as_str()),
                        (StatusCode::OK, user.as_str()),
                        "{what}: flood line {i}"
                    );
                } else {
                    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{what}: flood line {i}");
                }
            }

            // The distinct and uncached scenarios' files: every token valid, each its own user.
            for (file, first) in [("tokens", 1000), ("many", 100_000)] {
                let before = cache_lookups(&gateway).await;
                let tokens = lines(keys, &format!("{alg}.{file}"));
                let count = tokens.len();
                assert_eq!(
                    count,
                    if file == "tokens" { TOKENS } else { MANY },
                    "{what}: {file}"
                );
                let answers = send_all(&gateway, &format!("/{alg}"), tokens).await;
                for (i, answer) in answers.iter().enumerate() {
                    let user = format!("user-{}", first + i);
                    assert_eq!(
                        (answer.0, answer.1.as_str()),
                        (StatusCode::OK, user.as_str()),
                        "{what}: {file} line {i}"
                    );
                }
                let after = cache_lookups(&gateway).await;
                let hits = after.0 - before.0;
                if cache_entries == 0 {
                    assert_eq!(after, (0, 0), "{what}: the cache is off");
                } else if file == "tokens" {
                    // Seen in the flood already: every one is answered from the cache, which
                    // is what the results table's "cache hits" column counts.
                    assert_eq!(hits, count as u64, "{what}: {file}");
                } else {
                    assert_eq!(
                        (hits, after.1 - before.1),
                        (0, count as u64),
                        "{what}: {file}"
                    );
                }
            }
        }
    }
}

/// The floor's two helpers: the relay passes requests and answers through unchanged, on one
/// keep-alive connection; `verify-cost` times only checks that pass, for every algorithm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_helpers_relay_bytes_and_time_passing_signature_checks() {
    let dir = make_keys(3, 0);
    let keys = dir.0.as_path();
    let (_upstream, upstream) = start_upstream();
    let mut relay = helper();
    relay.args(["relay", "--listen", "127.0.0.1:0", "--upstream"]);
    relay.arg(upstream.to_string());
    let (_relay, relay) = start_server(relay);

    let client = TestClient::http1();
    for i in 0..3 {
        // The relay adds nothing and strips nothing: the upstream sees the client's own header.
        let request = Request::get(format!("http://{relay}/rs256"))
            .header("x-user-id", format!("client-{i}"))
            .body(Bytes::new())
            .expect("request");
        let response = client
            .send(request)
            .await
            .expect("an answer through the relay");
        assert_eq!(response.status, StatusCode::OK, "request {i}");
        assert_eq!(
            response
                .headers
                .get("x-bench-user-id")
                .map(|v| v.as_bytes()),
            Some(format!("client-{i}").as_bytes()),
            "request {i}"
        );
        assert_eq!(&response.body[..], b"ok\n", "request {i}");
    }

    let cost = |alg: &str| {
        helper()
            .args(["verify-cost", "--keys"])
            .arg(keys)
            .args(["--alg", alg, "--count", "30"])
            .output()
            .expect("run verify-cost")
    };
    for alg in ["rs256", "es256", "eddsa"] {
        let timed = cost(alg);
        assert!(timed.status.success(), "{alg}: {timed:?}");
        let micros: f64 = String::from_utf8_lossy(&timed.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{alg}: not a number: {timed:?}"));
        assert!(micros.is_finite() && micros > 0.0, "{alg}: {micros}");
    }
    // A token whose signature does not verify stops it: the figure never times refusals.
    let bad = std::fs::read_to_string(keys.join("rs256.bad-signature.token")).expect("read");
    std::fs::write(keys.join("rs256.tokens"), format!("{bad}\n")).expect("write");
    let refused = cost("rs256");
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("token 1 does not verify"),
        "{refused:?}"
    );
}
