//! One `Connection` driven by arbitrary input bytes, split points, API calls and time steps: the
//! body of the `connection_server` and `connection_client` fuzz targets.
//!
//! Invariants:
//! - the ready state never moves backwards, and `Closed` is reported at most once;
//! - `receive` consumes at most its input, and what it leaves is only an incomplete head,
//!   header or control frame (bounded by `max_head_len` or 139 bytes);
//! - everything written is a well-formed frame sequence for the peer's decoder: right masking,
//!   no reserved bits, control frames whole and short, nothing after a close frame;
//! - no message reported grows past `max_message_size`.
use arbitrary::Arbitrary;
use wsproto::Role;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, ReadyState, Transmit};
use wsproto::decoder::{DecoderConfig, FrameDecoder};
use wsproto::entropy::Entropy;
use wsproto::frame::{OpCode, Rsv};
use wsproto::handshake::{AcceptOptions, ClientRequest};
use wsproto::time::Instant;

/// One step of a run.
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// Peer bytes, delivered in pieces of `split` bytes (0 is read as 1).
    Feed { bytes: Vec<u8>, split: u8 },
    /// Send a data frame of `len % 2000` bytes.
    Send { text: bool, len: u16, fin: bool },
    /// Send a ping of `n % 126` bytes.
    Ping(u8),
    /// Start the closing handshake.
    Close(u16),
    /// Drain `poll_transmit`.
    Flush,
    /// The transport's read side ended.
    Eof,
    /// Advance the clock and fire timers.
    Wait(u16),
    /// Server: accept the pending request.
    Accept,
}

/// A run: how the connection starts, its limits and the steps.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// Start OPEN (as after an external handshake) instead of CONNECTING.
    pub open: bool,
    /// The frame and message limit (0 is read as 1).
    pub max_message: u16,
    /// Turn on keepalive pings (300 ms) and their timeout (500 ms).
    pub keepalive: bool,
    /// The steps.
    pub ops: Vec<Op>,
}

struct Checker {
    /// Output bytes, decoded as the peer would.
    peer: FrameDecoder,
    close_seen: bool,
    checking: bool,
}

impl Checker {
    fn check(&mut self, bytes: &mut [u8]) {
        if !self.checking {
            return;
        }
        let mut pos = 0;
        while pos < bytes.len() {
            let decoded = self
                .peer
                .decode(&mut bytes[pos..])
                .expect("our output is well-formed");
            pos += decoded.consumed;
            let Some(chunk) = decoded.chunk else { break };
            assert!(!self.close_seen, "nothing may follow a close frame");
            if chunk.header.opcode == OpCode::Close && chunk.is_frame_end() {
                self.close_seen = true;
            }
        }
    }
}

/// Runs `input` against a connection of `role`, checking the invariants above.
pub fn run_role(role: Role, input: Input) {
    let config = Config {
        max_message_size: u64::from(input.max_message.max(1)),
        max_frame_payload: u64::from(input.max_message.max(1)),
        max_head_len: 512,
        keepalive_interval: input
            .keepalive
            .then_some(core::time::Duration::from_millis(300)),
        keepalive_timeout: core::time::Duration::from_millis(500),
        ..Config::DEFAULT
    };
    let t0 = Instant::from_millis(0);
    let mut seed = 0x1234_5678u32;
    let entropy = move |buf: &mut [u8]| {
        for b in buf {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            *b = seed as u8;
        }
    };
    if input.open {
        run(
            Connection::open(config, role, entropy, t0).unwrap(),
            config,
            input.ops,
        );
    } else if role == Role::Server {
        run(Connection::server(config, t0).unwrap(), config, input.ops);
    } else {
        let mut conn = Connection::client(config, entropy, t0).unwrap();
        let mut out = [0u8; 512];
        conn.connect(&ClientRequest::new("localhost", "/"), t0, &mut out)
            .unwrap();
        run(conn, config, input.ops);
    }
}

fn run<E: Entropy>(mut conn: Connection<E>, config: Config, ops: Vec<Op>) {
    let role = conn.role();
    let mut out = vec![0u8; 70_000];
    let mut checker = Checker {
        peer: FrameDecoder::new(DecoderConfig {
            role: if role == Role::Server {
                Role::Client
            } else {
                Role::Server
            },
            max_frame_payload: u64::MAX,
            allowed_rsv: Rsv::NONE,
        }),
        close_seen: false,
        // Frames start once OPEN; before that the output is an HTTP head.
        checking: conn.state() == ReadyState::Open,
    };
    let mut now = 0u64;
    let mut last_state = conn.state();
    let mut closed_events = 0;
    let mut message_len = 0u64;
    let mut pending = Vec::new();
    for op in ops {
        let at = Instant::from_millis(now);
        match op {
            Op::Feed { bytes, split } => {
                for piece in bytes.chunks(usize::from(split.max(1))) {
                    pending.extend_from_slice(piece);
                    let mut pos = 0;
                    loop {
                        let left = pending.len() - pos;
                        let r = conn.receive(&mut pending[pos..], at);
                        assert!(r.consumed <= left);
                        pos += r.consumed;
                        match r.event {
                            None => break,
                            Some(Event::Closed(_)) => closed_events += 1,
                            Some(Event::Accepted(_)) => checker.checking = true,
                            Some(Event::Data {
                                chunk,
                                message_start,
                                ..
                            }) => {
                                if message_start {
                                    message_len = 0;
                                }
                                message_len += chunk.len() as u64;
                                assert!(message_len <= config.max_message_size);
                            }
                            Some(Event::Ping(p) | Event::Pong(p)) => assert!(p.len() <= 125),
                            Some(_) => {}
                        }
                    }
                    pending.drain(..pos);
                    assert!(
                        pending.len() <= config.max_head_len.max(139),
                        "left {}",
                        pending.len()
                    );
                }
            }
            Op::Send { text, len, fin } => {
                let data = vec![b'a'; usize::from(len) % 2000];
                let kind = if text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                };
                if let Ok(n) = conn.send(kind, &data, fin, &mut out) {
                    checker.check(&mut out[..n]);
                }
            }
            Op::Ping(n) => {
                if let Ok(n) = conn.ping(&[7; 125][..usize::from(n) % 126], &mut out) {
                    checker.check(&mut out[..n]);
                }
            }
            Op::Close(code) => {
                if let Ok(n) = conn.close(CloseCode(code), "bye", at, &mut out) {
                    checker.check(&mut out[..n]);
                }
            }
            Op::Accept => {
                if conn.accept(&AcceptOptions::default(), &mut out).is_ok() {
                    checker.checking = true;
                }
            }
            Op::Flush => loop {
                match conn.poll_transmit(&mut out).unwrap() {
                    Transmit::Bytes(n) => checker.check(&mut out[..n]),
                    Transmit::ShutdownWrite | Transmit::Nothing => break,
                }
            },
            Op::Eof => conn.receive_eof(at),
            Op::Wait(ms) => {
                now += u64::from(ms);
                conn.handle_timeout(Instant::from_millis(now));
            }
        }
        let state = conn.state();
        assert!(state >= last_state, "{last_state:?} -> {state:?}");
        last_state = state;
        assert!(closed_events <= 1);
    }
}
