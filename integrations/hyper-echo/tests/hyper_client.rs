//! The client side of wsproto-tokio's `http` feature with hyper's own clients against the echo
//! server on 127.0.0.1: `upgrade_request` over HTTP/1.1, `connect_request` over HTTP/2, then
//! `WebSocket::client` on hyper's upgraded stream.

use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Version};
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::timeout;
use wsproto_hyper_echo::{Server, SocketLog};

mod common;
use common::echo_each_then_close;
use wsproto_tokio::http::{check_response, connect_request, upgrade_request};
use wsproto_tokio::wsproto::handshake::ClientConnect;
use wsproto_tokio::{ClientRequest, Config, Message, WebSocket};

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

/// Echoes a text and a binary message, closes with 1000 and checks the server's log.
async fn echo_and_close<S>(
    mut ws: WebSocket<S>,
    log: &mut UnboundedReceiver<SocketLog>,
    version: Version,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let SocketLog::Opened { id, version: v, .. } = next_log(log).await else {
        panic!("no open logged")
    };
    assert_eq!(v, version);
    echo_each_then_close(
        &mut ws,
        [
            Message::Text("hyper ✓".into()),
            Message::from(vec![9; 100_000]),
        ],
    )
    .await;
    assert_eq!(
        next_log(log).await,
        SocketLog::Closed {
            id,
            version,
            code: 1000,
            clean: true,
            error: None
        }
    );
}

#[tokio::test]
async fn hyper_http1_client_upgrade() {
    let (addr, mut log) = start_server().await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(connection.with_upgrades());

    let offer = ClientRequest {
        subprotocols: &["echo.v2"],
        ..ClientRequest::new("127.0.0.1", "/h1")
    };
    let (request, key) = upgrade_request(&offer, b"0123456789abcdef").unwrap();
    let request = request.map(|()| Empty::<Bytes>::new());
    let mut response = timeout(LIMIT, sender.send_request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    let subprotocol = check_response(&response, Some(&key), offer.subprotocols, &[])
        .unwrap()
        .subprotocol()
        .map(String::from);
    assert_eq!(subprotocol.as_deref(), Some("echo.v2"));
    let upgraded = hyper::upgrade::on(&mut response).await.unwrap();
    let ws = WebSocket::client(
        TokioIo::new(upgraded),
        Config::default(),
        subprotocol.as_deref(),
    )
    .unwrap();
    echo_and_close(ws, &mut log, Version::HTTP_11).await;
}

#[tokio::test]
async fn hyper_http2_client_extended_connect() {
    let (addr, mut log) = start_server().await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);

    // The page first, as a browser does: its response comes after the server's SETTINGS, so
    // extended CONNECT is known to be enabled (RFC 8441 §3) before the CONNECT is sent.
    let page = http::Request::builder()
        .uri(format!("http://{addr}/"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let page = timeout(LIMIT, sender.send_request(page))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    let authority = addr.to_string();
    let offer = ClientConnect {
        scheme: "http",
        ..ClientConnect::new(&authority, "/h2")
    };
    let request = connect_request(&offer, Version::HTTP_2)
        .unwrap()
        .map(|()| Empty::<Bytes>::new());
    let mut response = timeout(LIMIT, sender.send_request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    check_response(&response, None, &[], &[]).unwrap();
    let upgraded = hyper::upgrade::on(&mut response).await.unwrap();
    let ws = WebSocket::client(TokioIo::new(upgraded), Config::default(), None).unwrap();
    echo_and_close(ws, &mut log, Version::HTTP_2).await;
}
