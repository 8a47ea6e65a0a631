//! Allocation counts, measured with a counting global allocator.
//!
//! A client and a server `Connection` do a real opening handshake (`connect` / `accept`), then
//! exchange many messages both ways: single-frame binary and text, text fragmented into three
//! frames with a ping between the fragments (split characters included), and pings (answered
//! with pongs through `poll_transmit`). Bytes travel through fixed in-memory pipes, read in
//! pieces of a fixed size, so frames are cut at many places.
//!
//! - Through the no-alloc configuration (raw chunks, or `MessageAssembler<FixedBuffer<N>>`)
//!   not one allocation happens after the handshake.
//! - Through `MessageAssembler<Vec<u8>>` (feature `alloc`), the `Vec` grows while it learns the
//!   largest message and then keeps its capacity: a few allocations in all (at most
//!   `FEW_ALLOCATIONS`), whatever the number of messages.
//! - Through two [`Session`]s (the buffered layer every adapter uses), after a warm-up round:
//!   none with fixed storage lent as `&mut [u8]`, at most `FEW_ALLOCATIONS` in all with `Vec`
//!   storage (which grows to the largest message and keeps up to `keep_capacity`), with and
//!   without permessage-deflate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use wsproto::config::Config;
use wsproto::connection::{Connection, DataKind, Event, Transmit};
use wsproto::entropy::Entropy;
use wsproto::handshake::{AcceptOptions, ClientRequest};
use wsproto::message::{FixedBuffer, Message, MessageAssembler, MessageBuffer};
use wsproto::session::{Session, SessionConfig, SessionEvent, Storage};
use wsproto::time::Instant;

/// Counts the allocations (and reallocations) of the current thread, so that tests running in
/// parallel do not disturb each other.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the allocator may run while the thread-local is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// `Cell<u64>` in a const-initialised thread-local, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

struct Lcg(u64);

