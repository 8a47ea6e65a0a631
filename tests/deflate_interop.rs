//! permessage-deflate against real peers over 127.0.0.1: Python `websockets` and Node `ws`, each
//! as server (we are the client) and as client (we are the server), with context takeover on and
//! off and several window sizes each way. The peers echo, or check our echoes. And headless
//! Chromium as client against our server (the `Chromium` section below).
//!
//! The peers are installed by `tests/interop_deflate/install.sh` under the cargo target
//! directory, run automatically once per test run when they are missing (tests/interop_deflate/
//! peers.rs, shared with the adapters' deflate interop tests); Chromium and its driver by
//! `scripts/interop install`, as for tests/interop.rs. If that fails, these tests fail (they
//! never skip).
#![cfg(feature = "deflate")]

#[path = "interop_deflate/peers.rs"]
mod peers;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, PerMessageDeflate, Transmit};
use wsproto::deflate::DeflateConfig;
use wsproto::entropy::Entropy;
use wsproto::handshake::{AcceptOptions, ClientRequest};
use wsproto::time::Instant;

use peers::{
    Peer, checksum, client_report, finish, options, spawn_chromium, spawn_client, spawn_server,
    stop,
};

const NOW: Instant = Instant::from_millis(0);

#[derive(Clone)]
struct Rng(u64);

impl Entropy for Rng {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}

fn config() -> Config {
    Config {
        max_frame_payload: 16 << 20,
        max_message_size: 16 << 20,
        ..Config::DEFAULT
    }
}

/// A connection over a blocking TCP stream.
struct Driver<E> {
    ws: Connection<E, PerMessageDeflate>,
    stream: TcpStream,
    input: Vec<u8>,
    filled: usize,
    scratch: Vec<u8>,
    /// Wire bytes of data frames read, and message bytes they carried.
    wire_in: usize,
    /// Every byte read from the peer, for checking its frames' RSV1 bits independently.
    raw: Vec<u8>,
}

enum Got {
    Message(DataKind, Vec<u8>),
    Closed,
}

impl<E: Entropy> Driver<E> {
    fn new(ws: Connection<E, PerMessageDeflate>, stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Driver {
            ws,
            stream,
            input: vec![0; 64 << 10],
            filled: 0,
            scratch: vec![0; 3000],
            wire_in: 0,
            raw: Vec::new(),
        }
    }

    fn flush(&mut self) {
        let mut out = [0u8; 512];
        while let Ok(Transmit::Bytes(n)) = self.ws.poll_transmit(&mut out) {
            self.stream.write_all(&out[..n]).unwrap();
        }
    }

    fn fill(&mut self) -> bool {
        let n = self.stream.read(&mut self.input[self.filled..]).unwrap();
        self.raw
            .extend_from_slice(&self.input[self.filled..self.filled + n]);
        self.filled += n;
        n > 0
    }

    /// The next whole message, or Closed.
    fn next(&mut self) -> Got {
        let mut message = Vec::new();
        loop {
            let mut pos = 0;
            loop {
                let r =
                    self.ws
                        .receive_into(&mut self.input[pos..self.filled], &mut self.scratch, NOW);
                pos += r.consumed;
                self.wire_in += r.consumed;
                match r.event {
                    None => break,
                    Some(Event::Data {
                        kind,
                        chunk,
                        message_fin,
                        ..
                    }) => {
                        message.extend_from_slice(chunk);
                        if message_fin {
                            self.input.copy_within(pos..self.filled, 0);
                            self.filled -= pos;
                            self.flush();
                            return Got::Message(kind, message);
                        }
                    }
                    Some(Event::Closed(info)) => {
                        assert!(info.error.is_none(), "{info:?}");
                        self.flush();
                        return Got::Closed;
                    }
                    Some(_) => {}
                }
            }
            self.input.copy_within(pos..self.filled, 0);
            self.filled -= pos;
            self.flush();
            if !self.fill() {
                self.ws.receive_eof(NOW);
            }
        }
    }

