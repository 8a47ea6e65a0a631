//! A blocking wsproto endpoint over a `TcpStream` for the interop tests, and the scenario it
//! plays as a server and as a client.
//!
//! The scenario (every peer plays its side of it; see tests/interop.rs):
//! - the client offers the subprotocols `x-unknown, echo.v1`; the server supports
//!   `echo.v1, echo.v2` and picks `echo.v1`; no extension is negotiated;
//! - the client sends text and binary messages of every size in [`SIZES`], whole and in three
//!   fragments; the server echoes each twice, whole and in three fragments (cut inside UTF-8
//!   characters);
//! - the client pings (`cp-1`) and expects the pong; it sends `ping-me`, the server pings
//!   (`sp-1`) and, on the pong, sends `pong-seen:sp-1`;
//! - the client closes with 4001 `bye ✓ client`;
//! - on a second connection the client sends `close-me` and the server closes with 4002
//!   `bye ✓ server`.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use wsproto::Role;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{CloseInfo, Connection, DataKind, Event, ProtocolError, Transmit};
use wsproto::entropy::Entropy;
use wsproto::handshake::{AcceptOptions, ClientRequest};
use wsproto::time::Instant;

/// Message sizes: empty, the largest 7-bit length, the smallest 16-bit one, the largest 16-bit
/// one, the smallest 64-bit one, and a big one.
pub const SIZES: [usize; 6] = [0, 125, 126, 65_535, 65_536, 4 << 20];
/// What clients offer.
pub const OFFERED: [&str; 2] = ["x-unknown", "echo.v1"];
/// What servers support, in their order of preference.
pub const SUPPORTED: [&str; 2] = ["echo.v1", "echo.v2"];
pub const CLIENT_CLOSE: (u16, &str) = (4001, "bye ✓ client");
pub const SERVER_CLOSE: (u16, &str) = (4002, "bye ✓ server");
/// No step of the scenario may take longer: a stalled connection fails the test.
const STALL: Duration = Duration::from_secs(30);

/// `size` bytes of UTF-8 text mixing 1- to 4-byte characters, or of a binary pattern.
pub fn payload(kind: DataKind, size: usize) -> Vec<u8> {
    match kind {
        DataKind::Text => {
            let mut text = String::with_capacity(size);
            for c in "aé€😀".chars().cycle() {
                if text.len() + c.len_utf8() > size {
                    break;
                }
                text.push(c);
            }
            while text.len() < size {
                text.push('z');
            }
            text.into_bytes()
        }
        // A period of 251 (a prime): no two 256-byte blocks alike.
        DataKind::Binary => (0..size).map(|i| (i % 251) as u8).collect(),
    }
}

/// The three fragments the scenario cuts a message into, at a third and two thirds of its
/// bytes (inside a UTF-8 character, for text).
pub fn thirds(data: &[u8]) -> [&[u8]; 3] {
    let (a, b) = (data.len() / 3, 2 * data.len() / 3);
    [&data[..a], &data[a..b], &data[b..]]
}

/// An event, owned; data chunks are reassembled into whole messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    Request {
        subprotocols: Vec<String>,
        extensions: Vec<String>,
    },
    Accepted {
        subprotocol: Option<String>,
        extensions: Vec<String>,
    },
    Message(DataKind, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    CloseReceived(u16, String),
    Closed(CloseInfo),
}

/// A wsproto connection driven over a blocking `TcpStream` with the crate's three-step loop.
pub struct Ws<E: Entropy> {
    pub conn: Connection<E>,
    stream: TcpStream,
    input: Vec<u8>,
    start: usize,
    end: usize,
    out: Vec<u8>,
    clock: std::time::Instant,
    message: Option<(DataKind, Vec<u8>)>,
    closed: bool,
}

pub fn config() -> Config {
    Config {
        max_frame_payload: 16 << 20,
        max_message_size: 16 << 20,
        ..Config::DEFAULT
    }
}

/// A seeded xorshift generator: masks need not be secret in a test.
pub struct TestRng(pub u64);

impl Entropy for TestRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}

impl Ws<wsproto::entropy::NoEntropy> {
    /// A server on an accepted stream, waiting for the request.
    pub fn server(stream: TcpStream) -> Self {
        let clock = std::time::Instant::now();
        let conn = Connection::server(config(), Instant::from_millis(0)).unwrap();
        Ws::new(conn, stream, clock)
    }
}

