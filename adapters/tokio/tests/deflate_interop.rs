//! permessage-deflate through the adapter against real peers over 127.0.0.1: Python
//! `websockets` and Node `ws`, as clients of our server (`accept` with `Options::deflate`) and as
//! servers of our client (`connect` with it), and headless Chromium as a client of our server.
//! The peers are the core's deflate interop peers (tests/interop_deflate: `peer.py`, `peer.js`,
//! `chromium_peer.js`, installed under the workspace's target directory). Each side checks that compression was negotiated, and the bytes counted on the
//! wire show that the messages really went compressed, both ways.
#![cfg(feature = "deflate")]

#[path = "../../../tests/interop_deflate/peers.rs"]
mod peers;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use wsproto_test_support::setup;
use wsproto_test_support::wire::assert_compressed;
use wsproto_tokio::{Accept, ClientRequest, CloseCode, DeflateConfig, Message, Options};

mod support;

use support::{Counted, Wire};

use peers::{
    Peer, client_report, finish, options, spawn_chromium, spawn_client, spawn_server, stop,
};

/// Our server's side of the next connection (within 60 s), accepted with `ours`, its wire
/// bytes counted.
async fn accept_counted(
    listener: &TcpListener,
    ours: DeflateConfig,
) -> (wsproto_tokio::WebSocket<Counted<TcpStream>>, Arc<Wire>) {
    let (stream, _) = tokio::time::timeout(Duration::from_secs(60), listener.accept())
        .await
        .expect("the peer connects within 60 s")
        .unwrap();
    let (stream, wire) = Counted::new(stream);
    let ws = wsproto_tokio::accept(stream, options_with(ours), |_| Ok(Accept::default()))
        .await
        .unwrap();
    (ws, wire)
}

/// Room for the peers' largest message (300 KB).
fn options_with(deflate: DeflateConfig) -> Options {
    Options {
        config: setup::large(16 << 20),
        deflate: Some(deflate),
        ..Options::DEFAULT
    }
}

/// Each peer's factory options with ours: context takeover on, then off both ways.
fn matrix() -> Vec<(String, DeflateConfig)> {
    vec![
        (options(false, false, None, None), DeflateConfig::DEFAULT),
        (options(true, true, None, None), no_context_takeover()),
    ]
}

/// Our parameters with a fresh compression context for every message, both ways.
fn no_context_takeover() -> DeflateConfig {
    DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateConfig::DEFAULT
    }
}

/// The messages our client sends, as the peers' own lists (peer.py, peer.js) have them.
fn messages() -> Vec<Message> {
    // Bytes that do not repeat within a deflate window: they go (nearly) uncompressed.
    let noise = (0..5000u32)
        .map(|i| (i.wrapping_mul(0x9e37_79b9) >> 24) as u8)
        .collect::<Vec<u8>>();
    vec![
        Message::from("hello world ".repeat(1000)),
        Message::from((0..=255u8).cycle().take(25600).collect::<Vec<u8>>()),
        Message::Text("hi".into()),
        Message::from(String::new()),
        Message::from("ünïcödé €€€ ".repeat(3000)),
        Message::from(noise),
        Message::from(vec![0; 300_000]),
    ]
}

/// Our server echoes everything the peer's client sends; the client checks the echoes.
async fn server_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = spawn_client(peer, port, peer_options);
    let (mut ws, wire) = accept_counted(&listener, ours).await;
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
    let wire = assert_compressed(wire.bytes(), received, 1);
    println!("{peer:?} client {peer_options}: {params:?}, {wire}: {report}");
}

/// Our client sends the messages to the peer's echo server and checks the echoes.
async fn client_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let (mut child, port) = spawn_server(peer, peer_options);
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (stream, wire) = Counted::new(stream);
    let request = ClientRequest::new("127.0.0.1", "/");
    let run = async {
        // A fixed mask: fine for a test, never in production (use a CSPRNG).
        let entropy = |buf: &mut [u8]| buf.fill(0x42);
        let mut ws = wsproto_tokio::connect(stream, &request, options_with(ours), entropy)
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
    let wire = assert_compressed(wire.bytes(), sent, 1);
    println!("{peer:?} server {peer_options}: {params:?}, {wire}");
}

async fn both_roles(peer: Peer) {
    for (peer_options, ours) in matrix() {
        server_against(peer, &peer_options, ours).await;
        client_against(peer, &peer_options, ours).await;
    }
}

#[tokio::test]
async fn python_websockets_both_roles() {
    both_roles(Peer::Python).await;
}

#[tokio::test]
async fn node_ws_both_roles() {
    both_roles(Peer::Node).await;
}

/// One connection from the Chromium page (tests/interop_deflate/chromium_peer.js): it reports
/// its `ws.extensions`, sends messages we echo until `send-yours`, then checksums ours until
/// `done` and closes. Returns a summary.
async fn serve_chromium(listener: &TcpListener, ours: DeflateConfig) -> String {
    let (mut ws, wire) = accept_counted(listener, ours).await;
    let params = ws.deflate_params().expect("we accept Chromium's offer");
    let response = params.response().to_string();
    let first = ws.next().await.unwrap().unwrap();
    assert_eq!(first, Message::from(format!("extensions:{response}")));
    let mut echoed = 0;
    loop {
        let message = ws.next().await.unwrap().unwrap();
        if message == Message::Text("send-yours".into()) {
            break;
        }
        echoed += message.len();
        ws.send(message).await.unwrap();
    }
    let own = [
        Message::from("server ✓ ".repeat(100_000)),
        Message::from(vec![7; 100_000]),
    ];
    let mut sums = Vec::new();
    for message in own {
        sums.push(peers::checksum(message.as_bytes()));
        ws.send(message).await.unwrap();
    }
    ws.send(Message::Text("done".into())).await.unwrap();
    let reported = ws.next().await.unwrap().unwrap();
    assert_eq!(
        reported,
        Message::from(format!("sums:{}", sums.join(" "))),
        "Chromium inflated our messages to other bytes"
    );
    // The page closes; the stream ends after a clean closing handshake.
    assert!(ws.next().await.is_none());
    assert!(ws.close_info().unwrap().clean);
    // A megabyte of the page's messages is noise, which deflate cannot shrink; the rest is
    // JSON and a pattern, which it does: with compression both ways carry well under 3/4.
    let wire = assert_compressed(wire.bytes(), echoed, 3);
    format!("{response}: {wire}")
}

#[tokio::test]
async fn chromium_client_to_our_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/deflate", listener.local_addr().unwrap());
    let ours = [DeflateConfig::DEFAULT, no_context_takeover()];
    let mut child = spawn_chromium(&url, ours.len());
    let mut served = Vec::new();
    for deflate in ours {
        let summary =
            tokio::time::timeout(Duration::from_secs(120), serve_chromium(&listener, deflate))
                .await;
        match summary {
            Ok(summary) => served.push(summary),
            Err(_) => {
                stop(&mut child);
                panic!("a Chromium connection took over 120 s");
            }
        }
    }
    let (status, stdout) = tokio::task::spawn_blocking(move || finish(child))
        .await
        .unwrap();
    assert!(status.success(), "the Chromium peer failed:\n{stdout}");
    assert!(stdout.lines().any(|l| l == "PASS"), "{stdout}");
    println!("{stdout}");
    for line in served {
        println!("{line}");
    }
}
