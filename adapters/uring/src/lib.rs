//! # wsproto-uring: a WebSocket over io_uring
//!
//! A [`WebSocket`] drives a [`wsproto`] [`Session`] over a socket of the [compio] runtime, whose
//! driver is io_uring: every read, write and shutdown is an operation submitted to the ring, and
//! the submissions that all of a thread's connections make while its tasks run go to the kernel
//! together, in one `io_uring_enter`, when the runtime next waits. The protocol and its
//! buffering live in the core's session; this crate only moves bytes between the session and
//! the ring and runs the timers on compio's timer wheel.
//!
//! - [`connect`] and [`accept`] do the opening handshake.
//! - [`next`](WebSocket::next) returns the next whole text or binary message (`None` after a
//!   clean close; a failure once as an `Err` first). While it waits, pings are answered, the
//!   peer's close is echoed and the timers (keepalive pings, their pong deadline, the close
//!   timeout) fire.
//! - [`send`](WebSocket::send) queues a message and submits its write without waiting for the
//!   kernel to finish it, so that an echo's write and the next read share one `io_uring_enter`.
//!   While the session holds input not yet processed (messages that arrived in the same read),
//!   the write waits for the next [`next`](WebSocket::next): every echo and pong produced by one
//!   read then goes out in one write. [`flush`](WebSocket::flush) waits until everything queued
//!   is written; `send` waits too while more than the session's output high-water mark
//!   ([`SessionConfig::output_high_water`]) is unwritten, which is the backpressure.
//! - [`close`](WebSocket::close) and [`close_with`](WebSocket::close_with) run the closing
//!   handshake to its end.
//! - A peer that sends pings (or messages an application echoes) and never reads cannot grow
//!   the output: while more than the high-water mark waits unsent, no read is submitted, so the
//!   backpressure reaches the peer's socket.
//! - permessage-deflate (RFC 7692, feature `deflate`, on by default) is one setting,
//!   [`Options::deflate`]: a client offers it, a server accepts a client's offer, and
//!   compression is then transparent.
//!
//! ## Owned buffers, and none while idle
//!
//! An io_uring operation owns its buffer until the kernel completes it, so the operations in
//! flight live in the [`WebSocket`], not in the future of the call that started them: dropping a
//! `next()` or `send()` future (a `select` that took another branch) loses nothing, and the next
//! call picks the same operations up.
//!
//! - A read names no buffer: the kernel takes one from the thread's buffer ring (the runtime's
//!   buffer pool: size it with `compio::driver::ProactorBuilder::buffer_pool_size` for the
//!   connections that receive at once; a read that finds the ring empty is submitted again)
//!   when bytes arrive. Its bytes are fed to the session while the session reads from the
//!   thread's shared input buffer (`Session::lend_input`), and the ring's buffer goes back at
//!   once. Only a message still arriving keeps storage of its own.
//! - A write owns a copy of the session's output (everything queued: one write) in a buffer
//!   taken from the thread's spare ones and put back once written; the session's output is
//!   freed once written.
//!
//! So a connection waiting for input holds no buffer at all: under 2 KiB of heap in all
//! (`tests/idle_memory.rs`). What it costs is one copy each way, which goes once the core
//! can lend its output storage to a write and take it back.
//!
//! Drop a [`WebSocket`] only after [`close`](WebSocket::close) or [`flush`](WebSocket::flush):
//! dropping it cancels a write still in flight.
//!
//! ## Costs
//!
//! An idle connection: its task, the [`WebSocket`] and its boxed session, the read in flight
//! (the ring operation and its future): under 2 KiB of heap in all. A received message is
//! copied from the ring's buffer into the session's input and once more into the owned
//! [`Message`]; text is validated once, by the connection. A sent payload is copied once into
//! the session's output (masked there by a client), and the output once into the write's
//! buffer. System calls: one `io_uring_enter` per turn of the thread's executor, whatever the
//! number of connections that read or write in it; the clock is read once per completion,
//! not per message.
//!
//! ## Why compio
//!
//! Of the three io_uring runtimes for Rust, compio is the one maintained today: releases every
//! few months (0.18 in January 2026, 0.19.0 in May, 0.19.2 in August, 0.20 in beta) and hundreds
//! of commits since 2025, against one release of monoio (0.2.4) and of tokio-uring (0.5.0) in
//! the same time, both in 2024. All three batch submissions the same way: an operation is
//! pushed to the submission queue and the queue is submitted when the thread's executor has run
//! its ready tasks and waits, so many connections' submissions share one `io_uring_enter`.
//! compio's runtime is one per thread (thread-per-core: a server runs one per core, each
//! accepting from its own `SO_REUSEPORT` listener, as `examples/uring_echo_server.rs` does).
//!
//! ## Example
//!
//! ```
//! use compio::net::{TcpListener, TcpStream};
//! use wsproto_uring::{AcceptOptions, ClientRequest, Config, Message};
//!
//! # compio::runtime::Runtime::new().unwrap().block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let server = compio::runtime::spawn(async move {
//!     let (stream, _) = listener.accept().await?;
//!     let mut ws = wsproto_uring::accept(stream, Config::default(), |_| Ok(AcceptOptions::default())).await?;
//!     while let Some(message) = ws.next().await {
//!         ws.send(message?).await?; // echo
//!     }
//!     Ok::<_, wsproto_uring::Error>(())
//! });
//!
//! // Use a CSPRNG (the `getrandom` crate, say) in production: masks must be unpredictable.
//! let entropy = |buf: &mut [u8]| buf.fill(0x42);
//! let stream = TcpStream::connect(addr).await?;
//! let request = ClientRequest::new("localhost", "/");
//! let mut ws = wsproto_uring::connect(stream, &request, Config::default(), entropy).await?;
//! ws.send(Message::Text("hello".into())).await?;
//! assert_eq!(ws.next().await.transpose()?, Some(Message::Text("hello".into())));
//! ws.close().await?; // the closing handshake, both ways
//! server.await.unwrap()?;
//! # Ok::<(), wsproto_uring::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::future::{Future, poll_fn};
use std::{cell::RefCell, collections::VecDeque, fmt, io};

