//! Both embedded sockets (blocking and async) over an in-memory transport whose far end is a
//! wsproto `Connection` driven by the test, on a virtual clock.

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use embedded_io::ErrorKind;
use wsproto::connection::{Connection, DataKind, Event, Transmit};
use wsproto::entropy::Entropy;
use wsproto::time::Instant;
use wsproto_embedded::{
    AcceptOptions, ClientRequest, CloseCode, CloseInfo, Config, Error, HandshakeError, Message,
    ProtocolError, ReadyState, asynch, blocking,
};
use wsproto_test_support::ready::block_on;
use wsproto_test_support::setup::{entropy, keepalive};

#[derive(Debug)]
struct PipeError(ErrorKind);

impl core::fmt::Display for PipeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl core::error::Error for PipeError {}

impl embedded_io::Error for PipeError {
    fn kind(&self) -> ErrorKind {
        self.0
    }
}

/// The far end: a wsproto connection that echoes whole messages (unless `silent`), and the
/// bytes in flight each way. When there is nothing to read, a read fails with `TimedOut` after
/// a second of virtual time (the blocking transport's read timeout), or, for the async
/// transport with `pend_when_idle`, never completes.
struct Peer<E> {
    conn: Connection<E>,
    clock: Rc<Cell<u64>>,
    to_us: VecDeque<u8>,
    from_us: Vec<u8>,
    silent: bool,
    pend_when_idle: bool,
    shut: bool,
    message: Vec<u8>,
    received: Vec<(DataKind, Vec<u8>)>,
    close: Option<(CloseCode, String)>,
    closed: Option<CloseInfo>,
    /// Sent by the peer in fragments of this size (0: one frame).
    fragment: usize,
}

impl<E: Entropy> Peer<E> {
    fn new(conn: Connection<E>, clock: Rc<Cell<u64>>) -> Self {
        Peer {
            conn,
            clock,
            to_us: VecDeque::new(),
            from_us: Vec::new(),
            silent: false,
            pend_when_idle: false,
            shut: false,
            message: Vec::new(),
            received: Vec::new(),
            close: None,
            closed: None,
            fragment: 0,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.clock.get())
    }

    /// Sends `data` to us as a message (fragmented if asked to).
    fn send(&mut self, kind: DataKind, data: &[u8]) {
        let mut out = vec![0u8; data.len() + 1024];
        let pieces: Vec<&[u8]> = if self.fragment == 0 || data.is_empty() {
            vec![data]
        } else {
            data.chunks(self.fragment).collect()
        };
        for (i, piece) in pieces.iter().enumerate() {
            let fin = i + 1 == pieces.len();
            let n = self.conn.send(kind, piece, fin, &mut out).unwrap();
            self.to_us.extend(&out[..n]);
        }
    }

    /// Processes what we wrote and queues the answers.
    fn pump(&mut self) {
        if self.silent {
            return;
        }
        let now = self.now();
        let mut input = std::mem::take(&mut self.from_us);
        let mut pos = 0;
        let mut echoes = Vec::new();
        loop {
            let r = self.conn.receive(&mut input[pos..], now);
            pos += r.consumed;
            match r.event {
                None => break,
                Some(Event::Request(_)) => {
                    let mut out = [0u8; 512];
                    let n = self
                        .conn
                        .accept(&AcceptOptions::default(), &mut out)
                        .unwrap();
                    self.to_us.extend(&out[..n]);
                }
                Some(Event::Data {
                    kind,
                    chunk,
                    message_start,
                    message_fin,
                    ..
                }) => {
                    if message_start {
                        self.message.clear();
                    }
                    self.message.extend_from_slice(chunk);
                    if message_fin {
                        self.received.push((kind, self.message.clone()));
                        echoes.push((kind, self.message.clone()));
                    }
                }
                Some(Event::CloseReceived { code, reason }) => {
                    self.close = Some((code, reason.into()));
                }
                Some(Event::Closed(info)) => self.closed = Some(info),
                Some(_) => {}
            }
        }
        input.drain(..pos);
        self.from_us = input;
        for (kind, data) in echoes {
            if self.conn.state() == ReadyState::Open {
                self.send(kind, &data);
            }
        }
        let mut out = [0u8; 1024];
        loop {
            match self.conn.poll_transmit(&mut out).unwrap() {
                Transmit::Bytes(n) => self.to_us.extend(&out[..n]),
                Transmit::ShutdownWrite => self.shut = true,
                Transmit::Nothing => break,
            }
        }
    }

