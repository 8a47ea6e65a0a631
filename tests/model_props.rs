//! Model-based test: random sequences of API calls, incoming frames, timer jumps and EOF, run
//! against a `Connection` and against a small reference model of the ready-state machine. The
//! state, the events, the results of the calls and every byte the connection writes (its pongs,
//! closes, pings and data frames, masked as a client masks) agree at every step.

use core::time::Duration;

use proptest::prelude::*;
use wsproto::Role;
use wsproto::close::CloseCode;
use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Error, Event, ReadyState, Transmit};
use wsproto::time::Instant;

#[derive(Clone, Copy, Debug)]
enum Op {
    PeerData,
    PeerPing,
    PeerClose(u16),
    PeerInvalid,
    AppSend,
    AppPing,
    AppClose(u16),
    Eof,
    Wait(u64),
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::PeerData),
        2 => Just(Op::PeerPing),
        1 => prop_oneof![Just(1000u16), Just(1001), Just(4000)].prop_map(Op::PeerClose),
        1 => Just(Op::PeerInvalid),
        3 => Just(Op::AppSend),
        1 => Just(Op::AppPing),
        1 => prop_oneof![Just(1000u16), Just(3000)].prop_map(Op::AppClose),
        1 => Just(Op::Eof),
        1 => (0u64..15_000).prop_map(Op::Wait),
        2 => Just(Op::Flush),
    ]
}

/// What the model expects an input to produce.
#[derive(Debug, PartialEq)]
enum Seen {
    Data,
    Ping,
    CloseReceived(u16),
    Closed { clean: bool, code: u16 },
}

/// The reference: the rules of RFC 6455 §5.5.1 and §7 reduced to a few booleans.
#[derive(Debug)]
struct Model {
    role: Role,
    close_sent: bool,
    close_received: Option<u16>,
    closed: bool,
    /// When the close timer fires, if running.
    close_deadline: Option<u64>,
    /// A pong for the peer's ping waits for the next write (RFC 6455 §5.5.3: only the latest
    /// ping needs one).
    pong_queued: bool,
    /// Our close frame waits for the next write: the echo of the peer's (§5.5.1), or the one
    /// failing the connection (§7.1.7).
    close_queued: Option<(u16, &'static str)>,
    /// Every byte the connection should have written so far.
    wire: Vec<u8>,
}

impl Model {
    fn state(&self) -> ReadyState {
        if self.closed {
            ReadyState::Closed
        } else if self.close_sent || self.close_received.is_some() {
            ReadyState::Closing
        } else {
            ReadyState::Open
        }
    }

    fn reading(&self) -> bool {
        !self.closed && self.close_received.is_none()
    }

    fn close(&mut self, clean: bool, code: u16, seen: &mut Vec<Seen>) {
        self.closed = true;
        // A pong not yet written is dropped once the connection is CLOSED.
        self.pong_queued = false;
        self.close_deadline = None;
        seen.push(Seen::Closed { clean, code });
    }