impl Entropy for Lcg {
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

/// A byte queue of fixed capacity: never allocates after `new`.
struct Pipe {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Pipe {
    fn new() -> Self {
        Pipe {
            buf: vec![0; 1 << 16],
            start: 0,
            end: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.end + bytes.len() > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }
}

/// What a receiving end does with data: counts raw chunks, or assembles whole messages.
trait Sink {
    fn data(&mut self, event: &Event<'_>);
    fn messages(&self) -> u64;
}

/// Raw chunks: no message layer at all.
#[derive(Default)]
struct Chunks {
    messages: u64,
    bytes: u64,
}

impl Sink for Chunks {
    fn data(&mut self, event: &Event<'_>) {
        if let Event::Data {
            chunk, message_fin, ..
        } = event
        {
            self.bytes += chunk.len() as u64;
            self.messages += u64::from(*message_fin);
        }
    }
    fn messages(&self) -> u64 {
        self.messages
    }
}

/// Whole messages through a `MessageAssembler`.
struct Assembled<B> {
    assembler: MessageAssembler<B>,
    messages: u64,
    bytes: u64,
}

impl<B: MessageBuffer> Sink for Assembled<B> {
    fn data(&mut self, event: &Event<'_>) {
        match self.assembler.push(event).expect("message fits") {
            Some(Message::Text(text)) => {
                self.messages += 1;
                self.bytes += text.len() as u64;
            }
            Some(Message::Binary(bytes)) => {
                self.messages += 1;
                self.bytes += bytes.len() as u64;
            }
            None => {}
        }
    }
    fn messages(&self) -> u64 {
        self.messages
    }
}

/// One end: its connection, its input buffer (a fixed array, as on firmware) and its sink.
struct End<E, S> {
    conn: Connection<E>,
    input: Box<[u8; 4096]>,
    filled: usize,
    sink: S,
    pings: u64,
}

const READ: usize = 700;

impl<E: Entropy, S: Sink> End<E, S> {
    /// Reads what `from` holds, `READ` bytes at a time, handling every event; queued control
    /// frames go into `to`.
    fn read(&mut self, from: &mut Pipe, to: &mut Pipe, now: Instant, out: &mut [u8]) {
        while from.start < from.end {
            let n = (from.end - from.start)
                .min(READ)
                .min(self.input.len() - self.filled);
            self.input[self.filled..self.filled + n]
                .copy_from_slice(&from.buf[from.start..from.start + n]);
            from.start += n;
            self.filled += n;
            let mut pos = 0;
            loop {
                let r = self.conn.receive(&mut self.input[pos..self.filled], now);
                pos += r.consumed;
                match r.event {
                    None => break,
                    Some(event @ Event::Data { .. }) => self.sink.data(&event),
                    Some(Event::Ping(_)) => self.pings += 1,
                    Some(Event::Pong(_)) => {}
                    Some(other) => panic!("unexpected {other:?}"),
                }
            }
            self.input.copy_within(pos..self.filled, 0);
            self.filled -= pos;
            while let Transmit::Bytes(n) = self.conn.poll_transmit(out).expect("poll") {
                to.push(&out[..n]);
            }
        }
    }
}

/// "héllo wörld — 日本語 🎉 " repeated to about `len` bytes.
fn text(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str("héllo wörld — 日本語 🎉 ");
    }
    s
}

/// Connects a client and a server with a real handshake, then runs `rounds` rounds of traffic
/// both ways; checks that every message and ping arrived and returns the allocations counted
/// after the handshake.
fn exchange<S: Sink, T: Sink>(server_sink: S, client_sink: T, rounds: usize) -> u64 {
    let now = Instant::from_millis(0);
    let mut client = End {
        conn: Connection::client(Config::default(), Lcg(7), now).expect("client"),
        input: Box::new([0; 4096]),
        filled: 0,
        sink: client_sink,
        pings: 0,
    };
    let mut server = End {
        conn: Connection::server(Config::default(), now).expect("server"),
        input: Box::new([0; 4096]),
        filled: 0,
        sink: server_sink,
        pings: 0,
    };
    let (mut up, mut down) = (Pipe::new(), Pipe::new());
    let mut out = vec![0u8; 8192];

    // The opening handshake.
    let n = client
        .conn
        .connect(&ClientRequest::new("example.com", "/chat"), now, &mut out)
        .expect("connect");
    up.push(&out[..n]);
    let n = server.input.len().min(up.end - up.start);
    server.input[..n].copy_from_slice(&up.buf[up.start..up.start + n]);
    up.start += n;
    let r = server.conn.receive(&mut server.input[..n], now);
    assert!(matches!(r.event, Some(Event::Request(_))));
    assert_eq!(r.consumed, n);
    let n = server
        .conn
        .accept(&AcceptOptions::new(), &mut out)
        .expect("accept");
    down.push(&out[..n]);
    let n = down.end - down.start;
    client.input[..n].copy_from_slice(&down.buf[down.start..down.start + n]);
    down.start += n;
    let r = client.conn.receive(&mut client.input[..n], now);
    assert!(matches!(r.event, Some(Event::Accepted(_))));

    let binary: Vec<u8> = (0..1024).map(|i| i as u8).collect();
    let text = text(600);
    // Fragments cut inside characters: the validator carries them.
    let (frag1, rest) = text.as_bytes().split_at(101);
    let (frag2, frag3) = rest.split_at(250);

    let before = allocations();
    for round in 0..rounds {
        // Client → server, then server → client, the same traffic.
        send_all(
            &mut client.conn,
            &mut up,
            &mut out,
            &binary,
            &text,
            [frag1, frag2, frag3],
            round,
        );
        server.read(&mut up, &mut down, now, &mut out);
        send_all(
            &mut server.conn,
            &mut down,
            &mut out,
            &binary,
            &text,
            [frag1, frag2, frag3],
            round,
        );
        client.read(&mut down, &mut up, now, &mut out);
        // Pongs the client queued for the server's pings.
        server.read(&mut up, &mut down, now, &mut out);
    }
    let counted = allocations() - before;
    assert_eq!(server.pings, 3 * rounds as u64);
    assert_eq!(client.pings, 3 * rounds as u64);
    let expected = MESSAGES_PER_ROUND * rounds as u64;
    assert_eq!(server.sink.messages(), expected);
    assert_eq!(client.sink.messages(), expected);
    counted
}

/// One round of traffic from one end: binary 16 B and 1 KiB, a text message, a text message in
/// three fragments with a ping between the first two, and a ping.
fn send_all<E: Entropy>(
    conn: &mut Connection<E>,
    pipe: &mut Pipe,
    out: &mut [u8],
    binary: &[u8],
    text: &str,
    fragments: [&[u8]; 3],
    round: usize,
) {
    let mut send = |kind, data: &[u8], fin| {
        let n = conn.send(kind, data, fin, out).expect("send");
        pipe.push(&out[..n]);
    };
    send(DataKind::Binary, &binary[..16], true);
    send(DataKind::Binary, binary, true);
    send(DataKind::Text, text.as_bytes(), true);
    send(DataKind::Text, fragments[0], false);
    let mut ping = |payload: &[u8]| {
        let n = conn.ping(payload, out).expect("ping");
        pipe.push(&out[..n]);
    };
    ping(&(round as u32).to_be_bytes());
    let mut send = |kind, data: &[u8], fin| {
        let n = conn.send(kind, data, fin, out).expect("send");
        pipe.push(&out[..n]);
    };
    send(DataKind::Text, fragments[1], false);
    send(DataKind::Text, fragments[2], true);
    let n = conn.ping(b"", out).expect("ping");
    pipe.push(&out[..n]);
    let n = conn.ping(b"keepalive", out).expect("ping");
    pipe.push(&out[..n]);
}

const ROUNDS: usize = 2000;
const MESSAGES_PER_ROUND: u64 = 4;

#[test]
fn the_counter_counts() {
    let before = allocations();
    drop(std::hint::black_box(vec![0u8; 100]));
    assert_eq!(allocations(), before + 1);
}

#[test]
fn raw_chunks_allocate_nothing_after_the_handshake() {
    let counted = exchange(Chunks::default(), Chunks::default(), ROUNDS);
    println!(
        "raw chunks: {counted} allocations for {} messages",
        2 * ROUNDS as u64 * MESSAGES_PER_ROUND
    );
    assert_eq!(counted, 0);
}

#[test]
fn fixed_buffer_messages_allocate_nothing_after_the_handshake() {
    let sink = || Assembled {
        assembler: MessageAssembler::new(FixedBuffer::<2048>::new()),
        messages: 0,
        bytes: 0,
    };
    let counted = exchange(sink(), sink(), ROUNDS);
    println!(
        "MessageAssembler<FixedBuffer<2048>>: {counted} allocations for {} messages",
        2 * ROUNDS as u64 * MESSAGES_PER_ROUND
    );
    assert_eq!(counted, 0);
}

#[cfg(feature = "alloc")]
#[test]
fn vec_messages_allocate_a_few_times_in_all() {
    let sink = || Assembled {
        assembler: MessageAssembler::new(Vec::new()),
        messages: 0,
        bytes: 0,
    };
    let messages = 2 * ROUNDS as u64 * MESSAGES_PER_ROUND;
    let counted = exchange(sink(), sink(), ROUNDS);
    println!("MessageAssembler<Vec<u8>>: {counted} allocations for {messages} messages");
    assert!(
        counted <= FEW_ALLOCATIONS,
        "{counted} allocations for {messages} messages"
    );
}

/// "A few": what growing buffers may take while they learn the largest message, whatever the
/// number of messages (thousands here), so that one allocation per message fails.
#[cfg(feature = "alloc")]
const FEW_ALLOCATIONS: u64 = 16;

/// A client and a server session joined by memory, moving bytes in pieces of `PIECE` so that
/// frames are cut everywhere.
struct SessionPair<S> {
    client: Session<S, Lcg>,
    server: Session<S>,
}

const PIECE: usize = 1000;

impl<S: Storage> SessionPair<S> {
    fn open(
        client_rx: S,
        client_tx: S,
        server_rx: S,
        server_tx: S,
        session: SessionConfig,
    ) -> Self {
        let now = Instant::default();
        let conn = Connection::client(Config::default(), Lcg(7), Instant::default()).unwrap();
        let mut client = Session::new(conn, session, client_rx, client_tx);
        let conn = Connection::server(Config::default(), now).unwrap();
        let mut server = Session::new(conn, session, server_rx, server_tx);
        client
            .connect(&ClientRequest::new("example.com", "/"), now)
            .unwrap();
        // The handshake in one piece each way.
        let request = client.output().to_vec();
        client.advance_output(request.len());
        assert_eq!(server.feed(&request), request.len());
        assert!(matches!(
            server.poll_event(now),
            Some(SessionEvent::Request(_))
        ));
        server.accept(&AcceptOptions::new()).unwrap();
        let response = server.output().to_vec();
        server.advance_output(response.len());
        assert_eq!(client.feed(&response), response.len());
        assert!(matches!(
            client.poll_event(now),
            Some(SessionEvent::Accepted { .. })
        ));
        SessionPair { client, server }
    }

