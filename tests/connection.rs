//! The connection state machine through its public API: exact events, output bytes and states.

use core::time::Duration;

use wsproto::Role;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{
    CloseInfo, Connection, DataKind, Error, Event, ProtocolError, ReadyState, Transmit,
};
use wsproto::entropy::{Entropy, NoEntropy};
use wsproto::frame::FrameError;
use wsproto::time::Instant;

/// A deterministic "entropy" source for tests (xorshift): never use one like it in production.
#[derive(Clone, Debug)]
struct TestRng(u64);

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

const T0: Instant = Instant::from_millis(1_000);

fn at(ms: u64) -> Instant {
    Instant::from_millis(T0.as_millis() + ms)
}

fn open_client(config: Config) -> Connection<TestRng> {
    Connection::open(config, Role::Client, TestRng(0x9E37_79B9_7F4A_7C15), T0).unwrap()
}

fn open_server(config: Config) -> Connection<NoEntropy> {
    Connection::open(config, Role::Server, NoEntropy, T0).unwrap()
}

/// An owned copy of an event, so that tests can collect them.
#[derive(Clone, Debug, PartialEq)]
enum Ev {
    Data {
        kind: DataKind,
        chunk: Vec<u8>,
        start: bool,
        frame_fin: bool,
        fin: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    CloseReceived(u16, String),
    Closed(CloseInfo),
    Other,
}

fn own(event: Event<'_>) -> Ev {
    match event {
        Event::Data {
            kind,
            chunk,
            message_start,
            frame_fin,
            message_fin,
        } => Ev::Data {
            kind,
            chunk: chunk.to_vec(),
            start: message_start,
            frame_fin,
            fin: message_fin,
        },
        Event::Ping(p) => Ev::Ping(p.to_vec()),
        Event::Pong(p) => Ev::Pong(p.to_vec()),
        Event::CloseReceived { code, reason } => Ev::CloseReceived(code.0, reason.to_string()),
        Event::Closed(info) => Ev::Closed(info),
        _ => Ev::Other,
    }
}

/// Feeds all of `bytes` and returns every event, checking that nothing is left unconsumed.
fn feed<E: Entropy>(conn: &mut Connection<E>, bytes: &[u8], now: Instant) -> Vec<Ev> {
    let mut buf = bytes.to_vec();
    let mut pos = 0;
    let mut events = Vec::new();
    loop {
        let r = conn.receive(&mut buf[pos..], now);
        pos += r.consumed;
        match r.event {
            Some(e) => events.push(own(e)),
            None => break,
        }
    }
    assert_eq!(pos, buf.len(), "all input consumed");
    events
}

/// Everything `poll_transmit` has: the bytes, and whether a shutdown followed.
fn drain<E: Entropy>(conn: &mut Connection<E>) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut shutdown = false;
    let mut out = [0u8; 512];
    loop {
        match conn.poll_transmit(&mut out).unwrap() {
            Transmit::Bytes(n) => bytes.extend_from_slice(&out[..n]),
            Transmit::ShutdownWrite => shutdown = true,
            Transmit::Nothing => return (bytes, shutdown),
        }
    }
}

fn send<E: Entropy>(conn: &mut Connection<E>, kind: DataKind, data: &[u8], fin: bool) -> Vec<u8> {
    let mut out = vec![0u8; data.len() + 1024];
    let n = conn.send(kind, data, fin, &mut out).unwrap();
    out.truncate(n);
    out
}

/// A frame as a client sends it (masked with `key`).
fn masked(first: u8, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut v = vec![first, 0x80 | payload.len() as u8];
    v.extend_from_slice(&key);
    v.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    v
}

fn data(kind: DataKind, chunk: &[u8], start: bool, fin: bool) -> Ev {
    Ev::Data {
        kind,
        chunk: chunk.to_vec(),
        start,
        frame_fin: true,
        fin,
    }
}

