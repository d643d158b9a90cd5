//! gRPC (unary, bidirectional streaming, error statuses and trailers) and WebSocket upgrades
//! through the gateway.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{SinkExt, StreamExt};
use gatehouse_testkit::TestGateway;
use gatehouse_testkit::grpc::pb::EchoRequest;
use gatehouse_testkit::grpc::{EchoClient, GrpcEcho};
use gatehouse_testkit::websocket::WebSocketEcho;
use tokio_tungstenite::tungstenite::Message;

async fn grpc_gateway() -> (GrpcEcho, TestGateway) {
    let service = GrpcEcho::start().await;
    let yaml = format!(
        "upstreams:\n  grpc:\n    protocol: h2c\n    endpoints: [\"{}\"]\nroutes:\n  - match: {{ prefix: /gatehouse.testkit.echo.Echo }}\n    upstream: grpc\n",
        service.addr
    );
    let gw = TestGateway::start(&yaml).await;
    (service, gw)
}

async fn client(gw: &TestGateway) -> EchoClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(gw.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    EchoClient::new(channel)
}

fn request(message: &str, fail_with: i32) -> EchoRequest {
    EchoRequest {
        message: message.to_owned(),
        fail_with,
    }
}

#[tokio::test]
async fn grpc_unary_and_error_statuses() {
    let (_service, gw) = grpc_gateway().await;
    let mut client = client(&gw).await;

    let mut call = tonic::Request::new(request("hello", 0));
    call.metadata_mut().insert("x-trace", "t1".parse().unwrap());
    let reply = client.unary(call).await.unwrap().into_inner();
    assert_eq!(reply.message, "hello");
    assert!(reply.metadata.contains(&"x-trace=t1".to_owned()));
    assert!(reply.metadata.contains(&"te=trailers".to_owned()));
    assert!(
        reply
            .metadata
            .iter()
            .any(|m| m.starts_with("x-request-id="))
    );

    // Error statuses travel in trailers; they must arrive intact.
    for code in [
        tonic::Code::NotFound,
        tonic::Code::PermissionDenied,
        tonic::Code::ResourceExhausted,
    ] {
        let status = client
            .unary(request("boom", code as i32))
            .await
            .unwrap_err();
        assert_eq!(status.code(), code);
        assert_eq!(status.message(), "failing as asked: boom");
    }
}

#[tokio::test]
async fn grpc_bidirectional_streaming_interleaves() {
    let (_service, gw) = grpc_gateway().await;
    let mut client = client(&gw).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<EchoRequest>(4);
    let outbound = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut inbound = client.bidi(outbound).await.unwrap().into_inner();
    // One message out, its echo back, before the next goes out: proves true streaming, not
    // buffering of the whole request stream.
    for i in 0..20 {
        tx.send(request(&format!("m{i}"), 0)).await.unwrap();
        let reply = inbound.message().await.unwrap().unwrap();
        assert_eq!(reply.message, format!("m{i}"));
    }
    tx.send(request("stop", tonic::Code::Aborted as i32))
        .await
        .unwrap();
    let status = inbound.message().await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Aborted);
}

#[tokio::test]
async fn websocket_upgrade_passes_through() {
    let service = WebSocketEcho::start().await;
    let yaml = format!(
        "upstreams:\n  ws:\n    endpoints: [\"{}\"]\nroutes:\n  - match: {{ prefix: /ws }}\n    upstream: ws\n",
        service.addr
    );
    let gw = TestGateway::start(&yaml).await;
    let (mut ws, response) = tokio_tungstenite::connect_async(format!("ws://{}/ws/chat", gw.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    for i in 0..10 {
        ws.send(Message::text(format!("hello {i}"))).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), format!("hello {i}"));
    }
    let big = vec![9u8; 1 << 20];
    ws.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap().into_data().to_vec(), big);
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn tunnels_count_against_the_connection_limit() {
    let service = WebSocketEcho::start().await;
    let yaml = format!(
        "listen:\n  address: 127.0.0.1:0\n  max_connections: 1\nupstreams:\n  ws:\n    endpoints: [\"{}\"]\nroutes:\n  - match: {{ prefix: /ws }}\n    upstream: ws\n",
        service.addr
    );
    let gw = TestGateway::start(&yaml).await;
    // The client connection holds the only slot, so there is none left for a tunnel.
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/ws/chat", gw.addr)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("expected a 503 refusal, got {other:?}"),
    }
}
