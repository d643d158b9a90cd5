//! The `gatehouse` binary as an operator runs it: real process, real signals, real config files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use gatehouse_testkit::{EchoServer, TestClient, eventually};
use http::StatusCode;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

struct Running {
    child: Child,
    addr: SocketAddr,
    admin: SocketAddr,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits (bounded) for a log line containing `needle`.
    fn wait_for_log(&self, needle: &str, deadline: Duration) -> bool {
        self.next_log_matching(needle, deadline).is_some()
    }

    /// The next log line containing `needle`, waiting at most `deadline`.
    fn next_log_matching(&self, needle: &str, deadline: Duration) -> Option<String> {
        let until = std::time::Instant::now() + deadline;
        while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    }

    fn wait_exit(&mut self, deadline: Duration) -> Option<i32> {
        let until = std::time::Instant::now() + deadline;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if std::time::Instant::now() > until {
                let _ = self.child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(dir: &Path, upstream: &EchoServer, prefix: &str, extra: &str) -> PathBuf {
    let path = dir.join("gatehouse.yaml");
    let yaml = format!(
        "listen:\n  address: 127.0.0.1:0\nadmin:\n  address: 127.0.0.1:0\nlogging:\n  format: json\nreload:\n  watch_interval: 100ms\nshutdown:\n  grace_period: 10s\n{extra}upstreams:\n  a:\n    endpoints: [\"{}\"]\nroutes:\n  - name: main\n    match: {{ prefix: {prefix} }}\n    upstream: a\n    rewrite_prefix: /\n",
        upstream.endpoint()
    );
    // Write then rename, as a deployment tool would, so the watcher never sees half a file.
    let tmp = dir.join("gatehouse.yaml.tmp");
    std::fs::write(&tmp, yaml).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

// `Running` kills and waits for the child when dropped.
#[allow(clippy::zombie_processes)]
fn start(config: &Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let until = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = until
            .checked_duration_since(std::time::Instant::now())
            .expect("gatehouse did not report its addresses in time");
        let line = rx.recv_timeout(left).expect("gatehouse exited early");
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
            && json["message"] == "listening"
        {
            return Running {
                child,
                addr: json["listen"].as_str().unwrap().parse().unwrap(),
                admin: json["admin"].as_str().unwrap().parse().unwrap(),
                lines: rx,
            };
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_fails_no_accepted_request() {
    let upstream = EchoServer::start().await;
    let dir = temp_dir("sigterm");
    let config = write_config(&dir, &upstream, "/", "");
    let mut gatehouse = start(&config);
    let client = TestClient::no_pool();
    let admin = format!("http://{}/readyz", gatehouse.admin);
    assert!(
        eventually(Duration::from_secs(10), || async {
            client
                .get(&admin)
                .await
                .is_ok_and(|r| r.status == StatusCode::OK)
        })
        .await
    );

    let failed = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (failed, answered, refused, stop) = (
            failed.clone(),
            answered.clone(),
            refused.clone(),
            stop.clone(),
        );
        let url = gatehouse.url("/delay/20");
        let addr = gatehouse.addr;
        workers.push(tokio::spawn(async move {
            let client = TestClient::no_pool();
            for _ in 0..5_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                // Connect first: a refused connect is a request the gateway never accepted.
                if tokio::net::TcpStream::connect(addr).await.is_err() {
                    refused.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                match client.get(&url).await {
                    Ok(r) if r.status == StatusCode::OK => answered.fetch_add(1, Ordering::SeqCst),
                    Ok(_) | Err(_) => {
                        // Only a failure after the gateway accepted the connection counts, and
                        // it may have stopped accepting between the probe and this request.
                        if tokio::net::TcpStream::connect(addr).await.is_ok() {
                            failed.fetch_add(1, Ordering::SeqCst)
                        } else {
                            refused.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                    }
                };
            }
        }));
    }
    assert!(
        eventually(Duration::from_secs(10), || {
            let answered = answered.clone();
            async move { answered.load(Ordering::SeqCst) >= 100 }
        })
        .await
    );
    gatehouse.signal(Signal::SIGTERM);
    assert_eq!(gatehouse.wait_exit(Duration::from_secs(20)), Some(0));
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    assert!(answered.load(Ordering::SeqCst) >= 100);
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "accepted requests failed during shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_file_changes_reload_and_broken_files_are_refused() {
    let upstream = EchoServer::start().await;
    let dir = temp_dir("reload");
    let config = write_config(&dir, &upstream, "/one", "");
    let gatehouse = start(&config);
    let client = TestClient::http1();
    assert_eq!(
        client.get(&gatehouse.url("/one/x")).await.unwrap().status,
        StatusCode::OK
    );
    assert_eq!(
        client.get(&gatehouse.url("/two/x")).await.unwrap().status,
        StatusCode::NOT_FOUND
    );

    // A changed file is picked up by the watcher.
    write_config(&dir, &upstream, "/two", "");
    assert!(gatehouse.wait_for_log("configuration reloaded", Duration::from_secs(10)));
    assert_eq!(
        client.get(&gatehouse.url("/two/x")).await.unwrap().status,
        StatusCode::OK
    );
    assert_eq!(
        client.get(&gatehouse.url("/one/x")).await.unwrap().status,
        StatusCode::NOT_FOUND
    );

    // A broken file is refused and the running configuration keeps serving.
    std::fs::write(
        &config,
        "routes:\n  - match: { prefix: /three }\n    upstream: nowhere\n",
    )
    .unwrap();
    assert!(gatehouse.wait_for_log("configuration not reloaded", Duration::from_secs(10)));
    assert_eq!(
        client.get(&gatehouse.url("/two/x")).await.unwrap().status,
        StatusCode::OK
    );
    let metrics = client
        .get(&format!("http://{}/metrics", gatehouse.admin))
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&metrics.body)
            .contains("gatehouse_config_reloads_total{result=\"failure\"}")
    );

    // SIGHUP reloads on demand (the watcher would also catch it; the log names the trigger).
    write_config(&dir, &upstream, "/three", "");
    gatehouse.signal(Signal::SIGHUP);
    assert!(gatehouse.wait_for_log("configuration reloaded", Duration::from_secs(10)));
    assert_eq!(
        client.get(&gatehouse.url("/three/x")).await.unwrap().status,
        StatusCode::OK
    );
}

/// Runs `gatehouse check` on `yaml`; returns whether it passed and what it printed on stderr.
fn check(path: &Path, yaml: &str) -> (bool, String) {
    std::fs::write(path, yaml).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["check", "--config"])
        .arg(path)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_reports_every_problem_with_its_location() {
    let path = temp_dir("check").join("broken.yaml");
    let (ok, stderr) = check(
        &path,
        "listen:\n  address: nowhere\n  header_read_timeout: 10\nupstreams:\n  orders:\n    endpoints: [\"localhost\"]\n    protocol: http3\nroutes:\n  - match: { prefix: /api }\n    upstream: ordrs\n  - match: { prefix: api/x, methods: [\"GE T\"] }\n    upstream: orders\n",
    );
    assert!(!ok);
    for expected in [
        "listen.address: \"nowhere\" is not an address",
        "listen.header_read_timeout: 10 has no unit",
        "upstreams.orders.endpoints[0]: \"localhost\" is not HOST:PORT",
        "upstreams.orders.protocol: unknown protocol \"http3\"",
        "routes[0].upstream: unknown upstream \"ordrs\"; did you mean \"orders\"?",
        "routes[1].match.prefix: \"api/x\" must start with '/'",
        "routes[1].match.methods[0]: \"GE T\" is not an HTTP method",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }

    let (ok, stderr) = check(
        &path,
        "upstreams:\n  a:\n    endpoints: [\"127.0.0.1:1\"]\n    tiemout: 1s\n",
    );
    assert!(!ok);
    assert!(stderr.contains("tiemout"), "{stderr}");
}
