//! The header fields of an opening handshake, whatever carried them: the one implementation of
//! the field rules (RFC 6455 §4.1, §4.2.1, §4.2.2, §9.1; RFC 8441 §5; RFC 9220 §3) behind the
//! three front doors.
//!
//! | front door | start line | fields |
//! |---|---|---|
//! | a raw HTTP/1.1 head ([`parse_request`](super::parse_request), [`parse_response`](super::parse_response)) | parsed from the head | the head's lines, walked by [`Headers`] |
//! | an HTTP/1.1 request or response another library parsed ([`check_upgrade_request`](super::check_upgrade_request), [`check_upgrade_response`](super::check_upgrade_response)) | method, version, status as arguments | any [`HeaderList`] |
//! | extended CONNECT over HTTP/2 or HTTP/3 ([`check_connect_request`](super::check_connect_request), [`check_connect_response`](super::check_connect_response)) | pseudo-header fields in the list | any [`HeaderList`] |
//!
//! All three hand `(name, value)` byte pairs to [`check_request_fields`] or
//! [`check_response_fields`], and the HTTP/1.1 ones the request's method and version to
//! [`check_method_and_version`]. What a response selected is checked against what was offered
//! with [`check_offered`]: by the header-list doors themselves, for a raw head when the caller
//! calls [`check_negotiation`](super::check_negotiation). Writers check a client's offers with
//! [`check_client_offers`] and a server's selection with [`check_selection`].

use super::accept::{accept_key, decode_key};
use super::error::{Field, HandshakeError};
use super::offers::{ExtensionOffer, is_extension_list};
use super::syntax::{
    HttpVersion, ascii_str, has_token, is_host, is_origin, is_token, is_token_list, list_elements,
    trim_ows,
};

/// Which front door a header list came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Door {
    /// HTTP/1.1 Upgrade (RFC 6455 §4): a raw head or a list another library parsed.
    Upgrade,
    /// Extended CONNECT on an HTTP/2 (RFC 8441) or HTTP/3 (RFC 9220) stream.
    ExtendedConnect,
}

/// RFC 6455 §4.1 step 2 / §4.2.1 step 1: "an HTTP/1.1 or higher GET request". The method first,
/// then the version.
pub(crate) fn check_method_and_version(
    method: &[u8],
    version: HttpVersion,
) -> Result<(), HandshakeError> {
    if method != b"GET" {
        return Err(HandshakeError::MethodNotGet);
    }
    if !version.can_upgrade() {
        return Err(HandshakeError::HttpVersion);
    }
    Ok(())
}

/// The field a name stands for among those a door forbids: the connection-specific fields of
/// RFC 9113 §8.2.2 and RFC 9114 §4.2 (`TE` only with a value other than `trailers`).
fn connection_specific(name: &[u8], value: &[u8]) -> Option<Field> {
    let is = |field: Field| name.eq_ignore_ascii_case(field.name().as_bytes());
    [
        Field::Connection,
        Field::Upgrade,
        Field::KeepAlive,
        Field::ProxyConnection,
        Field::TransferEncoding,
    ]
    .into_iter()
    .find(|&field| is(field))
    .or_else(|| (is(Field::Te) && !value.eq_ignore_ascii_case(b"trailers")).then_some(Field::Te))
}

/// What the field rules found in a request's fields (every value without surrounding
/// whitespace). Presence rules that depend on the door are checked by
/// [`require_upgrade`](Self::require_upgrade) and [`require_version`](Self::require_version).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestFields<'a> {
    pub(crate) host: Option<&'a [u8]>,
    pub(crate) origin: Option<&'a [u8]>,
    upgrade: bool,
    upgrade_websocket: bool,
    connection: bool,
    connection_upgrade: bool,
    key: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
}

/// The fields an HTTP/1.1 Upgrade request MUST have, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UpgradeFields<'a> {
    pub(crate) host: &'a str,
    pub(crate) origin: Option<&'a str>,
    pub(crate) key: &'a str,
}

