//! # wsproto-blocking: a WebSocket over a blocking `std::io` stream
//!
//! A thin shell that drives a [`wsproto`] [`Session`] over any stream that is
//! `std::io::Read + Write`: a `TcpStream`, a TLS stream, a Unix socket. The protocol and the
//! buffering (whole messages, pongs, permessage-deflate) live in the core's session; this crate
//! only moves bytes and keeps time.
//!
//! - [`WebSocket::connect`] writes the client's opening handshake and returns once the server
//!   accepted it; [`WebSocket::accept`] reads a request, lets the application decide, and answers.
//! - [`read_message`](WebSocket::read_message) returns the next whole text or binary message.
//!   Pings are answered and the peer's close is echoed by the core; the answers are written before
//!   the call blocks again.
//! - [`send`](WebSocket::send), [`ping`](WebSocket::ping) and [`close`](WebSocket::close) write and
//!   flush at once. `close` waits for the peer's close frame (and, on a client, for the server to
//!   close the TCP connection), bounded by `Config::close_timeout`.
//!
//! ## Timers
//!
//! The core's timers (handshake and close timeouts, keepalive pings) fire while the adapter
//! waits for input. A blocking read can only be interrupted by a read timeout, which is what the
//! [`Socket`] trait provides: for a `TcpStream` or `UnixStream` the adapter sets the read timeout
//! to the next deadline before each read. Any other stream wraps in [`Plain`] (no timeouts, no
//! shutdown); a read that fails with `WouldBlock` or `TimedOut` (because the caller set a read
//! timeout on the socket underneath) still counts as a tick that fires the due timers. Wrap a TLS
//! stream in a type of your own and implement [`Socket`] for it to get both.
//!
//! ## Compression
//!
//! permessage-deflate (RFC 7692) is one setting: pass [`Options`] with
//! [`Options::deflate`] set (feature `deflate`, on by default). A client offers it, a server
//! accepts a client's offer; messages are then compressed and inflated transparently.
//!
//! ## Costs
//!
//! The session's buffers: input grows to the largest frame in flight (bounded by
//! `Config::max_message_size`), output to the largest burst not yet written; both shrink back to
//! [`SessionConfig::keep_capacity`] once drained. A received message is read in place and copied
//! once, into the returned [`Message`]. A sent payload is copied once into the output buffer
//! (and masked there by a client).
//!
//! ## Example
//!
//! ```
//! use std::net::{TcpListener, TcpStream};
//! use wsproto_blocking::{AcceptOptions, ClientRequest, Config, Message, WebSocket};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = std::thread::spawn(move || -> Result<(), wsproto_blocking::Error> {
//!     let (stream, _) = listener.accept()?;
//!     let mut ws = WebSocket::accept(stream, Config::default(), |req| {
//!         assert_eq!(req.path(), "/echo");
//!         Ok(AcceptOptions::default())
//!     })?;
//!     // Echo until the client closes.
//!     loop {
//!         match ws.read_message() {
//!             Ok(message) => ws.send(message)?,
//!             Err(wsproto_blocking::Error::Closed(_)) => return Ok(()),
//!             Err(err) => return Err(err),
//!         }
//!     }
//! });
//!
//! let stream = TcpStream::connect(addr)?;
//! // Use a CSPRNG (the `getrandom` crate, say) in production: masks must be unpredictable.
//! let entropy = |buf: &mut [u8]| buf.fill(0x42);
//! let mut ws = WebSocket::connect(stream, &ClientRequest::new("localhost", "/echo"), Config::default(), entropy)?;
//! ws.send_text("hello")?;
//! assert_eq!(ws.read_message()?, Message::Text("hello".into()));
//! let info = ws.close(wsproto_blocking::CloseCode::NORMAL, "bye")?;
//! assert!(info.clean);
//! server.join().unwrap()?;
//! # Ok::<(), wsproto_blocking::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::{self, Read, Write};
use std::time::Duration;

pub use wsproto;
pub use wsproto::close::CloseCode;
pub use wsproto::config::Config;
pub use wsproto::connection::{CloseInfo, ProtocolError, ReadyState};
#[cfg(feature = "deflate")]
pub use wsproto::deflate::DeflateConfig;
pub use wsproto::entropy::Entropy;
pub use wsproto::handshake::{AcceptOptions, ClientRequest, Field, HandshakeError, Request};
/// A whole text or binary message, owned.
pub use wsproto::message::OwnedMessage as Message;
pub use wsproto::session::{Reject, SessionConfig};

use wsproto::connection::{Connection, DataKind};
use wsproto::session::{Answer, Session, SessionEvent};
use wsproto::time::Instant;

