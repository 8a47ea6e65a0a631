//! A server `Session` under arbitrary bytes in arbitrary reads, with growable or fixed storage,
//! with or without permessage-deflate, whole messages or chunks, output drained or left to back
//! up. Checks what the session promises beyond "no panic":
//! - a whole text message is valid UTF-8 (the session's one `unsafe` block relies on it);
//! - a message (whole, or its chunks together) is never longer than `max_message_size`;
//! - while the output is not drained it stays under the high-water mark plus what one step may
//!   add (control frames and one echo), so a peer cannot grow it;
//! - nothing comes after `Closed`, every `poll_event` loop ends, and the end of input always
//!   ends in `Closed`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsproto::deflate::{DeflateConfig, DeflateParams};
use wsproto::entropy::NoEntropy;
use wsproto::session::{Session, SessionConfig, SessionEvent, Storage};
use wsproto::time::Instant;
use wsproto::{Config, Connection, Role};

#[derive(Arbitrary, Debug)]
struct Input {
    /// Fixed storage (lent slices) instead of `Vec`s.
    fixed: bool,
    /// permessage-deflate switched on, with or without context takeover.
    deflate: Option<bool>,
    /// `max_whole_message`: larger messages come as chunks.
    max_whole: Option<u16>,
    /// `max_message_size` (and so the frame limit), at least 1.
    max_message: u16,
    /// `output_high_water`.
    high_water: u16,
    /// Echo every message (through the sender beside the event).
    echo: bool,
    /// Drain the output after every read, or let it back up.
    drain: bool,
    /// Read sizes, used in turn.
    reads: Vec<u16>,
    bytes: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let max_message = u64::from(input.max_message.max(1));
    let config = Config {
        max_message_size: max_message,
        max_frame_payload: max_message,
        ..Config::DEFAULT
    };
    let session = SessionConfig {
        max_whole_message: input.max_whole.map_or(u64::MAX, u64::from),
        output_high_water: usize::from(input.high_water),
        read_size: 1024,
        ..SessionConfig::DEFAULT
    };
    let conn = Connection::open(config, Role::Server, NoEntropy, Instant::default()).unwrap();
    if input.fixed {
        let (mut rx, mut tx) = ([0u8; 4096], [0u8; 2048]);
        run(
            Session::new(conn, session, &mut rx[..], &mut tx[..]),
            &input,
            max_message,
        );
    } else {
        run(
            Session::new(conn, session, Vec::new(), Vec::new()),
            &input,
            max_message,
        );
    }
});

/// What the checks carry from one event to the next.
struct Seen {
    closed: bool,
    /// Bytes of the chunked message so far.
    chunked: u64,
}

fn run<S: Storage>(mut ws: Session<S>, input: &Input, max_message: u64) {
    if let Some(takeover) = input.deflate {
        let params = DeflateParams::new(&DeflateConfig::DEFAULT, !takeover, !takeover, 15, 15);
        ws.enable_deflate(params).unwrap();
    }
    // What one step may queue above the mark: control frames and one echoed message.
    let bound = usize::from(input.high_water) + 3 * 131 + 14 + max_message as usize;
    let mut seen = Seen {
        closed: false,
        chunked: 0,
    };
    let mut fed = 0;
    let mut read = 0;
    while fed < input.bytes.len() {
        take_events(&mut ws, input, max_message, &mut seen);
        if !input.drain {
            assert!(
                ws.buffered_amount() <= bound,
                "{} bytes queued",
                ws.buffered_amount()
            );
        }
        if input.drain || !ws.wants_read() {
            // The transport takes the output.
            let n = ws.output().len();
            ws.advance_output(n);
        }
        if !ws.wants_read() {
            break;
        }
        let want = input
            .reads
            .get(read % input.reads.len().max(1))
            .copied()
            .unwrap_or(512);
        read += 1;
        let buf = ws.read_buf();
        let n = buf
            .len()
            .min(usize::from(want).max(1))
            .min(input.bytes.len() - fed);
        if n == 0 {
            break;
        }
        buf[..n].copy_from_slice(&input.bytes[fed..fed + n]);
        ws.commit_read(n);
        fed += n;
    }
    // The end of input: what is buffered is processed, then the connection closes.
    ws.receive_eof();
    for _ in 0..input.bytes.len() + 3 {
        take_events(&mut ws, input, max_message, &mut seen);
        let n = ws.output().len();
        ws.advance_output(n);
        if seen.closed {
            return;
        }
    }
    panic!("no Closed after the end of input");
}

/// Every event until none, checking each; a loop that never ends is a finding.
fn take_events<S: Storage>(ws: &mut Session<S>, input: &Input, max_message: u64, seen: &mut Seen) {
    let now = Instant::default();
    let mut events = 0usize;
    while let Some((event, mut out)) = ws.poll_event_with_sender(now) {
        events += 1;
        assert!(
            events <= input.bytes.len() + 16,
            "poll_event makes no progress"
        );
        assert!(!seen.closed, "an event after Closed: {event:?}");
        match event {
            SessionEvent::Text(text) => {
                assert!(std::str::from_utf8(text.as_bytes()).is_ok());
                assert!(text.len() as u64 <= max_message);
                if input.echo {
                    let _ = out.send_text(text);
                }
            }
            SessionEvent::Binary(bytes) => {
                assert!(bytes.len() as u64 <= max_message);
                if input.echo {
                    let _ = out.send_binary(bytes);
                }
            }
            SessionEvent::Chunk { data, first, .. } => {
                seen.chunked = if first { 0 } else { seen.chunked } + data.len() as u64;
                assert!(
                    seen.chunked <= max_message,
                    "{} bytes of one message",
                    seen.chunked
                );
            }
            SessionEvent::Closed(_) => seen.closed = true,
            _ => {}
        }
    }
}