/// Checks a request's fields in order, as the server reads them (RFC 6455 §4.2.1 steps 2–8,
/// §9.1; for extended CONNECT, RFC 8441 §5 and RFC 9113 §8.2.2): every error a single field can
/// show, at that field. Pseudo-header fields are the door's business: skipped for extended
/// CONNECT (checked before), [`UnknownPseudoHeader`](HandshakeError::UnknownPseudoHeader) in
/// HTTP/1.1, which has none.
pub(crate) fn check_request_fields<'a>(
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    door: Door,
) -> Result<RequestFields<'a>, HandshakeError> {
    let mut seen = RequestFields::default();
    for (name, value) in pairs {
        let value = trim_ows(value);
        if name.first() == Some(&b':') {
            if door == Door::ExtendedConnect {
                continue;
            }
            return Err(HandshakeError::UnknownPseudoHeader);
        }
        let is = |known: Field| name.eq_ignore_ascii_case(known.name().as_bytes());
        if is(Field::Host) {
            // RFC 7230 §5.4: "A server MUST respond with a 400 (Bad Request) status code to any
            // HTTP/1.1 request message that lacks a Host header field and to any request message
            // that contains more than one Host header field". RFC 9113 §8.3.1 lets an HTTP/2
            // request carry one besides :authority.
            if seen.host.replace(value).is_some() {
                return Err(HandshakeError::DuplicateHeader(Field::Host));
            }
            if !is_host(value) {
                return Err(HandshakeError::InvalidHost);
            }
        } else if is(Field::Origin) {
            // RFC 6454 §7.3: a user agent MUST NOT include more than one Origin header field.
            if seen.origin.replace(value).is_some() {
                return Err(HandshakeError::DuplicateHeader(Field::Origin));
            }
            if !is_origin(value) {
                return Err(HandshakeError::InvalidOrigin);
            }
        } else if is(Field::SecWebSocketKey) {
            // RFC 8441 §5: the key's processing "has been superseded by the :protocol
            // pseudo-header field".
            if door == Door::ExtendedConnect {
                return Err(HandshakeError::ForbiddenHeader(Field::SecWebSocketKey));
            }
            // RFC 6455 §11.3.1: it MUST NOT appear more than once in an HTTP request.
            if seen.key.replace(value).is_some() {
                return Err(HandshakeError::DuplicateHeader(Field::SecWebSocketKey));
            }
        } else if is(Field::SecWebSocketVersion) {
            // RFC 6455 §11.3.5: one value from the client.
            if seen.version.replace(value).is_some() {
                return Err(HandshakeError::DuplicateHeader(Field::SecWebSocketVersion));
            }
        } else if is(Field::SecWebSocketProtocol) {
            // RFC 6455 §4.1 step 10: 1#token.
            if !is_token_list(value) {
                return Err(HandshakeError::InvalidSubprotocol);
            }
        } else if is(Field::SecWebSocketExtensions) {
            // RFC 6455 §9.1: a malformed value MUST fail the connection.
            if !is_extension_list(value) {
                return Err(HandshakeError::InvalidExtension);
            }
        } else if door == Door::ExtendedConnect {
            // RFC 8441 §5: Connection and Upgrade "MUST NOT be included in the CONNECT request";
            // RFC 9113 §8.2.2 / RFC 9114 §4.2: no connection-specific field at all.
            if let Some(field) = connection_specific(name, value) {
                return Err(HandshakeError::ForbiddenHeader(field));
            }
        } else if is(Field::Upgrade) {
            seen.upgrade = true;
            seen.upgrade_websocket |= has_token(value, "websocket");
        } else if is(Field::Connection) {
            seen.connection = true;
            seen.connection_upgrade |= has_token(value, "upgrade");
        }
    }
    Ok(seen)
}

impl<'a> RequestFields<'a> {
    /// RFC 6455 §4.2.1 steps 6: exactly one `Sec-WebSocket-Version`, `13` (else 426).
    pub(crate) fn require_version(&self) -> Result<(), HandshakeError> {
        let version = self
            .version
            .ok_or(HandshakeError::MissingHeader(Field::SecWebSocketVersion))?;
        if version != b"13" {
            return Err(HandshakeError::UnsupportedVersion);
        }
        Ok(())
    }