    /// Both closes exchanged: a server is done, a client waits for TCP close.
    fn exchanged(&mut self, now: u64, seen: &mut Vec<Seen>) {
        let code = self.close_received.unwrap();
        match self.role {
            Role::Server => self.close(true, code, seen),
            Role::Client => self.close_deadline = Some(now + 10_000),
        }
    }
}

/// What a write of the connection puts on the wire: the queued pong and close first, then
/// `frame` (the caller's own), if any.
impl Model {
    fn write(&mut self, frame: Option<(u8, &[u8])>) {
        if std::mem::take(&mut self.pong_queued) {
            self.wire.extend(ours(self.role, 0x8A, b"p"));
        }
        if let Some((code, reason)) = self.close_queued.take() {
            let payload = [&code.to_be_bytes()[..], reason.as_bytes()].concat();
            self.wire.extend(ours(self.role, 0x88, &payload));
        }
        if let Some((first, payload)) = frame {
            self.wire.extend(ours(self.role, first, payload));
        }
    }
}

/// A frame as the connection writes it: a client masks with the key its entropy gives (all 9s
/// here, RFC 6455 §5.3), a server does not.
fn ours(role: Role, first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [9u8; 4];
    match role {
        Role::Client => {
            let mut v = vec![first, 0x80 | payload.len() as u8];
            v.extend_from_slice(&key);
            v.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            v
        }
        Role::Server => [&[first, payload.len() as u8][..], payload].concat(),
    }
}

fn masked(role: Role, first: u8, payload: &[u8]) -> Vec<u8> {
    // A peer of a server masks; a peer of a client does not.
    let mut v = vec![first];
    if role == Role::Server {
        v.push(0x80 | payload.len() as u8);
        v.extend_from_slice(&[1, 2, 3, 4]);
        v.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
        );
    } else {
        v.push(payload.len() as u8);
        v.extend_from_slice(payload);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn connection_agrees_with_the_model(server in any::<bool>(), ops in prop::collection::vec(op(), 1..40)) {
        let role = if server { Role::Server } else { Role::Client };
        let mut conn = Connection::open(Config::DEFAULT, role, |b: &mut [u8]| b.fill(9), Instant::from_millis(0)).unwrap();
        let mut model = Model {
            role, close_sent: false, close_received: None, closed: false, close_deadline: None,
            pong_queued: false, close_queued: None, wire: Vec::new(),
        };
        let mut wire = Vec::new();
        let mut now = 0u64;
        let mut out = [0u8; 512];
        for op in ops {
            let mut expected = Vec::new();
            let mut input = Vec::new();
            match op {
                Op::PeerData => {
                    input = masked(role, 0x82, b"data");
                    if model.reading() {
                        expected.push(Seen::Data);
                    }
                }
                Op::PeerPing => {
                    input = masked(role, 0x89, b"p");
                    if model.reading() {
                        expected.push(Seen::Ping);
                        // Nothing follows our close frame (RFC 6455 §5.5.1), not even a pong.
                        model.pong_queued = !model.close_sent;
                    }
                }
                Op::PeerClose(code) => {
                    input = masked(role, 0x88, &code.to_be_bytes());
                    if model.reading() {
                        expected.push(Seen::CloseReceived(code));
                        model.close_received = Some(code);
                        // §5.5.2: no pong once a close frame has been received.
                        model.pong_queued = false;
                        if !model.close_sent {
                            // §5.5.1: the auto reply echoes the code.
                            model.close_queued = Some((code, ""));
                            model.close_sent = true;
                        }
                        model.exchanged(now, &mut expected);
                    }
                }
                Op::PeerInvalid => {
                    input = masked(role, 0x83, b"");
                    if model.reading() {
                        if !model.close_sent {
                            // §7.1.7: fail with 1002 (a reserved opcode, §5.2).
                            model.close_queued = Some((1002, "protocol error"));
                            model.close_sent = true;
                        }
                        model.close(false, 1002, &mut expected);
                    }
                }
                Op::AppSend => {
                    let r = conn.send(DataKind::Binary, b"x", true, &mut out);
                    if let Ok(n) = r {
                        wire.extend_from_slice(&out[..n]);
                        model.write(Some((0x82, b"x")));
                    }
                    match model.state() {
                        ReadyState::Open => prop_assert!(r.is_ok()),
                        ReadyState::Closing => prop_assert_eq!(r, Err(Error::CloseAlreadySent)),
                        state => prop_assert_eq!(r, Err(Error::InvalidState(state))),
                    }
                }
                Op::AppPing => {
                    let r = conn.ping(b"", &mut out);
                    if let Ok(n) = r {
                        wire.extend_from_slice(&out[..n]);
                        model.write(Some((0x89, b"")));
                    }
                    prop_assert_eq!(r.is_ok(), model.state() == ReadyState::Open);
                }
                Op::AppClose(code) => {
                    let r = conn.close(CloseCode(code), "", Instant::from_millis(now), &mut out);
                    prop_assert_eq!(r.is_ok(), model.state() == ReadyState::Open, "{:?}", r);
                    if let Ok(n) = r {
                        wire.extend_from_slice(&out[..n]);
                        model.write(Some((0x88, &code.to_be_bytes())));
                        model.close_sent = true;
                        model.close_deadline = Some(now + 10_000);
                    }
                }
                Op::Eof => {
                    conn.receive_eof(Instant::from_millis(now));
                    if !model.closed {
                        match model.close_received {
                            Some(code) if model.close_sent => model.close(true, code, &mut expected),
                            _ => model.close(false, 1006, &mut expected),
                        }
                    }
                }
                Op::Wait(ms) => {
                    now += ms;
                    conn.handle_timeout(Instant::from_millis(now));
                    if model.close_deadline.is_some_and(|d| d <= now) {
                        match model.close_received {
                            Some(code) => model.close(true, code, &mut expected),
                            None => model.close(false, 1006, &mut expected),
                        }
                    }
                }
                Op::Flush => {
                    loop {
                        match conn.poll_transmit(&mut out).unwrap() {
                            Transmit::Nothing => break,
                            Transmit::Bytes(n) => wire.extend_from_slice(&out[..n]),
                            Transmit::ShutdownWrite => {}
                        }
                    }
                    model.write(None);
                }
            }
            // Collect what the connection reports for this step.
            let mut seen = Vec::new();
            let mut pos = 0;
            loop {
                let r = conn.receive(&mut input[pos..], Instant::from_millis(now));
                pos += r.consumed;
                match r.event {
                    None => break,
                    Some(Event::Data { .. }) => seen.push(Seen::Data),
                    Some(Event::Ping(_)) => seen.push(Seen::Ping),
                    Some(Event::CloseReceived { code, .. }) => seen.push(Seen::CloseReceived(code.0)),
                    Some(Event::Closed(info)) => seen.push(Seen::Closed { clean: info.clean, code: info.code.0 }),
                    Some(other) => prop_assert!(false, "unexpected event {:?}", other),
                }
            }
            prop_assert_eq!(pos, input.len());
            prop_assert_eq!(&seen, &expected, "after {:?}", op);
            prop_assert_eq!(conn.state(), model.state(), "after {:?}", op);
            prop_assert_eq!(&wire, &model.wire, "bytes written, after {:?}", op);
            if let Some(deadline) = model.close_deadline {
                prop_assert_eq!(conn.poll_timeout(), Some(Instant::from_millis(deadline)));
            }
        }
        // Whatever happened, time and EOF always end it.
        conn.receive_eof(Instant::from_millis(now));
        conn.handle_timeout(Instant::from_millis(now) + Duration::from_secs(60));
        prop_assert_eq!(conn.state(), ReadyState::Closed);
    }
}
