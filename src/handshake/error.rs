//! The one error type of the opening handshake, and the header fields it names.

use core::fmt;

/// A header field the handshake interprets, as named in [`HandshakeError`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `Host` (RFC 6455 §4.1 step 4; RFC 7230 §5.4).
    Host,
    /// `Upgrade` (§4.1 step 5).
    Upgrade,
    /// `Connection` (§4.1 step 6).
    Connection,
    /// `Origin` (§4.1 step 8; RFC 6454 §7).
    Origin,
    /// `Sec-WebSocket-Key` (§4.1 step 7, §11.3.1).
    SecWebSocketKey,
    /// `Sec-WebSocket-Version` (§4.1 step 9, §11.3.5).
    SecWebSocketVersion,
    /// `Sec-WebSocket-Accept` (§4.2.2, §11.3.3).
    SecWebSocketAccept,
    /// `Sec-WebSocket-Protocol` (§4.1 step 10, §11.3.4).
    SecWebSocketProtocol,
    /// `Sec-WebSocket-Extensions` (§9.1, §11.3.2).
    SecWebSocketExtensions,
    /// `Keep-Alive`, connection-specific (RFC 9113 §8.2.2).
    KeepAlive,
    /// `Proxy-Connection`, connection-specific (RFC 9113 §8.2.2).
    ProxyConnection,
    /// `Transfer-Encoding`, connection-specific (RFC 9113 §8.2.2).
    TransferEncoding,
    /// `TE`, connection-specific unless its value is `trailers` (RFC 9113 §8.2.2).
    Te,
    /// The `:method` pseudo-header field (RFC 9113 §8.3.1; RFC 8441 §4: `CONNECT`).
    Method,
    /// The `:protocol` pseudo-header field (RFC 8441 §4, §5: `websocket`).
    Protocol,
    /// The `:scheme` pseudo-header field (RFC 8441 §5: `https` for wss, `http` for ws).
    Scheme,
    /// The `:authority` pseudo-header field (RFC 8441 §5: the authority of the target URI).
    Authority,
    /// The `:path` pseudo-header field (RFC 8441 §5: the path and query of the target URI).
    Path,
    /// The `:status` pseudo-header field (RFC 9113 §8.3.2; RFC 8441 §5: `200`).
    Status,
}

