//! The opening handshake over an HTTP/2 stream (RFC 8441) or an HTTP/3 stream (RFC 9220): an
//! extended CONNECT request and its `200` response, as header lists.
//!
//! Read RFC 8441 §4 and §5 first (RFC 9220 §3 says HTTP/3 uses the same pseudo-header fields
//! and setting, with identical semantics), then RFC 9113 §8.2.2 and §8.3 for the rules every
//! HTTP/2 message follows. In short:
//!
//! - The server first advertises `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (the HTTP/2 or HTTP/3
//!   library's business; a client MUST NOT send `:protocol` before seeing it).
//! - The client sends `:method CONNECT`, `:protocol websocket`, `:scheme`, `:path`,
//!   `:authority`, `sec-websocket-version: 13`, and `origin`, `sec-websocket-protocol`,
//!   `sec-websocket-extensions` as in RFC 6455. No `Sec-WebSocket-Key` (and no
//!   `Sec-WebSocket-Accept` in the answer): `:protocol` supersedes them. No `Connection` or
//!   `Upgrade`: connection-specific fields are malformed in HTTP/2 and HTTP/3.
//! - The server accepts with `:status 200`; any other status refuses.
//! - Then the stream carries WebSocket frames in both directions; see the crate documentation
//!   ("Three front doors") for how the end of the stream maps to the close rules.
//!
//! Field names are compared ASCII case-insensitively (the HTTP/2 or HTTP/3 library has already
//! rejected upper-case names, RFC 9113 §8.2.1) and written in lower case. The header list may be
//! in any order; the library has already checked that pseudo-header fields come first.
//!
//! The field rules themselves are those of the HTTP/1.1 handshake: one implementation
//! (`fields.rs`) serves all three front doors.

use super::checked::{CheckedResponse, checked_accessors};
use super::error::{Field, HandshakeError};
use super::fields::{
    Door, ResponseDoor, check_client_offers, check_request_fields, check_selection,
};
use super::header_list::{HeaderBlock, HeaderList, Scratch};
use super::syntax::{ascii_str, is_host, is_origin_form, trim_ows};

/// What a client asks for in an extended CONNECT (RFC 8441 §5): the target URI's parts and the
/// RFC 6455 offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConnect<'a> {
    /// `https` for a `wss` URI, `http` for a `ws` URI (RFC 8441 §5).
    pub scheme: &'a str,
    /// The authority of the target URI: `host[:port]`, no userinfo (RFC 9113 §8.3.1).
    pub authority: &'a str,
    /// The path and query of the target URI, starting with `/`.
    pub path: &'a str,
    /// The `origin` value, which browsers send (RFC 6455 §4.1 step 8).
    pub origin: Option<&'a str>,
    /// Subprotocols offered, most preferred first; each a token. Not written if empty.
    pub subprotocols: &'a [&'a str],
    /// Extensions offered, each a whole offer (RFC 6455 §9.1). Not written if empty.
    pub extensions: &'a [&'a str],
}

impl<'a> ClientConnect<'a> {
    /// A request for `path` at `authority` over `https` (a `wss` URI), with no origin,
    /// subprotocols or extensions.
    pub const fn new(authority: &'a str, path: &'a str) -> Self {
        ClientConnect {
            scheme: "https",
            authority,
            path,
            origin: None,
            subprotocols: &[],
            extensions: &[],
        }
    }
}

/// RFC 8441 §5: `:scheme` is `https` for wss, `http` for ws (RFC 3986 §3.1: case-insensitive).
fn is_scheme(scheme: &[u8]) -> bool {
    scheme.eq_ignore_ascii_case(b"https") || scheme.eq_ignore_ascii_case(b"http")
}

/// RFC 9113 §8.3.1: `:authority` is `host [":" port]`, without the deprecated userinfo.
fn is_authority(authority: &[u8]) -> bool {
    is_host(authority) && !authority.contains(&b'@')
}

