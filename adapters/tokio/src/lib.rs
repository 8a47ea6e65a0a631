//! # wsproto-tokio: an async WebSocket over tokio streams
//!
//! A [`WebSocket`] drives a [`wsproto`] [`Session`] over any
//! `tokio::io::AsyncRead + AsyncWrite + Unpin` stream (a `TcpStream`, a TLS stream, a
//! `tokio::io::duplex` pipe) and is both a [`Stream`] of received [`Message`]s and a [`Sink`] of
//! messages to send. The protocol and its buffering live in the core's session; this crate only
//! moves bytes between the session and the stream and runs the timers on `tokio::time`.
//!
//! - [`connect_url`] connects to a `ws://` or `wss://` URL in one call (TCP, TLS through rustls
//!   with the feature `rustls` and the roots of `webpki-roots` or `native-roots`, OS entropy,
//!   permessage-deflate offered); [`ClientBuilder`] adds subprotocols, headers and a TLS
//!   configuration of your own. [`connect`] and [`accept`] do the opening handshake over any
//!   stream. [`WebSocket::server`] and [`WebSocket::client`] wrap a stream whose handshake
//!   another layer did (an HTTP/1.1 Upgrade through hyper, an HTTP/2 or HTTP/3 extended CONNECT
//!   stream): it starts OPEN. With the feature `http`, the [`http`] module checks and answers
//!   such handshakes in the `http` crate's types.
//! - [`Message`]s hold [`Bytes`] and [`Utf8Bytes`]: a clone shares the payload, so one message
//!   broadcast to many sockets is not copied per socket.
//! - [`Options::default`] receives messages of up to 16 MiB ([`DEFAULT_MAX_MESSAGE_SIZE`], and
//!   why) with permessage-deflate on; a message over the limit fails the connection with 1009
//!   and an error naming the limit and its value.
//! - The [`Stream`] yields whole text and binary messages. While it is polled, pings are
//!   answered, the peer's close is echoed and the timers (keepalive pings, their pong deadline,
//!   the close timeout) fire: keep polling it, from a reader task if the writer lives elsewhere
//!   (`futures::StreamExt::split` gives two halves). It ends (`None`) after a clean closing
//!   handshake; a failure is yielded once as an `Err` first.
//! - The [`Sink`] queues each message's frame in the session's output. [`buffered_amount`]
//!   (like the browser's `WebSocket.bufferedAmount`) is what is queued but not yet written to the
//!   transport; `poll_ready` returns `Pending` while it is over the high-water mark
//!   ([`set_high_water_mark`], 128 KiB by default) and the transport does not take more, which is
//!   the backpressure. `poll_close` (or [`close_with`](WebSocket::close_with), with a code and
//!   reason) runs the closing handshake to its end.
//! - A peer that sends pings (or anything that needs an answer) and never reads cannot grow the
//!   output without bound: while more than [`SessionConfig::output_high_water`] bytes wait
//!   unsent, no more input is read, so the backpressure reaches the peer's socket.
//! - permessage-deflate (RFC 7692, feature `deflate`, on by default) is one setting,
//!   [`Options::deflate`] (on in [`Options::default`]): a client offers it, a server accepts a
//!   client's offer, and compression is then transparent. [`WebSocket::enable_deflate`]
//!   switches it on for a stream whose handshake negotiated it elsewhere.
//!
//! [`buffered_amount`]: WebSocket::buffered_amount
//! [`set_high_water_mark`]: WebSocket::set_high_water_mark
//!
//! ## Costs
//!
//! The session's input buffer (16 KiB reads, grown to hold the largest message, given back once
//! idle), its output (grows to the largest burst of queued frames, given back once written), one
//! `tokio::time::Sleep`. Each received message is copied once, into the [`Message`]'s shared
//! buffer; text is validated once, by the connection, as it arrives. Each sent payload is
//! copied once into the output (masked there by a client). Everything queued goes to the stream
//! in one write, flushed at once. The clock is read once per read from the stream and when a timer fires, not per
//! message.
//!
//! ## Example
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use wsproto_tokio::{Accept, ClientRequest, Message, OsEntropy, Options};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wsproto_tokio::Error> {
//! let (client_io, server_io) = tokio::io::duplex(64 * 1024);
//! let server = tokio::spawn(async move {
//!     let mut ws = wsproto_tokio::accept(server_io, Options::default(), |_| Ok(Accept::new())).await?;
//!     while let Some(message) = ws.next().await {
//!         ws.send(message?).await?; // echo
//!     }
//!     Ok::<_, wsproto_tokio::Error>(())
//! });
//!
//! // Over TCP, `wsproto_tokio::connect_url("ws://localhost/")` does all of this.
//! let request = ClientRequest::new("localhost", "/");
//! let mut ws = wsproto_tokio::connect(client_io, &request, Options::default(), OsEntropy::new()?).await?;
//! ws.send(Message::from("hello")).await?;
//! assert_eq!(ws.next().await.transpose()?, Some(Message::from("hello")));
//! ws.close().await?; // the closing handshake, both ways
//! server.await.unwrap()?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::cell::RefCell;
use std::collections::VecDeque;
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
#[cfg(feature = "deflate")]
pub use wsproto::deflate::{DeflateConfig, DeflateParams};
pub use wsproto::entropy::{Entropy, NoEntropy};
pub use wsproto::handshake::{AcceptOptions, ClientRequest, Field, HandshakeError, Request};
pub use wsproto::session::{Accept, Reject, SessionConfig};

pub use bytes::Bytes;
pub use client::{ClientBuilder, Connected, connect_url};
pub use entropy::OsEntropy;
pub use message::{Message, Utf8Bytes};
pub use options::{DEFAULT_MAX_MESSAGE_SIZE, Options};
/// The rustls crate this adapter's TLS runs on, for building a
/// [`ClientConfig`](rustls::ClientConfig) for [`ClientBuilder::tls_config`].
#[cfg(feature = "rustls")]
pub use tokio_rustls::rustls;
pub use transport::MaybeTlsStream;
pub use url::{UrlError, WsUrl};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;
use wsproto::connection::{self, Connection};
use wsproto::handshake::Rejection;
use wsproto::session::{Answer, Session, SessionEvent};
use wsproto::time::Instant;

mod client;
mod entropy;
#[cfg(feature = "http")]
pub mod http;
mod message;
mod options;
#[cfg(feature = "rustls")]
mod tls;
mod transport;
mod url;

/// What went wrong: the core's one adapter error type, over `std::io::Error`.
///
/// [`Error::Closed`] carries how the connection ended; the peer's reason is
/// [`WebSocket::close_reason`].
pub type Error = wsproto::session::SessionError<io::Error>;

/// The default high-water mark of the outbound buffer.
const HIGH_WATER: usize = 128 * 1024;

/// The most the shared input buffer keeps between polls, in reads of the connection polled.
const SHARED_INPUT_READS: usize = 4;

thread_local! {
    /// One input buffer per thread, lent to each connection polled on it for its reads
    /// (`Session::lend_input`) and handed back before the poll returns: a connection with
    /// nothing in flight holds no input buffer. Only a message still arriving keeps storage of
    /// its own, given back once delivered.
    static SHARED_INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The connection's entropy source, boxed so that [`WebSocket`] has no entropy type parameter.
type BoxedEntropy = Box<dyn FnMut(&mut [u8]) + Send>;

/// The session under a [`WebSocket`].
type BoxedSession = Session<Vec<u8>, BoxedEntropy>;

/// The decision a server makes on a request (see [`accept`]).
type Decide<'f> = dyn FnMut(&Request<'_>) -> Result<Accept, Reject> + 'f;

/// Client: sends the opening handshake `request` over `stream` and waits for the server's answer.
/// `entropy` supplies the handshake nonce and every masking key: use a CSPRNG ([`OsEntropy`]).
/// `options` is a [`Config`] or [`Options`] (which may offer permessage-deflate). For a TCP or
/// TLS connection to a URL, [`connect_url`] does the rest too; this is for transports of your
/// own.
///
/// # Errors
///
/// Those of a client's opening handshake, listed at
/// [`SessionError`](wsproto::session::SessionError#the-opening-handshakes-errors).
pub fn connect<S, E>(
    stream: S,
    request: &ClientRequest<'_>,
    options: impl Into<Options>,
    mut entropy: E,
) -> impl Future<Output = Result<WebSocket<S>, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    E: Entropy + Send + 'static,
{
    let options = options.into();
    let entropy: BoxedEntropy = Box::new(move |buf: &mut [u8]| entropy.fill(buf));
    let opened = Connection::client(options.config, entropy, Instant::from_millis(0))
        .map(|conn| WebSocket::new(stream, conn, &options))
        .and_then(|mut ws| {
            let now = ws.now();
            ws.session.connect(request, now)?;
            Ok(ws)
        });
    // Boxed, like `accept`'s: the handshake's state is freed once it is done.
    Box::pin(async move {
        let mut ws = opened?;
        poll_fn(|cx| ws.poll_drive(cx, Goal::Open, None)).await?;
        Ok(ws)
    })
}

/// Server: reads the opening handshake request from `stream` and lets `decide` answer it:
/// `Ok(accept)` accepts (with a subprotocol among `request.subprotocols()` and extra headers,
/// owned: see [`Accept`]), `Err(reject)` refuses with an HTTP response. A malformed request is
/// answered with 400, 426 or 431 by the core. With [`Options::deflate`] set (as by default), a
/// client's permessage-deflate offer is accepted.
///
/// ```
/// use wsproto_tokio::{Accept, Options};
/// # use tokio::net::TcpStream;
/// # async fn serve(stream: TcpStream, session_id: u64) -> Result<(), wsproto_tokio::Error> {
/// // The server's own list, in its order of preference.
/// let supported: Vec<String> = vec!["chat.v2".into(), "chat.v1".into()];
/// let ws = wsproto_tokio::accept(stream, Options::default(), |request| {
///     let offered = |p: &&String| request.subprotocols().any(|offer| offer == p.as_str());
///     let chosen = supported.iter().find(offered);
///     Ok(Accept::new()
///         .with_subprotocol(chosen.cloned())
///         .with_header("Set-Cookie", format!("session={session_id}")))
/// })
/// .await?;
/// # drop(ws);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// Those of a server's opening handshake, listed at
/// [`SessionError`](wsproto::session::SessionError#the-opening-handshakes-errors);
/// [`Error::Usage`] for a reserved or malformed header in [`Accept::headers`].
pub fn accept<S, F>(
    stream: S,
    options: impl Into<Options>,
    decide: F,
) -> impl Future<Output = Result<WebSocket<S>, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request<'_>) -> Result<Accept, Reject>,
{
    let options = options.into();
    // Boxed: the handshake's state (the decision, the options) lives on the heap until the
    // handshake is done and is freed then, instead of staying in the size of every task that
    // awaits it for the connection's whole life.
    Box::pin(accept_boxed(stream, options, decide))
}

/// [`accept`]'s handshake.
async fn accept_boxed<S, F>(stream: S, options: Options, decide: F) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request<'_>) -> Result<Accept, Reject>,
{
    // A server never draws entropy; the box only gives clients and servers one type.
    let no_entropy: BoxedEntropy = Box::new(|buf: &mut [u8]| buf.fill(0));
    let conn =
        Connection::server_with_entropy(options.config, no_entropy, Instant::from_millis(0))?;
    let mut ws = WebSocket::new(stream, conn, &options);
    let mut decide = Some(decide);
    let mut once = decider(move |request| match decide.take() {
        Some(decide) => decide(request),
        None => Err(Reject::new(500)),
    });
    poll_fn(|cx| ws.poll_drive(cx, Goal::Open, Some(&mut once))).await?;
    Ok(ws)
}

/// Gives a closure the signature of [`Decide`].
fn decider<F>(f: F) -> F
where
    F: FnMut(&Request<'_>) -> Result<Accept, Reject>,
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
    /// Boxed: a task's future holds the `WebSocket` beside the future that made it (a
    /// compiler limit of async layouts), so a small `WebSocket` keeps idle tasks small.
    session: Box<BoxedSession>,
    /// Where the connection's clock starts.
    epoch: tokio::time::Instant,
    /// The clock as last read; read again only after input arrived or a timer fired.
    clock: Instant,
    clock_stale: bool,
    /// The timer, made when a deadline is set and dropped when none is: an idle connection
    /// without keepalive has none.
    sleep: Option<Pin<Box<Sleep>>>,
    high_water: usize,
    /// The stream needs a flush.
    unflushed: bool,
    /// Nothing more is written: shut down, or the stream failed.
    write_done: bool,
    subprotocol: Option<String>,
    last_pong: Option<Vec<u8>>,
    /// The stream of messages has ended.
    ended: bool,
    /// Whole messages of one read after the first, handed out before reading again. While any
    /// wait, `poll_flush` leaves the output for the write after the last one (their echoes
    /// then go out in one write).
    received: VecDeque<Message>,
    /// `poll_flush` writes at once, even while received messages wait.
    flush_each: bool,
    /// Server: why the core refused the application's acceptance (answered with 500 instead).
    acceptance_refused: Option<connection::Error>,
}

wsproto::socket_debug!(WebSocket<S> { session: session, subprotocol: subprotocol });

impl<S> WebSocket<S> {
    /// The outbound buffer's high-water mark: `poll_ready` is `Pending` while more than this is
    /// queued. A message is accepted whole whatever its size, so the buffer may exceed it by one
    /// message.
    pub fn set_high_water_mark(&mut self, bytes: usize) {
        self.high_water = bytes;
    }

    /// Whether `poll_flush` (and so `SinkExt::send`) writes at once even while messages of the
    /// last read wait to be handed out. Off by default: the replies to messages that arrived
    /// in one read go out in one write, after the last of them is handed out (or when the
    /// stream is polled and must read, or on `poll_close`), which saves a write system call per
    /// message; a lone message is never delayed. Turn it on for an application that stops
    /// polling the stream in the middle of a burst and still expects its sends on the wire.
    pub fn set_flush_each(&mut self, flush_each: bool) {
        self.flush_each = flush_each;
    }

    wsproto::session_accessors!(session: session);
    wsproto::session_accessors!(replies: subprotocol subprotocol, last_pong last_pong);
    wsproto::session_accessors!(transport: stream: S);

    /// The connection's clock. Reading the system clock is left for when time may have moved
    /// in a way the connection cares about: input arrived (a close frame starts the close
    /// timeout), a timer fired, the application closes.
    fn now(&mut self) -> Instant {
        if self.clock_stale {
            let millis = self.epoch.elapsed().as_millis();
            self.clock = Instant::from_millis(u64::try_from(millis).unwrap_or(u64::MAX));
            self.clock_stale = false;
        }
        self.clock
    }

    /// Queues a close frame, unless one was sent or the connection is closed.
    fn queue_close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.clock_stale = true;
        let now = self.now();
        match self.session.close(code, reason, now) {
            // The peer's close came first and was answered, or we closed already.
            Ok(())
            | Err(connection::Error::CloseAlreadySent | connection::Error::InvalidState(_)) => {
                Ok(())
            }
            Err(err) => Err(Error::Usage(err)),
        }
    }

    /// The error for sending on a connection that is not OPEN.
    fn not_open(&self) -> Error {
        match self.session.close_info() {
            Some(info) => Error::Closed(info),
            None => Error::Usage(connection::Error::InvalidState(self.session.state())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    fn new(stream: S, conn: Connection<BoxedEntropy>, options: &Options) -> Self {
        let epoch = tokio::time::Instant::now();
        WebSocket {
            stream,
            session: Box::new(Session::new(
                conn,
                options.session_config(),
                Vec::new(),
                Vec::new(),
            )),
            epoch,
            clock: Instant::from_millis(0),
            clock_stale: false,
            sleep: None,
            high_water: HIGH_WATER,
            unflushed: false,
            write_done: false,
            subprotocol: None,
            last_pong: None,
            ended: false,
            received: VecDeque::new(),
            flush_each: false,
            acceptance_refused: None,
        }
    }

    /// Server: wraps `stream`, whose opening handshake another layer did, in a WebSocket that
    /// is OPEN from the start ([`Connection::open`]), as tungstenite's `from_raw_socket` does:
    /// the stream of an HTTP/1.1 Upgrade done by an HTTP library (after the 101), or of an
    /// HTTP/2 (RFC 8441) or HTTP/3 (RFC 9220) extended CONNECT (after the 200).
    ///
    /// `subprotocol` is what the handshake agreed, for [`subprotocol`](Self::subprotocol). If
    /// the handshake negotiated permessage-deflate, pass its parameters to
    /// [`enable_deflate`](Self::enable_deflate) before the first message.
    ///
    /// On an HTTP/2 or HTTP/3 stream, see [`open`](Self::open).
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for an inconsistent `config`.
    pub fn server(
        stream: S,
        options: impl Into<Options>,
        subprotocol: Option<&str>,
    ) -> Result<Self, Error> {
        Self::open(stream, Role::Server, options, NoEntropy, subprotocol)
    }

    /// Client: as [`server`](Self::server), for the client's side of a handshake another layer
    /// did; it masks what it sends with keys from the OS random source ([`OsEntropy`]).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the OS has no usable random source; [`Error::Usage`] for an
    /// inconsistent `config`.
    pub fn client(
        stream: S,
        options: impl Into<Options>,
        subprotocol: Option<&str>,
    ) -> Result<Self, Error> {
        let entropy = OsEntropy::new()?;
        Self::open(stream, Role::Client, options, entropy, subprotocol)
    }

    /// The general form of [`server`](Self::server) and [`client`](Self::client): `role` is
    /// this side's, and a [`Role::Client`] masks what it sends with `entropy` (a CSPRNG; a
    /// hardware RNG, or a fixed source in a test), which a server never draws from.
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
        options: impl Into<Options>,
        mut entropy: E,
        subprotocol: Option<&str>,
    ) -> Result<Self, Error>
    where
        E: Entropy + Send + 'static,
    {
        let options = options.into();
        let entropy: BoxedEntropy = Box::new(move |buf: &mut [u8]| entropy.fill(buf));
        let conn = Connection::open(options.config, role, entropy, Instant::from_millis(0))?;
        let mut ws = WebSocket::new(stream, conn, &options);
        ws.subprotocol = subprotocol.map(String::from);
        Ok(ws)
    }

    /// Switches permessage-deflate on with `params` negotiated by the handshake another layer
    /// did (see [`open`](Self::open); with the feature `http`,
    /// `http::WebSocketRequest::accept_response_with_deflate` negotiates them). Call it before
    /// any message is sent or received.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] if the connection is not OPEN or compression is already on.
    #[cfg(feature = "deflate")]
    pub fn enable_deflate(&mut self, params: DeflateParams) -> Result<(), Error> {
        Ok(self.session.enable_deflate(params)?)
    }

    /// Sends a ping with `payload` (at most 125 bytes) and flushes. The pong is not reported.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for a payload over 125 bytes or when not OPEN; [`Error::Io`].
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.session.ping(payload)?;
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
            Reached::Closed(info) => Err(Error::from_close(info)),
            Reached::Open | Reached::Message(_) => {
                unreachable!("poll_drive runs until closed for this goal")
            }
        }
    }

    /// Writes the session's output (everything queued, in one buffer: one write when the
    /// stream takes it all) and flushes; shuts the write side down when the session asks.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.write_done {
            return Poll::Ready(Ok(()));
        }
        while !self.session.output().is_empty() {
            match Pin::new(&mut self.stream).poll_write(cx, self.session.output()) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(self.broken(io::ErrorKind::WriteZero.into())));
                }
                Poll::Ready(Ok(n)) => {
                    self.session.advance_output(n);
                    self.unflushed = true;
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(self.broken(err))),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.unflushed {
            if let Err(err) = ready!(Pin::new(&mut self.stream).poll_flush(cx)) {
                return Poll::Ready(Err(self.broken(err)));
            }
            self.unflushed = false;
        }
        if self.session.wants_shutdown() {
            // The peer may be gone already; nothing more is written either way.
            let _ = ready!(Pin::new(&mut self.stream).poll_shutdown(cx));
            self.session.shutdown_done();
            self.write_done = true;
        }
        Poll::Ready(Ok(()))
    }

    /// The stream failed: the connection is over.
    fn broken(&mut self, err: io::Error) -> Error {
        self.write_done = true;
        self.clock_stale = true;
        let now = self.now();
        self.session.abort(now);
        Error::Io(err)
    }

    /// Answers the server's pending handshake request with `decide`'s verdict.
    fn answer(&mut self, decide: Option<&mut Decide<'_>>) -> Result<(), Error> {
        // The decision is owned, so it is made in the closure and answered after it.
        let mut verdict: Option<Result<Accept, Reject>> = None;
        self.session.answer(|request| {
            verdict = Some(match decide {
                Some(decide) => decide(request),
                None => Err(Reject::new(500)),
            });
            Answer::Later
        })?;
        let answered = match &verdict {
            Some(Ok(accept)) => self.session.accept_owned(accept),
            Some(Err(reject)) => self.session.reject_owned(reject),
            None => Ok(()),
        };
        match (answered, verdict) {
            (Ok(()), Some(Ok(accept))) => self.subprotocol = accept.subprotocol,
            (Ok(()), _) => {}
            // The application's acceptance was invalid (a reserved or malformed header): the
            // client gets a 500, the application this error once that is written.
            (Err(err), Some(Ok(_))) => {
                self.session.reject(Rejection::new(500))?;
                self.acceptance_refused = Some(err);
            }
            (Err(err), _) => return Err(err.into()),
        }
        Ok(())
    }

    /// Drives the session: take its events, write its output, fire its timers, read input,
    /// until `goal` is reached. `decide` answers a server's handshake request. Reads land in
    /// the thread's shared input buffer, handed back before this returns.
    fn poll_drive(
        &mut self,
        cx: &mut Context<'_>,
        goal: Goal,
        decide: Option<&mut Decide<'_>>,
    ) -> Poll<Result<Reached, Error>> {
        if goal == Goal::Message {
            if let Some(message) = self.received.pop_front() {
                if self.received.is_empty() {
                    // A burst's queue is not kept by an idle connection.
                    self.received = VecDeque::new();
                }
                return Poll::Ready(Ok(Reached::Message(message)));
            }
        }
        SHARED_INPUT.with(|shared| match shared.try_borrow_mut() {
            Ok(mut shared) => {
                self.session.lend_input(&mut shared);
                let polled = self.drive(cx, goal, decide);
                self.session.reclaim_input(&mut shared);
                // A large message read whole in one poll grew the shared buffer: the thread
                // keeps a few reads' worth, not the largest message it ever saw.
                let keep = SHARED_INPUT_READS * self.session.config().read_size;
                if shared.len() > keep {
                    shared.truncate(keep);
                    shared.shrink_to_fit();
                }
                polled
            }
            // Polled from inside another connection's poll on this thread (a `decide`
            // callback): this one reads into its own storage.
            Err(_) => self.drive(cx, goal, decide),
        })
    }

    /// [`poll_drive`](Self::poll_drive)'s loop.
    fn drive(
        &mut self,
        cx: &mut Context<'_>,
        goal: Goal,
        mut decide: Option<&mut Decide<'_>>,
    ) -> Poll<Result<Reached, Error>> {
        // The first whole message found; those after it in the same input go to `received`.
        let mut first: Option<Message> = None;
        loop {
            // 1. Events, until the input is used up (or the output must drain first).
            let now = self.now();
            match self.session.poll_event(now) {
                Some(SessionEvent::Text(text)) if goal == Goal::Message => {
                    let message = Message::Text(text.into());
                    match first {
                        None => first = Some(message),
                        Some(_) => self.received.push_back(message),
                    }
                    continue;
                }
                Some(SessionEvent::Binary(bytes)) if goal == Goal::Message => {
                    let message = Message::Binary(Bytes::copy_from_slice(bytes));
                    match first {
                        None => first = Some(message),
                        Some(_) => self.received.push_back(message),
                    }
                    continue;
                }
                Some(SessionEvent::Request(_)) => {
                    let accepted = self.session.state() == ReadyState::Connecting;
                    self.answer(decide.take())?;
                    let accepted = accepted && self.session.state() == ReadyState::Open;
                    if accepted && goal == Goal::Open {
                        // The 101 response goes out now if the transport takes it; what it
                        // does not take the first poll of the sink or the stream writes.
                        if let Poll::Ready(Err(err)) = self.poll_write_out(cx) {
                            return Poll::Ready(Err(err));
                        }
                        return Poll::Ready(Ok(Reached::Open));
                    }
                    continue;
                }
                Some(SessionEvent::Accepted { subprotocol }) => {
                    self.subprotocol = subprotocol.map(String::from);
                    if goal == Goal::Open {
                        return Poll::Ready(Ok(Reached::Open));
                    }
                    continue;
                }
                Some(SessionEvent::Pong(payload)) => {
                    self.last_pong = Some(payload.to_vec());
                    continue;
                }
                Some(SessionEvent::Chunk { .. }) => {
                    unreachable!("growable storage without max_whole_message: messages come whole")
                }
                // Messages nobody waits for are dropped; pings are answered and closes echoed
                // by the session, which keeps the peer's reason; `Closed` is seen below.
                Some(_) => continue,
                None => {}
            }
            // The input is used up: hand out what it held before reading again.
            if let Some(message) = first {
                return Poll::Ready(Ok(Reached::Message(message)));
            }

            // 2. Write what is queued. The connection is over once it is closed and all is out.
            let written = self.poll_write_out(cx)?;
            if self.session.state() == ReadyState::Closed {
                if written.is_pending() && !self.write_done {
                    return Poll::Pending;
                }
                let info = self.session.close_info().unwrap_or(CLOSED);
                return Poll::Ready(match goal {
                    Goal::Open => Err(match self.acceptance_refused.take() {
                        Some(err) => Error::Usage(err),
                        None => Error::from_close(info),
                    }),
                    Goal::Message | Goal::Closed => Ok(Reached::Closed(info)),
                });
            }

            // 3. The next deadline.
            if let Some(deadline) = self.session.poll_timeout() {
                let at = self.epoch + std::time::Duration::from_millis(deadline.as_millis());
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                if sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
                if sleep.as_mut().poll(cx).is_ready() {
                    self.clock_stale = true;
                    let now = self.now().max(deadline);
                    self.session.handle_timeout(now);
                    continue;
                }
            } else {
                // No deadline (the handshake's passed, no keepalive): no timer held.
                self.sleep = None;
            }

            // 4. Input, unless the output is over its high-water mark: then the write above is
            // pending and wakes this task once the transport takes more.
            if !self.session.wants_read() {
                if written.is_pending() {
                    return Poll::Pending;
                }
                continue;
            }
            let mut buf = ReadBuf::new(self.session.read_buf());
            match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    self.clock_stale = true;
                    if n == 0 {
                        self.session.receive_eof();
                    } else {
                        self.session.commit_read(n);
                    }
                }
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
                // A clean end is the stream's end; a failure is yielded once first.
                Poll::Ready(info.error.map(|_| Err(Error::from_close(info))))
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
        if this.session.state() != ReadyState::Open {
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

    /// Queues the message as one frame (compressed if permessage-deflate is on). Nothing is
    /// written until `poll_ready` (over the high-water mark), `poll_flush` or `poll_close`.
    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        let this = self.get_mut();
        this.session
            .send_message(message.as_message())
            .map_err(|err| match err {
                connection::Error::InvalidState(_) | connection::Error::CloseAlreadySent => {
                    this.not_open()
                }
                err => Error::Usage(err),
            })
    }

    /// Writes the outbound buffer and flushes the transport; while messages of the last read
    /// wait to be handed out (see [`set_flush_each`](WebSocket::set_flush_each)), leaves that
    /// for after the last of them.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if !this.flush_each && !this.received.is_empty() {
            return Poll::Ready(Ok(()));
        }
        this.poll_write_out(cx)
    }

    /// Sends a close frame (1000, no reason) unless one was sent, then runs the closing
    /// handshake to its end; messages that arrive meanwhile are dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        this.queue_close(CloseCode::NORMAL, "")?;
        match ready!(this.poll_drive(cx, Goal::Closed, None))? {
            Reached::Closed(info) if info.clean || this.ended => Poll::Ready(Ok(())),
            Reached::Closed(info) => Poll::Ready(Err(Error::from_close(info))),
            Reached::Open | Reached::Message(_) => {
                unreachable!("poll_drive runs until closed for this goal")
            }
        }
    }
}