impl Ws<TestRng> {
    /// A client that has sent its request for `path` on `addr`, offering `subprotocols`.
    pub fn connect(addr: SocketAddr, path: &str, subprotocols: &[&str]) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        let clock = std::time::Instant::now();
        let seed = 0x9E37_79B9_7F4A_7C15 ^ u64::from(addr.port());
        let conn = Connection::client(config(), TestRng(seed), Instant::from_millis(0)).unwrap();
        let mut ws = Ws::new(conn, stream, clock);
        let host = addr.to_string();
        let request = ClientRequest {
            subprotocols,
            ..ClientRequest::new(&host, path)
        };
        let n = ws.conn.connect(&request, ws.now(), &mut ws.out).unwrap();
        ws.write(n);
        ws
    }
}

impl<E: Entropy> Ws<E> {
    fn new(conn: Connection<E>, stream: TcpStream, clock: std::time::Instant) -> Self {
        stream.set_nodelay(true).unwrap();
        Ws {
            conn,
            stream,
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            out: vec![0; 64 * 1024],
            clock,
            message: None,
            closed: false,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.clock.elapsed().as_millis() as u64)
    }

    fn write(&mut self, n: usize) {
        self.stream.write_all(&self.out[..n]).unwrap();
    }

    /// Output room for a payload of `len` bytes.
    fn room(&mut self, len: usize) {
        if self.out.len() < len + 1024 {
            self.out.resize(len + 1024, 0);
        }
    }

    /// Step 2 of the loop: writes what the connection has queued.
    fn flush(&mut self) {
        loop {
            match self.conn.poll_transmit(&mut self.out).unwrap() {
                Transmit::Bytes(n) => self.write(n),
                Transmit::ShutdownWrite => self.stream.shutdown(Shutdown::Write).unwrap(),
                Transmit::Nothing => return,
            }
        }
    }

    /// Runs the loop until the next event (whole messages only). Panics if nothing happens
    /// for 30 s, or after `Closed`.
    pub fn next_event(&mut self) -> Ev {
        assert!(!self.closed, "next_event after Closed");
        loop {
            // 1. Receive until an event.
            let received = self.conn.receive(
                &mut self.input[self.start..self.end],
                Instant::from_millis(self.clock.elapsed().as_millis() as u64),
            );
            let consumed = received.consumed;
            self.start += consumed;
            let ev = match received.event {
                None => None,
                Some(Event::Request(request)) => Some(Ev::Request {
                    subprotocols: request.subprotocols().map(String::from).collect(),
                    extensions: request
                        .extensions()
                        .map(|e| e.as_str().to_string())
                        .collect(),
                }),
                Some(Event::Accepted(response)) => Some(Ev::Accepted {
                    subprotocol: response.subprotocol().map(String::from),
                    extensions: response
                        .extensions()
                        .map(|e| e.as_str().to_string())
                        .collect(),
                }),
                Some(Event::Data {
                    kind,
                    chunk,
                    message_start,
                    message_fin,
                    ..
                }) => {
                    if message_start {
                        assert!(self.message.is_none(), "a message started inside another");
                        self.message = Some((kind, Vec::new()));
                    }
                    let message = self.message.as_mut().expect("a chunk outside a message");
                    assert_eq!(message.0, kind);
                    message.1.extend_from_slice(chunk);
                    if message_fin {
                        self.message
                            .take()
                            .map(|(kind, data)| Ev::Message(kind, data))
                    } else {
                        None
                    }
                }
                Some(Event::Ping(p)) => Some(Ev::Ping(p.to_vec())),
                Some(Event::Pong(p)) => Some(Ev::Pong(p.to_vec())),
                Some(Event::CloseReceived { code, reason }) => {
                    Some(Ev::CloseReceived(code.0, reason.to_string()))
                }
                Some(Event::Closed(info)) => {
                    self.closed = true;
                    Some(Ev::Closed(info))
                }
                Some(other) => panic!("unexpected event {other:?}"),
            };
            // 2. Flush (pongs, close replies).
            self.flush();
            if let Some(ev) = ev {
                if self.closed {
                    self.finish();
                }
                return ev;
            }
            if consumed > 0 {
                continue;
            }
            // 3. Wait for input or the next timer.
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            let timeout = self.conn.poll_timeout().map_or(STALL, |at| {
                at.saturating_duration_since(self.now())
                    .clamp(Duration::from_millis(1), STALL)
            });
            self.stream.set_read_timeout(Some(timeout)).unwrap();
            let before = std::time::Instant::now();
            match self.stream.read(&mut self.input[self.end..]) {
                Ok(0) => self.conn.receive_eof(self.now()),
                Ok(n) => self.end += n,
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    assert!(before.elapsed() < STALL, "connection stalled for {STALL:?}");
                    self.conn.handle_timeout(self.now());
                }
                Err(err) => {
                    eprintln!("read error: {err}");
                    self.conn.receive_eof(self.now());
                }
            }
        }
    }

    /// After `Closed`: a server waits (briefly) for the client's end of the TCP connection
    /// before dropping its socket, so that no reset destroys what it sent last.
    fn finish(&mut self) {
        if self.conn.role() == Role::Server {
            let _ = self.stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut scratch = [0u8; 4096];
            while matches!(self.stream.read(&mut scratch), Ok(n) if n > 0) {}
        }
    }

    pub fn send(&mut self, kind: DataKind, data: &[u8], fin: bool) {
        self.room(data.len());
        let n = self.conn.send(kind, data, fin, &mut self.out).unwrap();
        self.write(n);
    }

    pub fn send_fragmented(&mut self, kind: DataKind, data: &[u8]) {
        let [a, b, c] = thirds(data);
        self.send(kind, a, false);
        self.send(kind, b, false);
        self.send(kind, c, true);
    }

    pub fn ping(&mut self, payload: &[u8]) {
        let n = self.conn.ping(payload, &mut self.out).unwrap();
        self.write(n);
    }

    pub fn close(&mut self, code: u16, reason: &str) {
        let now = self.now();
        let n = self
            .conn
            .close(CloseCode(code), reason, now, &mut self.out)
            .unwrap();
        self.write(n);
    }

    /// The next event that is not a ping (pings are answered by the core).
    pub fn next_non_ping(&mut self) -> Ev {
        loop {
            match self.next_event() {
                Ev::Ping(_) => {}
                ev => return ev,
            }
        }
    }
}