/// The header list of the client's extended CONNECT (RFC 8441 §4, §5; RFC 9220 §3), in the
/// order of the RFC 8441 §5.1 example:
///
/// ```text
/// :method = CONNECT
/// :protocol = websocket
/// :scheme = {scheme}
/// :path = {path}
/// :authority = {authority}
/// sec-websocket-protocol = {subprotocols, comma-separated}     (if any)
/// sec-websocket-extensions = {extensions, comma-separated}     (if any)
/// sec-websocket-version = 13
/// origin = {origin}                                            (if any)
/// ```
///
/// Two or more subprotocols (extensions) are joined into `scratch`, which must then hold their
/// lengths plus two bytes per separator; one, or none, needs no scratch (`&mut []` will do).
/// Further fields (`authorization`, `cookie`, …) are the HTTP library's to add; they MUST NOT
/// be connection-specific (RFC 9113 §8.2.2).
///
/// # Errors
/// Checks come first: [`InvalidPseudoHeader`](HandshakeError::InvalidPseudoHeader) for a
/// `scheme` other than `http`/`https`, an `authority` that is not `host[:port]`, a `path` not in
/// origin-form; [`InvalidOrigin`](HandshakeError::InvalidOrigin);
/// [`InvalidSubprotocol`](HandshakeError::InvalidSubprotocol) (not a token);
/// [`InvalidExtension`](HandshakeError::InvalidExtension) (not one §9.1 extension); and
/// [`BufferTooSmall`](HandshakeError::BufferTooSmall) with the scratch length needed.
///
/// ```
/// use wsproto::handshake::*;
/// let req = ClientConnect { subprotocols: &["chat", "superchat"], ..ClientConnect::new("server.example.com", "/chat") };
/// let mut scratch = [0u8; 32];
/// let fields = connect_request_headers(&req, &mut scratch)?;
/// assert_eq!(fields.get(":protocol"), Some(&b"websocket"[..]));
/// assert_eq!(fields.get("sec-websocket-protocol"), Some(&b"chat, superchat"[..]));
/// # Ok::<(), HandshakeError>(())
/// ```
pub fn connect_request_headers<'b>(
    req: &ClientConnect<'b>,
    scratch: &'b mut [u8],
) -> Result<HeaderBlock<'b>, HandshakeError> {
    if !is_scheme(req.scheme.as_bytes()) {
        return Err(HandshakeError::InvalidPseudoHeader(Field::Scheme));
    }
    if !is_origin_form(req.path.as_bytes()) {
        return Err(HandshakeError::InvalidPseudoHeader(Field::Path));
    }
    if !is_authority(req.authority.as_bytes()) {
        return Err(HandshakeError::InvalidPseudoHeader(Field::Authority));
    }
    check_client_offers(req.origin, req.subprotocols, req.extensions)?;
    let mut scratch = Scratch::for_lists(scratch, &[req.subprotocols, req.extensions])?;
    let mut block = HeaderBlock::new();
    // RFC 8441 §4, §5: the extended CONNECT and its pseudo-header fields.
    block.push(":method", b"CONNECT");
    block.push(":protocol", b"websocket");
    block.push(":scheme", req.scheme.as_bytes());
    block.push(":path", req.path.as_bytes());
    block.push(":authority", req.authority.as_bytes());
    // RFC 6455 §4.1 steps 10 and 11, as RFC 8441 §5 keeps them.
    block.push_list("sec-websocket-protocol", req.subprotocols, &mut scratch);
    block.push_list("sec-websocket-extensions", req.extensions, &mut scratch);
    // RFC 8441 §5: Sec-WebSocket-Version is used "as defined in [RFC6455]".
    block.push("sec-websocket-version", b"13");
    if let Some(origin) = req.origin {
        block.push("origin", origin.as_bytes());
    }
    Ok(block)
}

/// A client's extended CONNECT that passed every check of RFC 8441 §5: what
/// [`Request`](super::Request) is for a raw HTTP/1.1 head.
///
/// Holds the caller's [`HeaderList`] and walks it again, lazily, for subprotocols and
/// extensions; nothing is copied.
#[derive(Clone, Debug)]
pub struct ConnectRequest<'a, H> {
    headers: H,
    scheme: &'a str,
    authority: &'a str,
    path: &'a str,
    origin: Option<&'a str>,
}

impl<'a, H: HeaderList<'a>> ConnectRequest<'a, H> {
    /// The `:scheme`: `https` (a `wss` URI) or `http` (a `ws` URI), as received.
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// The `:authority`: `host[:port]`.
    pub fn authority(&self) -> &'a str {
        self.authority
    }

    /// The `:path`: the /resource name/ (RFC 6455 §3), path and query, starting with `/`.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The `origin` value, sent by browsers (RFC 6455 §10.2: check it to refuse cross-origin
    /// use).
    pub fn origin(&self) -> Option<&'a str> {
        self.origin
    }

    checked_accessors!(request, H, borrowed);
}