    /// Moves output to the other side in pieces until both are drained; the server echoes
    /// every message and the client counts the echoes.
    fn shuttle(&mut self) -> u64 {
        let now = Instant::default();
        let mut echoes = 0;
        loop {
            let mut moved = false;
            for to_server in [true, false] {
                let (from, to_feed): (&[u8], _) = if to_server {
                    (self.client.output(), 0)
                } else {
                    (self.server.output(), 1)
                };
                let n = from.len().min(PIECE);
                if n == 0 {
                    continue;
                }
                let mut piece = [0u8; PIECE];
                piece[..n].copy_from_slice(&from[..n]);
                let fed = if to_feed == 0 {
                    self.server.feed(&piece[..n])
                } else {
                    self.client.feed(&piece[..n])
                };
                if to_server {
                    self.client.advance_output(fed);
                } else {
                    self.server.advance_output(fed);
                }
                moved |= fed > 0;
                while let Some((event, mut out)) = self.server.poll_event_with_sender(now) {
                    match event {
                        SessionEvent::Text(text) => out.send_text(text).unwrap(),
                        SessionEvent::Binary(bytes) => out.send_binary(bytes).unwrap(),
                        _ => {}
                    }
                }
                while let Some(event) = self.client.poll_event(now) {
                    if matches!(event, SessionEvent::Text(_) | SessionEvent::Binary(_)) {
                        echoes += 1;
                    }
                }
            }
            if !moved {
                return echoes;
            }
        }
    }

