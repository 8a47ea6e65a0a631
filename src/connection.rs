//! The connection: a WebSocket endpoint's state machine (RFC 6455 §4–§7).
//!
//! Read RFC 6455 §5.4–§5.5 (fragmentation, control frames) and §7 (closing) first: every rule
//! they state as MUST is enforced here, and cited where it is.
//!
//! [`Connection`] takes a client or a server from CONNECTING through OPEN and CLOSING to CLOSED.
//! It does no IO, reads no clock and owns no RNG: bytes, time and entropy are arguments, events
//! and outbound bytes are results. It allocates nothing, and holds no lifetime: events borrow the
//! caller's input buffer, outbound bytes go into the caller's output buffer.
//!
//! # Methods by kind (call order as in the crate's driving loop)
//!
//! - getters: [`state`](Connection::state), [`role`](Connection::role),
//!   [`close_info`](Connection::close_info), [`config`](Connection::config);
//! - input: [`receive`](Connection::receive), [`receive_eof`](Connection::receive_eof),
//!   [`handle_timeout`](Connection::handle_timeout);
//! - mutators that write into `out`: [`connect`](Connection::connect),
//!   [`accept`](Connection::accept), [`reject`](Connection::reject), [`send`](Connection::send),
//!   [`begin_frame`](Connection::begin_frame), [`ping`](Connection::ping),
//!   [`pong`](Connection::pong), [`close`](Connection::close);
//! - output: [`poll_transmit`](Connection::poll_transmit), then
//!   [`poll_timeout`](Connection::poll_timeout).
//!
//! Every mutator that writes data first writes the control frames the connection has queued
//! (pongs, close replies, keepalive pings) into the same output, so a caller that never calls
//! `poll_transmit` between sends still answers pings.
//!
//! # Errors and failures
//!
//! Peer mistakes are events: bad bytes from the peer end the connection with a queued close frame
//! (1002, 1007, 1009 or 1011) and an [`Event::Closed`] whose [`CloseInfo::error`] says what was
//! wrong; later input is discarded (§7.1.7). Caller mistakes are [`Error`]s and change nothing.

use core::fmt;

use crate::Role;
use crate::close::{CloseCode, CloseError, build_close_payload, parse_close_payload};
use crate::config::{Config, ConfigError};
use crate::decoder::{Decoded, DecoderConfig, FrameDecoder};
use crate::entropy::{Entropy, MaskKeys, NoEntropy};
use crate::frame::{
    FrameError, FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode, Rsv, encode_header,
};
use crate::handshake::{
    self, AcceptOptions, ClientRequest, HandshakeError, HeadLimits, HeadScanner, Request, Response,
};
use crate::mask::{apply_mask, apply_mask_copy};
use crate::time::Instant;
use crate::utf8::{Utf8Error, Utf8Validator};

// The permessage-deflate paths (RFC 7692) live with the rest of that feature in `src/deflate/`,
// but as a child of this module, so that they use the connection's private state directly.
#[cfg(feature = "deflate")]
#[path = "deflate/connection.rs"]
mod deflate_path;

/// The connection's state, numbered like the browser's `WebSocket.readyState`.
///
/// It never moves backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ReadyState {
    /// 0: the opening handshake is under way.
    Connecting = 0,
    /// 1: the handshake succeeded; messages flow both ways.
    Open = 1,
    /// 2: a close frame was sent or received; the closing handshake is under way.
    Closing = 2,
    /// 3: the connection is closed (or could not be opened). Flush what
    /// [`poll_transmit`](Connection::poll_transmit) still gives, then close the transport.
    Closed = 3,
}

/// The kind of a data message (§5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Binary data (opcode 0x2).
    Binary,
}

impl DataKind {
    const fn opcode(self) -> OpCode {
        match self {
            DataKind::Text => OpCode::Text,
            DataKind::Binary => OpCode::Binary,
        }
    }
}

/// What one [`Connection::receive`] call found.
#[derive(Debug)]
pub struct Received<'a> {
    /// How many input bytes were used. The caller MUST drop them and present the rest again,
    /// with newly read bytes appended, on the next call.
    pub consumed: usize,
    /// The event found, or `None` when the connection needs more input to make progress.
    pub event: Option<Event<'a>>,
}

/// Something that happened on the connection. Payloads borrow the caller's input buffer.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Server: a valid opening handshake request. Inspect it (path, origin, cookies,
    /// subprotocols …), then call [`Connection::accept`] or [`Connection::reject`].
    Request(Request<'a>),
    /// Client: the server accepted the handshake. The connection is OPEN.
    Accepted(Response<'a>),
    /// A piece of a text or binary message, unmasked.
    ///
    /// Text chunks are valid UTF-8 so far, but a chunk may end inside a character that the next
    /// chunk completes; the whole message is valid UTF-8 once `message_fin` is seen.
    Data {
        /// Text or binary: the message's kind, repeated on every chunk.
        kind: DataKind,
        /// The bytes (possibly empty for an empty frame).
        chunk: &'a [u8],
        /// This is the message's first chunk.
        message_start: bool,
        /// This chunk completes a frame.
        frame_fin: bool,
        /// This chunk completes the message.
        message_fin: bool,
    },
    /// A ping. If `auto_pong` is on, the pong is already queued.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer's close frame, with its code (1005 if it had none) and reason. If
    /// `auto_close_reply` is on and we had not sent a close, the reply is already queued.
    CloseReceived {
        /// The peer's code, or [`CloseCode::NO_STATUS`] for an empty close frame.
        code: CloseCode,
        /// The peer's reason (valid UTF-8, at most 123 bytes).
        reason: &'a str,
    },
    /// The connection is CLOSED. Given exactly once. Flush
    /// [`poll_transmit`](Connection::poll_transmit), then close the transport.
    Closed(CloseInfo),
}

/// How the connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseInfo {
    /// True if the closing handshake completed: a close frame went each way (the browser's
    /// `wasClean`).
    pub clean: bool,
    /// The code: the peer's close code for a clean close (1005 if it sent none), the code we
    /// failed the connection with, or 1006 (abnormal closure, never sent) when the connection
    /// ended without a close handshake.
    pub code: CloseCode,
    /// What went wrong, if anything did.
    pub error: Option<ProtocolError>,
}

/// What ended a connection abnormally: the peer broke a rule, a timer fired, or the transport
/// ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame-level violation (§5.2–§5.5), or a frame over `max_frame_payload`.
    Frame(FrameError),
    /// A continuation frame with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was in progress (§5.4).
    ExpectedContinuation,
    /// A message over `max_message_size`.
    MessageTooBig {
        /// The size the message would have reached.
        size: u64,
        /// The configured maximum.
        max: u64,
    },
    /// Invalid UTF-8 in a text message (§8.1).
    InvalidUtf8(Utf8Error),
    /// An invalid close frame payload (§5.5.1, §7.4).
    InvalidClose(CloseError),
    /// The opening handshake failed (a malformed request or response, or a rejection status).
    Handshake(HandshakeError),
    /// Server: the application rejected the handshake with this HTTP status.
    Rejected(u16),
    /// The opening handshake took longer than `handshake_timeout`.
    HandshakeTimeout,
    /// Our close frame was not answered within `close_timeout`.
    CloseTimeout,
    /// No pong arrived within `keepalive_timeout` of a keepalive ping.
    KeepaliveTimeout,
    /// The transport ended before the closing handshake completed.
    UnexpectedEof,
    /// permessage-deflate (RFC 7692): invalid compressed data, no scratch buffer to inflate
    /// into, or an invalid negotiation response.
    #[cfg(feature = "deflate")]
    Deflate(crate::deflate::DeflateError),
}