    /// The presence rules of an HTTP/1.1 Upgrade request, in the order RFC 6455 §4.2.1 lists
    /// them (version before key).
    pub(crate) fn require_upgrade(self) -> Result<UpgradeFields<'a>, HandshakeError> {
        // RFC 6455 §4.2.1 step 2.
        let host = self
            .host
            .ok_or(HandshakeError::MissingHeader(Field::Host))?;
        // RFC 6455 §4.2.1 step 3.
        if !self.upgrade {
            return Err(HandshakeError::MissingHeader(Field::Upgrade));
        }
        if !self.upgrade_websocket {
            return Err(HandshakeError::UpgradeNotWebSocket);
        }
        // RFC 6455 §4.2.1 step 4.
        if !self.connection {
            return Err(HandshakeError::MissingHeader(Field::Connection));
        }
        if !self.connection_upgrade {
            return Err(HandshakeError::ConnectionNotUpgrade);
        }
        // RFC 6455 §4.2.1 step 6, checked before the key so that a client of another version
        // (which may not send this key at all) gets 426 and the version we speak (§4.2.2 step 4,
        // §4.4).
        self.require_version()?;
        // RFC 6455 §4.2.1 step 5: base64 that decodes to 16 bytes.
        let key = self
            .key
            .ok_or(HandshakeError::MissingHeader(Field::SecWebSocketKey))?;
        if decode_key(key).is_none() {
            return Err(HandshakeError::InvalidKey);
        }
        Ok(UpgradeFields {
            host: ascii_str(host),
            origin: self.origin.map(ascii_str),
            key: ascii_str(key),
        })
    }
}

/// How a response is checked.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ResponseDoor<'k> {
    /// HTTP/1.1 101: the accept value answers this `Sec-WebSocket-Key`.
    Upgrade(&'k [u8; 24]),
    /// Extended CONNECT 200: no accept value, no connection-specific field.
    ExtendedConnect,
}

/// Checks a response's fields (RFC 6455 §4.1 response steps 2–4, §4.2.2, §9.1, §11.3; for
/// extended CONNECT, RFC 8441 §5 and RFC 9113 §8.2.2) and returns the subprotocol selected.
/// The status was checked before, as were pseudo-header fields for extended CONNECT.
pub(crate) fn check_response_fields<'a>(
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    door: ResponseDoor<'_>,
) -> Result<Option<&'a str>, HandshakeError> {
    let connect = matches!(door, ResponseDoor::ExtendedConnect);
    let mut upgrade = false;
    let mut upgrade_websocket = false;
    let mut connection = false;
    let mut connection_upgrade = false;
    let mut accept = None;
    let mut subprotocol = None;
    for (name, value) in pairs {
        let value = trim_ows(value);
        if name.first() == Some(&b':') {
            if connect {
                continue;
            }
            return Err(HandshakeError::UnknownPseudoHeader);
        }
        let is = |known: Field| name.eq_ignore_ascii_case(known.name().as_bytes());
        if is(Field::SecWebSocketAccept) {
            // RFC 8441 §5: no Sec-WebSocket-Accept processing over extended CONNECT.
            if connect {
                return Err(HandshakeError::ForbiddenHeader(Field::SecWebSocketAccept));
            }
            // RFC 6455 §11.3.3: it MUST NOT appear more than once in an HTTP response.
            if accept.replace(value).is_some() {
                return Err(HandshakeError::DuplicateHeader(Field::SecWebSocketAccept));
            }
        } else if is(Field::SecWebSocketProtocol) {
            // RFC 6455 §11.3.4: it MUST NOT appear more than once in an HTTP response; §4.2.2:
            // its value is a single (token), never empty.
            if subprotocol.is_some() {
                return Err(HandshakeError::DuplicateHeader(Field::SecWebSocketProtocol));
            }
            let mut elements = list_elements(value);
            let first = elements.next().ok_or(HandshakeError::InvalidSubprotocol)?;
            if elements.next().is_some() {
                return Err(HandshakeError::MultipleSubprotocols);
            }
            if !is_token(first) || first.len() != value.len() {
                return Err(HandshakeError::InvalidSubprotocol);
            }
            subprotocol = Some(ascii_str(first));
        } else if is(Field::SecWebSocketExtensions) {
            // RFC 6455 §9.1: a malformed value MUST fail the connection.
            if !is_extension_list(value) {
                return Err(HandshakeError::InvalidExtension);
            }
        } else if connect {
            // RFC 9113 §8.2.2 / RFC 9114 §4.2: no connection-specific field.
            if let Some(field) = connection_specific(name, value) {
                return Err(HandshakeError::ForbiddenHeader(field));
            }
        } else if is(Field::Upgrade) {
            upgrade = true;
            upgrade_websocket |= has_token(value, "websocket");
        } else if is(Field::Connection) {
            connection = true;
            connection_upgrade |= has_token(value, "upgrade");
        }
    }
    let ResponseDoor::Upgrade(key) = door else {
        return Ok(subprotocol);
    };
    // RFC 6455 §4.1, response step 2.
    if !upgrade {
        return Err(HandshakeError::MissingHeader(Field::Upgrade));
    }
    if !upgrade_websocket {
        return Err(HandshakeError::UpgradeNotWebSocket);
    }
    // RFC 6455 §4.1, response step 3.
    if !connection {
        return Err(HandshakeError::MissingHeader(Field::Connection));
    }
    if !connection_upgrade {
        return Err(HandshakeError::ConnectionNotUpgrade);
    }
    // RFC 6455 §4.1, response step 4: the accept value, "ignoring any leading and trailing
    // whitespace" (dropped above).
    let accept = accept.ok_or(HandshakeError::MissingHeader(Field::SecWebSocketAccept))?;
    if accept != accept_key(key) {
        return Err(HandshakeError::AcceptMismatch);
    }
    Ok(subprotocol)
}

