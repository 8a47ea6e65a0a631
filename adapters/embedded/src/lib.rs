//! # wsproto-embedded: a WebSocket for firmware
//!
//! `#![no_std]`, no allocation: a client or server over [`embedded_io`] (blocking,
//! [`blocking::WebSocket`]) or [`embedded_io_async`] ([`asynch::WebSocket`]) transports, on top
//! of the sans-IO [`wsproto`] core. The caller lends every buffer and supplies time ([`Clock`])
//! and, for a client, entropy ([`Entropy`]: a hardware RNG).
//!
//! ## Buffers
//!
//! - `rx` (at least [`MIN_BUFFER`] bytes) holds input and the message being reassembled, in
//!   place: a received message is returned borrowed from it, so the largest message is
//!   `rx.len() - 256` bytes (the adapter lowers `Config::max_message_size` and
//!   `max_frame_payload` to that, so a larger message fails the connection with 1009, and
//!   `max_head_len` to `rx.len()`). A handshake head must fit too: 1–2 KiB is typical.
//! - `tx` (at least [`MIN_BUFFER`] bytes) holds outbound frames. Larger payloads stream through it
//!   in pieces (a client masks each piece there), so it bounds no message size.
//!
//! ## Time
//!
//! Timers (handshake and close timeouts, keepalive pings) are checked whenever the socket is
//! used, and when a read fails with [`ErrorKind::TimedOut`](embedded_io::ErrorKind::TimedOut)
//! (give the transport a read timeout for that). The async socket can also wait for the next
//! deadline itself: [`read_with_timer`](asynch::WebSocket::read_with_timer) races the read
//! against a sleep you provide (for a transport whose `read` is cancel-safe).
//!
//! ## Example
//!
//! ```
//! use embedded_io::{Read, Write};
//! use wsproto_embedded::{blocking::WebSocket, ClientRequest, Config, Error, Message};
//! use wsproto_embedded::wsproto::time::Instant;
//!
//! fn run<T: Read + Write>(
//!     socket: T,
//!     millis: impl FnMut() -> Instant,
//!     rng: impl FnMut(&mut [u8]),
//! ) -> Result<(), Error<T::Error>> {
//!     let (mut rx, mut tx) = ([0u8; 2048], [0u8; 1024]);
//!     let request = ClientRequest::new("device.example", "/telemetry");
//!     let mut ws = WebSocket::connect(socket, &request, Config::default(), millis, rng, &mut rx, &mut tx)?;
//!     ws.send_text("{\"temp\":21.5}")?;
//!     if let Message::Text(reply) = ws.read()? {
//!         let _ = reply; // borrowed from `rx`
//!     }
//!     ws.close(wsproto_embedded::CloseCode::NORMAL, "")?;
//!     Ok(())
//! }
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use core::fmt;
use core::ops::Range;

pub use wsproto;
pub use wsproto::close::CloseCode;
pub use wsproto::config::Config;
pub use wsproto::connection::{CloseInfo, ProtocolError, ReadyState};
pub use wsproto::entropy::{Entropy, NoEntropy};
pub use wsproto::handshake::{AcceptOptions, ClientRequest, HandshakeError, Request};
pub use wsproto::message::Message;

use wsproto::connection::{self, Connection, DataKind, Event, Transmit};
use wsproto::time::Instant;

pub mod asynch;
pub mod blocking;

/// The smallest `rx` and `tx` buffers accepted.
pub const MIN_BUFFER: usize = 512;

/// Room kept free in `rx` beside the message being reassembled: a partial control frame (at
/// most 131 bytes) or frame header waits there.
const RX_RESERVE: usize = 256;

/// Room for the control frames the connection may have queued (a pong, a keepalive ping and a
/// close frame, each at most 131 bytes) plus a data frame's header.
const CONTROL_ROOM: usize = 3 * 131 + 14;

/// The caller's monotonic clock, in milliseconds since any epoch.
///
/// Implemented for closures, so `|| Instant::from_millis(ticks())` will do.
pub trait Clock {
    /// The current time.
    fn now(&mut self) -> Instant;
}