impl Field {
    /// The field name as this crate writes it in HTTP/1.1 (names are case-insensitive there;
    /// over HTTP/2 and HTTP/3 the crate writes them in lower case).
    pub const fn name(self) -> &'static str {
        match self {
            Field::Host => "Host",
            Field::Upgrade => "Upgrade",
            Field::Connection => "Connection",
            Field::Origin => "Origin",
            Field::SecWebSocketKey => "Sec-WebSocket-Key",
            Field::SecWebSocketVersion => "Sec-WebSocket-Version",
            Field::SecWebSocketAccept => "Sec-WebSocket-Accept",
            Field::SecWebSocketProtocol => "Sec-WebSocket-Protocol",
            Field::SecWebSocketExtensions => "Sec-WebSocket-Extensions",
            Field::KeepAlive => "Keep-Alive",
            Field::ProxyConnection => "Proxy-Connection",
            Field::TransferEncoding => "Transfer-Encoding",
            Field::Te => "TE",
            Field::Method => ":method",
            Field::Protocol => ":protocol",
            Field::Scheme => ":scheme",
            Field::Authority => ":authority",
            Field::Path => ":path",
            Field::Status => ":status",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a [`HandshakeError`] asks of the one who got it: how a server refuses, or whose fault it
/// is. [`HandshakeError::kind`] gives it.
///
/// The head and field rules are the same for requests and responses (RFC 6455 §4.1, §4.2.1), so
/// the variants those rules produce (`BareLf`, `DuplicateHeader`, `InvalidSubprotocol`, …) are
/// [`BadRequest`](Self::BadRequest) whoever met them. A writer that finds the same rule broken in
/// its caller's arguments says so with its own variants (`InvalidArgument`, `ExtraHeaderValue`,
/// …), all [`Misuse`](Self::Misuse). The function that returned the error says the rest: every
/// error of a response check ([`parse_response`](super::parse_response),
/// [`check_upgrade_response`](super::check_upgrade_response),
/// [`check_connect_response`](super::check_connect_response)) fails the connection, and every
/// error of a writer (`write_*`, `*_headers`) is the caller's own misuse.
///
/// ```
/// use wsproto::handshake::*;
/// let request = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
/// let error = parse_request(request, &HeadLimits::DEFAULT).unwrap_err();
/// assert_eq!(error.kind(), HandshakeErrorKind::UpgradeRequired);
/// let mut answer = [0u8; 128];
/// let n = write_error_response(&error, &mut answer)?;
/// assert!(answer[..n].starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
///
/// let misuse = write_reject(&Rejection::new(204), &mut answer).unwrap_err();
/// assert_eq!(misuse.kind(), HandshakeErrorKind::Misuse);
/// # Ok::<(), HandshakeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeErrorKind {
    /// The peer's head is not HTTP/1.1 as this crate reads it, or breaks a rule of the handshake
    /// (RFC 6455 §4.1, §4.2.1; RFC 8441 §5): a server refuses with
    /// [`response_status`](HandshakeError::response_status), which is 400 Bad Request, or 405,
    /// 431 or 505 where HTTP has a more precise status.
    BadRequest,
    /// The request is a WebSocket handshake of another version, or names none: a server refuses
    /// with 426 Upgrade Required and `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.2 step 4, §4.4),
    /// which [`write_error_response`](super::write_error_response) writes (over HTTP/2 and
    /// HTTP/3, 400 with the same field: [`connect_error_headers`](super::connect_error_headers)).
    UpgradeRequired,
    /// Only a response does this: the server refused (a status other than 101, or 200 over
    /// extended CONNECT), answered another key, or selected what the client did not offer. The
    /// client fails the WebSocket connection (RFC 6455 §4.1).
    BadResponse,
    /// Only the caller does this: a writer's buffer is too small or an argument only a writer
    /// takes is invalid (a path, an extra header, an accept value, a status). Nothing was
    /// written; no peer is at fault, and a server that meets one has a bug of its own (its
    /// [`response_status`](HandshakeError::response_status) is 500).
    Misuse,
}

/// Everything that can go wrong in the opening handshake.
///
/// [`kind`](HandshakeError::kind) groups the variants by what they ask of the caller: refuse the
/// request with 400 (or a more precise status), refuse it with 426, fail the connection on a bad
/// response, or fix the caller's own misuse of a writer (whose output buffer is then unchanged).
///
/// Positions are 0-based byte offsets into the buffer (`offset`) or 1-based line numbers of the
/// head, the start line being line 1 (`line`). A server answers a request error with
/// [`write_error_response`](super::write_error_response), whose status is
/// [`response_status`](HandshakeError::response_status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeError {
    // ----- the head as HTTP/1.1 -----
    /// No blank line within [`HeadLimits::max_head_len`](super::HeadLimits) bytes.
    HeadTooLarge {
        /// The limit that was crossed.
        limit: usize,
    },
    /// More header lines than [`HeadLimits::max_headers`](super::HeadLimits).
    TooManyHeaders {
        /// The limit that was crossed.
        limit: usize,
    },
    /// A line feed not preceded by a carriage return: lines must end in CRLF (RFC 7230 §3).
    BareLf {
        /// Where the LF is.
        offset: usize,
    },
    /// A carriage return not followed by a line feed (RFC 7230 §3.5).
    BareCr {
        /// Where the CR is.
        offset: usize,
    },
    /// The request line is not `method SP request-target SP HTTP-version` (RFC 7230 §3.1.1).
    BadRequestLine,
    /// The status line is not `HTTP-version SP 3DIGIT SP reason` (RFC 7230 §3.1.2).
    BadStatusLine,
    /// The method is not `GET` (RFC 6455 §4.1 step 2).
    MethodNotGet,
    /// The HTTP version is below 1.1 (RFC 6455 §4.1 step 2) or not 1.x.
    HttpVersion,
    /// The request-target is neither origin-form (`/path?query`) nor absolute-form with an
    /// `http`/`https` scheme (RFC 6455 §4.1 step 3), or contains a byte a URI may not.
    InvalidRequestTarget,
    /// A header line starts with a space or tab: obsolete line folding (RFC 7230 §3.2.4), which
    /// this parser rejects.
    FoldedHeader {
        /// The folded line.
        line: usize,
    },
    /// A header line has no colon.
    MissingColon {
        /// The line.
        line: usize,
    },
    /// A header name is empty or not a token: a byte outside RFC 7230 `tchar`, non-ASCII included.
    InvalidHeaderName {
        /// The line.
        line: usize,
    },
    /// Whitespace between a header name and its colon, which RFC 7230 §3.2.4 says MUST be rejected.
    WhitespaceBeforeColon {
        /// The line.
        line: usize,
    },
    /// A header value holds a control character other than horizontal tab (NUL, DEL, …).
    InvalidHeaderValue {
        /// The line.
        line: usize,
    },

