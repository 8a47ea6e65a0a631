//! The extractor over HTTP/2 extended CONNECT (RFC 8441) without TLS (h2c with prior
//! knowledge, as `axum::serve` speaks it), with hyper's HTTP/2 client: a malformed CONNECT
//! refused with the core's HTTP/2 answer, and a compressed echo on an accepted one.

// Shared with tests/interop.rs; the TLS server is not used here.
#[allow(dead_code)]
mod common;

use std::time::Duration;

use axum::body::Body;
use common::{Settings, app, serve_tcp};
use futures_util::{SinkExt, StreamExt};
use http::{Request, StatusCode, Version};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::time::timeout;
use wsproto_tokio::http::{check_response, connect_request};
use wsproto_tokio::wsproto::handshake::ClientConnect;
use wsproto_tokio::{DeflateConfig, Message, Role, WebSocket};

const LIMIT: Duration = Duration::from_secs(10);

/// An HTTP/2 connection to the server on `port`, once its SETTINGS (with extended CONNECT
/// enabled) are known: after the answer to a first request, as a browser's page load.
async fn h2_client(port: u16) -> SendRequest<Body> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    let page = Request::get(format!("http://127.0.0.1:{port}/"))
        .body(Body::empty())
        .unwrap();
    let page = timeout(LIMIT, sender.send_request(page))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (page.version(), page.status()),
        (Version::HTTP_2, StatusCode::OK)
    );
    sender
}

#[tokio::test]
async fn a_malformed_extended_connect_is_refused_with_the_core_answer() {
    let (app, _) = app(Settings::default());
    let port = serve_tcp(app).await;
    let mut sender = h2_client(port).await;
    let authority = format!("127.0.0.1:{port}");
    let offer = ClientConnect {
        scheme: "http",
        ..ClientConnect::new(&authority, "/")
    };
    let mut request = connect_request(&offer, Version::HTTP_2).unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-version", http::HeaderValue::from_static("8"));
    let response = sender.send_request(request.map(|()| Body::empty()));
    let response = timeout(LIMIT, response).await.unwrap().unwrap();
    // RFC 8441 has no 426: another version is a 400 that names ours.
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
}

#[tokio::test]
async fn extended_connect_echoes_compressed() {
    let (app, mut served) = app(Settings::default());
    let port = serve_tcp(app).await;
    let mut sender = h2_client(port).await;
    let authority = format!("127.0.0.1:{port}");
    let deflate = DeflateConfig::DEFAULT;
    let extension = deflate.offer();
    let offer = ClientConnect {
        scheme: "http",
        subprotocols: &["echo.v1"],
        extensions: &[extension.as_str()],
        ..ClientConnect::new(&authority, "/")
    };
    let request = connect_request(&offer, Version::HTTP_2).unwrap();
    let response = sender.send_request(request.map(|()| Body::empty()));
    let mut response = timeout(LIMIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let checked = check_response(&response, None, &["echo.v1"], &[extension.as_str()]).unwrap();
    assert_eq!(checked.subprotocol(), Some("echo.v1"));
    let params = deflate.check_response(checked.extensions()).unwrap();
    let params = params.expect("the server accepted permessage-deflate");
    let upgraded = hyper::upgrade::on(&mut response).await.unwrap();
    // A fixed mask: fine for a test, never in production.
    let entropy = |buf: &mut [u8]| buf.fill(0xa5);
    let mut ws = WebSocket::open(
        TokioIo::new(upgraded),
        Role::Client,
        wsproto_tokio::Config::default(),
        entropy,
        Some("echo.v1"),
    )
    .unwrap();
    ws.enable_deflate(params).unwrap();
    let message = Message::from("over HTTP/2, compressed ".repeat(1000));
    ws.send(message.clone()).await.unwrap();
    assert_eq!(
        timeout(LIMIT, ws.next()).await.unwrap().unwrap().unwrap(),
        message
    );
    ws.close().await.unwrap();
    let socket = timeout(LIMIT, served.recv()).await.unwrap().unwrap();
    assert_eq!(socket.version, Version::HTTP_2);
    assert_eq!(socket.deflate, Some(params));
    assert_eq!(socket.subprotocol.as_deref(), Some("echo.v1"));
    assert_eq!(socket.close, Some((1000, true)));
}
