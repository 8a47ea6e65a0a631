//! What the checks give back: the accessors every checked handshake message shares, written once
//! for the five types that have them ([`Request`](super::Request), [`Response`](super::Response),
//! [`UpgradeRequest`](super::UpgradeRequest), [`ConnectRequest`](super::ConnectRequest) and
//! [`CheckedResponse`]), and the one response type of the two header-list front doors.
//!
//! Every checked type keeps the fields it was checked from (the head's field lines, or the
//! caller's [`HeaderList`]) and walks them again, lazily, for subprotocols, extensions and any
//! other field; nothing is copied.

use super::error::HandshakeError;
use super::fields::{ResponseDoor, check_offered, check_response_fields};
use super::header_list::HeaderList;
use super::offers::Extensions;

/// Writes accessors of a checked message over the fields it was checked from (whose
/// `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` values were checked), inside an
/// `impl<'a, …>` block:
///
/// - `request, $H, owned | borrowed`: `subprotocols`, `extensions`, `headers`, `header`;
/// - `response, $H, owned | borrowed`: `extensions`, `headers`, `header`;
/// - `upgrade`: `host`, `origin`, `key`, `accept_key`, over an `upgrade` field
///   ([`UpgradeFields`](super::fields::UpgradeFields)).
///
/// `owned`: the type holds a raw head's field lines in `fields: &'a [u8]`, and `headers()` returns
/// a new [`Headers`](super::Headers) over them; `borrowed`: the type holds the caller's list in
/// `headers: H`, and `headers()` returns a reference to it.
macro_rules! checked_accessors {
    (request, $H:ty, $how:ident) => {
        /// The subprotocols offered, in the client's order of preference, over all
        /// `Sec-WebSocket-Protocol` fields (RFC 6455 §4.1 step 10, §4.2.1 step 8).
        pub fn subprotocols(&self) -> $crate::handshake::Subprotocols<'a, $H> {
            $crate::handshake::Subprotocols::new(&self.list())
        }

        /// The extensions offered, in order, over all `Sec-WebSocket-Extensions` fields
        /// (RFC 6455 §9.1).
        pub fn extensions(&self) -> $crate::handshake::Extensions<'a, $H> {
            $crate::handshake::Extensions::new(&self.list())
        }

        $crate::handshake::checked::checked_accessors!(fields, $H, $how);
    };
    (response, $H:ty, $how:ident) => {
        /// The extensions in use, in the order the server listed them, over all
        /// `Sec-WebSocket-Extensions` fields (RFC 6455 §9.1).
        pub fn extensions(&self) -> $crate::handshake::Extensions<'a, $H> {
            $crate::handshake::Extensions::new(&self.list())
        }

        $crate::handshake::checked::checked_accessors!(fields, $H, $how);
    };
    (fields, $H:ty, owned) => {
        /// The fields of the head, walked again.
        fn list(&self) -> $H {
            $crate::handshake::Headers::new(self.fields)
        }

        /// All header fields, in order (`Cookie`, `Authorization`, … included).
        pub fn headers(&self) -> $H {
            self.list()
        }

        $crate::handshake::checked::checked_accessors!(header);
    };
    (fields, $H:ty, borrowed) => {
        /// The caller's list, to walk again (cloning a [`HeaderList`] is cheap: a slice
        /// reference, or an iterator about to be cloned for walking anyway).
        fn list(&self) -> $H {
            ::core::clone::Clone::clone(&self.headers)
        }

        /// The header list this was checked from.
        pub fn headers(&self) -> &$H {
            &self.headers
        }

        $crate::handshake::checked::checked_accessors!(header);
    };
    (header) => {
        /// The value of the first field called `name` (ASCII case-insensitive), without
        /// surrounding whitespace.
        pub fn header(&self, name: &str) -> Option<&'a [u8]> {
            $crate::handshake::header_list::find_pair(
                $crate::handshake::HeaderList::header_pairs(&self.list()),
                name,
            )
        }
    };
    (upgrade) => {
        /// The `Host` value (RFC 6455 §4.2.1 step 2).
        pub fn host(&self) -> &'a str {
            self.upgrade.host
        }

        /// The `Origin` value, sent by browsers (RFC 6455 §4.2.1 step 7; §10.2: check it to
        /// refuse cross-origin use).
        pub fn origin(&self) -> Option<&'a str> {
            self.upgrade.origin
        }

        /// The `Sec-WebSocket-Key` value (24 base64 characters).
        pub fn key(&self) -> &'a str {
            self.upgrade.key
        }

        /// The `Sec-WebSocket-Accept` value answering this request (RFC 6455 §4.2.2 step 5.4).
        /// One SHA-1.
        pub fn accept_key(&self) -> [u8; 28] {
            $crate::handshake::accept_key(self.upgrade.key.as_bytes())
        }
    };
}

pub(crate) use checked_accessors;

/// A server's accepting answer, read by an HTTP library, that passed every check: the `101` of
/// an HTTP/1.1 Upgrade ([`check_upgrade_response`](super::check_upgrade_response), which calls
/// it [`UpgradeResponse`](super::UpgradeResponse)) or the `200` of an extended CONNECT over
/// HTTP/2 or HTTP/3 ([`check_connect_response`](super::check_connect_response), which calls it
/// [`ConnectResponse`](super::ConnectResponse)). What [`Response`](super::Response) is for a raw
/// head.
///
/// Both doors leave the same thing to know once the checks pass: the subprotocol selected and the
/// extensions in use, which have been checked against the client's offers.
///
/// ```
/// use wsproto::handshake::*;
/// let fields = [(":status", "200"), ("sec-websocket-protocol", "chat")];
/// let response: CheckedResponse<'_, _> = check_connect_response(&fields, &["chat"], &[])?;
/// assert_eq!(response.subprotocol(), Some("chat"));
/// assert_eq!(response.extensions().count(), 0);
/// assert_eq!(response.header(":STATUS"), Some(&b"200"[..]));
/// # Ok::<(), HandshakeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CheckedResponse<'a, H> {
    headers: H,
    subprotocol: Option<&'a str>,
}

impl<'a, H: HeaderList<'a>> CheckedResponse<'a, H> {
    /// Checks a response's fields for `door` and what they select against the client's offers;
    /// the status (and, for extended CONNECT, the pseudo-header fields) were checked before.
    pub(crate) fn check(
        headers: H,
        door: ResponseDoor<'_>,
        offered_subprotocols: &[&str],
        offered_extensions: &[&str],
    ) -> Result<Self, HandshakeError> {
        let subprotocol = check_response_fields(headers.header_pairs(), door)?;
        check_offered(
            subprotocol,
            Extensions::new(&headers),
            offered_subprotocols,
            offered_extensions,
        )?;
        Ok(CheckedResponse {
            headers,
            subprotocol,
        })
    }

    /// The subprotocol the server selected (RFC 6455 §4.2.2 step 5.5), if any: one the client
    /// offered.
    pub fn subprotocol(&self) -> Option<&'a str> {
        self.subprotocol
    }

    checked_accessors!(response, H, borrowed);
}