/// The pseudo-header fields of a request, each at most once.
#[derive(Default)]
struct RequestPseudo<'a> {
    method: Option<&'a [u8]>,
    protocol: Option<&'a [u8]>,
    scheme: Option<&'a [u8]>,
    path: Option<&'a [u8]>,
    authority: Option<&'a [u8]>,
}

impl<'a> RequestPseudo<'a> {
    fn read(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Result<Self, HandshakeError> {
        let mut seen = RequestPseudo::default();
        for (name, value) in pairs {
            if name.first() != Some(&b':') {
                continue;
            }
            let (field, slot) = [
                (Field::Method, &mut seen.method),
                (Field::Protocol, &mut seen.protocol),
                (Field::Scheme, &mut seen.scheme),
                (Field::Path, &mut seen.path),
                (Field::Authority, &mut seen.authority),
            ]
            .into_iter()
            .find(|(field, _)| name.eq_ignore_ascii_case(field.name().as_bytes()))
            // RFC 9113 §8.3: "Endpoints MUST treat a request or response that contains undefined
            // or invalid pseudo-header fields as malformed" (RFC 9114 §4.3.1 likewise).
            .ok_or(HandshakeError::UnknownPseudoHeader)?;
            // RFC 9113 §8.3.1: "the same pseudo-header field name MUST NOT appear more than once".
            if slot.replace(trim_ows(value)).is_some() {
                return Err(HandshakeError::DuplicateHeader(field));
            }
        }
        Ok(seen)
    }
}

/// Checks a client's extended CONNECT (RFC 8441 §4, §5; RFC 9220 §3) from its header list:
/// pseudo-header fields and regular fields together, any order, names case-insensitive.
///
/// Checks, in order; the first failure is the error:
/// 1. every pseudo-header field is one a request defines, at most once
///    ([`UnknownPseudoHeader`](HandshakeError::UnknownPseudoHeader),
///    [`DuplicateHeader`](HandshakeError::DuplicateHeader));
/// 2. `:method` is `CONNECT` ([`MissingHeader`](HandshakeError::MissingHeader)`(Method)`,
///    [`MethodNotConnect`](HandshakeError::MethodNotConnect)), `:protocol` is `websocket`
///    (`MissingHeader(Protocol)`, [`ProtocolNotWebSocket`](HandshakeError::ProtocolNotWebSocket));
///    `:scheme` is `http` or `https`, `:path` is a path and query, `:authority` is
///    `host[:port]` (`MissingHeader(..)`,
///    [`InvalidPseudoHeader`](HandshakeError::InvalidPseudoHeader)`(..)`);
/// 3. each field, in order: no `sec-websocket-key`
///    ([`ForbiddenHeader`](HandshakeError::ForbiddenHeader)`(SecWebSocketKey)`), no
///    connection-specific field (`ForbiddenHeader(Connection)`, `(Upgrade)`, …), and the
///    RFC 6455 rules for `host` (optional here), `origin`, `sec-websocket-version`,
///    `sec-websocket-protocol`, `sec-websocket-extensions`;
/// 4. exactly one `sec-websocket-version` equal to `13` (`MissingHeader(SecWebSocketVersion)`,
///    [`UnsupportedVersion`](HandshakeError::UnsupportedVersion)).
///
/// On error, answer with [`connect_error_headers`]. On success, answer with
/// [`connect_accept_headers`], then run the stream with
/// [`Connection::open`](crate::connection::Connection::open). No allocation.
///
/// ```
/// use wsproto::handshake::*;
/// // RFC 8441 §5.1.
/// let fields = [
///     (":method", "CONNECT"),
///     (":protocol", "websocket"),
///     (":scheme", "https"),
///     (":path", "/chat"),
///     (":authority", "server.example.com"),
///     ("sec-websocket-protocol", "chat, superchat"),
///     ("sec-websocket-extensions", "permessage-deflate"),
///     ("sec-websocket-version", "13"),
///     ("origin", "http://www.example.com"),
/// ];
/// let req = check_connect_request(&fields)?;
/// assert_eq!((req.authority(), req.path()), ("server.example.com", "/chat"));
/// let response = connect_accept_headers(req.subprotocols().next(), None)?;
/// assert_eq!(response.as_slice(), [(":status", &b"200"[..]), ("sec-websocket-protocol", b"chat")]);
/// # Ok::<(), HandshakeError>(())
/// ```
pub fn check_connect_request<'a, H: HeaderList<'a>>(
    headers: H,
) -> Result<ConnectRequest<'a, H>, HandshakeError> {
    let pseudo = RequestPseudo::read(headers.header_pairs())?;
    // RFC 8441 §4: "A CONNECT request ... with a :protocol pseudo-header field".
    let method = pseudo
        .method
        .ok_or(HandshakeError::MissingHeader(Field::Method))?;
    if method != b"CONNECT" {
        return Err(HandshakeError::MethodNotConnect);
    }
    // RFC 8441 §5: "The :protocol pseudo-header field MUST be included in the CONNECT request,
    // and it MUST have a value of 'websocket'".
    let protocol = pseudo
        .protocol
        .ok_or(HandshakeError::MissingHeader(Field::Protocol))?;
    if !protocol.eq_ignore_ascii_case(b"websocket") {
        return Err(HandshakeError::ProtocolNotWebSocket);
    }
    // RFC 8441 §4: "On requests that contain the :protocol pseudo-header field, the :scheme and
    // :path pseudo-header fields of the target URI ... MUST also be included." §5: the
    // :authority too, and the scheme is https (wss) or http (ws).
    let scheme = pseudo
        .scheme
        .ok_or(HandshakeError::MissingHeader(Field::Scheme))?;
    if !is_scheme(scheme) {
        return Err(HandshakeError::InvalidPseudoHeader(Field::Scheme));
    }
    let path = pseudo
        .path
        .ok_or(HandshakeError::MissingHeader(Field::Path))?;
    if !is_origin_form(path) {
        return Err(HandshakeError::InvalidPseudoHeader(Field::Path));
    }
    let authority = pseudo
        .authority
        .ok_or(HandshakeError::MissingHeader(Field::Authority))?;
    if !is_authority(authority) {
        return Err(HandshakeError::InvalidPseudoHeader(Field::Authority));
    }
    let fields = check_request_fields(headers.header_pairs(), Door::ExtendedConnect)?;
    fields.require_version()?;
    Ok(ConnectRequest {
        scheme: ascii_str(scheme),
        authority: ascii_str(authority),
        path: ascii_str(path),
        origin: fields.origin.map(ascii_str),
        headers,
    })
}

