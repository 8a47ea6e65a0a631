//! The extractor over 127.0.0.1 with HTTP/1.1: refusals answered with the core's status, and
//! accepted sockets with the subprotocol and compression agreed.

// Shared with tests/interop.rs; the TLS server is not used here.
#[allow(dead_code)]
mod common;

use std::time::Duration;

use common::{PROTOCOLS, Settings, app, serve_tcp};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use wsproto_axum::{Config, WebSocketUpgrade};
use wsproto_tokio::{ClientRequest, DeflateConfig, Message, Options};

/// Sends `head` and returns the whole response the server sent before closing (or within 5 s).
async fn exchange(port: u16, head: &str) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    // Keep-alive: read until the head and the (short) body are in, or the server closes.
    let _ = timeout(Duration::from_secs(5), async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
            let text = String::from_utf8_lossy(&response);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                });
                if length.is_none_or(|length| body.len() >= length) {
                    break;
                }
            }
        }
    })
    .await;
    String::from_utf8_lossy(&response).into_owned()
}

/// A valid RFC 6455 request head for `/` with `extra` header lines.
fn upgrade_head(extra: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn malformed_upgrades_are_refused_with_the_right_status() {
    let (app, _) = app(Settings::default());
    let port = serve_tcp(app).await;
    // No key: 400.
    let response = exchange(
        port,
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    assert!(
        response.contains("Sec-WebSocket-Key"),
        "the core's reason: {response}"
    );
    // A key that is not 16 bytes in base64: 400.
    let response = exchange(
        port,
        &upgrade_head("Sec-WebSocket-Version: 13\r\n")
            .replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    // Another version: 426 with the version we speak.
    let response = exchange(port, &upgrade_head("Sec-WebSocket-Version: 8\r\n")).await;
    assert!(response.starts_with("HTTP/1.1 426 "), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{response}"
    );
    // Neither GET nor CONNECT: the router's 405, as axum answers any method it has no route for.
    let response = exchange(
        port,
        &upgrade_head("Sec-WebSocket-Version: 13\r\n").replacen("GET", "POST", 1),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 405 "), "{response}");
    // A head over the Config's 8 KiB: 431, although hyper took it.
    let long = format!(
        "Sec-WebSocket-Version: 13\r\nX-Long: {}\r\n",
        "a".repeat(9000)
    );
    let response = exchange(port, &upgrade_head(&long)).await;
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
}

#[tokio::test]
async fn the_config_extension_sets_the_head_limits() {
    let config = Config {
        max_headers: 6,
        ..Config::default()
    };
    let (app, _) = app(Settings {
        config: Some(config),
        ..Settings::default()
    });
    let port = serve_tcp(app).await;
    // Host, Upgrade, Connection, the key, the version and one more: 6, at the limit.
    let six = upgrade_head("Sec-WebSocket-Version: 13\r\nX-A: 1\r\n");
    let response = exchange(port, &six).await;
    assert!(response.starts_with("HTTP/1.1 101 "), "{response}");
    let seven = upgrade_head("Sec-WebSocket-Version: 13\r\nX-A: 1\r\nX-B: 2\r\n");
    let response = exchange(port, &seven).await;
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
}

/// Our client on `port`, offering `subprotocols` and compression.
async fn client(port: u16, subprotocols: &[&str]) -> wsproto_tokio::WebSocket<TcpStream> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut request = ClientRequest::new("127.0.0.1", "/");
    request.subprotocols = subprotocols;
    let options = Options {
        config: Config {
            max_message_size: 16 << 20,
            ..Config::default()
        },
        deflate: Some(DeflateConfig::DEFAULT),
        ..Options::DEFAULT
    };
    // A fixed mask: fine for a test, never in production.
    let entropy = |buf: &mut [u8]| buf.fill(0x5a);
    wsproto_tokio::connect(tcp, &request, options, entropy)
        .await
        .unwrap()
}

#[tokio::test]
async fn echo_with_compression_and_the_servers_preferred_subprotocol() {
    let (app, mut served) = app(Settings::default());
    let port = serve_tcp(app).await;
    let mut ws = client(port, &["echo.v1", "x-other", "echo.v2"]).await;
    // The server's order of preference, not the client's.
    assert_eq!(ws.subprotocol(), Some(PROTOCOLS[0]));
    assert!(ws.deflate_params().is_some(), "compression by default");
    // 2.6 MB: over the core's 1 MiB default, within the handler's 16 MiB.
    let big = Message::from("compressible ".repeat(200_000));
    ws.send(big.clone()).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), big);
    ws.close().await.unwrap();
    let served = timeout(Duration::from_secs(5), served.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(served.version, http::Version::HTTP_11);
    assert_eq!(served.subprotocol.as_deref(), Some("echo.v2"));
    assert!(served.deflate.is_some());
    assert_eq!(served.echoed, big.len());
    assert_eq!(served.close, Some((1000, true)));
}

#[tokio::test]
async fn one_setting_turns_compression_off() {
    let (app, mut served) = app(Settings {
        no_deflate: true,
        ..Settings::default()
    });
    let port = serve_tcp(app).await;
    let mut ws = client(port, &["x-other"]).await;
    assert_eq!(ws.subprotocol(), None);
    assert!(ws.deflate_params().is_none());
    ws.send(Message::from(vec![1, 2, 3])).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::from(vec![1, 2, 3])
    );
    ws.close().await.unwrap();
    let served = timeout(Duration::from_secs(5), served.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(served.deflate.is_none());
    assert_eq!(served.subprotocol, None);
}

#[tokio::test]
async fn a_valid_handshake_without_an_upgradable_connection_is_answered_426() {
    use hyper::service::Service;
    // Called in-process: no hyper connection put an `OnUpgrade` into the request.
    let (app, _) = app(Settings::default());
    let request = http::Request::get("/")
        .header("host", "127.0.0.1")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(String::new())
        .unwrap();
    let service = hyper_util::service::TowerToHyperService::new(app);
    let response = service.call(request).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
}

#[tokio::test]
async fn a_connection_gone_before_the_upgrade_reaches_on_failed_upgrade() {
    let (failures, mut failed) = tokio::sync::mpsc::unbounded_channel();
    let handler = move |ws: WebSocketUpgrade| {
        let failures = failures.clone();
        async move {
            ws.on_failed_upgrade(move |error: axum::Error| {
                let _ = failures.send(error.to_string());
            })
            .on_upgrade(|_| async { panic!("no socket on a closed connection") })
        }
    };
    let app = axum::Router::new().route("/", wsproto_axum::websocket_route(handler));
    let port = serve_tcp(app).await;
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(upgrade_head("Sec-WebSocket-Version: 13\r\n").as_bytes())
        .await
        .unwrap();
    // Gone with a reset once the request is sent: hyper reads the request (the kernel hands
    // over queued data before the reset), the handler answers at once, and the upgrade fails.
    tcp.set_zero_linger().unwrap();
    drop(tcp);
    let error = timeout(Duration::from_secs(5), failed.recv()).await;
    let error = error.expect("on_failed_upgrade is called").unwrap();
    println!("on_failed_upgrade: {error}");
}