// The runtime and the core, and the core's types that this crate's API speaks.
#[cfg(feature = "deflate")]
pub use wsproto::deflate::{DeflateConfig, DeflateParams};
pub use wsproto::{
    close::CloseCode,
    config::Config,
    connection::{CloseInfo, ProtocolError, ReadyState},
    entropy::Entropy,
    handshake::{AcceptOptions, ClientRequest, Field, HandshakeError, Request},
    session::{Options, Reject, SessionConfig},
};
pub use {compio, wsproto};

use wsproto::{
    connection::{self, Connection},
    session::{Answer, Session, SessionEvent},
    time::Instant,
};

mod ops;

pub use ops::Transport;
use ops::{Ops, Progress};

/// A whole text or binary message, owned: the core's one message type for adapters.
pub use wsproto::message::OwnedMessage as Message;

/// What went wrong: the core's one adapter error type, over `std::io::Error`.
///
/// [`Error::Closed`] carries how the connection ended; the peer's reason is
/// [`WebSocket::close_reason`].
pub type Error = wsproto::session::SessionError<io::Error>;

/// The connection's entropy source, boxed so that [`WebSocket`] has no entropy type parameter.
type BoxedEntropy = Box<dyn FnMut(&mut [u8])>;

/// The session under a [`WebSocket`].
type BoxedSession = Session<Vec<u8>, BoxedEntropy>;

/// The most the shared input buffer keeps between reads: four default reads.
const SHARED_INPUT_KEEP: usize = 4 * SessionConfig::DEFAULT.read_size;