impl<F: FnMut() -> Instant> Clock for F {
    fn now(&mut self) -> Instant {
        self()
    }
}

/// What went wrong; `E` is the transport's error.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error<E> {
    /// The transport failed. The connection is closed.
    Io(E),
    /// The peer's opening handshake was malformed or refused. A client sees
    /// [`HandshakeError::UnexpectedStatus`] with the HTTP status of a server that did not
    /// answer 101.
    Handshake(HandshakeError),
    /// Server: the application refused the handshake with this HTTP status.
    Rejected(u16),
    /// The connection failed: the peer broke a rule (a close frame with the matching code was
    /// sent), a timer expired, or the transport ended before the closing handshake.
    Protocol(ProtocolError),
    /// The connection is closed: after a clean closing handshake, and on every call after any
    /// end. [`close_reason`](blocking::WebSocket::close_reason) has the peer's reason.
    Closed(CloseInfo),
    /// The call was not allowed (sending after a close, an invalid close code, a buffer under
    /// [`MIN_BUFFER`] or too small for the handshake, an inconsistent `Config`). Nothing was sent.
    Usage(connection::Error),
}

impl<E> Error<E> {
    /// The HTTP status of a refused handshake: the server's status for a client, the status the
    /// application refused with for a server.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Handshake(HandshakeError::UnexpectedStatus(status))
            | Error::Rejected(status) => Some(*status),
            _ => None,
        }
    }

    fn from_close(info: CloseInfo) -> Self {
        match info.error {
            None => Error::Closed(info),
            Some(ProtocolError::Handshake(err)) => Error::Handshake(err),
            Some(ProtocolError::Rejected(status)) => Error::Rejected(status),
            Some(err) => Error::Protocol(err),
        }
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(err) => write!(f, "transport error: {err:?}"),
            Error::Handshake(err) => write!(f, "opening handshake failed: {err}"),
            Error::Rejected(status) => write!(f, "handshake refused with status {status}"),
            Error::Protocol(err) => write!(f, "connection failed: {err}"),
            Error::Closed(info) => write!(f, "connection closed with code {}", info.code),
            Error::Usage(err) => write!(f, "{err}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

impl<E> From<connection::Error> for Error<E> {
    fn from(err: connection::Error) -> Self {
        Error::Usage(err)
    }
}

/// The decision a server makes on a request: accept with options, or refuse with a status.
type Decide<'f> = dyn for<'r> FnMut(&Request<'r>) -> Result<AcceptOptions<'r>, u16> + 'f;

/// Gives a closure the higher-ranked signature of [`Decide`].
fn decider<F>(f: F) -> F
where
    F: for<'r> FnMut(&Request<'r>) -> Result<AcceptOptions<'r>, u16>,
{
    f
}

/// What one [`Engine::step`] found.
#[derive(Debug)]
enum Step {
    /// A whole message of this kind in `rx[range]`.
    Message(DataKind, Range<usize>),
    /// The handshake is done (a server: write `tx[..n]` first).
    Open(usize),
    /// A server refused: write `tx[..n]`, then flush.
    Refused(usize, u16),
    /// The connection is closed.
    Closed(CloseInfo),
    /// More input is needed.
    Input,
}

/// The transport-independent part of both sockets: the connection, the buffers, the clock.
struct Engine<'b, E, C> {
    conn: Connection<E>,
    clock: C,
    /// `rx[..msg_len]` is the message being reassembled, `rx[rx_start..rx_end]` unconsumed input.
    rx: &'b mut [u8],
    rx_start: usize,
    rx_end: usize,
    msg_len: usize,
    /// A message was handed out: forget it at the next step.
    delivered: bool,
    tx: &'b mut [u8],
    /// Nothing more is written: shut down, or the transport failed.
    write_done: bool,
    reason: [u8; 123],
    reason_len: usize,
}

impl<'b, E: Entropy, C: Clock> Engine<'b, E, C> {
    /// Checks the buffers and fits the config to them.
    fn config_for(mut config: Config, rx: &[u8], tx: &[u8]) -> Result<Config, connection::Error> {
        let needed = MIN_BUFFER;
        if rx.len() < needed || tx.len() < needed {
            return Err(connection::Error::BufferTooSmall { needed });
        }
        let max = (rx.len() - RX_RESERVE) as u64;
        config.max_message_size = config.max_message_size.min(max);
        config.max_frame_payload = config.max_frame_payload.min(config.max_message_size);
        config.max_head_len = config.max_head_len.min(rx.len());
        Ok(config)
    }

    fn new(conn: Connection<E>, clock: C, rx: &'b mut [u8], tx: &'b mut [u8]) -> Self {
        Engine {
            conn,
            clock,
            rx,
            rx_start: 0,
            rx_end: 0,
            msg_len: 0,
            delivered: false,
            tx,
            write_done: false,
            reason: [0; 123],
            reason_len: 0,
        }
    }

    fn client(
        config: Config,
        mut clock: C,
        entropy: E,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
    ) -> Result<Self, connection::Error> {
        let config = Engine::<E, C>::config_for(config, rx, tx)?;
        let conn = Connection::client(config, entropy, clock.now())?;
        Ok(Engine::new(conn, clock, rx, tx))
    }

    /// Writes the client's request into `tx`; returns its length.
    fn connect(&mut self, request: &ClientRequest<'_>) -> Result<usize, connection::Error> {
        let now = self.clock.now();
        self.conn.connect(request, now, self.tx)
    }

    /// Processes buffered input until something happens. `decide` answers a server's request.
    fn step(&mut self, decide: Option<&mut Decide<'_>>) -> Result<Step, connection::Error> {
        if self.delivered {
            self.delivered = false;
            self.msg_len = 0;
        }
        let base = self.rx.as_ptr() as usize;
        loop {
            let now = self.clock.now();
            let r = self
                .conn
                .receive(&mut self.rx[self.rx_start..self.rx_end], now);
            self.rx_start += r.consumed;
            match r.event {
                Some(Event::Data {
                    kind,
                    chunk,
                    message_start,
                    message_fin,
                    ..
                }) => {
                    let at = chunk.as_ptr() as usize - base;
                    let range = at..at + chunk.len();
                    if message_start && message_fin {
                        // One piece: hand it out where it lies.
                        self.delivered = true;
                        return Ok(Step::Message(kind, range));
                    }
                    // Reassemble at the front of `rx`: the chunk is consumed input, always at
                    // or after the end of the message so far.
                    let len = range.len();
                    self.rx.copy_within(range, self.msg_len);
                    self.msg_len += len;
                    if message_fin {
                        self.delivered = true;
                        return Ok(Step::Message(kind, 0..self.msg_len));
                    }
                }
                Some(Event::Request(request)) => {
                    let answer = match decide {
                        Some(decide) => decide(&request),
                        None => Err(500),
                    };
                    return Ok(match answer {
                        Ok(options) => Step::Open(self.conn.accept(&options, self.tx)?),
                        Err(status) => {
                            Step::Refused(self.conn.reject(status, &[], b"", self.tx)?, status)
                        }
                    });
                }
                Some(Event::Accepted(_)) => return Ok(Step::Open(0)),
                Some(Event::CloseReceived { reason, .. }) => {
                    self.reason_len = reason.len().min(self.reason.len());
                    self.reason[..self.reason_len]
                        .copy_from_slice(&reason.as_bytes()[..self.reason_len]);
                }
                Some(Event::Closed(info)) => return Ok(Step::Closed(info)),
                // Pings are answered and closes echoed by the core.
                Some(_) => {}
                None if self.conn.state() == ReadyState::Closed => {
                    let info = self.conn.close_info().unwrap_or(CLOSED);
                    return Ok(Step::Closed(info));
                }
                None => {
                    if self.rx_start == self.rx_end {
                        (self.rx_start, self.rx_end) = (self.msg_len, self.msg_len);
                    }
                    return Ok(Step::Input);
                }
            }
        }
    }

    /// The message in `rx[range]`.
    fn message(&self, kind: DataKind, range: Range<usize>) -> Message<'_> {
        let bytes = &self.rx[range];
        match kind {
            // The connection validated the text already.
            DataKind::Text => match wsproto::utf8::from_utf8(bytes) {
                Ok(text) => Message::Text(text),
                Err(_) => Message::Binary(bytes),
            },
            DataKind::Binary => Message::Binary(bytes),
        }
    }

    /// Where the transport's next bytes go.
    fn read_buf(&mut self) -> Result<&mut [u8], connection::Error> {
        if self.rx_end == self.rx.len() {
            self.rx
                .copy_within(self.rx_start..self.rx_end, self.msg_len);
            self.rx_end = self.msg_len + (self.rx_end - self.rx_start);
            self.rx_start = self.msg_len;
        }
        if self.rx_end == self.rx.len() {
            // The config's limits keep this from happening.
            return Err(connection::Error::BufferTooSmall {
                needed: self.rx.len() + 1,
            });
        }
        Ok(&mut self.rx[self.rx_end..])
    }

    fn received(&mut self, n: usize) {
        if n == 0 {
            let now = self.clock.now();
            self.conn.receive_eof(now);
        } else {
            self.rx_end += n;
        }
    }

    /// The next bytes the connection has queued, in `tx[..n]`.
    fn transmit(&mut self) -> Result<Option<usize>, connection::Error> {
        if self.write_done {
            return Ok(None);
        }
        match self.conn.poll_transmit(self.tx)? {
            Transmit::Bytes(n) => Ok(Some(n)),
            Transmit::ShutdownWrite => {
                // embedded-io has no half-close: the caller closes the socket once
                // the connection is closed.
                self.write_done = true;
                Ok(None)
            }
            Transmit::Nothing => Ok(None),
        }
    }

    /// Fires the timers due now; true if any was due.
    fn fire_due(&mut self) -> bool {
        let now = self.clock.now();
        match self.conn.poll_timeout() {
            Some(deadline) if deadline <= now => {
                self.conn.handle_timeout(now);
                true
            }
            _ => false,
        }
    }

    /// Fires the timers due at `deadline` (a timer the caller slept on has expired).
    fn fire_at(&mut self, deadline: Instant) {
        let now = self.clock.now().max(deadline);
        self.conn.handle_timeout(now);
    }

    /// The transport failed: the connection is over.
    fn broken(&mut self) {
        self.write_done = true;
        let now = self.clock.now();
        self.conn.receive_eof(now);
    }

    /// Writes a close frame into `tx` unless one was sent; returns its length (0 if none).
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<usize, connection::Error> {
        let now = self.clock.now();
        match self.conn.close(code, reason, now, self.tx) {
            Ok(n) => Ok(n),
            // The peer's close came first and was answered, or we closed already.
            Err(connection::Error::CloseAlreadySent | connection::Error::InvalidState(_)) => Ok(0),
            Err(err) => Err(err),
        }
    }

    fn close_reason(&self) -> &str {
        core::str::from_utf8(&self.reason[..self.reason_len]).unwrap_or("")
    }
}

