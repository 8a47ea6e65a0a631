//! Echo server on tokio-websockets, default `Config` and `Limits`.
//! `echo_tokio_websockets PORT`

use futures_util::{SinkExt, StreamExt};
use tokio_websockets::ServerBuilder;

fn main() {
    wsproto_scale::run("tokio-websockets", |stream| async move {
        let Ok((_request, mut ws)) = ServerBuilder::new().accept(stream).await else {
            return;
        };
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                return;
            }
        }
    });
}