    /// One round: text, binary, a text message in three fragments, a ping. Returns the echoes.
    fn round(&mut self, text: &str, binary: &[u8]) -> u64 {
        self.client.send_text(text).unwrap();
        self.client.send_binary(binary).unwrap();
        let third = text.len() / 3;
        let (a, rest) = text.as_bytes().split_at(third);
        let (b, c) = rest.split_at(third);
        self.client.send(DataKind::Text, a, false).unwrap();
        self.client.send(DataKind::Text, b, false).unwrap();
        self.client.ping(b"between").unwrap();
        self.client.send(DataKind::Text, c, true).unwrap();
        self.client.ping(b"p").unwrap();
        self.shuttle()
    }
}

/// `ROUNDS` rounds after one of warm-up; returns the allocations during them.
fn session_rounds<S: Storage>(pair: &mut SessionPair<S>) -> u64 {
    let text = "ascii, é, €, 𝄞 — ".repeat(40);
    let binary: Vec<u8> = (0..1500u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(pair.round(&text, &binary), 3);
    let before = allocations();
    let mut echoes = 0;
    for _ in 0..ROUNDS {
        echoes += pair.round(&text, &binary);
    }
    let counted = allocations() - before;
    assert_eq!(echoes, 3 * ROUNDS as u64);
    counted
}

#[test]
fn sessions_over_fixed_storage_allocate_nothing_after_the_handshake() {
    let mut buffers = [[0u8; 4096]; 4];
    let [a, b, c, d] = &mut buffers;
    let mut pair = SessionPair::open(
        &mut a[..],
        &mut b[..],
        &mut c[..],
        &mut d[..],
        SessionConfig::DEFAULT,
    );
    let counted = session_rounds(&mut pair);
    println!(
        "sessions, fixed storage: {counted} allocations for {} messages",
        3 * ROUNDS
    );
    assert_eq!(counted, 0);
}

#[cfg(feature = "alloc")]
#[test]
fn sessions_over_vec_storage_allocate_a_few_times_in_all() {
    let mut pair = SessionPair::open(
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        SessionConfig::DEFAULT,
    );
    let counted = session_rounds(&mut pair);
    println!(
        "sessions, Vec storage: {counted} allocations for {} messages",
        3 * ROUNDS
    );
    assert!(counted <= FEW_ALLOCATIONS, "{counted} allocations");
}

#[cfg(feature = "deflate")]
#[test]
fn sessions_with_deflate_allocate_a_few_times_in_all() {
    let session = SessionConfig {
        deflate: Some(wsproto::deflate::DeflateConfig::DEFAULT),
        ..SessionConfig::DEFAULT
    };
    let mut pair = SessionPair::open(Vec::new(), Vec::new(), Vec::new(), Vec::new(), session);
    assert!(pair.client.deflate_params().is_some());
    let counted = session_rounds(&mut pair);
    println!(
        "sessions with deflate: {counted} allocations for {} messages",
        3 * ROUNDS
    );
    assert!(counted <= FEW_ALLOCATIONS, "{counted} allocations");
}