impl<'b, C: Clock> Engine<'b, NoEntropy, C> {
    fn server(
        config: Config,
        mut clock: C,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
    ) -> Result<Self, connection::Error> {
        let config = Engine::<NoEntropy, C>::config_for(config, rx, tx)?;
        let now = clock.now();
        let conn = Connection::server(config, now)?;
        Ok(Engine::new(conn, clock, rx, tx))
    }
}

/// A data frame to send: the kind and the payload.
fn data_of<'m>(message: &Message<'m>) -> (DataKind, &'m [u8]) {
    match *message {
        Message::Text(text) => (DataKind::Text, text.as_bytes()),
        Message::Binary(bytes) => (DataKind::Binary, bytes),
    }
}

/// What `close_info` says of a closed connection that lost its info (never happens).
const CLOSED: CloseInfo = CloseInfo {
    clean: false,
    code: CloseCode::ABNORMAL,
    error: None,
};

/// What a socket's drive loop runs until.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    /// The opening handshake is done.
    Open,
    /// A message arrived (or the connection closed).
    Message,
    /// The connection is closed; messages are dropped.
    Closed,
}

/// What a socket's drive loop reached.
#[derive(Debug)]
enum Reached {
    Open,
    Message(DataKind, Range<usize>),
    Closed(CloseInfo),
}