impl ProtocolError {
    /// The close code sent for this failure (§7.4.1). 1006 stands for "none sent".
    pub const fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::Frame(err) => err.close_code(),
            ProtocolError::MessageTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            ProtocolError::InvalidUtf8(_) => CloseCode::INVALID_PAYLOAD,
            ProtocolError::InvalidClose(err) => err.close_code(),
            ProtocolError::KeepaliveTimeout => CloseCode::INTERNAL_ERROR,
            ProtocolError::UnexpectedContinuation | ProtocolError::ExpectedContinuation => {
                CloseCode::PROTOCOL_ERROR
            }
            ProtocolError::Handshake(_)
            | ProtocolError::Rejected(_)
            | ProtocolError::HandshakeTimeout
            | ProtocolError::CloseTimeout
            | ProtocolError::UnexpectedEof => CloseCode::ABNORMAL,
            #[cfg(feature = "deflate")]
            ProtocolError::Deflate(err) => err.close_code(),
        }
    }

    /// A short reason sent in the close frame (static, so no allocation is needed).
    const fn reason(&self) -> &'static str {
        match self {
            ProtocolError::Frame(FrameError::FrameTooLarge { .. }) => "frame too big",
            ProtocolError::Frame(_) => "protocol error",
            ProtocolError::UnexpectedContinuation => "unexpected continuation frame",
            ProtocolError::ExpectedContinuation => "expected continuation frame",
            ProtocolError::MessageTooBig { .. } => "message too big",
            ProtocolError::InvalidUtf8(_) => "invalid UTF-8",
            ProtocolError::InvalidClose(_) => "invalid close frame",
            ProtocolError::KeepaliveTimeout => "keepalive ping timeout",
            #[cfg(feature = "deflate")]
            ProtocolError::Deflate(err) => err.reason(),
            _ => "",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Frame(err) => write!(f, "{err}"),
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message in progress")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("new data frame inside a fragmented message")
            }
            ProtocolError::MessageTooBig { size, max } => {
                write!(
                    f,
                    "message of at least {size} bytes exceeds the maximum of {max}"
                )
            }
            ProtocolError::InvalidUtf8(err) => write!(f, "{err}"),
            ProtocolError::InvalidClose(err) => write!(f, "{err}"),
            ProtocolError::Handshake(err) => write!(f, "opening handshake failed: {err}"),
            ProtocolError::Rejected(status) => write!(f, "handshake rejected with status {status}"),
            ProtocolError::HandshakeTimeout => f.write_str("opening handshake timed out"),
            ProtocolError::CloseTimeout => f.write_str("closing handshake timed out"),
            ProtocolError::KeepaliveTimeout => f.write_str("no pong within the keepalive timeout"),
            ProtocolError::UnexpectedEof => {
                f.write_str("transport closed before the closing handshake completed")
            }
            #[cfg(feature = "deflate")]
            ProtocolError::Deflate(err) => write!(f, "{err}"),
        }
    }
}

impl core::error::Error for ProtocolError {}

/// A caller mistake. The connection is unchanged when one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The output buffer is too small; `needed` bytes would do.
    BufferTooSmall {
        /// The size of output buffer that the call needs.
        needed: usize,
    },
    /// The call is not allowed in the connection's current state.
    InvalidState(ReadyState),
    /// The call does not fit the role (e.g. `accept` on a client).
    WrongRole,
    /// `accept` or `reject` without a pending request, or `connect` twice.
    NoPendingHandshake,
    /// A data frame of another kind while a fragmented message is being sent.
    MessageKindMismatch,
    /// A close was already sent: no more data may follow (§5.5.1).
    CloseAlreadySent,
    /// Text that is not valid UTF-8.
    InvalidUtf8,
    /// A control payload over 125 bytes (§5.5).
    ControlPayloadTooLong(usize),
    /// An invalid close code or reason.
    InvalidClose(CloseError),
    /// More than 8 subprotocols or 8 extensions offered.
    TooManyOffers,
    /// The handshake could not be written (an invalid header name or value, for instance).
    Handshake(HandshakeError),
    /// The configuration is inconsistent.
    Config(ConfigError),
    /// [`begin_frame`](Connection::begin_frame) cannot continue a compressed message: its
    /// payload would have to be compressed.
    #[cfg(feature = "deflate")]
    CompressedMessage,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Error::InvalidState(state) => write!(f, "not allowed in state {state:?}"),
            Error::WrongRole => f.write_str("not allowed for this role"),
            Error::NoPendingHandshake => {
                f.write_str("no opening handshake is waiting for this call")
            }
            Error::MessageKindMismatch => {
                f.write_str("a fragmented message of the other kind is being sent")
            }
            Error::CloseAlreadySent => f.write_str("a close frame was already sent"),
            Error::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            Error::ControlPayloadTooLong(len) => {
                write!(f, "control payload of {len} bytes exceeds 125")
            }
            Error::InvalidClose(err) => write!(f, "{err}"),
            Error::TooManyOffers => f.write_str("more than 8 subprotocols or 8 extensions offered"),
            Error::Handshake(err) => write!(f, "{err}"),
            Error::Config(err) => write!(f, "invalid configuration: {err}"),
            #[cfg(feature = "deflate")]
            Error::CompressedMessage => {
                f.write_str("a compressed message cannot be continued with begin_frame")
            }
        }
    }
}

impl core::error::Error for Error {}

/// What [`Connection::poll_transmit`] has for the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// The first `n` bytes of the output buffer are to be sent.
    Bytes(usize),
    /// Everything has been written: shut down the transport's write side (or close it). Given
    /// once, after the last bytes (§7.1.1: the server closes the TCP connection first).
    ShutdownWrite,
    /// Nothing to send now.
    Nothing,
}

/// The start of a frame whose payload the caller writes itself ([`Connection::begin_frame`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameStart {
    /// Bytes written into the output buffer: queued control frames, then the frame header.
    pub written: usize,
    /// A client MUST mask the payload with this key (offset 0 at the payload's first byte), for
    /// example with [`apply_mask`]. `None` for a server.
    pub mask: Option<[u8; 4]>,
}

/// Where the opening handshake is.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Server: reading the request head.
    ServerRequest(HeadScanner),
    /// Server: the request was delivered; waiting for `accept` or `reject`.
    ServerDecide { accept: [u8; 28] },
    /// Client: `connect` not called yet.
    ClientNew,
    /// Client: request sent, reading the response head.
    ClientResponse {
        key: [u8; 24],
        offers: Offers,
        scanner: HeadScanner,
    },
    /// The handshake is done: OPEN or CLOSING as the close state says. The pong slot lives
    /// here, where it shares memory with the handshake's state.
    Open(PendingPong),
    /// CLOSED. Nothing more is read or written, but what is queued.
    Closed,
}

/// Fingerprints of what a client offered, so that the response can be checked without keeping
/// the offers (§4.1: a subprotocol or extension the client did not offer fails the connection).
///
/// 32-bit FNV-1a hashes, small enough to share memory with the pong slot: a server would have to
/// find a collision on purpose to slip an unoffered name through, and would gain nothing by it
/// (it can already send whatever it likes).
#[derive(Clone, Copy, Debug, Default)]
struct Offers {
    subprotocols: [u32; Offers::MAX],
    extensions: [u32; Offers::MAX],
    n_subprotocols: u8,
    n_extensions: u8,
}

impl Offers {
    /// The most subprotocols, and the most extensions, a client may offer.
    const MAX: usize = 8;

