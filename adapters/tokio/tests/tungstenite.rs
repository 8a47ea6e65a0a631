//! Interoperability with tungstenite (through `tokio-tungstenite`), in process over
//! `tokio::io::duplex`: wsproto server ↔ tungstenite client and tungstenite server ↔ wsproto
//! client. Messages of every length class, pings and pongs both ways, and a close with code and
//! reason started by each side.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message as TMessage};
use wsproto_test_support::setup::{entropy, large};
use wsproto_tokio::{Accept, ClientRequest, CloseCode, Message, WebSocket};

mod support;

use support::assert_ping_answered;

const SIZES: [usize; 6] = [0, 125, 126, 65535, 65536, 4 << 20];

/// What the tungstenite end saw.
#[derive(Debug, Default)]
struct Seen {
    pings: Vec<Bytes>,
    pongs: Vec<Bytes>,
    close: Option<CloseFrame>,
    echoed: usize,
}

/// The tungstenite end: echoes data, answers the commands "ping me" (sends a ping) and
/// "close me" (closes with 4002 "tung bye"), reports a pong with "got pong", until the stream
/// ends.
async fn tungstenite_peer<S>(mut ws: WebSocketStream<S>) -> Seen
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut seen = Seen::default();
    while let Some(message) = ws.next().await {
        match message.expect("tungstenite read") {
            TMessage::Text(text) if text.as_str() == "ping me" => {
                ws.send(TMessage::Ping(Bytes::from_static(b"tp")))
                    .await
                    .unwrap();
            }
            TMessage::Text(text) if text.as_str() == "close me" => {
                let frame = CloseFrame {
                    code: 4002.into(),
                    reason: "tung bye".into(),
                };
                ws.close(Some(frame)).await.unwrap();
            }
            message @ (TMessage::Text(_) | TMessage::Binary(_)) => {
                seen.echoed += 1;
                ws.send(message).await.unwrap();
            }
            TMessage::Ping(payload) => seen.pings.push(payload),
            TMessage::Pong(payload) => {
                seen.pongs.push(payload);
                ws.send(TMessage::text("got pong")).await.unwrap();
            }
            TMessage::Close(frame) => seen.close = frame,
            TMessage::Frame(_) => unreachable!("not given by reads"),
        }
    }
    seen
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

/// The wsproto end: every size both kinds, a ping each way, then a close started by wsproto
/// (`initiate`) or by tungstenite.
async fn wsproto_side(ws: &mut WebSocket<DuplexStream>, initiate: bool) {
    for len in SIZES {
        let bytes = payload(len);
        ws.send(Message::from(bytes.clone())).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::from(bytes),
            "binary {len}"
        );
        let text: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        ws.send(Message::from(text.clone())).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::from(text),
            "text {len}"
        );
    }
    // A ping from wsproto: tungstenite answers with a pong.
    assert_ping_answered(ws, b"wp").await;
    // A ping from tungstenite: wsproto answers, tungstenite reports it.
    ws.send("ping me".into()).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("got pong".into())
    );
    if initiate {
        let info = ws.close_with(CloseCode(4001), "wsproto bye").await.unwrap();
        assert!(info.clean);
        assert_eq!(info.code, CloseCode(4001), "the echoed code");
    } else {
        ws.send("close me".into()).await.unwrap();
        assert!(ws.next().await.is_none(), "a clean close ends the stream");
        let info = ws.close_info().unwrap();
        assert!(info.clean, "{info:?}");
        assert_eq!(
            (info.code, ws.close_reason()),
            (CloseCode(4002), "tung bye")
        );
    }
}

fn check_seen(seen: &Seen, initiate: bool) {
    assert_eq!(seen.echoed, 2 * SIZES.len() + 1);
    assert_eq!(seen.pings, [Bytes::from_static(b"wp")]);
    assert_eq!(seen.pongs, [Bytes::from_static(b"tp")]);
    let close = seen.close.as_ref().expect("tungstenite saw a close frame");
    if initiate {
        assert_eq!(u16::from(close.code), 4001);
        assert_eq!(close.reason.as_str(), "wsproto bye");
    } else {
        // wsproto's reply echoes the code (RFC 6455 §5.5.1), without a reason.
        assert_eq!(u16::from(close.code), 4002);
    }
}

async fn wsproto_server_tungstenite_client(initiate: bool) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let client = tokio::spawn(async move {
        let (ws, response) = tokio_tungstenite::client_async("ws://localhost/chat", client_io)
            .await
            .unwrap();
        assert_eq!(response.status(), 101);
        tungstenite_peer(ws).await
    });
    let mut ws = wsproto_tokio::accept(server_io, large(8 << 20), |req| {
        assert_eq!(req.path(), "/chat");
        Ok(Accept::default())
    })
    .await
    .unwrap();
    wsproto_side(&mut ws, initiate).await;
    check_seen(&client.await.unwrap(), initiate);
}

async fn tungstenite_server_wsproto_client(initiate: bool) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let ws = tokio_tungstenite::accept_async(server_io).await.unwrap();
        tungstenite_peer(ws).await
    });
    let request = ClientRequest::new("localhost", "/chat");
    let mut ws = wsproto_tokio::connect(client_io, &request, large(8 << 20), entropy())
        .await
        .unwrap();
    wsproto_side(&mut ws, initiate).await;
    check_seen(&server.await.unwrap(), initiate);
}

#[tokio::test]
async fn wsproto_server_tungstenite_client_wsproto_closes() {
    wsproto_server_tungstenite_client(true).await;
}

#[tokio::test]
async fn wsproto_server_tungstenite_client_tungstenite_closes() {
    wsproto_server_tungstenite_client(false).await;
}

#[tokio::test]
async fn tungstenite_server_wsproto_client_wsproto_closes() {
    tungstenite_server_wsproto_client(true).await;
}

#[tokio::test]
async fn tungstenite_server_wsproto_client_tungstenite_closes() {
    tungstenite_server_wsproto_client(false).await;
}
