//! How upstream failures are answered: refused connects, timeouts, ejected endpoints, and the
//! load balancing that routes around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use gatehouse_testkit::{EchoServer, TestClient, TestGateway, closed_port};
use http::StatusCode;

fn upstream_config(name: &str, endpoints: &[String], extra: &str) -> String {
    let list: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
    format!(
        "  {name}:\n    endpoints: [{}]\n    connect_timeout: 500ms\n    request_timeout: 300ms\n{extra}",
        list.join(", ")
    )
}

#[tokio::test]
async fn refused_connect_is_502_and_timeout_is_504() {
    let echo = EchoServer::start().await;
    let dead = format!("127.0.0.1:{}", closed_port());
    let yaml = format!(
        "upstreams:\n{}{}routes:\n  - match: {{ prefix: /dead }}\n    upstream: dead\n  - match: {{ prefix: /slow }}\n    upstream: slow\n    rewrite_prefix: /\n",
        upstream_config(
            "dead",
            &[dead],
            "    health: { consecutive_failures: 100 }\n"
        ),
        upstream_config("slow", &[echo.endpoint()], ""),
    );
    let gw = TestGateway::start(&yaml).await;
    let client = TestClient::http1();

    let response = client.get(&gw.url("/dead/x")).await.unwrap();
    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert_eq!(response.json()["error"]["code"], "upstream_connect_failed");
    assert!(response.json()["error"]["request_id"].is_string());

    // The echo upstream's /delay/MS path answers after MS; the route allows 300 ms.
    let response = client.get(&gw.url("/slow/delay/3000")).await.unwrap();
    assert_eq!(response.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(response.json()["error"]["code"], "upstream_timeout");

    let response = client.get(&gw.url("/slow/delay/10")).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn failing_endpoints_are_ejected_then_503() {
    let dead = format!("127.0.0.1:{}", closed_port());
    let yaml = format!(
        "upstreams:\n{}routes:\n  - match: {{ prefix: / }}\n    upstream: dead\n",
        upstream_config(
            "dead",
            &[dead],
            "    health: { consecutive_failures: 3, ejection_time: 1m }\n"
        ),
    );
    let gw = TestGateway::start(&yaml).await;
    let client = TestClient::http1();
    for _ in 0..3 {
        let response = client.get(&gw.url("/x")).await.unwrap();
        assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    }
    let response = client.get(&gw.url("/x")).await.unwrap();
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.json()["error"]["code"], "no_healthy_upstream");
}

#[tokio::test]
async fn a_dead_endpoint_costs_no_failed_request() {
    let a = EchoServer::start_with_name("a").await;
    let b = EchoServer::start_with_name("b").await;
    let dead = format!("127.0.0.1:{}", closed_port());
    let yaml = format!(
        "upstreams:\n{}routes:\n  - match: {{ prefix: / }}\n    upstream: pool\n",
        upstream_config(
            "pool",
            &[a.endpoint(), dead, b.endpoint()],
            "    health: { consecutive_failures: 2, ejection_time: 1m }\n"
        ),
    );
    let gw = TestGateway::start(&yaml).await;
    let client = TestClient::http1();
    let mut by_upstream: HashMap<String, usize> = HashMap::new();
    for _ in 0..30 {
        let response = client.get(&gw.url("/x")).await.unwrap();
        assert_eq!(
            response.status,
            StatusCode::OK,
            "a refused connect is retried elsewhere"
        );
        let name = response.headers["x-upstream"].to_str().unwrap().to_owned();
        *by_upstream.entry(name).or_default() += 1;
    }
    // Round robin over the two live endpoints once the dead one is ejected.
    assert!(by_upstream["a"] >= 12, "{by_upstream:?}");
    assert!(by_upstream["b"] >= 12, "{by_upstream:?}");
}

#[tokio::test]
async fn power_of_two_choices_spreads_load() {
    let a = EchoServer::start_with_name("a").await;
    let b = EchoServer::start_with_name("b").await;
    let yaml = format!(
        "upstreams:\n{}routes:\n  - match: {{ prefix: / }}\n    upstream: pool\n",
        upstream_config(
            "pool",
            &[a.endpoint(), b.endpoint()],
            "    balance: power_of_two_choices\n"
        ),
    );
    let gw = TestGateway::start(&yaml).await;
    let client = TestClient::http1();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let client = client.clone();
        let url = gw.url("/delay/20");
        tasks.push(tokio::spawn(async move { client.get(&url).await.unwrap() }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().status, StatusCode::OK);
    }
    assert!(
        a.hits() >= 5 && b.hits() >= 5,
        "a={} b={}",
        a.hits(),
        b.hits()
    );
    assert_eq!(a.hits() + b.hits(), 40);
}

#[tokio::test]
async fn grpc_clients_get_grpc_errors() {
    let dead = format!("127.0.0.1:{}", closed_port());
    let yaml = format!(
        "upstreams:\n{}routes:\n  - match: {{ prefix: /known }}\n    upstream: dead\n",
        upstream_config("dead", &[dead], ""),
    );
    let gw = TestGateway::start(&yaml).await;
    let channel = tonic::transport::Endpoint::from_shared(gw.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = gatehouse_testkit::grpc::EchoClient::new(channel);
    let status = client
        .unary(gatehouse_testkit::grpc::pb::EchoRequest {
            message: "hi".into(),
            fail_with: 0,
        })
        .await
        .unwrap_err();
    // No route for /gatehouse.testkit.echo.Echo/Unary: UNIMPLEMENTED, not an HTTP 404.
    assert_eq!(status.code(), tonic::Code::Unimplemented);
}
