//! An echo server with subprotocol selection: `cargo run -p wsproto-axum --example echo`.
use axum::{Router, response::Response};
use futures_util::{SinkExt, StreamExt};
use wsproto_axum::{WebSocketUpgrade, websocket_route};

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.protocols(["echo.v2", "echo.v1"])
        .on_upgrade(|mut socket| async move {
            eprintln!("open: {:?}", socket.subprotocol());
            while let Some(Ok(message)) = socket.next().await {
                if socket.send(message).await.is_err() {
                    break;
                }
            }
        })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new().route("/ws", websocket_route(echo));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await
}
