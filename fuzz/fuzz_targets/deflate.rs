//! The inflating receive path over arbitrary compressed payloads and negotiated parameters.
//!
//! Frames with arbitrary payloads (RSV1 set or not, fragmented, interleaved with pings) are
//! fed to a connection with permessage-deflate enabled, in arbitrary pieces, through a scratch
//! buffer of arbitrary size. Invariants:
//! - no panic, and every call makes progress or asks for input (no loop);
//! - no message's inflated size exceeds `max_message_size`, and a message that would is failed
//!   with 1009;
//! - text that arrives is valid UTF-8 once its message completes;
//! - memory stays bounded: a `receive_into` call allocates at most the inflater (counted
//!   globally).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsproto::Role;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event};
use wsproto::deflate::{DeflateConfig, DeflateParams};
use wsproto::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, Rsv, encode_header};
use wsproto::time::Instant;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Arbitrary, Debug)]
struct Frame {
    /// 0: continuation, 1: text, 2: binary, 3: ping.
    opcode: u8,
    rsv1: bool,
    fin: bool,
    payload: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    client: bool,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    max_message_size: u16,
    scratch: u8,
    /// Lengths of the pieces the input is fed in (cycled); 0 is read as 1.
    splits: Vec<u8>,
    frames: Vec<Frame>,
}

const NOW: Instant = Instant::from_millis(0);

fuzz_target!(|input: Input| {
    let role = if input.client { Role::Client } else { Role::Server };
    let max = u64::from(input.max_message_size).max(1);
    let config = Config {
        max_frame_payload: max,
        max_message_size: max,
        ..Config::DEFAULT
    };
    let params = DeflateParams::new(
        &DeflateConfig::DEFAULT,
        input.server_no_context_takeover,
        input.client_no_context_takeover,
        15,
        15,
    );
    let mut wire = Vec::new();
    for frame in &input.frames {
        let opcode = match frame.opcode % 4 {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            _ => OpCode::Ping,
        };
        let mut payload = frame.payload.clone();
        if opcode == OpCode::Ping {
            payload.truncate(125);
        }
        let mask = (role == Role::Server).then_some([0u8; 4]);
        let header = FrameHeader {
            fin: frame.fin || opcode == OpCode::Ping,
            rsv: if frame.rsv1 { Rsv::RSV1 } else { Rsv::NONE },
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&header, &mut head);
        wire.extend_from_slice(&head[..n]);
        wire.extend_from_slice(&payload);
    }

    let mut ws = Connection::open(config, role, |b: &mut [u8]| b.fill(3), NOW)
        .unwrap()
        .allow_deflate();
    ws.enable_deflate(params).unwrap();
    let mut scratch = vec![0u8; usize::from(input.scratch).max(1)];
    let splits: Vec<usize> = if input.splits.is_empty() {
        vec![wire.len().max(1)]
    } else {
        input.splits.iter().map(|&s| usize::from(s).max(1)).collect()
    };

    let mut buf: Vec<u8> = Vec::with_capacity(wire.len());
    let mut fed = 0;
    let mut message: Option<(DataKind, u64, Vec<u8>)> = None;
    let mut closed = false;
    let mut split = splits.iter().cycle();
    let mut calls = 0u64;
    while fed < wire.len() && !closed {
        let take = (*split.next().unwrap()).min(wire.len() - fed);
        buf.extend_from_slice(&wire[fed..fed + take]);
        fed += take;
        let mut pos = 0;
        loop {
            calls += 1;
            // Every call consumes input, gives an event, or stops: never more calls than
            // input bytes plus inflated bytes plus events.
            assert!(calls < 4 * (wire.len() as u64 + 1) * (max + 2), "no progress");
            let base = CURRENT.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let r = ws.receive_into(&mut buf[pos..], &mut scratch, NOW);
            // Within the inflater's ~43 KiB: nothing proportional to the message.
            let grown = PEAK.load(Ordering::Relaxed) - base;
            assert!(grown < 64 << 10, "receive_into allocated {grown} bytes");
            pos += r.consumed;
            match r.event {
                None => break,
                Some(Event::Data {
                    kind,
                    chunk,
                    message_start,
                    message_fin,
                    ..
                }) => {
                    if message_start {
                        message = Some((kind, 0, Vec::new()));
                    }
                    let (k, size, text) = message.as_mut().expect("a message in progress");
                    assert_eq!(*k, kind);
                    *size += chunk.len() as u64;
                    assert!(*size <= max, "a message beyond max_message_size");
                    if kind == DataKind::Text {
                        text.extend_from_slice(chunk);
                    }
                    if message_fin {
                        if kind == DataKind::Text {
                            assert!(std::str::from_utf8(text).is_ok());
                        }
                        message = None;
                    }
                }
                Some(Event::Closed(info)) => {
                    if let Some((_, size, _)) = &message {
                        assert!(*size <= max);
                    }
                    assert_ne!(info.code, CloseCode::INTERNAL_ERROR);
                    closed = true;
                    break;
                }
                Some(_) => {}
            }
        }
        buf.drain(..pos);
    }
});