    // ----- the head as a WebSocket handshake -----
    /// A header that may appear once appears again (RFC 6455 §11.3; RFC 7230 §5.4 for `Host`;
    /// RFC 6454 §7.3 for `Origin`).
    DuplicateHeader(Field),
    /// A required header is absent.
    MissingHeader(Field),
    /// `Upgrade` does not list the token `websocket` (RFC 6455 §4.1 step 5, §4.2.1 step 3).
    UpgradeNotWebSocket,
    /// `Connection` does not list the token `upgrade` (RFC 6455 §4.1 step 6, §4.2.1 step 4).
    ConnectionNotUpgrade,
    /// `Sec-WebSocket-Key` does not base64-decode to exactly 16 bytes (RFC 6455 §4.2.1 step 5).
    InvalidKey,
    /// `Sec-WebSocket-Version` is not `13` (RFC 6455 §4.2.1 step 6); answer with 426 and
    /// `Sec-WebSocket-Version: 13` (§4.2.2 step 4, §4.4).
    UnsupportedVersion,
    /// `Host` is empty or holds whitespace, a control or a non-ASCII byte.
    InvalidHost,
    /// `Origin` is empty, non-ASCII, or holds a control or surrounding whitespace.
    InvalidOrigin,
    /// A subprotocol is not a token, or a `Sec-WebSocket-Protocol` list is empty (RFC 6455 §4.1
    /// step 10, §4.3).
    InvalidSubprotocol,
    /// A `Sec-WebSocket-Extensions` value does not follow the grammar of RFC 6455 §9.1.
    InvalidExtension,
    /// The response status is not 101 (HTTP/1.1), or not 200 (extended CONNECT, RFC 8441 §5):
    /// the handshake failed and HTTP semantics apply (RFC 6455 §4.1, "If the status code
    /// received from the server is not 101").
    UnexpectedStatus(u16),
    /// `Sec-WebSocket-Accept` is not the value for the key sent (RFC 6455 §4.1, response step 4).
    AcceptMismatch,
    /// The response selects more than one subprotocol (RFC 6455 §4.2.2: `(token)`; §11.3.4).
    MultipleSubprotocols,
    /// The response selects a subprotocol the client did not offer (RFC 6455 §4.1, response step 6).
    UnexpectedSubprotocol,
    /// The response uses an extension the client did not offer (RFC 6455 §4.1, response step 5).
    UnexpectedExtension,

    // ----- extended CONNECT (RFC 8441 over HTTP/2, RFC 9220 over HTTP/3) -----
    /// `:method` is not `CONNECT` (RFC 8441 §4, §5).
    MethodNotConnect,
    /// `:protocol` is not `websocket` (RFC 8441 §5).
    ProtocolNotWebSocket,
    /// A pseudo-header field's value is malformed: `:scheme` not `http` or `https`, `:path` not
    /// a path and query starting with `/`, `:authority` not `host[:port]` (RFC 9113 §8.3.1: no
    /// userinfo), `:status` not three digits.
    InvalidPseudoHeader(Field),
    /// A pseudo-header field this message may not carry: one not defined for requests
    /// (responses), such as `:status` in a request or `:foo` (RFC 9113 §8.3 / RFC 9114 §4.3:
    /// malformed), or any pseudo-header field given to the HTTP/1.1 checks.
    UnknownPseudoHeader,
    /// A field that may not appear here: a connection-specific field (`Connection`, `Upgrade`,
    /// `Keep-Alive`, `Proxy-Connection`, `Transfer-Encoding`, `TE` other than `trailers`) in an
    /// HTTP/2 or HTTP/3 message (RFC 9113 §8.2.2, RFC 9114 §4.2; RFC 8441 §5 for `Connection`
    /// and `Upgrade`), or `Sec-WebSocket-Key` / `Sec-WebSocket-Accept` in an extended CONNECT
    /// (RFC 8441 §5: superseded by `:protocol`).
    ForbiddenHeader(Field),

