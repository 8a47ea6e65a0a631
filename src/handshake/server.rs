//! The server's side: reading the client's request (RFC 6455 §4.2.1) and writing the answer
//! (§4.2.2): accept, reject, or an error response.

use super::accept::is_accept_shaped;
use super::checked::checked_accessors;
use super::error::HandshakeError;
use super::fields::{
    Door, UpgradeFields, check_method_and_version, check_request_fields, check_selection,
};
use super::head::{
    HeadLimits, HeadScanner, Headers, Out, check_extra_headers, parse_head, write_with,
};
use super::header_list::HeaderList;
use super::syntax::{HttpVersion, ascii_str, is_origin_form, is_token};

/// A client's opening handshake that passed every check of RFC 6455 §4.2.1.
///
/// Borrows the head in the caller's buffer; the iterators walk it again on each use (it was
/// validated once), so nothing is copied or stored. The bytes after [`head_len`](Self::head_len)
/// are the client's first frames: the caller MUST hand them on to the frame decoder.
///
/// The application decides with what this exposes (path, origin, subprotocols, cookies, …) and
/// answers with [`write_accept`] or [`write_reject`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    head: &'a [u8],
    fields: &'a [u8],
    target: &'a str,
    path: &'a str,
    upgrade: UpgradeFields<'a>,
}

impl<'a> Request<'a> {
    /// The length of the head, blank line included.
    pub fn head_len(&self) -> usize {
        self.head.len()
    }

    /// The request-target as received: `/path?query`, or `http(s)://authority/path?query`. The
    /// authority of an absolute-form target is not compared with [`host`](Self::host).
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The /resource name/ (RFC 6455 §3): path and query, starting with `/`. For an absolute-form
    /// target, the part after the authority (`/` if none).
    pub fn path(&self) -> &'a str {
        self.path
    }

    checked_accessors!(upgrade);
    checked_accessors!(request, Headers<'a>, owned);
}

/// Reads a client's opening handshake from the bytes received so far.
///
/// Returns `Ok(None)` while the head is incomplete: read more, append, and call again with the
/// whole buffer. Each call scans `buf` from the start; to feed a head in many small pieces, use
/// [`HeadScanner::parse_request`], which scans each byte once.
///
/// Checks, in order:
/// 1. line endings are CRLF, the head fits `limits.max_head_len` (as soon as the bytes are
///    there);
/// 2. every header line (RFC 7230 §3.2): no folding, a colon, a token name, no whitespace before
///    the colon, no control but tab in the value; at most `limits.max_headers` lines;
/// 3. the request line: `method SP request-target SP HTTP/x.y`, then the method `GET` and the
///    version 1.1 or a later 1.x (RFC 6455 §4.1 step 2), then the target in origin-form or, as
///    §4.1 step 3 allows, absolute-form `http://` or `https://` (case-insensitive scheme);
/// 4. each field as it comes: at most one `Host` (non-empty visible ASCII), at most one `Origin`,
///    at most one `Sec-WebSocket-Key` and `Sec-WebSocket-Version`, every
///    `Sec-WebSocket-Protocol` a list of tokens and every `Sec-WebSocket-Extensions` a §9.1 list;
/// 5. then what must be there, in the order of RFC 6455 §4.2.1: `Host`, `Upgrade` listing
///    `websocket`, `Connection` listing `upgrade`, `Sec-WebSocket-Version` equal to `13` (before
///    the key, so that a client of another version gets 426), and a `Sec-WebSocket-Key` that
///    decodes to 16 bytes.
///
/// The first failed check is the error; [`HandshakeError::response_status`] and
/// [`write_error_response`] give the answer to send.
pub fn parse_request<'a>(
    buf: &'a [u8],
    limits: &HeadLimits,
) -> Result<Option<Request<'a>>, HandshakeError> {
    HeadScanner::new().parse_request(buf, limits)
}

impl HeadScanner {
    /// [`parse_request`] for a head that arrives in pieces: scans only the bytes not seen before,
    /// and parses the head once it is complete. Same rules as [`HeadScanner::scan`].
    pub fn parse_request<'a>(
        &mut self,
        buf: &'a [u8],
        limits: &HeadLimits,
    ) -> Result<Option<Request<'a>>, HandshakeError> {
        match self.scan(buf, limits)? {
            None => Ok(None),
            Some(len) => check_request(&buf[..len], limits).map(Some),
        }
    }
}

