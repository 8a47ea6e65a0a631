//! The session layer: buffers, whole messages, pongs, backpressure, deflate, over the public API.
#![cfg(feature = "alloc")]

use wsproto::close::CloseCode;
use wsproto::connection::DataKind;
use wsproto::entropy::NoEntropy;
use wsproto::handshake::{AcceptOptions, ClientRequest, Rejection};
use wsproto::mask::apply_mask;
use wsproto::message::Message;
use wsproto::session::{Answer, Session, SessionConfig, SessionEvent};
use wsproto::time::Instant;
use wsproto::{Config, Connection, ReadyState, Role};

const NOW: Instant = Instant::from_millis(0);

type Entropy = fn(&mut [u8]);

fn fill(buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(7);
    }
}

fn server(config: SessionConfig) -> Session<Vec<u8>> {
    let conn = Connection::open(Config::default(), Role::Server, NoEntropy, NOW).unwrap();
    Session::new(conn, config, Vec::new(), Vec::new())
}

/// A masked frame as a client sends it (fixed key, so the bytes are reproducible).
fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![opcode | if fin { 0x80 } else { 0 }];
    match payload.len() {
        n @ 0..126 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    let mut masked = payload.to_vec();
    apply_mask(&mut masked, key, 0);
    out.extend_from_slice(&masked);
    out
}

/// Reads every event out of `session` into owned values.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    Text(String),
    Binary(Vec<u8>),
    Chunk(DataKind, Vec<u8>, bool, bool),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    CloseReceived(u16, String),
    Closed(bool, u16),
    Other,
}

fn drain<E: wsproto::entropy::Entropy>(session: &mut Session<Vec<u8>, E>) -> Vec<Got> {
    let mut got = Vec::new();
    while let Some(event) = session.poll_event(NOW) {
        got.push(match event {
            SessionEvent::Text(t) => Got::Text(t.to_owned()),
            SessionEvent::Binary(b) => Got::Binary(b.to_vec()),
            SessionEvent::Chunk {
                kind,
                data,
                first,
                last,
            } => Got::Chunk(kind, data.to_vec(), first, last),
            SessionEvent::Ping(p) => Got::Ping(p.to_vec()),
            SessionEvent::Pong(p) => Got::Pong(p.to_vec()),
            SessionEvent::CloseReceived { code, reason } => {
                Got::CloseReceived(code.0, reason.to_owned())
            }
            SessionEvent::Closed(info) => Got::Closed(info.clean, info.code.0),
            _ => Got::Other,
        });
    }
    got
}

#[test]
fn ten_pings_in_one_read_get_ten_pongs_in_order() {
    let mut session = server(SessionConfig::default());
    let mut wire = Vec::new();
    for i in 0..10u8 {
        wire.extend(client_frame(0x9, true, &[i; 3]));
    }
    assert_eq!(session.feed(&wire), wire.len());
    let got = drain(&mut session);
    let expected: Vec<Got> = (0..10u8).map(|i| Got::Ping(vec![i; 3])).collect();
    assert_eq!(got, expected);
    let mut pongs = Vec::new();
    for i in 0..10u8 {
        pongs.extend_from_slice(&[0x8a, 3, i, i, i]);
    }
    assert_eq!(session.output(), &pongs[..]);
}

#[test]
fn last_message_repeats_the_message_until_the_next_poll_or_read() {
    let mut session = server(SessionConfig::default());
    let mut wire = client_frame(0x1, false, b"Hel");
    wire.extend(client_frame(0x0, true, b"lo"));
    wire.extend(client_frame(0x9, true, b"p"));
    wire.extend(client_frame(0x2, true, &[1, 2, 3]));
    session.feed(&wire);
    assert!(session.last_message().is_none());
    assert!(matches!(
        session.poll_event(NOW),
        Some(SessionEvent::Text("Hello"))
    ));
    assert_eq!(session.last_message(), Some(Message::Text("Hello")));
    assert!(matches!(
        session.poll_event(NOW),
        Some(SessionEvent::Ping(b"p"))
    ));
    assert_eq!(session.last_message(), None);
    assert!(matches!(
        session.poll_event(NOW),
        Some(SessionEvent::Binary(&[1, 2, 3]))
    ));
    assert_eq!(session.last_message(), Some(Message::Binary(&[1, 2, 3])));
    let _ = session.read_buf();
    assert_eq!(session.last_message(), None);
}