    // ----- the caller's input to a writer -----
    /// The output buffer is too small; `needed` bytes would be written. The buffer is unchanged.
    BufferTooSmall {
        /// The exact number of bytes the call would write.
        needed: usize,
    },
    /// The path is empty, does not start with `/`, or holds a space, control, `#` or non-ASCII
    /// byte.
    InvalidPath,
    /// A value the caller gave a writer for this field breaks its rule: the host, the origin, a
    /// subprotocol (not a token), an extension (not a §9.1 extension or list). The same values
    /// met in a peer's message are [`InvalidHost`](Self::InvalidHost),
    /// [`InvalidOrigin`](Self::InvalidOrigin), [`InvalidSubprotocol`](Self::InvalidSubprotocol)
    /// and [`InvalidExtension`](Self::InvalidExtension).
    InvalidArgument(Field),
    /// Extra header `index` has a name that is not a token.
    ExtraHeaderName {
        /// Its position in the caller's `headers` slice.
        index: usize,
    },
    /// Extra header `index` has a value with CR, LF, NUL or another control but tab.
    ExtraHeaderValue {
        /// Its position in the caller's `headers` slice.
        index: usize,
    },
    /// Extra header `index` is one the writer writes itself (`Host`, `Upgrade`, `Connection`,
    /// `Origin`, `Sec-WebSocket-*`; `Content-Length`, `Transfer-Encoding` in responses).
    ReservedHeader {
        /// Its position in the caller's `headers` slice.
        index: usize,
    },
    /// The `Sec-WebSocket-Accept` value given to [`write_accept`](super::write_accept) is not
    /// 27 base64 characters and `=`.
    InvalidAccept,
    /// [`write_reject`](super::write_reject) was given a status that cannot carry a body: outside
    /// 200–599, or 204 or 304.
    InvalidStatus(u16),
}

impl HandshakeError {
    /// What this error asks of the caller (see [`HandshakeErrorKind`] for the variants the
    /// readers and writers share).
    ///
    /// ```
    /// use wsproto::handshake::{HandshakeError, HandshakeErrorKind, Field};
    /// assert_eq!(HandshakeError::InvalidKey.kind(), HandshakeErrorKind::BadRequest);
    /// assert_eq!(
    ///     HandshakeError::MissingHeader(Field::SecWebSocketVersion).kind(),
    ///     HandshakeErrorKind::UpgradeRequired
    /// );
    /// assert_eq!(HandshakeError::AcceptMismatch.kind(), HandshakeErrorKind::BadResponse);
    /// assert_eq!(HandshakeError::BufferTooSmall { needed: 9 }.kind(), HandshakeErrorKind::Misuse);
    /// ```
    pub const fn kind(&self) -> HandshakeErrorKind {
        use HandshakeError::*;
        use HandshakeErrorKind as Kind;
        // Every variant by name, so that a new one has to be placed.
        match self {
            // RFC 6455 §4.2.2 step 4, §4.4: a version we do not speak, or none.
            UnsupportedVersion | MissingHeader(Field::SecWebSocketVersion) => Kind::UpgradeRequired,
            HeadTooLarge { .. }
            | TooManyHeaders { .. }
            | BareLf { .. }
            | BareCr { .. }
            | BadRequestLine
            | MethodNotGet
            | HttpVersion
            | InvalidRequestTarget
            | FoldedHeader { .. }
            | MissingColon { .. }
            | InvalidHeaderName { .. }
            | WhitespaceBeforeColon { .. }
            | InvalidHeaderValue { .. }
            | DuplicateHeader(_)
            | MissingHeader(_)
            | UpgradeNotWebSocket
            | ConnectionNotUpgrade
            | InvalidKey
            | InvalidHost
            | InvalidOrigin
            | InvalidSubprotocol
            | InvalidExtension
            | MethodNotConnect
            | ProtocolNotWebSocket
            | UnknownPseudoHeader => Kind::BadRequest,
            // `:status` and `Sec-WebSocket-Accept` are in responses only.
            InvalidPseudoHeader(field) | ForbiddenHeader(field) => match field {
                Field::Status | Field::SecWebSocketAccept => Kind::BadResponse,
                _ => Kind::BadRequest,
            },
            BadStatusLine
            | UnexpectedStatus(_)
            | AcceptMismatch
            | MultipleSubprotocols
            | UnexpectedSubprotocol
            | UnexpectedExtension => Kind::BadResponse,
            BufferTooSmall { .. }
            | InvalidPath
            | InvalidArgument(_)
            | ExtraHeaderName { .. }
            | ExtraHeaderValue { .. }
            | ReservedHeader { .. }
            | InvalidAccept
            | InvalidStatus(_) => Kind::Misuse,
        }
    }

