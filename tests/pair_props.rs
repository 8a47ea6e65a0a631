//! A client and a server `Connection` exchanging bytes through in-memory queues, under
//! proptest-chosen messages, fragmentations and read chunkings: every message arrives whole and in
//! order, and both ends reach CLOSED with the same close code.

use proptest::prelude::*;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{CloseInfo, Connection, DataKind, Event, ReadyState, Transmit};
use wsproto::entropy::Entropy;
use wsproto::handshake::{AcceptOptions, ClientRequest};
use wsproto::message::{FixedBuffer, Message, MessageAssembler};
use wsproto::time::Instant;

#[derive(Clone, Debug)]
struct TestRng(u64);

impl Entropy for TestRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *b = (self.0 >> 56) as u8;
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Msg {
    Text(String),
    Binary(Vec<u8>),
}

/// One end: its connection, the bytes it has read but not consumed, and what it received.
struct Peer<E> {
    conn: Connection<E>,
    input: Vec<u8>,
    messages: Vec<Msg>,
    assembler: MessageAssembler<FixedBuffer<{ 1 << 14 }>>,
    pings: usize,
    closed: Option<CloseInfo>,
    shut_down: bool,
}

impl<E: Entropy> Peer<E> {
    fn new(conn: Connection<E>) -> Self {
        Peer {
            conn,
            input: Vec::new(),
            messages: Vec::new(),
            assembler: MessageAssembler::new(FixedBuffer::new()),
            pings: 0,
            closed: None,
            shut_down: false,
        }
    }

    /// Appends `bytes` to the input and processes it until no progress.
    fn read(&mut self, bytes: &[u8], now: Instant) {
        self.input.extend_from_slice(bytes);
        let mut pos = 0;
        loop {
            let r = self.conn.receive(&mut self.input[pos..], now);
            pos += r.consumed;
            let Some(event) = r.event else { break };
            match &event {
                Event::Closed(info) => {
                    assert!(self.closed.is_none(), "Closed is given once");
                    self.closed = Some(*info);
                }
                Event::Ping(_) => self.pings += 1,
                _ => {}
            }
            match self.assembler.push(&event).unwrap() {
                Some(Message::Text(t)) => self.messages.push(Msg::Text(t.to_string())),
                Some(Message::Binary(b)) => self.messages.push(Msg::Binary(b.to_vec())),
                None => {}
            }
        }
        self.input.drain(..pos);
        assert!(
            self.input.len() <= 139,
            "only an incomplete header or control frame is left"
        );
    }

    /// Everything queued, appended to `wire`.
    fn flush(&mut self, wire: &mut Vec<u8>) {
        let mut out = [0u8; 512];
        loop {
            match self.conn.poll_transmit(&mut out).unwrap() {
                Transmit::Bytes(n) => wire.extend_from_slice(&out[..n]),
                Transmit::ShutdownWrite => self.shut_down = true,
                Transmit::Nothing => return,
            }
        }
    }

    fn send(&mut self, msg: &Msg, fragments: usize, wire: &mut Vec<u8>) {
        let (kind, bytes) = match msg {
            Msg::Text(t) => (DataKind::Text, t.as_bytes()),
            Msg::Binary(b) => (DataKind::Binary, &b[..]),
        };
        // Split at byte positions: text fragments may cut a character in two.
        let size = bytes.len().div_ceil(fragments.max(1)).max(1);
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
    }
}

/// Delivers `wire` to `peer` in pieces whose sizes cycle through `chunks`.
fn deliver<E: Entropy>(peer: &mut Peer<E>, wire: &mut Vec<u8>, chunks: &[usize], now: Instant) {
    let bytes = std::mem::take(wire);
    let mut sizes = chunks.iter().cycle();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let n = sizes
            .next()
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        peer.read(&rest[..n], now);
        rest = &rest[n..];
    }
}