/// What the scenario server saw on one connection.
#[derive(Debug, Clone)]
pub struct ServerRecord {
    pub subprotocols: Vec<String>,
    pub extensions: Vec<String>,
    pub selected: Option<String>,
    pub close_received: Option<(u16, String)>,
    pub pongs: Vec<Vec<u8>>,
    pub messages: usize,
    pub info: CloseInfo,
}

/// Serves the scenario on `listener`, a thread per connection, until `connections` requests
/// were served; returns the records in the order the requests arrived. Connections closed
/// before a request (a browser's speculative preconnects, idle or closed) are not counted.
pub fn scenario_server(
    listener: TcpListener,
    connections: usize,
) -> std::thread::JoinHandle<Vec<ServerRecord>> {
    std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let deadline = std::time::Instant::now() + Duration::from_secs(150);
        let mut records = Vec::new();
        while records.len() < connections {
            assert!(
                std::time::Instant::now() < deadline,
                "scenario server: timeout"
            );
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        // The receiver is gone only when enough connections were served.
                        let _ = tx.send(serve_one(Ws::server(stream)));
                    });
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(err) => panic!("accept: {err}"),
            }
            while let Ok(record) = rx.try_recv() {
                records.extend(record);
            }
        }
        records.sort_by_key(|(at, _)| *at);
        records.into_iter().map(|(_, record)| record).collect()
    })
}