#[test]
fn a_large_frame_is_read_in_place_and_handed_out_where_it_lies() {
    let mut session = server(SessionConfig::default());
    let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + i / 251) as u8).collect();
    let wire = client_frame(0x2, true, &payload);
    // The first read brings the header and a little payload.
    assert_eq!(session.feed(&wire[..100]), 100);
    assert!(session.poll_event(NOW).is_none());
    // The next read is offered exactly the rest of the frame, in place.
    let rest = &wire[100..];
    let buf = session.read_buf();
    assert_eq!(buf.len(), rest.len());
    let landed = buf.as_ptr() as usize;
    buf.copy_from_slice(rest);
    session.commit_read(rest.len());
    match session.poll_event(NOW) {
        Some(SessionEvent::Binary(bytes)) => {
            assert_eq!(bytes, &payload[..]);
            // 14 header bytes (2 + 8 length + 4 key) and 86 payload bytes came first.
            assert_eq!(bytes.as_ptr() as usize, landed - 86);
        }
        other => panic!("expected the message, got {other:?}"),
    }
    assert!(session.poll_event(NOW).is_none());
}

/// `Vec` storage that counts, in a shared cell, the bytes it zero-fills when it grows.
struct CountingVec {
    vec: Vec<u8>,
    grown: std::rc::Rc<std::cell::Cell<usize>>,
}

impl wsproto::session::Storage for CountingVec {
    fn as_slice(&self) -> &[u8] {
        &self.vec
    }
    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.vec
    }
    fn grow_to(&mut self, len: usize) -> bool {
        let grown = len.saturating_sub(self.vec.len());
        self.grown.set(self.grown.get() + grown);
        wsproto::session::Storage::grow_to(&mut self.vec, len)
    }
    fn shrink_to(&mut self, keep: usize) {
        wsproto::session::Storage::shrink_to(&mut self.vec, keep);
    }
    fn capacity_limit(&self) -> usize {
        usize::MAX
    }
}

/// Reads `bytes` into the session as a socket would: into exactly the room it offers.
fn read_in(session: &mut Session<CountingVec>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let buf = session.read_buf();
        let n = buf.len().min(bytes.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        session.commit_read(n);
        bytes = &bytes[n..];
    }
}

#[test]
fn a_stream_of_large_messages_reuses_one_buffer_then_gives_it_back() {
    let conn = Connection::open(Config::default(), Role::Server, NoEntropy, NOW).unwrap();
    let rx_grown = std::rc::Rc::new(std::cell::Cell::new(0));
    let rx = CountingVec {
        vec: Vec::new(),
        grown: rx_grown.clone(),
    };
    let tx = CountingVec {
        vec: Vec::new(),
        grown: Default::default(),
    };
    let mut session = Session::new(conn, SessionConfig::default(), rx, tx);
    let mut payload = vec![0u8; 200 * 1024];
    fill(&mut payload);
    let wire = client_frame(0x2, true, &payload);
    for _ in 0..5 {
        // The header and a little payload first, then the rest.
        read_in(&mut session, &wire[..100]);
        assert!(session.poll_event(NOW).is_none());
        read_in(&mut session, &wire[100..]);
        match session.poll_event(NOW) {
            Some(SessionEvent::Binary(bytes)) => assert_eq!(bytes, &payload[..]),
            other => panic!("expected the message, got {other:?}"),
        }
        assert!(session.poll_event(NOW).is_none());
    }
    // One frame's worth was zero-filled, once, not once per message.
    let grown = rx_grown.get();
    assert!(
        grown < 2 * wire.len(),
        "grew {grown} bytes for 5 messages of {} bytes",
        wire.len()
    );
    // A small message after them: once it is consumed, the large buffer is given back.
    read_in(&mut session, &client_frame(0x1, true, b"small"));
    assert!(matches!(
        session.poll_event(NOW),
        Some(SessionEvent::Text("small"))
    ));
    assert!(session.poll_event(NOW).is_none());
    let keep = SessionConfig::default().keep_capacity;
    assert!(session.read_buf().len() <= keep);
}