/// What went wrong: the core's one adapter error, over `std::io` errors.
pub type Error = wsproto::session::SessionError<io::Error>;

/// The connection's entropy source, boxed so that [`WebSocket`] has no entropy type parameter.
type BoxedEntropy = Box<dyn FnMut(&mut [u8]) + Send>;

/// A connection's settings: the protocol's limits and timers, and the session's buffering and
/// compression. A [`Config`] converts into it with the session's defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Limits and timers.
    pub config: Config,
    /// Buffering, and permessage-deflate in [`SessionConfig::deflate`].
    pub session: SessionConfig,
}

impl Options {
    /// These options with permessage-deflate offered (client) or accepted (server) with the
    /// default parameters: context takeover both ways, full windows.
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self) -> Self {
        self.session.deflate = Some(DeflateConfig::DEFAULT);
        self
    }
}

impl From<Config> for Options {
    fn from(config: Config) -> Self {
        Options {
            config,
            session: SessionConfig::default(),
        }
    }
}

/// A stream the adapter can do more with than read and write: set a read timeout (so that the
/// connection's timers fire while a read blocks) and shut down the write side (the server closes
/// the TCP connection first, RFC 6455 §7.1.1).
///
/// Both methods have do-nothing defaults, so `impl Socket for MyStream {}` is enough for a
/// stream without either.
pub trait Socket: Read + Write {
    /// Makes reads fail with `WouldBlock` or `TimedOut` after `timeout` (`None`: block forever).
    ///
    /// # Errors
    ///
    /// Whatever the stream reports; the adapter ignores them.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Ok(())
    }

    /// Shuts down the write side, once everything has been written.
    ///
    /// # Errors
    ///
    /// Whatever the stream reports; the adapter ignores them.
    fn shutdown_write(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Socket for std::net::TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::net::TcpStream::set_read_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

#[cfg(unix)]
impl Socket for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

impl<S: Socket + ?Sized> Socket for &mut S {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        (**self).shutdown_write()
    }
}

/// Any `Read + Write` stream as a [`Socket`] without read timeouts or shutdown.
///
/// Timers then fire only when a read returns (with data, or with `WouldBlock` / `TimedOut`
/// because a timeout was set on the socket underneath).
#[derive(Debug, Default)]
pub struct Plain<S>(pub S);

impl<S: Read> Read for Plain<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<S: Write> Write for Plain<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<S: Read + Write> Socket for Plain<S> {}

/// A WebSocket over the blocking stream `S`, OPEN once constructed.
///
/// Methods by kind: constructors [`connect`](Self::connect) and [`accept`](Self::accept);
/// input [`read_message`](Self::read_message); output [`send`](Self::send),
/// [`send_text`](Self::send_text), [`send_binary`](Self::send_binary), [`ping`](Self::ping),
/// [`close`](Self::close); getters [`state`](Self::state), [`subprotocol`](Self::subprotocol),
/// [`get_ref`](Self::get_ref), [`get_mut`](Self::get_mut), [`into_inner`](Self::into_inner).
pub struct WebSocket<S> {
    stream: S,
    session: Session<Vec<u8>, BoxedEntropy>,
    /// Where the connection's clock starts.
    epoch: std::time::Instant,
    subprotocol: Option<String>,
    last_pong: Option<Vec<u8>>,
}

wsproto::socket_debug!(WebSocket<S> { session: session, subprotocol: subprotocol });

impl<S: Socket> WebSocket<S> {
    fn new(stream: S, conn: Connection<BoxedEntropy>, session: SessionConfig) -> Self {
        WebSocket {
            stream,
            session: Session::new(conn, session, Vec::new(), Vec::new()),
            epoch: std::time::Instant::now(),
            subprotocol: None,
            last_pong: None,
        }
    }

    /// Client: sends the opening handshake `request` over `stream` and waits for the server's
    /// answer. `entropy` supplies the handshake nonce and every masking key: use a CSPRNG.
    /// `options` is a [`Config`] or [`Options`] (for permessage-deflate).
    ///
    /// # Errors
    ///
    /// Those of a client's opening handshake, listed at
    /// [`SessionError`](wsproto::session::SessionError#the-opening-handshakes-errors).
    pub fn connect<E>(
        stream: S,
        request: &ClientRequest<'_>,
        options: impl Into<Options>,
        mut entropy: E,
    ) -> Result<Self, Error>
    where
        E: Entropy + Send + 'static,
    {
        let options = options.into();
        let entropy: BoxedEntropy = Box::new(move |buf: &mut [u8]| entropy.fill(buf));
        let conn = Connection::client(options.config, entropy, Instant::default())?;
        let mut ws = WebSocket::new(stream, conn, options.session);
        let now = ws.now();
        ws.session.connect(request, now)?;
        loop {
            let now = ws.now();
            match ws.session.poll_event(now) {
                Some(SessionEvent::Accepted { subprotocol }) => {
                    ws.subprotocol = subprotocol.map(String::from);
                    ws.write_output()?;
                    return Ok(ws);
                }
                Some(SessionEvent::Closed(info)) => return Err(ws.closed(info)),
                Some(_) => {}
                None => ws.wait()?,
            }
        }
    }

