//! HTTP/1.1 Upgrade through an HTTP library that already parsed the message (hyper, axum, …):
//! the same rules as [`parse_request`](super::parse_request) and
//! [`parse_response`](super::parse_response), over a [`HeaderList`] instead of a raw head.
//!
//! Read RFC 6455 §4.1 and §4.2 first. Both share every rule with the raw-head parser through
//! `fields.rs`: the same checks, in the same order, with the same errors.

use super::accept::is_accept_shaped;
use super::checked::{CheckedResponse, checked_accessors};
use super::client::{ClientRequest, FieldValue, check_client_request, request_fields};
use super::error::HandshakeError;
use super::fields::{
    Door, ResponseDoor, UpgradeFields, check_method_and_version, check_request_fields,
    check_selection,
};
use super::header_list::{HeaderBlock, HeaderList, Scratch};
use super::syntax::HttpVersion;

/// A client's Upgrade request, parsed by an HTTP library, that passed every check of RFC 6455
/// §4.2.1: what [`Request`](super::Request) is for a raw head.
///
/// Holds the caller's [`HeaderList`] and walks it again, lazily, for subprotocols and
/// extensions; nothing is copied.
#[derive(Clone, Debug)]
pub struct UpgradeRequest<'a, H> {
    headers: H,
    upgrade: UpgradeFields<'a>,
}

impl<'a, H: HeaderList<'a>> UpgradeRequest<'a, H> {
    checked_accessors!(upgrade);
    checked_accessors!(request, H, borrowed);
}

/// Checks a client's Upgrade request that an HTTP library has already parsed: its method, its
/// version and its header fields (any order, names case-insensitive).
///
/// The same checks as [`parse_request`](super::parse_request) after its line syntax, in the same
/// order and with the same errors: method `GET`
/// ([`MethodNotGet`](HandshakeError::MethodNotGet)), version 1.1 or a later 1.x
/// ([`HttpVersion`](HandshakeError::HttpVersion)), then the fields (RFC 6455 §4.2.1): exactly
/// one valid `Host`, at most one `Origin`, `Upgrade` lists `websocket`, `Connection` lists
/// `upgrade`, exactly one `Sec-WebSocket-Version` equal to `13`, exactly one
/// `Sec-WebSocket-Key` of 16 bytes, token lists in `Sec-WebSocket-Protocol`, §9.1 lists in
/// `Sec-WebSocket-Extensions`. The request-target is the library's to check. A pseudo-header
/// field (a name starting with `:`) is [`UnknownPseudoHeader`](HandshakeError::UnknownPseudoHeader):
/// HTTP/1.1 has none.
///
/// On error, answer with [`HandshakeError::response_status`] (426 with
/// `Sec-WebSocket-Version: 13` for a version error). On success, answer 101 with
/// [`upgrade_accept_headers`], then run the stream with
/// [`Connection::open`](crate::connection::Connection::open). No allocation; one pass over the
/// fields.
///
/// ```
/// use wsproto::handshake::*;
/// let fields = [
///     ("host", "server.example.com"),
///     ("upgrade", "websocket"),
///     ("connection", "Upgrade"),
///     ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
///     ("sec-websocket-protocol", "chat, superchat"),
///     ("sec-websocket-version", "13"),
/// ];
/// let req = check_upgrade_request(b"GET", HttpVersion::HTTP_1_1, &fields)?;
/// let subprotocol = req.subprotocols().find(|p| *p == "chat");
/// let accept = req.accept_key();
/// let response = upgrade_accept_headers(&accept, subprotocol, None)?;
/// assert_eq!(response.get("sec-websocket-accept"), Some(&b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="[..]));
/// # Ok::<(), HandshakeError>(())
/// ```
pub fn check_upgrade_request<'a, H: HeaderList<'a>>(
    method: &[u8],
    version: HttpVersion,
    headers: H,
) -> Result<UpgradeRequest<'a, H>, HandshakeError> {
    check_method_and_version(method, version)?;
    let upgrade = check_request_fields(headers.header_pairs(), Door::Upgrade)?.require_upgrade()?;
    Ok(UpgradeRequest { headers, upgrade })
}

/// The header fields of the server's `101 Switching Protocols` (RFC 6455 §4.2.2 step 5), for an
/// HTTP library to send: `upgrade: websocket`, `connection: Upgrade`, `sec-websocket-accept`,
/// then `sec-websocket-protocol` and `sec-websocket-extensions` if given. Names are lower case
/// (as `http::HeaderName` wants them); the status (101) is the caller's to set.
///
/// `accept` is [`UpgradeRequest::accept_key`]. Whether the subprotocol and extensions were
/// offered is the caller's to ensure, as for [`write_accept`](super::write_accept).
///
/// # Errors
/// The checks of [`write_accept`](super::write_accept):
/// [`InvalidAccept`](HandshakeError::InvalidAccept),
/// [`InvalidSubprotocol`](HandshakeError::InvalidSubprotocol) (not a token),
/// [`InvalidExtension`](HandshakeError::InvalidExtension) (not a §9.1 list).
pub fn upgrade_accept_headers<'a>(
    accept: &'a [u8; 28],
    subprotocol: Option<&'a str>,
    extensions: Option<&'a str>,
) -> Result<HeaderBlock<'a>, HandshakeError> {
    if !is_accept_shaped(accept) {
        return Err(HandshakeError::InvalidAccept);
    }
    check_selection(subprotocol, extensions)?;
    let mut block = HeaderBlock::new();
    block.push("upgrade", b"websocket");
    block.push("connection", b"Upgrade");
    block.push("sec-websocket-accept", accept);
    if let Some(subprotocol) = subprotocol {
        block.push("sec-websocket-protocol", subprotocol.as_bytes());
    }
    if let Some(extensions) = extensions {
        block.push("sec-websocket-extensions", extensions.as_bytes());
    }
    Ok(block)
}