    fn hash(name: &str) -> u32 {
        name.bytes().fold(0x811c_9dc5, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    }

    fn new(request: &ClientRequest<'_>) -> Result<Offers, Error> {
        let mut offers = Offers::default();
        if request.subprotocols.len() > Offers::MAX || request.extensions.len() > Offers::MAX {
            return Err(Error::TooManyOffers);
        }
        for (slot, p) in offers.subprotocols.iter_mut().zip(request.subprotocols) {
            *slot = Offers::hash(p);
        }
        for (slot, e) in offers.extensions.iter_mut().zip(request.extensions) {
            // The extension's name is the offer up to the first ';' (§9.1).
            let name = e.split(';').next().unwrap_or("").trim();
            *slot = Offers::hash(name);
        }
        offers.n_subprotocols = request.subprotocols.len() as u8;
        offers.n_extensions = request.extensions.len() as u8;
        Ok(offers)
    }

    fn has_subprotocol(&self, name: &str) -> bool {
        self.subprotocols[..usize::from(self.n_subprotocols)].contains(&Offers::hash(name))
    }

    fn has_extension(&self, name: &str) -> bool {
        self.extensions[..usize::from(self.n_extensions)].contains(&Offers::hash(name))
    }
}

/// What [`Connection::receive_whole_message`] found.
enum WholeMessage {
    /// Not the fast path's case: take the general path.
    No,
    /// A whole message: `input[header_len..header_len + len]`, unmasked.
    Yes {
        kind: DataKind,
        header_len: usize,
        len: usize,
    },
    /// A whole text message that is not valid UTF-8 (§8.1).
    Invalid(Utf8Error),
}

/// The message being received.
#[derive(Clone, Copy, Debug)]
struct Incoming {
    kind: DataKind,
    /// Payload bytes announced so far by the message's frame headers.
    announced: u64,
    /// RSV1 was set on the first frame: the payload is compressed (RFC 7692 §6).
    #[cfg(feature = "deflate")]
    compressed: bool,
}

/// Our close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloseOut {
    /// None sent or queued.
    None,
    /// Queued, to be written by the next output call.
    Queued {
        code: Option<CloseCode>,
        reason: &'static str,
    },
    /// Written into an output buffer.
    Sent,
}

/// The pong waiting to be sent: only the latest ping is answered (§5.5.3).
#[derive(Clone, Copy, Debug)]
struct PendingPong {
    queued: bool,
    len: u8,
    payload: [u8; MAX_CONTROL_PAYLOAD],
}

impl PendingPong {
    const NONE: PendingPong = PendingPong {
        queued: false,
        len: 0,
        payload: [0; MAX_CONTROL_PAYLOAD],
    };
}

/// A WebSocket endpoint: client or server. See the [module documentation](self) and the crate's
/// driving loop.
///
/// `E` is the client's entropy source; a server uses [`NoEntropy`].
#[derive(Clone, Debug)]
pub struct Connection<E = NoEntropy> {
    config: Config,
    role: Role,
    entropy: E,
    /// A client's masking keys, drawn from `entropy` in batches.
    mask_keys: MaskKeys,
    phase: Phase,
    decoder: FrameDecoder,
    /// The latest time given by the caller.
    clock: Instant,
    incoming: Option<Incoming>,
    incoming_utf8: Utf8Validator,
    /// The kind of the message being sent, if a fragmented one is under way.
    outgoing: Option<DataKind>,
    outgoing_utf8: Utf8Validator,
    keepalive_ping_queued: bool,
    keepalive_count: u32,
    close_out: CloseOut,
    /// The peer's close code, once its close frame arrived (1005 for an empty one).
    close_in: Option<CloseCode>,
    shutdown_pending: bool,
    /// Server: the 400 or 426 response owed for a malformed request.
    handshake_error_response: Option<HandshakeError>,
    info: Option<CloseInfo>,
    closed_delivered: bool,
    /// Deadlines in milliseconds, indexed by [`Timer`]; `u64::MAX` when unset (smaller than
    /// four `Option<Instant>`s).
    deadlines: [u64; 4],
    /// permessage-deflate state, once enabled (boxed: the codecs are large).
    #[cfg(feature = "deflate")]
    deflate: Option<alloc::boxed::Box<deflate_path::DeflateState>>,
}

/// The connection's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    /// The opening handshake must be done by then.
    Handshake = 0,
    /// Our close must be answered (or, for a client, the server must close TCP) by then.
    Close = 1,
    /// The next keepalive ping is due.
    Keepalive = 2,
    /// A pong must have arrived by then.
    Pong = 3,
}

const UNSET: u64 = u64::MAX;

impl Connection<NoEntropy> {
    /// A server connection waiting for a handshake request; `now` starts the handshake timer.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `config` is inconsistent ([`Config::validate`]).
    pub fn server(config: Config, now: Instant) -> Result<Self, Error> {
        Connection::server_with_entropy(config, NoEntropy, now)
    }
}

impl<E: Entropy> Connection<E> {
    /// A server connection as [`server`](Connection::server) makes, with an entropy source of
    /// type `E`: for code that keeps clients and servers in one type (an adapter that boxes its
    /// entropy source). A server never draws from it.
    ///
    /// ```
    /// use wsproto::config::Config;
    /// use wsproto::connection::{Connection, Event, ReadyState};
    /// use wsproto::handshake::AcceptOptions;
    /// use wsproto::time::Instant;
    ///
    /// type Boxed = Box<dyn FnMut(&mut [u8])>;
    /// let never: Boxed = Box::new(|_: &mut [u8]| panic!("a server draws no entropy"));
    /// let mut server = Connection::server_with_entropy(Config::default(), never, Instant::default()).unwrap();
    /// let mut request = *b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// let r = server.receive(&mut request, Instant::default());
    /// assert!(matches!(r.event, Some(Event::Request(_))));
    /// let mut out = [0u8; 256];
    /// server.accept(&AcceptOptions::default(), &mut out).unwrap();
    /// let n = server.send(wsproto::connection::DataKind::Text, b"hi", true, &mut out).unwrap();
    /// assert_eq!(&out[..n], b"\x81\x02hi"); // unmasked: no entropy drawn
    /// assert_eq!(server.state(), ReadyState::Open);
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `config` is inconsistent ([`Config::validate`]).
    pub fn server_with_entropy(config: Config, entropy: E, now: Instant) -> Result<Self, Error> {
        let mut conn = Connection::new(
            config,
            Role::Server,
            entropy,
            Phase::ServerRequest(HeadScanner::new()),
        )?;
        conn.clock = now;
        conn.set_deadline(Timer::Handshake, config.handshake_timeout.map(|t| now + t));
        Ok(conn)
    }

    /// A client connection; call [`connect`](Self::connect) to write the handshake request.
    /// `entropy` supplies the nonce and every masking key.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `config` is inconsistent ([`Config::validate`]).
    pub fn client(config: Config, entropy: E) -> Result<Self, Error> {
        Connection::new(config, Role::Client, entropy, Phase::ClientNew)
    }

    /// A connection already OPEN, for a stream whose opening handshake another layer did (an
    /// HTTP server's upgrade, or RFC 8441 / RFC 9220 streams). Everything after OPEN behaves as
    /// after a handshake done here.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `config` is inconsistent ([`Config::validate`]).
    pub fn open(config: Config, role: Role, entropy: E, now: Instant) -> Result<Self, Error> {
        let mut conn = Connection::new(config, role, entropy, Phase::Open(PendingPong::NONE))?;
        conn.clock = now;
        conn.start_keepalive(now);
        Ok(conn)
    }

    fn new(config: Config, role: Role, entropy: E, phase: Phase) -> Result<Self, Error> {
        config.validate().map_err(Error::Config)?;
        Ok(Connection {
            config,
            role,
            entropy,
            phase,
            decoder: FrameDecoder::new(DecoderConfig {
                role,
                max_frame_payload: config.max_frame_payload,
                allowed_rsv: Rsv::NONE,
            }),
            clock: Instant::default(),
            incoming: None,
            incoming_utf8: Utf8Validator::new(),
            outgoing: None,
            outgoing_utf8: Utf8Validator::new(),
            keepalive_ping_queued: false,
            keepalive_count: 0,
            close_out: CloseOut::None,
            close_in: None,
            shutdown_pending: false,
            handshake_error_response: None,
            info: None,
            closed_delivered: false,
            deadlines: [UNSET; 4],
            mask_keys: MaskKeys::EMPTY,
            #[cfg(feature = "deflate")]
            deflate: None,
        })
    }