/// Serves one connection; `None` if it ended before a request.
fn serve_one(
    mut ws: Ws<wsproto::entropy::NoEntropy>,
) -> Option<(std::time::Instant, ServerRecord)> {
    let (subprotocols, extensions) = match ws.next_event() {
        Ev::Request {
            subprotocols,
            extensions,
        } => (subprotocols, extensions),
        Ev::Closed(CloseInfo {
            error: Some(ProtocolError::UnexpectedEof | ProtocolError::HandshakeTimeout),
            ..
        }) => return None,
        other => panic!("expected a request, got {other:?}"),
    };
    let requested_at = std::time::Instant::now();
    let selected = SUPPORTED
        .into_iter()
        .find(|p| subprotocols.iter().any(|offered| offered == p));
    let options = AcceptOptions {
        subprotocol: selected,
        ..AcceptOptions::new()
    };
    let n = ws.conn.accept(&options, &mut ws.out).unwrap();
    ws.write(n);
    let mut record = ServerRecord {
        subprotocols,
        extensions,
        selected: selected.map(String::from),
        close_received: None,
        pongs: Vec::new(),
        messages: 0,
        info: CloseInfo {
            clean: false,
            code: CloseCode::ABNORMAL,
            error: None,
        },
    };
    loop {
        match ws.next_event() {
            Ev::Message(DataKind::Text, text) if text == b"ping-me" => ws.ping(b"sp-1"),
            Ev::Message(DataKind::Text, text) if text == b"close-me" => {
                ws.close(SERVER_CLOSE.0, SERVER_CLOSE.1)
            }
            Ev::Message(kind, data) => {
                record.messages += 1;
                ws.send(kind, &data, true);
                ws.send_fragmented(kind, &data);
            }
            Ev::Pong(payload) => {
                if payload == b"sp-1" {
                    ws.send(DataKind::Text, b"pong-seen:sp-1", true);
                }
                record.pongs.push(payload);
            }
            Ev::Ping(_) => {}
            Ev::CloseReceived(code, reason) => record.close_received = Some((code, reason)),
            Ev::Closed(info) => {
                record.info = info;
                return Some((requested_at, record));
            }
            other => panic!("server: unexpected {other:?}"),
        }
    }
}

/// Plays the scenario's client side against a server at `addr` that echoes each message
/// `echoes` times (2 for the scenario servers).
pub fn scenario_client(addr: SocketAddr, echoes: usize) {
    let mut ws = Ws::connect(addr, "/scenario", &OFFERED);
    match ws.next_event() {
        Ev::Accepted {
            subprotocol,
            extensions,
        } => {
            assert_eq!(subprotocol.as_deref(), Some("echo.v1"));
            assert!(extensions.is_empty(), "{extensions:?}");
        }
        other => panic!("expected Accepted, got {other:?}"),
    }
    for kind in [DataKind::Text, DataKind::Binary] {
        for size in SIZES {
            let data = payload(kind, size);
            for fragmented in [false, true] {
                if fragmented {
                    ws.send_fragmented(kind, &data);
                } else {
                    ws.send(kind, &data, true);
                }
                for echo in 0..echoes {
                    match ws.next_non_ping() {
                        Ev::Message(k, got) => assert!(
                            k == kind && got == data,
                            "echo {echo} of {kind:?} {size} B (fragmented: {fragmented}): \
                             got {k:?} {} B",
                            got.len()
                        ),
                        other => panic!("expected an echo, got {other:?}"),
                    }
                }
            }
        }
    }
    ws.ping(b"cp-1");
    assert_eq!(ws.next_non_ping(), Ev::Pong(b"cp-1".to_vec()));
    ws.send(DataKind::Text, b"ping-me", true);
    assert_eq!(ws.next_event(), Ev::Ping(b"sp-1".to_vec()));
    assert_eq!(
        ws.next_event(),
        Ev::Message(DataKind::Text, b"pong-seen:sp-1".to_vec())
    );
    ws.close(CLIENT_CLOSE.0, CLIENT_CLOSE.1);
    match ws.next_event() {
        Ev::CloseReceived(code, _) => assert_eq!(code, CLIENT_CLOSE.0),
        other => panic!("expected the close echo, got {other:?}"),
    }
    match ws.next_event() {
        Ev::Closed(info) => assert_eq!(
            info,
            CloseInfo {
                clean: true,
                code: CloseCode(CLIENT_CLOSE.0),
                error: None
            }
        ),
        other => panic!("expected Closed, got {other:?}"),
    }

    let mut ws = Ws::connect(addr, "/scenario", &OFFERED);
    assert!(matches!(ws.next_event(), Ev::Accepted { .. }));
    ws.send(DataKind::Text, b"close-me", true);
    assert_eq!(
        ws.next_event(),
        Ev::CloseReceived(SERVER_CLOSE.0, SERVER_CLOSE.1.to_string())
    );
    match ws.next_event() {
        Ev::Closed(info) => assert_eq!(
            info,
            CloseInfo {
                clean: true,
                code: CloseCode(SERVER_CLOSE.0),
                error: None
            }
        ),
        other => panic!("expected Closed, got {other:?}"),
    }
}