    /// The HTTP status a server should answer a failed request with, by [`kind`](Self::kind):
    ///
    /// - [`UpgradeRequired`](HandshakeErrorKind::UpgradeRequired): 426 Upgrade Required
    ///   (RFC 6455 §4.2.2 step 4, §4.4);
    /// - [`BadRequest`](HandshakeErrorKind::BadRequest): 431 Request Header Fields Too Large for
    ///   [`HeadTooLarge`](Self::HeadTooLarge) and [`TooManyHeaders`](Self::TooManyHeaders)
    ///   (RFC 6585 §5); 405 Method Not Allowed for [`MethodNotGet`](Self::MethodNotGet) and
    ///   [`MethodNotConnect`](Self::MethodNotConnect); 505 HTTP Version Not Supported for
    ///   [`HttpVersion`](Self::HttpVersion); 400 Bad Request for the rest;
    /// - [`BadResponse`](HandshakeErrorKind::BadResponse) and
    ///   [`Misuse`](HandshakeErrorKind::Misuse): 500 Internal Server Error, since they are not a
    ///   request's fault: a server that meets one has a bug of its own.
    pub const fn response_status(&self) -> u16 {
        use HandshakeError::*;
        match self.kind() {
            HandshakeErrorKind::UpgradeRequired => 426,
            HandshakeErrorKind::BadResponse | HandshakeErrorKind::Misuse => 500,
            HandshakeErrorKind::BadRequest => match self {
                HeadTooLarge { .. } | TooManyHeaders { .. } => 431,
                MethodNotGet | MethodNotConnect => 405,
                HttpVersion => 505,
                _ => 400,
            },
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HandshakeError::*;
        match self {
            HeadTooLarge { limit } => write!(f, "no end of the HTTP head within {limit} bytes"),
            TooManyHeaders { limit } => write!(f, "more than {limit} header lines"),
            BareLf { offset } => write!(f, "line feed without carriage return at byte {offset}"),
            BareCr { offset } => write!(f, "carriage return without line feed at byte {offset}"),
            BadRequestLine => f.write_str("malformed request line"),
            BadStatusLine => f.write_str("malformed status line"),
            MethodNotGet => f.write_str("request method is not GET"),
            HttpVersion => f.write_str("HTTP version is not 1.1 or a later 1.x"),
            InvalidRequestTarget => {
                f.write_str("request-target is not a valid path or http(s) URI")
            }
            FoldedHeader { line } => write!(f, "line {line}: folded header line (obs-fold)"),
            MissingColon { line } => write!(f, "line {line}: header line without a colon"),
            InvalidHeaderName { line } => write!(f, "line {line}: header name is not a token"),
            WhitespaceBeforeColon { line } => {
                write!(f, "line {line}: whitespace between header name and colon")
            }
            InvalidHeaderValue { line } => {
                write!(f, "line {line}: control character in header value")
            }
            DuplicateHeader(field) => write!(f, "{field} header appears more than once"),
            MissingHeader(field) => write!(f, "{field} header is missing"),
            UpgradeNotWebSocket => f.write_str("Upgrade header does not list \"websocket\""),
            ConnectionNotUpgrade => f.write_str("Connection header does not list \"upgrade\""),
            InvalidKey => f.write_str("Sec-WebSocket-Key is not 16 bytes in base64"),
            UnsupportedVersion => f.write_str("Sec-WebSocket-Version is not 13"),
            InvalidHost => f.write_str("Host is empty or has whitespace, controls or non-ASCII"),
            InvalidOrigin => f.write_str("Origin is empty or has controls or non-ASCII"),
            InvalidSubprotocol => f.write_str("Sec-WebSocket-Protocol is not a list of tokens"),
            InvalidExtension => {
                f.write_str("Sec-WebSocket-Extensions does not follow RFC 6455 section 9.1")
            }
            UnexpectedStatus(status) => write!(
                f,
                "response status {status}, not 101 (HTTP/1.1) or 200 (extended CONNECT)"
            ),
            AcceptMismatch => f.write_str("Sec-WebSocket-Accept does not match the key sent"),
            MultipleSubprotocols => f.write_str("response selects more than one subprotocol"),
            UnexpectedSubprotocol => f.write_str("response selects a subprotocol not offered"),
            UnexpectedExtension => f.write_str("response uses an extension not offered"),
            MethodNotConnect => f.write_str(":method is not CONNECT"),
            ProtocolNotWebSocket => f.write_str(":protocol is not \"websocket\""),
            InvalidPseudoHeader(field) => write!(f, "{field} pseudo-header field is malformed"),
            UnknownPseudoHeader => f.write_str("pseudo-header field not allowed in this message"),
            ForbiddenHeader(field) => write!(f, "{field} header is not allowed here"),
            BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            InvalidArgument(field) => write!(f, "invalid {field} value given to a writer"),
            InvalidPath => {
                f.write_str("path must start with '/' and hold no space, control, '#' or non-ASCII")
            }
            ExtraHeaderName { index } => write!(f, "extra header {index}: name is not a token"),
            ExtraHeaderValue { index } => {
                write!(
                    f,
                    "extra header {index}: value holds CR, LF, NUL or another control"
                )
            }
            ReservedHeader { index } => {
                write!(
                    f,
                    "extra header {index}: the handshake writes this header itself"
                )
            }
            InvalidAccept => f.write_str("accept value is not 28 base64 characters"),
            InvalidStatus(status) => write!(f, "status {status} cannot be used for a rejection"),
        }
    }
}

impl core::error::Error for HandshakeError {}

#[cfg(test)]
mod tests {
    use super::HandshakeErrorKind::{BadRequest, BadResponse, Misuse, UpgradeRequired};
    use super::*;