    /// Server: reads the opening handshake request from `stream` and lets `decide` answer it:
    /// `Ok(options)` accepts (pick a subprotocol among `request.subprotocols()`), `Err(reject)`
    /// refuses with an HTTP response. A malformed request is answered with 400, 426 or 431 by the
    /// core. `options` is a [`Config`] or [`Options`] (with permessage-deflate, a client's offer
    /// is accepted unless `decide` sets `extensions` itself).
    ///
    /// # Errors
    ///
    /// Those of a server's opening handshake, listed at
    /// [`SessionError`](wsproto::session::SessionError#the-opening-handshakes-errors).
    pub fn accept<F>(stream: S, options: impl Into<Options>, decide: F) -> Result<Self, Error>
    where
        F: for<'r> FnOnce(&Request<'r>) -> Result<AcceptOptions<'r>, Reject>,
    {
        let options = options.into();
        // A server never draws entropy; the box only gives clients and servers one type.
        let no_entropy: BoxedEntropy = Box::new(|buf: &mut [u8]| buf.fill(0));
        let conn = Connection::server_with_entropy(options.config, no_entropy, Instant::default())?;
        let mut ws = WebSocket::new(stream, conn, options.session);
        loop {
            let now = ws.now();
            match ws.session.poll_event(now) {
                Some(SessionEvent::Request(_)) => break,
                Some(SessionEvent::Closed(info)) => return Err(ws.closed(info)),
                Some(_) => {}
                None => ws.wait()?,
            }
        }
        let mut refused = None;
        let mut chosen = None;
        ws.session.answer(|request| match decide(request) {
            Ok(accept) => {
                chosen = accept.subprotocol.map(String::from);
                Answer::Accept(accept)
            }
            Err(reject) => {
                refused = Some(reject);
                Answer::Later
            }
        })?;
        if let Some(reject) = refused {
            ws.session.reject_owned(&reject)?;
            ws.write_output()?;
            return Err(Error::Rejected(reject.status));
        }
        ws.subprotocol = chosen;
        ws.write_output()?;
        Ok(ws)
    }

    /// Reads until a whole text or binary message has arrived, and returns it.
    ///
    /// Pings are answered, pongs are kept for [`last_pong`](Self::last_pong), and the peer's
    /// close is echoed while this waits; queued answers are written before it blocks again.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the connection is closed (after a clean closing handshake, and
    /// on every call after any end; [`close_reason`](Self::close_reason) has the peer's
    /// reason); [`Error::Protocol`] when it failed (a close frame with the code was sent),
    /// [`Error::Io`].
    pub fn read_message(&mut self) -> Result<Message, Error> {
        let mut pieces: Option<Vec<u8>> = None;
        loop {
            let now = self.now();
            let message = match self.session.poll_event(now) {
                Some(SessionEvent::Text(text)) => Message::Text(text.to_owned()),
                Some(SessionEvent::Binary(bytes)) => Message::Binary(bytes.to_vec()),
                // Only with `SessionConfig::max_whole_message` set: joined here.
                Some(SessionEvent::Chunk {
                    kind, data, last, ..
                }) => {
                    let joined = pieces.get_or_insert_with(Vec::new);
                    joined.extend_from_slice(data);
                    if !last {
                        continue;
                    }
                    let joined = pieces.take().unwrap_or_default();
                    match kind {
                        DataKind::Text => Message::Text(
                            String::from_utf8(joined)
                                .expect("the connection validated the message's UTF-8"),
                        ),
                        DataKind::Binary => Message::Binary(joined),
                    }
                }
                Some(SessionEvent::Pong(payload)) => {
                    self.last_pong = Some(payload.to_vec());
                    continue;
                }
                Some(SessionEvent::Closed(info)) => return Err(self.closed(info)),
                Some(_) => continue,
                None => {
                    if self.session.is_finished() {
                        // Reported once as what it was; from then on, closed.
                        let info = self.session.close_info().unwrap_or(CLOSED);
                        return Err(Error::Closed(info));
                    }
                    self.wait()?;
                    continue;
                }
            };
            self.write_output()?;
            return Ok(message);
        }
    }

    /// Sends `message` as one frame and flushes the stream.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when sending is not allowed (a close was sent or the connection is
    /// closed); [`Error::Io`].
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.session.send_message(message.as_message())?;
        self.write_output()
    }

    /// Sends a text message as one frame and flushes the stream.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.session.send_text(text)?;
        self.write_output()
    }

    /// Sends a binary message as one frame and flushes the stream.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_binary(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.session.send_binary(bytes)?;
        self.write_output()
    }

    /// Sends a ping with `payload` (at most 125 bytes) and flushes the stream. The pong is not
    /// returned by [`read_message`](Self::read_message); [`last_pong`](Self::last_pong) shows it.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a payload over 125 bytes or when not OPEN; [`Error::Io`].
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.session.ping(payload)?;
        self.write_output()
    }

    /// Starts (or completes) the closing handshake with `code` and `reason` (at most 123 bytes),
    /// then reads until the connection is closed: until the peer's close frame arrives and, on a
    /// client, the server closes the TCP connection. Data messages that arrive meanwhile are
    /// dropped. Waits at most `Config::close_timeout` if the stream has read timeouts
    /// ([`Socket`]).
    ///
    /// Returns how the connection ended when the closing handshake completed.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a code that may not be sent (1005, 1006, 1015, under 1000 …);
    /// [`Error::Protocol`] with [`ProtocolError::CloseTimeout`] when the peer did not answer in
    /// time, or another failure; [`Error::Io`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<CloseInfo, Error> {
        let now = self.now();
        match self.session.close(code, reason, now) {
            Ok(()) => self.write_output()?,
            // The peer's close came first and was answered, or we closed already.
            Err(
                wsproto::connection::Error::CloseAlreadySent
                | wsproto::connection::Error::InvalidState(_),
            ) => {}
            Err(err) => return Err(Error::Usage(err)),
        }
        loop {
            match self.read_message() {
                Ok(_) => {}
                Err(Error::Closed(info)) if info.clean => return Ok(info),
                Err(err) => return Err(err),
            }
        }
    }

    wsproto::session_accessors!(session: session);
    wsproto::session_accessors!(replies: subprotocol subprotocol, last_pong last_pong);
    wsproto::session_accessors!(transport: stream: S);

    // ---- internals --------------------------------------------------------------------------

    fn now(&self) -> Instant {
        let millis = self.epoch.elapsed().as_millis();
        Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    /// Writes all of the session's output, flushes, and shuts the write side down when the
    /// connection asks for that (§7.1.1: the server closes the TCP connection first).
    fn write_output(&mut self) -> Result<(), Error> {
        let mut wrote = false;
        while !self.session.output().is_empty() {
            match self.stream.write(self.session.output()) {
                Ok(0) => return Err(self.broken(io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    self.session.advance_output(n);
                    wrote = true;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(self.broken(err)),
            }
        }
        if wrote {
            if let Err(err) = self.stream.flush() {
                return Err(self.broken(err));
            }
        }
        if self.session.wants_shutdown() {
            // The peer may be gone already; nothing more is written either way.
            let _ = self.stream.shutdown_write();
            self.session.shutdown_done();
        }
        Ok(())
    }

    /// The stream failed: the connection is over.
    fn broken(&mut self, err: io::Error) -> Error {
        let now = self.now();
        self.session.abort(now);
        Error::Io(err)
    }

    /// Writes the output, then waits for input or the next deadline, whichever comes first.
    fn wait(&mut self) -> Result<(), Error> {
        self.write_output()?;
        let now = self.now();
        let timeout = match self.session.poll_timeout() {
            Some(deadline) if deadline <= now => {
                self.session.handle_timeout(now);
                return Ok(());
            }
            Some(deadline) => Some(
                deadline
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1)),
            ),
            None => None,
        };
        if !self.session.wants_read() {
            return Ok(());
        }
        // Errors only mean that this stream cannot time reads out.
        let _ = self.stream.set_read_timeout(timeout);
        match self.stream.read(self.session.read_buf()) {
            Ok(0) => {
                self.session.receive_eof();
                Ok(())
            }
            Ok(n) => {
                self.session.commit_read(n);
                Ok(())
            }
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let now = self.now();
                self.session.handle_timeout(now);
                Ok(())
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(err) => Err(self.broken(err)),
        }
    }

    /// The error for a connection that just closed: writes what is queued (a close frame, an
    /// error response) first.
    fn closed(&mut self, info: CloseInfo) -> Error {
        if let Err(err) = self.write_output() {
            return err;
        }
        Error::from_close(info)
    }
}

/// What `close_info` says of a closed connection that lost its info (never happens).
const CLOSED: CloseInfo = CloseInfo {
    clean: false,
    code: CloseCode::ABNORMAL,
    error: None,
};