    /// Sends `data` in `fragments` frames; returns the bytes written and whether the first frame
    /// has RSV1 (the message went compressed).
    fn send(&mut self, kind: DataKind, data: &[u8], fragments: usize) -> (usize, bool) {
        // Queued control frames first, so that `out` starts with this message's first frame.
        self.flush();
        let mut out = vec![0u8; data.len() + 1024];
        let size = data.len().div_ceil(fragments).max(1);
        let parts: Vec<&[u8]> = if data.is_empty() {
            vec![data]
        } else {
            data.chunks(size).collect()
        };
        let mut wire = 0;
        let mut rsv1 = false;
        for (i, part) in parts.iter().enumerate() {
            let n = self
                .ws
                .send(kind, part, i + 1 == parts.len(), &mut out)
                .unwrap();
            if i == 0 {
                rsv1 = out[0] & 0x40 != 0;
            }
            wire += n;
            self.stream.write_all(&out[..n]).unwrap();
        }
        (wire, rsv1)
    }
}

fn messages() -> Vec<(DataKind, Vec<u8>)> {
    let mut noise = vec![0u8; 5000];
    Rng(99).fill(&mut noise);
    vec![
        (DataKind::Text, "hello world ".repeat(1000).into_bytes()),
        (DataKind::Binary, (0..=255u8).cycle().take(25600).collect()),
        (DataKind::Text, b"hi".to_vec()),
        (DataKind::Text, Vec::new()),
        (DataKind::Text, "ünïcödé €€€ ".repeat(3000).into_bytes()),
        (DataKind::Binary, noise),
        (DataKind::Binary, vec![0; 300_000]),
    ]
}

/// We are the client: the peer echoes what we send (some of it fragmented).
fn client_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let (mut child, port) = spawn_server(peer, peer_options);
    let result = std::panic::catch_unwind(|| {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut d = Driver::new(
            Connection::client(config(), Rng(5), NOW)
                .unwrap()
                .allow_deflate(),
            stream,
        );
        let offer = ours.offer();
        let request = ClientRequest {
            extensions: &[&offer],
            ..ClientRequest::new("127.0.0.1", "/")
        };
        let mut out = [0u8; 1024];
        let n = d.ws.connect(&request, NOW, &mut out).unwrap();
        d.stream.write_all(&out[..n]).unwrap();
        let params = loop {
            d.fill();
            let r = d.ws.receive_into(&mut d.input[..d.filled], &mut [], NOW);
            let consumed = r.consumed;
            if let Some(Event::Accepted(response)) = r.event {
                let params = d.ws.accept_deflate_response(&ours, &response).unwrap();
                d.input.copy_within(consumed..d.filled, 0);
                d.filled -= consumed;
                break params;
            }
            assert!(r.event.is_none(), "{:?}", r.event);
        };
        let params = params.expect("the peer accepted permessage-deflate");
        let mut sent = 0;
        for (i, (kind, data)) in messages().into_iter().enumerate() {
            let _ = d.send(kind, &data, 1 + i % 3);
            sent += data.len();
            match d.next() {
                Got::Message(k, echo) => {
                    assert_eq!(k, kind);
                    assert!(echo == data, "echo {i} differs");
                }
                Got::Closed => panic!("closed"),
            }
        }
        assert!(
            d.wire_in < sent / 4,
            "the echoes came compressed: {} of {sent}",
            d.wire_in
        );
        let mut out = [0u8; 256];
        let n =
            d.ws.close(wsproto::close::CloseCode::NORMAL, "", NOW, &mut out)
                .unwrap();
        d.stream.write_all(&out[..n]).unwrap();
        assert!(matches!(d.next(), Got::Closed));
        params
    });
    stop(&mut child);
    let params = result.unwrap();
    println!("{peer:?} server {peer_options}: {params:?}");
}