thread_local! {
    /// One input buffer per thread, lent to a connection's session while it takes in a read and
    /// its events (`Session::lend_input`) and handed back before anything else runs: only a
    /// message still arriving keeps storage of its own, given back once delivered.
    static SHARED_INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The session's settings for `options`: nothing kept once idle (input is read into the
/// thread's shared buffer, output is freed once written), with the options' compression.
fn session_config(options: &Options) -> SessionConfig {
    options.session_config(SessionConfig {
        keep_capacity: 0,
        ..SessionConfig::DEFAULT
    })
}

/// Client: sends the opening handshake `request` over `stream` and waits for the server's answer.
/// `entropy` supplies the handshake nonce and every masking key: use a CSPRNG. `options` is a
/// [`Config`] or [`Options`] (which may offer permessage-deflate).
///
/// # Errors
///
/// Those of a client's opening handshake, listed at
/// [`SessionError`](wsproto::session::SessionError#the-opening-handshakes-errors).
pub fn connect<S: Transport>(
    stream: S,
    request: &ClientRequest<'_>,
    options: impl Into<Options>,
    mut entropy: impl Entropy + 'static,
) -> impl Future<Output = Result<WebSocket<S>, Error>> {
    let options = options.into();
    let entropy: BoxedEntropy = Box::new(move |buf: &mut [u8]| entropy.fill(buf));
    // The request is written into the session's output before the future is made, so that the
    // future does not borrow it.
    let started = Connection::client(options.config, entropy, Instant::from_millis(0))
        .map_err(Error::from)
        .and_then(|conn| {
            let mut ws = WebSocket::new(stream, conn, &options);
            let now = ws.tick();
            ws.session.connect(request, now)?;
            Ok(ws)
        });
    // Boxed, as `accept`'s: the handshake's state is freed once it is done.
    Box::pin(async move {
        let mut ws = started?;
        match ws.drive(Goal::Open).await? {
            Reached::Closed(info) => Err(Error::from_close(info)),
            _ => Ok(ws),
        }
    })
}

/// Server: reads the opening handshake request from `stream` and lets `decide` answer it:
/// `Ok(options)` accepts (pick a subprotocol among `request.subprotocols()`), `Err(reject)`
/// refuses with an HTTP response. A malformed request is answered with 400, 426 or 431 by the
/// core. With [`Options::deflate`] set, a client's permessage-deflate offer is accepted.
/// `extensions` in the accepted options must stay `None`: compression is negotiated through
/// [`Options::deflate`], and no other extension runs here.
///
/// # Errors
///
/// [`Error::Usage`] with [`HandshakeError::InvalidArgument`] for `extensions` set, and those of
/// any server's opening handshake
/// ([`SessionError`](wsproto::session::SessionError#the-opening-handshakes-errors)).
pub fn accept<S: Transport>(
    stream: S,
    options: impl Into<Options>,
    decide: impl for<'r> FnOnce(&Request<'r>) -> Result<AcceptOptions<'r>, Reject>,
) -> impl Future<Output = Result<WebSocket<S>, Error>> {
    let options = options.into();
    // Boxed: the handshake's state lives on the heap until the handshake is done, instead of
    // in every task that awaits it, for the connection's whole life.
    Box::pin(async move {
        // A server never draws entropy; the box only gives clients and servers one type.
        let no_entropy: BoxedEntropy = Box::new(|buf: &mut [u8]| buf.fill(0));
        let config = options.config;
        let conn = Connection::server_with_entropy(config, no_entropy, Instant::from_millis(0))?;
        let mut ws = WebSocket::new(stream, conn, &options);
        if let Reached::Closed(info) = ws.drive(Goal::Request).await? {
            return Err(Error::from_close(info));
        }
        let refused = ws.answer(decide)?;
        ws.flush().await?;
        refused.map_or(Ok(ws), Err)
    })
}

/// What [`WebSocket::drive`] runs until.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    /// Server: the handshake request arrived.
    Request,
    /// Client: the server accepted.
    Open,
    /// A message arrived (or the connection closed).
    Message,
    /// The connection is closed and everything is written; messages are dropped.
    Closed,
}

/// What [`WebSocket::drive`] reached.
enum Reached {
    Request,
    Open,
    Message(Message),
    Closed(CloseInfo),
}

