//! The one error type of every adapter built on a session, generic over the transport's error.

use core::fmt;

use crate::connection::{self, CloseInfo, ProtocolError};
use crate::handshake::HandshakeError;

/// What went wrong, for an adapter that drives a [`Session`](super::Session) over a transport
/// whose errors are `T` (`std::io::Error`, an `embedded-io` error …).
///
/// [`from_close`](Self::from_close) turns how a connection ended into the error a caller sees.
///
/// # The opening handshake's errors
///
/// What an adapter's `connect` and `accept` return, stated here once for every adapter:
///
/// - a client: [`Handshake`](Self::Handshake) if the server refused (its HTTP status in
///   [`HandshakeError::UnexpectedStatus`]) or answered wrongly; [`Protocol`](Self::Protocol)
///   with [`ProtocolError::HandshakeTimeout`] or [`ProtocolError::UnexpectedEof`];
///   [`Io`](Self::Io); [`Usage`](Self::Usage) for an invalid request or config;
/// - a server: [`Rejected`](Self::Rejected) after the application refused;
///   [`Handshake`](Self::Handshake) for a malformed request (answered 400, 426 or 431 by the
///   core); [`Protocol`](Self::Protocol) with [`ProtocolError::HandshakeTimeout`] or
///   [`ProtocolError::UnexpectedEof`]; [`Io`](Self::Io); [`Usage`](Self::Usage) for invalid
///   options (an acceptance the core refuses is answered with 500).
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionError<T> {
    /// The transport failed. The connection is closed.
    Io(T),
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
    /// end. The session's `close_reason` has the peer's reason.
    Closed(CloseInfo),
    /// The call was not allowed (sending after a close, an invalid close code, a too-long ping
    /// payload, an invalid accept or reject, buffers too small, an inconsistent `Config`).
    /// Nothing was sent.
    Usage(connection::Error),
}

impl<T> SessionError<T> {
    /// The HTTP status of a refused handshake: the server's status for a client, the status the
    /// application refused with for a server.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            SessionError::Handshake(HandshakeError::UnexpectedStatus(status))
            | SessionError::Rejected(status) => Some(*status),
            _ => None,
        }
    }

    /// The error for a connection that ended as `info` says.
    pub fn from_close(info: CloseInfo) -> Self {
        match info.error {
            None => SessionError::Closed(info),
            Some(ProtocolError::Handshake(err)) => SessionError::Handshake(err),
            Some(ProtocolError::Rejected(status)) => SessionError::Rejected(status),
            Some(err) => SessionError::Protocol(err),
        }
    }
}

impl<T: fmt::Debug> fmt::Display for SessionError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `Debug`: an `embedded-io` error has no `Display`.
            SessionError::Io(err) => write!(f, "transport error: {err:?}"),
            SessionError::Handshake(err) => write!(f, "opening handshake failed: {err}"),
            SessionError::Rejected(status) => write!(f, "handshake refused with status {status}"),
            SessionError::Protocol(err) => write!(f, "connection failed: {err}"),
            SessionError::Closed(info) => write!(f, "connection closed with code {}", info.code),
            SessionError::Usage(err) => write!(f, "{err}"),
        }
    }
}

impl<T: core::error::Error + 'static> core::error::Error for SessionError<T> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SessionError::Io(err) => Some(err),
            SessionError::Handshake(err) => Some(err),
            SessionError::Protocol(err) => Some(err),
            SessionError::Usage(err) => Some(err),
            SessionError::Rejected(_) | SessionError::Closed(_) => None,
        }
    }
}

impl<T> From<connection::Error> for SessionError<T> {
    fn from(err: connection::Error) -> Self {
        SessionError::Usage(err)
    }
}

#[cfg(feature = "std")]
impl From<std::io::Error> for SessionError<std::io::Error> {
    fn from(err: std::io::Error) -> Self {
        SessionError::Io(err)
    }
}
