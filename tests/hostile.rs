//! Hostile input: each case asserts the exact outcome and that the core allocated nothing while
//! handling it (a counting global allocator), so memory stays what the caller gave it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use wsproto::Role;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{CloseInfo, Connection, Event, ProtocolError, ReadyState, Transmit};
use wsproto::entropy::{Entropy, NoEntropy};
use wsproto::frame::FrameError;
use wsproto::time::Instant;

/// Counts allocations made by the current thread (tests run on several threads at once).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a thread-local Cell, touched without
// allocating.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations it made.
fn counting<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    (result, ALLOCATIONS.with(Cell::get) - before)
}

const T0: Instant = Instant::from_millis(0);

fn server(config: Config) -> Connection {
    Connection::open(config, Role::Server, NoEntropy, T0).unwrap()
}

/// Feeds `input` (in pieces of `step`, keeping unconsumed bytes like a real caller) and counts
/// events by kind; returns the final Closed info, if any. Allocation-free: fixed buffers only.
#[derive(Default, Debug)]
struct Tally {
    data: u64,
    data_bytes: u64,
    pings: u64,
    closes: u64,
    closed: Option<CloseInfo>,
}

fn feed<E: Entropy>(conn: &mut Connection<E>, input: &[u8], step: usize, tally: &mut Tally) {
    let mut buf = [0u8; 8192];
    let mut held = 0;
    for piece in input.chunks(step) {
        buf[held..held + piece.len()].copy_from_slice(piece);
        let filled = held + piece.len();
        let mut pos = 0;
        loop {
            let r = conn.receive(&mut buf[pos..filled], T0);
            pos += r.consumed;
            match r.event {
                None => break,
                Some(Event::Data { chunk, .. }) => {
                    tally.data += 1;
                    tally.data_bytes += chunk.len() as u64;
                }
                Some(Event::Ping(_)) => tally.pings += 1,
                Some(Event::CloseReceived { .. }) => tally.closes += 1,
                Some(Event::Closed(info)) => {
                    assert!(tally.closed.is_none(), "Closed twice");
                    tally.closed = Some(info);
                }
                Some(_) => {}
            }
        }
        buf.copy_within(pos..filled, 0);
        held = filled - pos;
        assert!(held <= 139, "held {held} bytes");
    }
}

