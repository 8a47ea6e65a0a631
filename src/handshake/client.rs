//! The client's side: writing the request (RFC 6455 §4.1) and checking the server's response
//! (§4.1, "The client MUST validate the server's response as follows").

use super::accept::request_key;
use super::checked::checked_accessors;
use super::error::{Field, HandshakeError};
use super::fields::{ResponseDoor, check_client_offers, check_offered, check_response_fields};
use super::head::{
    HeadLimits, HeadScanner, Headers, Out, check_extra_headers, parse_head, write_with,
};
use super::header_list::HeaderList;
use super::syntax::{HttpVersion, is_field_value, is_host, is_origin_form};

/// What a client asks for in its opening handshake (RFC 6455 §4.1).
///
/// Build it with [`ClientRequest::new`] and set the optional fields; [`write_request`] checks every
/// field before writing anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientRequest<'a> {
    /// The `Host` value: the host, plus `:port` when not the default (§4.1 step 4).
    pub host: &'a str,
    /// The request-target: the resource name, path and query, starting with `/` (§4.1 step 3).
    pub path: &'a str,
    /// The `Origin` value, which browsers send (§4.1 step 8).
    pub origin: Option<&'a str>,
    /// Subprotocols offered, most preferred first (§4.1 step 10); each a token. Not written if
    /// empty. Their uniqueness (§4.1 step 10) is not checked.
    pub subprotocols: &'a [&'a str],
    /// Extensions offered (§4.1 step 11, §9.1), each a whole offer such as
    /// `permessage-deflate; client_max_window_bits`. Not written if empty.
    pub extensions: &'a [&'a str],
    /// Further headers (`Authorization`, `Cookie`, …), written last, in order.
    pub headers: &'a [(&'a str, &'a str)],
}

impl<'a> ClientRequest<'a> {
    /// A request for `path` on `host` with no origin, subprotocols, extensions or extra headers.
    pub const fn new(host: &'a str, path: &'a str) -> Self {
        ClientRequest {
            host,
            path,
            origin: None,
            subprotocols: &[],
            extensions: &[],
            headers: &[],
        }
    }
}

/// Headers [`write_request`] writes itself, which extra headers may not repeat (patterns of
/// [`check_extra_headers`]).
const RESERVED_REQUEST_HEADERS: &[&str] =
    &["Host", "Upgrade", "Connection", "Origin", "Sec-WebSocket-*"];

/// Writes the client's opening handshake for `req` with the key derived from `nonce` into `out`,
/// and returns its length.
///
/// The head is, in this order (the order of the RFC 6455 §1.2 example):
///
/// ```text
/// GET {path} HTTP/1.1
/// Host: {host}
/// Upgrade: websocket
/// Connection: Upgrade
/// Sec-WebSocket-Key: {base64(nonce)}
/// Origin: {origin}                                     (if any)
/// Sec-WebSocket-Protocol: {subprotocols, comma-separated}   (if any)
/// Sec-WebSocket-Version: 13
/// Sec-WebSocket-Extensions: {extensions, comma-separated}   (if any)
/// {extra headers}
/// ```
///
/// The nonce MUST be random for each connection (§4.1 step 7); keep
/// [`request_key`](super::request_key)`(nonce)` to check the response with [`parse_response`].
///
/// # Errors
/// Checks come first and nothing is written on error: [`InvalidPath`](HandshakeError::InvalidPath),
/// [`InvalidHost`](HandshakeError::InvalidHost), [`InvalidOrigin`](HandshakeError::InvalidOrigin),
/// [`InvalidSubprotocol`](HandshakeError::InvalidSubprotocol) (not a token),
/// [`InvalidExtension`](HandshakeError::InvalidExtension) (not one §9.1 extension),
/// [`ExtraHeaderName`](HandshakeError::ExtraHeaderName),
/// [`ExtraHeaderValue`](HandshakeError::ExtraHeaderValue) (a control other than tab: no header
/// injection), [`ReservedHeader`](HandshakeError::ReservedHeader) (`Host`, `Upgrade`,
/// `Connection`, `Origin`, `Sec-WebSocket-*`), and
/// [`BufferTooSmall`](HandshakeError::BufferTooSmall) with the exact length needed.
///
/// Costs two passes over the output (one to measure, one to write); no allocation.
pub fn write_request(
    req: &ClientRequest<'_>,
    nonce: &[u8; 16],
    out: &mut [u8],
) -> Result<usize, HandshakeError> {
    check_client_request(req)?;
    let key = request_key(nonce);
    write_with(out, |out| emit_request(req, &key, out))
}

