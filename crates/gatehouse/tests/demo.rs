//! The reference system end to end: `gatehouse demo` as a real process (dev identity provider,
//! order, user and inventory services, gateway), driven over HTTP and gRPC on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gatehouse_devidp::{Minter, SigningKey};
use gatehouse_testkit::{TestClient, TestResponse, eventually};
use http::{Request, StatusCode};
use inventory_service::pb::inventory_client::InventoryClient;
use inventory_service::pb::{GetStockRequest, ListReservationsRequest};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A running `gatehouse demo` and what it printed.
struct Demo {
    child: Child,
    data_dir: PathBuf,
    gateway: String,
    order: String,
    user: String,
    inventory: String,
    issuer: String,
    tokens: HashMap<String, String>,
    client: TestClient,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn data_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gatehouse-demo-test-{name}-{}", std::process::id()))
}

/// The value after `label` in the guide's address table.
fn table_value(lines: &[String], label: &str) -> String {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in {lines:#?}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

// `Demo` kills and waits for the child when dropped.
#[allow(clippy::zombie_processes)]
async fn start(name: &str) -> Demo {
    let data_dir = data_dir(name);
    let _ = std::fs::remove_dir_all(&data_dir);
    let any_port = "127.0.0.1:0";
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("demo")
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--listen", any_port, "--admin", any_port, "--idp", any_port])
        .args([
            "--order",
            any_port,
            "--user",
            any_port,
            "--inventory",
            any_port,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = lines_of(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let left = until
            .checked_duration_since(Instant::now())
            .expect("the demo did not print its guide in time");
        let line = stdout.recv_timeout(left).expect("the demo exited early");
        let done = line.starts_with("Then try");
        lines.push(line);
        if done {
            break;
        }
    }
    let exports: HashMap<String, String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(name, rest)| {
            let value = rest.trim_start_matches('\'');
            let value = value.split(['\'', ' ']).next().unwrap();
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let demo = Demo {
        child,
        data_dir,
        gateway: exports["GATEWAY"].clone(),
        order: exports["ORDER_SERVICE"].clone(),
        user: table_value(&lines, "user service"),
        inventory: format!("http://{}", table_value(&lines, "inventory (gRPC)")),
        issuer: table_value(&lines, "identity provider"),
        tokens: ["ALICE", "BOB", "CAROL"]
            .iter()
            .map(|n| (n.to_lowercase(), exports[*n].clone()))
            .collect(),
        client: TestClient::http1(),
    };
    // The gateway answers 503 until it has fetched the provider's keys through discovery.
    let ready = eventually(Duration::from_secs(20), || async {
        demo.get("/api/orders", Some("alice"), &[])
            .await
            .is_some_and(|r| r.status == StatusCode::OK)
    })
    .await;
    assert!(ready, "the gateway did not get ready");
    demo
}

impl Demo {
    fn token(&self, user: &str) -> String {
        self.tokens[user].clone()
    }

    async fn send(
        &self,
        method: &str,
        url: String,
        bearer: Option<String>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Option<TestResponse> {
        let mut request = Request::builder().method(method).uri(url);
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Bytes::from(body.to_owned())).unwrap();
        match self.client.send(request).await {
            Ok(response) => Some(response),
            Err(error) => {
                eprintln!("request failed: {error}");
                None
            }
        }
    }

    async fn get(
        &self,
        path: &str,
        user: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Option<TestResponse> {
        let url = format!("{}{path}", self.gateway);
        self.send("GET", url, user.map(|u| self.token(u)), headers, "")
            .await
    }

    async fn order(&self, bearer: Option<String>, headers: &[(&str, &str)]) -> TestResponse {
        let url = format!("{}/api/orders", self.gateway);
        let body = r#"{"item":"tea","quantity":1}"#;
        self.send("POST", url, bearer, headers, body).await.unwrap()
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    fn wait_exit(&mut self, deadline: Duration) -> Option<i32> {
        let until = Instant::now() + deadline;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

async fn inventory(demo: &Demo) -> InventoryClient<tonic::transport::Channel> {
    InventoryClient::connect(demo.inventory.clone())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_crosses_gateway_order_and_inventory_as_the_verified_user() {
    let demo = start("order").await;
    let created = demo
        .send(
            "POST",
            format!("{}/api/orders", demo.gateway),
            Some(demo.token("alice")),
            &[],
            r#"{"item":"coffee","quantity":3}"#,
        )
        .await
        .unwrap();
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let order = created.json();
    assert_eq!(order["created_by"], "alice");
    // `reserved_by` is what the inventory service read from the gRPC metadata of the order
    // service's call: the identity the gateway verified, carried across two hops.
    assert_eq!(order["reserved_by"], "alice");
    assert_eq!(order["item"], "coffee");

    // The inventory's own record, asked directly as a trusted internal caller (an admin).
    let carol = gatehouse_sdk::testing::identity("carol")
        .with_roles(["admin"])
        .with_permissions(["orders:*"]);
    let request = gatehouse_sdk::testing::grpc_request(&carol, ListReservationsRequest {}).unwrap();
    let reservations = inventory(&demo)
        .await
        .list_reservations(request)
        .await
        .unwrap()
        .into_inner()
        .reservations;
    let reservation = reservations
        .iter()
        .find(|r| Some(r.id as i64) == order["reservation_id"].as_i64())
        .expect("the order's reservation");
    assert_eq!(reservation.reserved_by, "alice");
    assert_eq!(reservation.quantity, 3);

    // Reading it back: the owner and an admin may, anyone else sees "not found".
    let path = format!("/api/orders/{}", order["id"]);
    let mine = demo.get(&path, Some("alice"), &[]).await.unwrap();
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.json()["id"], order["id"]);
    let theirs = demo.get(&path, Some("bob"), &[]).await.unwrap();
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let admin = demo.get(&path, Some("carol"), &[]).await.unwrap();
    assert_eq!(admin.status, StatusCode::OK);
    let all = demo.get("/api/orders", Some("carol"), &[]).await.unwrap();
    assert_eq!(all.json()["orders"].as_array().unwrap().len(), 1);

    // The user service answers from the same context.
    let me = demo.get("/api/users/me", Some("alice"), &[]).await.unwrap();
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["email"], "alice@example.com");
    assert_eq!(me.json()["issuer"], demo.issuer.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_is_401_read_only_is_403_and_forged_headers_change_nothing() {
    let demo = start("refusals").await;
    let anonymous = demo.order(None, &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json()["error"]["code"], "token_missing");

    // Forged context without a token is still no token.
    let forged = demo
        .order(
            None,
            &[("x-user-id", "alice"), ("x-user-permissions", "orders:*")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    // bob passes the gateway's coarse check (orders:read) and is refused by the order service.
    let bob = demo.order(Some(demo.token("bob")), &[]).await;
    assert_eq!(bob.status, StatusCode::FORBIDDEN);
    assert_eq!(bob.json()["error"]["code"], "permission_denied");
    let bob = demo
        .order(
            Some(demo.token("bob")),
            &[
                ("x-user-permissions", "orders:create"),
                ("X_User_Permissions", "orders:create"),
                ("x-user-roles", "admin"),
            ],
        )
        .await;
    assert_eq!(
        bob.status,
        StatusCode::FORBIDDEN,
        "forged permissions were believed"
    );

    // alice claiming to be carol, in every spelling: the order is still alice's.
    let spoofed = demo
        .order(
            Some(demo.token("alice")),
            &[
                ("x-user-id", "carol"),
                ("X-User-Id", "carol"),
                ("x_user_id", "carol"),
            ],
        )
        .await;
    assert_eq!(spoofed.status, StatusCode::CREATED);
    assert_eq!(spoofed.json()["created_by"], "alice");
    assert_eq!(spoofed.json()["reserved_by"], "alice");

    // bob claiming alice's id and the admin role still sees only his own (no) orders.
    let listed = demo
        .get(
            "/api/orders",
            Some("bob"),
            &[("x-user-id", "alice"), ("x-user-roles", "admin")],
        )
        .await
        .unwrap();
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()["orders"], serde_json::json!([]));
    let profile = demo
        .get(
            "/api/users/alice",
            Some("bob"),
            &[("x-user-roles", "admin")],
        )
        .await
        .unwrap();
    assert_eq!(profile.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_called_directly_without_context_refuse() {
    let mut demo = start("direct").await;
    for url in [
        format!("{}/orders", demo.order),
        format!("{}/users/me", demo.user),
    ] {
        let direct = demo.send("GET", url.clone(), None, &[], "").await.unwrap();
        assert_eq!(direct.status, StatusCode::UNAUTHORIZED, "{url}");
        assert_eq!(direct.json()["error"]["code"], "identity_missing", "{url}");
        // A bearer token means nothing to a service: only the gateway verifies tokens.
        let with_token = demo
            .send("GET", url.clone(), Some(demo.token("carol")), &[], "")
            .await
            .unwrap();
        assert_eq!(with_token.status, StatusCode::UNAUTHORIZED, "{url}");
    }
    let direct = demo
        .send(
            "POST",
            format!("{}/orders", demo.order),
            None,
            &[],
            r#"{"item":"tea","quantity":1}"#,
        )
        .await
        .unwrap();
    assert_eq!(direct.status, StatusCode::UNAUTHORIZED);

    let refused = inventory(&demo)
        .await
        .get_stock(GetStockRequest { item: "tea".into() })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    // SIGTERM (Kubernetes, systemd) stops the demo as cleanly as Ctrl-C.
    demo.signal(Signal::SIGTERM);
    assert_eq!(demo.wait_exit(Duration::from_secs(20)), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_embedded_provider_pass_and_of_any_other_key_do_not() {
    let mut demo = start("keys").await;
    // Same issuer, same claims, another key: refused at the edge.
    let forger = Minter::new(SigningKey::generate().unwrap(), demo.issuer.clone());
    let forged = demo
        .order(Some(forger.mint_for("alice").unwrap()), &[])
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(forged.json()["error"]["code"], "invalid_token");

    // The provider's token endpoint, as a script would use it.
    let url = format!("{}/token?user=carol", demo.issuer);
    let issued = demo.send("POST", url, None, &[], "").await.unwrap();
    assert_eq!(issued.status, StatusCode::OK);
    let token = issued.json()["access_token"].as_str().unwrap().to_owned();
    let all = demo.send(
        "GET",
        format!("{}/api/orders", demo.gateway),
        Some(token),
        &[],
        "",
    );
    assert_eq!(all.await.unwrap().status, StatusCode::OK);

    // `gatehouse token` signs with the key in the demo's data directory.
    let idp = demo
        .issuer
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["token", "--user", "alice", "--idp", &idp, "--data-dir"])
        .arg(&demo.data_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let created = demo.order(Some(token), &[]).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.json()["created_by"], "alice");

    let unknown = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["token", "--user", "mallory", "--data-dir"])
        .arg(&demo.data_dir)
        .output()
        .unwrap();
    assert!(!unknown.status.success());

    // SIGINT (Ctrl-C) stops everything and the demo exits 0.
    demo.signal(Signal::SIGINT);
    assert_eq!(demo.wait_exit(Duration::from_secs(20)), Some(0));
    let url = format!("{}/api/orders", demo.gateway);
    let gone = demo
        .send("GET", url, Some(demo.token("alice")), &[], "")
        .await;
    assert!(gone.is_none(), "the gateway still answers after exiting");
}

#[test]
fn the_shipped_demo_configuration_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/demo.yaml");
    let status = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["check", "--config"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}