/// The header list of the server's accepting answer (RFC 8441 §5: "it MUST respond with a 200
/// (OK) status code"): `:status 200`, then `sec-websocket-protocol` and
/// `sec-websocket-extensions` if given. No `sec-websocket-accept`.
///
/// Whether the subprotocol and extensions were offered is the caller's to ensure, as for
/// [`write_accept`](super::write_accept).
///
/// # Errors
/// [`InvalidSubprotocol`](HandshakeError::InvalidSubprotocol) (not a token),
/// [`InvalidExtension`](HandshakeError::InvalidExtension) (not a §9.1 list).
pub fn connect_accept_headers<'a>(
    subprotocol: Option<&'a str>,
    extensions: Option<&'a str>,
) -> Result<HeaderBlock<'a>, HandshakeError> {
    check_selection(subprotocol, extensions)?;
    let mut block = HeaderBlock::new();
    block.push(":status", b"200");
    if let Some(subprotocol) = subprotocol {
        block.push("sec-websocket-protocol", subprotocol.as_bytes());
    }
    if let Some(extensions) = extensions {
        block.push("sec-websocket-extensions", extensions.as_bytes());
    }
    Ok(block)
}

/// The header list answering an extended CONNECT that failed with `error`:
///
/// - a version error (missing or not `13`): `:status 400` and `sec-websocket-version: 13`
///   (RFC 6455 §4.2.2 step 4 asks for the version header; HTTP/1.1's 426 would need an
///   `Upgrade` field, which HTTP/2 and HTTP/3 forbid);
/// - [`MethodNotConnect`](HandshakeError::MethodNotConnect): `:status 405` and `allow: CONNECT`
///   (RFC 9110 §15.5.6);
/// - any other: `:status` [`error.response_status()`](HandshakeError::response_status).
///
/// Refusals of the application's own (401, 403, 404, …) need no help: any status but 200
/// refuses.
pub fn connect_error_headers(error: &HandshakeError) -> HeaderBlock<'static> {
    let mut block = HeaderBlock::new();
    match error.response_status() {
        426 => {
            block.push(":status", b"400");
            block.push("sec-websocket-version", b"13");
        }
        405 => {
            block.push(":status", b"405");
            block.push("allow", b"CONNECT");
        }
        431 => block.push(":status", b"431"),
        500 => block.push(":status", b"500"),
        505 => block.push(":status", b"505"),
        _ => block.push(":status", b"400"),
    }
    block
}

