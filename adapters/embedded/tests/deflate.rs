//! permessage-deflate through the embedded blocking socket (feature `deflate`), over 127.0.0.1
//! against the core's `Session` with deflate on the other end, as client and as server, and
//! against Python `websockets` and Node `ws` in both roles, and against headless Chromium as a
//! client of the embedded server.
//!
//! Both ends count the bytes they read off the wire, so the tests see that messages travelled
//! compressed both ways, not only that they arrived.
#![cfg(feature = "deflate")]

mod common;

#[path = "../../../tests/interop_deflate/chromium_server.rs"]
mod chromium_server;
// Shared with the other adapters' interop tests; not all of it is used here.
#[allow(dead_code)]
#[path = "../../../tests/interop_deflate/peers.rs"]
mod peers;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant as StdInstant};

use chromium_server::{ChromiumServer, run_chromium};
use common::now;
use peers::{Peer, client_report, options, spawn_client, spawn_server};
use wsproto::Connection;
use wsproto::deflate::DeflateParams;
use wsproto::message::OwnedMessage;
use wsproto::session::{Session, SessionConfig, SessionEvent};
use wsproto_embedded::{
    AcceptOptions, ClientRequest, Clock, CloseCode, Config, DeflateConfig, Entropy, Message,
    Options, asynch, blocking,
};
use wsproto_test_support::counted::CountedTcp as Tcp;
use wsproto_test_support::net::accept_within;
use wsproto_test_support::ready::block_on;
use wsproto_test_support::setup::{entropy, large};
use wsproto_test_support::wire::assert_compressed;

/// What the session peer saw.
struct PeerReport {
    deflate: Option<DeflateParams>,
    /// Bytes it read off the wire, handshake included.
    wire_read: usize,
    /// The messages it received, which it echoed.
    messages: Vec<Vec<u8>>,
}

/// Drives a `Session` with deflate over `stream`: accepts a request (a server) or connects
/// (a client, `request` given), echoes every message, until the connection ends.
fn session_peer(mut stream: TcpStream, request: Option<ClientRequest<'_>>) -> PeerReport {
    let start = StdInstant::now();
    let config = SessionConfig {
        deflate: Some(DeflateConfig::DEFAULT),
        ..SessionConfig::DEFAULT
    };
    let conn = match request {
        Some(_) => Connection::client(Config::default(), entropy(), now(start)).unwrap(),
        None => Connection::server_with_entropy(Config::default(), entropy(), now(start)).unwrap(),
    };
    let mut session = Session::new(conn, config, Vec::new(), Vec::new());
    if let Some(request) = request {
        session.connect(&request, now(start)).unwrap();
    }
    let mut report = PeerReport {
        deflate: None,
        wire_read: 0,
        messages: Vec::new(),
    };
    loop {
        // Decided while the event borrows the session, done after.
        let step = match session.poll_event(now(start)) {
            Some(SessionEvent::Request(_)) => Step::Accept,
            Some(SessionEvent::Text(text)) => Step::Echo(text.into()),
            Some(SessionEvent::Binary(bytes)) => Step::Echo(bytes.into()),
            Some(SessionEvent::Closed(_)) => Step::Finish,
            Some(_) => continue,
            None => Step::Io,
        };
        match step {
            Step::Accept => session.accept(&AcceptOptions::default()).unwrap(),
            Step::Echo(message) => {
                session.send_message(message.as_message()).unwrap();
                report.messages.push(message.into_bytes());
            }
            Step::Finish | Step::Io => {
                report.deflate = report.deflate.or(session.deflate_params());
                stream.write_all(session.output()).unwrap();
                session.advance_output(session.output().len());
                if session.wants_shutdown() {
                    let _ = stream.shutdown(std::net::Shutdown::Write);
                    session.shutdown_done();
                }
                if matches!(step, Step::Finish) {
                    return report;
                }
                let n = stream.read(session.read_buf()).unwrap_or(0);
                report.wire_read += n;
                match n {
                    0 => session.receive_eof(),
                    n => session.commit_read(n),
                }
            }
        }
    }
}

/// What the session peer does next.
enum Step {
    Accept,
    Echo(OwnedMessage),
    Finish,
    Io,
}