/// The name of an offered extension: `offer` may be a bare name or a whole offer with
/// parameters.
fn offered_name(offer: &str) -> &str {
    ExtensionOffer::parse(offer).map_or(offer, |o| o.name())
}

/// Checks that a server selected only what the client offered (RFC 6455 §4.1, response steps 5
/// and 6): the subprotocol, if any, is one of `offered_subprotocols` (exact match), and every
/// extension's name is the name of one of `offered_extensions` (bare names or whole offers).
pub(crate) fn check_offered<'a>(
    subprotocol: Option<&str>,
    extensions: impl Iterator<Item = ExtensionOffer<'a>>,
    offered_subprotocols: &[&str],
    offered_extensions: &[&str],
) -> Result<(), HandshakeError> {
    if let Some(selected) = subprotocol {
        if !offered_subprotocols.contains(&selected) {
            return Err(HandshakeError::UnexpectedSubprotocol);
        }
    }
    for extension in extensions {
        if !offered_extensions
            .iter()
            .any(|offer| offered_name(offer) == extension.name())
        {
            return Err(HandshakeError::UnexpectedExtension);
        }
    }
    Ok(())
}

/// Checks what a client offers, whichever door writes it ([`write_request`](super::write_request),
/// [`upgrade_request_headers`](super::upgrade_request_headers),
/// [`connect_request_headers`](super::connect_request_headers)): the origin, the subprotocols and
/// the extensions, in that order.
pub(crate) fn check_client_offers(
    origin: Option<&str>,
    subprotocols: &[&str],
    extensions: &[&str],
) -> Result<(), HandshakeError> {
    // RFC 6454 §7.1: a serialized origin (or a list of them, or "null").
    if origin.is_some_and(|origin| !is_origin(origin.as_bytes())) {
        return Err(HandshakeError::InvalidArgument(Field::Origin));
    }
    // RFC 6455 §4.1 step 10: 1#token.
    if !subprotocols.iter().all(|p| is_token(p.as_bytes())) {
        return Err(HandshakeError::InvalidArgument(Field::SecWebSocketProtocol));
    }
    // RFC 6455 §4.1 step 11, §9.1: each element one extension.
    if !extensions
        .iter()
        .all(|e| ExtensionOffer::parse(e).is_some())
    {
        return Err(HandshakeError::InvalidArgument(
            Field::SecWebSocketExtensions,
        ));
    }
    Ok(())
}

/// Checks what a server writes as its selection: the subprotocol a token (RFC 6455 §4.2.2 step
/// 4: the empty string is not legal), the extensions a §9.1 list.
pub(crate) fn check_selection(
    subprotocol: Option<&str>,
    extensions: Option<&str>,
) -> Result<(), HandshakeError> {
    if subprotocol.is_some_and(|p| !is_token(p.as_bytes())) {
        return Err(HandshakeError::InvalidArgument(Field::SecWebSocketProtocol));
    }
    if extensions.is_some_and(|e| !is_extension_list(e.as_bytes())) {
        return Err(HandshakeError::InvalidArgument(
            Field::SecWebSocketExtensions,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_specific_fields() {
        assert_eq!(
            connection_specific(b"keep-alive", b"5"),
            Some(Field::KeepAlive)
        );
        assert_eq!(connection_specific(b"te", b"trailers"), None);
        assert_eq!(connection_specific(b"TE", b"gzip"), Some(Field::Te));
        assert_eq!(connection_specific(b"cookie", b"a"), None);
    }

    #[test]
    fn offered_names() {
        assert_eq!(
            offered_name("permessage-deflate; client_max_window_bits"),
            "permessage-deflate"
        );
        assert_eq!(offered_name("x-foo"), "x-foo");
    }
}