/// A WebSocket over the socket `S` (compio's `TcpStream` or `UnixStream`), OPEN once
/// [`connect`] or [`accept`] returned it. See the crate documentation for how it is driven.
pub struct WebSocket<S> {
    /// Boxed: a task's future holds the `WebSocket` beside the future that made it, so a small
    /// `WebSocket` keeps idle tasks small.
    session: Box<BoxedSession>,
    /// The reads, writes and timer in flight, with the socket.
    ops: Ops<S>,
    /// Where the connection's clock starts.
    epoch: std::time::Instant,
    /// The connection's clock, as read when an operation last completed (or the application
    /// closed): what the events of that completion are stamped with.
    now: Instant,
    subprotocol: Option<String>,
    last_pong: Option<Vec<u8>>,
    /// The stream of messages has ended.
    ended: bool,
    /// Whole messages of one read after the first, handed out before reading again.
    received: VecDeque<Message>,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.session
            .debug_socket(f, self.subprotocol.as_deref())
            .field("messages_waiting", &self.received.len())
            .field("in_flight", &self.ops)
            .finish_non_exhaustive()
    }
}

impl<S> WebSocket<S> {
    wsproto::session_accessors!(session: session);
    wsproto::session_accessors!(replies: subprotocol subprotocol, last_pong last_pong);

    /// The socket.
    pub fn get_ref(&self) -> &S {
        self.ops.stream()
    }

    /// Reads the system clock into the connection's, once per completion rather than per
    /// message: time moves for the connection when input arrives, a timer fires or the
    /// application closes.
    fn tick(&mut self) -> Instant {
        let elapsed = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.now = Instant::from_millis(elapsed);
        self.now
    }

    /// The error for a call that needs an OPEN connection: how it ended, once closed.
    fn refused(&self, err: connection::Error) -> Error {
        match (err, self.session.close_info()) {
            (
                connection::Error::InvalidState(_) | connection::Error::CloseAlreadySent,
                Some(info),
            ) => Error::Closed(info),
            (err, _) => Error::Usage(err),
        }
    }
}

impl<S: Transport> WebSocket<S> {
    fn new(stream: S, conn: Connection<BoxedEntropy>, options: &Options) -> Self {
        let config = session_config(options);
        WebSocket {
            session: Box::new(Session::new(conn, config, Vec::new(), Vec::new())),
            ops: Ops::new(stream),
            epoch: std::time::Instant::now(),
            now: Instant::from_millis(0),
            subprotocol: None,
            last_pong: None,
            ended: false,
            received: VecDeque::new(),
        }
    }

    /// The next whole message: `None` after a clean close; a failure is returned once as an
    /// `Err`, then `None`. Cancel-safe: the read in flight stays with the [`WebSocket`].
    pub async fn next(&mut self) -> Option<Result<Message, Error>> {
        if self.ended {
            return None;
        }
        let reached = self.drive(Goal::Message).await;
        if !matches!(reached, Ok(Reached::Message(_))) {
            self.ended = true;
        }
        match reached {
            Ok(Reached::Message(message)) => Some(Ok(message)),
            // A clean end is the stream's end; a failure is returned once first.
            Ok(Reached::Closed(info)) => info.error.map(|_| Err(Error::from_close(info))),
            Ok(Reached::Request | Reached::Open) => unreachable!("the connection is open"),
            Err(err) => Some(Err(err)),
        }
    }

