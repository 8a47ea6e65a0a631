//! permessage-deflate through the blocking adapter against real peers over 127.0.0.1: Python
//! `websockets` and Node `ws` as clients of our server (`accept` with `Options::deflate`) and as
//! servers of our client (`connect` with it), and headless Chromium as a client of our server.
//! The peers are the core's deflate interop peers (tests/interop_deflate: `peer.py`, `peer.js`,
//! `chromium_peer.js`, installed under the workspace's target directory). Each side checks that
//! compression was negotiated, and the bytes counted on the wire show the messages went
//! compressed, both ways.
#![cfg(feature = "deflate")]

#[path = "../../../tests/interop_deflate/chromium_server.rs"]
mod chromium_server;
#[path = "../../../tests/interop_deflate/peers.rs"]
mod peers;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use wsproto_blocking::{
    AcceptOptions, ClientRequest, CloseCode, DeflateConfig, Error, Message, Options, SessionConfig,
    Socket, WebSocket,
};

use chromium_server::{ChromiumServer, run_chromium};
use wsproto_test_support::counted::CountedTcp;
use wsproto_test_support::net::accept_within;
use wsproto_test_support::setup;
use wsproto_test_support::wire::assert_compressed;

use peers::{Peer, client_report, options, spawn_client, spawn_server};

/// The shared counting TCP stream, as this adapter's `Socket` (read timeouts and shutdown
/// passed on).
struct Counted(CountedTcp);

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Socket for Counted {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.stream.set_read_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.stream.shutdown(std::net::Shutdown::Write)
    }
}

impl Counted {
    fn new(stream: TcpStream) -> Self {
        Counted(CountedTcp::new(stream))
    }

    /// Checks that both ways carried under `quarters`/4 of `payload` bytes; says how many.
    fn assert_under(&self, payload: usize, quarters: usize) -> String {
        assert_compressed(self.0.counts(), payload, quarters)
    }
}

/// Room for the peers' largest message (300 KB), and `deflate`.
fn options_with(deflate: DeflateConfig) -> Options {
    Options {
        config: setup::large(16 << 20),
        session: SessionConfig {
            deflate: Some(deflate),
            ..SessionConfig::DEFAULT
        },
    }
}

/// Each peer's factory options with ours: context takeover on, then off both ways.
fn matrix() -> [(String, DeflateConfig); 2] {
    let off = DeflateConfig {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateConfig::DEFAULT
    };
    [
        (options(false, false, None, None), DeflateConfig::DEFAULT),
        (options(true, true, None, None), off),
    ]
}

/// The messages our client sends, as the peers' own lists (peer.py, peer.js) have them.
fn messages() -> Vec<Message> {
    // Bytes that do not repeat within a deflate window: they go (nearly) uncompressed.
    let noise = (0..5000u32)
        .map(|i| (i.wrapping_mul(0x9e37_79b9) >> 24) as u8)
        .collect();
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

/// Our server's side of the next connection (within 60 s), accepted with `ours`.
fn accept(listener: &TcpListener, ours: DeflateConfig) -> WebSocket<Counted> {
    let stream = accept_within(listener, Duration::from_secs(60));
    WebSocket::accept(Counted::new(stream), options_with(ours), |_| {
        Ok(AcceptOptions::default())
    })
    .unwrap()
}

/// Echoes until the peer closes; returns the payload bytes received.
fn echo(ws: &mut WebSocket<Counted>) -> usize {
    let mut received = 0;
    loop {
        match ws.read_message() {
            Ok(message) => {
                received += message.len();
                ws.send(message).unwrap();
            }
            Err(Error::Closed(info)) => {
                assert!(info.clean, "{info:?}");
                return received;
            }
            Err(err) => panic!("server: {err}"),
        }
    }
}

/// Our server echoes everything the peer's client sends; the client checks the echoes.
fn server_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = spawn_client(peer, port, peer_options);
    let mut ws = accept(&listener, ours);
    let params = ws.deflate_params().expect("permessage-deflate negotiated");
    let received = echo(&mut ws);
    let report = client_report(child, peer);
    let wire = ws.get_ref().assert_under(received, 1);
    println!("{peer:?} client {peer_options}: {params:?}, {wire}: {report}");
}

/// Our client sends the messages to the peer's echo server and checks the echoes.
fn client_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let (mut child, port) = spawn_server(peer, peer_options);
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let request = ClientRequest::new("127.0.0.1", "/");
    // A fixed mask: fine for a test, never in production (use a CSPRNG).
    let entropy = |buf: &mut [u8]| buf.fill(0x42);
    let mut ws =
        WebSocket::connect(Counted::new(stream), &request, options_with(ours), entropy).unwrap();
    let params = ws.deflate_params().expect("the peer accepted our offer");
    let mut sent = 0;
    for (i, message) in messages().into_iter().enumerate() {
        sent += message.len();
        ws.send(message.clone()).unwrap();
        assert!(ws.read_message().unwrap() == message, "echo {i} differs");
    }
    assert!(ws.close(CloseCode::NORMAL, "").unwrap().clean);
    peers::stop(&mut child);
    let wire = ws.get_ref().assert_under(sent, 1);
    println!("{peer:?} server {peer_options}: {params:?}, {wire}");
}

fn both_roles(peer: Peer) {
    for (peer_options, ours) in matrix() {
        server_against(peer, &peer_options, ours);
        client_against(peer, &peer_options, ours);
    }
}

#[test]
fn python_websockets_both_roles() {
    both_roles(Peer::Python);
}

#[test]
fn node_ws_both_roles() {
    both_roles(Peer::Node);
}

/// One connection from the Chromium page (tests/interop_deflate/chromium_peer.js), its
/// scenario run by [`ChromiumServer`]; then a clean close, and compression on the wire.
fn serve_chromium(listener: &TcpListener, ours: DeflateConfig) -> String {
    let mut ws = accept(listener, ours);
    let params = ws.deflate_params().expect("we accept Chromium's offer");
    let response = params.response().to_string();
    let mut page = ChromiumServer::new(&response);
    while !page.finished() {
        for reply in page.received(ws.read_message().unwrap()) {
            ws.send(reply).unwrap();
        }
    }
    // The page closes: a clean closing handshake.
    assert!(matches!(ws.read_message(), Err(Error::Closed(info)) if info.clean));
    // A megabyte of the page's messages is noise, which deflate cannot shrink; the rest
    // shrinks: with compression both ways carry well under 3/4.
    let wire = ws.get_ref().assert_under(page.echoed(), 3);
    format!("{response}: {wire}")
}

#[test]
fn chromium_client_to_our_server() {
    run_chromium(serve_chromium);
}
