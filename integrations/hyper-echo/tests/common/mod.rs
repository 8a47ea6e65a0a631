//! What several of the echo server's test binaries do with a client `WebSocket`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::timeout;
use wsproto_tokio::{CloseCode, Message, WebSocket};

/// How long one echo or the closing handshake may take.
const LIMIT: Duration = Duration::from_secs(10);

/// Sends each message and checks that the same comes back, then closes cleanly with 1000.
pub async fn echo_each_then_close<S>(
    ws: &mut WebSocket<S>,
    messages: impl IntoIterator<Item = Message>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    for message in messages {
        ws.send(message.clone()).await.unwrap();
        let echo = timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap();
        assert_eq!(echo, message);
    }
    let info = timeout(LIMIT, ws.close_with(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    assert!(info.clean);
}