/// We are the server and echo; the peer sends and checks.
fn server_against(peer: Peer, peer_options: &str, ours: DeflateConfig) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = spawn_client(peer, port, peer_options);
    let result = std::panic::catch_unwind(|| {
        let (stream, _) = listener.accept().unwrap();
        let mut d = Driver::new(
            Connection::server(config(), NOW).unwrap().allow_deflate(),
            stream,
        );
        let mut out = [0u8; 1024];
        let params = loop {
            assert!(d.fill(), "the peer hung up during the handshake");
            let r = d.ws.receive_into(&mut d.input[..d.filled], &mut [], NOW);
            let consumed = r.consumed;
            if let Some(Event::Request(request)) = r.event {
                let params = ours.negotiate(request.extensions());
                let response = params.map(|p| p.response());
                let options = AcceptOptions {
                    extensions: response.as_deref(),
                    ..AcceptOptions::new()
                };
                let n = d.ws.accept(&options, &mut out).unwrap();
                d.stream.write_all(&out[..n]).unwrap();
                d.input.copy_within(consumed..d.filled, 0);
                d.filled -= consumed;
                break params.expect("we accept the peer's offer");
            }
        };
        d.ws.enable_deflate(params).unwrap();
        let mut count = 0;
        while let Got::Message(kind, data) = d.next() {
            let _ = d.send(kind, &data, 1 + count % 2);
            count += 1;
        }
        (params, count)
    });
    let stdout = client_report(child, peer);
    let (params, count) = result.unwrap();
    println!("{peer:?} client {peer_options}: {count} echoed, {params:?}: {stdout}");
}

fn eager(f: impl FnOnce(&mut DeflateConfig)) -> DeflateConfig {
    let mut c = DeflateConfig {
        compress_threshold: 0,
        ..DeflateConfig::DEFAULT
    };
    f(&mut c);
    c
}

/// (peer options, our config): context takeover on and off, and window sizes each way. zlib
/// cannot compress with 8 bits, so the peers' own windows stay at 9 or more; ours go down to 8.
fn matrix() -> Vec<(String, DeflateConfig)> {
    vec![
        (options(false, false, None, None), eager(|_| {})),
        (
            options(true, true, None, None),
            eager(|c| {
                c.server_no_context_takeover = true;
                c.client_no_context_takeover = true;
            }),
        ),
        (
            options(false, false, Some(10), Some(9)),
            eager(|c| {
                c.server_max_window_bits = 10;
                c.client_max_window_bits = 9;
            }),
        ),
        (
            options(false, true, Some(12), Some(8)),
            eager(|c| {
                c.client_no_context_takeover = true;
                c.server_max_window_bits = 12;
                c.client_max_window_bits = 8;
            }),
        ),
    ]
}

#[test]
fn python_websockets_server() {
    for (peer, ours) in matrix() {
        client_against(Peer::Python, &peer, ours);
    }
}

#[test]
fn python_websockets_client() {
    for (peer, ours) in server_matrix() {
        server_against(Peer::Python, &peer, ours);
    }
}

#[test]
fn node_ws_server() {
    for (peer, ours) in matrix() {
        client_against(Peer::Node, &peer, ours);
    }
}

#[test]
fn node_ws_client() {
    for (peer, ours) in server_matrix() {
        server_against(Peer::Node, &peer, ours);
    }
}

/// We serve; the peer client offers. Windows: the peer limits ours (server_max_window_bits) down
/// to 8, we limit the peer's (client_max_window_bits) down to 9.
fn server_matrix() -> Vec<(String, DeflateConfig)> {
    vec![
        (options(false, false, None, None), eager(|_| {})),
        (options(true, true, None, None), eager(|_| {})),
        (
            options(false, false, Some(8), None),
            eager(|c| c.client_max_window_bits = 9),
        ),
        (
            options(true, false, Some(11), Some(12)),
            eager(|c| {
                c.client_no_context_takeover = true;
                c.client_max_window_bits = 10;
            }),
        ),
    ]
}

// ---- Chromium ----------------------------------------------------------------------------------
//
// Headless Chromium (`/usr/bin/chromium`, driven by `playwright-core`, both installed by
// `scripts/interop install` as for tests/interop.rs) connects to a wsproto server that accepts
// its `permessage-deflate; client_max_window_bits` offer with different parameters on each
// connection. The page (tests/interop_deflate/chromium_peer.js) sends messages and checks our
// echoes, then checksums messages of our own; we read Chromium's frames off the wire to check
// that it really compressed (RSV1, RFC 7692 §6), and our own frames to check that we did.

/// One data message of a stream of client frames, as it crossed the wire.
#[derive(Debug)]
struct WireMessage {
    rsv1: bool,
    /// Payload bytes of all its frames (compressed, if `rsv1`).
    wire_len: usize,
}