/// Large single-frame messages read the way a socket reads (as much as `read_buf` offers, the
/// frame's first read starting at the front): each is handed out where it was read, never moved
/// down over its header, and once the storage has held one, the next arrives in one read.
#[test]
fn large_messages_are_handed_out_where_they_were_read() {
    let mut session = server(SessionConfig::default());
    let mut payload = vec![0u8; 64 * 1024];
    fill(&mut payload);
    let wire = client_frame(0x2, true, &payload);
    let header_len = wire.len() - payload.len();
    for round in 0..4 {
        let mut rest = &wire[..];
        let mut reads = 0;
        let mut front = 0;
        let at = loop {
            let buf = session.read_buf();
            if reads == 0 {
                front = buf.as_ptr() as usize;
            }
            let n = buf.len().min(rest.len());
            buf[..n].copy_from_slice(&rest[..n]);
            session.commit_read(n);
            rest = &rest[n..];
            reads += 1;
            match session.poll_event(NOW) {
                Some(SessionEvent::Binary(bytes)) => {
                    assert_eq!(bytes, &payload[..]);
                    break bytes.as_ptr() as usize;
                }
                None => assert!(!rest.is_empty(), "the whole frame was read"),
                Some(other) => panic!("unexpected {other:?}"),
            }
        };
        assert!(rest.is_empty());
        assert!(session.poll_event(NOW).is_none());
        // Behind its header, where the first read put it (a move would have put it in front).
        assert_eq!(at, front + header_len, "message {round} was moved");
        if round > 0 {
            assert_eq!(reads, 1, "message {round} took {reads} reads");
        }
    }
}

#[test]
fn fragments_are_assembled_and_text_is_handed_out_as_str() {
    let mut session = server(SessionConfig::default());
    let text = "héllo wörld, ça va? ✓";
    let bytes = text.as_bytes();
    let mut wire = client_frame(0x1, false, &bytes[..2]); // splits "é"
    wire.extend(client_frame(0x9, true, b"mid")); // a ping between fragments
    wire.extend(client_frame(0x0, false, &bytes[2..10]));
    wire.extend(client_frame(0x0, true, &bytes[10..]));
    wire.extend(client_frame(0x2, true, b"after"));
    // Byte by byte: the same events as in one piece.
    for chunk in wire.chunks(1) {
        session.feed(chunk);
    }
    let got = drain(&mut session);
    assert_eq!(
        got,
        vec![
            Got::Ping(b"mid".to_vec()),
            Got::Text(text.to_owned()),
            Got::Binary(b"after".to_vec())
        ]
    );
}

#[test]
fn messages_over_the_whole_limit_come_as_chunks() {
    let config = SessionConfig {
        max_whole_message: 1000,
        read_size: 512,
        ..SessionConfig::default()
    };
    let mut session = server(config);
    let payload: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    let mut wire = client_frame(0x2, true, &payload);
    wire.extend(client_frame(0x2, true, b"small"));
    let mut got = Vec::new();
    for piece in wire.chunks(700) {
        session.feed(piece);
        got.extend(drain(&mut session));
    }
    let small = got.pop().unwrap();
    assert_eq!(small, Got::Binary(b"small".to_vec()));
    let mut joined = Vec::new();
    for (i, g) in got.iter().enumerate() {
        let Got::Chunk(DataKind::Binary, data, first, last) = g else {
            panic!("expected chunks, got {g:?}");
        };
        assert_eq!(*first, i == 0);
        assert_eq!(*last, i == got.len() - 1);
        joined.extend_from_slice(data);
    }
    assert!(got.len() > 1);
    assert_eq!(joined, payload);
}

#[test]
fn output_over_the_high_water_mark_stops_input() {
    let config = SessionConfig {
        output_high_water: 1000,
        ..SessionConfig::default()
    };
    let mut session = server(config);
    let mut wire = Vec::new();
    for i in 0..2000u32 {
        wire.extend(client_frame(0x9, true, &i.to_be_bytes()));
    }
    session.feed(&wire);
    let mut pings = 0;
    let mut pongs = Vec::new();
    let mut most = 0;
    loop {
        let got = drain(&mut session);
        pings += got.len();
        most = most.max(session.buffered_amount());
        assert!(!session.wants_read() || session.buffered_amount() <= 1000);
        if session.output().is_empty() {
            break;
        }
        pongs.extend_from_slice(session.output());
        let n = session.output().len();
        session.advance_output(n);
    }
    assert_eq!(pings, 2000);
    // Never more than the mark plus one pong (6 bytes) queued.
    assert!(most <= 1000 + 6, "{most} bytes queued");
    let expected: Vec<u8> = (0..2000u32)
        .flat_map(|i| [&[0x8a, 4][..], &i.to_be_bytes()].concat())
        .collect();
    assert_eq!(pongs, expected);
}

#[test]
fn invalid_utf8_fails_with_1007() {
    let mut session = server(SessionConfig::default());
    session.feed(&client_frame(0x1, true, &[0x68, 0xff, 0x69]));
    assert_eq!(drain(&mut session), vec![Got::Closed(false, 1007)]);
    assert_eq!(&session.output()[..4], b"\x88\x0f\x03\xef");
    assert!(session.wants_shutdown() || !session.output().is_empty());
    assert_eq!(session.state(), ReadyState::Closed);
}