    /// Queues `message` as one frame (compressed if permessage-deflate is on) and submits its
    /// write, unless input read with the last message is still to be processed: then the next
    /// [`next`](Self::next) writes it together with everything else that input produces (call
    /// [`flush`](Self::flush) to write it without reading on). Waits while more than the
    /// session's output high-water mark is unwritten.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the connection is closed; [`Error::Usage`] after a close was
    /// sent; [`Error::Io`].
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        let queued = self.session.send_message(message.as_message());
        queued.map_err(|err| self.refused(err))?;
        if !self.received.is_empty() || self.session.has_unprocessed_input() {
            return Ok(());
        }
        let high_water = self.session.config().output_high_water;
        self.write_until(|ws| ws.session.buffered_amount() <= high_water)
            .await
    }

    /// Waits until everything queued is written to the socket.
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.write_until(|ws| ws.session.buffered_amount() == 0)
            .await
    }

    /// Sends a ping with `payload` (at most 125 bytes) and flushes. The pong is not returned by
    /// [`next`](Self::next); [`last_pong`](Self::last_pong) shows it.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a payload over 125 bytes or after a close was sent;
    /// [`Error::Closed`] once the connection is closed; [`Error::Io`].
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        let queued = self.session.ping(payload);
        queued.map_err(|err| self.refused(err))?;
        self.flush().await
    }

    /// Closes with 1000 and no reason and runs the closing handshake to its end (see
    /// [`close_with`](Self::close_with)). Also succeeds when the peer's clean close came first.
    ///
    /// # Errors
    ///
    /// As [`close_with`](Self::close_with).
    pub async fn close(&mut self) -> Result<(), Error> {
        self.close_with(CloseCode::NORMAL, "").await.map(drop)
    }

    /// Closes with `code` and `reason` (at most 123 bytes) and runs the closing handshake to its
    /// end. Messages that arrive meanwhile are dropped. Returns how the connection ended when
    /// the closing handshake completed.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a code that may not be sent (1005, 1006, 1015, under 1000 …);
    /// [`Error::Protocol`] with [`ProtocolError::CloseTimeout`] when the peer did not answer
    /// within `Config::close_timeout`, or another failure; [`Error::Io`].
    pub async fn close_with(&mut self, code: CloseCode, reason: &str) -> Result<CloseInfo, Error> {
        let now = self.tick();
        match self.session.close(code, reason, now) {
            // The peer's close came first and was answered, or we closed already.
            Ok(())
            | Err(connection::Error::CloseAlreadySent | connection::Error::InvalidState(_)) => {}
            Err(err) => return Err(Error::Usage(err)),
        }
        match self.drive(Goal::Closed).await? {
            Reached::Closed(info) if info.clean => Ok(info),
            Reached::Closed(info) => Err(Error::from_close(info)),
            Reached::Request | Reached::Open | Reached::Message(_) => {
                unreachable!("drive runs until closed for this goal")
            }
        }
    }

    /// Server: answers the pending request with `decide`'s verdict. `Some(error)` is the
    /// handshake's failure: a refusal (already queued) for the caller to return.
    fn answer<F>(&mut self, decide: F) -> Result<Option<Error>, Error>
    where
        F: for<'r> FnOnce(&Request<'r>) -> Result<AcceptOptions<'r>, Reject>,
    {
        let (mut chosen, mut refusal) = (None, None);
        self.session.answer(|request| match decide(request) {
            // The session runs no extension but permessage-deflate, which it negotiates
            // itself: a response naming one would promise frames the connection then fails.
            Ok(options) if options.extensions.is_some() => {
                refusal = Some(Err(Reject::new(500)));
                Answer::Later
            }
            Ok(options) => {
                chosen = options.subprotocol.map(String::from);
                Answer::Accept(options)
            }
            Err(reject) => {
                refusal = Some(Ok(reject));
                Answer::Later
            }
        })?;
        self.subprotocol = chosen;
        let Some(refusal) = refusal else {
            return Ok(None);
        };
        let (reject, err) = match refusal {
            Ok(reject) => {
                let status = reject.status;
                (reject, Error::Rejected(status))
            }
            Err(reject) => (
                reject,
                Error::Usage(connection::Error::Handshake(
                    HandshakeError::InvalidArgument(Field::SecWebSocketExtensions),
                )),
            ),
        };
        self.session.reject_owned(&reject)?;
        Ok(Some(err))
    }

    /// Submits writes of the session's output and waits for them until `done` holds (or the
    /// socket failed, or nothing more can be written).
    async fn write_until(&mut self, done: impl Fn(&Self) -> bool) -> Result<(), Error> {
        loop {
            self.ops.start_write(&self.session);
            if done(self) || !self.ops.writing() {
                return Ok(());
            }
            let progress = poll_fn(|cx| self.ops.poll_write(cx)).await;
            // Only writes complete here: no events to take.
            self.apply(progress, Goal::Closed)?;
        }
    }

    /// Drives the session: takes its events, writes its output, fires its timers, reads input,
    /// until `goal` is reached.
    async fn drive(&mut self, goal: Goal) -> Result<Reached, Error> {
        loop {
            // 1. Events, until the input is used up (or the output must drain first).
            if let Some(reached) = self.take_events(goal) {
                return Ok(reached);
            }

            // 2. Everything the input produced goes out in one write; a closed connection is
            // over once that is written and the socket shut down.
            self.ops.start_write(&self.session);
            if self.session.state() == ReadyState::Closed && !self.ops.writing() {
                let info = self.session.close_info().unwrap_or(CLOSED);
                return Ok(Reached::Closed(info));
            }

            // 3. Wait for a write, a read or the next deadline.
            self.ops.start_read(&self.session);
            let progress = poll_fn(|cx| self.ops.poll(cx, &self.session, self.epoch)).await;
            if let Some(reached) = self.apply(progress, goal)? {
                return Ok(reached);
            }
        }
    }

    /// Takes the session's events until it needs input (or its output must drain first). The
    /// first whole message is what `goal` [`Goal::Message`] reaches; the others of the same
    /// input wait in `received`, so that their echoes join one write.
    fn take_events(&mut self, goal: Goal) -> Option<Reached> {
        if goal == Goal::Message {
            if let Some(message) = self.received.pop_front() {
                return Some(Reached::Message(message));
            }
        }
        let mut first = None;
        loop {
            let Some(event) = self.session.poll_event(self.now) else {
                return first;
            };
            let message = match event {
                SessionEvent::Text(text) if goal == Goal::Message => Message::Text(text.to_owned()),
                SessionEvent::Binary(bytes) if goal == Goal::Message => {
                    Message::Binary(bytes.to_vec())
                }
                SessionEvent::Request(_) => return Some(Reached::Request),
                SessionEvent::Accepted { subprotocol } => {
                    self.subprotocol = subprotocol.map(String::from);
                    return Some(Reached::Open);
                }
                SessionEvent::Pong(payload) => {
                    self.last_pong = Some(payload.to_vec());
                    continue;
                }
                SessionEvent::Chunk { .. } => {
                    unreachable!("growable storage without max_whole_message: messages come whole")
                }
                // Messages nobody waits for are dropped; pings are answered and closes echoed
                // by the session, which keeps the peer's reason; `Closed` is seen by `drive`.
                _ => continue,
            };
            match first {
                None => first = Some(Reached::Message(message)),
                Some(_) => self.received.push_back(message),
            }
            // Nothing more of this input: the caller gets the first message now.
            if !self.session.has_unprocessed_input() {
                return first;
            }
        }
    }

    /// Hands what completed to the session; a read's events are taken at once (see
    /// [`take_events`](Self::take_events)).
    fn apply(&mut self, progress: Progress, goal: Goal) -> Result<Option<Reached>, Error> {
        let now = self.tick();
        match progress {
            Progress::Wrote(n) => self.session.advance_output(n),
            Progress::ShutDown => self.session.shutdown_done(),
            Progress::Read(None) => self.session.receive_eof(),
            Progress::Read(Some(bytes)) => return Ok(self.take_read(&bytes, goal)),
            Progress::Due(deadline) => {
                self.session.handle_timeout(now.max(deadline));
            }
            Progress::Failed(err) => {
                self.session.abort(now);
                return Err(Error::Io(err));
            }
        }
        Ok(None)
    }

    /// Feeds `bytes` to the session and takes their events, with the session reading from the
    /// thread's shared input buffer meanwhile: a connection waiting for input holds no input
    /// buffer of its own.
    fn take_read(&mut self, bytes: &[u8], goal: Goal) -> Option<Reached> {
        SHARED_INPUT.with(|shared| {
            let Ok(mut shared) = shared.try_borrow_mut() else {
                // Lent already (a `decide` callback driving another connection): the session
                // reads into its own storage.
                self.session.feed(bytes);
                return self.take_events(goal);
            };
            self.session.lend_input(&mut shared);
            self.session.feed(bytes);
            let reached = self.take_events(goal);
            self.session.reclaim_input(&mut shared);
            // A large message read whole grew the shared buffer: the thread keeps a few reads'
            // worth, not the largest message it ever saw.
            if shared.len() > SHARED_INPUT_KEEP {
                shared.truncate(SHARED_INPUT_KEEP);
                shared.shrink_to_fit();
            }
            reached
        })
    }
}

/// What `close_info` says of a closed connection that lost its info (never happens).
const CLOSED: CloseInfo = CloseInfo {
    clean: false,
    code: CloseCode::ABNORMAL,
    error: None,
};
