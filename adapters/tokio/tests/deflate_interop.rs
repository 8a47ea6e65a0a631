//! permessage-deflate through the adapter against real peers over 127.0.0.1: Python
//! `websockets` and Node `ws`, as clients of our server (`accept` with `Options::deflate`) and as
//! servers of our client (`connect` with it). The peers are the core's deflate interop peers
//! (tests/interop_deflate: `peer.py`, `peer.js`, installed under the workspace's target
//! directory). Each side checks that compression was negotiated, and the bytes counted on the
//! wire show that the messages really went compressed, both ways.
#![cfg(feature = "deflate")]

#[path = "../../../tests/interop_deflate/peers.rs"]
mod peers;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use wsproto_tokio::{
    AcceptOptions, ClientRequest, CloseCode, Config, DeflateConfig, Message, Options,
};

use peers::{Peer, client_report, options, spawn_client, spawn_server, stop};

/// A stream that counts the bytes read from it and written to it.
struct Counted {
    inner: TcpStream,
    wire: Arc<Wire>,
}

/// Bytes that crossed the wire, each way.
#[derive(Default)]
struct Wire {
    read: AtomicUsize,
    written: AtomicUsize,
}

impl Wire {
    /// Checks that both ways carried under a quarter of `payload` bytes, and says how many.
    fn assert_compressed(&self, payload: usize) -> String {
        let (read, written) = (
            self.read.load(Ordering::Relaxed),
            self.written.load(Ordering::Relaxed),
        );
        assert!(
            read < payload / 4 && written < payload / 4,
            "{payload} bytes of messages each way, but {read} read and {written} written"
        );
        format!("{payload} bytes of messages each way: {read} read, {written} written")
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.wire
            .read
            .fetch_add(buf.filled().len() - before, Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.wire.written.fetch_add(n, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn counted(inner: TcpStream) -> (Counted, Arc<Wire>) {
    let wire = Arc::new(Wire::default());
    (
        Counted {
            inner,
            wire: wire.clone(),
        },
        wire,
    )
}

/// Room for the peers' largest message (300 KB).
fn options_with(deflate: DeflateConfig) -> Options {
    Options {
        config: Config {
            max_frame_payload: 16 << 20,
            max_message_size: 16 << 20,
            ..Config::DEFAULT
        },
        deflate: Some(deflate),
    }
}

/// Each peer's factory options with ours: context takeover on, then off both ways.
fn matrix() -> Vec<(String, DeflateConfig)> {
    vec![
        (options(false, false, None, None), DeflateConfig::DEFAULT),
        (
            options(true, true, None, None),
            DeflateConfig {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                ..DeflateConfig::DEFAULT
            },
        ),
    ]
}

/// The messages our client sends, as the peers' own lists (peer.py, peer.js) have them.
fn messages() -> Vec<Message> {
    let mut noise = vec![0u8; 5000];
    let mut state = 0x2545_f491_u32;
    for b in &mut noise {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *b = state as u8;
    }
    vec![
        Message::Text("hello world ".repeat(1000)),
        Message::Binary((0..=255u8).cycle().take(25600).collect()),
        Message::Text("hi".into()),
        Message::Text(String::new()),
        Message::Text("ünïcödé €€€ ".repeat(3000)),
        Message::Binary(noise),
        Message::Binary(vec![0; 300_000]),
    ]
}

/// Not random: fine for tests, never for production.
fn entropy() -> impl FnMut(&mut [u8]) + Send + 'static {
    let mut state = 0x9e37_79b9_u32;
    move |buf: &mut [u8]| {
        for b in buf {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *b = state as u8;
        }
    }
}

/// Our server echoes everything the peer's client sends; the client checks the echoes.
async fn server_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = spawn_client(peer, port, peer_options);
    let (stream, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .expect("the peer connects")
        .unwrap();
    let (stream, wire) = counted(stream);
    let mut ws =
        wsproto_tokio::accept(stream, options_with(ours), |_| Ok(AcceptOptions::default()))
            .await
            .unwrap();
    let params = ws.deflate_params().expect("permessage-deflate negotiated");
    let mut received = 0;
    while let Some(message) = ws.next().await {
        let message = message.unwrap();
        received += message.len();
        ws.send(message).await.unwrap();
    }
    let report = tokio::task::spawn_blocking(move || client_report(child, peer))
        .await
        .unwrap();
    let wire = wire.assert_compressed(received);
    println!("{peer:?} client {peer_options}: {params:?}, {wire}: {report}");
}

/// Our client sends the messages to the peer's echo server and checks the echoes.
async fn client_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let (mut child, port) = spawn_server(peer, peer_options);
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (stream, wire) = counted(stream);
    let request = ClientRequest::new("127.0.0.1", "/");
    let run = async {
        let mut ws = wsproto_tokio::connect(stream, &request, options_with(ours), entropy())
            .await
            .unwrap();
        let params = ws.deflate_params().expect("the peer accepted our offer");
        let mut sent = 0;
        for (i, message) in messages().into_iter().enumerate() {
            sent += message.len();
            ws.send(message.clone()).await.unwrap();
            let echo = ws.next().await.unwrap().unwrap();
            assert!(echo == message, "echo {i} differs");
        }
        ws.close_with(CloseCode::NORMAL, "").await.unwrap();
        (params, sent)
    };
    let (params, sent) = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the exchange took over 60 s");
    stop(&mut child);
    let wire = wire.assert_compressed(sent);
    println!("{peer:?} server {peer_options}: {params:?}, {wire}");
}

#[tokio::test]
async fn python_websockets_client_to_our_server() {
    for (peer, ours) in matrix() {
        server_against(Peer::Python, &peer, ours).await;
    }
}

#[tokio::test]
async fn node_ws_client_to_our_server() {
    for (peer, ours) in matrix() {
        server_against(Peer::Node, &peer, ours).await;
    }
}

#[tokio::test]
async fn our_client_to_python_websockets_server() {
    for (peer, ours) in matrix() {
        client_against(Peer::Python, &peer, ours).await;
    }
}

#[tokio::test]
async fn our_client_to_node_ws_server() {
    for (peer, ours) in matrix() {
        client_against(Peer::Node, &peer, ours).await;
    }
}
