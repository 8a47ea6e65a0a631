//! permessage-deflate through this adapter against real peers over 127.0.0.1: Python
//! `websockets` and Node `ws` (the shared peers of tests/interop_deflate, installed by its
//! `install.sh` under the target directory), as clients of our server and as servers of our
//! client, with context takeover and without. Each side checks that compression was
//! negotiated; the bytes counted on our socket show that the messages went compressed, both
//! ways.
#![cfg(feature = "deflate")]

// Chromium's part of the peers is not used here.
#[allow(dead_code)]
#[path = "../../../tests/interop_deflate/peers.rs"]
mod peers;
mod support;

use std::time::Duration;

use compio::net::{TcpListener, TcpStream};
use peers::{Peer, client_report, options, spawn_client, spawn_server, stop};
use support::{Counted, Traffic};
use wsproto_uring::{AcceptOptions, ClientRequest, Config, DeflateConfig, Message, Options};

/// Our settings with `deflate`, room for the peers' largest messages.
fn ours(deflate: DeflateConfig) -> Options {
    let config = Config {
        max_frame_payload: 16 << 20,
        max_message_size: 16 << 20,
        ..Config::DEFAULT
    };
    Options {
        config,
        deflate: Some(deflate),
    }
}

/// The peer's options and ours: context takeover both ways, then none either way.
fn settings() -> impl Iterator<Item = (String, DeflateConfig)> {
    [false, true].into_iter().map(|no_takeover| {
        let ours = DeflateConfig {
            server_no_context_takeover: no_takeover,
            client_no_context_takeover: no_takeover,
            ..DeflateConfig::DEFAULT
        };
        (options(no_takeover, no_takeover, None, None), ours)
    })
}

/// Checks that each way carried under a quarter of the `payload` bytes of messages it had.
fn assert_compressed(traffic: &Traffic, payload: usize) -> String {
    let (read, written) = (traffic.read.get(), traffic.written.get());
    assert!(
        read < payload / 4 && written < payload / 4,
        "{payload} bytes of messages each way went as {read} read and {written} written"
    );
    format!("{payload} B of messages each way: {read} B read, {written} B written")
}

/// Our server, echoing what the peer's client script sends until it closes.
async fn our_server(peer: Peer, peer_options: &str, deflate: DeflateConfig) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = spawn_client(peer, listener.local_addr().unwrap().port(), peer_options);
    let accepted = compio::time::timeout(Duration::from_secs(60), listener.accept()).await;
    let stream = Counted::new(accepted.expect("the peer connects within 60 s").unwrap().0);
    let traffic = stream.traffic.clone();
    let mut ws = wsproto_uring::accept(stream, ours(deflate), |_| Ok(AcceptOptions::default()))
        .await
        .unwrap();
    let params = ws.deflate_params().expect("permessage-deflate negotiated");
    let mut echoed = 0;
    while let Some(Ok(message)) = ws.next().await {
        echoed += message.len();
        ws.send(message).await.unwrap();
    }
    assert!(
        ws.close_info().unwrap().clean,
        "the peer's script ends with a clean close"
    );
    let report = compio::runtime::spawn_blocking(move || client_report(client, peer))
        .await
        .unwrap();
    let wire = assert_compressed(&traffic, echoed);
    println!("{peer:?} client {peer_options}: {params:?}, {wire}; {report}");
}

/// What our client sends: compressible text and binary, a little noise, the empty message.
fn script() -> Vec<Message> {
    let noise: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    vec![
        Message::Text("to be or not to be, ".repeat(2000)),
        Message::Binary([1u8, 2, 3, 4].repeat(50_000)),
        Message::Text(String::new()),
        Message::Binary(noise),
        Message::Text("ça va très bien — ".repeat(5000)),
        Message::Binary(vec![0xff; 500_000]),
    ]
}

/// Our client, against the peer's echo server.
async fn our_client(peer: Peer, peer_options: &str, deflate: DeflateConfig) {
    let (mut server, port) = spawn_server(peer, peer_options);
    let stream = Counted::new(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    let traffic = stream.traffic.clone();
    let exchange = async {
        let request = ClientRequest::new("127.0.0.1", "/");
        let entropy = |buf: &mut [u8]| buf.fill(0x6b);
        let mut ws = wsproto_uring::connect(stream, &request, ours(deflate), entropy)
            .await
            .unwrap();
        // All of it sent before any echo is read.
        let script = script();
        for message in &script {
            ws.send(message.clone()).await.unwrap();
        }
        ws.flush().await.unwrap();
        for message in &script {
            assert!(
                ws.next().await.unwrap().unwrap() == *message,
                "a wrong echo"
            );
        }
        ws.close().await.unwrap();
        let params = ws.deflate_params().expect("the peer accepted our offer");
        (params, script.iter().map(Message::len).sum())
    };
    let (params, sent) = compio::time::timeout(Duration::from_secs(60), exchange)
        .await
        .expect("the exchange took over 60 s");
    stop(&mut server);
    let wire = assert_compressed(&traffic, sent);
    println!("{peer:?} server {peer_options}: {params:?}, {wire}");
}

#[compio::test]
async fn python_websockets_and_node_ws_in_both_roles() {
    for peer in [Peer::Python, Peer::Node] {
        for (peer_options, deflate) in settings() {
            our_server(peer, &peer_options, deflate).await;
            our_client(peer, &peer_options, deflate).await;
        }
    }
}
