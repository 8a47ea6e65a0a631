//! # wsproto-blocking: a WebSocket over a blocking `std::io` stream
//!
//! A thin wrapper that drives a [`wsproto`] [`Connection`] over any stream that is
//! `std::io::Read + Write`: a `TcpStream`, a TLS stream, a Unix socket. The protocol lives in the
//! core; this crate only moves bytes, keeps time and reassembles whole messages.
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
//! ## Costs
//!
//! Two 64 KiB buffers per connection (input, output), plus the message being reassembled
//! (bounded by `Config::max_message_size`). Each received message is copied once, out of the
//! input buffer. A sent payload is copied once into the output buffer (and masked there by a
//! client).
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
//!             Err(wsproto_blocking::Error::Closed { .. }) => return Ok(()),
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

use std::fmt;
use std::io::{self, Read, Write};
use std::time::Duration;

pub use wsproto;
pub use wsproto::close::CloseCode;
pub use wsproto::config::Config;
pub use wsproto::connection::{CloseInfo, ProtocolError, ReadyState};
pub use wsproto::entropy::Entropy;
pub use wsproto::handshake::{AcceptOptions, ClientRequest, HandshakeError, Request};

use wsproto::connection::{self, Connection, DataKind, Event, Transmit};
use wsproto::mask::apply_mask_copy;
use wsproto::time::Instant;

/// The size of the input and output buffers (the input buffer grows to `max_head_len` if that is
/// larger).
const BUFFER_LEN: usize = 64 * 1024;

/// Room for the control frames the connection may have queued (a pong, a keepalive ping and a
/// close frame, each at most 131 bytes) plus a data frame's header.
const CONTROL_ROOM: usize = 3 * 131 + 14;

/// The connection's entropy source, boxed so that [`WebSocket`] has no entropy type parameter.
type BoxedEntropy = Box<dyn FnMut(&mut [u8]) + Send>;

/// A whole text or binary message, owned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message (valid UTF-8).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message {
    /// The payload's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload, without copying.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.into())
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Message::Binary(bytes)
    }
}

impl From<&[u8]> for Message {
    fn from(bytes: &[u8]) -> Self {
        Message::Binary(bytes.into())
    }
}