/// The checks of a client's request, whoever writes it ([`write_request`] or an HTTP library
/// with [`upgrade_request_headers`](super::upgrade_request_headers)), in the order documented
/// there.
pub(crate) fn check_client_request(req: &ClientRequest<'_>) -> Result<(), HandshakeError> {
    // RFC 6455 §4.1 step 3: the Request-URI matches the /resource name/ (a relative URI).
    if !is_origin_form(req.path.as_bytes()) {
        return Err(HandshakeError::InvalidPath);
    }
    // RFC 6455 §4.1 step 4.
    if !is_host(req.host.as_bytes()) {
        return Err(HandshakeError::InvalidArgument(Field::Host));
    }
    check_client_offers(req.origin, req.subprotocols, req.extensions)?;
    check_extra_headers(req.headers, RESERVED_REQUEST_HEADERS)
}

/// A request field's value, as [`request_fields`] gives it to the two writers: bytes, or a list
/// for the writer to join with `", "`.
pub(crate) enum FieldValue<'b> {
    /// Written as it is.
    Bytes(&'b [u8]),
    /// Never empty: [`request_fields`] leaves an empty list out.
    List(&'b [&'b str]),
}

/// The fields of a client's Upgrade request, in the order both [`write_request`] and
/// [`upgrade_request_headers`](super::upgrade_request_headers) send them (the order of the
/// RFC 6455 §1.2 example), as `(name, lower-case name, value)`: optional fields only when set,
/// lists only when not empty.
pub(crate) fn request_fields<'b>(
    req: &ClientRequest<'b>,
    key: &'b [u8; 24],
) -> impl Iterator<Item = (&'static str, &'static str, FieldValue<'b>)> {
    use FieldValue::{Bytes, List};
    let list = |items: &'b [&'b str]| (!items.is_empty()).then_some(List(items));
    [
        // RFC 6455 §4.1 step 4.
        ("Host", "host", Some(Bytes(req.host.as_bytes()))),
        // RFC 6455 §4.1 steps 5 and 6.
        ("Upgrade", "upgrade", Some(Bytes(b"websocket"))),
        ("Connection", "connection", Some(Bytes(b"Upgrade"))),
        // RFC 6455 §4.1 step 7.
        ("Sec-WebSocket-Key", "sec-websocket-key", Some(Bytes(key))),
        // RFC 6455 §4.1 step 8.
        ("Origin", "origin", req.origin.map(|o| Bytes(o.as_bytes()))),
        // RFC 6455 §4.1 step 10.
        (
            "Sec-WebSocket-Protocol",
            "sec-websocket-protocol",
            list(req.subprotocols),
        ),
        // RFC 6455 §4.1 step 9.
        (
            "Sec-WebSocket-Version",
            "sec-websocket-version",
            Some(Bytes(b"13")),
        ),
        // RFC 6455 §4.1 step 11.
        (
            "Sec-WebSocket-Extensions",
            "sec-websocket-extensions",
            list(req.extensions),
        ),
    ]
    .into_iter()
    .filter_map(|(name, lower, value)| Some((name, lower, value?)))
}

fn emit_request(req: &ClientRequest<'_>, key: &[u8; 24], out: &mut Out<'_>) {
    // RFC 6455 §4.1 step 2: method GET, HTTP version at least 1.1.
    out.put(b"GET ");
    out.put(req.path.as_bytes());
    out.put(b" HTTP/1.1\r\n");
    for (name, _, value) in request_fields(req, key) {
        match value {
            FieldValue::Bytes(value) => out.header(name, value),
            FieldValue::List(items) => emit_list(out, name, items),
        }
    }
    for (name, value) in req.headers {
        out.header(name, value.as_bytes());
    }
    out.put(b"\r\n");
}

/// `name: a, b, c CRLF`, or nothing for an empty list.
fn emit_list(out: &mut Out<'_>, name: &str, items: &[&str]) {
    let Some((first, rest)) = items.split_first() else {
        return;
    };
    out.put(name.as_bytes());
    out.put(b": ");
    out.put(first.as_bytes());
    for item in rest {
        out.put(b", ");
        out.put(item.as_bytes());
    }
    out.put(b"\r\n");
}

/// A server's accepting response (status 101) that passed every check of RFC 6455 §4.1.
///
/// Borrows the head in the caller's buffer. The bytes after [`head_len`](Self::head_len) are the
/// server's first frames: the caller MUST hand them on to the frame decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    head: &'a [u8],
    fields: &'a [u8],
    subprotocol: Option<&'a str>,
}

impl<'a> Response<'a> {
    /// The length of the head, blank line included.
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// The subprotocol the server selected (§4.2.2 step 5.5), if any.
    pub fn subprotocol(&self) -> Option<&'a str> {
        self.subprotocol
    }

    checked_accessors!(response, Headers<'a>, owned);
}