/// A compressible text message, a short one under the compression threshold, and a binary
/// one that does not compress, each larger than the socket's `tx`.
fn messages() -> Vec<Message<'static>> {
    let telemetry: &'static str = "{\"sensor\":\"t1\",\"celsius\":21.5,\"ok\":true}\n"
        .repeat(100)
        .leak();
    let noise: &'static [u8] = (0..3000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect::<Vec<_>>()
        .leak();
    vec![
        Message::Text(telemetry),
        Message::Text("hi"),
        Message::Binary(noise),
        Message::Text(telemetry),
    ]
}

fn with_deflate() -> Options {
    Options {
        deflate: Some(DeflateConfig::DEFAULT),
        ..Options::from(Config::default())
    }
}

/// The embedded blocking server over `stream` with `options`, on the lent buffers, accepting
/// any request.
fn accept<'b>(
    stream: TcpStream,
    options: Options,
    rx: &'b mut [u8],
    tx: &'b mut [u8],
) -> blocking::WebSocket<'b, Tcp, impl Clock> {
    let start = StdInstant::now();
    let clock = move || now(start);
    let accepted = blocking::WebSocket::accept(Tcp::new(stream), options, clock, rx, tx, |_| {
        Ok(AcceptOptions::default())
    });
    accepted.unwrap()
}

/// Sends every message through `ws` and checks its echo, closes, and checks what the session
/// `peer` saw (if the peer is one): deflate negotiated, every message, fewer bytes on the wire
/// than in the messages both ways.
fn exchange_and_check<C: Clock, E: Entropy>(
    mut ws: blocking::WebSocket<'_, Tcp, C, E>,
    peer: Option<thread::JoinHandle<PeerReport>>,
) {
    let mut payload = 0;
    for message in messages() {
        ws.send(message).unwrap();
        assert_eq!(ws.read().unwrap(), message);
        payload += OwnedMessage::from(message).len();
    }
    assert!(ws.close(CloseCode::NORMAL, "").unwrap().clean);
    // 12,000 bytes of text compress to a few hundred; the 3,000 bytes of noise do not.
    let embedded_read = ws.into_inner().read;
    assert!(embedded_read < payload / 2, "{embedded_read} of {payload}");
    let Some(peer) = peer else { return };
    let peer = peer.join().unwrap();
    assert!(peer.deflate.is_some(), "deflate was not negotiated");
    assert_eq!(peer.messages.len(), messages().len());
    for (got, sent) in peer.messages.iter().zip(messages()) {
        assert_eq!(got, OwnedMessage::from(sent).as_bytes());
    }
    let peer_read = peer.wire_read;
    assert!(peer_read < payload / 2, "{peer_read} of {payload}");
}

/// The embedded blocking client with deflate over `stream`: [`exchange_and_check`].
fn client_exchange(stream: TcpStream, peer: Option<thread::JoinHandle<PeerReport>>) {
    let start = StdInstant::now();
    let (mut rx, mut tx) = ([0u8; 8192], [0u8; 1024]);
    let ws = blocking::WebSocket::connect(
        Tcp::new(stream),
        &ClientRequest::new("127.0.0.1", "/deflate"),
        with_deflate(),
        move || now(start),
        entropy(),
        &mut rx,
        &mut tx,
    )
    .unwrap();
    exchange_and_check(ws, peer);
}

#[test]
fn embedded_client_with_deflate_against_a_session_server_with_deflate() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || session_peer(listener.accept().unwrap().0, None));
    client_exchange(TcpStream::connect(addr).unwrap(), Some(server));
}

#[test]
fn embedded_server_with_deflate_against_a_session_client_with_deflate() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let stream = TcpStream::connect(addr).unwrap();
        session_peer(stream, Some(ClientRequest::new("127.0.0.1", "/deflate")))
    });
    let (mut rx, mut tx) = ([0u8; 8192], [0u8; 1024]);
    let stream = listener.accept().unwrap().0;
    let ws = accept(stream, with_deflate(), &mut rx, &mut tx);
    exchange_and_check(ws, Some(client));
}

/// The external peers: Python `websockets` and Node `ws` with permessage-deflate, the core's
/// deflate interop peers (tests/interop_deflate, installed under the target directory when
/// missing; the tests fail if that fails).
#[test]
fn embedded_client_with_deflate_against_python_and_node_servers() {
    for peer in [Peer::Python, Peer::Node] {
        let (mut server, port) = spawn_server(peer, &options(false, false, None, None));
        client_exchange(TcpStream::connect(("127.0.0.1", port)).unwrap(), None);
        peers::stop(&mut server);
    }
}

