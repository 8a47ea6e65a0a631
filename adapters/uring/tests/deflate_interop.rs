//! permessage-deflate through this adapter against real peers over 127.0.0.1: Python
//! `websockets` and Node `ws` (the shared peers of tests/interop_deflate, installed by its
//! `install.sh` under the target directory), as clients of our server and as servers of our
//! client, with context takeover and without; and headless Chromium (`chromium_peer.js`,
//! installed by `scripts/interop install`) as a client of our server. Each side checks that compression was
//! negotiated; the bytes counted on our socket show that the messages went compressed, both
//! ways.
#![cfg(feature = "deflate")]

#[path = "../../../tests/interop_deflate/peers.rs"]
mod peers;
mod support;

use std::time::Duration;

use compio::net::{TcpListener, TcpStream};
use peers::{
    Peer, checksum, client_report, finish, options, spawn_chromium, spawn_client, spawn_server,
    stop,
};
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

/// One connection of the Chromium page (tests/interop_deflate/chromium_peer.js): it reports its
/// `ws.extensions`, sends messages we echo until `send-yours`, checksums ours until `done`,
/// and closes. Returns a summary.
async fn chromium_connection(listener: &TcpListener, deflate: DeflateConfig) -> String {
    let stream = Counted::new(listener.accept().await.unwrap().0);
    let traffic = stream.traffic.clone();
    let mut ws = wsproto_uring::accept(stream, ours(deflate), |_| Ok(AcceptOptions::default()))
        .await
        .unwrap();
    let params = ws.deflate_params().expect("we accept Chromium's offer");
    let response = params.response().to_string();
    let extensions = ws.next().await.unwrap().unwrap();
    assert_eq!(extensions, Message::Text(format!("extensions:{response}")));
    let mut echoed = 0;
    while let Some(Ok(message)) = ws.next().await {
        if message.as_bytes() == b"send-yours" {
            break;
        }
        echoed += message.len();
        ws.send(message).await.unwrap();
    }
    let own = [
        Message::Text("réponse ✓ ".repeat(80_000)),
        Message::Binary([3u8, 1, 4, 1, 5].repeat(30_000)),
    ];
    let sums: Vec<String> = own.iter().map(|m| checksum(m.as_bytes())).collect();
    for message in own {
        ws.send(message).await.unwrap();
    }
    ws.send(Message::Text("done".into())).await.unwrap();
    let reported = ws.next().await.unwrap().unwrap();
    let expected = Message::Text(format!("sums:{}", sums.join(" ")));
    assert!(
        reported == expected,
        "Chromium inflated our messages to other bytes"
    );
    assert!(ws.next().await.is_none(), "the page closes");
    assert!(ws.close_info().unwrap().clean);
    // A megabyte of the page's messages is noise, which deflate cannot shrink; its JSON and
    // pattern shrink: each way carries well under 3/4 of the echoed bytes.
    let (read, written) = (traffic.read.get(), traffic.written.get());
    let limit = echoed / 4 * 3;
    assert!(
        read < limit && written < limit,
        "{echoed} B echoed: {read} B read, {written} B written"
    );
    format!("{response}: {echoed} B echoed, {read} B read, {written} B written")
}

#[compio::test]
async fn chromium_as_a_client_of_our_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/deflate", listener.local_addr().unwrap());
    let ours: Vec<DeflateConfig> = settings().map(|(_, deflate)| deflate).collect();
    let mut page = spawn_chromium(&url, ours.len());
    for deflate in ours {
        let served = chromium_connection(&listener, deflate);
        let Ok(summary) = compio::time::timeout(Duration::from_secs(120), served).await else {
            stop(&mut page);
            panic!("a Chromium connection took over 120 s");
        };
        println!("Chromium {summary}");
    }
    let (status, stdout) = compio::runtime::spawn_blocking(move || finish(page))
        .await
        .unwrap();
    assert!(
        status.success() && stdout.lines().any(|l| l == "PASS"),
        "{stdout}"
    );
}
