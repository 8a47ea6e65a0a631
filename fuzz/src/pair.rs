//! A client and a server `Connection` exchanging an arbitrary message sequence through byte
//! queues delivered in arbitrary chunks, with pings and a close from either side: the body of the
//! `roundtrip` fuzz target. What arrives equals what was sent, in order, and both ends close
//! cleanly with the same code.

use arbitrary::Arbitrary;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{CloseInfo, Connection, DataKind, Event, ReadyState, Transmit};
use wsproto::entropy::Entropy;
use wsproto::handshake::{AcceptOptions, ClientRequest};
use wsproto::message::{Message, MessageAssembler};
use wsproto::time::Instant;

/// A message and how many fragments to send it in.
#[derive(Arbitrary, Debug, Clone)]
pub struct Sent {
    /// Text (sent as the lossy UTF-8 of `bytes`) or binary.
    pub text: bool,
    /// The payload.
    pub bytes: Vec<u8>,
    /// Fragments (0 and 1 mean one frame).
    pub fragments: u8,
    /// Send a ping after it.
    pub ping: bool,
}

/// The whole exchange.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// Client → server messages.
    pub to_server: Vec<Sent>,
    /// Server → client messages.
    pub to_client: Vec<Sent>,
    /// Sizes of the pieces bytes are delivered in (cycled; 0 is read as 1).
    pub chunks: Vec<u16>,
    /// The client starts the closing handshake (else the server).
    pub client_closes: bool,
    /// The close code (mapped into 3000–4999).
    pub code: u16,
}

#[derive(Debug, PartialEq)]
enum Got {
    Text(String),
    Binary(Vec<u8>),
}

struct Peer<E> {
    conn: Connection<E>,
    input: Vec<u8>,
    got: Vec<Got>,
    assembler: MessageAssembler<Vec<u8>>,
    closed: Option<CloseInfo>,
}

impl<E: Entropy> Peer<E> {
    fn new(conn: Connection<E>) -> Self {
        Peer {
            conn,
            input: Vec::new(),
            got: Vec::new(),
            assembler: MessageAssembler::new(Vec::new()),
            closed: None,
        }
    }

    fn read(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        let mut pos = 0;
        loop {
            let r = self
                .conn
                .receive(&mut self.input[pos..], Instant::from_millis(0));
            pos += r.consumed;
            let Some(event) = r.event else { break };
            if let Event::Closed(info) = event {
                assert!(self.closed.replace(info).is_none(), "Closed twice");
            }
            match self
                .assembler
                .push(&event)
                .expect("within max_message_size")
            {
                Some(Message::Text(t)) => self.got.push(Got::Text(t.to_owned())),
                Some(Message::Binary(b)) => self.got.push(Got::Binary(b.to_vec())),
                None => {}
            }
        }
        self.input.drain(..pos);
        assert!(self.input.len() <= 139);
    }

    fn flush(&mut self, wire: &mut Vec<u8>) {
        let mut out = [0u8; 512];
        while let Transmit::Bytes(n) = self.conn.poll_transmit(&mut out).unwrap() {
            wire.extend_from_slice(&out[..n]);
        }
    }

    fn send(&mut self, sent: &Sent, wire: &mut Vec<u8>) -> Got {
        let text = String::from_utf8_lossy(&sent.bytes).into_owned();
        let (kind, bytes, got) = if sent.text {
            (DataKind::Text, text.as_bytes(), Got::Text(text.clone()))
        } else {
            (
                DataKind::Binary,
                &sent.bytes[..],
                Got::Binary(sent.bytes.clone()),
            )
        };
        let size = bytes
            .len()
            .div_ceil(usize::from(sent.fragments.max(1)))
            .max(1);
        let mut pieces: Vec<&[u8]> = bytes.chunks(size).collect();
        if pieces.is_empty() {
            pieces.push(&[]);
        }
        let mut out = vec![0u8; size + 1024];
        for (i, piece) in pieces.iter().enumerate() {
            let n = self
                .conn
                .send(kind, piece, i + 1 == pieces.len(), &mut out)
                .unwrap();
            wire.extend_from_slice(&out[..n]);
        }
        if sent.ping {
            let n = self.conn.ping(b"fuzz", &mut out).unwrap();
            wire.extend_from_slice(&out[..n]);
        }
        got
    }
}

fn deliver<E: Entropy>(peer: &mut Peer<E>, wire: &mut Vec<u8>, chunks: &[u16]) {
    let bytes = std::mem::take(wire);
    let mut sizes = chunks.iter().cycle();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let n = sizes
            .next()
            .map_or(rest.len(), |&n| usize::from(n.max(1)))
            .min(rest.len());
        peer.read(&rest[..n]);
        rest = &rest[n..];
    }
}

/// Runs the exchange and checks that it round-trips.
pub fn run(input: Input) {
    let t0 = Instant::from_millis(0);
    let config = Config {
        max_message_size: 1 << 24,
        max_frame_payload: 1 << 24,
        ..Config::DEFAULT
    };
    let mut seed = 1u32;
    let entropy = move |buf: &mut [u8]| {
        for b in buf {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *b = (seed >> 24) as u8;
        }
    };
    let mut client = Peer::new(Connection::client(config, entropy, t0).unwrap());
    let mut server = Peer::new(Connection::server(config, t0).unwrap());
    let (mut c2s, mut s2c) = (Vec::new(), Vec::new());
    let mut out = [0u8; 1024];

    let n = client
        .conn
        .connect(&ClientRequest::new("localhost", "/"), t0, &mut out)
        .unwrap();
    c2s.extend_from_slice(&out[..n]);
    server.input.extend_from_slice(&c2s);
    c2s.clear();
    let r = server.conn.receive(&mut server.input, t0);
    let consumed = r.consumed;
    assert!(matches!(r.event, Some(Event::Request(_))));
    server.input.drain(..consumed);
    let n = server
        .conn
        .accept(&AcceptOptions::default(), &mut out)
        .unwrap();
    s2c.extend_from_slice(&out[..n]);

    let expect_client: Vec<Got> = input
        .to_client
        .iter()
        .map(|m| server.send(m, &mut s2c))
        .collect();
    deliver(&mut client, &mut s2c, &input.chunks);
    assert_eq!(client.conn.state(), ReadyState::Open);
    let expect_server: Vec<Got> = input
        .to_server
        .iter()
        .map(|m| client.send(m, &mut c2s))
        .collect();
    client.flush(&mut c2s); // pongs
    deliver(&mut server, &mut c2s, &input.chunks);
    server.flush(&mut s2c);
    deliver(&mut client, &mut s2c, &input.chunks);

    let code = CloseCode(3000 + input.code % 2000);
    if input.client_closes {
        let n = client.conn.close(code, "", t0, &mut out).unwrap();
        c2s.extend_from_slice(&out[..n]);
        deliver(&mut server, &mut c2s, &input.chunks);
        server.flush(&mut s2c);
        deliver(&mut client, &mut s2c, &input.chunks);
    } else {
        let n = server.conn.close(code, "", t0, &mut out).unwrap();
        s2c.extend_from_slice(&out[..n]);
        deliver(&mut client, &mut s2c, &input.chunks);
        client.flush(&mut c2s);
        deliver(&mut server, &mut c2s, &input.chunks);
    }
    client.conn.receive_eof(t0);
    client.read(&[]);
    server.read(&[]);
    assert_eq!(server.got, expect_server);
    assert_eq!(client.got, expect_client);
    let clean = Some(CloseInfo {
        clean: true,
        code,
        error: None,
    });
    assert_eq!((client.closed, server.closed), (clean, clean));
}