#[test]
fn fixed_storage_assembles_in_place_and_chunks_what_does_not_fit() {
    let mut rx = [0u8; 1024];
    let mut tx = [0u8; 1024];
    let conn = Connection::open(Config::default(), Role::Server, NoEntropy, NOW).unwrap();
    let mut session: Session<&mut [u8]> =
        Session::new(conn, SessionConfig::default(), &mut rx[..], &mut tx[..]);
    let mut wire = client_frame(0x1, false, b"Hel");
    wire.extend(client_frame(0x0, true, b"lo"));
    let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    wire.extend(client_frame(0x2, true, &big));
    wire.extend(client_frame(0x2, true, b"end"));
    let mut texts = Vec::new();
    let mut joined = Vec::new();
    let mut chunks = 0;
    let mut ends = Vec::new();
    let mut fed = 0;
    while fed < wire.len() {
        fed += session.feed(&wire[fed..]);
        while let Some(event) = session.poll_event(NOW) {
            match event {
                SessionEvent::Text(t) => texts.push(t.to_owned()),
                SessionEvent::Chunk { data, last, .. } => {
                    chunks += 1;
                    joined.extend_from_slice(data);
                    if last {
                        ends.push(joined.len());
                    }
                }
                SessionEvent::Binary(b) => ends.push(b.len()),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(texts, ["Hello"]);
    assert!(chunks > 1);
    assert_eq!(joined, big);
    assert_eq!(ends, [3000, 3]);
}

/// A client session and a server session joined by memory.
struct Pair {
    client: Session<Vec<u8>, Entropy>,
    server: Session<Vec<u8>>,
}

impl Pair {
    fn new(client_config: SessionConfig, server_config: SessionConfig) -> Pair {
        let conn = Connection::client(Config::default(), fill as Entropy, NOW).unwrap();
        let client = Session::new(conn, client_config, Vec::new(), Vec::new());
        let conn = Connection::server(Config::default(), NOW).unwrap();
        let server = Session::new(conn, server_config, Vec::new(), Vec::new());
        Pair { client, server }
    }

    /// Moves all output both ways once; returns the bytes moved.
    fn shuttle(&mut self) -> usize {
        let to_server = self.client.output().to_vec();
        self.client.advance_output(to_server.len());
        self.server.feed(&to_server);
        let to_client = self.server.output().to_vec();
        self.server.advance_output(to_client.len());
        self.client.feed(&to_client);
        to_server.len() + to_client.len()
    }

    fn open(&mut self) {
        self.client
            .connect(&ClientRequest::new("example.com", "/"), NOW)
            .unwrap();
        self.shuttle();
        assert!(matches!(
            self.server.poll_event(NOW),
            Some(SessionEvent::Request(r)) if r.path() == "/"
        ));
        self.server
            .answer(|_| Answer::Accept(AcceptOptions::new()))
            .unwrap();
        self.shuttle();
        assert!(matches!(
            self.client.poll_event(NOW),
            Some(SessionEvent::Accepted { subprotocol: None })
        ));
        assert_eq!(self.client.state(), ReadyState::Open);
        assert_eq!(self.server.state(), ReadyState::Open);
    }
}

#[test]
fn a_pair_talks_and_closes_cleanly() {
    let mut pair = Pair::new(SessionConfig::default(), SessionConfig::default());
    pair.open();
    pair.client.send_text("hello").unwrap();
    pair.client.send_binary(&[1, 2, 3]).unwrap();
    pair.client.ping(b"p").unwrap();
    pair.shuttle();
    assert_eq!(
        drain(&mut pair.server),
        vec![
            Got::Text("hello".into()),
            Got::Binary(vec![1, 2, 3]),
            Got::Ping(b"p".to_vec())
        ]
    );
    pair.shuttle();
    assert_eq!(drain(&mut pair.client), vec![Got::Pong(b"p".to_vec())]);
    pair.client.close(CloseCode::NORMAL, "bye", NOW).unwrap();
    pair.shuttle();
    assert_eq!(
        drain(&mut pair.server),
        vec![
            Got::CloseReceived(1000, "bye".into()),
            Got::Closed(true, 1000)
        ]
    );
    assert_eq!(pair.server.close_reason(), "bye");
    // The echo of the close waits in the output; the shutdown comes after it.
    assert!(!pair.server.wants_shutdown());
    assert_eq!(pair.server.output(), b"\x88\x02\x03\xe8");
    pair.shuttle();
    assert!(pair.server.wants_shutdown());
    pair.server.shutdown_done();
    assert!(pair.server.is_finished());
    pair.client.receive_eof();
    assert_eq!(
        drain(&mut pair.client),
        vec![Got::CloseReceived(1000, "".into()), Got::Closed(true, 1000)]
    );
}

#[test]
fn a_server_can_refuse() {
    let mut pair = Pair::new(SessionConfig::default(), SessionConfig::default());
    pair.client
        .connect(&ClientRequest::new("example.com", "/private"), NOW)
        .unwrap();
    pair.shuttle();
    assert!(matches!(
        pair.server.poll_event(NOW),
        Some(SessionEvent::Request(_))
    ));
    pair.server
        .answer(|_| Answer::Reject(Rejection::new(403).with_body(b"no")))
        .unwrap();
    assert!(pair.server.output().starts_with(b"HTTP/1.1 403"));
    assert_eq!(pair.server.state(), ReadyState::Closed);
    let n = pair.server.output().len();
    pair.server.advance_output(n);
    assert!(pair.server.wants_shutdown());
}

#[test]
fn keepalive_pings_go_to_the_output() {
    let config = Config {
        keepalive_interval: Some(core::time::Duration::from_secs(5)),
        ..Config::default()
    };
    let conn = Connection::open(config, Role::Server, NoEntropy, NOW).unwrap();
    let mut session = Session::new(conn, SessionConfig::default(), Vec::new(), Vec::new());
    let due = session.poll_timeout().unwrap();
    assert_eq!(due, Instant::from_millis(5000));
    session.handle_timeout(due);
    assert_eq!(session.output(), b"\x89\x04\x00\x00\x00\x01");
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use wsproto::deflate::DeflateConfig;

    fn with_deflate() -> SessionConfig {
        SessionConfig {
            deflate: Some(DeflateConfig::DEFAULT),
            ..SessionConfig::default()
        }
    }

    #[test]
    fn negotiated_by_the_sessions_and_transparent() {
        let mut pair = Pair::new(with_deflate(), with_deflate());
        pair.open();
        assert!(pair.client.deflate_params().is_some());
        assert!(pair.server.deflate_params().is_some());
        let text = "{\"compressible\": true} ".repeat(5000);
        pair.client.send_text(&text).unwrap();
        let wire = pair.client.output();
        // RSV1 set: compressed, and much shorter.
        assert_eq!(wire[0], 0xc1);
        assert!(wire.len() < text.len() / 10, "{} bytes", wire.len());
        pair.shuttle();
        assert_eq!(drain(&mut pair.server), vec![Got::Text(text.clone())]);
        // Back the other way, and small messages stay uncompressed.
        pair.server.send_text(&text).unwrap();
        pair.server.send_binary(b"tiny").unwrap();
        pair.shuttle();
        assert_eq!(
            drain(&mut pair.client),
            vec![Got::Text(text), Got::Binary(b"tiny".to_vec())]
        );
    }

    #[test]
    fn inflated_messages_over_the_whole_limit_come_as_chunks() {
        let chunked = SessionConfig {
            max_whole_message: 10_000,
            ..with_deflate()
        };
        let mut pair = Pair::new(with_deflate(), chunked);
        pair.open();
        let payload: Vec<u8> = (0..200_000u32).map(|i| (i / 100) as u8).collect();
        pair.client.send_binary(&payload).unwrap();
        pair.shuttle();
        let got = drain(&mut pair.server);
        let mut joined = Vec::new();
        for (i, g) in got.iter().enumerate() {
            let Got::Chunk(DataKind::Binary, data, first, last) = g else {
                panic!("expected chunks, got {g:?}");
            };
            assert_eq!((*first, *last), (i == 0, i == got.len() - 1));
            joined.extend_from_slice(data);
        }
        assert_eq!(joined, payload);
    }

    #[test]
    fn without_an_offer_there_is_no_compression() {
        let mut pair = Pair::new(SessionConfig::default(), with_deflate());
        pair.open();
        assert!(pair.server.deflate_params().is_none());
        pair.server.send_text(&"x".repeat(1000)).unwrap();
        assert_eq!(pair.server.output()[0], 0x81);
    }
}

mod split {
    use super::*;
    use proptest::prelude::*;

    /// A message as the client sends it: kind, payload, fragment sizes.
    fn message() -> impl Strategy<Value = (bool, Vec<u8>, Vec<usize>)> {
        (
            any::<bool>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..200),
                proptest::collection::vec(any::<u8>(), 60_000..70_000),
            ],
            proptest::collection::vec(1usize..50_000, 0..3),
        )
    }

    /// One transport read of at most `want` bytes of `rest` into `session`; the count read.
    fn read_piece(session: &mut Session<Vec<u8>>, rest: &[u8], want: usize) -> usize {
        let buf = session.read_buf();
        let n = want.min(rest.len()).min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        session.commit_read(n);
        n
    }

    /// The pongs to `wire_for`'s pings, in order.
    fn pongs_for(messages: usize) -> Vec<u8> {
        (0..messages).flat_map(|i| [0x8a, 1, i as u8]).collect()
    }

    /// The wire bytes of `messages` (each followed by a ping) and the events they give.
    fn wire_for(messages: &[(bool, Vec<u8>, Vec<usize>)]) -> (Vec<u8>, Vec<Got>) {
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for (i, (text, payload, cuts)) in messages.iter().enumerate() {
            let payload = if *text {
                String::from_utf8_lossy(payload).into_owned().into_bytes()
            } else {
                payload.clone()
            };
            let mut at = 0;
            let mut first = true;
            for cut in cuts {
                let end = (at + cut).min(payload.len());
                let opcode = if first {
                    if *text { 0x1 } else { 0x2 }
                } else {
                    0x0
                };
                wire.extend(client_frame(opcode, false, &payload[at..end]));
                first = false;
                at = end;
            }
            let opcode = if first {
                if *text { 0x1 } else { 0x2 }
            } else {
                0x0
            };
            wire.extend(client_frame(opcode, true, &payload[at..]));
            wire.extend(client_frame(0x9, true, &[i as u8]));
            expected.push(if *text {
                Got::Text(String::from_utf8(payload).unwrap())
            } else {
                Got::Binary(payload)
            });
            expected.push(Got::Ping(vec![i as u8]));
        }
        (wire, expected)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the reads look like, the same whole messages and pongs come out.
        #[test]
        fn any_split_gives_the_same_messages(
            messages in proptest::collection::vec(message(), 1..6),
            reads in proptest::collection::vec(1usize..40_000, 1..20),
        ) {
            let (wire, expected) = wire_for(&messages);
            let mut session = server(SessionConfig::default());
            let mut got = Vec::new();
            let mut fed = 0;
            let mut r = 0;
            while fed < wire.len() {
                fed += read_piece(&mut session, &wire[fed..], reads[r % reads.len()]);
                r += 1;
                got.extend(drain(&mut session));
            }
            prop_assert_eq!(got, expected);
            prop_assert_eq!(session.output(), &pongs_for(messages.len())[..]);
        }

        /// The same with one shared input buffer lent for each read and reclaimed after its
        /// events, as a server with many connections does, and no memory kept: the same
        /// messages and pongs, and between reads the session holds only what a message still
        /// arriving needs.
        #[test]
        fn lending_input_per_read_gives_the_same_messages(
            messages in proptest::collection::vec(message(), 1..6),
            reads in proptest::collection::vec(1usize..40_000, 1..20),
        ) {
            let (wire, expected) = wire_for(&messages);
            let config = SessionConfig { keep_capacity: 0, ..SessionConfig::default() };
            let mut session = server(config);
            let mut shared = vec![0u8; config.read_size];
            let mut got = Vec::new();
            let mut fed = 0;
            let mut r = 0;
            while fed < wire.len() {
                let lent = session.lend_input(&mut shared);
                fed += read_piece(&mut session, &wire[fed..], reads[r % reads.len()]);
                r += 1;
                got.extend(drain(&mut session));
                let reclaimed = session.reclaim_input(&mut shared);
                prop_assert!(!reclaimed || lent);
                if reclaimed {
                    // Only a partial frame stays, in storage of its own size.
                    prop_assert!(session.storage_lens().0 <= config.read_size / 2);
                } else if shared.len() < config.read_size {
                    // The session kept the lent buffer for a message arriving: the pool
                    // replaces it.
                    shared = vec![0u8; config.read_size];
                }
            }
            prop_assert_eq!(got, expected);
            prop_assert_eq!(session.output(), &pongs_for(messages.len())[..]);
            // Everything consumed: after one more lend and reclaim the session holds no input.
            session.lend_input(&mut shared);
            session.reclaim_input(&mut shared);
            prop_assert_eq!(session.storage_lens().0, 0);
        }
    }
}

/// The transport ends in the middle of a frame (an HTTP/2 stream reset mid-message): the end
/// still counts, and the connection closes abnormally instead of waiting for the rest forever.
#[test]
fn end_of_input_inside_a_frame_closes_abnormally() {
    let mut session = server(SessionConfig::default());
    let frame = client_frame(0x2, true, &[7; 1000]);
    assert_eq!(session.feed(&frame[..500]), 500);
    assert_eq!(drain(&mut session), []);
    session.receive_eof();
    assert_eq!(drain(&mut session), [Got::Closed(false, 1006)]);
    assert_eq!(session.state(), ReadyState::Closed);
}

/// RFC 6455 §8.1, and Autobahn's 6.4.x: invalid UTF-8 fails the connection as soon as it
/// arrives, not when the rest of its frame does, even though the frame is kept whole in place.
#[test]
fn invalid_utf8_fails_before_the_rest_of_its_frame_arrives() {
    let mut session = server(SessionConfig::default());
    let mut payload = "valid start ".repeat(100).into_bytes();
    payload[600] = 0xff;
    let wire = client_frame(0x1, true, &payload);
    session.feed(&wire[..700]);
    assert_eq!(drain(&mut session), vec![Got::Closed(false, 1007)]);
}

/// A frame read in pieces is assembled where the pieces landed: no copy between reads.
#[test]
fn a_frame_read_in_pieces_is_not_moved() {
    let mut session = server(SessionConfig::default());
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let wire = client_frame(0x2, true, &payload);
    let mut fed = 0;
    // Where the last read landed, and how many bytes came before it.
    let mut last_read = (0, 0);
    while fed < wire.len() {
        let buf = session.read_buf();
        let n = buf.len().min(7_000).min(wire.len() - fed);
        last_read = (buf.as_ptr() as usize, fed);
        buf[..n].copy_from_slice(&wire[fed..fed + n]);
        session.commit_read(n);
        fed += n;
        if fed < wire.len() {
            assert!(session.poll_event(NOW).is_none());
        }
    }
    match session.poll_event(NOW) {
        Some(SessionEvent::Binary(bytes)) => {
            assert_eq!(bytes, &payload[..]);
            // The last read landed right behind the payload before it (14 header bytes came
            // first): nothing was moved between reads.
            let (at, before) = last_read;
            assert_eq!(bytes.as_ptr() as usize + (before - 14), at);
        }
        other => panic!("expected the message, got {other:?}"),
    }
}

/// `max_whole_message` at its edge: a message of exactly that many bytes comes whole, one byte
/// more comes as chunks, in one frame or two.
#[test]
fn the_whole_message_limit_at_its_edge() {
    let config = SessionConfig {
        max_whole_message: 1000,
        read_size: 512,
        ..SessionConfig::default()
    };
    for (len, whole) in [(1000, true), (1001, false)] {
        for fragmented in [false, true] {
            let payload: Vec<u8> = (0..len as u32).map(|i| (i % 251) as u8).collect();
            let wire = if fragmented {
                let mut wire = client_frame(0x2, false, &payload[..len / 2]);
                wire.extend(client_frame(0x0, true, &payload[len / 2..]));
                wire
            } else {
                client_frame(0x2, true, &payload)
            };
            let mut session = server(config);
            let mut got = Vec::new();
            for piece in wire.chunks(300) {
                session.feed(piece);
                got.extend(drain(&mut session));
            }
            if whole {
                assert_eq!(got, vec![Got::Binary(payload)], "{len} B, {fragmented}");
                continue;
            }
            let mut joined = Vec::new();
            for g in &got {
                let Got::Chunk(DataKind::Binary, data, _, _) = g else {
                    panic!("{len} B, fragmented {fragmented}: expected chunks, got {g:?}");
                };
                joined.extend_from_slice(data);
            }
            assert!(matches!(got.last(), Some(Got::Chunk(_, _, _, true))));
            assert_eq!(joined, payload, "{len} B, fragmented {fragmented}");
        }
    }
}

/// `keep_capacity` at its edge: input storage of exactly that size is kept once empty, one byte
/// more is trimmed to it, and 0 gives everything back; the same for output once written.
#[test]
fn keep_capacity_at_its_edge() {
    const KEEP: usize = 4096;
    for (read_size, keep, after) in [(KEEP, KEEP, KEEP), (KEEP + 1, KEEP, KEEP), (KEEP, 0, 0)] {
        let config = SessionConfig {
            read_size,
            keep_capacity: keep,
            ..SessionConfig::default()
        };
        let mut session = server(config);
        let buf = session.read_buf();
        assert_eq!(buf.len(), read_size);
        let frame = client_frame(0x1, true, b"small");
        buf[..frame.len()].copy_from_slice(&frame);
        session.commit_read(frame.len());
        assert_eq!(drain(&mut session), vec![Got::Text("small".into())]);
        session.poll_event(NOW);
        assert_eq!(
            session.storage_lens().0,
            after,
            "read_size {read_size}, keep {keep}"
        );

        session.send_binary(&vec![1; keep + 100]).unwrap();
        assert!(session.storage_lens().1 > keep);
        let n = session.output().len();
        session.advance_output(n);
        assert_eq!(session.storage_lens().1, keep, "output, keep {keep}");
    }
}

/// Lent input storage: the needed bytes (here the first fragment of a message) move with it up
/// to `read_size / 2`, one more and the session keeps the lent storage; inside a frame still
/// arriving it is kept too (the frame is read in place); a pending handshake request is never
/// moved.
#[test]
fn lending_input_at_its_edge() {
    let config = SessionConfig {
        read_size: 1024,
        keep_capacity: 0,
        ..SessionConfig::default()
    };
    let payload: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
    for (so_far, moved) in [(512, true), (513, false)] {
        let mut wire = client_frame(0x2, false, &payload[..so_far]);
        let first = wire.len();
        wire.extend(client_frame(0x0, true, &payload[so_far..]));
        let mut session = server(config);
        let mut shared = vec![0u8; 1024];
        assert!(session.lend_input(&mut shared));
        assert!(shared.is_empty(), "the session's own (empty) storage");
        session.feed(&wire[..first]);
        assert!(session.poll_event(NOW).is_none());
        assert_eq!(
            session.reclaim_input(&mut shared),
            moved,
            "{so_far} B so far"
        );
        if moved {
            assert_eq!(session.storage_lens().0, so_far);
            assert!(shared.len() >= 1024, "the lent buffer came back");
        } else {
            assert!(shared.is_empty(), "the session kept the lent buffer");
            assert!(
                session.storage_lens().0 >= 1024,
                "the lent buffer, now its own"
            );
            shared = vec![0u8; 1024];
        }
        // Either way the rest completes the message, lent storage or not.
        session.lend_input(&mut shared);
        session.feed(&wire[first..]);
        assert_eq!(drain(&mut session), vec![Got::Binary(payload.clone())]);
        session.reclaim_input(&mut shared);
        session.lend_input(&mut shared);
        session.reclaim_input(&mut shared);
        assert_eq!(
            session.storage_lens().0,
            0,
            "nothing in flight, nothing held"
        );
    }

    // Inside a frame: its header and 10 bytes of its payload keep the lent storage.
    let wire = client_frame(0x2, true, &payload);
    let mut session = server(config);
    let mut shared = vec![0u8; 1024];
    assert!(session.lend_input(&mut shared));
    session.feed(&wire[..2 + 2 + 4 + 10]);
    assert!(session.poll_event(NOW).is_none());
    assert!(!session.reclaim_input(&mut shared));
    assert!(shared.is_empty());
    // The rest arrives into the session's own storage (now the formerly lent one); once the
    // message is handed out, reclaiming gives that storage back at once, without another poll.
    session.feed(&wire[2 + 2 + 4 + 10..]);
    match session.poll_event(NOW) {
        Some(SessionEvent::Binary(bytes)) => assert_eq!(bytes, &payload[..]),
        other => panic!("expected the message, got {other:?}"),
    }
    assert!(session.storage_lens().0 >= wire.len() - 8);
    assert!(!session.reclaim_input(&mut shared), "nothing was lent");
    assert_eq!(session.storage_lens().0, 0, "delivered, so given back");

    // A handshake request waiting for its answer stays where it is.
    let conn = Connection::server(Config::default(), NOW).unwrap();
    let mut session: Session<Vec<u8>> = Session::new(conn, config, Vec::new(), Vec::new());
    let mut shared = vec![0u8; 1024];
    assert!(session.lend_input(&mut shared));
    session.feed(
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(matches!(
        session.poll_event(NOW),
        Some(SessionEvent::Request(_))
    ));
    assert!(!session.reclaim_input(&mut shared));
    assert!(!session.lend_input(&mut shared));
    session.accept(&AcceptOptions::default()).unwrap();
    assert_eq!(session.state(), ReadyState::Open);
    assert!(session.lend_input(&mut shared));
}

#[test]
fn debug_socket_starts_an_adapters_debug_output() {
    struct Socket(Session<Vec<u8>>);
    impl std::fmt::Debug for Socket {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0
                .debug_socket(f, Some("chat"))
                .field("own", &7)
                .finish()
        }
    }
    let mut session = server(SessionConfig::DEFAULT);
    session.send_text("queued").unwrap();
    let shown = format!("{:?}", Socket(session));
    // A 2-byte header and the 6 bytes, unmasked (a server's frame).
    assert_eq!(
        shown,
        "WebSocket { state: Open, role: Server, subprotocol: Some(\"chat\"), buffered_amount: 8, own: 7 }"
    );
}
