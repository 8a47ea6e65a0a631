//! # wsproto-embedded: a WebSocket for firmware
//!
//! `#![no_std]`, no allocation: a client or server over [`embedded_io`] (blocking,
//! [`blocking::WebSocket`]) or [`embedded_io_async`] ([`asynch::WebSocket`]) transports, on top
//! of the sans-IO [`wsproto`] core's [`Session`], which does the
//! buffering, reassembly and pong flushing for both: the sockets only move bytes. The caller
//! lends every buffer and supplies time ([`Clock`]) and, for a client, entropy ([`Entropy`]: a
//! hardware RNG).
//!
//! ## Buffers
//!
//! - `rx` (at least [`MIN_BUFFER`] bytes) holds input and the message being reassembled, in
//!   place: a received message is returned borrowed from it, so the largest message is
//!   `rx.len() - 256` bytes (the adapter lowers `Config::max_message_size` and
//!   `max_frame_payload` to that, so a larger message fails the connection with 1009, and
//!   `max_head_len` to `rx.len()`). A handshake head must fit too: 1–2 KiB is typical.
//! - `tx` (at least [`MIN_BUFFER`] bytes) holds outbound frames. A message that does not fit is
//!   sent as fragments that do, so it bounds no message size.
//!
//! While `tx` has no room for the pongs of further pings, the socket writes before it reads
//! again: a peer that sends pings and never reads is held back by the transport, not by memory.
//!
//! ## Time
//!
//! Timers (handshake and close timeouts, keepalive pings) are checked whenever the socket is
//! used, and when a read fails with [`ErrorKind::TimedOut`]
//! (give the transport a read timeout for that). The async socket can also wait for the next
//! deadline itself: [`read_with_timer`](asynch::WebSocket::read_with_timer) races the read
//! against a sleep you provide (for a transport whose `read` is cancel-safe).
//!
//! ## Compression
//!
//! With the feature `deflate` (which needs a global allocator: the compressor and the inflated
//! messages live on the heap), the `deflate` field of [`Options`] offers (client) or accepts (server)
//! permessage-deflate (RFC 7692).
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

use core::marker::PhantomData;

pub use wsproto;
pub use wsproto::close::CloseCode;
pub use wsproto::config::Config;
pub use wsproto::connection::{CloseInfo, ProtocolError, ReadyState};
#[cfg(feature = "deflate")]
pub use wsproto::deflate::DeflateConfig;
pub use wsproto::entropy::{Entropy, NoEntropy};
pub use wsproto::handshake::{AcceptOptions, ClientRequest, Field, HandshakeError, Request};
pub use wsproto::message::Message;

use embedded_io::ErrorKind;
use wsproto::connection::{self, Connection, DataKind};
use wsproto::frame::MAX_HEADER_LEN;
use wsproto::handshake::Rejection;
pub use wsproto::session::Options;
use wsproto::session::{Answer, Session, SessionConfig, SessionError, SessionEvent};
use wsproto::time::Instant;

#[macro_use]
mod api;
pub mod asynch;
pub mod blocking;

/// What went wrong; `E` is the transport's error. The core's one adapter error type.
pub type Error<E> = SessionError<E>;

/// The smallest `rx` and `tx` buffers accepted.
pub const MIN_BUFFER: usize = 512;

/// Room kept free in `rx` beside the message being reassembled: a partial control frame (at
/// most 131 bytes) or frame header waits there.
const RX_RESERVE: usize = 256;

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

/// A WebSocket over the transport `T`, OPEN once constructed, in the IO mode `M`: use the
/// names [`blocking::WebSocket`] and [`asynch::WebSocket`]. `C` is the clock, `E` the client's
/// entropy source; `'b` borrows the caller's buffers.
///
/// The transport is not closed by the socket: once the connection is closed, close it (or take
/// it back with [`into_inner`](Self::into_inner)).
pub struct Socket<'b, M, T, C, E = NoEntropy> {
    io: T,
    shell: Shell<'b, C, E>,
    mode: PhantomData<M>,
}

impl<M, T, C, E: Entropy> core::fmt::Debug for Socket<'_, M, T, C, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.shell
            .session
            .debug_socket(f, None)
            .finish_non_exhaustive()
    }
}