/// Checks the server's response to a request sent with key `sec_websocket_key` (the
/// [`request_key`](super::request_key) of the nonce), given the bytes received so far.
///
/// Returns `Ok(None)` while the head is incomplete: read more, append, and call again with the
/// whole buffer. Each call scans `buf` from the start; to feed a head in many small pieces, use
/// [`HeadScanner::parse_response`], which scans each byte once.
///
/// Checks, in order (RFC 6455 §4.1, response steps 1–4, and §4.2.2):
/// 1. the status line is `HTTP/1.x SP 3DIGIT [SP reason]` with x ≥ 1 (a missing reason phrase is
///    tolerated);
/// 2. the status is 101, else [`UnexpectedStatus`](HandshakeError::UnexpectedStatus) (the headers
///    of such a response are not checked);
/// 3. the header lines (as for requests);
/// 4. each field as it comes: at most one `Sec-WebSocket-Accept`, at most one
///    `Sec-WebSocket-Protocol` holding one token (§4.2.2, §11.3.4), every
///    `Sec-WebSocket-Extensions` line a §9.1 list (several lines are allowed, §4.2.2 step 5.6,
///    although §11.3.2 says the header MUST NOT appear more than once in a response);
/// 5. then `Upgrade` lists `websocket`, `Connection` lists `upgrade` (ASCII case-insensitive,
///    over all lines of the header), and the `Sec-WebSocket-Accept` is there and equal to
///    `accept_key(sec_websocket_key)`.
///
/// Whether the subprotocol and extensions were offered is [`check_negotiation`]'s business.
pub fn parse_response<'a>(
    buf: &'a [u8],
    sec_websocket_key: &[u8; 24],
    limits: &HeadLimits,
) -> Result<Option<Response<'a>>, HandshakeError> {
    HeadScanner::new().parse_response(buf, sec_websocket_key, limits)
}

impl HeadScanner {
    /// [`parse_response`] for a head that arrives in pieces: scans only the bytes not seen
    /// before, and parses the head once it is complete. Same rules as [`HeadScanner::scan`].
    pub fn parse_response<'a>(
        &mut self,
        buf: &'a [u8],
        sec_websocket_key: &[u8; 24],
        limits: &HeadLimits,
    ) -> Result<Option<Response<'a>>, HandshakeError> {
        match self.scan(buf, limits)? {
            None => Ok(None),
            Some(len) => check_response(&buf[..len], sec_websocket_key, limits).map(Some),
        }
    }
}

fn check_response<'a>(
    head: &'a [u8],
    sec_websocket_key: &[u8; 24],
    limits: &HeadLimits,
) -> Result<Response<'a>, HandshakeError> {
    // The status line alone decides whether this is a WebSocket response at all.
    let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    let status_line = &head[..line_end];
    // RFC 7230 §3.1.2: status-line = HTTP-version SP status-code SP reason-phrase.
    let (version, rest) = status_line
        .split_at_checked(8)
        .ok_or(HandshakeError::BadStatusLine)?;
    let version = HttpVersion::parse(version).ok_or(HandshakeError::BadStatusLine)?;
    let status = match rest {
        [b' ', d0, d1, d2, tail @ ..]
            if [d0, d1, d2].iter().all(|d| d.is_ascii_digit())
                && (tail.is_empty() || (tail[0] == b' ' && is_field_value(tail))) =>
        {
            [d0, d1, d2]
                .iter()
                .fold(0u16, |n, &&d| n * 10 + u16::from(d - b'0'))
        }
        _ => return Err(HandshakeError::BadStatusLine),
    };
    if !version.can_upgrade() {
        return Err(HandshakeError::HttpVersion);
    }
    // RFC 6455 §4.1: "If the status code received from the server is not 101, the client handles
    // the response per HTTP [RFC2616] procedures."
    if status != 101 {
        return Err(HandshakeError::UnexpectedStatus(status));
    }
    let fields = parse_head(head, limits)?.fields;
    let subprotocol = check_response_fields(
        Headers::new(fields).header_pairs(),
        ResponseDoor::Upgrade(sec_websocket_key),
    )?;
    Ok(Response {
        head,
        fields,
        subprotocol,
    })
}