    /// Every variant, grouped by its kind and the status a server answers it with (the statuses
    /// as they were before `kind` existed).
    const GROUPS: &[(HandshakeErrorKind, u16, &[HandshakeError])] = {
        use HandshakeError::*;
        &[
            (
                UpgradeRequired,
                426,
                &[
                    UnsupportedVersion,
                    MissingHeader(Field::SecWebSocketVersion),
                ],
            ),
            (
                BadRequest,
                431,
                &[HeadTooLarge { limit: 1 }, TooManyHeaders { limit: 1 }],
            ),
            (BadRequest, 405, &[MethodNotGet, MethodNotConnect]),
            (BadRequest, 505, &[HttpVersion]),
            (
                BadRequest,
                400,
                &[
                    BareLf { offset: 0 },
                    BareCr { offset: 0 },
                    BadRequestLine,
                    InvalidRequestTarget,
                    FoldedHeader { line: 2 },
                    MissingColon { line: 2 },
                    InvalidHeaderName { line: 2 },
                    WhitespaceBeforeColon { line: 2 },
                    InvalidHeaderValue { line: 2 },
                    DuplicateHeader(Field::Host),
                    DuplicateHeader(Field::SecWebSocketVersion),
                    MissingHeader(Field::SecWebSocketKey),
                    UpgradeNotWebSocket,
                    ConnectionNotUpgrade,
                    InvalidKey,
                    InvalidHost,
                    InvalidOrigin,
                    InvalidSubprotocol,
                    InvalidExtension,
                    ProtocolNotWebSocket,
                    InvalidPseudoHeader(Field::Path),
                    UnknownPseudoHeader,
                    ForbiddenHeader(Field::Connection),
                ],
            ),
            (
                BadResponse,
                500,
                &[
                    BadStatusLine,
                    UnexpectedStatus(403),
                    AcceptMismatch,
                    MultipleSubprotocols,
                    UnexpectedSubprotocol,
                    UnexpectedExtension,
                    InvalidPseudoHeader(Field::Status),
                    ForbiddenHeader(Field::SecWebSocketAccept),
                ],
            ),
            (
                Misuse,
                500,
                &[
                    BufferTooSmall { needed: 1 },
                    InvalidPath,
                    InvalidArgument(Field::SecWebSocketProtocol),
                    ExtraHeaderName { index: 0 },
                    ExtraHeaderValue { index: 0 },
                    ReservedHeader { index: 0 },
                    InvalidAccept,
                    InvalidStatus(204),
                ],
            ),
        ]
    };

    #[test]
    fn every_variant_has_its_kind_and_status() {
        for &(kind, status, errors) in GROUPS {
            for &error in errors {
                assert_eq!(
                    (error.kind(), error.response_status()),
                    (kind, status),
                    "{error:?}"
                );
            }
            // 426 exactly for UpgradeRequired; 500 exactly for what is not the request's fault.
            assert_eq!(kind == UpgradeRequired, status == 426, "{kind:?}");
            assert_eq!(
                matches!(kind, BadResponse | Misuse),
                status == 500,
                "{kind:?}"
            );
        }
    }
}
