//! A server's answer to an opening handshake, owned: what an adapter's `accept` decision
//! returns. Owned strings let the decision pick a subprotocol from the server's own list and add
//! headers built for this connection (a `Set-Cookie`), which the borrowed
//! [`AcceptOptions`](crate::handshake::AcceptOptions) cannot hold past the call; an adapter
//! borrows them into an [`Answer`](super::Answer).

use alloc::string::String;
use alloc::vec::Vec;

#[cfg(feature = "server")]
use super::{Session, Storage};
#[cfg(feature = "server")]
use crate::{
    connection::Error,
    entropy::Entropy,
    handshake::{AcceptOptions, Rejection},
};

/// A server's acceptance of an opening handshake: the subprotocol chosen and extra headers for
/// the 101 response.
///
/// permessage-deflate is negotiated by the session ([`SessionConfig`](super::SessionConfig)'s
/// `deflate`, an adapter's `Options::deflate`), not here: a session runs no other extension, so
/// there is no field to name one.
///
/// ```
/// use wsproto::session::Accept;
/// let supported: Vec<String> = vec!["chat.v2".into(), "chat.v1".into()];
/// let session_id = 42;
/// # let offered = ["chat.v1", "chat.v2"];
/// // In `accept`'s decision, `offered` is `request.subprotocols()`.
/// let chosen = supported.iter().find(|p| offered.contains(&p.as_str()));
/// let accept = Accept::new()
///     .with_subprotocol(chosen.cloned())
///     .with_header("Set-Cookie", format!("session={session_id}; HttpOnly"));
/// assert_eq!(accept.subprotocol.as_deref(), Some("chat.v2"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accept {
    /// The subprotocol selected, one of those the client offered (RFC 6455 §4.2.2); a token.
    /// `None` writes no header.
    pub subprotocol: Option<String>,
    /// Further headers (`Set-Cookie`, …), written last, in order. Those the handshake writes
    /// itself (`Upgrade`, `Connection`, `Sec-WebSocket-*`, …) are refused by the core, as are
    /// values with control characters: the handshake then fails with a usage error and the
    /// client sees 500.
    pub headers: Vec<(String, String)>,
}

impl Accept {
    /// No subprotocol, no extra headers.
    pub fn new() -> Self {
        Accept::default()
    }

    /// Selects `subprotocol` (or none, for `None`).
    pub fn with_subprotocol(mut self, subprotocol: impl Into<Option<String>>) -> Self {
        self.subprotocol = subprotocol.into();
        self
    }

    /// Adds the header `name: value` to the 101 response.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A server's refusal of an opening handshake, owned: a [`Rejection`] whose headers and body
/// the decision built at run time. The fields mean what [`Rejection`]'s do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// [`Rejection::status`].
    pub status: u16,
    /// [`Rejection::headers`].
    pub headers: Vec<(String, String)>,
    /// [`Rejection::body`].
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

/// `(name, value)` pairs borrowed from owned ones, as the borrowed answers take them.
#[cfg(feature = "server")]
fn borrowed_headers(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

#[cfg(feature = "server")]
impl<S: Storage, E: Entropy> Session<S, E> {
    /// Server: accepts the pending request with an owned [`Accept`] (see
    /// [`accept`](Session::accept)), for a decision made outside [`answer`](Session::answer)'s
    /// closure (which answered [`Answer::Later`](super::Answer::Later)).
    ///
    /// # Errors
    ///
    /// As [`answer`](Session::answer): an invalid subprotocol or header is the caller's error;
    /// the request stays pending, to be refused (500) instead.
    pub fn accept_owned(&mut self, accept: &Accept) -> Result<(), Error> {
        let headers = borrowed_headers(&accept.headers);
        self.accept(&AcceptOptions {
            subprotocol: accept.subprotocol.as_deref(),
            // permessage-deflate is the session's (`SessionConfig::deflate`).
            extensions: None,
            headers: &headers,
        })
    }

    /// Server: refuses the pending request with an owned [`Reject`] (see
    /// [`reject`](Session::reject)).
    ///
    /// # Errors
    ///
    /// As [`answer`](Session::answer).
    pub fn reject_owned(&mut self, reject: &Reject) -> Result<(), Error> {
        let headers = borrowed_headers(&reject.headers);
        self.reject(Rejection {
            status: reject.status,
            headers: &headers,
            body: &reject.body,
        })
    }
}
