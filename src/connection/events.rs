//! What a connection tells its caller: the events it finds in the input, how it ended, and the
//! two error types (the peer's mistakes, [`ProtocolError`]; the caller's, [`Error`]).
//!
//! RFC 6455 §7.4.1 lists the close codes each failure is reported with; §5.6 the data kinds.

use core::fmt;

use crate::close::{CloseCode, CloseError};
use crate::config::ConfigError;
use crate::frame::{FrameError, OpCode};
use crate::handshake::{HandshakeError, Request, Response};
use crate::utf8::Utf8Error;

/// The connection's state, numbered like the browser's `WebSocket.readyState`: in declaration
/// order, so `state as u8` is the browser's number.
///
/// It never moves backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ReadyState {
    /// 0: the opening handshake is under way.
    Connecting,
    /// 1: the handshake succeeded; messages flow both ways.
    Open,
    /// 2: a close frame was sent or received; the closing handshake is under way.
    Closing,
    /// 3: the connection is closed (or could not be opened). Flush what
    /// [`poll_transmit`](crate::connection::Connection::poll_transmit) still gives, then close the transport.
    Closed,
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
    pub(super) const fn opcode(self) -> OpCode {
        match self {
            DataKind::Text => OpCode::Text,
            DataKind::Binary => OpCode::Binary,
        }
    }
}

/// What one [`Connection::receive`](crate::connection::Connection::receive) call found.
#[derive(Debug)]
pub struct Received<'a> {
    /// How many input bytes were used. The caller MUST drop them and present the rest again,
    /// with newly read bytes appended, on the next call.
    pub consumed: usize,
    /// The event found, or `None` when the connection needs more input to make progress.
    pub event: Option<Event<'a>>,
}

/// Declares an event enum: the variants given, then the control events the connection and the
/// session both report (ping, pong, the peer's close, closed), stated once here so that their
/// meaning cannot drift between [`Event`] and
/// [`SessionEvent`](crate::session::SessionEvent).
macro_rules! with_control_events {
    ($(#[$attr:meta])* $vis:vis enum $name:ident<'a> { $($variants:tt)* }) => {
        $(#[$attr])*
        $vis enum $name<'a> {
            $($variants)*
            /// A ping. With `auto_pong` on (the default) its pong is already queued.
            Ping(&'a [u8]),
            /// A pong.
            Pong(&'a [u8]),
            /// The peer's close frame. With `auto_close_reply` on (the default) and no close
            /// sent yet, the reply is already queued.
            CloseReceived {
                /// The peer's code, or [`CloseCode::NO_STATUS`](crate::CloseCode::NO_STATUS)
                /// (1005) for an empty close frame.
                code: $crate::close::CloseCode,
                /// The peer's reason (valid UTF-8, at most 123 bytes).
                reason: &'a str,
            },
            /// The connection is CLOSED; given exactly once. Send what the output still holds
            /// ([`Connection::poll_transmit`](crate::Connection::poll_transmit),
            /// [`Session::output`](crate::Session::output)), then close the transport.
            Closed($crate::connection::CloseInfo),
        }
    };
}
pub(crate) use with_control_events;

with_control_events! {
    /// Something that happened on the connection. Payloads borrow the caller's input buffer.
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum Event<'a> {
        /// Server: a valid opening handshake request. Inspect it (path, origin, cookies,
        /// subprotocols …), then call [`Connection::accept`](crate::connection::Connection::accept) or [`Connection::reject`](crate::connection::Connection::reject).
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
    }
}

/// The [`CloseInfo`] of a connection that ended without a close handshake.
pub(super) const CLOSED_ABNORMALLY: CloseInfo = CloseInfo {
    clean: false,
    code: CloseCode::ABNORMAL,
    error: None,
};

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
    /// A frame-level violation (§5.2–§5.5), or a frame over [`Config::frame_limit`](crate::Config::frame_limit).
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
    pub(super) const fn reason(&self) -> &'static str {
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
                    "message of at least {size} bytes exceeds the limit max_message_size = {max} bytes"
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
    /// The call does not fit the role: `connect` on a server. (`accept` or `reject` on a client
    /// is [`NoPendingHandshake`](Error::NoPendingHandshake): no request is pending there.)
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
    /// [`begin_frame`](crate::connection::Connection::begin_frame) cannot continue a compressed message: its
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

/// What [`Connection::poll_transmit`](crate::connection::Connection::poll_transmit) has for the transport.
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

/// The start of a frame whose payload the caller writes itself ([`Connection::begin_frame`](crate::connection::Connection::begin_frame)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameStart {
    /// Bytes written into the output buffer: queued control frames, then the frame header.
    pub written: usize,
    /// A client MUST mask the payload with this key (offset 0 at the payload's first byte), for
    /// example with [`apply_mask`](crate::mask::apply_mask). `None` for a server.
    pub mask: Option<[u8; 4]>,
}
