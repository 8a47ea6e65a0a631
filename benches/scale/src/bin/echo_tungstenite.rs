//! Echo server on tokio-tungstenite, default configuration.
//! `echo_tungstenite PORT`

use futures_util::{SinkExt, StreamExt};

fn main() {
    wsproto_scale::run("tokio-tungstenite", |stream| async move {
        let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        while let Some(Ok(message)) = ws.next().await {
            // Pings are answered by tungstenite itself; a close ends the stream.
            if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                return;
            }
        }
    });
}