fn failed(code: u16, error: ProtocolError) -> Ev {
    Ev::Closed(CloseInfo {
        clean: false,
        code: CloseCode(code),
        error: Some(error),
    })
}

const K: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The close frame a server sends with `code` (unmasked), any reason.
fn server_close_code(bytes: &[u8]) -> u16 {
    assert_eq!(bytes[0], 0x88, "a close frame");
    u16::from_be_bytes([bytes[2], bytes[3]])
}

#[test]
fn rfc_example_masked_hello_to_a_server() {
    let mut server = open_server(Config::DEFAULT);
    let events = feed(
        &mut server,
        &[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ],
        T0,
    );
    assert_eq!(events, [data(DataKind::Text, b"Hello", true, true)]);
    assert_eq!(server.state(), ReadyState::Open);
}

#[test]
fn server_sends_unmasked_frames_exactly() {
    let mut server = open_server(Config::DEFAULT);
    // RFC 6455 §5.7: single-frame unmasked text "Hello".
    assert_eq!(
        send(&mut server, DataKind::Text, b"Hello", true),
        [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
    // Fragmented "Hel" + "lo".
    assert_eq!(
        send(&mut server, DataKind::Text, b"Hel", false),
        [0x01, 0x03, 0x48, 0x65, 0x6c]
    );
    assert_eq!(
        send(&mut server, DataKind::Text, b"lo", true),
        [0x80, 0x02, 0x6c, 0x6f]
    );
    // 256 bytes of binary: 16-bit length.
    let frame = send(&mut server, DataKind::Binary, &[7; 256], true);
    assert_eq!(&frame[..4], [0x82, 0x7E, 0x01, 0x00]);
    assert_eq!(frame.len(), 260);
    // 64 KiB: 64-bit length.
    let frame = send(&mut server, DataKind::Binary, &[7; 65536], true);
    assert_eq!(&frame[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
}

#[test]
fn client_frames_are_masked_and_the_server_reads_them() {
    let mut client = open_client(Config::DEFAULT);
    let mut server = open_server(Config::DEFAULT);
    let bytes = send(&mut client, DataKind::Binary, b"abc", true);
    assert_eq!(bytes[0], 0x82);
    assert_eq!(bytes[1], 0x83, "mask bit set");
    assert_ne!(&bytes[6..], b"abc", "payload masked");
    assert_eq!(
        feed(&mut server, &bytes, T0),
        [data(DataKind::Binary, b"abc", true, true)]
    );
}

#[test]
fn fragmented_message_with_interleaved_ping() {
    let mut server = open_server(Config::DEFAULT);
    let mut input = masked(0x01, K, b"Hel");
    input.extend(masked(0x89, K, b"ping!"));
    input.extend(masked(0x80, K, b"lo"));
    let events = feed(&mut server, &input, T0);
    assert_eq!(
        events,
        [
            data(DataKind::Text, b"Hel", true, false),
            Ev::Ping(b"ping!".to_vec()),
            data(DataKind::Text, b"lo", false, true),
        ]
    );
    // The pong is queued: unmasked from a server, echoing the payload (§5.5.3).
    let (bytes, shutdown) = drain(&mut server);
    assert_eq!(bytes, b"\x8a\x05ping!");
    assert!(!shutdown);
}

#[test]
fn only_the_latest_ping_is_answered() {
    let mut server = open_server(Config::DEFAULT);
    let mut input = Vec::new();
    for i in 0..1000u16 {
        input.extend(masked(0x89, K, &i.to_be_bytes()));
    }
    let events = feed(&mut server, &input, T0);
    assert_eq!(events.len(), 1000);
    let (bytes, _) = drain(&mut server);
    assert_eq!(bytes, [0x8a, 0x02, 0x03, 0xE7], "one pong, for ping 999");
}

#[test]
fn send_flushes_the_queued_pong_first() {
    let mut server = open_server(Config::DEFAULT);
    feed(&mut server, &masked(0x89, K, b"x"), T0);
    let bytes = send(&mut server, DataKind::Text, b"hi", true);
    assert_eq!(bytes, b"\x8a\x01x\x81\x02hi");
    assert_eq!(drain(&mut server), (vec![], false));
}

#[test]
fn auto_pong_can_be_turned_off() {
    let mut server = open_server(Config {
        auto_pong: false,
        ..Config::DEFAULT
    });
    assert_eq!(
        feed(&mut server, &masked(0x89, K, b"x"), T0),
        [Ev::Ping(b"x".to_vec())]
    );
    assert_eq!(drain(&mut server), (vec![], false));
}

#[test]
fn continuation_without_a_message_fails_with_1002() {
    let mut server = open_server(Config::DEFAULT);
    let events = feed(&mut server, &masked(0x80, K, b"x"), T0);
    assert_eq!(
        events,
        [failed(1002, ProtocolError::UnexpectedContinuation)]
    );
    assert_eq!(server.state(), ReadyState::Closed);
    let (bytes, shutdown) = drain(&mut server);
    assert_eq!(server_close_code(&bytes), 1002);
    assert!(shutdown);
    // Later input is ignored, never re-parsed.
    assert_eq!(feed(&mut server, &masked(0x81, K, b"x"), T0), []);
}

#[test]
fn new_message_inside_a_fragmented_one_fails_with_1002() {
    let mut server = open_server(Config::DEFAULT);
    let mut input = masked(0x01, K, b"a");
    input.extend(masked(0x82, K, b"b"));
    let events = feed(&mut server, &input, T0);
    assert_eq!(events[1], failed(1002, ProtocolError::ExpectedContinuation));
}

#[test]
fn masking_by_role_is_enforced() {
    let mut server = open_server(Config::DEFAULT);
    assert_eq!(
        feed(&mut server, b"\x81\x01a", T0),
        [failed(
            1002,
            ProtocolError::Frame(FrameError::UnmaskedFrame)
        )]
    );
    let mut client = open_client(Config::DEFAULT);
    assert_eq!(
        feed(&mut client, &masked(0x81, K, b"a"), T0),
        [failed(1002, ProtocolError::Frame(FrameError::MaskedFrame))]
    );
    // A client fails with a masked close frame.
    let (bytes, shutdown) = drain(&mut client);
    assert_eq!(bytes[0], 0x88);
    assert_eq!(bytes[1] & 0x80, 0x80);
    assert!(shutdown);
}

#[test]
fn reserved_bits_and_opcodes_fail_with_1002() {
    let mut server = open_server(Config::DEFAULT);
    assert_eq!(
        feed(&mut server, &masked(0xC1, K, b"a"), T0),
        [failed(
            1002,
            ProtocolError::Frame(FrameError::ReservedBits(wsproto::frame::Rsv::RSV1))
        )]
    );
    let mut server = open_server(Config::DEFAULT);
    assert_eq!(
        feed(&mut server, &masked(0x83, K, b""), T0),
        [failed(
            1002,
            ProtocolError::Frame(FrameError::ReservedOpCode(3))
        )]
    );
}

#[test]
fn invalid_utf8_fails_fast_with_1007_across_fragments() {
    let mut server = open_server(Config::DEFAULT);
    // "κόσμε" then a surrogate start ED A0 80, split so that ED ends the first fragment.
    let mut input = masked(
        0x01,
        K,
        &[0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xce, 0xbc, 0xce, 0xb5, 0xed],
    );
    input.extend(masked(0x00, K, &[0xa0]));
    let events = feed(&mut server, &input, T0);
    assert_eq!(events.len(), 2);
    assert!(matches!(
        events[1],
        Ev::Closed(CloseInfo {
            code: CloseCode(1007),
            clean: false,
            error: Some(ProtocolError::InvalidUtf8(_))
        })
    ));
    let (bytes, _) = drain(&mut server);
    assert_eq!(server_close_code(&bytes), 1007);
}

#[test]
fn truncated_utf8_at_message_end_fails_with_1007() {
    let mut server = open_server(Config::DEFAULT);
    let events = feed(&mut server, &masked(0x81, K, &[b'a', 0xe2, 0x82]), T0);
    assert!(matches!(
        events[..],
        [Ev::Closed(CloseInfo {
            code: CloseCode(1007),
            ..
        })]
    ));
}

#[test]
fn message_over_the_limit_fails_with_1009_when_the_limit_is_crossed() {
    let config = Config {
        max_message_size: 10,
        max_frame_payload: 10,
        ..Config::DEFAULT
    };
    let mut server = open_server(config);
    let mut input = masked(0x02, K, &[0; 6]);
    input.extend(masked(0x00, K, &[0; 4])); // 10: still fine
    input.extend(masked(0x00, K, &[0; 1])); // 11: over
    let events = feed(&mut server, &input, T0);
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2],
        failed(1009, ProtocolError::MessageTooBig { size: 11, max: 10 })
    );
    let (bytes, _) = drain(&mut server);
    assert_eq!(server_close_code(&bytes), 1009);
}

#[test]
fn frame_over_the_limit_fails_with_1009_from_its_header() {
    let mut client = open_client(Config {
        max_frame_payload: 100,
        max_message_size: 100,
        ..Config::DEFAULT
    });
    // 101-byte binary frame header, no payload yet.
    let events = feed(&mut client, &[0x82, 101], T0);
    assert_eq!(
        events,
        [failed(
            1009,
            ProtocolError::Frame(FrameError::FrameTooLarge { len: 101, max: 100 })
        )]
    );
}

/// Lowering `max_message_size` alone is enough: the frame limit follows it (it used to be a
/// configuration error that failed every handshake).
#[test]
fn frame_limit_follows_a_lower_message_limit_at_its_edge() {
    let config = Config {
        max_message_size: 64 << 10,
        ..Config::default()
    };
    let mut server = Connection::server(config, T0).unwrap();
    let mut request =
        *b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let r = server.receive(&mut request, T0);
    assert!(matches!(r.event, Some(Event::Request(_))));
    let mut out = [0u8; 256];
    server
        .accept(&wsproto::handshake::AcceptOptions::default(), &mut out)
        .unwrap();
    // 64 KiB takes a 64-bit length (§5.2: 16 bits carry at most 65 535); all-zero mask.
    let header = |len: u64| {
        let mut v = vec![0x82, 0xFF];
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&[0; 4]);
        v
    };
    let mut at_limit = header(64 << 10);
    at_limit.extend(vec![7u8; 64 << 10]);
    let events = feed(&mut server, &at_limit, T0);
    let received: usize = events
        .iter()
        .map(|e| match e {
            Ev::Data { chunk, .. } => chunk.len(),
            other => panic!("unexpected {other:?}"),
        })
        .sum();
    assert_eq!(received, 64 << 10);
    assert_eq!(
        feed(&mut server, &header((64 << 10) + 1), T0),
        [failed(
            1009,
            ProtocolError::Frame(FrameError::FrameTooLarge {
                len: (64 << 10) + 1,
                max: 64 << 10
            })
        )]
    );
}

#[test]
fn close_initiated_by_the_client() {
    let mut client = open_client(Config::DEFAULT);
    let mut server = open_server(Config::DEFAULT);
    let mut out = [0u8; 256];
    let n = client
        .close(CloseCode::NORMAL, "bye", at(0), &mut out)
        .unwrap();
    assert_eq!(client.state(), ReadyState::Closing);
    assert_eq!(
        client.send(DataKind::Text, b"late", true, &mut out),
        Err(Error::CloseAlreadySent)
    );

    // The server's close exchange is complete as soon as its echo is queued.
    let closed = CloseInfo {
        clean: true,
        code: CloseCode::NORMAL,
        error: None,
    };
    let events = feed(&mut server, &out[..n], at(1));
    assert_eq!(
        events,
        [Ev::CloseReceived(1000, "bye".into()), Ev::Closed(closed)]
    );
    assert_eq!(server.state(), ReadyState::Closed);
    // It echoes the code, then shuts down its write side (§7.1.1).
    let (echo, shutdown) = drain(&mut server);
    assert_eq!(echo, [0x88, 0x02, 0x03, 0xE8]);
    assert!(shutdown);
    assert_eq!(feed(&mut server, &[], at(1)), [], "Closed is given once");

    assert_eq!(
        feed(&mut client, &echo, at(2)),
        [Ev::CloseReceived(1000, String::new())]
    );
    // The client waits for the server's TCP close.
    assert_eq!(client.state(), ReadyState::Closing);
    client.receive_eof(at(3));
    assert_eq!(client.state(), ReadyState::Closed);
    assert_eq!(feed(&mut client, &[], at(3)), [Ev::Closed(closed)]);
    assert_eq!(drain(&mut client), (vec![], true));
}

#[test]
fn close_initiated_by_the_server() {
    let mut client = open_client(Config::DEFAULT);
    let mut server = open_server(Config::DEFAULT);
    let mut out = [0u8; 256];
    let n = server
        .close(CloseCode(4000), "done", at(0), &mut out)
        .unwrap();
    assert_eq!(&out[..n], b"\x88\x06\x0f\xa0done");
    // The server waits for the client's close before shutting down.
    assert_eq!(drain(&mut server), (vec![], false));

    assert_eq!(
        feed(&mut client, &out[..n], at(1)),
        [Ev::CloseReceived(4000, "done".into())]
    );
    let (echo, shutdown) = drain(&mut client);
    assert!(!shutdown, "the client waits for the server to close TCP");
    let info = CloseInfo {
        clean: true,
        code: CloseCode(4000),
        error: None,
    };
    assert_eq!(
        feed(&mut server, &echo, at(2)),
        [Ev::CloseReceived(4000, String::new()), Ev::Closed(info)]
    );
    assert_eq!(server.state(), ReadyState::Closed);
    assert_eq!(drain(&mut server), (vec![], true));

    // The client gives up waiting for the TCP close after the close timeout: still clean.
    assert_eq!(client.poll_timeout(), Some(at(1) + Duration::from_secs(10)));
    client.handle_timeout(at(1) + Duration::from_secs(10));
    assert_eq!(feed(&mut client, &[], at(10_001)), [Ev::Closed(info)]);
    assert_eq!(drain(&mut client), (vec![], true));
}

#[test]
fn unanswered_close_times_out_as_1006() {
    let mut server = open_server(Config::DEFAULT);
    let mut out = [0u8; 64];
    server
        .close(CloseCode::GOING_AWAY, "", at(0), &mut out)
        .unwrap();
    assert_eq!(server.poll_timeout(), Some(at(10_000)));
    server.handle_timeout(at(9_999));
    assert_eq!(server.state(), ReadyState::Closing);
    server.handle_timeout(at(10_000));
    assert_eq!(server.state(), ReadyState::Closed);
    assert_eq!(
        feed(&mut server, &[], at(10_000)),
        [failed(1006, ProtocolError::CloseTimeout)]
    );
    assert_eq!(drain(&mut server), (vec![], true));
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn eof_without_close_is_abnormal() {
    let mut server = open_server(Config::DEFAULT);
    server.receive_eof(at(5));
    assert_eq!(
        feed(&mut server, &[], at(5)),
        [failed(1006, ProtocolError::UnexpectedEof)]
    );
}

#[test]
fn invalid_close_frames() {
    for (payload, code) in [
        (&[0x03][..], 1002),             // 1 byte
        (&[0x03, 0xED][..], 1002),       // 1005 on the wire
        (&[0x03, 0xEE][..], 1002),       // 1006 on the wire
        (&[0x00, 0x00][..], 1002),       // 0
        (&[0x03, 0xE8, 0xff][..], 1007), // invalid UTF-8 reason
    ] {
        let mut server = open_server(Config::DEFAULT);
        let events = feed(&mut server, &masked(0x88, K, payload), T0);
        assert!(
            matches!(events[..], [Ev::Closed(CloseInfo { code: c, error: Some(ProtocolError::InvalidClose(_)), .. })] if c.0 == code),
            "{payload:?}"
        );
        let (bytes, _) = drain(&mut server);
        assert_eq!(server_close_code(&bytes), code);
    }
}

#[test]
fn empty_close_is_echoed_empty_and_reported_as_1005() {
    let mut server = open_server(Config::DEFAULT);
    let closed = CloseInfo {
        clean: true,
        code: CloseCode::NO_STATUS,
        error: None,
    };
    assert_eq!(
        feed(&mut server, &masked(0x88, K, b""), T0),
        [Ev::CloseReceived(1005, String::new()), Ev::Closed(closed)]
    );
    assert_eq!(drain(&mut server), (vec![0x88, 0x00], true));
}

#[test]
fn data_after_the_peers_close_is_dropped() {
    let mut client = open_client(Config::DEFAULT);
    let mut input = b"\x88\x02\x03\xe8".to_vec();
    input.extend(b"\x81\x02hi");
    assert_eq!(
        feed(&mut client, &input, T0),
        [Ev::CloseReceived(1000, String::new())]
    );
}

#[test]
fn close_without_auto_reply_is_answered_by_the_application() {
    let mut server = open_server(Config {
        auto_close_reply: false,
        ..Config::DEFAULT
    });
    feed(&mut server, &masked(0x88, K, &[0x03, 0xE8]), T0);
    assert_eq!(server.state(), ReadyState::Closing);
    assert_eq!(drain(&mut server), (vec![], false));
    let mut out = [0u8; 64];
    let n = server
        .close(CloseCode::NORMAL, "ok", at(1), &mut out)
        .unwrap();
    assert_eq!(&out[..n], b"\x88\x04\x03\xe8ok");
    assert_eq!(server.state(), ReadyState::Closed);
    assert_eq!(drain(&mut server), (vec![], true));
}

#[test]
fn too_small_buffers_report_the_size_and_change_nothing() {
    let mut server = open_server(Config::DEFAULT);
    feed(&mut server, &masked(0x89, K, b"abc"), T0);
    let mut out = [0u8; 8];
    // Pong (5) + frame of 10 bytes (12).
    assert_eq!(
        server.send(DataKind::Binary, &[1; 10], true, &mut out),
        Err(Error::BufferTooSmall { needed: 17 })
    );
    let mut small = [0u8; 4];
    assert_eq!(
        server.poll_transmit(&mut small),
        Err(Error::BufferTooSmall { needed: 5 })
    );
    assert_eq!(drain(&mut server), (b"\x8a\x03abc".to_vec(), false));
}

#[test]
fn sending_rules() {
    let mut server = open_server(Config::DEFAULT);
    let mut out = [0u8; 64];
    server.send(DataKind::Text, b"a", false, &mut out).unwrap();
    assert_eq!(
        server.send(DataKind::Binary, b"b", true, &mut out),
        Err(Error::MessageKindMismatch)
    );
    // Invalid UTF-8 is refused; a character split across fragments is fine.
    assert_eq!(
        server.send(DataKind::Text, &[0xff], true, &mut out),
        Err(Error::InvalidUtf8)
    );
    server
        .send(DataKind::Text, &[0xe2, 0x82], false, &mut out)
        .unwrap();
    assert_eq!(server.send(DataKind::Text, &[0xac], true, &mut out), Ok(3));
    assert_eq!(
        server.ping(&[0; 126], &mut out),
        Err(Error::ControlPayloadTooLong(126))
    );
    assert!(matches!(
        server.close(CloseCode::NO_STATUS, "", T0, &mut out),
        Err(Error::InvalidClose(_))
    ));
}

#[test]
fn keepalive_pings_and_fails_without_a_pong() {
    let config = Config {
        keepalive_interval: Some(Duration::from_secs(1)),
        keepalive_timeout: Duration::from_secs(5),
        ..Config::DEFAULT
    };
    let mut client = open_client(config);
    assert_eq!(client.poll_timeout(), Some(at(1_000)));
    client.handle_timeout(at(1_000));
    let (bytes, _) = drain(&mut client);
    assert_eq!(&bytes[..2], [0x89, 0x84], "a masked 4-byte ping");
    // A pong clears the deadline.
    feed(&mut client, b"\x8a\x00", at(1_500));
    client.handle_timeout(at(2_000));
    drain(&mut client);
    assert_eq!(client.poll_timeout(), Some(at(3_000)));
    // No pong for 5 s: 1011.
    for t in [3_000, 4_000, 5_000, 6_000] {
        client.handle_timeout(at(t));
        assert_eq!(client.state(), ReadyState::Open);
    }
    client.handle_timeout(at(7_000));
    assert_eq!(client.state(), ReadyState::Closed);
    assert_eq!(
        feed(&mut client, &[], at(7_000)),
        [failed(1011, ProtocolError::KeepaliveTimeout)]
    );
}

#[test]
fn states_never_move_backwards_and_closed_ignores_everything() {
    let mut server = open_server(Config::DEFAULT);
    let mut out = [0u8; 64];
    server.close(CloseCode::NORMAL, "", T0, &mut out).unwrap();
    assert_eq!(
        server.close(CloseCode::NORMAL, "", T0, &mut out),
        Err(Error::CloseAlreadySent)
    );
    server.receive_eof(T0);
    assert_eq!(server.state(), ReadyState::Closed);
    assert_eq!(
        server.send(DataKind::Text, b"x", true, &mut out),
        Err(Error::InvalidState(ReadyState::Closed))
    );
    assert_eq!(
        server.ping(b"", &mut out),
        Err(Error::InvalidState(ReadyState::Closed))
    );
    server.handle_timeout(at(100_000));
    assert_eq!(server.state(), ReadyState::Closed);
}

#[test]
fn zero_copy_frame_from_a_client() {
    let mut client = open_client(Config::DEFAULT);
    let mut server = open_server(Config::DEFAULT);
    let mut out = vec![0u8; 1 << 17];
    let start = client
        .begin_frame(DataKind::Binary, 70_000, true, &mut out)
        .unwrap();
    let key = start.mask.expect("a client masks");
    let payload = &mut out[start.written..start.written + 70_000];
    payload
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = i as u8);
    wsproto::mask::apply_mask(payload, key, 0);
    let total = start.written + 70_000;
    let events = feed(&mut server, &out[..total], T0);
    let received: Vec<u8> = events
        .iter()
        .flat_map(|e| match e {
            Ev::Data { chunk, .. } => chunk.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(received.len(), 70_000);
    assert!(received.iter().enumerate().all(|(i, &b)| b == i as u8));
}

#[test]
fn eof_after_an_unanswered_close_keeps_the_peers_code() {
    let mut server = open_server(Config {
        auto_close_reply: false,
        ..Config::DEFAULT
    });
    feed(&mut server, &masked(0x88, K, &[0x0F, 0xA0]), T0);
    server.receive_eof(at(1));
    let info = CloseInfo {
        clean: false,
        code: CloseCode(4000),
        error: Some(ProtocolError::UnexpectedEof),
    };
    assert_eq!(feed(&mut server, &[], at(1)), [Ev::Closed(info)]);
}

#[test]
fn ready_states_carry_the_browsers_numbers() {
    let states = [
        ReadyState::Connecting,
        ReadyState::Open,
        ReadyState::Closing,
        ReadyState::Closed,
    ];
    assert_eq!(states.map(|state| state as u8), [0, 1, 2, 3]);
}