    fn read_now(&mut self, buf: &mut [u8]) -> Option<Result<usize, PipeError>> {
        if self.to_us.is_empty() {
            self.pump();
        }
        if self.to_us.is_empty() {
            if self.shut {
                return Some(Ok(0));
            }
            if self.pend_when_idle {
                return None;
            }
            self.clock.set(self.clock.get() + 1000);
            return Some(Err(PipeError(ErrorKind::TimedOut)));
        }
        let n = buf.len().min(self.to_us.len());
        for (dst, src) in buf.iter_mut().zip(self.to_us.drain(..n)) {
            *dst = src;
        }
        Some(Ok(n))
    }
}

impl<E> embedded_io::ErrorType for Peer<E> {
    type Error = PipeError;
}

impl<E: Entropy> embedded_io::Read for Peer<E> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, PipeError> {
        self.read_now(buf).expect("a blocking read never pends")
    }
}

impl<E: Entropy> embedded_io::Write for Peer<E> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, PipeError> {
        self.from_us.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), PipeError> {
        Ok(())
    }
}

impl<E: Entropy> embedded_io_async::Read for Peer<E> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, PipeError> {
        match self.read_now(buf) {
            Some(result) => result,
            None => std::future::pending().await,
        }
    }
}

impl<E: Entropy> embedded_io_async::Write for Peer<E> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, PipeError> {
        self.from_us.extend_from_slice(buf);
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), PipeError> {
        Ok(())
    }
}

fn server_peer(clock: &Rc<Cell<u64>>) -> Peer<wsproto::entropy::NoEntropy> {
    let conn = Connection::server(Config::default(), Instant::from_millis(clock.get())).unwrap();
    Peer::new(conn, clock.clone())
}

fn client_peer(clock: &Rc<Cell<u64>>) -> Peer<impl FnMut(&mut [u8])> {
    let now = Instant::from_millis(clock.get());
    let mut conn = Connection::client(Config::default(), entropy(), now).unwrap();
    let mut out = [0u8; 512];
    let n = conn
        .connect(&ClientRequest::new("device", "/ws"), now, &mut out)
        .unwrap();
    let mut peer = Peer::new(conn, clock.clone());
    peer.to_us.extend(&out[..n]);
    peer
}

fn clock_fn(clock: &Rc<Cell<u64>>) -> impl FnMut() -> Instant {
    let clock = clock.clone();
    move || Instant::from_millis(clock.get())
}

/// Connects the client socket of an IO mode (`blocking` or `asynch`) through a server peer on
/// `clock`, with `config`, on the lent buffers: the call, to be awaited in the async mode.
macro_rules! client {
    ($mode:ident, $clock:expr, $config:expr, $rx:expr, $tx:expr) => {
        $mode::WebSocket::connect(
            server_peer($clock),
            &ClientRequest::new("device", "/ws"),
            $config,
            clock_fn($clock),
            entropy(),
            $rx,
            $tx,
        )
    };
}

/// The close code `peer` saw, once it took what we sent.
fn close_code_seen_by<E: Entropy>(mut peer: Peer<E>) -> CloseCode {
    peer.pump();
    peer.closed.unwrap().code
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 % 251) as u8).collect()
}

const SIZES: [usize; 7] = [0, 1, 105, 125, 126, 1500, 3000];