/// A server's `200` answer to an extended CONNECT that passed every check: what
/// [`Response`](super::Response) is for a raw HTTP/1.1 head. The same type as
/// [`UpgradeResponse`](super::UpgradeResponse): a [`CheckedResponse`].
pub type ConnectResponse<'a, H> = CheckedResponse<'a, H>;

/// Checks the server's answer to an extended CONNECT sent with the given offers (RFC 8441 §5;
/// RFC 9220 §3), from its header list, `:status` included.
///
/// Checks, in order:
/// 1. the only pseudo-header field is one `:status` of three digits
///    ([`UnknownPseudoHeader`](HandshakeError::UnknownPseudoHeader),
///    [`DuplicateHeader`](HandshakeError::DuplicateHeader)`(Status)`,
///    [`MissingHeader`](HandshakeError::MissingHeader)`(Status)`,
///    [`InvalidPseudoHeader`](HandshakeError::InvalidPseudoHeader)`(Status)`);
/// 2. the status is 200, else [`UnexpectedStatus`](HandshakeError::UnexpectedStatus) with it
///    (the fields of such a response are not checked);
/// 3. each field: no `sec-websocket-accept`
///    ([`ForbiddenHeader`](HandshakeError::ForbiddenHeader)`(SecWebSocketAccept)`), no
///    connection-specific field, at most one `sec-websocket-protocol` holding one token, §9.1
///    lists in `sec-websocket-extensions`;
/// 4. the subprotocol is one of `offered_subprotocols` and every extension's name the name of
///    one of `offered_extensions` (whole offers or bare names)
///    ([`UnexpectedSubprotocol`](HandshakeError::UnexpectedSubprotocol),
///    [`UnexpectedExtension`](HandshakeError::UnexpectedExtension)).
///
/// On success, run the stream with [`Connection::open`](crate::connection::Connection::open).
pub fn check_connect_response<'a, H: HeaderList<'a>>(
    headers: H,
    offered_subprotocols: &[&str],
    offered_extensions: &[&str],
) -> Result<ConnectResponse<'a, H>, HandshakeError> {
    let mut status = None;
    for (name, value) in headers.header_pairs() {
        if name.first() != Some(&b':') {
            continue;
        }
        // RFC 9113 §8.3.2: ":status" is the only pseudo-header field of a response.
        if !name.eq_ignore_ascii_case(Field::Status.name().as_bytes()) {
            return Err(HandshakeError::UnknownPseudoHeader);
        }
        if status.replace(trim_ows(value)).is_some() {
            return Err(HandshakeError::DuplicateHeader(Field::Status));
        }
    }
    let status = status.ok_or(HandshakeError::MissingHeader(Field::Status))?;
    let status = match status {
        [d0, d1, d2] if [d0, d1, d2].iter().all(|d| d.is_ascii_digit()) => [d0, d1, d2]
            .iter()
            .fold(0u16, |n, &&d| n * 10 + u16::from(d - b'0')),
        _ => return Err(HandshakeError::InvalidPseudoHeader(Field::Status)),
    };
    // RFC 8441 §5: "If the server agrees to the WebSocket connection, it MUST respond with a 200
    // (OK) status code"; anything else is HTTP's business.
    if status != 200 {
        return Err(HandshakeError::UnexpectedStatus(status));
    }
    CheckedResponse::check(
        headers,
        ResponseDoor::ExtendedConnect,
        offered_subprotocols,
        offered_extensions,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::syntax::assert_holds_for;

    #[test]
    fn authorities() {
        assert_holds_for(
            is_authority,
            &[b"example.com:8443", b"[::1]:443"],
            &[b"user@example.com", b"", b"a b"],
        );
    }
}
