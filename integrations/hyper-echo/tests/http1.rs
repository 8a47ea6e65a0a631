//! The echo server over HTTP/1.1 Upgrade on 127.0.0.1, against wsproto-tokio's own client
//! (which writes and reads the raw handshake itself).

use std::time::Duration;

use http::Version;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::timeout;
use wsproto_hyper_echo::{Server, SocketLog};

mod common;
use common::echo_each_then_close;
use wsproto_tokio::{ClientRequest, Config, DeflateConfig, Message, Options};

const LIMIT: Duration = Duration::from_secs(10);

async fn start_server() -> (std::net::SocketAddr, UnboundedReceiver<SocketLog>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (log, lines) = unbounded_channel();
    tokio::spawn(
        Server::new(Config::default())
            .with_log(log)
            .serve(listener, None),
    );
    (addr, lines)
}

async fn next_log(lines: &mut UnboundedReceiver<SocketLog>) -> SocketLog {
    timeout(LIMIT, lines.recv()).await.unwrap().unwrap()
}

#[tokio::test]
async fn echo_over_http1_upgrade() {
    let (addr, mut log) = start_server().await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let request = ClientRequest {
        subprotocols: &["x-unknown", "echo.v1"],
        ..ClientRequest::new("127.0.0.1", "/chat")
    };
    let entropy = |buf: &mut [u8]| buf.fill(0x5a);
    let mut ws = timeout(
        LIMIT,
        wsproto_tokio::connect(tcp, &request, Config::default(), entropy),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(ws.subprotocol(), Some("echo.v1"));
    let SocketLog::Opened {
        id, version, path, ..
    } = next_log(&mut log).await
    else {
        panic!("no open logged")
    };
    assert_eq!((version, path.as_str()), (Version::HTTP_11, "/chat"));
    echo_each_then_close(
        &mut ws,
        [Message::Text("hé ✓".into()), Message::from(vec![1, 2, 3])],
    )
    .await;
    assert_eq!(
        next_log(&mut log).await,
        SocketLog::Closed {
            id,
            version: Version::HTTP_11,
            code: 1000,
            clean: true,
            error: None
        }
    );
}

/// With `with_deflate`, the HTTP answer negotiates permessage-deflate and the upgraded stream
/// runs it: a client that offers it gets compressed echoes.
#[tokio::test]
async fn echo_with_permessage_deflate() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        Server::new(Config::default())
            .with_deflate(DeflateConfig::DEFAULT)
            .serve(listener, None),
    );
    let tcp = TcpStream::connect(addr).await.unwrap();
    let request = ClientRequest::new("127.0.0.1", "/");
    let entropy = |buf: &mut [u8]| buf.fill(0x5a);
    let options = Options::with_deflate(Config::default());
    let mut ws = timeout(
        LIMIT,
        wsproto_tokio::connect(tcp, &request, options, entropy),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        ws.deflate_params().is_some(),
        "the server accepted the offer"
    );
    // Over the compression threshold: both ends must run deflate for it to cross.
    echo_each_then_close(&mut ws, [Message::from("echo me, compressed ".repeat(500))]).await;
}

#[tokio::test]
async fn malformed_upgrade_is_refused_by_the_core_rules() {
    let (addr, mut log) = start_server().await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = vec![0u8; 1024];
    let n = timeout(LIMIT, tcp.read(&mut head)).await.unwrap().unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 426"), "{head}");
    assert!(head.contains("sec-websocket-version: 13"), "{head}");
    assert!(matches!(
        next_log(&mut log).await,
        SocketLog::Refused {
            version: Version::HTTP_11,
            status: 426,
            ..
        }
    ));
}