impl<'b, M, T, C: Clock, E: Entropy> Socket<'b, M, T, C, E> {
    fn new(io: T, shell: Shell<'b, C, E>) -> Self {
        Socket {
            io,
            shell,
            mode: PhantomData,
        }
    }

    /// `connect` and `accept`'s result, once the drive loop has `reached` its end.
    fn opened<X>(self, reached: Reached) -> Result<Self, Error<X>> {
        match reached {
            Reached::Goal => Ok(self),
            Reached::Closed(info) => Err(SessionError::from_close(info)),
        }
    }
}

/// What both modes share: everything but the transport's calls.
impl<M, T, C: Clock, E: Entropy> Socket<'_, M, T, C, E> {
    /// The next instant at which a timer is due, for a caller that waits on its own.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.shell.session.poll_timeout()
    }

    wsproto::session_accessors!(session: shell.session);
    wsproto::session_accessors!(transport: io: T);
}

/// The decision a server makes on a request: accept with options, or refuse with a status.
type Decide<'f> = dyn for<'r> FnMut(&Request<'r>) -> Result<AcceptOptions<'r>, u16> + 'f;

/// What a socket's drive loop runs until.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    /// The opening handshake is done.
    Open,
    /// A message arrived (or the connection closed).
    Message,
    /// The output is written and flushed.
    Flushed,
    /// The connection is closed; messages are dropped.
    Closed,
}

/// What a socket's drive loop reached.
#[derive(Clone, Copy, Debug)]
enum Reached {
    /// The goal; for [`Goal::Message`], the message is the session's `last_message`.
    Goal,
    /// The connection is closed, as this says.
    Closed(CloseInfo),
}

/// What the drive loop needs from the transport next.
#[derive(Debug)]
enum Next {
    /// Write [`Shell::output`], then report with [`Shell::wrote`].
    Write,
    /// Flush, then report with [`Shell::flushed`].
    Flush,
    /// Read into [`Shell::read_buf`], then report with [`Shell::received`].
    Read,
    /// Done.
    Done(Reached),
}

/// A message being sent: what is left of it, in fragments that fit `tx`.
struct Outgoing<'m> {
    kind: DataKind,
    rest: &'m [u8],
}

/// Both sockets' logic over the session, without the transport: each call says what IO comes
/// next or takes its result, so the blocking and the async socket differ only in how they call
/// the transport.
struct Shell<'b, C, E> {
    session: Session<&'b mut [u8], E>,
    /// The length of `tx`.
    tx_capacity: usize,
    clock: C,
    /// Bytes were written since the transport was last flushed.
    unflushed: bool,
    /// The goal reached, given once the output is written.
    reached: Option<Reached>,
}

impl<'b, C: Clock> Shell<'b, C, NoEntropy> {
    /// Server: checks the buffers, fits the config to them and waits for the request.
    fn server(
        options: Options,
        mut clock: C,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
    ) -> Result<Self, connection::Error> {
        let (config, session_config) = fit(options, rx, tx)?;
        let conn = Connection::server(config, clock.now())?;
        Ok(Shell::new(conn, session_config, clock, rx, tx))
    }
}

/// Checks the buffers and fits the connection's config and the session's to them.
fn fit(
    options: Options,
    rx: &[u8],
    tx: &[u8],
) -> Result<(Config, SessionConfig), connection::Error> {
    let needed = MIN_BUFFER;
    if rx.len() < needed || tx.len() < needed {
        return Err(connection::Error::BufferTooSmall { needed });
    }
    let mut config = options.config;
    // Whole messages only: one that does not fit `rx` fails with 1009 instead of coming as
    // chunks, which `read` cannot return.
    config.max_message_size = config.max_message_size.min((rx.len() - RX_RESERVE) as u64);
    config.max_frame_payload = config.max_frame_payload.min(config.max_message_size);
    config.max_head_len = config.max_head_len.min(rx.len());
    let session_config = options.session_config(SessionConfig {
        read_size: rx.len(),
        ..SessionConfig::DEFAULT
    });
    Ok((config, session_config))
}