    // ---- getters ----------------------------------------------------------------------------

    /// The ready state, exactly as a browser's `WebSocket.readyState` would report it.
    pub fn state(&self) -> ReadyState {
        match self.phase {
            Phase::ServerRequest(_)
            | Phase::ServerDecide { .. }
            | Phase::ClientNew
            | Phase::ClientResponse { .. } => ReadyState::Connecting,
            Phase::Open(_) if self.close_out == CloseOut::None && self.close_in.is_none() => {
                ReadyState::Open
            }
            Phase::Open(_) => ReadyState::Closing,
            Phase::Closed => ReadyState::Closed,
        }
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How the connection ended, once it is CLOSED.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.info
    }

    // ---- input --------------------------------------------------------------------------------

    /// Processes received bytes and returns at most one event.
    ///
    /// Payloads are unmasked in place in `input`, and events borrow it. Call again with the
    /// unconsumed rest (`&mut input[consumed..]`) until the event is `None`; then append newly
    /// read bytes behind the unconsumed ones and call again. Bytes are left unconsumed only while
    /// something is incomplete (a handshake head, a frame header, a control frame), so the
    /// buffer must hold at least `max_head_len` bytes during the handshake and 139 afterwards.
    ///
    /// After CLOSED, input is consumed and ignored. An empty `input` is fine: it collects an
    /// [`Event::Closed`] that a timer or the end of input caused.
    ///
    /// ```
    /// use wsproto::config::Config;
    /// use wsproto::connection::{Connection, Event};
    /// use wsproto::time::Instant;
    /// use wsproto::Role;
    ///
    /// let mut ws = Connection::open(Config::default(), Role::Client, |b: &mut [u8]| b.fill(7), Instant::default()).unwrap();
    /// let mut input = *b"\x81\x02hi\x89\x00";
    /// let r = ws.receive(&mut input, Instant::default());
    /// let consumed = r.consumed; // read it before the event's borrow of `input` ends
    /// assert!(matches!(r.event, Some(Event::Data { chunk: b"hi", message_fin: true, .. })));
    /// let r2 = ws.receive(&mut input[consumed..], Instant::default());
    /// assert!(matches!(r2.event, Some(Event::Ping(b""))));
    /// ```
    ///
    /// With permessage-deflate enabled, use `receive_into` (feature `deflate`): a compressed
    /// message met here has nowhere to be inflated to and fails the connection with 1011.
    #[inline]
    pub fn receive<'a>(&mut self, input: &'a mut [u8], now: Instant) -> Received<'a> {
        self.receive_with(input, &mut [], now)
    }

    #[inline(always)]
    fn receive_with<'a>(
        &mut self,
        input: &'a mut [u8],
        scratch: &'a mut [u8],
        now: Instant,
    ) -> Received<'a> {
        self.tick(now);
        match self.receive_whole_message(input) {
            WholeMessage::No => {}
            WholeMessage::Yes {
                kind,
                header_len,
                len,
            } => {
                return Received {
                    consumed: header_len + len,
                    event: Some(Event::Data {
                        kind,
                        chunk: &input[header_len..header_len + len],
                        message_start: true,
                        frame_fin: true,
                        message_fin: true,
                    }),
                };
            }
            WholeMessage::Invalid(err) => {
                let len = input.len();
                return self.fail_now_cold(ProtocolError::InvalidUtf8(err), len);
            }
        }
        self.receive_general(input, scratch)
    }

    /// [`receive`](Self::receive) for everything but its fast path: kept out of line, so that
    /// the fast path stays small enough to inline into the caller's loop.
    #[inline(never)]
    fn receive_general<'a>(&mut self, input: &'a mut [u8], scratch: &'a mut [u8]) -> Received<'a> {
        if let Some(info) = self.undelivered_close() {
            return Received {
                consumed: 0,
                event: Some(Event::Closed(info)),
            };
        }
        match self.phase {
            Phase::Closed => Received {
                consumed: input.len(),
                event: None,
            },
            Phase::ServerRequest(_) => self.receive_request(input),
            Phase::ClientResponse { .. } => self.receive_response(input),
            // Frames that follow the handshake wait until it is done.
            Phase::ServerDecide { .. } | Phase::ClientNew => Received {
                consumed: 0,
                event: None,
            },
            Phase::Open(_) if self.close_in.is_some() => {
                // §5.5.1: after a close frame the peer sends nothing more; anything is dropped.
                Received {
                    consumed: input.len(),
                    event: None,
                }
            }
            Phase::Open(_) => {
                #[cfg(feature = "deflate")]
                if self.deflate.is_some() {
                    return self.receive_frame_deflate(input, scratch);
                }
                #[cfg(not(feature = "deflate"))]
                let _ = scratch;
                self.receive_frame(input)
            }
        }
    }

    /// The transport's read side ended (TCP FIN or an error): no more input will come.
    ///
    /// If the closing handshake had completed, the connection is CLOSED cleanly; otherwise
    /// abnormally, with code 1006 (§7.1.5). The [`Event::Closed`] comes from the next
    /// [`receive`](Self::receive) call (an empty input is fine).
    pub fn receive_eof(&mut self, now: Instant) {
        self.tick(now);
        match (&self.phase, self.close_in) {
            (Phase::Closed, _) => {}
            (Phase::Open(_), Some(_)) if self.close_out != CloseOut::None => self.finish_clean(),
            // §7.1.5: the close code is the one in the first close frame received, if any.
            (Phase::Open(_), Some(code)) => self.finish(CloseInfo {
                clean: false,
                code,
                error: Some(ProtocolError::UnexpectedEof),
            }),
            _ => self.finish(CloseInfo {
                clean: false,
                code: CloseCode::ABNORMAL,
                error: Some(ProtocolError::UnexpectedEof),
            }),
        }
    }

    /// Fires the timers that are due at `now`: the handshake deadline, the close timeout, the
    /// keepalive ping and its pong deadline. Queued frames come from
    /// [`poll_transmit`](Self::poll_transmit), an [`Event::Closed`] from the next
    /// [`receive`](Self::receive).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        let deadlines = self.deadlines;
        let due = |timer: Timer| deadlines[timer as usize] <= now.as_millis();
        if due(Timer::Handshake) && self.state() == ReadyState::Connecting {
            self.set_deadline(Timer::Handshake, None);
            self.finish(CloseInfo {
                clean: false,
                code: CloseCode::ABNORMAL,
                error: Some(ProtocolError::HandshakeTimeout),
            });
            return;
        }
        if due(Timer::Close) {
            self.set_deadline(Timer::Close, None);
            if self.close_in.is_some() && self.close_out != CloseOut::None {
                // §7.1.1: a client that waited long enough for the server's TCP close may
                // close it itself. The close handshake did complete.
                self.finish_clean();
            } else {
                self.finish(CloseInfo {
                    clean: false,
                    code: CloseCode::ABNORMAL,
                    error: Some(ProtocolError::CloseTimeout),
                });
            }
            return;
        }
        if due(Timer::Pong) {
            self.fail(ProtocolError::KeepaliveTimeout);
            return;
        }
        if due(Timer::Keepalive) && self.state() == ReadyState::Open {
            self.keepalive_ping_queued = true;
            self.keepalive_count = self.keepalive_count.wrapping_add(1);
            self.set_deadline(
                Timer::Keepalive,
                self.config.keepalive_interval.map(|i| now + i),
            );
            if self.deadline(Timer::Pong).is_none() {
                self.set_deadline(Timer::Pong, Some(now + self.config.keepalive_timeout));
            }
        }
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout) has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.phase, Phase::Closed) {
            return None;
        }
        let next = self.deadlines.into_iter().min().unwrap_or(UNSET);
        (next != UNSET).then_some(Instant::from_millis(next))
    }

    // ---- handshake ----------------------------------------------------------------------------

    /// Client: writes the opening handshake request into `out` and returns its length. `now`
    /// starts the handshake timer. At most 8 subprotocols and 8 extensions may be offered.
    ///
    /// # Errors
    ///
    /// [`Error::NoPendingHandshake`] if already called, [`Error::WrongRole`] on a server,
    /// [`Error::Handshake`] for an invalid request or too many offers,
    /// [`Error::BufferTooSmall`] if `out` cannot hold the request.
    pub fn connect(
        &mut self,
        request: &ClientRequest<'_>,
        now: Instant,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if self.role != Role::Client {
            return Err(Error::WrongRole);
        }
        if !matches!(self.phase, Phase::ClientNew) {
            return Err(Error::NoPendingHandshake);
        }
        let offers = Offers::new(request)?;
        let mut nonce = [0u8; 16];
        self.entropy.fill(&mut nonce);
        let written = handshake::write_request(request, &nonce, out).map_err(map_write_error)?;
        self.tick(now);
        self.phase = Phase::ClientResponse {
            key: handshake::request_key(&nonce),
            offers,
            scanner: HeadScanner::new(),
        };
        self.set_deadline(
            Timer::Handshake,
            self.config.handshake_timeout.map(|t| now + t),
        );
        Ok(written)
    }

    /// Server: accepts the pending request, writing the `101 Switching Protocols` response into
    /// `out`. The connection is OPEN. The application picks `options.subprotocol` from those the
    /// request offered.
    ///
    /// # Errors
    ///
    /// [`Error::NoPendingHandshake`] without a pending request, [`Error::Handshake`] for an
    /// invalid header, [`Error::BufferTooSmall`] if `out` cannot hold the response.
    pub fn accept(&mut self, options: &AcceptOptions<'_>, out: &mut [u8]) -> Result<usize, Error> {
        let Phase::ServerDecide { accept } = self.phase else {
            return Err(Error::NoPendingHandshake);
        };
        let written = handshake::write_accept(&accept, options, out).map_err(map_write_error)?;
        self.phase = Phase::Open(PendingPong::NONE);
        self.set_deadline(Timer::Handshake, None);
        self.start_keepalive(self.clock);
        Ok(written)
    }

    /// Server: rejects the pending request with `status` (401, 403, 404 …), extra headers and a
    /// body. The connection is CLOSED; [`poll_transmit`](Self::poll_transmit) then asks for the
    /// transport to be shut down.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    pub fn reject(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if !matches!(self.phase, Phase::ServerDecide { .. }) {
            return Err(Error::NoPendingHandshake);
        }
        let written =
            handshake::write_reject(status, headers, body, out).map_err(map_write_error)?;
        self.finish(CloseInfo {
            clean: false,
            code: CloseCode::ABNORMAL,
            error: Some(ProtocolError::Rejected(status)),
        });
        Ok(written)
    }

    fn receive_request<'a>(&mut self, input: &'a mut [u8]) -> Received<'a> {
        let Phase::ServerRequest(scanner) = &mut self.phase else {
            unreachable!("receive_request is called in ServerRequest only");
        };
        let limits = HeadLimits {
            max_head_len: self.config.max_head_len,
            max_headers: self.config.max_headers,
        };
        let input: &'a [u8] = input;
        match scanner.parse_request(input, &limits) {
            Ok(Some(request)) => {
                self.phase = Phase::ServerDecide {
                    accept: request.accept_key(),
                };
                Received {
                    consumed: request.head_len(),
                    event: Some(Event::Request(request)),
                }
            }
            Ok(None) => Received {
                consumed: 0,
                event: None,
            },
            Err(err) => self.handshake_failed(err, input.len()),
        }
    }

    fn receive_response<'a>(&mut self, input: &'a mut [u8]) -> Received<'a> {
        let Phase::ClientResponse {
            key,
            offers,
            scanner,
        } = &mut self.phase
        else {
            unreachable!("receive_response is called in ClientResponse only");
        };
        let (key, offers) = (*key, *offers);
        let limits = HeadLimits {
            max_head_len: self.config.max_head_len,
            max_headers: self.config.max_headers,
        };
        let input: &'a [u8] = input;
        let response = match scanner.parse_response(input, &key, &limits) {
            Ok(Some(response)) => response,
            Ok(None) => {
                return Received {
                    consumed: 0,
                    event: None,
                };
            }
            Err(err) => return self.handshake_failed(err, input.len()),
        };
        // §4.1: a subprotocol or extension the client did not offer fails the connection.
        if let Some(p) = response.subprotocol() {
            if !offers.has_subprotocol(p) {
                return self.handshake_failed(HandshakeError::UnexpectedSubprotocol, input.len());
            }
        }
        for extension in response.extensions() {
            if !offers.has_extension(extension.name()) {
                return self.handshake_failed(HandshakeError::UnexpectedExtension, input.len());
            }
        }
        self.phase = Phase::Open(PendingPong::NONE);
        self.set_deadline(Timer::Handshake, None);
        self.start_keepalive(self.clock);
        Received {
            consumed: response.head_len(),
            event: Some(Event::Accepted(response)),
        }
    }

    /// The handshake failed on the peer's bytes: a server answers 400 or 426 (queued for
    /// `poll_transmit`); a client just closes. The input is discarded.
    fn handshake_failed<'a>(&mut self, err: HandshakeError, len: usize) -> Received<'a> {
        if self.role == Role::Server {
            self.handshake_error_response = Some(err);
        }
        self.finish(CloseInfo {
            clean: false,
            code: CloseCode::ABNORMAL,
            error: Some(ProtocolError::Handshake(err)),
        });
        self.closed_delivered = true;
        Received {
            consumed: len,
            event: Some(Event::Closed(self.info.unwrap_or(CLOSED_ABNORMALLY))),
        }
    }

    // ---- frames in ------------------------------------------------------------------------------

    /// The fast path of [`receive`](Self::receive) for the most common input: OPEN, between
    /// messages, and `input` starts with a whole unfragmented text or binary message with a
    /// 7- or 16-bit length, masked as our role requires (§5.1), no RSV bit, within both size
    /// limits. It is unmasked in place (and text validated, §8.1); the decoder stays between
    /// frames and no message is left in progress, exactly as after the general path. Anything
    /// else is `No`, with nothing changed, and takes the general path.
    #[inline(always)]
    fn receive_whole_message(&mut self, input: &mut [u8]) -> WholeMessage {
        let open = matches!(self.phase, Phase::Open(_)) && self.close_in.is_none();
        if !open || self.incoming.is_some() || !self.decoder.is_idle() {
            return WholeMessage::No;
        }
        let [b0, b1, ref mut rest @ ..] = *input else {
            return WholeMessage::No;
        };
        let kind = match b0 {
            0x81 => DataKind::Text,
            0x82 => DataKind::Binary,
            _ => return WholeMessage::No,
        };
        let masked = b1 & 0x80 != 0;
        if masked != (self.role == Role::Server) {
            return WholeMessage::No;
        }
        let (len, rest) = match (b1 & 0x7F, rest) {
            (len7 @ 0..126, rest) => (usize::from(len7), rest),
            (126, [e0, e1, rest @ ..]) => (usize::from(u16::from_be_bytes([*e0, *e1])), rest),
            _ => return WholeMessage::No,
        };
        let extended = b1 & 0x7F == 126;
        let limit = self
            .config
            .max_frame_payload
            .min(self.config.max_message_size);
        if (extended && len < 126) || len as u64 > limit {
            return WholeMessage::No;
        }
        let payload = match (masked, rest) {
            (false, rest) => rest.get_mut(..len),
            (true, [k0, k1, k2, k3, rest @ ..]) => {
                let key = [*k0, *k1, *k2, *k3];
                let payload = rest.get_mut(..len);
                if let Some(payload) = payload {
                    apply_mask(payload, key, 0);
                    Some(payload)
                } else {
                    None
                }
            }
            (true, _) => None,
        };
        let Some(payload) = payload else {
            return WholeMessage::No;
        };
        if kind == DataKind::Text {
            if let Err(err) = crate::utf8::from_utf8(payload) {
                return WholeMessage::Invalid(err);
            }
        }
        let header_len = 2 + if extended { 2 } else { 0 } + if masked { 4 } else { 0 };
        WholeMessage::Yes {
            kind,
            header_len,
            len,
        }
    }

    fn receive_frame<'a>(&mut self, input: &'a mut [u8]) -> Received<'a> {
        let len = input.len();
        let decoded = self.decoder.decode_retaining(input);
        self.receive_decoded(decoded, len)
    }

    #[inline(always)]
    fn receive_decoded<'a>(
        &mut self,
        decoded: Result<Decoded<'a>, FrameError>,
        len: usize,
    ) -> Received<'a> {
        let decoded = match decoded {
            Ok(decoded) => decoded,
            Err(err) => return self.fail_now(ProtocolError::Frame(err), len),
        };
        let consumed = decoded.consumed;
        let Some(chunk) = decoded.chunk else {
            return Received {
                consumed,
                event: None,
            };
        };
        let header = chunk.header;
        let frame_fin = chunk.is_frame_end();
        let payload: &'a [u8] = chunk.payload;
        let event = match header.opcode {
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.receive_data(&header, chunk.frame_start, frame_fin, payload)
            }
            OpCode::Ping | OpCode::Pong | OpCode::Close => {
                self.receive_control(header.opcode, payload)
            }
        };
        match event {
            Ok(event) => Received {
                consumed,
                event: Some(event),
            },
            Err(err) => self.fail_now(err, len),
        }
    }

    /// A whole ping, pong or close frame.
    fn receive_control<'a>(
        &mut self,
        opcode: OpCode,
        payload: &'a [u8],
    ) -> Result<Event<'a>, ProtocolError> {
        Ok(match opcode {
            OpCode::Ping => {
                // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
                // response, unless it already received a Close frame." Once our close is out,
                // nothing else may follow it.
                if let Phase::Open(pong) = &mut self.phase {
                    if self.config.auto_pong && self.close_out == CloseOut::None {
                        pong.payload[..payload.len()].copy_from_slice(payload);
                        pong.len = payload.len() as u8;
                        pong.queued = true;
                    }
                }
                Event::Ping(payload)
            }
            OpCode::Pong => {
                // Any pong proves the peer alive; an unsolicited one is allowed (§5.5.3).
                self.set_deadline(Timer::Pong, None);
                Event::Pong(payload)
            }
            OpCode::Close => {
                let parsed = parse_close_payload(payload).map_err(ProtocolError::InvalidClose)?;
                let (code, reason) = parsed.unwrap_or((CloseCode::NO_STATUS, ""));
                self.close_received(code, parsed.is_some());
                Event::CloseReceived { code, reason }
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                unreachable!("receive_control is called for control frames only")
            }
        })
    }

    /// What every data chunk handed out goes through, plain or inflated: text is checked as
    /// UTF-8 (§8.1: fail fast, at the first byte that cannot be part of valid UTF-8; the whole
    /// message at its end), and the message ends with its last chunk.
    #[inline(always)]
    pub(crate) fn end_data_chunk(
        &mut self,
        kind: DataKind,
        chunk: &[u8],
        message_fin: bool,
    ) -> Result<(), ProtocolError> {
        if kind == DataKind::Text {
            self.incoming_utf8
                .feed(chunk)
                .map_err(ProtocolError::InvalidUtf8)?;
            if message_fin {
                self.incoming_utf8
                    .finish()
                    .map_err(ProtocolError::InvalidUtf8)?;
            }
        }
        if message_fin {
            self.incoming = None;
        }
        Ok(())
    }

    #[inline]
    fn receive_data<'a>(
        &mut self,
        header: &FrameHeader,
        frame_start: bool,
        frame_fin: bool,
        payload: &'a [u8],
    ) -> Result<Event<'a>, ProtocolError> {
        let incoming = self.start_data_frame(header, frame_start)?;
        let message_start = frame_start && header.opcode != OpCode::Continuation;
        let message_fin = frame_fin && header.fin;
        self.end_data_chunk(incoming.kind, payload, message_fin)?;
        Ok(Event::Data {
            kind: incoming.kind,
            chunk: payload,
            message_start,
            frame_fin,
            message_fin,
        })
    }

    /// At a data frame's first chunk: the §5.4 ordering rules and the message size limit.
    /// Returns the message in progress.
    #[inline(always)]
    fn start_data_frame(
        &mut self,
        header: &FrameHeader,
        frame_start: bool,
    ) -> Result<Incoming, ProtocolError> {
        if frame_start {
            // §5.4: a continuation needs a message in progress, and a new message must wait for
            // the previous one's last fragment.
            let announced = match (header.opcode, self.incoming) {
                (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
                (OpCode::Continuation, Some(incoming)) => incoming.announced,
                (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
                (opcode, None) => {
                    let kind = if opcode == OpCode::Text {
                        DataKind::Text
                    } else {
                        DataKind::Binary
                    };
                    self.incoming = Some(Incoming {
                        kind,
                        announced: 0,
                        // RFC 7692 §6: RSV1 on a message's first frame marks it compressed.
                        #[cfg(feature = "deflate")]
                        compressed: header.rsv.contains(Rsv::RSV1),
                    });
                    self.incoming_utf8.reset();
                    0
                }
            };
            let size = announced.saturating_add(header.payload_len);
            if size > self.config.max_message_size {
                return Err(ProtocolError::MessageTooBig {
                    size,
                    max: self.config.max_message_size,
                });
            }
            if let Some(incoming) = &mut self.incoming {
                incoming.announced = size;
            }
        }
        match self.incoming {
            Some(incoming) => Ok(incoming),
            None => unreachable!("a data chunk always has a message in progress"),
        }
    }

    fn close_received(&mut self, code: CloseCode, had_code: bool) {
        self.close_in = Some(code);
        match self.close_out {
            CloseOut::None if self.config.auto_close_reply => {
                // §5.5.1: "the endpoint MUST send a Close frame in response ... typically
                // echoing the status code it received."
                self.close_out = CloseOut::Queued {
                    code: had_code.then_some(code),
                    reason: "",
                };
                self.after_close_exchange();
            }
            CloseOut::None => {}
            CloseOut::Queued { .. } | CloseOut::Sent => self.after_close_exchange(),
        }
    }

    /// Both close frames are sent or queued. §7.1.1: the server closes the TCP connection
    /// first; the client waits for that, up to the close timeout.
    fn after_close_exchange(&mut self) {
        if let Phase::Open(pong) = &mut self.phase {
            pong.queued = false;
        }
        self.keepalive_ping_queued = false;
        self.set_deadline(Timer::Pong, None);
        self.set_deadline(Timer::Keepalive, None);
        match self.role {
            Role::Server => self.finish_clean(),
            Role::Client => {
                self.set_deadline(Timer::Close, Some(self.clock + self.config.close_timeout))
            }
        }
    }

    // ---- sending --------------------------------------------------------------------------------

    /// Writes queued control frames, then one data frame carrying `data`, into `out`; returns
    /// the number of bytes written.
    ///
    /// A message may be sent in fragments: `fin = false` leaves it open, and the next calls with
    /// the same `kind` continue it until one has `fin = true`. Text is checked to be valid UTF-8
    /// across fragments (a fragment may end inside a character). A client masks the frame with a
    /// fresh key from its entropy source. One pass over `data`: it is copied (and masked) into
    /// `out`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidState`] unless OPEN (or CLOSING with only the peer's close received and
    /// `auto_close_reply` off), [`Error::CloseAlreadySent`], [`Error::MessageKindMismatch`],
    /// [`Error::InvalidUtf8`], [`Error::BufferTooSmall`]. Nothing changes on error.
    // Inlined into the caller's loop: LLVM then keeps the connection's fields in registers
    // across sends instead of spilling and reloading them per call (W1 16 B: 188 -> 133
    // instructions per send under callgrind, 9.4 -> 6.4 ns); no flash cost in the thumbv7em
    // footprint client, which has one call site.
    #[inline]
    pub fn send(
        &mut self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        // With the feature but deflate not enabled, this one test is all it costs: the deflate
        // path is a separate function, so that the plain path compiles as without the feature
        // (with the deflate call inside it, register allocation and inlining changed and a
        // 16-byte send took 11 % more instructions).
        #[cfg(feature = "deflate")]
        if self.deflate.is_some() {
            return self.send_deflate(kind, data, fin, out);
        }
        let (opcode, utf8) = self.check_send_data(kind, data, fin)?;
        self.send_plain(opcode, kind, data, fin, utf8, out)
    }

    /// `send` with deflate enabled: compresses, or falls back to the plain path.
    #[cfg(feature = "deflate")]
    #[inline(never)]
    fn send_deflate(
        &mut self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let (opcode, utf8) = self.check_send_data(kind, data, fin)?;
        if let Some(written) = self.send_compressed(
            opcode,
            kind,
            data,
            fin,
            utf8.unwrap_or(self.outgoing_utf8),
            out,
        )? {
            return Ok(written);
        }
        self.send_plain(opcode, kind, data, fin, utf8, out)
    }

    /// `send`'s checks: the opcode of the frame, and for text the outgoing UTF-8 validator
    /// after `data` (checked on a copy, so that nothing changes on error; binary needs none).
    #[inline(always)]
    fn check_send_data(
        &self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(OpCode, Option<Utf8Validator>), Error> {
        let opcode = self.check_send(kind)?;
        let utf8 = if kind == DataKind::Text {
            let mut utf8 = self.outgoing_utf8;
            utf8.feed(data).map_err(|_| Error::InvalidUtf8)?;
            if fin {
                utf8.finish().map_err(|_| Error::InvalidUtf8)?;
            }
            Some(utf8)
        } else {
            None
        };
        Ok((opcode, utf8))
    }

    /// `send` without compression: queued control frames, the header, `data` copied (and
    /// masked) in one pass.
    #[inline(always)]
    fn send_plain(
        &mut self,
        opcode: OpCode,
        kind: DataKind,
        data: &[u8],
        fin: bool,
        utf8: Option<Utf8Validator>,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let masked = self.role == Role::Client;
        let queued = self.queued_len();
        let needed = queued + frame_len(data.len(), masked);
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        if let Some(utf8) = utf8 {
            self.outgoing_utf8 = utf8;
        }
        let mut written = if queued == 0 {
            0
        } else {
            self.write_queued(out)
        };
        let (header_len, mask) =
            self.write_header(opcode, fin, data.len() as u64, &mut out[written..]);
        written += header_len;
        let payload = &mut out[written..written + data.len()];
        match mask {
            // One pass: mask while copying.
            Some(key) => {
                apply_mask_copy(data, payload, key, 0);
            }
            None => payload.copy_from_slice(data),
        }
        self.outgoing = if fin { None } else { Some(kind) };
        Ok(written + data.len())
    }

    /// Writes queued control frames and the header of a data frame of `len` payload bytes into
    /// `out`, for a payload the caller writes itself (zero copy).
    ///
    /// The caller MUST send exactly `len` payload bytes right after the written bytes, before
    /// anything else this connection produces; a client MUST mask them with
    /// [`FrameStart::mask`]. Text payloads written this way are not checked for UTF-8.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), but no UTF-8 check.
    pub fn begin_frame(
        &mut self,
        kind: DataKind,
        len: u64,
        fin: bool,
        out: &mut [u8],
    ) -> Result<FrameStart, Error> {
        let opcode = self.check_send(kind)?;
        #[cfg(feature = "deflate")]
        self.begin_uncompressed_frame()?;
        let masked = self.role == Role::Client;
        let needed = self.queued_len() + frame_len(0, masked) + header_extra(len);
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let mut written = self.write_queued(out);
        let (n, mask) = self.write_header(opcode, fin, len, &mut out[written..]);
        written += n;
        self.outgoing = if fin { None } else { Some(kind) };
        Ok(FrameStart { written, mask })
    }

    /// Writes queued control frames and a ping with `payload` into `out`.
    ///
    /// # Errors
    ///
    /// [`Error::ControlPayloadTooLong`] over 125 bytes, [`Error::InvalidState`] unless OPEN,
    /// [`Error::BufferTooSmall`].
    pub fn ping(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.send_control(OpCode::Ping, payload, out)
    }

    /// Writes queued control frames and an unsolicited pong (a unidirectional heartbeat,
    /// §5.5.3) into `out`.
    ///
    /// # Errors
    ///
    /// As [`ping`](Self::ping).
    pub fn pong(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.send_control(OpCode::Pong, payload, out)
    }

    /// Starts (or, after the peer's close with `auto_close_reply` off, answers) the closing
    /// handshake: writes queued control frames and a close frame with `code` and `reason` into
    /// `out`. The close timeout starts at `now`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidClose`] for a code that may not be sent (1005, 1006, 1015, < 1000 …) or a
    /// reason over 123 bytes, [`Error::CloseAlreadySent`], [`Error::InvalidState`] before OPEN,
    /// [`Error::BufferTooSmall`].
    pub fn close(
        &mut self,
        code: CloseCode,
        reason: &str,
        now: Instant,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
        let len = build_close_payload(code, reason, &mut payload).map_err(Error::InvalidClose)?;
        if !matches!(self.phase, Phase::Open(_)) {
            return Err(Error::InvalidState(self.state()));
        }
        if self.close_out != CloseOut::None {
            return Err(Error::CloseAlreadySent);
        }
        let masked = self.role == Role::Client;
        let needed = self.queued_len() + frame_len(len, masked);
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        self.tick(now);
        let mut written = self.write_queued(out);
        written += self.write_control(OpCode::Close, &payload[..len], &mut out[written..]);
        self.close_out = CloseOut::Sent;
        if self.close_in.is_some() {
            self.after_close_exchange();
        } else {
            self.set_deadline(Timer::Close, Some(now + self.config.close_timeout));
            self.set_deadline(Timer::Pong, None);
            self.set_deadline(Timer::Keepalive, None);
        }
        Ok(written)
    }

    /// Writes what the connection has queued into `out`: pongs, keepalive pings, close frames,
    /// a handshake error response. Call it after every [`receive`](Self::receive) loop and after
    /// [`handle_timeout`](Self::handle_timeout), until it returns [`Transmit::Nothing`]. A
    /// 512-byte buffer always suffices.
    ///
    /// # Errors
    ///
    /// [`Error::BufferTooSmall`] if `out` cannot hold what is queued; nothing changes.
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> Result<Transmit, Error> {
        if let Some(err) = self.handshake_error_response {
            let written = handshake::write_error_response(&err, out).map_err(map_write_error)?;
            self.handshake_error_response = None;
            return Ok(Transmit::Bytes(written));
        }
        let needed = self.queued_len();
        if needed > 0 {
            if out.len() < needed {
                return Err(Error::BufferTooSmall { needed });
            }
            return Ok(Transmit::Bytes(self.write_queued(out)));
        }
        if self.shutdown_pending {
            self.shutdown_pending = false;
            return Ok(Transmit::ShutdownWrite);
        }
        Ok(Transmit::Nothing)
    }

    // ---- internals ------------------------------------------------------------------------------

    fn deadline(&self, timer: Timer) -> Option<Instant> {
        let at = self.deadlines[timer as usize];
        (at != UNSET).then_some(Instant::from_millis(at))
    }

    fn set_deadline(&mut self, timer: Timer, at: Option<Instant>) {
        // `UNSET` itself is the end of time: a deadline there never fires anyway.
        self.deadlines[timer as usize] = at.map_or(UNSET, Instant::as_millis);
    }

    fn tick(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
    }

    fn start_keepalive(&mut self, now: Instant) {
        self.set_deadline(
            Timer::Keepalive,
            self.config.keepalive_interval.map(|i| now + i),
        );
    }

    fn check_send(&self, kind: DataKind) -> Result<OpCode, Error> {
        if !matches!(self.phase, Phase::Open(_)) {
            return Err(Error::InvalidState(self.state()));
        }
        if self.close_out != CloseOut::None {
            // §5.5.1: "The application MUST NOT send any more data frames after sending a
            // Close frame."
            return Err(Error::CloseAlreadySent);
        }
        match self.outgoing {
            None => Ok(kind.opcode()),
            Some(current) if current == kind => Ok(OpCode::Continuation),
            Some(_) => Err(Error::MessageKindMismatch),
        }
    }

    fn send_control(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlPayloadTooLong(payload.len()));
        }
        if !matches!(self.phase, Phase::Open(_)) {
            return Err(Error::InvalidState(self.state()));
        }
        if self.close_out != CloseOut::None {
            return Err(Error::CloseAlreadySent);
        }
        let needed = self.queued_len() + frame_len(payload.len(), self.role == Role::Client);
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let written = self.write_queued(out);
        Ok(written + self.write_control(opcode, payload, &mut out[written..]))
    }

    /// Bytes that [`write_queued`](Self::write_queued) would write.
    #[inline]
    fn queued_len(&self) -> usize {
        let masked = self.role == Role::Client;
        let mut len = 0;
        if let Phase::Open(PendingPong {
            queued: true,
            len: pong_len,
            ..
        }) = self.phase
        {
            len += frame_len(usize::from(pong_len), masked);
        }
        if self.keepalive_ping_queued {
            len += frame_len(4, masked);
        }
        if let CloseOut::Queued { code, reason } = self.close_out {
            len += frame_len(if code.is_some() { 2 + reason.len() } else { 0 }, masked);
        }
        len
    }

    /// Writes the queued control frames; `out` holds at least [`queued_len`](Self::queued_len).
    #[inline(never)]
    fn write_queued(&mut self, out: &mut [u8]) -> usize {
        let mut written = 0;
        if let Phase::Open(pong) = &mut self.phase {
            if pong.queued {
                pong.queued = false;
                let pong = *pong;
                written +=
                    self.write_control(OpCode::Pong, &pong.payload[..usize::from(pong.len)], out);
            }
        }
        if self.keepalive_ping_queued {
            self.keepalive_ping_queued = false;
            let payload = self.keepalive_count.to_be_bytes();
            written += self.write_control(OpCode::Ping, &payload, &mut out[written..]);
        }
        if let CloseOut::Queued { code, reason } = self.close_out {
            let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
            let len = match code {
                Some(code) => build_close_payload(code, reason, &mut payload).unwrap_or(0),
                None => 0,
            };
            written += self.write_control(OpCode::Close, &payload[..len], &mut out[written..]);
            self.close_out = CloseOut::Sent;
            if matches!(self.phase, Phase::Closed)
                || (self.role == Role::Server && self.close_in.is_some())
            {
                self.shutdown_pending = true;
            }
        }
        written
    }

    fn write_control(&mut self, opcode: OpCode, payload: &[u8], out: &mut [u8]) -> usize {
        let (n, mask) = self.write_header(opcode, true, payload.len() as u64, out);
        let dst = &mut out[n..n + payload.len()];
        match mask {
            Some(key) => {
                apply_mask_copy(payload, dst, key, 0);
            }
            None => dst.copy_from_slice(payload),
        }
        n + payload.len()
    }

    /// Writes a frame header; a client draws a fresh masking key (§5.3).
    // Always inlined: as a call it cost `send` a third of its instructions for 16-byte messages.
    #[inline(always)]
    fn write_header(
        &mut self,
        opcode: OpCode,
        fin: bool,
        len: u64,
        out: &mut [u8],
    ) -> (usize, Option<[u8; 4]>) {
        let mask = (self.role == Role::Client).then(|| self.mask_keys.next(&mut self.entropy));
        let header = FrameHeader {
            fin,
            rsv: Rsv::NONE,
            opcode,
            mask,
            payload_len: len,
        };
        // Straight into `out` when it has room for the longest header (it writes only the
        // header's own bytes); else through a scratch array and a copy.
        if let Some(head) = out.first_chunk_mut::<MAX_HEADER_LEN>() {
            return (encode_header(&header, head), mask);
        }
        let mut scratch = [0u8; MAX_HEADER_LEN];
        let n = encode_header(&header, &mut scratch);
        out[..n].copy_from_slice(&scratch[..n]);
        (n, mask)
    }

    /// [`fail_now`](Self::fail_now), out of the fast path's way.
    #[cold]
    #[inline(never)]
    fn fail_now_cold<'a>(&mut self, err: ProtocolError, len: usize) -> Received<'a> {
        self.fail_now(err, len)
    }

    /// Fails the connection from inside `receive` (§7.1.7): queues a close frame with the
    /// error's code, goes CLOSED, discards the rest of the input, and reports it at once.
    fn fail_now<'a>(&mut self, err: ProtocolError, len: usize) -> Received<'a> {
        self.fail(err);
        self.closed_delivered = true;
        Received {
            consumed: len,
            event: Some(Event::Closed(self.info.unwrap_or(CLOSED_ABNORMALLY))),
        }
    }

    /// §7.1.7 "Fail the WebSocket Connection": send a close frame with the code (unless one was
    /// sent already), then close the transport without waiting.
    fn fail(&mut self, err: ProtocolError) {
        let code = err.close_code();
        if self.close_out == CloseOut::None && code != CloseCode::ABNORMAL {
            self.close_out = CloseOut::Queued {
                code: Some(code),
                reason: err.reason(),
            };
        }
        self.finish(CloseInfo {
            clean: false,
            code,
            error: Some(err),
        });
    }

    fn finish_clean(&mut self) {
        let code = self.close_in.unwrap_or(CloseCode::NO_STATUS);
        self.finish(CloseInfo {
            clean: true,
            code,
            error: None,
        });
    }

    /// Goes CLOSED: nothing more is read; what is queued is still written, then the transport
    /// is to be shut down.
    fn finish(&mut self, info: CloseInfo) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.phase = Phase::Closed;
        self.info = Some(info);
        self.keepalive_ping_queued = false;
        self.deadlines = [UNSET; 4];
        self.shutdown_pending = true;
    }

    fn undelivered_close(&mut self) -> Option<CloseInfo> {
        if self.closed_delivered {
            return None;
        }
        let info = self.info?;
        self.closed_delivered = true;
        Some(info)
    }
}

const CLOSED_ABNORMALLY: CloseInfo = CloseInfo {
    clean: false,
    code: CloseCode::ABNORMAL,
    error: None,
};

/// Bytes a frame with `payload_len` bytes takes on the wire.
pub(crate) const fn frame_len(payload_len: usize, masked: bool) -> usize {
    let header = if payload_len < 126 {
        2
    } else if payload_len <= 0xFFFF {
        4
    } else {
        10
    };
    header + if masked { 4 } else { 0 } + payload_len
}

/// Extra header bytes beyond 2 for a payload of `len` bytes.
const fn header_extra(len: u64) -> usize {
    if len < 126 {
        0
    } else if len <= 0xFFFF {
        2
    } else {
        8
    }
}

fn map_write_error(err: HandshakeError) -> Error {
    match err {
        HandshakeError::BufferTooSmall { needed } => Error::BufferTooSmall { needed },
        other => Error::Handshake(other),
    }
}