#[test]
fn blocking_client_messages_both_ways_and_close() {
    let clock = Rc::new(Cell::new(0));
    let (mut rx, mut tx) = ([0u8; 4096], [0u8; 512]);
    let mut ws = client!(blocking, &clock, Config::default(), &mut rx, &mut tx).unwrap();
    assert_eq!(ws.state(), ReadyState::Open);
    for len in SIZES {
        let bytes = payload(len);
        ws.send_binary(&bytes).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Binary(&bytes));
        let text = "z".repeat(len);
        ws.send(Message::Text(&text)).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text(&text));
    }
    // Fragmented messages are reassembled in place in `rx`.
    ws.get_mut().fragment = 100;
    for len in [150, 1000, 3800] {
        let bytes = payload(len);
        ws.send_binary(&bytes).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Binary(&bytes), "{len}");
    }
    ws.ping(b"hello?").unwrap();
    let info = ws.close(CloseCode(4001), "bye").unwrap();
    assert!(info.clean);
    assert_eq!(info.code, CloseCode(4001));
    let peer = ws.into_inner();
    assert_eq!(peer.close, Some((CloseCode(4001), "bye".into())));
    assert!(peer.closed.unwrap().clean);
    assert_eq!(peer.received.len(), 2 * SIZES.len() + 3);
}

#[test]
fn blocking_server_and_peer_initiated_close() {
    let clock = Rc::new(Cell::new(0));
    let (mut rx, mut tx) = ([0u8; 2048], [0u8; 512]);
    let peer = client_peer(&clock);
    let mut ws = blocking::WebSocket::accept(
        peer,
        Config::default(),
        clock_fn(&clock),
        &mut rx,
        &mut tx,
        |req| {
            assert_eq!(req.path(), "/ws");
            Ok(AcceptOptions::default())
        },
    )
    .unwrap();
    ws.send_text("from the server").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("from the server"));
    let big = payload(1700);
    ws.send_binary(&big).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(&big));
    // The peer (a client) closes.
    let peer = ws.get_mut();
    let mut out = [0u8; 64];
    let now = peer.now();
    let n = peer
        .conn
        .close(CloseCode::GOING_AWAY, "client leaving", now, &mut out)
        .unwrap();
    peer.to_us.extend(&out[..n]);
    let Err(Error::Closed(info)) = ws.read() else {
        panic!("the server sees the close");
    };
    assert!(info.clean);
    assert_eq!(
        (info.code, ws.close_reason()),
        (CloseCode::GOING_AWAY, "client leaving")
    );
    assert!(matches!(ws.send_text("late"), Err(Error::Usage(_))));
    assert!(matches!(ws.read(), Err(Error::Closed(_))));
}

#[test]
fn blocking_server_rejects() {
    let clock = Rc::new(Cell::new(0));
    let (mut rx, mut tx) = ([0u8; 2048], [0u8; 512]);
    let mut peer = client_peer(&clock);
    let err = blocking::WebSocket::accept(
        &mut peer,
        Config::default(),
        clock_fn(&clock),
        &mut rx,
        &mut tx,
        |_| Err(403),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Rejected(403)));
    peer.pump();
    let info = peer.closed.unwrap();
    assert_eq!(
        info.error,
        Some(ProtocolError::Handshake(HandshakeError::UnexpectedStatus(
            403
        )))
    );
}

#[test]
fn blocking_message_larger_than_rx_fails_with_1009() {
    let clock = Rc::new(Cell::new(0));
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 512]);
    let mut ws = client!(blocking, &clock, Config::default(), &mut rx, &mut tx).unwrap();
    ws.get_mut()
        .send(DataKind::Binary, &payload(1024 - 256 + 1));
    // One frame: refused from its header (a fragmented one: when its size crosses the limit).
    let Err(Error::Protocol(err)) = ws.read() else {
        panic!("the message does not fit rx");
    };
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG, "{err}");
    assert_eq!(
        close_code_seen_by(ws.into_inner()),
        CloseCode::MESSAGE_TOO_BIG
    );
}