/// The resource name of a request-target, or `None` if the target is not one we accept.
fn resource_name(target: &[u8]) -> Option<&[u8]> {
    if is_origin_form(target) {
        return Some(target);
    }
    // RFC 6455 §4.1 step 3: "or be an absolute http/https URI". RFC 3986: the scheme is
    // case-insensitive.
    let scheme_len = if target.get(..7)?.eq_ignore_ascii_case(b"http://") {
        7
    } else if target.get(..8)?.eq_ignore_ascii_case(b"https://") {
        8
    } else {
        return None;
    };
    let rest = &target[scheme_len..];
    let authority_len = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_len);
    if authority.is_empty()
        || !authority
            .iter()
            .all(|&b| b.is_ascii_graphic() && !b"?#@".contains(&b))
    {
        return None;
    }
    if path.is_empty() {
        return Some(b"/");
    }
    is_origin_form(path).then_some(path)
}

fn check_request<'a>(head: &'a [u8], limits: &HeadLimits) -> Result<Request<'a>, HandshakeError> {
    let parsed = parse_head(head, limits)?;
    // RFC 7230 §3.1.1: request-line = method SP request-target SP HTTP-version.
    let mut parts = parsed.start_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HandshakeError::BadRequestLine);
    };
    if !is_token(method) || target.is_empty() {
        return Err(HandshakeError::BadRequestLine);
    }
    let version = HttpVersion::parse(version).ok_or(HandshakeError::BadRequestLine)?;
    check_method_and_version(method, version)?;
    let path = resource_name(target).ok_or(HandshakeError::InvalidRequestTarget)?;
    let headers = Headers::new(parsed.fields);
    let upgrade = check_request_fields(headers.header_pairs(), Door::Upgrade)?.require_upgrade()?;
    Ok(Request {
        head,
        fields: parsed.fields,
        target: ascii_str(target),
        path: ascii_str(path),
        upgrade,
    })
}

/// How a server accepts a request: what it selected, and extra headers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AcceptOptions<'a> {
    /// The subprotocol selected, one of those the client offered (RFC 6455 §4.2.2 step 4:
    /// "MUST be derived from the client's handshake"); a token. `None` writes no header.
    pub subprotocol: Option<&'a str>,
    /// The extensions in use, a §9.1 list such as `permessage-deflate; server_no_context_takeover`;
    /// only extensions the client offered (§4.2.2 step 4: "Extensions not listed by the client
    /// MUST NOT be listed"). `None` writes no header.
    pub extensions: Option<&'a str>,
    /// Further headers (`Set-Cookie`, …), written last, in order.
    pub headers: &'a [(&'a str, &'a str)],
}

impl AcceptOptions<'_> {
    /// No subprotocol, no extensions, no extra headers.
    pub const fn new() -> Self {
        AcceptOptions {
            subprotocol: None,
            extensions: None,
            headers: &[],
        }
    }
}

/// How a server refuses a request (RFC 6455 §4.2.2: "any status code other than 101"): the
/// status (401, 403, 404, a 3xx …), extra headers and a body. The counterpart of
/// [`AcceptOptions`], for [`write_reject`], `Connection::reject` and `Session::reject`.
///
/// ```
/// use wsproto::handshake::Rejection;
/// let refusal = Rejection::new(401)
///     .with_headers(&[("WWW-Authenticate", "Bearer")])
///     .with_body(b"log in first");
/// assert_eq!(refusal.status, 401);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection<'a> {
    /// The HTTP status, 200–599 but not 204 or 304 (it carries a body).
    pub status: u16,
    /// Extra headers, written in order. `Content-Length` is written by the core.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

impl<'a> Rejection<'a> {
    /// A refusal with `status`, no extra headers and no body.
    pub const fn new(status: u16) -> Self {
        Rejection {
            status,
            headers: &[],
            body: &[],
        }
    }