/// A masked client frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0xA1, 0xB2, 0xC3, 0xD4];
    let mut v = vec![first];
    match payload.len() {
        n if n < 126 => v.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            v.push(0x80 | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(0x80 | 127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    v.extend_from_slice(&key);
    v.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    v
}

fn transmit(conn: &mut Connection) -> Vec<u8> {
    let mut all = Vec::new();
    let mut out = [0u8; 512];
    while let Transmit::Bytes(n) = conn.poll_transmit(&mut out).unwrap() {
        all.extend_from_slice(&out[..n]);
    }
    all
}

fn failed(code: u16, error: ProtocolError) -> Option<CloseInfo> {
    Some(CloseInfo {
        clean: false,
        code: CloseCode(code),
        error: Some(error),
    })
}

#[test]
fn header_announcing_2_pow_63_minus_1_bytes() {
    let mut conn = server(Config::DEFAULT);
    let input = [
        0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 0,
    ];
    let mut tally = Tally::default();
    let ((), allocations) = counting(|| feed(&mut conn, &input, 3, &mut tally));
    let too_large = FrameError::FrameTooLarge {
        len: u64::MAX >> 1,
        max: 1 << 20,
    };
    assert_eq!(tally.closed, failed(1009, ProtocolError::Frame(too_large)));
    assert_eq!(allocations, 0);
}

#[test]
fn frames_just_under_at_and_over_the_frame_limit() {
    let config = Config {
        max_frame_payload: 1000,
        max_message_size: 5000,
        ..Config::DEFAULT
    };
    for (len, ok) in [(999, true), (1000, true), (1001, false)] {
        let mut conn = server(config);
        let input = frame(0x82, &vec![7; len]);
        let mut tally = Tally::default();
        let ((), allocations) = counting(|| feed(&mut conn, &input, 700, &mut tally));
        assert_eq!(allocations, 0);
        if ok {
            assert_eq!((tally.data_bytes, tally.closed), (len as u64, None));
        } else {
            let err = ProtocolError::Frame(FrameError::FrameTooLarge {
                len: 1001,
                max: 1000,
            });
            assert_eq!((tally.data_bytes, tally.closed), (0, failed(1009, err)));
        }
    }
}

#[test]
fn a_million_empty_continuation_fragments() {
    let mut conn = server(Config::DEFAULT);
    let mut tally = Tally::default();
    let (start, end) = (frame(0x01, b""), frame(0x80, b"end"));
    let empty = frame(0x00, b"");
    let block: Vec<u8> = (0..1000).flat_map(|_| empty.iter().copied()).collect();
    let ((), allocations) = counting(|| {
        feed(&mut conn, &start, 64, &mut tally);
        for _ in 0..1000 {
            feed(&mut conn, &block, 4096, &mut tally);
        }
        feed(&mut conn, &end, 64, &mut tally);
    });
    assert_eq!(allocations, 0);
    assert_eq!(
        (tally.data, tally.data_bytes, tally.closed),
        (1_000_002, 3, None)
    );
    assert_eq!(conn.state(), ReadyState::Open);
}

#[test]
fn ping_flood_leaves_one_pong_pending() {
    let mut conn = server(Config::DEFAULT);
    let mut input = Vec::new();
    for i in 0..100_000u32 {
        input.extend_from_slice(&frame(0x89, &i.to_be_bytes()));
    }
    let mut tally = Tally::default();
    let ((), allocations) = counting(|| feed(&mut conn, &input, 4096, &mut tally));
    assert_eq!((tally.pings, allocations), (100_000, 0));
    // One pong, for the latest ping (§5.5.3).
    assert_eq!(transmit(&mut conn), [0x8A, 0x04, 0x00, 0x01, 0x86, 0x9F]);
}

#[test]
fn close_frames_and_data_after_close_are_ignored() {
    let mut conn = server(Config::DEFAULT);
    let mut input = frame(0x88, &[0x03, 0xE8]);
    for _ in 0..1000 {
        input.extend_from_slice(&frame(0x88, &[0x03, 0xE9]));
        input.extend_from_slice(&frame(0x81, b"late"));
    }
    let mut tally = Tally::default();
    let ((), allocations) = counting(|| feed(&mut conn, &input, 777, &mut tally));
    assert_eq!(allocations, 0);
    assert_eq!((tally.closes, tally.data), (1, 0));
    assert_eq!(
        tally.closed,
        Some(CloseInfo {
            clean: true,
            code: CloseCode::NORMAL,
            error: None
        })
    );
    assert_eq!(transmit(&mut conn), [0x88, 0x02, 0x03, 0xE8], "one echo");
}

/// "κόσμε" and more: 2-, 3- and 4-byte characters.
const TEXT: &str = "κόσμε €uro 😀 ok";

#[test]
fn invalid_utf8_at_every_position_of_a_text_message_split_at_every_point() {
    let valid = TEXT.as_bytes();
    for bad_at in 0..valid.len() {
        let mut bytes = valid.to_vec();
        // 0xFF can never appear in UTF-8: the message is invalid from byte `bad_at` on.
        bytes[bad_at] = 0xFF;
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            let mut input = frame(0x01, a);
            input.extend_from_slice(&frame(0x80, b));
            let mut conn = server(Config::DEFAULT);
            let mut tally = Tally::default();
            let ((), allocations) = counting(|| feed(&mut conn, &input, 5, &mut tally));
            assert_eq!(allocations, 0);
            let info = tally
                .closed
                .unwrap_or_else(|| panic!("bad at {bad_at}, split {split}"));
            assert_eq!((info.code, info.clean), (CloseCode::INVALID_PAYLOAD, false));
            // Fail fast: no byte at or after the bad one was handed out.
            assert!(
                tally.data_bytes <= bad_at as u64,
                "bad at {bad_at}, split {split}"
            );
            assert_eq!(transmit(&mut conn)[..4], [0x88, 0x0F, 0x03, 0xEF]);
        }
    }
    // And the valid message, at every split, is accepted.
    for split in 0..=valid.len() {
        let (a, b) = valid.split_at(split);
        let mut input = frame(0x01, a);
        input.extend_from_slice(&frame(0x80, b));
        let mut tally = Tally::default();
        feed(&mut server(Config::DEFAULT), &input, 3, &mut tally);
        assert_eq!((tally.data_bytes, tally.closed), (valid.len() as u64, None));
    }
}

#[test]
fn invalid_utf8_at_every_position_of_a_close_reason() {
    let reason = TEXT.as_bytes();
    for bad_at in 0..reason.len() {
        let mut payload = vec![0x03, 0xE8];
        payload.extend_from_slice(reason);
        payload[2 + bad_at] = 0xC0;
        let mut conn = server(Config::DEFAULT);
        let mut tally = Tally::default();
        let input = frame(0x88, &payload);
        let ((), allocations) = counting(|| feed(&mut conn, &input, 4, &mut tally));
        assert_eq!(allocations, 0);
        let info = tally.closed.unwrap();
        assert_eq!(info.code, CloseCode::INVALID_PAYLOAD, "bad at {bad_at}");
        assert_eq!(tally.closes, 0);
    }
}

#[test]
fn a_trickled_handshake_never_allocates_and_times_out() {
    let mut conn = Connection::server(Config::DEFAULT, T0).unwrap();
    let mut buf = [0u8; 8192];
    let ((), allocations) = counting(|| {
        for i in 0..2000 {
            buf[i] = b"GET / HTTP/1.1\r\nX-Slow: "[i.min(23)];
            let r = conn.receive(&mut buf[..=i], Instant::from_millis(i as u64));
            assert!(r.event.is_none());
        }
        conn.handle_timeout(Instant::from_millis(10_000));
    });
    assert_eq!(allocations, 0);
    assert_eq!(conn.state(), ReadyState::Closed);
    let r = conn.receive(&mut [], T0);
    assert!(matches!(
        r.event,
        Some(Event::Closed(CloseInfo {
            error: Some(ProtocolError::HandshakeTimeout),
            ..
        }))
    ));
}
