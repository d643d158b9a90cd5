//! A WebSocket echo server.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running WebSocket echo server; stops when dropped.
pub struct WebSocketEcho {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl WebSocketEcho {
    /// Starts a server that sends every message back.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind websocket");
        let addr = listener.local_addr().expect("websocket address");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    while let Some(Ok(message)) = ws.next().await {
                        if message.is_close() || ws.send(message).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        WebSocketEcho { addr, task }
    }
}

impl Drop for WebSocketEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}