/// The peers' clients send their scripts' messages (up to 300 KB, compressed) to the embedded
/// server, which echoes each; the peer checks every echo and that deflate was negotiated.
#[test]
fn python_and_node_clients_against_the_embedded_server_with_deflate() {
    for peer in [Peer::Python, Peer::Node] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = spawn_client(peer, port, &options(false, false, None, None));
        // Lent buffers big enough for the largest message, as a device with the RAM would.
        let (mut rx, mut tx) = (vec![0u8; 1 << 20], vec![0u8; 64 << 10]);
        let stream = listener.accept().unwrap().0;
        let mut ws = accept(stream, with_deflate(), &mut rx, &mut tx);
        let mut received = 0;
        loop {
            let message = match ws.read() {
                Ok(message) => OwnedMessage::from(message),
                Err(wsproto_embedded::Error::Closed(info)) => {
                    assert!(info.clean, "{info:?}");
                    break;
                }
                Err(err) => panic!("embedded server: {err}"),
            };
            received += message.len();
            ws.send(message.as_message()).unwrap();
        }
        // The socket leaves the transport open: closing it (dropping it) is ours to do, and
        // the peer waits for it before it exits.
        let read = ws.into_inner().read;
        let report = client_report(client, peer);
        assert!(
            read < received / 4,
            "{read} bytes read for {received} of messages"
        );
        println!("{peer:?} client: {received} bytes of messages, {read} read: {report}");
    }
}

/// One connection of the Chromium page (tests/interop_deflate/chromium_peer.js) to the
/// embedded server socket of an IO mode (`blocking`, or `asynch, await`: each call awaited)
/// with the `DeflateConfig` `$deflate`, the page's scenario run by [`ChromiumServer`]: the page
/// reports `ws.extensions`, we echo its messages (up to 1 MiB of JSON, 1 MiB of noise), it
/// checksums two messages of ours, then closes. Evaluates to a summary.
macro_rules! serve_chromium {
    ($mode:ident, $listener:expr, $deflate:expr $(, $await:tt)?) => {{
        let options = Options {
            config: large(16 << 20),
            deflate: Some($deflate),
        };
        // Room for the page's largest message (a little over 1 MiB of UTF-8), lent as a
        // device with the RAM would.
        let (mut rx, mut tx) = (vec![0u8; 4 << 20], vec![0u8; 64 << 10]);
        let stream = accept_within($listener, Duration::from_secs(60));
        let start = StdInstant::now();
        let mut ws = $mode::WebSocket::accept(
            Tcp::new(stream),
            options,
            move || now(start),
            &mut rx,
            &mut tx,
            |_| Ok(AcceptOptions::default()),
        )
        $(.$await)?
        .unwrap();
        let params = ws.deflate_params().expect("we accept Chromium's offer");
        let response = params.response().to_string();
        let mut page = ChromiumServer::new(&response);
        while !page.finished() {
            let message = OwnedMessage::from(ws.read()$(.$await)?.unwrap());
            for reply in page.received(message) {
                ws.send(reply.as_message())$(.$await)?.unwrap();
            }
        }
        // The page closes: a clean closing handshake.
        let closed = ws.read()$(.$await)?.map(OwnedMessage::from);
        assert!(
            matches!(closed, Err(wsproto_embedded::Error::Closed(info)) if info.clean),
            "{closed:?}"
        );
        // A megabyte of the page's messages is noise, which deflate cannot shrink; its JSON
        // and pattern shrink: each way carries well under 3/4 of the echoed bytes.
        let wire = assert_compressed(ws.into_inner().counts(), page.echoed(), 3);
        format!("{response}: {wire}")
    }};
}

/// Headless Chromium (installed by `scripts/interop install`, as for the other adapters)
/// against the embedded blocking server, with context takeover and without.
#[test]
fn chromium_client_against_the_embedded_server_with_deflate() {
    run_chromium(|listener, deflate| serve_chromium!(blocking, listener, deflate));
}

/// The same against the embedded async server, over the same TCP stream, whose calls complete
/// before they return (so the test's `block_on` never waits).
#[test]
fn chromium_client_against_the_embedded_async_server_with_deflate() {
    run_chromium(|listener, deflate| {
        block_on(async { serve_chromium!(asynch, listener, deflate, await) })
    });
}