impl<'b, C: Clock, E: Entropy> Shell<'b, C, E> {
    /// Client: checks the buffers, fits the config to them and queues the opening handshake.
    fn client(
        options: Options,
        request: &ClientRequest<'_>,
        mut clock: C,
        entropy: E,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
    ) -> Result<Self, connection::Error> {
        let (config, session_config) = fit(options, rx, tx)?;
        let now = clock.now();
        let conn = Connection::client(config, entropy, now)?;
        let mut shell = Shell::new(conn, session_config, clock, rx, tx);
        shell.session.connect(request, now)?;
        Ok(shell)
    }

    fn new(
        conn: Connection<E>,
        config: SessionConfig,
        clock: C,
        rx: &'b mut [u8],
        tx: &'b mut [u8],
    ) -> Self {
        Shell {
            tx_capacity: tx.len(),
            session: Session::new(conn, config, rx, tx),
            clock,
            unflushed: false,
            reached: None,
        }
    }

    fn now(&mut self) -> Instant {
        self.clock.now()
    }

    /// Runs the session until it needs the transport or reaches `goal`; `decide` answers a
    /// server's request.
    fn next<X>(
        &mut self,
        goal: Goal,
        mut decide: Option<&mut Decide<'_>>,
    ) -> Result<Next, Error<X>> {
        loop {
            if !self.session.output().is_empty() {
                return Ok(Next::Write);
            }
            if self.session.wants_shutdown() {
                // embedded-io has no half-close: the caller closes the transport once the
                // connection is closed.
                self.session.shutdown_done();
            }
            if self.unflushed {
                return Ok(Next::Flush);
            }
            if goal == Goal::Flushed {
                return Ok(Next::Done(Reached::Goal));
            }
            if let Some(reached) = self.reached.take() {
                return Ok(Next::Done(reached));
            }
            let now = self.now();
            let Some(event) = self.session.poll_event(now) else {
                if self.fire_due() {
                    // What the timers queued is written at the top of the loop.
                    continue;
                }
                if self.session.wants_read() {
                    return Ok(Next::Read);
                }
                // Closed, its event given before: every call after the end sees how it ended.
                let info = self.session.close_info().unwrap_or(ABNORMAL);
                self.reached = Some(Reached::Closed(info));
                continue;
            };
            match event {
                // Taken with `last_message` once the output is written; dropped otherwise.
                SessionEvent::Text(_) | SessionEvent::Binary(_) if goal == Goal::Message => {
                    self.reached = Some(Reached::Goal);
                }
                SessionEvent::Request(_) => {
                    self.answer(decide.as_deref_mut())?;
                    if self.session.state() == ReadyState::Open {
                        self.reached = Some(Reached::Goal);
                    }
                }
                SessionEvent::Accepted { .. } => self.reached = Some(Reached::Goal),
                SessionEvent::Closed(info) => self.reached = Some(Reached::Closed(info)),
                SessionEvent::Chunk { .. } => {
                    // Never: `max_message_size` fits `rx`, so every message comes whole.
                    let now = self.now();
                    self.session.close(CloseCode::MESSAGE_TOO_BIG, "", now)?;
                }
                // Pings are answered and closes echoed by the session; pongs are dropped.
                _ => {}
            }
        }
    }

    /// Answers a server's pending request with `decide` (refusing with 500 without one).
    fn answer(&mut self, decide: Option<&mut Decide<'_>>) -> Result<(), connection::Error> {
        self.session.answer(|request| {
            let decision = match decide {
                Some(decide) => decide(request),
                None => Err(500),
            };
            match decision {
                Ok(options) => Answer::Accept(options),
                Err(status) => Answer::Reject(Rejection::new(status)),
            }
        })
    }

    /// Fires the timers due now; true if any was due.
    fn fire_due(&mut self) -> bool {
        let now = self.now();
        match self.session.poll_timeout() {
            Some(deadline) if deadline <= now => {
                self.session.handle_timeout(now);
                true
            }
            _ => false,
        }
    }

    /// Fires the timers due at `deadline` (a timer the caller slept on has expired).
    fn fire_at(&mut self, deadline: Instant) {
        let now = self.now().max(deadline);
        self.session.handle_timeout(now);
    }