/// The data messages in `raw`, everything a client sent after its opening handshake, parsed
/// without wsproto (RFC 6455 §5.2): an independent look at the RSV1 bits.
fn client_messages(raw: &[u8]) -> Vec<WireMessage> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an opening handshake")
        + 4;
    let mut messages: Vec<WireMessage> = Vec::new();
    let mut pos = head_end;
    while pos + 2 <= raw.len() {
        let (b0, b1) = (raw[pos], raw[pos + 1]);
        let (len, mut at) = match b1 & 0x7f {
            126 => (
                usize::from(u16::from_be_bytes([raw[pos + 2], raw[pos + 3]])),
                pos + 4,
            ),
            127 => (
                u64::from_be_bytes(raw[pos + 2..pos + 10].try_into().unwrap()) as usize,
                pos + 10,
            ),
            len => (usize::from(len), pos + 2),
        };
        assert!(b1 & 0x80 != 0, "client frames are masked");
        at += 4;
        let opcode = b0 & 0x0f;
        if opcode == 0 {
            messages.last_mut().expect("a message to continue").wire_len += len;
        } else if opcode < 8 {
            messages.push(WireMessage {
                rsv1: b0 & 0x40 != 0,
                wire_len: len,
            });
        }
        pos = at + len;
    }
    messages
}

/// JSON-like records with non-ASCII text, about `size` bytes (cut at a character boundary).
fn json_text(size: usize, rng: &mut Rng) -> Vec<u8> {
    let names = ["Zoë", "Jürgen", "Małgorzata", "Søren", "李雷", "Ана"];
    let mut text = String::from("[");
    let mut id = 0;
    while text.len() < size {
        let mut r = [0u8; 2];
        rng.fill(&mut r);
        let r = usize::from(u16::from_le_bytes(r));
        text.push_str(&format!(
            r#"{{"id":{id},"user":"{}","score":{},"tags":["ws","deflate"],"text":"message {} ✓"}},"#,
            names[r % names.len()],
            r % 1000,
            r % 97
        ));
        id += 1;
    }
    let mut cut = size;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.into_bytes()
}

/// Our own messages (after the echoes), with the number of frames each goes in.
fn server_messages() -> Vec<(DataKind, Vec<u8>, usize)> {
    let mut rng = Rng(7);
    let mut noise = vec![0u8; 1 << 20];
    rng.fill(&mut noise);
    vec![
        (DataKind::Text, json_text(1 << 20, &mut rng), 4),
        (DataKind::Binary, noise, 3),
        (DataKind::Text, "server ✓".as_bytes().to_vec(), 1),
        (DataKind::Text, json_text(5000, &mut rng), 2),
        (DataKind::Binary, vec![7; 100_000], 1),
    ]
}

/// What we accept Chromium's offer with, one per connection: context takeover on and off each
/// way, and our window (`server_max_window_bits`) at 15, 12, 9 and 8 (below 15 we send
/// run-length matches only, which Chromium's zlib must inflate with that small a window).
fn chromium_matrix() -> Vec<DeflateConfig> {
    vec![
        DeflateConfig::DEFAULT,
        eager(|c| {
            c.server_no_context_takeover = true;
            c.client_no_context_takeover = true;
        }),
        eager(|c| {
            c.server_max_window_bits = 9;
            c.client_max_window_bits = 9;
        }),
        eager(|c| {
            c.server_no_context_takeover = true;
            c.server_max_window_bits = 12;
        }),
        eager(|c| c.server_max_window_bits = 8),
    ]
}

/// The next connection, or a panic after `timeout`: a page that failed before connecting (say,
/// Chromium did not start) fails the test instead of hanging it.
fn accept_within(listener: &TcpListener, timeout: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return stream;
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "Chromium did not connect within {timeout:?}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(err) => panic!("accept: {err}"),
        }
    }
}