/// Checks that the server selected only what the client offered (RFC 6455 §4.1, response steps 5
/// and 6): the subprotocol, if any, is one of `offered_subprotocols` (exact match), and each
/// extension's name is the name of one of `offered_extension_names` (exact match): bare names,
/// or whole offers such as `permessage-deflate; client_max_window_bits`, whose name
/// [`ExtensionOffer::parse`](super::ExtensionOffer::parse) finds. The same rule as [`check_upgrade_response`](super::check_upgrade_response)
/// and [`check_connect_response`](super::check_connect_response) apply.
///
/// A response selecting more than one subprotocol never gets here: [`parse_response`] rejects it
/// with [`MultipleSubprotocols`](HandshakeError::MultipleSubprotocols) or
/// [`DuplicateHeader`](HandshakeError::DuplicateHeader). Extension parameters are each
/// extension's own business (§9.1) and are not compared.
///
/// # Errors
/// [`UnexpectedSubprotocol`](HandshakeError::UnexpectedSubprotocol),
/// [`UnexpectedExtension`](HandshakeError::UnexpectedExtension). Both MUST fail the connection.
pub fn check_negotiation(
    response: &Response<'_>,
    offered_subprotocols: &[&str],
    offered_extension_names: &[&str],
) -> Result<(), HandshakeError> {
    check_offered(
        response.subprotocol(),
        response.extensions(),
        offered_subprotocols,
        offered_extension_names,
    )
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::handshake::Field;
    use crate::handshake::head::is_one_of;

    const KEY: &[u8; 24] = b"dGhlIHNhbXBsZSBub25jZQ==";

    fn response(extra: &str) -> std::string::String {
        std::format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{extra}\r\n"
        )
    }

    fn parse(head: &str) -> Result<Option<Response<'_>>, HandshakeError> {
        parse_response(head.as_bytes(), KEY, &HeadLimits::DEFAULT)
    }

    #[test]
    fn reserved_names() {
        for name in [
            "host",
            "UPGRADE",
            "Connection",
            "origin",
            "sec-websocket-foo",
            "Sec-WebSocket-",
        ] {
            assert!(is_one_of(name, RESERVED_REQUEST_HEADERS), "{name}");
        }
        for name in ["Hosts", "Cookie", "Sec-WebSocket", "Sec-"] {
            assert!(!is_one_of(name, RESERVED_REQUEST_HEADERS), "{name}");
        }
    }

    #[test]
    fn status_lines() {
        let with_status = |line: &str| {
            let head = response("").replacen("HTTP/1.1 101 Switching Protocols", line, 1);
            parse(&head).map(|r| r.is_some())
        };
        assert_eq!(with_status("HTTP/1.1 101 Switching Protocols"), Ok(true));
        assert_eq!(with_status("HTTP/1.1 101 "), Ok(true));
        assert_eq!(with_status("HTTP/1.1 101"), Ok(true));
        assert_eq!(with_status("HTTP/1.9 101 OK"), Ok(true));
        assert_eq!(
            with_status("HTTP/1.1 403 Forbidden"),
            Err(HandshakeError::UnexpectedStatus(403))
        );
        assert_eq!(
            with_status("HTTP/1.1 200 OK"),
            Err(HandshakeError::UnexpectedStatus(200))
        );
        assert_eq!(
            with_status("HTTP/1.0 101 OK"),
            Err(HandshakeError::HttpVersion)
        );
        assert_eq!(
            with_status("HTTP/2.0 101 OK"),
            Err(HandshakeError::HttpVersion)
        );
        for bad in [
            "HTTP/1.1  101 OK",
            "HTTP/1.1 1010 OK",
            "HTTP/1.1 10a OK",
            "http/1.1 101 OK",
            "HTTP/1.1",
            "",
            "HTTP/1.1 101\tOK",
            "HTTP/11 101 OK",
        ] {
            assert_eq!(
                with_status(bad),
                Err(HandshakeError::BadStatusLine),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn subprotocol_rules() {
        let check = |extra: &str| {
            parse(&response(extra)).map(|r| r.unwrap().subprotocol().map(std::string::String::from))
        };
        assert_eq!(
            check("Sec-WebSocket-Protocol: chat\r\n"),
            Ok(Some("chat".into()))
        );
        assert_eq!(check(""), Ok(None));
        assert_eq!(
            check("Sec-WebSocket-Protocol: chat, superchat\r\n"),
            Err(HandshakeError::MultipleSubprotocols)
        );
        assert_eq!(
            check("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n"),
            Err(HandshakeError::DuplicateHeader(Field::SecWebSocketProtocol))
        );
        assert_eq!(
            check("Sec-WebSocket-Protocol: \r\n"),
            Err(HandshakeError::InvalidSubprotocol)
        );
        assert_eq!(
            check("Sec-WebSocket-Protocol: chat,\r\n"),
            Err(HandshakeError::InvalidSubprotocol)
        );
        assert_eq!(
            check("Sec-WebSocket-Protocol: a b\r\n"),
            Err(HandshakeError::InvalidSubprotocol)
        );
    }
}