    fn output(&self) -> &[u8] {
        self.session.output()
    }

    fn read_buf(&mut self) -> &mut [u8] {
        self.session.read_buf()
    }

    /// The result of writing all of [`output`](Self::output).
    fn wrote<X>(&mut self, result: Result<(), X>) -> Result<(), Error<X>> {
        match result {
            Ok(()) => {
                self.session.advance_output(self.session.output().len());
                self.unflushed = true;
                Ok(())
            }
            Err(err) => Err(self.broken(err)),
        }
    }

    /// The result of flushing the transport.
    fn flushed<X>(&mut self, result: Result<(), X>) -> Result<(), Error<X>> {
        self.unflushed = false;
        result.map_err(|err| self.broken(err))
    }

    /// The result of reading into [`read_buf`](Self::read_buf).
    fn received<X: embedded_io::Error>(
        &mut self,
        result: Result<usize, X>,
    ) -> Result<(), Error<X>> {
        match result {
            Ok(0) => self.session.receive_eof(),
            Ok(n) => self.session.commit_read(n),
            Err(err) => match err.kind() {
                ErrorKind::TimedOut => {
                    self.fire_due();
                }
                ErrorKind::Interrupted => {}
                _ => return Err(self.broken(err)),
            },
        }
        Ok(())
    }

    /// The transport failed: the connection is over.
    fn broken<X>(&mut self, err: X) -> Error<X> {
        let now = self.now();
        self.session.abort(now);
        self.unflushed = false;
        self.reached = None;
        SessionError::Io(err)
    }

    // ---- the socket's calls, before and after the drive loop --------------------------------

    /// Queues as much of `message` as fits the output, as one frame or a fragment; true once
    /// the last of it is queued.
    fn queue(&mut self, message: &mut Outgoing<'_>) -> Result<bool, connection::Error> {
        let free = self.tx_capacity - self.session.buffered_amount();
        let whole = message.rest.len() + MAX_HEADER_LEN <= free;
        if !whole && !self.session.output().is_empty() {
            // Written first, so that the fragments are as large as `tx` allows.
            return Ok(false);
        }
        // `tx` is at least `MIN_BUFFER`, more than a header.
        let n = message.rest.len().min(free - MAX_HEADER_LEN);
        self.session.send(message.kind, &message.rest[..n], whole)?;
        message.rest = &message.rest[n..];
        Ok(whole)
    }

    /// Queues a close frame unless one was sent.
    fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), connection::Error> {
        let now = self.now();
        match self.session.close(code, reason, now) {
            // The peer's close came first and was answered, or we closed already.
            Err(connection::Error::CloseAlreadySent | connection::Error::InvalidState(_)) => Ok(()),
            other => other,
        }
    }

    /// `read`'s result.
    fn message<X>(&self, reached: Reached) -> Result<Message<'_>, Error<X>> {
        match (reached, self.session.last_message()) {
            (Reached::Goal, Some(message)) => Ok(message),
            (Reached::Closed(info), _) => Err(SessionError::from_close(info)),
            (Reached::Goal, None) => unreachable!("the goal is reached with a message"),
        }
    }

    /// `close`'s result.
    fn closed<X>(&self, reached: Reached) -> Result<CloseInfo, Error<X>> {
        match reached {
            Reached::Closed(info) if info.clean => Ok(info),
            Reached::Closed(info) => Err(SessionError::from_close(info)),
            Reached::Goal => unreachable!("the drive loop runs until closed for this goal"),
        }
    }
}

/// A data message to send: the kind and the payload.
fn outgoing<'m>(message: &Message<'m>) -> Outgoing<'m> {
    match *message {
        Message::Text(text) => Outgoing {
            kind: DataKind::Text,
            rest: text.as_bytes(),
        },
        Message::Binary(bytes) => Outgoing {
            kind: DataKind::Binary,
            rest: bytes,
        },
    }
}

/// What `close_info` says of a closed connection that lost its info (never happens).
const ABNORMAL: CloseInfo = CloseInfo {
    clean: false,
    code: CloseCode::ABNORMAL,
    error: None,
};