/// One connection from the page: handshake, echoes, our messages, close. Returns a summary.
fn serve_chromium(listener: &TcpListener, ours: DeflateConfig) -> String {
    let stream = accept_within(listener, Duration::from_secs(60));
    let mut d = Driver::new(
        Connection::server(config(), NOW).unwrap().allow_deflate(),
        stream,
    );
    let mut out = [0u8; 1024];
    let (params, response) = loop {
        assert!(d.fill(), "Chromium hung up during the handshake");
        let r = d.ws.receive_into(&mut d.input[..d.filled], &mut [], NOW);
        let consumed = r.consumed;
        if let Some(Event::Request(request)) = r.event {
            let params = ours
                .negotiate(request.extensions())
                .expect("we accept Chromium's offer");
            let response = params.response();
            let options = AcceptOptions {
                extensions: Some(&response),
                ..AcceptOptions::new()
            };
            let n = d.ws.accept(&options, &mut out).unwrap();
            d.stream.write_all(&out[..n]).unwrap();
            d.input.copy_within(consumed..d.filled, 0);
            d.filled -= consumed;
            break (params, response.to_string());
        }
    };
    d.ws.enable_deflate(params).unwrap();

    let Got::Message(DataKind::Text, extensions) = d.next() else {
        panic!("Chromium's first message is its ws.extensions");
    };
    let extensions = String::from_utf8(extensions).unwrap();
    assert_eq!(extensions, format!("extensions:{response}"));

    // Echo until `send-yours`, some in fragments; note what went over the wire from our side.
    let mut echoed = Vec::new();
    loop {
        let Got::Message(kind, data) = d.next() else {
            panic!("Chromium closed before send-yours");
        };
        if kind == DataKind::Text && data == b"send-yours" {
            break;
        }
        let (wire, rsv1) = d.send(kind, &data, 1 + echoed.len() % 3);
        echoed.push((data.len(), wire, rsv1));
    }
    let mut expected = Vec::new();
    for (kind, data, fragments) in server_messages() {
        let _ = d.send(kind, &data, fragments);
        expected.push(checksum(&data));
    }
    let _ = d.send(DataKind::Text, b"done", 1);
    let Got::Message(DataKind::Text, sums) = d.next() else {
        panic!("Chromium reports the checksums of our messages");
    };
    assert_eq!(
        String::from_utf8(sums).unwrap(),
        format!("sums:{}", expected.join(" ")),
        "Chromium inflated our messages to other bytes"
    );
    assert!(matches!(d.next(), Got::Closed));

    // Chromium's side: every data message compressed (RSV1 on its first frame); the 1 MiB of
    // JSON (its fifth message) to well under half.
    let theirs = client_messages(&d.raw);
    assert!(theirs.len() >= 10, "{theirs:?}");
    assert!(
        theirs.iter().all(|m| m.rsv1),
        "Chromium sent a message without RSV1: {theirs:?}"
    );
    let json = &theirs[4];
    assert!(json.wire_len < (1 << 20) / 2, "{json:?}");

    // Ours: the compressible echoes went compressed, and much smaller with a full window.
    let (len, wire, rsv1) = echoed[3];
    // 1 Mi UTF-16 units of JSON in the page: a little more in UTF-8.
    assert!(
        len > 1 << 20,
        "the fourth echo is the 1 MiB of JSON: {echoed:?}"
    );
    assert!(rsv1 && wire < len * 9 / 10, "{response}: {echoed:?}");
    // Below 15 bits only run-length matches (see the deflate module): a repeating 251-byte
    // pattern then shrinks only with a full window.
    if params.agreed.server_max_window_bits == 15 {
        let (pattern_len, pattern_wire, pattern_rsv1) = echoed[5];
        assert!(
            wire < len / 4 && pattern_rsv1 && pattern_wire < pattern_len / 4,
            "{response}: {echoed:?}"
        );
    }
    format!(
        "{response}: Chromium's 1 MiB JSON {} B on the wire, our echo of it {wire} B (RSV1 {rsv1}); \
         our echoes (size, wire, RSV1): {echoed:?}",
        json.wire_len
    )
}

#[test]
fn chromium_client_to_wsproto_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/deflate", listener.local_addr().unwrap());
    let matrix = chromium_matrix();
    let mut child = spawn_chromium(&url, matrix.len());
    let served = std::panic::catch_unwind(|| {
        matrix
            .iter()
            .map(|ours| serve_chromium(&listener, *ours))
            .collect::<Vec<_>>()
    });
    if served.is_err() {
        stop(&mut child);
    }
    let (status, stdout) = finish(child);
    let served = match served {
        Ok(served) => served,
        Err(panic) => {
            println!("{stdout}");
            std::panic::resume_unwind(panic);
        }
    };
    assert!(status.success(), "the Chromium peer failed:\n{stdout}");
    assert!(stdout.lines().any(|l| l == "PASS"), "{stdout}");
    println!("{stdout}");
    for line in served {
        println!("{line}");
    }
}