#[test]
fn blocking_keepalive_times_out_on_read_timeouts() {
    let clock = Rc::new(Cell::new(0));
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 512]);
    let config = keepalive(Duration::from_secs(5), Duration::from_secs(3));
    let mut ws = client!(blocking, &clock, config, &mut rx, &mut tx).unwrap();
    ws.get_mut().silent = true;
    let err = ws.read().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(ProtocolError::KeepaliveTimeout)),
        "{err}"
    );
    // Each idle read is a second: the ping went out at 5 s, the deadline was 8 s.
    assert_eq!(clock.get(), 8000);
    let mut peer = ws.into_inner();
    peer.silent = false;
    assert_eq!(close_code_seen_by(peer), CloseCode::INTERNAL_ERROR);
}

#[test]
fn buffers_under_the_minimum_are_refused() {
    let clock = Rc::new(Cell::new(0));
    let (mut rx, mut tx) = ([0u8; 256], [0u8; 512]);
    let err = client!(blocking, &clock, Config::default(), &mut rx, &mut tx).unwrap_err();
    assert!(matches!(err, Error::Usage(_)));
}

#[test]
fn async_client_and_server_exchange_messages_and_close() {
    let clock = Rc::new(Cell::new(0));
    block_on(async {
        let (mut rx, mut tx) = ([0u8; 4096], [0u8; 512]);
        let mut ws = client!(asynch, &clock, Config::default(), &mut rx, &mut tx)
            .await
            .unwrap();
        ws.get_mut().fragment = 64;
        for len in SIZES {
            let bytes = payload(len);
            ws.send_binary(&bytes).await.unwrap();
            assert_eq!(ws.read().await.unwrap(), Message::Binary(&bytes));
        }
        ws.ping(b"").await.unwrap();
        let info = ws.close(CloseCode::NORMAL, "done").await.unwrap();
        assert!(info.clean);
        assert_eq!(ws.get_ref().close, Some((CloseCode::NORMAL, "done".into())));
    });
    block_on(async {
        let (mut rx, mut tx) = ([0u8; 2048], [0u8; 512]);
        let mut ws = asynch::WebSocket::accept(
            client_peer(&clock),
            Config::default(),
            clock_fn(&clock),
            &mut rx,
            &mut tx,
            |_| Ok(AcceptOptions::default()),
        )
        .await
        .unwrap();
        ws.send_text("ü").await.unwrap();
        assert_eq!(ws.read().await.unwrap(), Message::Text("ü"));
        let info = ws.close(CloseCode(4000), "server done").await.unwrap();
        assert!(info.clean);
        let peer = ws.into_inner();
        assert_eq!(peer.close, Some((CloseCode(4000), "server done".into())));
    });
}

#[test]
fn async_read_with_timer_fires_keepalive_and_its_timeout() {
    let clock = Rc::new(Cell::new(0));
    let config = keepalive(Duration::from_secs(5), Duration::from_secs(3));
    block_on(async {
        let (mut rx, mut tx) = ([0u8; 1024], [0u8; 512]);
        let mut ws = client!(asynch, &clock, config, &mut rx, &mut tx)
            .await
            .unwrap();
        // Reads never complete; the "timer" jumps the virtual clock to each deadline.
        ws.get_mut().pend_when_idle = true;
        ws.get_mut().silent = true;
        let timer_clock = clock.clone();
        let sleep_until = move |at: Instant| {
            timer_clock.set(timer_clock.get().max(at.as_millis()));
            std::future::ready(())
        };
        let err = ws.read_with_timer(sleep_until).await.unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ProtocolError::KeepaliveTimeout)),
            "{err}"
        );
        assert_eq!(clock.get(), 8000);
        let peer = ws.get_mut();
        peer.silent = false;
        peer.pump();
        // The keepalive ping (payload: counter 1) and the 1011 close reached the peer.
        assert_eq!(peer.closed.unwrap().code, CloseCode::INTERNAL_ERROR);
    });
}
