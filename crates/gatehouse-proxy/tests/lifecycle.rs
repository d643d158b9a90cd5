//! Admin endpoints, metrics, reload under traffic and graceful shutdown, in process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use gatehouse_testkit::{EchoServer, TestClient, TestGateway};
use http::StatusCode;

fn yaml(a: &EchoServer, prefix: &str) -> String {
    format!(
        "upstreams:\n  a:\n    endpoints: [\"{}\"]\nroutes:\n  - name: main\n    match: {{ prefix: {prefix} }}\n    upstream: a\n",
        a.endpoint()
    )
}

#[tokio::test]
async fn admin_endpoints_report_health_readiness_and_metrics() {
    let a = EchoServer::start().await;
    let gw = TestGateway::start(&yaml(&a, "/api")).await;
    let client = TestClient::http1();
    let admin = |path: &str| format!("http://{}{path}", gw.admin);
    assert_eq!(
        client.get(&admin("/healthz")).await.unwrap().status,
        StatusCode::OK
    );
    assert!(
        gatehouse_testkit::eventually(Duration::from_secs(5), || async {
            client.get(&admin("/readyz")).await.unwrap().status == StatusCode::OK
        })
        .await
    );
    client.get(&gw.url("/api/x")).await.unwrap();
    client.get(&gw.url("/nope")).await.unwrap();
    let metrics = client.get(&admin("/metrics")).await.unwrap();
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        text.contains("gatehouse_requests_total{route=\"main\",status_class=\"2xx\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("gatehouse_requests_total{route=\"unmatched\",status_class=\"4xx\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("gatehouse_request_duration_seconds_bucket{le="),
        "{text}"
    );
    assert!(text.contains("gatehouse_open_connections"), "{text}");
    assert_eq!(
        client.get(&admin("/other")).await.unwrap().status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn reload_under_traffic_loses_no_request() {
    let a = EchoServer::start().await;
    let gw = Arc::new(TestGateway::start(&yaml(&a, "/v1")).await);
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (gw, stop, failures, sent) = (gw.clone(), stop.clone(), failures.clone(), sent.clone());
        workers.push(tokio::spawn(async move {
            let client = TestClient::http1();
            while !stop.load(Ordering::SeqCst) && sent.load(Ordering::SeqCst) < 20_000 {
                // /v1 before the reload, /v2 after; the catch-all keeps both answering.
                let response = client.get(&gw.url("/v1/x")).await;
                sent.fetch_add(1, Ordering::SeqCst);
                if response.map(|r| r.status) != Ok(StatusCode::OK) {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    let only_v1 = yaml(&a, "/v1");
    let both = format!("{only_v1}  - name: v2\n    match: {{ prefix: /v2 }}\n    upstream: a\n");
    for i in 0..20 {
        assert!(
            gatehouse_testkit::eventually(Duration::from_secs(5), || {
                let target = i * 50;
                let sent = sent.clone();
                async move { sent.load(Ordering::SeqCst) >= target }
            })
            .await
        );
        gw.reload(if i % 2 == 0 { &both } else { &only_v1 })
            .unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    assert!(sent.load(Ordering::SeqCst) >= 950);
    assert_eq!(failures.load(Ordering::SeqCst), 0);

    // The last reload is in force: /v2 is gone again, /v1 serves.
    let client = TestClient::http1();
    assert_eq!(
        client.get(&gw.url("/v2/x")).await.unwrap().status,
        StatusCode::NOT_FOUND
    );
    // An invalid file never reaches the gateway: parsing refuses it and the old config stays.
    assert!(
        gw.reload("routes:\n  - match: { prefix: /x }\n    upstream: nope\n")
            .is_err()
    );
    assert_eq!(
        client.get(&gw.url("/v1/x")).await.unwrap().status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let a = EchoServer::start().await;
    let gw = TestGateway::start(&yaml(&a, "/")).await;
    let client = TestClient::http1();
    let url = gw.url("/delay/500");
    let in_flight = tokio::spawn(async move { client.get(&url).await });
    assert!(
        gatehouse_testkit::eventually(Duration::from_secs(5), || {
            let hits = a.hits();
            async move { hits == 1 }
        })
        .await
    );
    let addr = gw.addr;
    let left = gw.stop().await;
    assert_eq!(left, 0);
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status, StatusCode::OK);
    // The listener is closed.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