    /// The same refusal with these extra headers.
    pub const fn with_headers(self, headers: &'a [(&'a str, &'a str)]) -> Self {
        Rejection { headers, ..self }
    }

    /// The same refusal with this body.
    pub const fn with_body(self, body: &'a [u8]) -> Self {
        Rejection { body, ..self }
    }
}

/// Headers [`write_accept`] writes itself, or which a 101 response may not carry (patterns of
/// [`check_extra_headers`]). RFC 7230 §3.3.1, §3.3.2: no Transfer-Encoding or Content-Length in
/// a 1xx response.
const RESERVED_ACCEPT_HEADERS: &[&str] = &[
    "Upgrade",
    "Connection",
    "Content-Length",
    "Transfer-Encoding",
    "Sec-WebSocket-*",
];

/// Writes the server's accepting handshake (RFC 6455 §4.2.2 step 5) into `out` and returns its
/// length:
///
/// ```text
/// HTTP/1.1 101 Switching Protocols
/// Upgrade: websocket
/// Connection: Upgrade
/// Sec-WebSocket-Accept: {accept}
/// Sec-WebSocket-Protocol: {subprotocol}          (if any)
/// Sec-WebSocket-Extensions: {extensions}         (if any)
/// {extra headers}
/// ```
///
/// `accept` is [`Request::accept_key`] (or [`accept_key`](super::accept_key) of the key).
/// Whether the subprotocol and extensions were offered is the caller's to ensure.
///
/// # Errors
/// Checks come first and nothing is written on error:
/// [`InvalidAccept`](HandshakeError::InvalidAccept),
/// [`InvalidSubprotocol`](HandshakeError::InvalidSubprotocol) (not a token),
/// [`InvalidExtension`](HandshakeError::InvalidExtension) (not a §9.1 list),
/// [`ExtraHeaderName`](HandshakeError::ExtraHeaderName),
/// [`ExtraHeaderValue`](HandshakeError::ExtraHeaderValue),
/// [`ReservedHeader`](HandshakeError::ReservedHeader) (`Upgrade`, `Connection`,
/// `Sec-WebSocket-*`, `Content-Length`, `Transfer-Encoding`), and
/// [`BufferTooSmall`](HandshakeError::BufferTooSmall) with the exact length needed.
pub fn write_accept(
    accept: &[u8; 28],
    opts: &AcceptOptions<'_>,
    out: &mut [u8],
) -> Result<usize, HandshakeError> {
    if !is_accept_shaped(accept) {
        return Err(HandshakeError::InvalidAccept);
    }
    check_selection(opts.subprotocol, opts.extensions)?;
    check_extra_headers(opts.headers, RESERVED_ACCEPT_HEADERS)?;
    write_with(out, |out| {
        out.put(b"HTTP/1.1 101 Switching Protocols\r\n");
        out.header("Upgrade", b"websocket");
        out.header("Connection", b"Upgrade");
        out.header("Sec-WebSocket-Accept", accept);
        if let Some(subprotocol) = opts.subprotocol {
            out.header("Sec-WebSocket-Protocol", subprotocol.as_bytes());
        }
        if let Some(extensions) = opts.extensions {
            out.header("Sec-WebSocket-Extensions", extensions.as_bytes());
        }
        for (name, value) in opts.headers {
            out.header(name, value.as_bytes());
        }
        out.put(b"\r\n");
    })
}

/// The standard reason phrase for `status` (RFC 9110 §15, RFC 6585), or `""` for a status it does
/// not name.
pub const fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// `HTTP/1.1 {status} {reason} CRLF`.
fn emit_status_line(out: &mut Out<'_>, status: u16) {
    out.put(b"HTTP/1.1 ");
    out.decimal(usize::from(status));
    out.put(b" ");
    out.put(reason_phrase(status).as_bytes());
    out.put(b"\r\n");
}

/// Headers [`write_reject`] writes itself.
const RESERVED_REJECT_HEADERS: &[&str] = &["Content-Length", "Transfer-Encoding"];

