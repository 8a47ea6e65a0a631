//! # wsproto-tokio: an async WebSocket over tokio streams
//!
//! A [`WebSocket`] drives a [`wsproto`] [`Connection`] over any
//! `tokio::io::AsyncRead + AsyncWrite + Unpin` stream (a `TcpStream`, a TLS stream, a
//! `tokio::io::duplex` pipe) and is both a [`Stream`] of received [`Message`]s and a [`Sink`] of
//! messages to send. The protocol lives in the core; this crate moves bytes, runs the timers on
//! `tokio::time` and reassembles whole messages.
//!
//! - [`connect`] and [`accept`] do the opening handshake. [`WebSocket::open`] wraps a stream
//!   whose handshake another layer did (an HTTP/1.1 Upgrade through hyper, an HTTP/2 or HTTP/3
//!   extended CONNECT stream): it starts OPEN. With the feature `http`, the [`http`] module
//!   checks and answers such handshakes in the `http` crate's types.
//! - The [`Stream`] yields whole text and binary messages. While it is polled, pings are
//!   answered, the peer's close is echoed and the timers (keepalive pings, their pong deadline,
//!   the close timeout) fire: keep polling it, from a reader task if the writer lives elsewhere
//!   (`futures::StreamExt::split` gives two halves). It ends (`None`) after a clean closing
//!   handshake; a failure is yielded once as an `Err` first.
//! - The [`Sink`] queues each message's frame in an outbound buffer. [`buffered_amount`]
//!   (like the browser's `WebSocket.bufferedAmount`) is what is queued but not yet written to the
//!   transport; `poll_ready` returns `Pending` while it is over the high-water mark
//!   ([`set_high_water_mark`], 128 KiB by default) and the transport does not take more, which is
//!   the backpressure. `poll_close` (or [`close_with`](WebSocket::close_with), with a code and
//!   reason) runs the closing handshake to its end.
//!
//! [`buffered_amount`]: WebSocket::buffered_amount
//! [`set_high_water_mark`]: WebSocket::set_high_water_mark
//!
//! ## Costs
//!
//! A 64 KiB input buffer, the outbound buffer (grows to the largest burst of queued messages, is
//! trimmed back once drained), the message being reassembled (bounded by
//! `Config::max_message_size`), one `tokio::time::Sleep`. Each received message is copied once
//! out of the input buffer; each sent payload once into the outbound buffer (masked there by a
//! client).
//!
//! ## Example
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use wsproto_tokio::{AcceptOptions, ClientRequest, Config, Message};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wsproto_tokio::Error> {
//! let (client_io, server_io) = tokio::io::duplex(64 * 1024);
//! let server = tokio::spawn(async move {
//!     let mut ws = wsproto_tokio::accept(server_io, Config::default(), |_| Ok(AcceptOptions::default())).await?;
//!     while let Some(message) = ws.next().await {
//!         ws.send(message?).await?; // echo
//!     }
//!     Ok::<_, wsproto_tokio::Error>(())
//! });
//!
//! // Use a CSPRNG (the `getrandom` crate, say) in production: masks must be unpredictable.
//! let entropy = |buf: &mut [u8]| buf.fill(0x42);
//! let request = ClientRequest::new("localhost", "/");
//! let mut ws = wsproto_tokio::connect(client_io, &request, Config::default(), entropy).await?;
//! ws.send(Message::Text("hello".into())).await?;
//! assert_eq!(ws.next().await.transpose()?, Some(Message::Text("hello".into())));
//! ws.close().await?; // the closing handshake, both ways
//! server.await.unwrap()?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

pub use futures_core::Stream;
pub use futures_sink::Sink;
pub use wsproto;
pub use wsproto::Role;
pub use wsproto::close::CloseCode;
pub use wsproto::config::Config;
pub use wsproto::connection::{CloseInfo, ProtocolError, ReadyState};
pub use wsproto::entropy::Entropy;
pub use wsproto::handshake::{AcceptOptions, ClientRequest, HandshakeError, Request};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;
use wsproto::connection::{self, Connection, DataKind, Event, Transmit};
use wsproto::mask::apply_mask_copy;
use wsproto::time::Instant;

#[cfg(feature = "http")]
pub mod http;

/// The input buffer's size (more if `max_head_len` is larger).
const RX_LEN: usize = 64 * 1024;

/// The default high-water mark of the outbound buffer.
const HIGH_WATER: usize = 128 * 1024;

/// Room for the control frames the connection may have queued (a pong, a keepalive ping and a
/// close frame, each at most 131 bytes) plus a data frame's header.
const CONTROL_ROOM: usize = 3 * 131 + 14;

/// An outbound buffer with more spare capacity than this is trimmed once drained.
const TX_KEEP: usize = 256 * 1024;

/// The connection's entropy source, boxed so that [`WebSocket`] has no entropy type parameter.
type BoxedEntropy = Box<dyn FnMut(&mut [u8]) + Send>;

/// The decision a server makes on a request (see [`accept`]).
type Decide<'f> = dyn for<'r> FnMut(&Request<'r>) -> Result<AcceptOptions<'r>, Reject> + 'f;

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
    /// The connection is closed: sending is no longer possible.
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

    fn from_close(info: CloseInfo, reason: &str) -> Error {
        match info.error {
            None => Error::Closed {
                info,
                reason: reason.into(),
            },
            Some(ProtocolError::Handshake(err)) => Error::Handshake(err),
            Some(ProtocolError::Rejected(status)) => Error::Rejected(status),
            Some(err) => Error::Protocol(err),
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

/// Client: sends the opening handshake `request` over `stream` and waits for the server's answer.
/// `entropy` supplies the handshake nonce and every masking key: use a CSPRNG.
///
/// # Errors
///
/// [`Error::Handshake`] if the server refused (its HTTP status in
/// [`HandshakeError::UnexpectedStatus`]) or answered wrongly; [`Error::Protocol`] with
/// [`ProtocolError::HandshakeTimeout`] or [`ProtocolError::UnexpectedEof`]; [`Error::Io`];
/// [`Error::Usage`] for an invalid request or config.
pub async fn connect<S, E>(
    stream: S,
    request: &ClientRequest<'_>,
    config: Config,
    mut entropy: E,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    E: Entropy + Send + 'static,
{
    let entropy: BoxedEntropy = Box::new(move |buf: &mut [u8]| entropy.fill(buf));
    let mut ws = WebSocket::new(
        stream,
        Connection::client(config, entropy, Instant::from_millis(0))?,
    );
    let now = ws.now();
    let mut head = vec![0u8; 1024];
    let n = loop {
        match ws.conn.connect(request, now, &mut head) {
            Err(connection::Error::BufferTooSmall { needed }) => head.resize(needed, 0),
            other => break other?,
        }
    };
    ws.tx.extend_from_slice(&head[..n]);
    poll_fn(|cx| ws.poll_drive(cx, Goal::Open, None)).await?;
    Ok(ws)
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
pub async fn accept<S, F>(stream: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: for<'r> FnOnce(&Request<'r>) -> Result<AcceptOptions<'r>, Reject>,
{
    // A server never draws entropy; the box only gives clients and servers one type.
    let no_entropy: BoxedEntropy = Box::new(|buf: &mut [u8]| buf.fill(0));
    let epoch = tokio::time::Instant::now();
    let conn = Connection::server_with_entropy(config, no_entropy, Instant::from_millis(0))?;
    let mut ws = WebSocket::new(stream, conn);
    ws.epoch = epoch;
    let mut decide = Some(decide);
    let mut once = decider(move |request| match decide.take() {
        Some(decide) => decide(request),
        None => Err(Reject::new(500)),
    });
    poll_fn(|cx| ws.poll_drive(cx, Goal::Open, Some(&mut once))).await?;
    Ok(ws)
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wraps `stream`, whose opening handshake another layer did, in a WebSocket that is OPEN
    /// from the start ([`Connection::open`]), as tungstenite's `from_raw_socket` does: the
    /// stream of an HTTP/1.1 Upgrade done by an HTTP library (after the 101), or of an HTTP/2
    /// (RFC 8441) or HTTP/3 (RFC 9220) extended CONNECT (after the 200).
    ///
    /// `role` is this side's: a [`Role::Client`] masks what it sends with `entropy` (use a
    /// CSPRNG), a server never draws from it. `subprotocol` is what the handshake agreed, for
    /// [`subprotocol`](Self::subprotocol).
    ///
    /// On an HTTP/2 or HTTP/3 stream the stream's end stands for the TCP close (RFC 8441 §5):
    /// the stream's `poll_shutdown` must send `END_STREAM` (the QUIC stream's FIN), as hyper's
    /// upgraded HTTP/2 stream does, and its end of input (or a reset) ends the connection, with
    /// code 1006 unless the closing handshake had completed.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for an inconsistent `config`.
    pub fn open<E>(
        stream: S,
        role: Role,
        config: Config,
        mut entropy: E,
        subprotocol: Option<&str>,
    ) -> Result<Self, Error>
    where
        E: Entropy + Send + 'static,
    {
        let entropy: BoxedEntropy = Box::new(move |buf: &mut [u8]| entropy.fill(buf));
        let epoch = tokio::time::Instant::now();
        let conn = Connection::open(config, role, entropy, Instant::from_millis(0))?;
        let mut ws = WebSocket::new(stream, conn);
        ws.epoch = epoch;
        ws.subprotocol = subprotocol.map(String::from);
        Ok(ws)
    }
}

/// Gives a closure the higher-ranked signature of [`Decide`].
fn decider<F>(f: F) -> F
where
    F: for<'r> FnMut(&Request<'r>) -> Result<AcceptOptions<'r>, Reject>,
{
    f
}

/// What [`WebSocket::poll_drive`] runs until.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    /// The opening handshake is done.
    Open,
    /// A message arrived (or the connection closed).
    Message,
    /// The connection is closed and everything is written; messages are dropped.
    Closed,
}

/// What [`WebSocket::poll_drive`] reached.
enum Reached {
    Open,
    Message(Message),
    Closed(CloseInfo),
}

/// An async WebSocket over the stream `S`, OPEN once [`connect`] or [`accept`] returned it.
///
/// A [`Stream`] of received messages and a [`Sink`] of messages to send; see the crate
/// documentation for how each is driven.
pub struct WebSocket<S> {
    stream: S,
    conn: Connection<BoxedEntropy>,
    /// Where the connection's clock starts.
    epoch: tokio::time::Instant,
    sleep: Pin<Box<Sleep>>,
    /// Input: `rx[rx_start..rx_end]` is read but not yet consumed.
    rx: Box<[u8]>,
    rx_start: usize,
    rx_end: usize,
    /// Outbound: `tx[tx_pos..]` is queued, not yet written to the stream.
    tx: Vec<u8>,
    tx_pos: usize,
    high_water: usize,
    /// The stream needs a flush.
    unflushed: bool,
    /// The core asked for the write side to be shut down, and it is not yet.
    shutdown_pending: bool,
    /// Nothing more is written: shut down, or the stream failed.
    write_done: bool,
    /// The message being reassembled.
    message: Vec<u8>,
    subprotocol: Option<String>,
    peer_reason: String,
    last_pong: Option<Vec<u8>>,
    /// The stream of messages has ended.
    ended: bool,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("state", &self.conn.state())
            .field("role", &self.conn.role())
            .field("subprotocol", &self.subprotocol)
            .field("buffered_amount", &self.buffered_amount())
            .finish_non_exhaustive()
    }
}

impl<S> WebSocket<S> {
    /// Bytes queued by the sink (or as control frames) but not yet written to the transport,
    /// like the browser's `WebSocket.bufferedAmount`.
    pub fn buffered_amount(&self) -> usize {
        self.tx.len() - self.tx_pos
    }

    /// The outbound buffer's high-water mark: `poll_ready` is `Pending` while more than this is
    /// queued. A message is accepted whole whatever its size, so the buffer may exceed it by one
    /// message.
    pub fn set_high_water_mark(&mut self, bytes: usize) {
        self.high_water = bytes;
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

    /// The reason in the peer's close frame, empty until one arrives (or if it had none).
    pub fn close_reason(&self) -> &str {
        &self.peer_reason
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

    /// The stream, dropping the connection's state and whatever is buffered.
    pub fn into_inner(self) -> S {
        self.stream
    }

    fn now(&self) -> Instant {
        let millis = self.epoch.elapsed().as_millis();
        Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    /// Appends a frame carrying `data` to the outbound buffer.
    fn queue_frame(&mut self, kind: DataKind, data: &[u8]) -> Result<(), Error> {
        let mut head = [0u8; CONTROL_ROOM];
        let start = self
            .conn
            .begin_frame(kind, data.len() as u64, true, &mut head)?;
        self.tx.reserve(start.written + data.len());
        self.tx.extend_from_slice(&head[..start.written]);
        match start.mask {
            Some(key) => {
                let at = self.tx.len();
                self.tx.resize(at + data.len(), 0);
                apply_mask_copy(data, &mut self.tx[at..], key, 0);
            }
            None => self.tx.extend_from_slice(data),
        }
        Ok(())
    }

    /// Queues a close frame, unless one was sent or the connection is closed.
    fn queue_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let mut frame = [0u8; CONTROL_ROOM];
        let now = self.now();
        match self.conn.close(code, reason, now, &mut frame) {
            Ok(n) => self.tx.extend_from_slice(&frame[..n]),
            // The peer's close came first and was answered, or we closed already.
            Err(connection::Error::CloseAlreadySent | connection::Error::InvalidState(_)) => {}
            Err(err) => return Err(Error::Usage(err)),
        }
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    fn new(stream: S, conn: Connection<BoxedEntropy>) -> Self {
        let rx_len = RX_LEN.max(conn.config().max_head_len);
        let epoch = tokio::time::Instant::now();
        WebSocket {
            stream,
            conn,
            epoch,
            sleep: Box::pin(tokio::time::sleep_until(epoch)),
            rx: vec![0; rx_len].into_boxed_slice(),
            rx_start: 0,
            rx_end: 0,
            tx: Vec::new(),
            tx_pos: 0,
            high_water: HIGH_WATER,
            unflushed: false,
            shutdown_pending: false,
            write_done: false,
            message: Vec::new(),
            subprotocol: None,
            peer_reason: String::new(),
            last_pong: None,
            ended: false,
        }
    }

    /// Sends a ping with `payload` (at most 125 bytes) and flushes. The pong is not reported.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a payload over 125 bytes or when not OPEN; [`Error::Io`].
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        let mut frame = [0u8; CONTROL_ROOM];
        let n = self.conn.ping(payload, &mut frame)?;
        self.tx.extend_from_slice(&frame[..n]);
        poll_fn(|cx| self.poll_write_out(cx)).await
    }

    /// Closes with `code` and `reason` (at most 123 bytes) and runs the closing handshake to its
    /// end, as `Sink::poll_close` does with 1000 and no reason. Messages that arrive meanwhile
    /// are dropped.
    ///
    /// Returns how the connection ended when the closing handshake completed.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a code that may not be sent (1005, 1006, 1015, under 1000 …);
    /// [`Error::Protocol`] with [`ProtocolError::CloseTimeout`] when the peer did not answer
    /// within `Config::close_timeout`, or another failure; [`Error::Io`].
    pub async fn close_with(&mut self, code: CloseCode, reason: &str) -> Result<CloseInfo, Error> {
        self.queue_close(code, reason)?;
        match poll_fn(|cx| self.poll_drive(cx, Goal::Closed, None)).await? {
            Reached::Closed(info) if info.clean => Ok(info),
            Reached::Closed(info) => Err(Error::from_close(info, &self.peer_reason)),
            Reached::Open | Reached::Message(_) => {
                unreachable!("poll_drive runs until closed for this goal")
            }
        }
    }

    /// Writes the outbound buffer (after collecting what the connection has queued) and flushes
    /// it; shuts the write side down when the connection asks for it.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            if self.write_done {
                self.tx.clear();
                self.tx_pos = 0;
                return Poll::Ready(Ok(()));
            }
            let mut frame = [0u8; CONTROL_ROOM];
            match self.conn.poll_transmit(&mut frame) {
                Ok(Transmit::Bytes(n)) => {
                    self.tx.extend_from_slice(&frame[..n]);
                    continue;
                }
                Ok(Transmit::ShutdownWrite) => self.shutdown_pending = true,
                Ok(Transmit::Nothing) => {}
                Err(connection::Error::BufferTooSmall { needed }) => {
                    // Only a handshake error response can be this large.
                    let mut big = vec![0u8; needed];
                    if let Ok(Transmit::Bytes(n)) = self.conn.poll_transmit(&mut big) {
                        self.tx.extend_from_slice(&big[..n]);
                    }
                    continue;
                }
                Err(err) => return Poll::Ready(Err(Error::Usage(err))),
            }
            break;
        }
        while self.tx_pos < self.tx.len() {
            match Pin::new(&mut self.stream).poll_write(cx, &self.tx[self.tx_pos..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(self.broken(io::ErrorKind::WriteZero.into())));
                }
                Poll::Ready(Ok(n)) => {
                    self.tx_pos += n;
                    self.unflushed = true;
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(self.broken(err))),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.tx.clear();
        self.tx_pos = 0;
        if self.tx.capacity() > TX_KEEP {
            self.tx.shrink_to(TX_KEEP);
        }
        if self.unflushed {
            if let Err(err) = ready!(Pin::new(&mut self.stream).poll_flush(cx)) {
                return Poll::Ready(Err(self.broken(err)));
            }
            self.unflushed = false;
        }
        if self.shutdown_pending {
            // The peer may be gone already; nothing more is written either way.
            let _ = ready!(Pin::new(&mut self.stream).poll_shutdown(cx));
            self.shutdown_pending = false;
            self.write_done = true;
        }
        Poll::Ready(Ok(()))
    }

    /// The stream failed: the connection is over.
    fn broken(&mut self, err: io::Error) -> Error {
        self.write_done = true;
        let now = self.now();
        self.conn.receive_eof(now);
        Error::Io(err)
    }

    /// Drives the connection: receive until no event, write, wait for the timer or input, until
    /// `goal` is reached. `decide` answers a server's handshake request.
    fn poll_drive(
        &mut self,
        cx: &mut Context<'_>,
        goal: Goal,
        mut decide: Option<&mut Decide<'_>>,
    ) -> Poll<Result<Reached, Error>> {
        loop {
            // 1. Receive until no event.
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
                    if goal != Goal::Message {
                        continue;
                    }
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
                    // Pongs and close replies go out as soon as possible; a stalled transport
                    // must not hold the message back.
                    if let Poll::Ready(Err(err)) = self.poll_write_out(cx) {
                        return Poll::Ready(Err(err));
                    }
                    return Poll::Ready(Ok(Reached::Message(match kind {
                        DataKind::Text => Message::Text(
                            String::from_utf8(data)
                                .expect("the connection validated the message's UTF-8"),
                        ),
                        DataKind::Binary => Message::Binary(data),
                    })));
                }
                Some(Event::Request(request)) => {
                    let answer = match decide.as_mut() {
                        Some(decide) => decide(&request),
                        None => Err(Reject::new(500)),
                    };
                    let mut out = vec![0u8; 1024];
                    let written = match &answer {
                        Ok(options) => loop {
                            match self.conn.accept(options, &mut out) {
                                Err(connection::Error::BufferTooSmall { needed }) => {
                                    out.resize(needed, 0)
                                }
                                other => break other,
                            }
                        },
                        Err(reject) => {
                            let headers: Vec<(&str, &str)> = reject
                                .headers
                                .iter()
                                .map(|(name, value)| (name.as_str(), value.as_str()))
                                .collect();
                            loop {
                                match self.conn.reject(
                                    reject.status,
                                    &headers,
                                    &reject.body,
                                    &mut out,
                                ) {
                                    Err(connection::Error::BufferTooSmall { needed }) => {
                                        out.resize(needed, 0)
                                    }
                                    other => break other,
                                }
                            }
                        }
                    };
                    self.tx.extend_from_slice(&out[..written?]);
                    if let Ok(options) = answer {
                        self.subprotocol = options.subprotocol.map(String::from);
                        if goal == Goal::Open {
                            // The 101 response is written by the first poll of the sink or the
                            // stream; write what the transport takes now.
                            if let Poll::Ready(Err(err)) = self.poll_write_out(cx) {
                                return Poll::Ready(Err(err));
                            }
                            return Poll::Ready(Ok(Reached::Open));
                        }
                    }
                    continue;
                }
                Some(Event::Accepted(response)) => {
                    self.subprotocol = response.subprotocol().map(String::from);
                    if goal == Goal::Open {
                        return Poll::Ready(Ok(Reached::Open));
                    }
                    continue;
                }
                Some(Event::CloseReceived { reason, .. }) => {
                    self.peer_reason = reason.into();
                    continue;
                }
                Some(Event::Pong(payload)) => {
                    self.last_pong = Some(payload.to_vec());
                    continue;
                }
                // Pings are answered and closes echoed by the core; `Closed` is seen below.
                Some(_) => continue,
                None => {}
            }

            // 2. Write what is queued. The connection is over once it is closed and all is out.
            let written = self.poll_write_out(cx)?;
            if self.conn.state() == ReadyState::Closed {
                if written.is_pending() && !self.write_done {
                    return Poll::Pending;
                }
                let info = self.conn.close_info().unwrap_or(CLOSED);
                return Poll::Ready(match (goal, info.error) {
                    (Goal::Open, _) => Err(Error::from_close(info, &self.peer_reason)),
                    _ => Ok(Reached::Closed(info)),
                });
            }

            // 3. The next deadline.
            if let Some(deadline) = self.conn.poll_timeout() {
                let at = self.epoch + std::time::Duration::from_millis(deadline.as_millis());
                if self.sleep.deadline() != at {
                    self.sleep.as_mut().reset(at);
                }
                if self.sleep.as_mut().poll(cx).is_ready() {
                    let now = self.now().max(deadline);
                    self.conn.handle_timeout(now);
                    continue;
                }
            }

            // 4. Input.
            if self.rx_start == self.rx_end {
                (self.rx_start, self.rx_end) = (0, 0);
            } else if self.rx_end == self.rx.len() {
                self.rx.copy_within(self.rx_start..self.rx_end, 0);
                (self.rx_start, self.rx_end) = (0, self.rx_end - self.rx_start);
            }
            let mut buf = ReadBuf::new(&mut self.rx[self.rx_end..]);
            match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                    let now = self.now();
                    self.conn.receive_eof(now);
                }
                Poll::Ready(Ok(())) => self.rx_end += buf.filled().len(),
                Poll::Ready(Err(err)) => return Poll::Ready(Err(self.broken(err))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// What `close_info` says of a closed connection that lost its info (never happens).
const CLOSED: CloseInfo = CloseInfo {
    clean: false,
    code: CloseCode::ABNORMAL,
    error: None,
};

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocket<S> {
    type Item = Result<Message, Error>;

    /// The next whole message. `None` after a clean close; a failure is yielded once as an
    /// `Err`, then `None`.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        match ready!(this.poll_drive(cx, Goal::Message, None)) {
            Ok(Reached::Message(message)) => Poll::Ready(Some(Ok(message))),
            Ok(Reached::Closed(info)) => {
                this.ended = true;
                Poll::Ready(match info.error {
                    None => None,
                    Some(_) => Some(Err(Error::from_close(info, &this.peer_reason))),
                })
            }
            Ok(Reached::Open) => unreachable!("the connection is open already"),
            Err(err) => {
                this.ended = true;
                Poll::Ready(Some(Err(err)))
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocket<S> {
    type Error = Error;

    /// Ready while the outbound buffer is at or under the high-water mark; over it, writes to
    /// the transport and stays `Pending` until enough is written.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.conn.state() != ReadyState::Open {
            return Poll::Ready(Err(this.not_open()));
        }
        if this.buffered_amount() > this.high_water {
            let written = this.poll_write_out(cx)?;
            if written.is_pending() && this.buffered_amount() > this.high_water {
                return Poll::Pending;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Queues the message as one frame. Nothing is written until `poll_ready` (over the
    /// high-water mark), `poll_flush` or `poll_close`.
    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        let this = self.get_mut();
        match &message {
            Message::Text(text) => this.queue_frame(DataKind::Text, text.as_bytes()),
            Message::Binary(bytes) => this.queue_frame(DataKind::Binary, bytes),
        }
        .map_err(|err| match err {
            Error::Usage(
                connection::Error::InvalidState(_) | connection::Error::CloseAlreadySent,
            ) => this.not_open(),
            err => err,
        })
    }

    /// Writes the outbound buffer and flushes the transport.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_write_out(cx)
    }

    /// Sends a close frame (1000, no reason) unless one was sent, then runs the closing
    /// handshake to its end; messages that arrive meanwhile are dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        this.queue_close(CloseCode::NORMAL, "")?;
        match ready!(this.poll_drive(cx, Goal::Closed, None))? {
            Reached::Closed(info) if info.clean || this.ended => Poll::Ready(Ok(())),
            Reached::Closed(info) => Poll::Ready(Err(Error::from_close(info, &this.peer_reason))),
            Reached::Open | Reached::Message(_) => {
                unreachable!("poll_drive runs until closed for this goal")
            }
        }
    }
}

impl<S> WebSocket<S> {
    /// The error for sending on a connection that is not OPEN.
    fn not_open(&self) -> Error {
        match self.conn.close_info() {
            Some(info) => Error::Closed {
                info,
                reason: self.peer_reason.clone(),
            },
            None => Error::Usage(connection::Error::InvalidState(self.conn.state())),
        }
    }
}
