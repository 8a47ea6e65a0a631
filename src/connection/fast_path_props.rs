//! The fast case of `receive` against the general path: for arbitrary input cut at arbitrary
//! points, a connection with the fast case and one without it give the same events, write the
//! same bytes and end with the same close code. The fast case is a shortcut, never a second
//! set of rules.

extern crate std;

use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use crate::config::Config;
use crate::entropy::Entropy;
use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, Rsv, encode_header};
use crate::role::Role;
use crate::time::Instant;

use super::events::{CloseInfo, DataKind, Event, ReadyState, Transmit};
use super::state::{Connection, Receiving};
#[cfg(feature = "deflate")]
use crate::deflate::{DeflateConfig, DeflateParams};

pub(crate) const NOW: Instant = Instant::from_millis(1);

/// A deterministic entropy source (xorshift), the same for both connections.
#[derive(Clone, Debug)]
pub(crate) struct TestRng(pub(crate) u64);

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

/// An owned copy of an event.
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

/// One frame as a peer might send it, valid or not.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    /// FIN, RSV bits and opcode, as on the wire.
    b0: u8,
    /// Masked as the receiver's role requires (§5.1), or the other way.
    masked_right: bool,
    /// Extra bytes for the length beyond the minimal encoding: 0, 2 or 8 (§5.2 forbids these).
    len_form: u8,
    key: [u8; 4],
    payload: Vec<u8>,
}

impl Frame {
    pub(crate) fn encode(&self, role: Role, wire: &mut Vec<u8>) {
        let masked = self.masked_right == (role == Role::Server);
        let header = FrameHeader {
            fin: self.b0 & 0x80 != 0,
            rsv: Rsv::NONE,
            opcode: OpCode::Binary,
            mask: masked.then_some(self.key),
            payload_len: self.payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&header, &mut head);
        head[0] = self.b0;
        let len = self.payload.len() as u64;
        let mask_bit = head[1] & 0x80;
        match self.len_form {
            2 if len <= 0xFFFF => {
                wire.extend_from_slice(&[head[0], mask_bit | 126]);
                wire.extend_from_slice(&(len as u16).to_be_bytes());
            }
            8 => {
                wire.extend_from_slice(&[head[0], mask_bit | 127]);
                wire.extend_from_slice(&len.to_be_bytes());
            }
            _ => wire.extend_from_slice(&head[..n - if masked { 4 } else { 0 }]),
        }
        if masked {
            wire.extend_from_slice(&self.key);
            let key = self.key;
            wire.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            wire.extend_from_slice(&self.payload);
        }
    }
}

pub(crate) fn frame() -> impl Strategy<Value = Frame> {
    let b0 = prop_oneof![
        6 => Just(0x82u8),
        6 => Just(0x81),
        2 => Just(0x01),
        2 => Just(0x02),
        2 => Just(0x00),
        3 => Just(0x80),
        2 => Just(0x89),
        1 => Just(0x8A),
        1 => Just(0x88),
        1 => Just(0xC2),
        2 => any::<u8>(),
    ];
    let payload = prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..300),
        3 => ".{0,80}".prop_map(String::into_bytes),
        1 => "[a-z]{0,20}".prop_map(|r| [&[0x03, 0xE8][..], r.as_bytes()].concat()),
    ];
    let len_form = prop_oneof![12 => Just(0u8), 1 => Just(2), 1 => Just(8)];
    (
        b0,
        prop::bool::weighted(0.95),
        len_form,
        any::<[u8; 4]>(),
        payload,
    )
        .prop_map(|(b0, masked_right, len_form, key, payload)| Frame {
            b0,
            masked_right,
            len_form,
            key,
            payload,
        })
}

/// What a run shows from outside: the events, the bytes written, the final state and how the
/// connection ended.
type Outcome = (Vec<Ev>, Vec<u8>, ReadyState, Option<CloseInfo>);

fn flush<X: Receiving>(conn: &mut Connection<TestRng, X>, written: &mut Vec<u8>) {
    let mut out = [0u8; 512];
    loop {
        match conn.poll_transmit(&mut out) {
            Ok(Transmit::Bytes(n)) => written.extend_from_slice(&out[..n]),
            Ok(Transmit::ShutdownWrite) => written.extend_from_slice(b"<shutdown>"),
            Ok(Transmit::Nothing) => return,
            Err(err) => panic!("a 512-byte buffer always suffices: {err}"),
        }
    }
}

/// Feeds `wire` to `conn` in the pieces that `cuts` makes, as a driving loop does: receive
/// until no event, flush, append the next piece. `receive_into` is `receive` with a scratch
/// buffer, which only a connection with deflate enabled uses.
fn run<X: Receiving>(
    mut conn: Connection<TestRng, X>,
    wire: &[u8],
    cuts: &[usize],
    fast_path: bool,
) -> Outcome {
    let now = NOW;
    conn.fast_path = fast_path;
    let mut scratch = [0u8; 64];
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    cuts.push(wire.len());
    cuts.sort_unstable();
    let (mut events, mut written, mut buf, mut at) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for cut in cuts {
        buf.extend_from_slice(&wire[at..cut]);
        at = cut;
        loop {
            let r = conn.receive_into(&mut buf, &mut scratch, now);
            let consumed = r.consumed;
            let event = r.event.map(own);
            buf.drain(..consumed);
            match event {
                Some(event) => events.push(event),
                None => break,
            }
        }
        flush(&mut conn, &mut written);
    }
    conn.receive_eof(now);
    if let Some(event) = conn.receive_into(&mut [], &mut [], now).event.map(own) {
        events.push(event);
    }
    flush(&mut conn, &mut written);
    (events, written, conn.state(), conn.close_info())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_fast_case_changes_nothing_but_the_work_done(
        server in any::<bool>(),
        frames in proptest::collection::vec(frame(), 1..8),
        garbage in proptest::collection::vec(any::<u8>(), 0..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        max_message_size in prop_oneof![Just(10u64), Just(125), Just(200), Just(1 << 20)],
        max_frame_payload in prop_oneof![Just(10u64), Just(150), Just(1 << 20)],
        auto_pong in any::<bool>(),
        deflate in any::<bool>(),
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let config = Config { max_message_size, max_frame_payload, auto_pong, ..Config::DEFAULT };
        let mut wire = Vec::new();
        for frame in &frames {
            frame.encode(role, &mut wire);
        }
        wire.extend_from_slice(&garbage);
        let open = || Connection::open(config, role, TestRng(0x9E37_79B9_7F4A_7C15), NOW).unwrap();
        // With deflate enabled, uncompressed messages take the fast case too (RSV1 frames,
        // among those generated, never do).
        #[cfg(feature = "deflate")]
        if deflate {
            let deflating = || {
                let mut conn = open().allow_deflate();
                let params = DeflateParams::new(&DeflateConfig::DEFAULT, false, false, 15, 15);
                conn.enable_deflate(params).unwrap();
                conn
            };
            let fast = run(deflating(), &wire, &cuts, true);
            prop_assert_eq!(fast, run(deflating(), &wire, &cuts, false));
            return Ok(());
        }
        let _ = deflate;
        let fast = run(open(), &wire, &cuts, true);
        prop_assert_eq!(fast, run(open(), &wire, &cuts, false));
    }
}