/// Writes a response refusing the handshake with `rejection`'s status (401 with
/// `WWW-Authenticate`, 403 for a bad origin, 404 for an unknown path, a 3xx with `Location`, …;
/// RFC 6455 §4.2.2 steps 2–4), headers and body into `out` and returns its length:
///
/// ```text
/// HTTP/1.1 {status} {reason_phrase(status)}
/// {headers}
/// Content-Length: {body.len()}
///
/// {body}
/// ```
///
/// # Errors
/// Checks come first and nothing is written on error:
/// [`InvalidStatus`](HandshakeError::InvalidStatus) (outside 200–599, or 204 / 304, which carry
/// no body), [`ExtraHeaderName`](HandshakeError::ExtraHeaderName),
/// [`ExtraHeaderValue`](HandshakeError::ExtraHeaderValue),
/// [`ReservedHeader`](HandshakeError::ReservedHeader) (`Content-Length`, `Transfer-Encoding`),
/// and [`BufferTooSmall`](HandshakeError::BufferTooSmall) with the exact length needed.
pub fn write_reject(rejection: &Rejection<'_>, out: &mut [u8]) -> Result<usize, HandshakeError> {
    let Rejection {
        status,
        headers,
        body,
    } = *rejection;
    if !(200..=599).contains(&status) || status == 204 || status == 304 {
        return Err(HandshakeError::InvalidStatus(status));
    }
    check_extra_headers(headers, RESERVED_REJECT_HEADERS)?;
    write_with(out, |out| {
        emit_status_line(out, status);
        for (name, value) in headers {
            out.header(name, value.as_bytes());
        }
        out.put(b"Content-Length: ");
        out.decimal(body.len());
        out.put(b"\r\n\r\n");
        out.put(body);
    })
}

/// Writes the response to a request that failed with `error`, with status
/// [`error.response_status()`](HandshakeError::response_status) and an empty body, into `out`, and
/// returns its length:
///
/// - 426: `Upgrade: websocket`, `Connection: Upgrade` (RFC 9110 §15.5.22: a 426 MUST carry
///   `Upgrade`) and `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.2 step 4, §4.4);
/// - 405: `Allow: GET` (RFC 9110 §15.5.6);
/// - any other: `Connection: close`, since the server closes the connection after a bad request.
///
/// # Errors
/// Only [`BufferTooSmall`](HandshakeError::BufferTooSmall); `out` is then unchanged. 128 bytes
/// always suffice.
pub fn write_error_response(
    error: &HandshakeError,
    out: &mut [u8],
) -> Result<usize, HandshakeError> {
    let status = error.response_status();
    write_with(out, |out| {
        emit_status_line(out, status);
        match status {
            426 => {
                out.header("Upgrade", b"websocket");
                out.header("Connection", b"Upgrade");
                out.header("Sec-WebSocket-Version", b"13");
            }
            405 => out.header("Allow", b"GET"),
            _ => out.header("Connection", b"close"),
        }
        out.put(b"Content-Length: 0\r\n\r\n");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names() {
        fn name(target: &str) -> Option<&str> {
            resource_name(target.as_bytes()).map(|p| core::str::from_utf8(p).unwrap())
        }
        assert_eq!(name("/chat?x=1"), Some("/chat?x=1"));
        assert_eq!(name("http://example.com/chat?x"), Some("/chat?x"));
        assert_eq!(name("HTTPS://example.com:8443"), Some("/"));
        assert_eq!(name("https://example.com:8443/"), Some("/"));
        for bad in [
            "chat",
            "*",
            "example.com:80",
            "ws://example.com/",
            "http:///x",
            "http://a@b/x",
            "http://a?b",
            "/a#b",
            "/é",
            "http://a/b#c",
        ] {
            assert_eq!(name(bad), None, "{bad}");
        }
    }

    #[test]
    fn error_responses_fit_in_128_bytes() {
        let mut out = [0u8; 128];
        for status_of in [
            HandshakeError::UnsupportedVersion,
            HandshakeError::MethodNotGet,
            HandshakeError::HeadTooLarge { limit: 1 },
            HandshakeError::HttpVersion,
            HandshakeError::InvalidKey,
            HandshakeError::AcceptMismatch,
        ] {
            assert!(write_error_response(&status_of, &mut out).is_ok());
        }
    }

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase(426), "Upgrade Required");
        assert_eq!(reason_phrase(599), "");
    }
}