/// A server's refusal of an opening handshake: an HTTP response with `status` (401, 403, 404 …),
/// extra headers and a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// The HTTP status, 200–599 but not 204 or 304 (it carries a body).
    pub status: u16,
    /// Extra headers. `Content-Length` is written by the core.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Reject {
    /// A refusal with `status`, no extra headers and no body.
    pub fn new(status: u16) -> Self {
        Reject {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The stream failed. The connection is closed.
    Io(io::Error),
    /// The peer's opening handshake was malformed or refused. A client sees
    /// [`HandshakeError::UnexpectedStatus`] with the HTTP status of a server that did not
    /// answer 101.
    Handshake(HandshakeError),
    /// Server: the application refused the handshake with this HTTP status.
    Rejected(u16),
    /// The connection failed: the peer broke a rule (a close frame with the matching code was
    /// sent), a timer expired, or the stream ended before the closing handshake.
    Protocol(ProtocolError),
    /// The connection is closed. Returned once the closing handshake is over, and by every
    /// call after the connection ended, whatever the reason.
    Closed {
        /// How the connection ended.
        info: CloseInfo,
        /// The reason in the peer's close frame, empty if none arrived.
        reason: String,
    },
    /// The call was not allowed: sending after a close, an invalid close code, a too-long ping
    /// payload, an invalid `AcceptOptions` or `Reject`, an inconsistent `Config`. Nothing was sent.
    Usage(connection::Error),
}

impl Error {
    /// The HTTP status of a refused handshake: the server's status for a client, the status the
    /// application refused with for a server.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Handshake(HandshakeError::UnexpectedStatus(status))
            | Error::Rejected(status) => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(err) => write!(f, "I/O error: {err}"),
            Error::Handshake(err) => write!(f, "opening handshake failed: {err}"),
            Error::Rejected(status) => write!(f, "handshake refused with status {status}"),
            Error::Protocol(err) => write!(f, "connection failed: {err}"),
            Error::Closed { info, reason } => {
                write!(f, "connection closed with code {}", info.code)?;
                if !reason.is_empty() {
                    write!(f, " ({reason})")?;
                }
                Ok(())
            }
            Error::Usage(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(err) => Some(err),
            Error::Handshake(err) => Some(err),
            Error::Protocol(err) => Some(err),
            Error::Usage(err) => Some(err),
            Error::Rejected(_) | Error::Closed { .. } => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

impl From<connection::Error> for Error {
    fn from(err: connection::Error) -> Self {
        Error::Usage(err)
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
    conn: Connection<BoxedEntropy>,
    /// Where the connection's clock starts.
    epoch: std::time::Instant,
    /// Input: `rx[rx_start..rx_end]` is read but not yet consumed.
    rx: Box<[u8]>,
    rx_start: usize,
    rx_end: usize,
    /// Output scratch space.
    tx: Vec<u8>,
    /// The message being reassembled.
    message: Vec<u8>,
    subprotocol: Option<String>,
    peer_reason: String,
    last_pong: Option<Vec<u8>>,
    /// The write side was shut down (or should no longer be written).
    write_done: bool,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("state", &self.conn.state())
            .field("role", &self.conn.role())
            .field("subprotocol", &self.subprotocol)
            .finish_non_exhaustive()
    }
}

impl<S: Socket> WebSocket<S> {
    fn new(stream: S, conn: Connection<BoxedEntropy>, epoch: std::time::Instant) -> Self {
        let rx_len = BUFFER_LEN.max(conn.config().max_head_len);
        WebSocket {
            stream,
            conn,
            epoch,
            rx: vec![0; rx_len].into_boxed_slice(),
            rx_start: 0,
            rx_end: 0,
            tx: vec![0; BUFFER_LEN],
            message: Vec::new(),
            subprotocol: None,
            peer_reason: String::new(),
            last_pong: None,
            write_done: false,
        }
    }

    /// Client: sends the opening handshake `request` over `stream` and waits for the server's
    /// answer. `entropy` supplies the handshake nonce and every masking key: use a CSPRNG.
    ///
    /// # Errors
    ///
    /// [`Error::Handshake`] if the server refused (with its HTTP status in
    /// [`HandshakeError::UnexpectedStatus`]) or answered wrongly; [`Error::Protocol`] with
    /// [`ProtocolError::HandshakeTimeout`] or [`ProtocolError::UnexpectedEof`];
    /// [`Error::Io`]; [`Error::Usage`] for an invalid request or config.
    pub fn connect<E>(
        stream: S,
        request: &ClientRequest<'_>,
        config: Config,
        mut entropy: E,
    ) -> Result<Self, Error>
    where
        E: Entropy + Send + 'static,
    {
        let entropy: BoxedEntropy = Box::new(move |buf: &mut [u8]| entropy.fill(buf));
        let mut ws = WebSocket::new(
            stream,
            Connection::client(config, entropy, Instant::from_millis(0))?,
            std::time::Instant::now(),
        );
        let now = ws.now();
        let n = ws.conn.connect(request, now, &mut ws.tx)?;
        ws.write_out(n)?;
        loop {
            let now = ws.now();
            let r = ws.conn.receive(&mut ws.rx[ws.rx_start..ws.rx_end], now);
            ws.rx_start += r.consumed;
            match r.event {
                Some(Event::Accepted(response)) => {
                    ws.subprotocol = response.subprotocol().map(String::from);
                    return Ok(ws);
                }
                Some(Event::Closed(info)) => return Err(ws.closed(info)),
                Some(_) => {}
                None => ws.wait()?,
            }
        }
    }

    /// Server: reads the opening handshake request from `stream` and lets `decide` answer it:
    /// `Ok(options)` accepts (pick a subprotocol among `request.subprotocols()`), `Err(reject)`
    /// refuses with an HTTP response. A malformed request is answered with 400, 426 or 431 by the
    /// core.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] after `decide` refused; [`Error::Handshake`] for a malformed request;
    /// [`Error::Protocol`] with [`ProtocolError::HandshakeTimeout`] or
    /// [`ProtocolError::UnexpectedEof`]; [`Error::Io`]; [`Error::Usage`] for invalid options.
    pub fn accept<F>(stream: S, config: Config, decide: F) -> Result<Self, Error>
    where
        F: for<'r> FnOnce(&Request<'r>) -> Result<AcceptOptions<'r>, Reject>,
    {
        let epoch = std::time::Instant::now();
        // A server never draws entropy; the box only gives clients and servers one type.
        let no_entropy: BoxedEntropy = Box::new(|buf: &mut [u8]| buf.fill(0));
        let conn = Connection::server_with_entropy(config, no_entropy, Instant::from_millis(0))?;
        let mut ws = WebSocket::new(stream, conn, epoch);
        let mut decide = Some(decide);
        loop {
            let now = ws.now();
            let r = ws.conn.receive(&mut ws.rx[ws.rx_start..ws.rx_end], now);
            ws.rx_start += r.consumed;
            match r.event {
                Some(Event::Request(request)) => {
                    let Some(decide) = decide.take() else {
                        unreachable!("a server receives one request");
                    };
                    match decide(&request) {
                        Ok(options) => {
                            let n = ws.conn.accept(&options, &mut ws.tx)?;
                            ws.subprotocol = options.subprotocol.map(String::from);
                            ws.write_out(n)?;
                            return Ok(ws);
                        }
                        Err(reject) => {
                            let headers: Vec<(&str, &str)> = reject
                                .headers
                                .iter()
                                .map(|(name, value)| (name.as_str(), value.as_str()))
                                .collect();
                            let needed = 512
                                + reject.body.len()
                                + headers
                                    .iter()
                                    .map(|(n, v)| n.len() + v.len() + 4)
                                    .sum::<usize>();
                            if ws.tx.len() < needed {
                                ws.tx.resize(needed, 0);
                            }
                            let n = ws.conn.reject(
                                reject.status,
                                &headers,
                                &reject.body,
                                &mut ws.tx,
                            )?;
                            ws.write_out(n)?;
                            ws.flush_transmit()?;
                            return Err(Error::Rejected(reject.status));
                        }
                    }
                }
                Some(Event::Closed(info)) => return Err(ws.closed(info)),
                Some(_) => {}
                None => ws.wait()?,
            }
        }
    }
}

impl<S: Socket> WebSocket<S> {
    /// Reads until a whole text or binary message has arrived, and returns it.
    ///
    /// Pings are answered, pongs are dropped, and the peer's close is echoed while this waits;
    /// queued answers are written before it blocks again.
    ///
    /// # Errors
    ///
    /// [`Error::Closed`] once the connection is closed (after a clean closing handshake, and
    /// on every call after any end); [`Error::Protocol`] when it failed (a close frame with the
    /// code was sent), [`Error::Io`].
    pub fn read_message(&mut self) -> Result<Message, Error> {
        loop {
            let now = self.now();
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
                    if message_start {
                        self.message.clear();
                    }
                    let data = if message_start && message_fin {
                        chunk.to_vec()
                    } else {
                        self.message.extend_from_slice(chunk);
                        if !message_fin {
                            continue;
                        }
                        std::mem::take(&mut self.message)
                    };
                    self.flush_transmit()?;
                    return Ok(match kind {
                        DataKind::Text => Message::Text(
                            String::from_utf8(data)
                                .expect("the connection validated the message's UTF-8"),
                        ),
                        DataKind::Binary => Message::Binary(data),
                    });
                }
                Some(Event::CloseReceived { reason, .. }) => self.peer_reason = reason.into(),
                Some(Event::Pong(payload)) => self.last_pong = Some(payload.to_vec()),
                Some(Event::Closed(info)) => return Err(self.closed(info)),
                Some(_) => {}
                None if self.conn.state() == ReadyState::Closed => {
                    let info = self.conn.close_info().unwrap_or(CLOSED);
                    return Err(Error::Closed {
                        info,
                        reason: self.peer_reason.clone(),
                    });
                }
                None => {
                    self.flush_transmit()?;
                    self.wait()?;
                }
            }
        }
    }

    /// Sends `message` as one frame and flushes the stream.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] when sending is not allowed (a close was sent or the connection is
    /// closed); [`Error::Io`].
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        match &message {
            Message::Text(text) => self.send_text(text),
            Message::Binary(bytes) => self.send_binary(bytes),
        }
    }

    /// Sends a text message as one frame and flushes the stream.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_data(DataKind::Text, text.as_bytes())
    }

    /// Sends a binary message as one frame and flushes the stream.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_binary(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.send_data(DataKind::Binary, bytes)
    }

    /// Sends a ping with `payload` (at most 125 bytes) and flushes the stream. The pong is not
    /// returned by [`read_message`](Self::read_message); [`last_pong`](Self::last_pong) shows it.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a payload over 125 bytes or when not OPEN; [`Error::Io`].
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        let n = self.conn.ping(payload, &mut self.tx)?;
        self.write_out(n)
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
        match self.conn.close(code, reason, now, &mut self.tx) {
            Ok(n) => self.write_out(n)?,
            // The peer's close came first and was answered, or we closed already.
            Err(connection::Error::CloseAlreadySent | connection::Error::InvalidState(_)) => {}
            Err(err) => return Err(Error::Usage(err)),
        }
        loop {
            match self.read_message() {
                Ok(_) => {}
                Err(Error::Closed { info, .. }) if info.clean => return Ok(info),
                Err(Error::Closed { info, .. }) => {
                    return Err(match info.error {
                        Some(err) => Error::Protocol(err),
                        None => Error::Closed {
                            info,
                            reason: self.peer_reason.clone(),
                        },
                    });
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// The ready state.
    pub fn state(&self) -> ReadyState {
        self.conn.state()
    }

    /// The subprotocol agreed in the opening handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// How the connection ended, once it is closed.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.conn.close_info()
    }

    /// The payload of the latest pong received, if any: the answer to [`ping`](Self::ping), or
    /// to a keepalive ping (a 4-byte counter).
    pub fn last_pong(&self) -> Option<&[u8]> {
        self.last_pong.as_deref()
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream. Reading or writing it directly breaks the connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream, dropping the connection's state (and any bytes read but not yet processed).
    pub fn into_inner(self) -> S {
        self.stream
    }

    // ---- internals --------------------------------------------------------------------------

    fn now(&self) -> Instant {
        let millis = self.epoch.elapsed().as_millis();
        Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    fn send_data(&mut self, kind: DataKind, data: &[u8]) -> Result<(), Error> {
        if data.len() + CONTROL_ROOM <= self.tx.len() {
            // Small: frame and payload in one write.
            let n = self.conn.send(kind, data, true, &mut self.tx)?;
            return self.write_out(n);
        }
        // Large: the header, then the payload through the output buffer in pieces (a client
        // masks each piece on the way).
        let start = self
            .conn
            .begin_frame(kind, data.len() as u64, true, &mut self.tx)?;
        let mut filled = start.written;
        let mut offset = 0;
        while offset < data.len() {
            let piece = &data[offset..];
            let room = &mut self.tx[filled..];
            let n = match start.mask {
                Some(key) => apply_mask_copy(piece, room, key, offset),
                None => {
                    let n = piece.len().min(room.len());
                    room[..n].copy_from_slice(&piece[..n]);
                    n
                }
            };
            offset += n;
            filled += n;
            self.write_all(filled)?;
            filled = 0;
        }
        self.flush()
    }

    /// Writes `tx[..n]` and flushes.
    fn write_out(&mut self, n: usize) -> Result<(), Error> {
        self.write_all(n)?;
        self.flush()
    }

    fn write_all(&mut self, n: usize) -> Result<(), Error> {
        if let Err(err) = self.stream.write_all(&self.tx[..n]) {
            self.broken();
            return Err(Error::Io(err));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        if let Err(err) = self.stream.flush() {
            self.broken();
            return Err(Error::Io(err));
        }
        Ok(())
    }

    /// The stream failed: the connection is over.
    fn broken(&mut self) {
        self.write_done = true;
        let now = self.now();
        self.conn.receive_eof(now);
    }

    /// Writes what the connection has queued (pongs, close frames, a handshake error response)
    /// and shuts the write side down when it asks for that.
    fn flush_transmit(&mut self) -> Result<(), Error> {
        let mut wrote = false;
        loop {
            if self.write_done {
                return Ok(());
            }
            match self.conn.poll_transmit(&mut self.tx)? {
                Transmit::Bytes(n) => {
                    self.write_all(n)?;
                    wrote = true;
                }
                Transmit::ShutdownWrite => {
                    self.flush()?;
                    // The peer may be gone already; nothing more is written either way.
                    let _ = self.stream.shutdown_write();
                    self.write_done = true;
                    return Ok(());
                }
                Transmit::Nothing => {
                    return if wrote { self.flush() } else { Ok(()) };
                }
            }
        }
    }

    /// Waits for input or the next deadline, whichever comes first.
    fn wait(&mut self) -> Result<(), Error> {
        let now = self.now();
        let timeout = match self.conn.poll_timeout() {
            Some(deadline) if deadline <= now => {
                self.conn.handle_timeout(now);
                return Ok(());
            }
            Some(deadline) => Some(
                deadline
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(1)),
            ),
            None => None,
        };
        // Errors only mean that this stream cannot time reads out.
        let _ = self.stream.set_read_timeout(timeout);
        if self.rx_start == self.rx_end {
            (self.rx_start, self.rx_end) = (0, 0);
        } else if self.rx_end == self.rx.len() {
            self.rx.copy_within(self.rx_start..self.rx_end, 0);
            (self.rx_start, self.rx_end) = (0, self.rx_end - self.rx_start);
        }
        match self.stream.read(&mut self.rx[self.rx_end..]) {
            Ok(0) => {
                let now = self.now();
                self.conn.receive_eof(now);
                Ok(())
            }
            Ok(n) => {
                self.rx_end += n;
                Ok(())
            }
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let now = self.now();
                self.conn.handle_timeout(now);
                Ok(())
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(err) => {
                self.broken();
                Err(Error::Io(err))
            }
        }
    }

    /// The error for a connection that just closed: flushes what is queued (a close frame, an
    /// error response) first.
    fn closed(&mut self, info: CloseInfo) -> Error {
        if let Err(err) = self.flush_transmit() {
            return err;
        }
        match info.error {
            None => Error::Closed {
                info,
                reason: self.peer_reason.clone(),
            },
            Some(ProtocolError::Handshake(err)) => Error::Handshake(err),
            Some(ProtocolError::Rejected(status)) => Error::Rejected(status),
            Some(err) => Error::Protocol(err),
        }
    }
}

/// What `close_info` says of a closed connection that lost its info (never happens).
const CLOSED: CloseInfo = CloseInfo {
    clean: false,
    code: CloseCode::ABNORMAL,
    error: None,
};
