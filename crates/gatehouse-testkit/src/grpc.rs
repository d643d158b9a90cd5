//! A gRPC echo service (tonic) for end-to-end tests through the gateway.

use std::net::SocketAddr;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, Streaming};

/// Generated messages and stubs.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("gatehouse.testkit.echo");
}

pub use pb::echo_client::EchoClient;
use pb::echo_server::{Echo, EchoServer};
use pb::{EchoReply, EchoRequest};

struct Service;

fn metadata_lines<T>(request: &Request<T>) -> Vec<String> {
    let mut lines: Vec<String> = request
        .metadata()
        .clone()
        .into_headers()
        .iter()
        .map(|(k, v)| format!("{}={}", k, String::from_utf8_lossy(v.as_bytes())))
        .collect();
    lines.sort();
    lines
}

fn reply(request: EchoRequest, metadata: Vec<String>) -> Result<EchoReply, Status> {
    if request.fail_with != 0 {
        return Err(Status::new(
            tonic::Code::from_i32(request.fail_with),
            format!("failing as asked: {}", request.message),
        ));
    }
    Ok(EchoReply {
        message: request.message,
        metadata,
    })
}

#[tonic::async_trait]
impl Echo for Service {
    async fn unary(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        let metadata = metadata_lines(&request);
        reply(request.into_inner(), metadata).map(Response::new)
    }

    type BidiStream = Pin<Box<dyn Stream<Item = Result<EchoReply, Status>> + Send>>;

    async fn bidi(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Self::BidiStream>, Status> {
        let metadata = metadata_lines(&request);
        let stream = request
            .into_inner()
            .map(move |item| item.and_then(|message| reply(message, metadata.clone())));
        Ok(Response::new(Box::pin(stream)))
    }
}

/// A running echo gRPC server; stops when dropped.
pub struct GrpcEcho {
    /// Where it listens (h2c).
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl GrpcEcho {
    /// Starts the service on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind grpc");
        let addr = listener.local_addr().expect("grpc address");
        let task = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(EchoServer::new(Service))
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await;
        });
        GrpcEcho { addr, task }
    }
}

impl Drop for GrpcEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}