/// The header fields of a client's Upgrade request (RFC 6455 §4.1), for an HTTP client library
/// to send with method `GET`, version HTTP/1.1 and request-target `req.path`, in the order of
/// [`write_request`](super::write_request):
///
/// ```text
/// host = {host}
/// upgrade = websocket
/// connection = Upgrade
/// sec-websocket-key = {key}
/// origin = {origin}                                            (if any)
/// sec-websocket-protocol = {subprotocols, comma-separated}     (if any)
/// sec-websocket-version = 13
/// sec-websocket-extensions = {extensions, comma-separated}     (if any)
/// ```
///
/// `key` is [`request_key`](super::request_key) of a nonce that MUST be random for each
/// connection (§4.1 step 7); keep it to check the response with [`check_upgrade_response`].
/// `req.headers` are checked but not in the block (it holds nine fields): add them with the
/// library. Two or more subprotocols (extensions) are joined into `scratch`, as for
/// [`connect_request_headers`](super::connect_request_headers).
///
/// # Errors
/// The checks of [`write_request`](super::write_request), in its order, then
/// [`BufferTooSmall`](HandshakeError::BufferTooSmall) with the scratch length needed.
///
/// ```
/// use wsproto::handshake::*;
/// let req = ClientRequest { subprotocols: &["chat", "superchat"], ..ClientRequest::new("server.example.com", "/chat") };
/// let key = request_key(b"the sample nonce");
/// let mut scratch = [0u8; 32];
/// let fields = upgrade_request_headers(&req, &key, &mut scratch)?;
/// assert_eq!(fields.get("sec-websocket-key"), Some(&b"dGhlIHNhbXBsZSBub25jZQ=="[..]));
/// // The server's checks accept it as it is.
/// let checked = check_upgrade_request(b"GET", HttpVersion::HTTP_1_1, fields.as_slice())?;
/// assert_eq!(checked.subprotocols().collect::<Vec<_>>(), ["chat", "superchat"]);
/// # Ok::<(), HandshakeError>(())
/// ```
pub fn upgrade_request_headers<'b>(
    req: &ClientRequest<'b>,
    key: &'b [u8; 24],
    scratch: &'b mut [u8],
) -> Result<HeaderBlock<'b>, HandshakeError> {
    check_client_request(req)?;
    let mut scratch = Scratch::for_lists(scratch, &[req.subprotocols, req.extensions])?;
    let mut block = HeaderBlock::new();
    for (_, name, value) in request_fields(req, key) {
        match value {
            FieldValue::Bytes(value) => block.push(name, value),
            FieldValue::List(items) => block.push_list(name, items, &mut scratch),
        }
    }
    Ok(block)
}

/// A server's `101` response, read by an HTTP client library, that passed every check of
/// RFC 6455 §4.1: what [`Response`](super::Response) is for a raw head. The same type as
/// [`ConnectResponse`](super::ConnectResponse): a [`CheckedResponse`].
pub type UpgradeResponse<'a, H> = CheckedResponse<'a, H>;

/// Checks the server's response to an Upgrade request that an HTTP client library sent with
/// key `sec_websocket_key` ([`request_key`](super::request_key) of the nonce) and the given
/// offers: the status, the fields and the negotiation.
///
/// The same checks as [`parse_response`](super::parse_response) after its line syntax, then
/// [`check_negotiation`](super::check_negotiation): status 101, else
/// [`UnexpectedStatus`](HandshakeError::UnexpectedStatus) (the fields of such a response are not
/// checked); `Upgrade` lists `websocket`, `Connection` lists `upgrade`, exactly one
/// `Sec-WebSocket-Accept` equal to the key's accept value, at most one `Sec-WebSocket-Protocol`
/// holding one token, §9.1 lists in `Sec-WebSocket-Extensions`; then the subprotocol is one of
/// `offered_subprotocols` and every extension's name the name of one of `offered_extensions`
/// (whole offers such as `permessage-deflate; client_max_window_bits`, or bare names).
///
/// On success, run the stream with [`Connection::open`](crate::connection::Connection::open).
pub fn check_upgrade_response<'a, H: HeaderList<'a>>(
    status: u16,
    headers: H,
    sec_websocket_key: &[u8; 24],
    offered_subprotocols: &[&str],
    offered_extensions: &[&str],
) -> Result<UpgradeResponse<'a, H>, HandshakeError> {
    // RFC 6455 §4.1: "If the status code received from the server is not 101, the client
    // handles the response per HTTP [RFC2616] procedures."
    if status != 101 {
        return Err(HandshakeError::UnexpectedStatus(status));
    }
    CheckedResponse::check(
        headers,
        ResponseDoor::Upgrade(sec_websocket_key),
        offered_subprotocols,
        offered_extensions,
    )
}