fn msg() -> impl Strategy<Value = (Msg, usize)> {
    let text = any::<String>().prop_map(Msg::Text);
    let long_text = "[a-zé€😀]{0,3000}".prop_map(Msg::Text);
    let binary = prop::collection::vec(any::<u8>(), 0..5000).prop_map(Msg::Binary);
    (prop_oneof![text, long_text, binary], 1usize..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn messages_arrive_whole_and_in_order(
        to_server in prop::collection::vec(msg(), 0..8),
        to_client in prop::collection::vec(msg(), 0..8),
        chunks in prop::collection::vec(1usize..700, 0..8),
        client_closes in any::<bool>(),
        code in prop_oneof![Just(1000u16), Just(1001), 3000u16..5000],
        ping_every in 1usize..4,
    ) {
        let t0 = Instant::from_millis(0);
        let mut client = Peer::new(Connection::client(Config::DEFAULT, TestRng(7), t0).unwrap());
        let mut server = Peer::new(Connection::server(Config::DEFAULT, t0).unwrap());
        let (mut c2s, mut s2c) = (Vec::new(), Vec::new());
        let mut out = [0u8; 1024];

        // Opening handshake.
        let n = client.conn.connect(&ClientRequest::new("localhost", "/"), t0, &mut out).unwrap();
        c2s.extend_from_slice(&out[..n]);
        // Frames sent before the response arrives wait behind the request.
        server.input.extend_from_slice(&c2s);
        c2s.clear();
        let r = server.conn.receive(&mut server.input, t0);
        let consumed = r.consumed;
        prop_assert!(matches!(r.event, Some(Event::Request(_))));
        server.input.drain(..consumed);
        let n = server.conn.accept(&AcceptOptions::default(), &mut out).unwrap();
        s2c.extend_from_slice(&out[..n]);
        prop_assert_eq!(server.conn.state(), ReadyState::Open);

        for (i, (m, fragments)) in to_client.iter().enumerate() {
            server.send(m, *fragments, &mut s2c);
            if i % ping_every == 0 {
                let n = server.conn.ping(b"p", &mut out).unwrap();
                s2c.extend_from_slice(&out[..n]);
            }
        }
        deliver(&mut client, &mut s2c, &chunks, t0);
        prop_assert_eq!(client.conn.state(), ReadyState::Open);
        for (m, fragments) in &to_server {
            client.send(m, *fragments, &mut c2s);
        }
        deliver(&mut server, &mut c2s, &chunks, t0);
        // Pongs flow back.
        client.flush(&mut c2s);
        deliver(&mut server, &mut c2s, &chunks, t0);

        // Closing handshake.
        let code = CloseCode(code);
        if client_closes {
            let n = client.conn.close(code, "bye", t0, &mut out).unwrap();
            c2s.extend_from_slice(&out[..n]);
            deliver(&mut server, &mut c2s, &chunks, t0);
            server.flush(&mut s2c);
            deliver(&mut client, &mut s2c, &chunks, t0);
        } else {
            let n = server.conn.close(code, "bye", t0, &mut out).unwrap();
            s2c.extend_from_slice(&out[..n]);
            deliver(&mut client, &mut s2c, &chunks, t0);
            client.flush(&mut c2s);
            deliver(&mut server, &mut c2s, &chunks, t0);
            server.flush(&mut s2c);
        }
        // The server closes TCP first; the client sees the end of input.
        prop_assert!(server.shut_down);
        client.conn.receive_eof(t0);
        client.read(&[], t0);
        server.read(&[], t0);

        let sent_to_server: Vec<Msg> = to_server.iter().map(|(m, _)| m.clone()).collect();
        let sent_to_client: Vec<Msg> = to_client.iter().map(|(m, _)| m.clone()).collect();
        prop_assert_eq!(&server.messages, &sent_to_server);
        prop_assert_eq!(&client.messages, &sent_to_client);
        prop_assert_eq!(client.pings, to_client.iter().enumerate().filter(|(i, _)| i % ping_every == 0).count());
        let expected = CloseInfo { clean: true, code, error: None };
        prop_assert_eq!(client.closed, Some(expected));
        prop_assert_eq!(server.closed, Some(expected));
        prop_assert_eq!(client.conn.state(), ReadyState::Closed);
        prop_assert_eq!(server.conn.state(), ReadyState::Closed);
    }
}
